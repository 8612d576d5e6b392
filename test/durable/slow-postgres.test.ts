// Postgres slow (the proxy's slow mode holds each message of this Worker's sessions; test/faults.ts)
// or stalled outright: holds do not notice, and a confirmation whose write is still in flight
// when its retry comes due — the alarm runs meanwhile, once or twice — ends confirmed once: never
// written twice in parallel, never cancelled or refunded while Postgres has it (DESIGN.md invariant 9).
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { withDb } from '../../src/db/client';
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

const hold = (token: string, eventId: string, ticketIds: string[]) => api(`/api/bookings/${eventId}`, { method: 'POST', token, json: { ticketIds } });
const pay = (token: string, bookingId: string) =>
  api(`/api/bookings/${bookingId}/pay`, { method: 'POST', token, json: { paymentDetails: { paymentMethodId: 'pm_card_visa' } } });

function stored(eventId: string, bookingId: string): Promise<StoredBooking | undefined> {
  return runInDurableObject(env.TICKET_LOCK.getByName(eventId), (_instance, state) =>
    state.storage.sql.exec<StoredBooking & Record<string, SqlStorageValue>>(`SELECT status, write_pending, refunded FROM bookings WHERE booking_id = ?`, bookingId).toArray()[0],
  );
}

/** What Postgres holds for the event, read outside the slow scope. */
function postgresState(eventId: string) {
  return withDb(observer, async (db) => ({
    sold: (await db.execute(sql`select id, booking_id from tickets where event_id = ${eventId} and status = 'sold' order by id`)).rows,
    bookings: (await db.execute(sql`select id, status from bookings where event_id = ${eventId}`)).rows,
    links: (await db.execute(sql`select bt.booking_id, bt.ticket_id from booking_tickets bt join tickets t on t.id = bt.ticket_id where t.event_id = ${eventId} order by bt.ticket_id`)).rows,
  }));
}

/** Confirmed once, in Postgres and in the TicketLock, its seats booked, its money kept. */
async function expectConfirmedOnce(eventId: string, booking: { bookingId: string; ticketIds: string[] }): Promise<void> {
  const ids = [...booking.ticketIds].sort();
  expect(await postgresState(eventId)).toEqual({
    sold: ids.map((id) => ({ id, booking_id: booking.bookingId })),
    bookings: [{ id: booking.bookingId, status: 'confirmed' }],
    links: ids.map((ticket_id) => ({ booking_id: booking.bookingId, ticket_id })),
  });
  expect(await stored(eventId, booking.bookingId)).toEqual({ status: 'confirmed', write_pending: 0, refunded: 0 });
  const seats = await env.TICKET_LOCK.getByName(eventId).seatStatus(eventId);
  expect([...seats.booked].sort()).toEqual(ids);
  expect(seats.reserved.filter((id) => ids.includes(id))).toEqual([]);
}

