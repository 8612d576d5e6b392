// A TicketLock loaded before it kept seat indexes relearns them (and seat names) from Postgres once,
// keeping the holds and sales it decided.
import { runInDurableObject } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { withDb } from '../../../src/db/client';
import { decodeStatuses } from '../../../src/durable/ticket-lock/availability';
import { adminToken, api, createEvent, env, signUp } from '../../helpers';

async function ticketIdsBySeatIndex(eventId: string): Promise<string[]> {
  return withDb(env, async (db) => ((await db.execute(sql`select id from tickets where event_id = ${eventId} order by position`)).rows as Array<{ id: string }>).map((r) => r.id));
}

/** Makes the event's TicketLock look like one loaded before seat indexes existed: the columns empty, the flag absent. */
async function forgetPlaces(eventId: string): Promise<void> {
  await runInDurableObject(env.TICKET_LOCK.getByName(eventId), (_instance, state) => {
    state.storage.sql.exec(`UPDATE tickets SET seat_index = NULL, section = NULL, row_name = NULL, seat_number = NULL`);
    state.storage.sql.exec(`UPDATE changes SET seat_index = NULL`);
    state.storage.sql.exec(`DELETE FROM meta WHERE key = 'seat_index_learnt'`);
  });
}

const lockRows = (eventId: string) =>
  runInDurableObject(env.TICKET_LOCK.getByName(eventId), (_instance, state) => ({
    tickets: state.storage.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM tickets`).one().n,
    placed: state.storage.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM tickets WHERE seat_index IS NOT NULL AND section IS NOT NULL`).one().n,
    learnt: state.storage.sql.exec(`SELECT 1 FROM meta WHERE key = 'seat_index_learnt'`).toArray().length === 1,
  }));

describe('a TicketLock without seat indexes', () => {
  let admin: string;
  beforeAll(async () => {
    admin = await adminToken();
  });

  it('relearns them once from Postgres, keeping its holds and sales, and adds no ticket', async () => {
    const { eventId, ticketCount } = await createEvent(admin);
    const tickets = await ticketIdsBySeatIndex(eventId);
    const buyer = await signUp();
    await api(`/api/bookings/${eventId}`, { method: 'POST', token: buyer.token, json: { ticketIds: [tickets[1]], paymentDetails: { paymentMethodId: 'pm_card_visa' } } });
    await api(`/api/bookings/${eventId}`, { method: 'POST', token: buyer.token, json: { ticketIds: [tickets[6]] } });
    await forgetPlaces(eventId);

    const availability = await env.TICKET_LOCK.getByName(eventId).seatAvailability(eventId);
    const after = await lockRows(eventId);

    expect(decodeStatuses(availability.statuses, availability.seatCount)).toEqual(tickets.map((_, i) => (i === 1 ? 2 : i === 6 ? 1 : 0)));
    expect(after).toEqual({ tickets: ticketCount, placed: ticketCount, learnt: true });
  });

  it('holds by seat index and names the seats of a booking it held before relearning', async () => {
    const { eventId } = await createEvent(admin);
    const tickets = await ticketIdsBySeatIndex(eventId);
    const buyer = await signUp();
    const earlier = (await (await api(`/api/bookings/${eventId}`, { method: 'POST', token: buyer.token, json: { ticketIds: [tickets[2]] } })).json()) as { bookingId: string };
    await forgetPlaces(eventId);

    const bySeat = await api(`/api/bookings/${eventId}`, { method: 'POST', token: buyer.token, json: { seats: [10] } });
    const booking = (await (await api(`/api/bookings/${earlier.bookingId}`, { token: buyer.token })).json()) as { tickets: Array<{ section: string; row: string; seat: number }> };

    expect(bySeat.status).toBe(201);
    expect(((await bySeat.json()) as { ticketIds: string[] }).ticketIds).toEqual([tickets[10]]);
    expect(booking.tickets[0]).toMatchObject({ section: 'Floor', row: 'A', seat: 3 });
  });

  it('answers a booking read before relearning with seat names from the catalog document', async () => {
    const { eventId } = await createEvent(admin);
    const tickets = await ticketIdsBySeatIndex(eventId);
    const buyer = await signUp();
    const held = (await (await api(`/api/bookings/${eventId}`, { method: 'POST', token: buyer.token, json: { ticketIds: [tickets[11]] } })).json()) as { bookingId: string };
    await forgetPlaces(eventId);

    const booking = (await (await api(`/api/bookings/${held.bookingId}`, { token: buyer.token })).json()) as { tickets: Array<{ section: string; row: string; seat: number }> };

    expect(booking.tickets[0]).toMatchObject({ section: 'Balcony', row: 'A', seat: 2 });
    expect((await lockRows(eventId)).learnt).toBe(false);
  });
});
