import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import Stripe from 'stripe';
import { app } from '../../src/worker';
import { withDb } from '../../src/db/client';
import { apiAddress, chargeResultOf, declineOf } from '../../src/payments/stripe';
import { testPaymentRecord, type TestCharge } from '../../src/payments/test-provider';
import { adminToken, api, createEvent, env, signUp } from '../helpers';

interface Booking {
  bookingId: string;
  status: string;
  ticketIds: string[];
  totalCents: number;
  expiresAt: string;
  refunded: boolean;
}

interface ErrorBody {
  error: { code: string; message: string };
}

const WEBHOOK_SECRET = 'whsec_test_secret_for_tests';
const cryptoProvider = Stripe.createSubtleCryptoProvider();

async function ticketIdsOf(eventId: string): Promise<string[]> {
  return withDb(env, async (db) =>
    ((await db.execute(sql`select id from tickets where event_id = ${eventId} order by position`)).rows as Array<{ id: string }>).map((r) => r.id),
  );
}

async function soldInPostgres(eventId: string): Promise<Array<{ id: string; booking_id: string }>> {
  return withDb(env, async (db) => (await db.execute(sql`select id, booking_id from tickets where event_id = ${eventId} and status = 'sold'`)).rows as Array<{ id: string; booking_id: string }>);
}

async function bookingRowsInPostgres(bookingId: string): Promise<number> {
  return withDb(env, async (db) => ((await db.execute(sql`select count(*)::int as n from bookings where id = ${bookingId}`)).rows[0] as { n: number }).n);
}

const hold = async (token: string, eventId: string, ticketIds: string[]): Promise<Booking> => {
  const response = await api(`/api/bookings/${eventId}`, { method: 'POST', token, json: { ticketIds } });
  expect(response.status).toBe(201);
  return response.json();
};

const view = async (token: string, bookingId: string): Promise<Booking> => (await api(`/api/bookings/${bookingId}`, { token })).json();

/** The charges the test provider made for a booking, oldest first. */
const chargesOf = (bookingId: string) => testPaymentRecord.charges.filter((charge) => charge.bookingId === bookingId);
const refundsOf = (reference: string) => testPaymentRecord.refunds.filter((refund) => refund.reference === reference);

async function expireHold(eventId: string, bookingId: string): Promise<void> {
  await runInDurableObject(env.TICKET_LOCK.getByName(eventId), (_instance, state) => {
    const past = Date.now() - 1;
    state.storage.sql.exec(`UPDATE bookings SET expires_at = ? WHERE booking_id = ?`, past, bookingId);
    state.storage.sql.exec(`UPDATE holds SET expires_at = ? WHERE booking_id = ?`, past, bookingId);
  });
}

/** A PaymentIntent event as Stripe delivers it, for the booking named in its metadata. */
function intentEvent(type: string, bookingId: string, amount = 5000): string {
  return paymentEvent(type, { id: `pi_${bookingId.slice(32, 56)}`, metadata: { bookingId }, amount });
}

/** The event of one charge the payment provider made: its intent (the charge's reference) and attempt. */
function chargeEvent(type: string, charge: TestCharge): string {
  return paymentEvent(type, { id: charge.reference, metadata: { bookingId: charge.bookingId, ...(charge.attemptId ? { attemptId: charge.attemptId } : {}) }, amount: charge.amountCents });
}

function paymentEvent(type: string, intent: { id: string; metadata: Record<string, string>; amount: number }): string {
  const { id: intentId, metadata, amount } = intent;
  return JSON.stringify({
    id: `evt_${crypto.randomUUID().replace(/-/g, '')}`,
    object: 'event',
    api_version: Stripe.API_VERSION,
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    type,
    data: { object: { id: intentId, object: 'payment_intent', amount, amount_received: amount, currency: 'usd', status: type === 'payment_intent.succeeded' ? 'succeeded' : 'requires_payment_method', metadata } },
  });
}

async function deliver(payload: string, options: { secret?: string; timestamp?: number } = {}): Promise<Response> {
  const signature = await Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret: options.secret ?? WEBHOOK_SECRET, timestamp: options.timestamp, cryptoProvider });
  return api('/api/payments/webhook', { method: 'POST', body: payload, headers: { 'Content-Type': 'application/json', 'Stripe-Signature': signature } });
}