describe('Postgres slow', () => {
  let admin: string;
  beforeAll(async () => {
    expect(await faults()).toMatchObject({ databaseDown: false, delayMs: 0 });
    admin = await adminToken();
  });

  afterEach(async () => {
    await clearFaults();
  });

  it('does not hold up holds, cancels or the seat map: they never wait for Postgres, even stalled', async () => {
    const { eventId } = await createEvent(admin);
    const [t0, t1] = await ticketIdsOf(eventId); // caches the event page and loads its TicketLock
    const [alice, bob] = await Promise.all([browsingBuyer(), browsingBuyer()]);

    await setDelay(STALL_MS);
    const held = await hold(alice.token, eventId, [t0!, t1!]);
    expect(held.status).toBe(201);
    const booking = (await held.json()) as Booking;
    expect((await hold(bob.token, eventId, [t1!])).status).toBe(409);
    expect((await api(`/api/bookings/${booking.bookingId}`, { token: alice.token })).status).toBe(200);
    expect((await api(`/api/bookings/${booking.bookingId}`, { method: 'DELETE', token: alice.token })).status).toBe(204);
    expect((await hold(bob.token, eventId, [t1!])).status).toBe(201);
    expect(await postgresState(eventId)).toEqual({ sold: [], bookings: [], links: [] });
  });

  it('lets the first holds of a cold TicketLock wait for its slow load together: one seat, one buyer', async () => {
    const { eventId } = await createEvent(admin);
    const [seat] = await withDb(observer, async (db) =>
      ((await db.execute(sql`select id from tickets where event_id = ${eventId} order by position limit 1`)).rows as Array<{ id: string }>).map((r) => r.id),
    );
    const buyers = await Promise.all(Array.from({ length: 6 }, () => browsingBuyer()));

    // Nothing of this event is cached or loaded yet: every request waits on slow Postgres.
    await setDelay(150);
    const answers = await Promise.all(buyers.map((buyer) => hold(buyer.token, eventId, [seat!])));
    expect(answers.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    const winner = buyers[answers.findIndex((r) => r.status === 201)]!;
    const booking = (await answers.find((r) => r.status === 201)!.json()) as Booking;

    const paid = await pay(winner.token, booking.bookingId);
    expect(paid.status).toBe(200);
    await setDelay(0);
    await expectConfirmedOnce(eventId, booking);
  });

  it('confirms a payment once when its write outlasts the first retry time (600 ms a message)', async () => {
    // The write takes several round trips of 600 ms; the retry alarm the confirmation arms is due
    // after one second, on the real clock, and fires while the write is still in flight.
    const { eventId } = await createEvent(admin);
    const [t0, t1] = await ticketIdsOf(eventId);
    const buyer = await browsingBuyer();
    const booking = (await (await hold(buyer.token, eventId, [t0!, t1!])).json()) as Booking;

    await setDelay(600);
    const paid = await pay(buyer.token, booking.bookingId);
    const body = (await paid.json()) as Booking;
    expect([paid.status, body.status, body.refunded]).toEqual([200, 'confirmed', false]);
    await setDelay(0);
    // Whatever the alarm started meanwhile has finished by the time it is run again here.
    await runDurableObjectAlarm(env.TICKET_LOCK.getByName(eventId));
    await expectConfirmedOnce(eventId, booking);
  });

  it('confirms once when the alarm runs twice while the write is in flight, and again after it landed', async () => {
    const clock = new TestClock();
    await clock.during(async () => {
      // Signed in on this clock: sessions expire by it.
      const { eventId } = await createEvent(await adminToken());
      const [t0, t1] = await ticketIdsOf(eventId);
      const buyer = await browsingBuyer();
      const booking = (await (await hold(buyer.token, eventId, [t0!, t1!])).json()) as Booking;
      const lock = env.TICKET_LOCK.getByName(eventId);

      await setDelay(STALL_MS);
      const paying = pay(buyer.token, booking.bookingId);
      // The TicketLock decides first, then writes: the decision is visible while the write is stalled.
      for (let i = 0; (await stored(eventId, booking.bookingId))?.write_pending !== 1; i++) {
        if (i > 200) throw new Error('the confirmation never reached its write');
        await sleep(20);
      }
      // A replayed confirmation (a webhook) meanwhile answers the decision and starts nothing.
      expect(await lock.confirm(eventId, booking.bookingId, { provider: 'test', reference: `test_${booking.bookingId}` })).toMatchObject({
        ok: true,
        booking: { status: 'confirmed' },
      });
      // The write's retry comes due (its first backoff is a second) and the alarm runs mid-write.
      clock.advance(5_000);
      const alarm = runDurableObjectAlarm(lock);
      await sleep(300);
      // Twice: past the write's lease too, as if Postgres had not answered for minutes.
      clock.advance(5 * 60_000);
      const again = runDurableObjectAlarm(lock);
      await sleep(300);
      // Postgres comes back slow: each statement of every session 100 ms apart, interleaved.
      await setDelay(100);
      const [paid, ran] = await Promise.all([paying, alarm, again]);
      expect(ran).toBe(true);
      const body = (await paid.json()) as Booking;
      expect([paid.status, body.status, body.refunded]).toEqual([200, 'confirmed', false]);
      await setDelay(0);

      // And the alarm once more, after everything landed.
      clock.advance(5 * 60_000);
      await runDurableObjectAlarm(lock);
      await expectConfirmedOnce(eventId, booking);
      const view = await api(`/api/bookings/${booking.bookingId}`, { token: buyer.token });
      expect(await view.json()).toMatchObject({ status: 'confirmed', refunded: false });
    });
  });
});
