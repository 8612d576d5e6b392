// A confirmation whose Postgres write fails is kept by the event's TicketLock and retried by its
// alarm until it lands: nothing lost, nothing doubled. The database is taken away through the
// local proxy's fault switch, scoped to this file's own Worker (the `database-faults` project in
// vitest.config.ts), so the files running beside it never see the outage.
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { withDb } from '../../src/db/client';
import { eventDocumentKey, eventHeaderKey } from '../../src/routes/events';
import { purge } from '../../src/lib/edge-cache';
import { adminToken, api, createEvent, env, signUp } from '../helpers';
import { browsingBuyer } from '../faults';
import { testPaymentRecord } from '../../src/payments/test-provider';

interface Booking {
  bookingId: string;
  status: string;
  ticketIds: string[];
  tickets: Array<{ id: string; section: string | null; code: string | null }>;
}

interface PendingWrite {
  status: string;
  write_pending: number;
  retry_count: number;
  next_retry_at: number | null;
}

const proxy = env.LOCAL_NEON_PROXY!;
// The same proxy outside this file's scope: it sees Postgres while this Worker cannot.
const observer = { ...env, LOCAL_NEON_PROXY: proxy.split('/')[0]! };

async function faults(init?: RequestInit): Promise<{ scope: string; databaseDown: boolean }> {
  const response = await fetch(`http://${proxy}/__faults`, init);
  if (response.status !== 200) throw new Error(`fault switch answered ${response.status}: ${await response.text()}`);
  return response.json();
}

async function setDatabaseDown(databaseDown: boolean): Promise<void> {
  expect(await faults({ method: 'POST', body: JSON.stringify({ databaseDown }) })).toMatchObject({ databaseDown });
}

async function ticketIdsOf(eventId: string): Promise<string[]> {
  return withDb(observer, async (db) =>
    ((await db.execute(sql`select id from tickets where event_id = ${eventId} order by position`)).rows as Array<{ id: string }>).map((r) => r.id),
  );
}

/** What Postgres holds for this event: sold tickets, bookings rows and booking_tickets rows. */
async function postgresState(eventId: string) {
  return withDb(observer, async (db) => ({
    sold: (await db.execute(sql`select id, booking_id from tickets where event_id = ${eventId} and status = 'sold' order by id`)).rows as Array<{ id: string; booking_id: string }>,
    bookings: (await db.execute(sql`select id, status from bookings where event_id = ${eventId}`)).rows as Array<{ id: string; status: string }>,
    bookingTickets: (await db.execute(sql`select bt.booking_id, bt.ticket_id from booking_tickets bt join bookings b on b.id = bt.booking_id where b.event_id = ${eventId}`)).rows,
  }));
}

function pendingWrite(eventId: string, bookingId: string): Promise<PendingWrite> {
  return runInDurableObject(env.TICKET_LOCK.getByName(eventId), (_instance, state) =>
    state.storage.sql
      .exec<PendingWrite & Record<string, SqlStorageValue>>(`SELECT status, write_pending, retry_count, next_retry_at FROM bookings WHERE booking_id = ?`, bookingId)
      .one(),
  );
}

/** Backoff is real time; tests move the next attempt instead of waiting for it. */
function retryAt(eventId: string, bookingId: string, at: number): Promise<void> {
  return runInDurableObject(env.TICKET_LOCK.getByName(eventId), (_instance, state) => {
    state.storage.sql.exec(`UPDATE bookings SET next_retry_at = ? WHERE booking_id = ?`, at, bookingId);
  });
}

const FAR_FUTURE = Date.now() + 24 * 3600 * 1000;

const pay = (token: string, bookingId: string, paymentMethodId = 'pm_card_visa') =>
  api(`/api/bookings/${bookingId}/pay`, { method: 'POST', token, json: { paymentDetails: { paymentMethodId } } });

