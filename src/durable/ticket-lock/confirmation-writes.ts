// Confirmations the TicketLock decided, written to Postgres in one transaction each. A write that
// fails is retried by the alarm, backing off, until it lands; a write in flight is never started
// again in parallel (invariant 9): within an instance `inFlight` says so, and a stored lease lets
// the alarm retry a write whose instance went away with it.
import type { Bindings } from '../../env';
import { withDb } from '../../db/client';
import { writeConfirmedBooking, type WriteOutcome } from '../../db/bookings';
import type { BookingRows } from './booking-rows';
import type { SeatLog } from './seat-log';
import type { Payment } from './types';

/** First retry of a confirmation that could not be written; doubled per attempt, capped. */
const RETRY_BASE_MS = 1000;
const RETRY_MAX_MS = 5 * 60 * 1000;
/** Longer than a write takes when Postgres answers at all. */
const WRITE_LEASE_MS = 60 * 1000;

export interface ConfirmationWriteDeps {
  sql: SqlStorage;
  env: Bindings;
  rows: BookingRows;
  seatLog: SeatLog;
  armAlarm(): void;
  /** The booking's payment is owed back: Postgres has its seats sold to another booking. */
  oweRefund(bookingId: string, payment: Payment, amountCents: number, now: number): void;
  /** A confirmation reached Postgres (its booking_confirmed notification with it): start delivering. */
  afterWrite(): void;
}

export class ConfirmationWrites {
  /** Bookings whose confirmation this instance is writing to Postgres right now. */
  private readonly inFlight = new Set<string>();

  constructor(private readonly deps: ConfirmationWriteDeps) {}

  /** Decided confirmations whose (next) write is due. */
  due(now: number): string[] {
    return this.deps.sql
      .exec<{ booking_id: string }>(`SELECT booking_id FROM bookings WHERE write_pending = 1 AND next_retry_at <= ?`, now)
      .toArray()
      .map((row) => row.booking_id);
  }

  /**
   * Writes a decided confirmation to Postgres, unless this instance is writing it already: then
   * the write in flight keeps its lease and nothing else is started.
   */
  async write(eventId: string, bookingId: string): Promise<'written' | 'seats_gone' | 'retry_later' | 'in_flight'> {
    const now = Date.now();
    if (this.inFlight.has(bookingId)) {
      this.deps.sql.exec(`UPDATE bookings SET next_retry_at = ? WHERE booking_id = ?`, now + WRITE_LEASE_MS, bookingId);
      this.deps.armAlarm();
      return 'in_flight';
    }
    this.inFlight.add(bookingId);
    this.deps.sql.exec(`UPDATE bookings SET write_started_at = ?, next_retry_at = ? WHERE booking_id = ?`, now, now + WRITE_LEASE_MS, bookingId);
    this.deps.armAlarm();
    try {
      return await this.attempt(eventId, bookingId);
    } finally {
      this.inFlight.delete(bookingId);
    }
  }

  /**
   * Postgres takes the sale, or has the seats sold to another booking: then this booking is
   * cancelled and its payment owed back (the buyer may have been told "confirmed" while Postgres
   * was away), and the seats show as Postgres has them.
   */
  private async attempt(eventId: string, bookingId: string): Promise<'written' | 'seats_gone' | 'retry_later'> {
    const booking = this.deps.rows.booking(bookingId)!;
    const ticketIds = this.deps.rows.ticketIdsOf(bookingId);
    let result: WriteOutcome;
    try {
      result = await withDb(this.deps.env, (db) =>
        writeConfirmedBooking(db, {
          bookingId,
          eventId,
          userId: booking.user_id,
          tickets: this.deps.rows.ticketsOf(bookingId).map((ticket) => ({ ticketId: ticket.ticketId, priceCents: ticket.priceCents })),
          totalCents: booking.total_cents,
          currency: booking.currency,
          paymentProvider: booking.payment_provider ?? 'test',
          paymentReference: booking.payment_reference,
          confirmedAt: new Date(booking.confirmed_at ?? Date.now()),
        }),
      );
    } catch (error) {
      const retries = booking.retry_count + 1;
      const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(retries, 20));
      console.warn(`confirmation of ${bookingId} not written (attempt ${retries}), retrying in ${delay} ms`, error);
      this.deps.sql.exec(`UPDATE bookings SET retry_count = ?, next_retry_at = ?, write_started_at = NULL WHERE booking_id = ?`, retries, Date.now() + delay, bookingId);
      this.deps.armAlarm();
      return 'retry_later';
    }
    const now = Date.now();
    this.deps.sql.exec(`UPDATE bookings SET write_pending = 0, next_retry_at = NULL, write_started_at = NULL WHERE booking_id = ?`, bookingId);
    this.deps.sql.exec(`DELETE FROM holds WHERE booking_id = ?`, bookingId);
    if (result.status === 'seats_gone') {
      this.deps.sql.exec(`UPDATE bookings SET status = 'cancelled' WHERE booking_id = ?`, bookingId);
      const soldElsewhere = new Map(result.soldElsewhere.map((sale) => [sale.ticketId, sale.bookingId]));
      for (const id of ticketIds) {
        const soldTo = soldElsewhere.get(id);
        if (soldTo) this.deps.sql.exec(`UPDATE tickets SET sold_to_booking = ? WHERE ticket_id = ?`, soldTo, id);
        this.deps.seatLog.record(id, soldTo ? 'booked' : 'available', now);
      }
      if (booking.payment_reference) {
        this.deps.oweRefund(bookingId, { provider: booking.payment_provider ?? 'test', reference: booking.payment_reference }, booking.total_cents, now);
      }
      return 'seats_gone';
    }
    for (const id of ticketIds) {
      this.deps.sql.exec(`UPDATE tickets SET sold_to_booking = ?, sold_to_user = ? WHERE ticket_id = ?`, bookingId, booking.user_id, id);
      this.deps.seatLog.record(id, 'booked', now);
    }
    this.deps.afterWrite();
    return 'written';
  }
}
