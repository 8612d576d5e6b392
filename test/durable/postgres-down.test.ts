// Postgres unreachable in the middle of an on-sale: event pages and search answer from the edge
// cache (stale-if-error, past their TTL), holds keep working (they never touch Postgres), a
// payment is confirmed to the buyer and written once Postgres is back, and /api/health says 503.
// The outage is this file's own (the `database-faults` project's proxy scope, test/faults.ts).
// The Worker's clock is a TestClock, so the cache's TTL and the retry backoff pass without waiting.
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { withDb } from '../../src/db/client';
import { CATALOG_TTL_SECONDS, SEAT_STATUS_TTL_SECONDS } from '../../src/routes/events';
import { adminToken, api, createEvent, env, TestClock, unique } from '../helpers';
import { browsingBuyer, clearFaults, faults, observer, setDatabaseDown } from '../faults';

interface EventPage {
  event: { id: string; name: string };
  tickets: Array<{ id: string; status: string }>;
}

interface Booking {
  bookingId: string;
  status: string;
  ticketIds: string[];
  refunded: boolean;
}

const clock = new TestClock();

async function eventPage(eventId: string): Promise<EventPage> {
  const response = await api(`/api/events/${eventId}`);
  expect(response.status).toBe(200);
  return response.json();
}

const statuses = (page: EventPage) => Object.fromEntries(page.tickets.map((t) => [t.id, t.status]));

async function hold(token: string, eventId: string, ticketIds: string[]): Promise<Response> {
  return api(`/api/bookings/${eventId}`, { method: 'POST', token, json: { ticketIds } });
}

/** Sold tickets and bookings of the event as Postgres has them, read outside the outage. */
function postgresState(eventId: string) {
  return withDb(observer, async (db) => ({
    sold: (await db.execute(sql`select id, booking_id from tickets where event_id = ${eventId} and status = 'sold' order by id`)).rows,
    bookings: (await db.execute(sql`select id, status from bookings where event_id = ${eventId}`)).rows,
    links: (await db.execute(sql`select bt.ticket_id from booking_tickets bt join tickets t on t.id = bt.ticket_id where t.event_id = ${eventId} order by bt.ticket_id`)).rows,
  }));
}

