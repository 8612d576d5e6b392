// Giving tickets to someone (API.md, transfer): a confirmed booking's tickets, all or some, move to
// the account with that e-mail with new codes; the old ones stop admitting anyone.
import { api, type Booking } from './api';
import { el, say } from './format';

const seatName = (t: { section: string; row: string | null; seat: number | null }) => (t.row === null ? `${t.section}, standing` : `${t.section}, row ${t.row}, seat ${t.seat}`);

export function transferForm(booking: Booking, onDone: () => void): HTMLElement | null {
  const tickets = booking.tickets ?? [];
  if (booking.status !== 'confirmed' || booking.refunded || !tickets.length) return null;
  const id = booking.bookingId.slice(-8);
  const message = el('p', { class: 'message', role: 'alert', hidden: true });
  const email = el('input', { id: `transfer-email-${id}`, type: 'email', name: 'email', required: true, autocomplete: 'off' });
  const boxes = tickets.map((ticket) => el('input', { type: 'checkbox', name: 'ticketIds', value: ticket.id, checked: true }));
  const form = el(
    'form',
    { class: 'transfer' },
    el('div', { class: 'field' }, el('label', { for: `transfer-email-${id}`, text: "Recipient's e-mail (their account)" }), email),
    el('fieldset', {}, el('legend', { text: 'Tickets to give' }), ...tickets.map((ticket, i) => el('label', { class: 'choice' }, boxes[i]!, ` ${seatName(ticket)}`))),
    message,
    el('button', { type: 'submit', text: 'Give these tickets' }),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const ticketIds = boxes.filter((box) => box.checked).map((box) => box.value);
    if (!ticketIds.length) return say(message, 'Tick at least one ticket to give.');
    const all = ticketIds.length === tickets.length;
    const result = await api(`/api/bookings/${encodeURIComponent(booking.bookingId)}/transfer`, { method: 'POST', json: { email: email.value.trim(), ...(all ? {} : { ticketIds }) } });
    if (!result.ok) {
      const words = result.status === 404 && result.error.code === 'not_found' ? 'No account has that e-mail: ask them to sign up first.' : result.error.message;
      return say(message, `The tickets were not given: ${words}`);
    }
    say(message, `Done: ${ticketIds.length === 1 ? 'the ticket now belongs' : 'the tickets now belong'} to ${email.value.trim()}, with new codes.`, 'ok');
    onDone();
  });
  return el('details', { class: 'transfer-details' }, el('summary', { text: 'Give tickets to someone' }), form);
}
