import { beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { withDb } from '../../src/db/client';
import { writeConfirmedBooking, type ConfirmedBookingRecord, type WriteOutcome } from '../../src/db/bookings';
import { newBookingId } from '../../src/domain/booking';
import { adminToken, createEvent, env, signUp, ticketIdsOf } from '../helpers';
import { isPglite, lockTicketRows, sessionsWaitingOnLocks } from '../postgres-sessions';

async function postgresSale(eventId: string) {
  return withDb(env, async (db) => ({
    sold: (await db.execute(sql`select id, booking_id from tickets where event_id = ${eventId} and status = 'sold' order by id`)).rows,
    bookings: (await db.execute(sql`select id, status from bookings where event_id = ${eventId}`)).rows,
  }));
}

describe('writeConfirmedBooking', () => {
  let admin: string;
  beforeAll(async () => {
    admin = await adminToken();
  });

  async function record(ticketCount: number): Promise<ConfirmedBookingRecord> {
    const { eventId } = await createEvent(admin);
    const ticketIds = (await ticketIdsOf(eventId)).slice(0, ticketCount);
    const buyer = await signUp();
    return {
      bookingId: newBookingId(eventId),
      eventId,
      userId: buyer.user.id,
      tickets: ticketIds.map((ticketId) => ({ ticketId, priceCents: 5000 })),
      totalCents: 5000 * ticketCount,
      currency: 'USD',
      paymentProvider: 'test',
      paymentReference: 'test_ref',
      confirmedAt: new Date(),
    };
  }

  it('reports a booking written when the same write ran twice at once and the second waited on the first one\'s locks', async () => {
    const booking = await record(2);
    const pglite = await isPglite();
    const locks = await lockTicketRows(booking.tickets.map((ticket) => ticket.ticketId));
    let writes: Promise<WriteOutcome[]>;
    try {
      writes = Promise.all([withDb(env, (db) => writeConfirmedBooking(db, booking)), withDb(env, (db) => writeConfirmedBooking(db, booking))]);
      // Both writers queue on the locked rows (PGlite runs sessions one after another instead).
      if (!pglite) await sessionsWaitingOnLocks(2);
    } finally {
      await locks.release();
    }
    expect(await writes).toEqual([{ status: 'written' }, { status: 'written' }]);
    const sale = await postgresSale(booking.eventId);
    expect(sale.bookings).toEqual([{ id: booking.bookingId, status: 'confirmed' }]);
    expect(sale.sold.map((row) => (row as { booking_id: string }).booking_id)).toEqual([booking.bookingId, booking.bookingId]);
  });

  it('reports seats gone, naming the other booking and writing nothing, when another booking holds one of the tickets', async () => {
    const first = await record(2);
    const second = { ...first, bookingId: newBookingId(first.eventId), tickets: [first.tickets[1]!, { ticketId: (await ticketIdsOf(first.eventId))[2]!, priceCents: 5000 }] };
    expect(await withDb(env, (db) => writeConfirmedBooking(db, first))).toEqual({ status: 'written' });
    expect(await withDb(env, (db) => writeConfirmedBooking(db, second))).toEqual({ status: 'seats_gone', soldElsewhere: [{ ticketId: first.tickets[1]!.ticketId, bookingId: first.bookingId }] });
    const sale = await postgresSale(first.eventId);
    expect(sale.bookings).toEqual([{ id: first.bookingId, status: 'confirmed' }]);
    expect(sale.sold).toHaveLength(2);
  });

  async function notificationsOf(dedupeKey: string) {
    return withDb(env, async (db) =>
      (await db.execute(sql`select kind, user_id, subject, data from notifications where dedupe_key = ${dedupeKey}`)).rows as Array<{ kind: string; user_id: string; subject: string; data: Record<string, unknown> }>,
    );
  }

  it('queues the booking_confirmed notification, naming the event, in the transaction that writes the sale', async () => {
    const booking = await record(2);
    const eventName = await withDb(env, async (db) => ((await db.execute(sql`select name from events where id = ${booking.eventId}`)).rows[0] as { name: string }).name);

    expect(await withDb(env, (db) => writeConfirmedBooking(db, booking))).toEqual({ status: 'written' });

    const queued = await notificationsOf(`booking_confirmed:${booking.bookingId}`);
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({ kind: 'booking_confirmed', user_id: booking.userId, subject: `Your tickets for ${eventName}` });
    expect(queued[0]!.data).toMatchObject({ bookingId: booking.bookingId, eventId: booking.eventId, ticketCount: 2, totalCents: 10000, currency: 'USD' });
  });

  it('queues the confirmation once when the same write is retried', async () => {
    const booking = await record(1);
    await withDb(env, (db) => writeConfirmedBooking(db, booking));
    expect(await withDb(env, (db) => writeConfirmedBooking(db, booking))).toEqual({ status: 'written' });
    expect(await notificationsOf(`booking_confirmed:${booking.bookingId}`)).toHaveLength(1);
  });

  it('queues nothing when the seats are gone', async () => {
    const first = await record(1);
    const second = { ...first, bookingId: newBookingId(first.eventId) };
    await withDb(env, (db) => writeConfirmedBooking(db, first));
    expect((await withDb(env, (db) => writeConfirmedBooking(db, second))).status).toBe('seats_gone');
    expect(await notificationsOf(`booking_confirmed:${second.bookingId}`)).toEqual([]);
  });
});
