// My tickets: GET /api/me/bookings (bookings that reached Postgres), newest first. The rotating QR
// codes are still to come (issue 11, "Keep").
import { api, type Booking } from './api';
import { byId, el, loginUrl, money, say, when } from './format';

export async function ticketsPage(): Promise<void> {
  const list = byId('bookings');
  const result = await api<{ bookings: Booking[] }>('/api/me/bookings');
  list.removeAttribute('aria-busy');
  if (!result.ok) {
    if (result.status === 401) return location.assign(loginUrl());
    return say(byId('tickets-message'), `Your bookings could not be loaded: ${result.error.message}`);
  }
  const bookings = result.body.bookings;
  if (!bookings.length) {
    list.replaceChildren(el('li', {}, 'No tickets yet. ', el('a', { href: '/search', text: 'Find an event' })));
    return;
  }
  list.replaceChildren(
    ...bookings.map((booking) =>
      el(
        'li',
        { class: `booking ${booking.status}` },
        el('h2', {}, el('a', { href: `/events/${booking.eventId}`, text: 'Event page' }), ` · ${booking.status}${booking.refunded ? ' (refunded)' : ''}`),
        booking.confirmedAt ? el('p', { text: `Booked ${when(booking.confirmedAt)} · ${money(booking.totalCents, booking.currency)}` }) : null,
        el(
          'ul',
          {},
          ...(booking.tickets ?? []).map((t) =>
            el('li', {}, `Section ${t.section}, row ${t.row}, seat ${t.seat} · ${money(t.priceCents, booking.currency)}`, t.code ? el('code', { class: 'ticket-code', text: t.code }) : null),
          ),
        ),
      ),
    ),
  );
}