describe('Postgres down', () => {
  beforeAll(async () => {
    expect(await faults()).toMatchObject({ databaseDown: false });
  });

  afterEach(async () => {
    await clearFaults();
    clock.uninstall();
  });

  it('answers /api/health with 503 until Postgres is back', async () => {
    expect((await api('/api/health')).status).toBe(200);
    await setDatabaseDown(true);
    const down = await api('/api/health');
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ ok: false, db: 'down' });
    await setDatabaseDown(false);
    const up = await api('/api/health');
    expect(up.status).toBe(200);
    expect(await up.json()).toEqual({ ok: true, db: 'ok' });
  });

  it('serves event pages and search from stale copies, keeps holding seats, and writes a payment made meanwhile once it is back', async () => {
    clock.install();
    const admin = await adminToken();
    const name = unique('Outage ');
    const { eventId } = await createEvent(admin, { name });
    const before = await eventPage(eventId);
    const [t0, t1, t2] = before.tickets.map((t) => t.id) as [string, string, string];
    const searchPath = `/api/events/search?keyword=${encodeURIComponent(name)}`;
    const found = await api(searchPath);
    expect(((await found.json()) as { events: Array<{ id: string }> }).events.map((e) => e.id)).toEqual([eventId]);
    const [alice, bob, carol] = await Promise.all([browsingBuyer(), browsingBuyer(), browsingBuyer()]);

    await setDatabaseDown(true);
    // Every cached copy is past its TTL: each read tries Postgres first, fails, and answers the copy.
    clock.advance((CATALOG_TTL_SECONDS + 1) * 1000);
    expect((await api('/api/health')).status).toBe(503);
    const stale = await eventPage(eventId);
    expect(stale.event).toEqual(before.event);
    expect(statuses(stale)).toEqual(statuses(before));
    const staleSearch = await api(searchPath);
    expect(staleSearch.status).toBe(200);
    expect(((await staleSearch.json()) as { events: Array<{ id: string }> }).events.map((e) => e.id)).toEqual([eventId]);

    // Holds: all or nothing, seat by seat, exactly as with Postgres up.
    const aliceHold = await hold(alice.token, eventId, [t0, t1]);
    expect(aliceHold.status).toBe(201);
    const aliceBooking = (await aliceHold.json()) as Booking;
    const bobHold = await hold(bob.token, eventId, [t1, t2]);
    expect(bobHold.status).toBe(409);
    expect(await bobHold.json()).toMatchObject({ error: { code: 'tickets_unavailable', details: { ticketIds: [t1] } } });
    const carolHold = await hold(carol.token, eventId, [t2]);
    expect(carolHold.status).toBe(201);
    const carolBooking = (await carolHold.json()) as Booking;
    expect((await api(`/api/bookings/${carolBooking.bookingId}`, { method: 'DELETE', token: carol.token })).status).toBe(204);
    clock.advance((SEAT_STATUS_TTL_SECONDS + 1) * 1000);
    expect(statuses(await eventPage(eventId))).toMatchObject({ [t0]: 'reserved', [t1]: 'reserved', [t2]: 'available' });

    // A payment: taken, confirmed to the buyer, kept by the TicketLock until Postgres takes it.
    const paid = await api(`/api/bookings/${aliceBooking.bookingId}/pay`, {
      method: 'POST',
      token: alice.token,
      json: { paymentDetails: { paymentMethodId: 'pm_card_visa' } },
    });
    expect(paid.status).toBe(200);
    expect(await paid.json()).toMatchObject({ bookingId: aliceBooking.bookingId, status: 'confirmed', ticketIds: [t0, t1], refunded: false });
    const lock = env.TICKET_LOCK.getByName(eventId);
    clock.advance(10_000);
    expect(await runDurableObjectAlarm(lock)).toBe(true); // a retry, still failing
    expect(await postgresState(eventId)).toEqual({ sold: [], bookings: [], links: [] });
    expect(await lock.getBooking(eventId, aliceBooking.bookingId)).toMatchObject({ status: 'confirmed', confirmationPending: true });
    // The seats stay Alice's meanwhile.
    expect((await hold(bob.token, eventId, [t0])).status).toBe(409);

    await setDatabaseDown(false);
    // Past the longest backoff (5 minutes): the next alarm retries, and the write lands once.
    clock.advance(6 * 60_000);
    expect(await runDurableObjectAlarm(lock)).toBe(true);
    const written = await postgresState(eventId);
    expect(written).toEqual({
      sold: [t0, t1].sort().map((id) => ({ id, booking_id: aliceBooking.bookingId })),
      bookings: [{ id: aliceBooking.bookingId, status: 'confirmed' }],
      links: [t0, t1].sort().map((ticket_id) => ({ ticket_id })),
    });
    expect(await lock.getBooking(eventId, aliceBooking.bookingId)).toMatchObject({ status: 'confirmed', confirmationPending: false });
    await runDurableObjectAlarm(lock);
    expect(await postgresState(eventId)).toEqual(written);

    expect((await api('/api/health')).status).toBe(200);
    const mine = await api('/api/me/bookings', { token: alice.token });
    expect(((await mine.json()) as { bookings: Booking[] }).bookings).toMatchObject([{ bookingId: aliceBooking.bookingId, status: 'confirmed' }]);
    clock.advance((SEAT_STATUS_TTL_SECONDS + 1) * 1000);
    expect(statuses(await eventPage(eventId))).toMatchObject({ [t0]: 'booked', [t1]: 'booked', [t2]: 'available' });
  });

  it('cannot show an event page it never cached, and says so in the error shape', async () => {
    const admin = await adminToken();
    const { eventId } = await createEvent(admin);
    await setDatabaseDown(true);
    const response = await api(`/api/events/${eventId}`);
    expect(response.status).toBeGreaterThanOrEqual(500);
    expect(await response.json()).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
    await setDatabaseDown(false);
    expect((await api(`/api/events/${eventId}`)).status).toBe(200);
  });
  it('answers the availability 503 with Retry-After, never a copy past its 2 s, when the TicketLock cannot answer', async () => {
    clock.install();
    const admin = await adminToken();
    const { eventId } = await createEvent(admin);
    expect((await api(`/api/events/${eventId}/availability`)).status).toBe(200);
    await setDatabaseDown(true);
    // The TicketLock must learn its seats from Postgres again (as after losing its storage), which is down.
    await runInDurableObject(env.TICKET_LOCK.getByName(eventId), (_instance, state) => {
      state.storage.sql.exec(`DELETE FROM meta WHERE key = 'loaded_from_postgres'`);
    });
    clock.advance((SEAT_STATUS_TTL_SECONDS + 1) * 1000);

    const response = await api(`/api/events/${eventId}/availability`);

    expect(response.status).toBe(503);
    expect(response.headers.get('Retry-After')).toBe('5');
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unavailable');
  });
});
