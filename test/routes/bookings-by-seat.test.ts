// POST /api/bookings/:eventId naming seats by their seat index (API.md) instead of ticket ids.
import { beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { withDb } from '../../src/db/client';
import { adminToken, api, createEvent, env, signUp } from '../helpers';

interface BookingJson {
  bookingId: string;
  status: string;
  ticketIds: string[];
  seats?: number[];
  tickets: Array<{ id: string; section: string | null; row: string | null; seat: number | null; priceCents: number }>;
  totalCents: number;
}

interface ErrorJson {
  error: { code: string; details?: unknown };
}

/** Ticket ids by seat index (Postgres position − 1). */
async function ticketIdsBySeatIndex(eventId: string): Promise<string[]> {
  return withDb(env, async (db) => ((await db.execute(sql`select id from tickets where event_id = ${eventId} order by position`)).rows as Array<{ id: string }>).map((r) => r.id));
}

const holdBy = (token: string, eventId: string, json: unknown) => api(`/api/bookings/${eventId}`, { method: 'POST', token, json });

describe('POST /api/bookings/:eventId with seats', () => {
  let admin: string;
  let eventId: string;
  let ticketIds: string[];
  beforeAll(async () => {
    admin = await adminToken();
    // Floor: rows A and B of 5 (seat indexes 0–9) at 5000; Balcony: row A of 4 (10–13) at 6000.
    ({ eventId } = await createEvent(admin));
    ticketIds = await ticketIdsBySeatIndex(eventId);
  });

  it('holds the tickets at those seat indexes and answers their ticketIds and the seats, in the order named', async () => {
    const buyer = await signUp();

    const response = await holdBy(buyer.token, eventId, { seats: [11, 2] });

    expect(response.status).toBe(201);
    const booking = (await response.json()) as BookingJson;
    expect(booking.ticketIds).toEqual([ticketIds[11], ticketIds[2]]);
    expect(booking.seats).toEqual([11, 2]);
    expect(booking.tickets.map(({ section, row, seat }) => ({ section, row, seat }))).toEqual([
      { section: 'Balcony', row: 'A', seat: 2 },
      { section: 'Floor', row: 'A', seat: 3 },
    ]);
    expect(booking.totalCents).toBe(6000 + 5000);
  });

  it('names the seats in GET /api/bookings/:bookingId from the TicketLock', async () => {
    const buyer = await signUp();
    const { bookingId } = (await (await holdBy(buyer.token, eventId, { seats: [7] })).json()) as BookingJson;

    const booking = (await (await api(`/api/bookings/${bookingId}`, { token: buyer.token })).json()) as BookingJson;

    expect(booking.tickets).toMatchObject([{ id: ticketIds[7], section: 'Floor', row: 'B', seat: 3 }]);
  });

  it('answers 409 tickets_unavailable naming the taken tickets and their seats', async () => {
    const first = await signUp();
    const second = await signUp();
    await holdBy(first.token, eventId, { seats: [5] });

    const response = await holdBy(second.token, eventId, { seats: [4, 5] });

    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({ error: { code: 'tickets_unavailable', details: { ticketIds: [ticketIds[5]], seats: [5] } } });
  });

  it('refuses a seat index the event does not have, as it refuses an unknown ticket: 400 validation_failed, nothing held', async () => {
    const buyer = await signUp();

    const outOfRange = await holdBy(buyer.token, eventId, { seats: [0, ticketIds.length] });
    const stillFree = await holdBy(buyer.token, eventId, { seats: [0] });

    expect(outOfRange.status).toBe(400);
    expect(await outOfRange.json()).toMatchObject({ error: { code: 'validation_failed', details: [{ field: 'seats' }] } });
    expect(stillFree.status).toBe(201);
  });

  it.each([
    ['a negative index', { seats: [-1] }],
    ['a fraction', { seats: [1.5] }],
    ['a string', { seats: ['1'] }],
    ['no seat', { seats: [] }],
    ['more than 10 seats', { seats: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }],
    ['the same seat twice', { seats: [3, 3] }],
    ['both seats and ticketIds', { seats: [3], ticketIds: ['00000000-0000-4000-8000-000000000000'] }],
    ['neither seats nor ticketIds', {}],
  ])('refuses %s with 400 validation_failed', async (_case, body) => {
    const buyer = await signUp();

    const response = await holdBy(buyer.token, eventId, body);

    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorJson).error.code).toBe('validation_failed');
  });

  it('refuses seats of a cancelled event naming those seats in the details', async () => {
    const { eventId: cancelledId } = await createEvent(admin);
    expect((await api(`/api/admin/events/${cancelledId}`, { method: 'PATCH', token: admin, json: { status: 'cancelled' } })).status).toBe(200);
    const buyer = await signUp();

    const response = await holdBy(buyer.token, cancelledId, { seats: [1, 3] });

    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({ error: { code: 'tickets_unavailable', details: { seats: [1, 3] } } });
  });

  it('still takes ticketIds, and then answers without seats', async () => {
    const buyer = await signUp();

    const response = await holdBy(buyer.token, eventId, { ticketIds: [ticketIds[9]] });

    expect(response.status).toBe(201);
    const booking = (await response.json()) as BookingJson;
    expect(booking.ticketIds).toEqual([ticketIds[9]]);
    expect(booking).not.toHaveProperty('seats');
    expect(booking.tickets[0]).toMatchObject({ section: 'Floor', row: 'B', seat: 5 });
  });
});
