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
});
