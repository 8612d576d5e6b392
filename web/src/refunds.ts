// The organizer's cancel and refund tools on an event's sales page (API.md, cancellation and refunds).
import { api } from './api';
import { byId, money, say } from './format';

export async function refundTools(eventId: string, onChange: () => void): Promise<void> {
  const message = byId('refund-message');
  byId<HTMLButtonElement>('cancel-event').addEventListener('click', async () => {
    if (!confirm('Cancel this event? Every booking is refunded, its tickets stop admitting anyone, and nobody can buy any more.')) return;
    const result = await api<{ refunds: { bookings: number; amountCents: number }; event: { currency: string } }>(`/api/admin/events/${eventId}/cancel`, { method: 'POST' });
    if (!result.ok) return say(message, `The event was not cancelled: ${result.error.message}`);
    const { bookings, amountCents } = result.body.refunds;
    say(message, `The event is cancelled. ${bookings} ${bookings === 1 ? 'booking is' : 'bookings are'} being refunded (${money(amountCents, result.body.event.currency)}); buyers are told by e-mail.`, 'ok');
    onChange();
  });
  byId<HTMLFormElement>('refund-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const bookingId = byId<HTMLInputElement>('refund-booking').value.trim().toLowerCase();
    const releaseSeats = byId<HTMLInputElement>('refund-release').checked;
    if (!bookingId) return say(message, 'Enter the booking number to refund.');
    const result = await api<{ totalCents: number; currency: string }>(`/api/admin/bookings/${encodeURIComponent(bookingId)}/refund`, { method: 'POST', json: { releaseSeats } });
    if (!result.ok) return say(message, `The booking was not refunded: ${result.error.message}`);
    say(message, `Booking refunded (${money(result.body.totalCents, result.body.currency)})${releaseSeats ? '; its seats are on sale again' : ''}.`, 'ok');
    onChange();
  });
}
