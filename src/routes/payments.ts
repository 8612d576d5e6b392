import { Hono } from 'hono';
import Stripe from 'stripe';
import type { AppEnv, Bindings } from '../env';
import { ApiError } from '../errors';
import { eventIdOfBooking } from '../durable/TicketLock';
import { paymentProviderFor } from '../payments';

/** Stripe's own default; older deliveries could be replays of a captured request. */
const SIGNATURE_TOLERANCE_SECONDS = 300;

const cryptoProvider = Stripe.createSubtleCryptoProvider();

/** The booking a PaymentIntent pays for, as we named it when creating the intent. */
function bookingOf(intent: Stripe.PaymentIntent): { eventId: string; bookingId: string } | null {
  const bookingId = intent.metadata?.bookingId;
  const eventId = bookingId ? eventIdOfBooking(bookingId) : null;
  return bookingId && eventId ? { eventId, bookingId } : null;
}

/**
 * Confirms the booking, or refunds the money when its seats went to someone else meanwhile.
 * Replays and late deliveries land on a booking that is already confirmed (confirm returns it
 * as is) or already refunded (nothing left to do).
 */
async function paymentSucceeded(env: Bindings, intent: Stripe.PaymentIntent): Promise<void> {
  const target = bookingOf(intent);
  if (!target) return;
  const lock = env.TICKET_LOCK.getByName(target.eventId);
  const booking = await lock.getBooking(target.eventId, target.bookingId);
  if (!booking || booking.refunded) return;
  // A payment whose seats are gone is owed back by the TicketLock, which asks the provider itself and retries until it is done.
  await lock.confirm(target.eventId, target.bookingId, { provider: paymentProviderFor(env).name, reference: intent.id, amountCents: intent.amount_received || intent.amount });
}

/** A payment that was still processing failed: the hold goes back to what it was. */
async function paymentFailed(env: Bindings, intent: Stripe.PaymentIntent): Promise<void> {
  const target = bookingOf(intent);
  if (!target) return;
  await env.TICKET_LOCK.getByName(target.eventId).paymentFailed(target.eventId, target.bookingId, false);
}

export const paymentRoutes = new Hono<AppEnv>().post('/webhook', async (c) => {
  const secret = c.env.STRIPE_WEBHOOK_SECRET;
  if (!secret) throw new ApiError(400, 'validation_failed', 'Stripe webhooks are not configured on this server (no STRIPE_WEBHOOK_SECRET).');
  const signature = c.req.header('stripe-signature');
  if (!signature) {
    throw new ApiError(400, 'validation_failed', 'The Stripe-Signature header is missing.', [{ field: 'stripe-signature', message: 'required' }]);
  }
  // The signature covers the exact bytes Stripe sent, so the body is read as text, never re-serialized.
  const payload = await c.req.text();
  let event: Stripe.Event;
  try {
    event = await Stripe.webhooks.constructEventAsync(payload, signature, secret, SIGNATURE_TOLERANCE_SECONDS, cryptoProvider);
  } catch (error) {
    if (error instanceof Stripe.errors.StripeSignatureVerificationError) {
      throw new ApiError(400, 'validation_failed', `The webhook could not be verified: ${error.message}`, [{ field: 'stripe-signature', message: error.message }]);
    }
    throw error;
  }
  switch (event.type) {
    case 'payment_intent.succeeded':
      await paymentSucceeded(c.env, event.data.object);
      break;
    case 'payment_intent.payment_failed':
      await paymentFailed(c.env, event.data.object);
      break;
  }
  return c.json({ received: true });
});
