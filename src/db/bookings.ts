import { sql, TransactionRollbackError } from 'drizzle-orm';
import type { Database } from './client';
import type { BookingState } from '../domain/booking';
import { enqueueNotification } from '../notifications/outbox';
import { bookingConfirmedMessage } from '../notifications/messages';

export interface ConfirmedBookingRecord {
  bookingId: string;
  eventId: string;
  userId: string;
  /** Each ticket at the price it was held at (what the buyer was charged), whatever the event charges now. */
  tickets: Array<{ ticketId: string; priceCents: number }>;
  totalCents: number;
  currency: string;
  paymentProvider: string;
  paymentReference: string | null;
  confirmedAt: Date;
}

/**
 * Writes a confirmed booking in one transaction that sells only tickets still unsold: every
 * ticket or nothing. Invariant 1 holds here even if a TicketLock was lost or duplicated; the
 * unique index on booking_tickets(ticket_id) is the last guard.
 *
 * The tickets' rows are locked first (in id order, so two writers never deadlock) and only then
 * read: a write that waited on the locks of an earlier write of the same booking (a retry after a
 * lost answer, or one Postgres took long to answer) sees that write committed and reports it
 * written, never "seats gone" for seats sold to this very booking (invariant 9).
 */
export type WriteOutcome =
  | { status: 'written' }
  /** Nothing was written: these tickets are sold to other bookings (the rest are still available). */
  | { status: 'seats_gone'; soldElsewhere: Array<{ ticketId: string; bookingId: string }> };

export async function writeConfirmedBooking(db: Database, booking: ConfirmedBookingRecord): Promise<WriteOutcome> {
  const ticketIds = `{${booking.tickets.map((ticket) => ticket.ticketId).join(',')}}`;
  const prices = `{${booking.tickets.map((ticket) => ticket.priceCents).join(',')}}`;
  const count = booking.tickets.length;
  return db.transaction(async (tx) => {
    const locked = (
      await tx.execute(sql`
        select id, status, booking_id from tickets
        where event_id = ${booking.eventId} and id = any(${ticketIds}::uuid[])
        order by id for update`)
    ).rows as Array<{ id: string; status: string; booking_id: string | null }>;
    // After the locks, so a booking committed by a write this one waited on is seen.
    const existing = await tx.execute(sql`select 1 from bookings where id = ${booking.bookingId}`);
    if (existing.rows.length > 0) return { status: 'written' as const };
    if (locked.length !== count || locked.some((ticket) => ticket.status !== 'available')) {
      const soldElsewhere = locked.filter((ticket) => ticket.booking_id !== null).map((ticket) => ({ ticketId: ticket.id, bookingId: ticket.booking_id! }));
      return { status: 'seats_gone' as const, soldElsewhere };
    }
    const written = await tx.execute(sql`
      with held as (
        select * from unnest(${ticketIds}::uuid[], ${prices}::int[]) as held(ticket_id, price_cents)
      ), sold as (
        update tickets set status = 'sold', booking_id = ${booking.bookingId}
        where event_id = ${booking.eventId} and id in (select ticket_id from held) and status = 'available'
        returning id
      ), booked as (
        insert into bookings (id, user_id, event_id, status, total_cents, currency, payment_provider, payment_reference, confirmed_at)
        select ${booking.bookingId}, ${booking.userId}, ${booking.eventId}, 'confirmed', ${booking.totalCents}, ${booking.currency},
               ${booking.paymentProvider}, ${booking.paymentReference}, ${booking.confirmedAt.toISOString()}
        where (select count(*) from sold) = ${count}
        returning id
      )
      insert into booking_tickets (booking_id, ticket_id, price_cents)
      select (select id from booked), held.ticket_id, held.price_cents from held join sold on sold.id = held.ticket_id
      where exists (select 1 from booked)
      returning ticket_id`);
    // Cannot happen with the rows locked and checked above; the statement guards all or nothing anyway.
    if ((written.rowCount ?? written.rows.length) !== count) {
      tx.rollback();
    }
    // The buyer is told in the same transaction: a sale written is a sale told, once (a retry finds
    // the booking above and writes nothing; the dedupe key guards as well).
    const event = (await tx.execute(sql`select name from events where id = ${booking.eventId}`)).rows as Array<{ name: string }>;
    await enqueueNotification(tx, {
      dedupeKey: `booking_confirmed:${booking.bookingId}`,
      userId: booking.userId,
      message: bookingConfirmedMessage({
        bookingId: booking.bookingId,
        eventId: booking.eventId,
        eventName: event[0]?.name ?? 'your event',
        ticketCount: count,
        totalCents: booking.totalCents,
        currency: booking.currency,
      }),
    });
    return { status: 'written' as const };
  }).catch((error: unknown): WriteOutcome => {
    if (error instanceof TransactionRollbackError) return { status: 'seats_gone', soldElsewhere: [] };
    throw error;
  });
}