describe('POST /api/payments/webhook', () => {
  let admin: string;
  beforeAll(async () => {
    admin = await adminToken();
  });

  it('confirms a held booking on payment_intent.succeeded and records the sale in Postgres', async () => {
    const { eventId } = await createEvent(admin);
    const [a] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const held = await hold(buyer.token, eventId, [a!]);

    const response = await deliver(intentEvent('payment_intent.succeeded', held.bookingId));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ received: true });
    expect(await view(buyer.token, held.bookingId)).toMatchObject({ status: 'confirmed', refunded: false });
    expect(await soldInPostgres(eventId)).toEqual([{ id: a, booking_id: held.bookingId }]);
  });

  it('changes nothing when the same event is delivered again, three times', async () => {
    const { eventId } = await createEvent(admin);
    const [a, b] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const held = await hold(buyer.token, eventId, [a!, b!]);
    const payload = intentEvent('payment_intent.succeeded', held.bookingId, held.totalCents);

    expect((await deliver(payload)).status).toBe(200);
    const first = await view(buyer.token, held.bookingId);
    for (let i = 0; i < 3; i++) expect((await deliver(payload)).status).toBe(200);

    expect(await view(buyer.token, held.bookingId)).toEqual(first);
    expect(await bookingRowsInPostgres(held.bookingId)).toBe(1);
    const sold = await soldInPostgres(eventId);
    expect(sold.map((t) => t.id).sort()).toEqual([a, b].sort());
    expect(new Set(sold.map((t) => t.booking_id))).toEqual(new Set([held.bookingId]));
  });

  it('refuses a bad, missing or old signature with 400 and confirms nothing', async () => {
    const { eventId } = await createEvent(admin);
    const [a] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const held = await hold(buyer.token, eventId, [a!]);
    const payload = intentEvent('payment_intent.succeeded', held.bookingId);

    const tampered = await Stripe.webhooks.generateTestHeaderStringAsync({ payload: payload.replace('"usd"', '"eur"'), secret: WEBHOOK_SECRET, cryptoProvider });
    const refused = [
      await deliver(payload, { secret: 'whsec_someone_else' }),
      await api('/api/payments/webhook', { method: 'POST', body: payload, headers: { 'Stripe-Signature': tampered } }),
      await api('/api/payments/webhook', { method: 'POST', body: payload, headers: { 'Stripe-Signature': 'not a signature' } }),
      await api('/api/payments/webhook', { method: 'POST', body: payload }),
      await deliver(payload, { timestamp: Math.floor(Date.now() / 1000) - 301 }),
    ];
    for (const response of refused) {
      expect(response.status).toBe(400);
      expect(((await response.json()) as ErrorBody).error.code).toBe('validation_failed');
    }
    expect((await view(buyer.token, held.bookingId)).status).toBe('pending');
    expect(await soldInPostgres(eventId)).toEqual([]);
  });

  it('answers 400 when webhooks are not configured', async () => {
    const payload = intentEvent('payment_intent.succeeded', '0'.repeat(64));
    const response = await app.request(
      '/api/payments/webhook',
      { method: 'POST', body: payload, headers: { 'Stripe-Signature': await Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret: WEBHOOK_SECRET, cryptoProvider }) } },
      { ...env, STRIPE_WEBHOOK_SECRET: undefined },
    );
    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorBody).error.message).toMatch(/not configured/);
  });

  it('acknowledges failures it has no booking for, and event types it does not handle, changing nothing', async () => {
    const { eventId } = await createEvent(admin);
    const [a] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const held = await hold(buyer.token, eventId, [a!]);
    const lock = env.TICKET_LOCK.getByName(eventId);
    const before = await lock.seatStatus(eventId);
    const unknownBooking = `${eventId.replace(/-/g, '')}${'f'.repeat(32)}`;

    for (const payload of [
      intentEvent('payment_intent.payment_failed', unknownBooking),
      intentEvent('charge.refunded', held.bookingId),
      // No booking of ours named at all: the account's other payments are not ours to touch.
      JSON.stringify({ id: 'evt_1', object: 'event', type: 'payment_intent.succeeded', data: { object: { id: 'pi_not_ours', object: 'payment_intent', amount: 900, metadata: {} } } }),
    ]) {
      const response = await deliver(payload);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ received: true });
    }
    expect(await lock.seatStatus(eventId)).toEqual(before);
    expect((await view(buyer.token, held.bookingId)).status).toBe('pending');
    expect(await soldInPostgres(eventId)).toEqual([]);
    expect(refundsOf('pi_not_ours')).toEqual([]);
  });

  it('refunds a payment for a booking that does not exist: an unknown booking of an event, a booking id that is no booking id', async () => {
    const { eventId } = await createEvent(admin);
    const unknownBooking = `${eventId.replace(/-/g, '')}${'f'.repeat(32)}`;
    const payments = [
      { id: `pi_${crypto.randomUUID().replace(/-/g, '')}`, metadata: { bookingId: unknownBooking }, amount: 5000 },
      { id: `pi_${crypto.randomUUID().replace(/-/g, '')}`, metadata: { bookingId: 'not-a-booking-id' }, amount: 7000 },
    ];
    for (const payment of payments) {
      const response = await deliver(paymentEvent('payment_intent.succeeded', payment));
      expect(response.status).toBe(200);
      // Replays refund nothing more.
      expect((await deliver(paymentEvent('payment_intent.succeeded', payment))).status).toBe(200);
      expect(refundsOf(payment.id)).toEqual([{ reference: payment.id, amountCents: payment.amount }]);
    }
    expect(await soldInPostgres(eventId)).toEqual([]);
  });

  describe('late payments (invariant 3: money and seats agree)', () => {
    it('refunds a payment whose expired hold lost its seat to another buyer, and says so on the booking', async () => {
      const { eventId } = await createEvent(admin);
      const [a] = await ticketIdsOf(eventId);
      const late = await signUp();
      const other = await signUp();
      const held = await hold(late.token, eventId, [a!]);
      await expireHold(eventId, held.bookingId);
      const rival = await hold(other.token, eventId, [a!]);
      const payload = intentEvent('payment_intent.succeeded', held.bookingId);

      expect((await deliver(payload)).status).toBe(200);
      const after = await view(late.token, held.bookingId);
      expect(after).toMatchObject({ status: 'cancelled', refunded: true });
      expect(await soldInPostgres(eventId)).toEqual([]);
      expect(await bookingRowsInPostgres(held.bookingId)).toBe(0);

      // A replay after the refund neither refunds again nor takes the seat from its holder,
      // nor, once the seat is free again, sells it for money that was given back.
      expect((await deliver(payload)).status).toBe(200);
      expect(await view(late.token, held.bookingId)).toEqual(after);
      expect((await view(other.token, rival.bookingId)).status).toBe('pending');
      expect((await env.TICKET_LOCK.getByName(eventId).seatStatus(eventId)).reserved).toEqual([a]);
      await expireHold(eventId, rival.bookingId);
      expect((await deliver(payload)).status).toBe(200);
      expect(await view(late.token, held.bookingId)).toEqual(after);
      expect(await soldInPostgres(eventId)).toEqual([]);
    });

    it('takes an expired hold again and confirms it when its seats are still free', async () => {
      const { eventId } = await createEvent(admin);
      const [a, b] = await ticketIdsOf(eventId);
      const buyer = await signUp();
      const held = await hold(buyer.token, eventId, [a!, b!]);
      await expireHold(eventId, held.bookingId);
      await runDurableObjectAlarm(env.TICKET_LOCK.getByName(eventId));
      expect((await view(buyer.token, held.bookingId)).status).toBe('expired');

      expect((await deliver(intentEvent('payment_intent.succeeded', held.bookingId, held.totalCents))).status).toBe(200);
      expect(await view(buyer.token, held.bookingId)).toMatchObject({ status: 'confirmed', refunded: false });
      expect((await soldInPostgres(eventId)).map((t) => t.id).sort()).toEqual([a, b].sort());
    });
  });

  describe('payments that are still processing', () => {
    const pay = (token: string, bookingId: string, paymentMethodId: string) =>
      api(`/api/bookings/${bookingId}/pay`, { method: 'POST', token, json: { paymentDetails: { paymentMethodId } } });

    it('answers 202 pending with the hold extended, and the succeeded webhook confirms it', async () => {
      const { eventId } = await createEvent(admin);
      const [a] = await ticketIdsOf(eventId);
      const buyer = await signUp();
      const held = await hold(buyer.token, eventId, [a!]);

      const response = await pay(buyer.token, held.bookingId, 'pm_card_processing');
      expect(response.status).toBe(202);
      const processing = (await response.json()) as Booking;
      expect(processing.status).toBe('pending');
      expect(Date.parse(processing.expiresAt)).toBeGreaterThan(Date.parse(held.expiresAt));
      // The hold follows the payment: it outlasts the hold's own ten minutes by far.
      expect(Date.parse(processing.expiresAt) - Date.now()).toBeGreaterThan(25 * 60 * 1000);
      // Neither a second payment nor a cancellation may overtake the one in flight.
      expect((await pay(buyer.token, held.bookingId, 'pm_card_visa')).status).toBe(409);
      expect((await api(`/api/bookings/${held.bookingId}`, { method: 'DELETE', token: buyer.token })).status).toBe(409);
      expect((await env.TICKET_LOCK.getByName(eventId).seatStatus(eventId)).reserved).toEqual([a]);
      expect(await soldInPostgres(eventId)).toEqual([]);

      expect((await deliver(chargeEvent('payment_intent.succeeded', chargesOf(held.bookingId)[0]!))).status).toBe(200);
      expect((await view(buyer.token, held.bookingId)).status).toBe('confirmed');
      expect(await soldInPostgres(eventId)).toEqual([{ id: a, booking_id: held.bookingId }]);
    });

    it('answers 202 for the one-call form too', async () => {
      const { eventId } = await createEvent(admin);
      const [a] = await ticketIdsOf(eventId);
      const buyer = await signUp();
      const response = await api(`/api/bookings/${eventId}`, { method: 'POST', token: buyer.token, json: { ticketIds: [a], paymentDetails: { paymentMethodId: 'pm_card_processing' } } });
      expect(response.status).toBe(202);
      expect(((await response.json()) as Booking).status).toBe('pending');
    });

    it('gives the hold back on payment_intent.payment_failed, so another card can be tried; a late replay changes nothing', async () => {
      const { eventId } = await createEvent(admin);
      const [a] = await ticketIdsOf(eventId);
      const buyer = await signUp();
      const held = await hold(buyer.token, eventId, [a!]);
      expect((await pay(buyer.token, held.bookingId, 'pm_card_processing')).status).toBe(202);
      const failed = chargeEvent('payment_intent.payment_failed', chargesOf(held.bookingId)[0]!);

      expect((await deliver(failed)).status).toBe(200);
      const after = await view(buyer.token, held.bookingId);
      expect(after.status).toBe('pending');
      expect(after.expiresAt).toBe(held.expiresAt);
      expect((await pay(buyer.token, held.bookingId, 'pm_card_visa')).status).toBe(200);

      expect((await deliver(failed)).status).toBe(200);
      expect((await view(buyer.token, held.bookingId)).status).toBe('confirmed');
      expect(await soldInPostgres(eventId)).toEqual([{ id: a, booking_id: held.bookingId }]);
    });

    it('refunds a payment that succeeds after its event was cancelled, and sells nothing', async () => {
      const { eventId } = await createEvent(admin);
      const [a] = await ticketIdsOf(eventId);
      const buyer = await signUp();
      const held = await hold(buyer.token, eventId, [a!]);
      expect((await pay(buyer.token, held.bookingId, 'pm_card_processing')).status).toBe(202);
      expect((await api(`/api/admin/events/${eventId}`, { method: 'PATCH', token: admin, json: { status: 'cancelled' } })).status).toBe(200);

      const [charge] = chargesOf(held.bookingId);
      expect((await deliver(chargeEvent('payment_intent.succeeded', charge!))).status).toBe(200);
      expect(refundsOf(charge!.reference)).toEqual([{ reference: charge!.reference, amountCents: held.totalCents }]);
      expect(await view(buyer.token, held.bookingId)).toMatchObject({ status: 'cancelled', refunded: true });
      expect(await soldInPostgres(eventId)).toEqual([]);
    });

    it('ignores a late failure of an earlier attempt while a later attempt is processing, and the later one confirms', async () => {
      const { eventId } = await createEvent(admin);
      const [a] = await ticketIdsOf(eventId);
      const buyer = await signUp();
      const held = await hold(buyer.token, eventId, [a!]);
      expect((await pay(buyer.token, held.bookingId, 'pm_card_processing')).status).toBe(202);
      const firstFailed = chargeEvent('payment_intent.payment_failed', chargesOf(held.bookingId)[0]!);
      expect((await deliver(firstFailed)).status).toBe(200);
      expect((await view(buyer.token, held.bookingId)).expiresAt).toBe(held.expiresAt);

      const second = await pay(buyer.token, held.bookingId, 'pm_card_processing');
      expect(second.status).toBe(202);
      const processing = (await second.json()) as Booking;
      // The first card's failure, delivered again late: it is not the payment under way.
      expect((await deliver(firstFailed)).status).toBe(200);
      expect(await view(buyer.token, held.bookingId)).toMatchObject({ status: 'pending', expiresAt: processing.expiresAt });
      expect((await env.TICKET_LOCK.getByName(eventId).seatStatus(eventId)).reserved).toEqual([a]);

      const secondCharge = chargesOf(held.bookingId)[1]!;
      expect((await deliver(chargeEvent('payment_intent.succeeded', secondCharge))).status).toBe(200);
      expect(await view(buyer.token, held.bookingId)).toMatchObject({ status: 'confirmed', refunded: false });
      expect(refundsOf(secondCharge.reference)).toEqual([]);
      expect(await soldInPostgres(eventId)).toEqual([{ id: a, booking_id: held.bookingId }]);
    });

    it('refunds the success of an earlier attempt that lands after a later attempt paid for the booking', async () => {
      const { eventId } = await createEvent(admin);
      const [a] = await ticketIdsOf(eventId);
      const buyer = await signUp();
      const held = await hold(buyer.token, eventId, [a!]);
      expect((await pay(buyer.token, held.bookingId, 'pm_card_processing')).status).toBe(202);
      // The processing payment outlasts the hold; the buyer pays again with another card.
      await expireHold(eventId, held.bookingId);
      await runDurableObjectAlarm(env.TICKET_LOCK.getByName(eventId));
      expect((await pay(buyer.token, held.bookingId, 'pm_card_visa')).status).toBe(200);
      const [first, second] = chargesOf(held.bookingId);

      expect((await deliver(chargeEvent('payment_intent.succeeded', first!))).status).toBe(200);
      expect(refundsOf(first!.reference)).toEqual([{ reference: first!.reference, amountCents: held.totalCents }]);
      expect(refundsOf(second!.reference)).toEqual([]);
      expect(await view(buyer.token, held.bookingId)).toMatchObject({ status: 'confirmed', refunded: false });
      expect(await soldInPostgres(eventId)).toEqual([{ id: a, booking_id: held.bookingId }]);
      // Delivered again: refunded once.
      expect((await deliver(chargeEvent('payment_intent.succeeded', first!))).status).toBe(200);
      expect(refundsOf(first!.reference)).toHaveLength(1);
    });
  });
});

