// An event's TicketLock replaced mid-request: the running instance is aborted (`state.abort()`,
// what workerd does to an object on a deploy or a machine move) and the next call starts a new
// instance over the same storage. Requests the old instance was serving fail; nothing it decided
// is lost, no seat is sold twice, and a payment it confirmed ends confirmed in Postgres, once.
// Postgres is slowed or stalled through this file's proxy scope (test/faults.ts) to hold a request
// in the middle.
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { withDb } from '../../src/db/client';
import { loadEventDocument, loadEventHeader } from '../../src/db/catalog';
import { cachedJson } from '../../src/lib/edge-cache';
import { CATALOG_TTL_SECONDS, eventDocumentKey, eventHeaderKey } from '../../src/routes/events';
import { adminToken, api, createEvent, env, TestClock, ticketIdsOf } from '../helpers';
import { browsingBuyer, clearFaults, faults, observer, setDelay, sleep, STALL_MS } from '../faults';

interface Booking {
  bookingId: string;
  status: string;
  ticketIds: string[];
  refunded: boolean;
}

interface StoredBooking {
  status: string;
  write_pending: number;
  refunded: number;
}

const REASON = 'replaced by the test';

/** Ends the event's running TicketLock instance; the next call to it gets a new one, storage kept. */
async function replaceTicketLock(eventId: string): Promise<void> {
  await expect(runInDurableObject(env.TICKET_LOCK.getByName(eventId), (_instance, state) => state.abort(REASON))).rejects.toThrow(REASON);
}

const hold = (token: string, eventId: string, ticketIds: string[], headers?: Record<string, string>) =>
  api(`/api/bookings/${eventId}`, { method: 'POST', token, json: { ticketIds }, headers });
const pay = (token: string, bookingId: string) =>
  api(`/api/bookings/${bookingId}/pay`, { method: 'POST', token, json: { paymentDetails: { paymentMethodId: 'pm_card_visa' } } });

function stored(eventId: string, bookingId: string): Promise<StoredBooking | undefined> {
  return runInDurableObject(env.TICKET_LOCK.getByName(eventId), (_instance, state) =>
    state.storage.sql.exec<StoredBooking & Record<string, SqlStorageValue>>(`SELECT status, write_pending, refunded FROM bookings WHERE booking_id = ?`, bookingId).toArray()[0],
  );
}