/** Whether Postgres holds this booking, bought with this payment. */
export async function isSalePaidBy(db: Database, bookingId: string, paymentReference: string): Promise<boolean> {
  const { rows } = await db.execute(sql`select 1 from bookings where id = ${bookingId} and payment_reference = ${paymentReference}`);
  return rows.length > 0;
}

const MY_BOOKINGS_LIMIT = 100;

/**
 * A user's bookings as Postgres has them (confirmed ones and what became of them). Holds still
 * pending live only in their event's TicketLock and are not listed here.
 */
export async function bookingsOfUser(db: Database, userId: string): Promise<BookingState[]> {
  const rows = (await db.execute(sql`
    select b.id, b.event_id, b.user_id, b.status, b.total_cents, b.currency, b.confirmed_at,
           array_agg(bt.ticket_id::text order by t.position) as ticket_ids,
           array_agg(bt.price_cents order by t.position) as ticket_prices,
           array_agg(t.position order by t.position) as positions,
           array_agg(t.section order by t.position) as sections,
           array_agg(t.row order by t.position) as row_names,
           array_agg(t.seat order by t.position) as seat_numbers
    from bookings b
    join booking_tickets bt on bt.booking_id = b.id
      -- The tickets the booking still has; a booking that has none left (transferred) shows those it had.
      and (bt.released_at is null or not exists (select 1 from booking_tickets live where live.booking_id = b.id and live.released_at is null))
    join tickets t on t.id = bt.ticket_id
    where b.user_id = ${userId}
    group by b.id
    order by b.created_at desc, b.id
    limit ${MY_BOOKINGS_LIMIT}`)).rows as Array<{
    id: string; event_id: string; user_id: string; status: string; total_cents: number; currency: string; confirmed_at: string | Date; ticket_ids: string[]; ticket_prices: number[];
    positions: number[]; sections: string[]; row_names: Array<string | null>; seat_numbers: Array<number | null>;
  }>;
  return rows.map((row) => {
    const confirmedAt = new Date(row.confirmed_at).toISOString();
    return {
      bookingId: row.id,
      eventId: row.event_id,
      userId: row.user_id,
      status: row.status === 'confirmed' || row.status === 'transferred' || row.status === 'refunded' ? row.status : 'cancelled',
      ticketIds: row.ticket_ids,
      ticketPriceCents: row.ticket_prices.map(Number),
      ticketSeats: row.positions.map((position, i) => ({ seatIndex: Number(position) - 1, section: row.sections[i]!, row: row.row_names[i] ?? null, seat: row.seat_numbers[i] == null ? null : Number(row.seat_numbers[i]) })),
      totalCents: Number(row.total_cents),
      currency: row.currency,
      expiresAt: confirmedAt,
      confirmedAt,
      confirmationPending: false,
      refunded: row.status === 'refunded',
    };
  });
}
