// My tickets: GET /api/me/bookings (bookings that reached Postgres), newest first, each confirmed
// ticket with its rotating QR code; event names from the event view, once per event.
import { api, type Booking, type BookingTicket } from './api';
import { byId, el, loginUrl, money, say, when } from './format';
import { rotatingQr } from './qr';
import { transferForm } from './transfer';
import { myWaitlist } from './waitlist';

const seatText = (t: BookingTicket) => (t.row === null ? `Section ${t.section}, standing` : `Section ${t.section}, row ${t.row}, seat ${t.seat}`);

/** One ticket: where it is, its price and, once paid, its QR code. */
export function ticketItem(booking: Booking, ticket: BookingTicket): HTMLLIElement {
  return el(
    'li',
    { class: 'ticket' },
    el('p', { text: `${seatText(ticket)} · ${money(ticket.priceCents, booking.currency)}` }),
    booking.status === 'confirmed' ? rotatingQr(booking.bookingId, ticket.id, seatText(ticket)) : null,
  );
}

export async function ticketsPage(): Promise<void> {
  void myWaitlist();
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
  const names = new Map<string, HTMLAnchorElement[]>();
  list.replaceChildren(
    ...bookings.map((booking) => {
      const link = el('a', { href: `/events/${booking.eventId}`, text: 'Event' });
      names.set(booking.eventId, [...(names.get(booking.eventId) ?? []), link]);
      const status = booking.status === 'confirmed' ? (booking.refunded ? 'refunded' : 'booked') : booking.status;
      return el(
        'li',
        { class: `booking ${booking.status}` },
        el('h2', {}, link),
        el('p', { class: 'hint', text: `${status}${booking.confirmedAt ? ` ${when(booking.confirmedAt)}` : ''} · ${money(booking.totalCents, booking.currency)}` }),
        el('ul', { class: 'tickets' }, ...(booking.tickets ?? []).map((ticket) => ticketItem(booking, ticket))),
        transferForm(booking, () => void ticketsPage()),
      );
    }),
  );
  for (const [eventId, links] of names) {
    void api<{ event: { name: string; startsAt: string }; venue: { name: string; city: string } }>(`/api/events/${eventId}`).then((view) => {
      if (!view.ok) return;
      for (const link of links) link.textContent = `${view.body.event.name} · ${when(view.body.event.startsAt)} · ${view.body.venue.name}, ${view.body.venue.city}`;
    });
  }
}
