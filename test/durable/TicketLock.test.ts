import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { withDb } from '../../src/db/client';
import { adminToken, createEvent, env, signUp, TestClock, ticketIdsOf } from '../helpers';
import { lockTicketRows } from '../postgres-sessions';

async function sellInPostgres(eventId: string, count: number): Promise<string[]> {
  const buyer = await signUp();
  const bookingId = crypto.randomUUID();
  return withDb(env, async (db) => {
    const ids = ((await db.execute(sql`select id from tickets where event_id = ${eventId} order by position limit ${count}`)).rows as Array<{ id: string }>).map((r) => r.id);
    await db.execute(sql`insert into bookings (id, user_id, event_id, status, total_cents, currency, payment_provider, confirmed_at)
      values (${bookingId}, ${buyer.user.id}, ${eventId}, 'confirmed', 0, 'USD', 'test', now())`);
    await db.execute(sql`update tickets set status = 'sold', booking_id = ${bookingId} where id = any(${`{${ids.join(',')}}`}::uuid[])`);
    return ids;
  });
}

describe('TicketLock', () => {
  let admin: string;
  beforeAll(async () => {
    admin = await adminToken();
  });

  it('learns the sold tickets from Postgres when it first starts', async () => {
    const { eventId } = await createEvent(admin);
    const sold = await sellInPostgres(eventId, 3);
    const snapshot = await env.TICKET_LOCK.getByName(eventId).seatStatus(eventId);
    expect(snapshot.booked.sort()).toEqual([...sold].sort());
    expect(snapshot.reserved).toEqual([]);
    expect(snapshot.version).toBeGreaterThan(0);
  });

  it('reads Postgres only once: later sales reach it through its own methods, not by rereading', async () => {
    const { eventId } = await createEvent(admin);
    const lock = env.TICKET_LOCK.getByName(eventId);
    const before = await lock.seatStatus(eventId);
    await sellInPostgres(eventId, 2);
    const after = await lock.seatStatus(eventId);
    expect(after).toEqual(before);
  });

  it('answers concurrent first calls with one load', async () => {
    const { eventId, ticketCount } = await createEvent(admin);
    const sold = await sellInPostgres(eventId, 1);
    const lock = env.TICKET_LOCK.getByName(eventId);
    const snapshots = await Promise.all(Array.from({ length: 10 }, () => lock.seatStatus(eventId)));
    for (const snapshot of snapshots) expect(snapshot.booked).toEqual(sold);
    const rows = await runInDurableObject(lock, (_i, state) => state.storage.sql.exec(`SELECT count(*) AS n FROM tickets`).one().n);
    expect(rows).toBe(ticketCount);
  });

  it('relearns from Postgres after its storage is lost', async () => {
    const { eventId } = await createEvent(admin);
    const lock = env.TICKET_LOCK.getByName(eventId);
    await lock.seatStatus(eventId);
    const sold = await sellInPostgres(eventId, 2);
    await runInDurableObject(lock, async (_instance, state) => {
      state.storage.sql.exec(`DELETE FROM tickets; DELETE FROM meta;`);
    });
    const snapshot = await lock.seatStatus(eventId);
    expect(snapshot.booked.sort()).toEqual([...sold].sort());
  });

  it('counts only unexpired holds as held, out of every ticket of the event', async () => {
    const { eventId } = await createEvent(admin);
    const buyer = await signUp();
    const lock = env.TICKET_LOCK.getByName(eventId);
    const { booked, reserved } = await lock.seatStatus(eventId);
    expect([booked, reserved]).toEqual([[], []]);
    const ids = await withDb(env, async (db) =>
      ((await db.execute(sql`select id from tickets where event_id = ${eventId} order by position limit 3`)).rows as Array<{ id: string }>).map((r) => r.id),
    );
    const live = await lock.holdSeats({ eventId, userId: buyer.user.id, ticketIds: ids.slice(0, 2), ttlSeconds: 600, maxTicketsPerUser: 10 });
    const gone = await lock.holdSeats({ eventId, userId: buyer.user.id, ticketIds: ids.slice(2), ttlSeconds: 600, maxTicketsPerUser: 10 });
    expect(live.ok && gone.ok).toBe(true);
    await runInDurableObject(lock, (_instance, state) => {
      state.storage.sql.exec(`UPDATE holds SET expires_at = ? WHERE booking_id = ?`, Date.now() - 1, gone.ok ? gone.booking.bookingId : '');
    });
    expect(await lock.holdCounts(eventId)).toEqual({ held: 2, sold: 0, total: 14 });
  });

  it('never confirms a booking whose money was already refunded, even when its seats come free again', async () => {
    const { eventId } = await createEvent(admin);
    const [first, second] = await Promise.all([signUp(), signUp()]);
    const lock = env.TICKET_LOCK.getByName(eventId);
    const [seat] = await withDb(env, async (db) =>
      ((await db.execute(sql`select id from tickets where event_id = ${eventId} order by position limit 1`)).rows as Array<{ id: string }>).map((r) => r.id),
    );
    const late = await lock.holdSeats({ eventId, userId: first.user.id, ticketIds: [seat!], ttlSeconds: 600, maxTicketsPerUser: 10 });
    if (!late.ok) throw new Error('first hold refused');
    await lock.beginPayment(eventId, late.booking.bookingId);
    await runInDurableObject(lock, (_instance, state) => {
      state.storage.sql.exec(`UPDATE bookings SET expires_at = ? WHERE booking_id = ?`, Date.now() - 1, late.booking.bookingId);
      state.storage.sql.exec(`UPDATE holds SET expires_at = ? WHERE booking_id = ?`, Date.now() - 1, late.booking.bookingId);
    });
    const other = await lock.holdSeats({ eventId, userId: second.user.id, ticketIds: [seat!], ttlSeconds: 600, maxTicketsPerUser: 10 });
    if (!other.ok) throw new Error('second hold refused');

    const lost = await lock.confirm(eventId, late.booking.bookingId, { provider: 'test', reference: 'charge-1' });
    expect(lost).toMatchObject({ ok: false, reason: 'seats_gone' });
    await lock.markRefunded(eventId, late.booking.bookingId);
    await lock.releaseHold(eventId, other.booking.bookingId);

    const again = await lock.confirm(eventId, late.booking.bookingId, { provider: 'test', reference: 'charge-2' });
    expect(again).toMatchObject({ ok: false, reason: 'seats_gone' });
    const sold = await withDb(env, async (db) => (await db.execute(sql`select count(*)::int as n from tickets where event_id = ${eventId} and status = 'sold'`)).rows[0] as { n: number });
    expect(sold.n).toBe(0);
  });

  it('re-takes an expired hold only while the waiting-room admission it was made with has not ended', async () => {
    const { eventId } = await createEvent(admin);
    const [a, b] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const lock = env.TICKET_LOCK.getByName(eventId);
    const admissionId = crypto.randomUUID();
    const hold = async (ticketId: string) => {
      const held = await lock.holdSeats({ eventId, userId: buyer.user.id, ticketIds: [ticketId], ttlSeconds: 600, maxTicketsPerUser: 10, admissionId });
      if (!held.ok) throw new Error(`hold refused: ${held.reason}`);
      return held.booking.bookingId;
    };
    const lapsed = await hold(a!);
    await runInDurableObject(lock, (_instance, state) => {
      state.storage.sql.exec(`UPDATE bookings SET expires_at = ? WHERE booking_id = ?`, Date.now() - 1, lapsed);
      state.storage.sql.exec(`UPDATE holds SET expires_at = ? WHERE booking_id = ?`, Date.now() - 1, lapsed);
    });
    // Paying the admission's only live booking ends the admission.
    const paid = await hold(b!);
    expect((await lock.beginPayment(eventId, paid)).ok).toBe(true);
    expect(await lock.confirm(eventId, paid, { provider: 'test', reference: `test_${paid}` })).toMatchObject({ ok: true });

    expect(await lock.beginPayment(eventId, lapsed)).toMatchObject({ ok: false, reason: 'admission_used' });
    // A late payment of it (a webhook) does not take the seat either: it is given back.
    expect(await lock.confirm(eventId, lapsed, { provider: 'test', reference: `test_${lapsed}` })).toMatchObject({ ok: false, reason: 'seats_gone' });
    expect((await lock.seatStatus(eventId)).booked).toEqual([b]);
    const sold = await withDb(env, async (db) => (await db.execute(sql`select id from tickets where event_id = ${eventId} and status = 'sold'`)).rows);
    expect(sold).toEqual([{ id: b }]);
  });

  it('refunds, rather than confirms, a late payment of an expired hold that would take its buyer over the ticket limit', async () => {
    const { eventId } = await createEvent(admin, { sections: [{ name: 'Floor', rows: 1, seatsPerRow: 4 }] });
    const [a, b, c] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const lock = env.TICKET_LOCK.getByName(eventId);
    const lapsed = await lock.holdSeats({ eventId, userId: buyer.user.id, ticketIds: [a!, b!], ttlSeconds: 600, maxTicketsPerUser: 2 });
    if (!lapsed.ok) throw new Error('hold refused');
    await runInDurableObject(lock, (_instance, state) => {
      state.storage.sql.exec(`UPDATE bookings SET expires_at = ? WHERE booking_id = ?`, Date.now() - 1, lapsed.booking.bookingId);
      state.storage.sql.exec(`UPDATE holds SET expires_at = ? WHERE booking_id = ?`, Date.now() - 1, lapsed.booking.bookingId);
    });
    expect(await lock.holdSeats({ eventId, userId: buyer.user.id, ticketIds: [c!], ttlSeconds: 600, maxTicketsPerUser: 2 })).toMatchObject({ ok: true });

    const late = await lock.confirm(eventId, lapsed.booking.bookingId, { provider: 'test', reference: `test_${lapsed.booking.bookingId}` });
    expect(late).toMatchObject({ ok: false, reason: 'seats_gone', booking: { status: 'cancelled' } });
    expect((await lock.seatStatus(eventId)).booked).toEqual([]);
  });

  describe('a confirmation Postgres is slow to take (invariant 9)', () => {
    const clock = new TestClock();
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    function bookingRow(eventId: string, bookingId: string) {
      return runInDurableObject(env.TICKET_LOCK.getByName(eventId), (_instance, state) =>
        state.storage.sql.exec<{ status: string; write_pending: number }>(`SELECT status, write_pending FROM bookings WHERE booking_id = ?`, bookingId).one(),
      );
    }

    it('is never written a second time while the first write is in flight, and stays confirmed', async () => {
      const { eventId } = await createEvent(admin);
      const [seat] = await ticketIdsOf(eventId);
      const buyer = await signUp();
      const lock = env.TICKET_LOCK.getByName(eventId);
      await clock.during(async () => {
        const held = await lock.holdSeats({ eventId, userId: buyer.user.id, ticketIds: [seat!], ttlSeconds: 600, maxTicketsPerUser: 10 });
        if (!held.ok) throw new Error('hold refused');
        const { bookingId } = held.booking;
        expect((await lock.beginPayment(eventId, bookingId)).ok).toBe(true);

        // Postgres answers slowly: another session has the seat's row locked, so the write waits.
        const locks = await lockTicketRows([seat!]);
        const confirming = lock.confirm(eventId, bookingId, { provider: 'test', reference: `test_${bookingId}` });
        let alarm: Promise<boolean> | undefined;
        try {
          for (let row = await bookingRow(eventId, bookingId); row.status !== 'confirmed'; row = await bookingRow(eventId, bookingId)) await sleep(10);
          // Minutes pass with the write still in flight: any retry deadline, or lease, is long due.
          clock.advance(10 * 60 * 1000);
          alarm = runDurableObjectAlarm(lock);
          const first = await Promise.race([alarm.then(() => 'the alarm finished'), sleep(3000).then(() => 'the alarm is still waiting on Postgres')]);
          expect(first).toBe('the alarm finished');
        } finally {
          await locks.release();
        }
        const confirmed = await confirming;
        await alarm;
        expect(confirmed).toMatchObject({ ok: true, booking: { status: 'confirmed', refunded: false } });
        expect(await lock.getBooking(eventId, bookingId)).toMatchObject({ status: 'confirmed', confirmationPending: false, refunded: false });
        expect((await lock.seatStatus(eventId)).booked).toEqual([seat]);
        const sale = await withDb(env, async (db) => ({
          sold: (await db.execute(sql`select id, booking_id from tickets where event_id = ${eventId} and status = 'sold'`)).rows,
          bookings: (await db.execute(sql`select id, status from bookings where event_id = ${eventId}`)).rows,
        }));
        expect(sale).toEqual({ sold: [{ id: seat, booking_id: bookingId }], bookings: [{ id: bookingId, status: 'confirmed' }] });
      });
    });
  });
});
