// Checkout of a hold: the seats, the total, a countdown to the hold's expiry, the test cards, clear
// words for a decline (the hold stays: try another card), and cancel (the seats are freed at once).
import { api, type Booking } from './api';
import { byId, el, loginUrl, money, say } from './format';
import { mountPaymentElement } from './stripe';
import { ticketItem } from './tickets';

const DECLINE_WORDS: Record<string, string> = {
  pm_card_chargeDeclined: 'Your card was declined by the bank.',
  pm_card_insufficientFunds: 'Your card was declined: insufficient funds.',
};

export async function checkoutPage(): Promise<void> {
  const bookingId = document.body.dataset.bookingId!;
  const message = byId('checkout-message');
  const result = await api<Booking>(`/api/bookings/${encodeURIComponent(bookingId)}`);
  byId('checkout').removeAttribute('aria-busy');
  if (!result.ok) {
    if (result.status === 401) return location.assign(loginUrl());
    byId('checkout').hidden = true;
    return say(message, result.status === 404 ? 'This booking does not exist, or it is not yours.' : `The booking could not be loaded: ${result.error.message}`);
  }
  let booking = result.body;
  const eventLink = () => el('a', { href: `/events/${booking.eventId}`, text: 'Back to the event' });
  byId('order-seats').replaceChildren(
    ...(booking.tickets ?? []).map((t) => el('li', { text: `${t.row === null ? `Section ${t.section}, standing` : `Section ${t.section}, row ${t.row}, seat ${t.seat}`} · ${money(t.priceCents, booking.currency)}` })),
  );
  byId('order-total').textContent = money(booking.totalCents, booking.currency);

  let timer = 0;
  const stopTimer = () => clearInterval(timer);
  const confirm = (confirmed: Booking) => {
    stopTimer();
    byId('checkout').hidden = true;
    const section = byId('confirmation');
    section.hidden = false;
    byId('confirmed-tickets').replaceChildren(...(confirmed.tickets ?? []).map((t) => ticketItem(confirmed, t)));
    byId('confirmation-heading').focus();
  };

  if (booking.status === 'confirmed') return confirm(booking);
  if (booking.status !== 'pending') {
    byId('checkout').hidden = true;
    message.replaceChildren(`This booking is ${booking.status}: its seats are no longer held. `, eventLink());
    message.hidden = false;
    return;
  }

  // The countdown to the hold's expiry.
  const countdown = byId('countdown');
  const tick = () => {
    if (!booking.expiresAt) return;
    const left = Math.max(0, Math.round((new Date(booking.expiresAt).getTime() - Date.now()) / 1000));
    const minutes = Math.floor(left / 60);
    const seconds = String(left % 60).padStart(2, '0');
    countdown.textContent = left > 0
      ? `Your seats are held for ${minutes}:${seconds} more.`
      : 'Your hold has run out. You can still try to pay: if the seats are still free they are yours again.';
    countdown.dataset.urgent = String(left < 60);
  };
  tick();
  timer = window.setInterval(tick, 1000);

  const form = byId<HTMLFormElement>('pay-form');
  const pay = byId<HTMLButtonElement>('pay');
  const cancel = byId<HTMLButtonElement>('cancel');
  // With Stripe configured, its Payment Element replaces the test cards.
  let stripeCard: (() => Promise<{ id?: string; error?: string }>) | null = null;
  const stripeKey = document.body.dataset.stripeKey;
  if (stripeKey) {
    byId('test-cards').hidden = true;
    const target = byId('payment-element');
    target.hidden = false;
    pay.disabled = true;
    try {
      stripeCard = await mountPaymentElement(stripeKey, booking.totalCents, booking.currency, target);
      pay.disabled = false;
    } catch (error) {
      say(message, `Card payments could not be loaded (${(error as Error).message}). Please reload the page.`);
    }
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    let card = String(new FormData(form).get('card') ?? 'pm_card_visa');
    if (stripeCard) {
      const made = await stripeCard();
      if (!made.id) return say(message, made.error ?? 'Please check the card details.');
      card = made.id;
    }
    pay.disabled = cancel.disabled = true;
    say(message, 'Paying…', 'info');
    const paid = await api<Booking>(`/api/bookings/${encodeURIComponent(bookingId)}/pay`, { method: 'POST', json: { paymentDetails: { paymentMethodId: card } } });
    pay.disabled = cancel.disabled = false;
    if (paid.ok) {
      if (paid.body.status === 'confirmed') {
        say(message, 'Payment received. Your tickets are booked.', 'ok');
        const full = await api<Booking>(`/api/bookings/${encodeURIComponent(bookingId)}`);
        return confirm(full.ok ? full.body : paid.body);
      }
      return say(message, 'Your payment is still being processed by the bank. Your seats stay held; this page will show the result when you reload it.', 'info');
    }
    const { code } = paid.error;
    if (code === 'payment_declined') {
      say(message, `${DECLINE_WORDS[card] ?? 'Your card was declined.'} No money was taken. Your seats are still held: choose another card and pay again.`);
    } else if (code === 'hold_expired') {
      say(message, 'Your hold ran out and some of the seats went to someone else. Nothing was charged. Please choose seats again.');
      pay.disabled = true;
    } else if (code === 'booking_not_pending') {
      say(message, 'This booking is no longer waiting for payment (it was paid or cancelled).');
    } else {
      say(message, `The payment did not go through: ${paid.error.message}`);
    }
  });

  cancel.addEventListener('click', async () => {
    pay.disabled = cancel.disabled = true;
    const cancelled = await api(`/api/bookings/${encodeURIComponent(bookingId)}`, { method: 'DELETE' });
    if (cancelled.ok) {
      stopTimer();
      booking = { ...booking, status: 'cancelled' };
      byId('checkout').hidden = true;
      message.replaceChildren('Your booking is cancelled and the seats are released. ', eventLink());
      message.dataset.kind = 'info';
      message.hidden = false;
      return;
    }
    pay.disabled = cancel.disabled = false;
    say(message, `The booking could not be cancelled: ${cancelled.error.message}`);
  });
}