describe('a confirmation Postgres cannot take yet', () => {
  let admin: string;
  beforeAll(async () => {
    // A switch outside any scope would take the database away from every test file at once.
    expect((await faults()).scope).not.toBe('');
    admin = await adminToken();
  });

  afterEach(async () => {
    await setDatabaseDown(false);
  });

  /** An event, a buyer and a one-seat hold, with the event's catalog document cached at the edge. */
  async function heldSeat() {
    const { eventId } = await createEvent(admin);
    const [ticketId] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const response = await api(`/api/bookings/${eventId}`, { method: 'POST', token: buyer.token, json: { ticketIds: [ticketId] } });
    expect(response.status).toBe(201);
    const { bookingId } = (await response.json()) as Booking;
    // The pay route's answer names the seats from the cached catalog document; with it cached,
    // the route reaches Postgres only through the TicketLock's write.
    expect((await api(`/api/events/${eventId}`)).status).toBe(200);
    expect((await api(`/api/bookings/${bookingId}`, { token: buyer.token })).status).toBe(200);
    await expect.poll(async () => (await caches.default.match(eventDocumentKey(eventId))) !== undefined).toBe(true);
    return { eventId, ticketId: ticketId!, bookingId, buyer };
  }

  async function payWhileDown(eventId: string, bookingId: string, token: string): Promise<Booking> {
    await setDatabaseDown(true);
    const response = await pay(token, bookingId);
    // The TicketLock decided; the buyer is not told to pay again for a write it will retry.
    expect(response.status).toBe(200);
    const booking = (await response.json()) as Booking;
    const pending = await pendingWrite(eventId, bookingId);
    expect(pending).toMatchObject({ status: 'confirmed', write_pending: 1 });
    expect(pending.retry_count).toBeGreaterThanOrEqual(1);
    expect(pending.next_retry_at).not.toBeNull();
    return booking;
  }

  async function expectSoldOnce(eventId: string, ticketId: string, bookingId: string): Promise<void> {
    expect(await postgresState(eventId)).toEqual({
      sold: [{ id: ticketId, booking_id: bookingId }],
      bookings: [{ id: bookingId, status: 'confirmed' }],
      bookingTickets: [{ booking_id: bookingId, ticket_id: ticketId }],
    });
  }

  it('is confirmed to the buyer at once and written by the alarm once Postgres is back, exactly once', async () => {
    const { eventId, ticketId, bookingId, buyer } = await heldSeat();
    const lock = env.TICKET_LOCK.getByName(eventId);
    const other = await signUp();

    const booking = await payWhileDown(eventId, bookingId, buyer.token);
    expect(booking).toMatchObject({ bookingId, status: 'confirmed', ticketIds: [ticketId] });
    expect(booking.tickets[0]!.section).not.toBeNull();
    expect(booking.tickets[0]!.code).toEqual(expect.any(String));
    // Keeps the alarm's own retry from landing before the test looks.
    await retryAt(eventId, bookingId, FAR_FUTURE);
    expect(await postgresState(eventId)).toEqual({ sold: [], bookings: [], bookingTickets: [] });
    // The seat stays the buyer's meanwhile: nobody else can hold it.
    expect((await api(`/api/bookings/${eventId}`, { method: 'POST', token: other.token, json: { ticketIds: [ticketId] } })).status).toBe(409);
    await setDatabaseDown(false);

    await retryAt(eventId, bookingId, Date.now() - 1);
    await runDurableObjectAlarm(lock);
    await expectSoldOnce(eventId, ticketId, bookingId);
    expect(await pendingWrite(eventId, bookingId)).toMatchObject({ status: 'confirmed', write_pending: 0, next_retry_at: null });
    expect((await lock.seatStatus(eventId)).booked).toEqual([ticketId]);

    // Everything that could write it again: the alarm, a replayed payment, a replayed confirmation.
    await runDurableObjectAlarm(lock);
    const replay = await pay(buyer.token, bookingId);
    expect(replay.status).toBe(409);
    expect(((await replay.json()) as { error: { code: string } }).error.code).toBe('booking_not_pending');
    const again = await lock.confirm(eventId, bookingId, { provider: 'test', reference: `test_${bookingId}` });
    expect(again).toMatchObject({ ok: true, booking: { status: 'confirmed', confirmationPending: false } });
    await expectSoldOnce(eventId, ticketId, bookingId);
    expect(await pendingWrite(eventId, bookingId)).toMatchObject({ write_pending: 0 });
  });

  it('keeps failing retries pending, backing off, until Postgres is back, and then writes once', async () => {
    const { eventId, ticketId, bookingId, buyer } = await heldSeat();
    const lock = env.TICKET_LOCK.getByName(eventId);
    await payWhileDown(eventId, bookingId, buyer.token);

    const first = await pendingWrite(eventId, bookingId);
    await retryAt(eventId, bookingId, Date.now() - 1);
    await runDurableObjectAlarm(lock);
    const second = await pendingWrite(eventId, bookingId);
    expect(second.write_pending).toBe(1);
    expect(second.retry_count).toBeGreaterThan(first.retry_count);
    expect(second.next_retry_at).toBeGreaterThan(Date.now());
    await retryAt(eventId, bookingId, FAR_FUTURE);
    expect(await postgresState(eventId)).toEqual({ sold: [], bookings: [], bookingTickets: [] });
    await setDatabaseDown(false);

    await retryAt(eventId, bookingId, Date.now() - 1);
    await runDurableObjectAlarm(lock);
    await expectSoldOnce(eventId, ticketId, bookingId);
    await runDurableObjectAlarm(lock);
    await expectSoldOnce(eventId, ticketId, bookingId);
    expect(await pendingWrite(eventId, bookingId)).toMatchObject({ status: 'confirmed', write_pending: 0, next_retry_at: null });
  });

  it('is answered, with seat names from the TicketLock, not with an error, when the catalog cannot be read either', async () => {
    const { eventId, ticketId, bookingId, buyer } = await heldSeat();
    const lock = env.TICKET_LOCK.getByName(eventId);
    // Holds outlast the catalog's edge TTL, so by the time of payment the copies are often gone.
    await Promise.all([purge(eventDocumentKey(eventId)), purge(eventHeaderKey(eventId))]);

    const booking = await payWhileDown(eventId, bookingId, buyer.token);
    expect(booking).toMatchObject({ bookingId, status: 'confirmed', ticketIds: [ticketId] });
    expect(booking.tickets[0]).toMatchObject({ id: ticketId, section: 'Floor', row: 'A', seat: expect.any(Number), code: expect.any(String) });
    await setDatabaseDown(false);

    await retryAt(eventId, bookingId, Date.now() - 1);
    await runDurableObjectAlarm(lock);
    await expectSoldOnce(eventId, ticketId, bookingId);
  });

  it('answers 503 with Retry-After, not 500, for a booking whose catalog and TicketLock both need Postgres', async () => {
    const { eventId } = await createEvent(admin);
    const buyer = await browsingBuyer();
    // A booking id of a real event whose TicketLock has never run: it would have to load from Postgres.
    const bookingId = `${eventId.replace(/-/g, '')}${crypto.randomUUID().replace(/-/g, '')}`;
    await Promise.all([purge(eventDocumentKey(eventId)), purge(eventHeaderKey(eventId))]);
    await setDatabaseDown(true);

    const response = await api(`/api/bookings/${bookingId}`, { token: buyer.token });

    expect(response.status).toBe(503);
    expect(response.headers.get('Retry-After')).toBe('5');
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unavailable');
  });
});

