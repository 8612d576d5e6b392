import { Hono, type Context } from 'hono';
import Stripe from 'stripe';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { eventIdOfBooking } from '../domain/booking';
import { paymentProviderFor } from '../payments';
import { withDb } from '../db/client';
import { isSalePaidBy } from '../db/bookings';
import { eventHeader } from './events';

/** Stripe's own default; older deliveries could be replays of a captured request. */
const SIGNATURE_TOLERANCE_SECONDS = 300;

const cryptoProvider = Stripe.createSubtleCryptoProvider();

/**
 * The booking and payment attempt a PaymentIntent pays for, as we named them when creating it; null
 * for an intent that names no booking (not ours: the Stripe account may take other payments).
 */
function paymentOf(intent: Stripe.PaymentIntent): { bookingId: string; eventId: string | null; attemptId?: string } | null {
  const bookingId = intent.metadata?.bookingId;
  if (!bookingId) return null;
  const canonical = bookingId.toLowerCase();
  return { bookingId: canonical, eventId: eventIdOfBooking(canonical), attemptId: intent.metadata?.attemptId || undefined };
}

/** The event's TicketLock, when the booking names an event that exists (no other reaches one). */
async function lockOf(c: Context<AppEnv>, eventId: string | null) {
  return eventId && (await eventHeader(c, eventId)) ? c.env.TICKET_LOCK.getByName(eventId) : null;
}

/**
 * Confirms the booking, or gets the money back: the TicketLock refunds a payment whose seats are
 * gone or whose booking another payment bought (and retries until it is done). A payment for a
 * booking that exists nowhere is refunded here; a refund the provider refuses throws, so Stripe
 * delivers the event again. Replays land on a booking already confirmed by this payment, or on a
 * refund already owed: nothing more happens.
 */
async function paymentSucceeded(c: Context<AppEnv>, intent: Stripe.PaymentIntent): Promise<void> {
  const payment = paymentOf(intent);
  if (!payment) return;
  const provider = paymentProviderFor(c.env);
  const amountCents = intent.amount_received || intent.amount;
  const lock = await lockOf(c, payment.eventId);
  if (lock && payment.eventId) {
    const confirmed = await lock.confirm(payment.eventId, payment.bookingId, { provider: provider.name, reference: intent.id, attemptId: payment.attemptId, amountCents });
    if (confirmed.ok || confirmed.reason === 'seats_gone') return;
  }
  // A TicketLock that lost its storage relearns its sales from Postgres, not its bookings: a sale
  // Postgres holds under this very payment stands.
  if (await withDb(c.env, (db) => isSalePaidBy(db, payment.bookingId, intent.id))) return;
  console.warn(`payment ${intent.id} names booking ${payment.bookingId}, which does not exist: refunding it`);
  await provider.refund(intent.id, amountCents);
}

/** A payment that was still processing failed: the hold goes back to what it was, if this payment is the one under way. */
async function paymentFailed(c: Context<AppEnv>, intent: Stripe.PaymentIntent): Promise<void> {
  const payment = paymentOf(intent);
  const lock = payment && (await lockOf(c, payment.eventId));
  if (!payment?.eventId || !lock) return;
  await lock.paymentFailed(payment.eventId, payment.bookingId, false, { attemptId: payment.attemptId, reference: intent.id });
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
      await paymentSucceeded(c, event.data.object);
      break;
    case 'payment_intent.payment_failed':
      await paymentFailed(c, event.data.object);
      break;
  }
  return c.json({ received: true });
});