async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: last saw ${JSON.stringify(value)}`);
    await sleep(50);
  }
}

/** Sales of the event in Postgres, read outside the fault scope. */
function postgresSales(eventId: string) {
  return withDb(observer, async (db) => ({
    sold: (await db.execute(sql`select id, booking_id from tickets where event_id = ${eventId} and status = 'sold' order by id`)).rows as Array<{ id: string; booking_id: string }>,
    bookings: (await db.execute(sql`select id, status from bookings where event_id = ${eventId} order by id`)).rows as Array<{ id: string; status: string }>,
    links: (await db.execute(sql`select bt.booking_id, bt.ticket_id from booking_tickets bt join tickets t on t.id = bt.ticket_id where t.event_id = ${eventId} order by bt.ticket_id`)).rows as Array<{ booking_id: string; ticket_id: string }>,
  }));
}

describe('a TicketLock replaced mid-request (storage kept)', () => {
  let admin: string;
  beforeAll(async () => {
    expect(await faults()).toMatchObject({ databaseDown: false, delayMs: 0 });
    admin = await adminToken();
  });

  afterEach(async () => {
    await clearFaults();
  });

  it('in the middle of holds waiting for its first load: they fail, the new instance loads again, and the seat goes to one buyer', async () => {
    const { eventId } = await createEvent(admin);
    // The event page in the edge cache, its TicketLock not yet started: the holds below reach it first.
    const document = await cachedJson({ waitUntil: () => {} }, eventDocumentKey(eventId), CATALOG_TTL_SECONDS, () => withDb(observer, (db) => loadEventDocument(db, eventId)));
    const seat = document!.tickets[0]!.id;
    await cachedJson({ waitUntil: () => {} }, eventHeaderKey(eventId), CATALOG_TTL_SECONDS, () => withDb(observer, (db) => loadEventHeader(db, eventId)));
    await until(async () => (await caches.default.match(eventDocumentKey(eventId))) !== undefined, (cached) => cached, 'the cached event page');
    const buyers = await Promise.all(Array.from({ length: 4 }, () => browsingBuyer()));

    await setDelay(STALL_MS);
    const waiting = buyers.map((buyer) => hold(buyer.token, eventId, [seat]));
    await sleep(500);
    await replaceTicketLock(eventId);
    await setDelay(0);
    const first = await Promise.all(waiting);
    // Each was waiting inside the old instance for its load; none was answered as held.
    for (const response of first) {
      expect(response.status).toBe(500);
      expect(await response.json()).toMatchObject({ error: { code: 'internal' } });
    }
    expect(await runInDurableObject(env.TICKET_LOCK.getByName(eventId), (_i, state) => state.storage.sql.exec(`SELECT count(*) AS n FROM bookings`).one().n)).toBe(0);

    // They try again: the new instance loads the event afresh and gives the seat to one of them.
    const again = await Promise.all(buyers.map((buyer) => hold(buyer.token, eventId, [seat])));
    expect(again.map((r) => r.status).sort()).toEqual([201, 409, 409, 409]);
    const winner = again.findIndex((r) => r.status === 201);
    const booking = (await again[winner]!.json()) as Booking;
    expect((await pay(buyers[winner]!.token, booking.bookingId)).status).toBe(200);
    expect(await postgresSales(eventId)).toEqual({
      sold: [{ id: seat, booking_id: booking.bookingId }],
      bookings: [{ id: booking.bookingId, status: 'confirmed' }],
      links: [{ booking_id: booking.bookingId, ticket_id: seat }],
    });
  });

  it('between an Idempotency-Key claim and its answer: the hold made meanwhile is the answer a retry with the key gets', async () => {
    // Not cached and Postgres stalled: the request claims its key, then waits for the event page.
    const { eventId } = await createEvent(admin);
    const buyer = await browsingBuyer();
    const [seat] = await withDb(observer, async (db) =>
      ((await db.execute(sql`select id from tickets where event_id = ${eventId} order by position limit 1`)).rows as Array<{ id: string }>).map((r) => r.id),
    );
    const key = { 'Idempotency-Key': 'replaced-mid-hold' };

    await setDelay(STALL_MS);
    const first = hold(buyer.token, eventId, [seat!], key);
    await until(
      () => runInDurableObject(env.TICKET_LOCK.getByName(eventId), (_i, state) => state.storage.sql.exec(`SELECT count(*) AS n FROM idempotency_keys`).one().n),
      (claims) => claims === 1,
      'the claim of the key',
    );
    await replaceTicketLock(eventId);
    await setDelay(0);
    const answer = await first;
    const retry = await hold(buyer.token, eventId, [seat!], key);

    const held = await runInDurableObject(env.TICKET_LOCK.getByName(eventId), (_i, state) =>
      state.storage.sql.exec<{ booking_id: string; status: string }>(`SELECT booking_id, status FROM bookings`).toArray(),
    );
    // The hold was made by the new instance; the buyer must be able to learn of it.
    expect(held).toEqual([{ booking_id: expect.any(String), status: 'pending' }]);
    expect(answer.status).toBe(201);
    expect(await answer.json()).toMatchObject({ bookingId: held[0]!.booking_id });
    expect([retry.status, retry.headers.get('Idempotent-Replayed')]).toEqual([201, 'true']);
    expect(await retry.json()).toMatchObject({ bookingId: held[0]!.booking_id, status: 'pending' });
  });

  it('in the middle of a payment, wherever its Postgres write is: the payment ends confirmed in Postgres once', async () => {
    // The Worker's clock: the new instance's alarm is run by the test once the retry is due.
    const clock = new TestClock();
    await clock.during(async () => {
      const { eventId } = await createEvent(await adminToken(), { sections: [{ name: 'Floor', rows: 2, seatsPerRow: 6 }] });
      const seats = await ticketIdsOf(eventId);
      const outcomes: string[] = [];

      // 150 ms a message: the write (session start, BEGIN, its statements, COMMIT) spans about a
      // second; the instance is replaced at points spread over it and past its end.
      for (const [i, afterMs] of [0, 200, 400, 600, 800, 1500].entries()) {
        const buyer = await browsingBuyer();
        const ticketIds = seats.slice(2 * i, 2 * i + 2);
        const booking = (await (await hold(buyer.token, eventId, ticketIds)).json()) as Booking;
        await setDelay(150);
        const paying = pay(buyer.token, booking.bookingId);
        await until(() => stored(eventId, booking.bookingId), (row) => row?.status === 'confirmed', 'the confirmation decided');
        await sleep(afterMs);
        await replaceTicketLock(eventId);
        await setDelay(0);
        const answer = await paying;
        outcomes.push(`replaced ${afterMs} ms into the write: pay answered ${answer.status}, Postgres had it: ${(await postgresSales(eventId)).bookings.some((b) => b.id === booking.bookingId)}`);
        expect([200, 500]).toContain(answer.status);
        if (answer.status === 200) expect(await answer.json()).toMatchObject({ status: 'confirmed', refunded: false });

        // Whatever the old instance left, the new one's alarm finishes once its retry is due.
        for (let tries = 0; (await stored(eventId, booking.bookingId))?.write_pending !== 0; tries++) {
          if (tries === 5) throw new Error(`the write of ${booking.bookingId} was never finished: ${outcomes.at(-1)}`);
          clock.advance(6 * 60_000);
          await runDurableObjectAlarm(env.TICKET_LOCK.getByName(eventId));
        }
        expect(await stored(eventId, booking.bookingId)).toEqual({ status: 'confirmed', write_pending: 0, refunded: 0 });
        const sales = await postgresSales(eventId);
        expect(sales.bookings.filter((b) => b.id === booking.bookingId)).toEqual([{ id: booking.bookingId, status: 'confirmed' }]);
        expect(sales.links.filter((l) => l.booking_id === booking.bookingId).map((l) => l.ticket_id)).toEqual([...ticketIds].sort());
        const view = await api(`/api/bookings/${booking.bookingId}`, { token: buyer.token });
        expect(await view.json()).toMatchObject({ status: 'confirmed', refunded: false });
      }
      console.log(outcomes.join('\n'));
      // Every seat paid for is sold once, to the booking that paid for it.
      const sales = await postgresSales(eventId);
      expect(sales.sold).toHaveLength(12);
      expect(sales.links).toHaveLength(12);
      expect(new Set(sales.links.map((l) => l.ticket_id)).size).toBe(12);
    });
  });
});