describe('stripe payment provider', () => {
  const intent = (status: Stripe.PaymentIntent.Status, message?: string) => ({
    id: 'pi_123',
    status,
    last_payment_error: message ? ({ message } as Stripe.PaymentIntent.LastPaymentError) : null,
  });

  it('maps PaymentIntent states to charge results', () => {
    expect(chargeResultOf(intent('succeeded'))).toEqual({ status: 'succeeded', reference: 'pi_123' });
    expect(chargeResultOf(intent('processing'))).toEqual({ status: 'processing', reference: 'pi_123' });
    expect(chargeResultOf(intent('requires_payment_method', 'Your card has insufficient funds.'))).toEqual({ status: 'declined', message: 'Your card has insufficient funds.' });
    expect(chargeResultOf(intent('requires_payment_method'))).toMatchObject({ status: 'declined' });
    expect(chargeResultOf(intent('requires_action'))).toMatchObject({ status: 'declined' });
    expect(() => chargeResultOf(intent('requires_capture'))).toThrow(/unexpected state/);
  });

  it('turns card errors and unknown payment methods into declines, and nothing else', () => {
    const card = new Stripe.errors.StripeCardError({ type: 'card_error', code: 'card_declined', message: 'Your card was declined.' });
    expect(declineOf(card)).toEqual({ status: 'declined', message: 'Your card was declined.' });
    const missing = new Stripe.errors.StripeInvalidRequestError({ type: 'invalid_request_error', param: 'payment_method', message: "No such PaymentMethod: 'pm_nope'" });
    expect(declineOf(missing)).toMatchObject({ status: 'declined' });
    expect(declineOf(new Stripe.errors.StripeInvalidRequestError({ type: 'invalid_request_error', param: 'amount', message: 'Invalid amount' }))).toBeNull();
    expect(declineOf(new Stripe.errors.StripeAPIError({ type: 'api_error', message: 'Stripe is down' }))).toBeNull();
    expect(declineOf(new Error('network'))).toBeNull();
  });

  it('points the SDK at a local stand-in named by STRIPE_API_BASE', () => {
    expect(apiAddress(undefined)).toEqual({});
    expect(apiAddress('http://127.0.0.1:12111')).toEqual({ host: '127.0.0.1', port: '12111', protocol: 'http' });
    expect(apiAddress('http://stripe-mock')).toEqual({ host: 'stripe-mock', port: 80, protocol: 'http' });
    expect(apiAddress('https://stripe.internal')).toEqual({ host: 'stripe.internal', port: 443, protocol: 'https' });
    expect(() => apiAddress('ftp://example.com')).toThrow(/STRIPE_API_BASE/);
    expect(() => apiAddress('not a url')).toThrow(/STRIPE_API_BASE/);
  });
});