describe('a confirmation whose retry finds its seats sold to another booking in Postgres', () => {
  let admin: string;
  beforeAll(async () => {
    expect((await faults()).scope).not.toBe('');
    admin = await adminToken();
  });

  afterEach(async () => {
    await setDatabaseDown(false);
  });

  /** Sells the seat in Postgres to a booking this event's TicketLock never heard of (as a lost or second copy of it would). */
  async function sellToAnotherBooking(eventId: string, ticketId: string, userId: string): Promise<string> {
    const bookingId = `${eventId.replace(/-/g, '')}${'e'.repeat(32)}`;
    await withDb(observer, async (db) => {
      await db.execute(sql`insert into bookings (id, user_id, event_id, status, total_cents, currency, payment_provider, confirmed_at)
        values (${bookingId}, ${userId}, ${eventId}, 'confirmed', 5000, 'USD', 'test', now())`);
      await db.execute(sql`update tickets set status = 'sold', booking_id = ${bookingId} where id = ${ticketId}`);
      await db.execute(sql`insert into booking_tickets (booking_id, ticket_id, price_cents) values (${bookingId}, ${ticketId}, 5000)`);
    });
    return bookingId;
  }

  /** A buyer told "confirmed" while Postgres was down, whose seat Postgres sold to someone else meanwhile; then the retry runs. */
  async function confirmedThenLost(paymentMethodId: string) {
    const { eventId } = await createEvent(admin);
    const [ticketId] = await ticketIdsOf(eventId);
    const [buyer, rival] = [await browsingBuyer(), await signUp()];
    const held = await api(`/api/bookings/${eventId}`, { method: 'POST', token: buyer.token, json: { ticketIds: [ticketId] } });
    expect(held.status).toBe(201);
    const { bookingId } = (await held.json()) as Booking;
    await setDatabaseDown(true);
    const paid = await pay(buyer.token, bookingId, paymentMethodId);
    expect([paid.status, ((await paid.json()) as Booking).status]).toEqual([200, 'confirmed']);
    await retryAt(eventId, bookingId, FAR_FUTURE);
    const rivalBooking = await sellToAnotherBooking(eventId, ticketId!, rival.user.id);
    await setDatabaseDown(false);
    await retryAt(eventId, bookingId, Date.now() - 1);
    await runDurableObjectAlarm(env.TICKET_LOCK.getByName(eventId));
    return { eventId, ticketId: ticketId!, bookingId, buyer, rivalBooking };
  }

  const view = async (token: string, bookingId: string) => (await api(`/api/bookings/${bookingId}`, { token })).json() as Promise<Booking & { refunded: boolean }>;
  const refundsOf = (reference: string) => testPaymentRecord.refunds.filter((refund) => refund.reference === reference);

  it('gives the money back through the payment provider and says so on the booking', async () => {
    const { eventId, ticketId, bookingId, buyer, rivalBooking } = await confirmedThenLost('pm_card_visa');
    const [charge] = testPaymentRecord.charges.filter((entry) => entry.bookingId === bookingId);
    expect(charge).toMatchObject({ status: 'succeeded', amountCents: 5000 });
    expect(refundsOf(charge!.reference)).toEqual([{ reference: charge!.reference, amountCents: 5000 }]);
    expect(await view(buyer.token, bookingId)).toMatchObject({ status: 'cancelled', refunded: true });
    expect((await postgresState(eventId)).sold).toEqual([{ id: ticketId, booking_id: rivalBooking }]);
    // The seat shows as Postgres has it: sold.
    expect((await env.TICKET_LOCK.getByName(eventId).seatStatus(eventId)).booked).toEqual([ticketId]);

    // Nothing is given back twice: another alarm run, a replayed payment.
    await runDurableObjectAlarm(env.TICKET_LOCK.getByName(eventId));
    expect((await pay(buyer.token, bookingId)).status).toBe(409);
    expect(refundsOf(charge!.reference)).toHaveLength(1);
  });

  it('keeps a refund the provider refused owed, and the alarm retries it until it goes through', async () => {
    const { eventId, bookingId, buyer } = await confirmedThenLost('pm_card_refundFailsOnce');
    const lock = env.TICKET_LOCK.getByName(eventId);
    const [charge] = testPaymentRecord.charges.filter((entry) => entry.bookingId === bookingId);
    expect(testPaymentRecord.refusedRefunds.filter((refund) => refund.reference === charge!.reference)).toHaveLength(1);
    expect(refundsOf(charge!.reference)).toEqual([]);
    // Not given back yet, so not said to be; the seat is not the buyer's either way.
    expect(await view(buyer.token, bookingId)).toMatchObject({ status: 'cancelled', refunded: false });
    const owed = () =>
      runInDurableObject(lock, (_instance, state) =>
        state.storage.sql.exec<{ reference: string; refunded_at: number | null; next_attempt_at: number | null }>(`SELECT reference, refunded_at, next_attempt_at FROM refunds`).toArray(),
      );
    const [refund] = await owed();
    expect(refund).toMatchObject({ reference: charge!.reference, refunded_at: null });
    expect(await runInDurableObject(lock, (_instance, state) => state.storage.getAlarm())).toBeLessThanOrEqual(refund!.next_attempt_at!);

    await runInDurableObject(lock, (_instance, state) => {
      state.storage.sql.exec(`UPDATE refunds SET next_attempt_at = ?`, Date.now() - 1);
    });
    await runDurableObjectAlarm(lock);
    expect(refundsOf(charge!.reference)).toEqual([{ reference: charge!.reference, amountCents: 5000 }]);
    expect(await view(buyer.token, bookingId)).toMatchObject({ status: 'cancelled', refunded: true });
    expect((await owed())[0]).toMatchObject({ refunded_at: expect.any(Number), next_attempt_at: null });
  });
});

