// Ticket transfers (API.md, Transfer), decided by the event's TicketLock so that they are
// serialized with holds, payments, refunds and other transfers of the same booking.
//
// The check and the mark run with no await between them: the sender's booking becomes
// 'transferring' (every other transfer, refund or payment of it is refused while it is), then
// Postgres takes the move in one transaction (src/db/transfers.ts), then, again with no await,
// this object moves the rows as Postgres did. A write that failed puts the booking back to
// 'confirmed' and nothing moved here; because a failed write may still have committed (the answer
// was lost, or the instance went away during it), each attempt is recorded before the write and
// the next transfer of that booking, or the next read of either booking, first asks Postgres which
// of its unsettled attempts landed.
import type { Bindings } from '../../env';
import { withDb } from '../../db/client';
import { TRANSFER_PAYMENT_PROVIDER, writeTransfer } from '../../db/transfers';
import { newBookingId, type BookingState } from '../../domain/booking';
import { sql as pgSql } from 'drizzle-orm';
import type { BookingRows } from './booking-rows';

export type TransferOutcome =
  | { ok: true; booking: BookingState }
  /** No such booking of this user's (another user's booking is not theirs to move). */
  | { ok: false; reason: 'not_found' }
  /** Not a confirmed booking whose confirmation reached Postgres, or one being moved or refunded right now. */
  | { ok: false; reason: 'booking_not_pending' }
  /** Tickets the booking does not have (now). */
  | { ok: false; reason: 'unknown_tickets'; ticketIds: string[] }
  /** Postgres did not take the move: nothing moved. */
  | { ok: false; reason: 'unavailable' };

interface AttemptRow extends Record<string, SqlStorageValue> {
  to_booking_id: string;
  from_booking_id: string;
  to_user_id: string;
  ticket_ids: string;
  started_at: number;
}

export function createTransferSchema(sql: SqlStorage): void {
  // Transfers written (or being written) to Postgres whose outcome this object has not applied yet.
  sql.exec(`
    CREATE TABLE IF NOT EXISTS transfer_attempts (
      to_booking_id TEXT PRIMARY KEY,
      from_booking_id TEXT NOT NULL,
      to_user_id TEXT NOT NULL,
      ticket_ids TEXT NOT NULL,
      started_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS transfer_attempts_from ON transfer_attempts(from_booking_id);
  `);
}

export class TicketTransfers {
  /** Attempts whose write this instance is awaiting right now. */
  private readonly inFlight = new Set<string>();

  constructor(private readonly deps: { sql: SqlStorage; env: Bindings; rows: BookingRows; afterWrite(): void }) {
    createTransferSchema(deps.sql);
  }

  async transfer(input: { eventId: string; bookingId: string; userId: string; toUserId: string; ticketIds?: string[] }): Promise<TransferOutcome> {
    const { sql, rows } = this.deps;
    const owned = rows.booking(input.bookingId);
    if (!owned || owned.user_id !== input.userId) return { ok: false, reason: 'not_found' };
    if (!(await this.settleEarlierAttempts(input.eventId, input.bookingId))) return { ok: false, reason: 'unavailable' };

    // No await from here to the write: the check and the mark go together.
    const booking = rows.booking(input.bookingId)!;
    if (booking.status !== 'confirmed' || booking.write_pending === 1) return { ok: false, reason: 'booking_not_pending' };
    const live = this.liveTicketIds(input.bookingId);
    const moving = input.ticketIds ?? live;
    const foreign = moving.filter((id) => !live.includes(id));
    if (foreign.length) return { ok: false, reason: 'unknown_tickets', ticketIds: foreign };
    const toBookingId = newBookingId(input.eventId);
    const now = Date.now();
    sql.exec(`UPDATE bookings SET status = 'transferring' WHERE booking_id = ?`, input.bookingId);
    sql.exec(
      `INSERT INTO transfer_attempts (to_booking_id, from_booking_id, to_user_id, ticket_ids, started_at) VALUES (?, ?, ?, ?, ?)`,
      toBookingId, input.bookingId, input.toUserId, JSON.stringify(moving), now,
    );
    this.inFlight.add(toBookingId);
    let outcome: Awaited<ReturnType<typeof writeTransfer>>;
    try {
      outcome = await withDb(this.deps.env, (db) =>
        writeTransfer(db, {
          eventId: input.eventId,
          fromBookingId: input.bookingId,
          fromUserId: input.userId,
          toBookingId,
          toUserId: input.toUserId,
          ticketIds: moving,
          currency: booking.currency,
          transferredAt: new Date(now),
        }),
      );
    } catch (error) {
      // Maybe written, maybe not: the attempt stays recorded for the next transfer to settle.
      console.warn(`transfer ${toBookingId} out of ${input.bookingId} not written`, error);
      sql.exec(`UPDATE bookings SET status = 'confirmed' WHERE booking_id = ? AND status = 'transferring'`, input.bookingId);
      return { ok: false, reason: 'unavailable' };
    } finally {
      this.inFlight.delete(toBookingId);
    }
    // No await from here on.
    if (outcome.status === 'conflict') {
      // Postgres does not have these tickets live in this confirmed booking: nothing moved there.
      sql.exec(`DELETE FROM transfer_attempts WHERE to_booking_id = ?`, toBookingId);
      sql.exec(`UPDATE bookings SET status = 'confirmed' WHERE booking_id = ? AND status = 'transferring'`, input.bookingId);
      return { ok: false, reason: 'booking_not_pending' };
    }
    this.apply(sql.exec<AttemptRow>(`SELECT * FROM transfer_attempts WHERE to_booking_id = ?`, toBookingId).one(), now);
    this.deps.afterWrite();
    return { ok: true, booking: rows.state(input.eventId, toBookingId)! };
  }

  /**
   * Before a booking is read: a transfer into or out of it whose answer was lost (its write failed
   * here but may have committed) is settled from Postgres, so the recipient can open the booking
   * that is already in their list. Costs one indexed look here when there is none; when Postgres
   * cannot be asked, the booking reads as this object has it.
   */
  async settleAround(eventId: string, bookingId: string): Promise<void> {
    const attempt = this.deps.sql
      .exec<AttemptRow>(`SELECT * FROM transfer_attempts WHERE to_booking_id = ? OR from_booking_id = ?`, bookingId, bookingId)
      .toArray()
      .find((row) => !this.inFlight.has(row.to_booking_id));
    if (attempt) await this.settleEarlierAttempts(eventId, attempt.from_booking_id);
  }

  private liveTicketIds(bookingId: string): string[] {
    return this.deps.sql
      .exec<{ ticket_id: string }>(`SELECT ticket_id FROM booking_tickets WHERE booking_id = ? AND released_at IS NULL ORDER BY rowid`, bookingId)
      .toArray()
      .map((row) => row.ticket_id);
  }

  /**
   * Moves the rows as Postgres moved them: the sender's rows released, the recipient's booking
   * (price 0) with its rows, the tickets sold to it. `sold_to_user` stays the buyer's: a purchase
   * limit counts purchases, so a recipient can still buy their own tickets and the sender's
   * purchase still counts against theirs.
   */
  private apply(attempt: AttemptRow, now: number): void {
    const { sql } = this.deps;
    const from = this.deps.rows.booking(attempt.from_booking_id)!;
    const ticketIds = JSON.parse(attempt.ticket_ids) as string[];
    sql.exec(
      `INSERT INTO bookings (booking_id, user_id, status, expires_at, total_cents, currency, created_at, confirmed_at, payment_provider, write_pending, transferred_from)
       VALUES (?, ?, 'confirmed', ?, 0, ?, ?, ?, ?, 0, ?)`,
      attempt.to_booking_id, attempt.to_user_id, attempt.started_at, from.currency, now, attempt.started_at, TRANSFER_PAYMENT_PROVIDER, attempt.from_booking_id,
    );
    for (const ticketId of ticketIds) {
      sql.exec(`UPDATE booking_tickets SET released_at = ? WHERE booking_id = ? AND ticket_id = ? AND released_at IS NULL`, attempt.started_at, attempt.from_booking_id, ticketId);
      sql.exec(`INSERT INTO booking_tickets (booking_id, ticket_id, price_cents) VALUES (?, ?, 0)`, attempt.to_booking_id, ticketId);
      sql.exec(`UPDATE tickets SET sold_to_booking = ? WHERE ticket_id = ?`, attempt.to_booking_id, ticketId);
    }
    const left = this.liveTicketIds(attempt.from_booking_id).length;
    // An organizer's refund that landed meanwhile (its tickets left) stays: refunded is not undone.
    sql.exec(`UPDATE bookings SET status = ? WHERE booking_id = ? AND status IN ('transferring', 'confirmed')`, left === 0 ? 'transferred' : 'confirmed', attempt.from_booking_id);
    sql.exec(`DELETE FROM transfer_attempts WHERE to_booking_id = ?`, attempt.to_booking_id);
  }

  /**
   * Attempts out of this booking whose outcome is unknown (their write failed, or the instance
   * writing them went away): Postgres says which landed; those are applied, the rest forgotten.
   * False when Postgres cannot be asked (then nothing changes).
   */
  private async settleEarlierAttempts(eventId: string, bookingId: string): Promise<boolean> {
    const unsettled = () =>
      this.deps.sql
        .exec<AttemptRow>(`SELECT * FROM transfer_attempts WHERE from_booking_id = ?`, bookingId)
        .toArray()
        .filter((attempt) => !this.inFlight.has(attempt.to_booking_id));
    const attempts = unsettled();
    if (attempts.length === 0) return true;
    const ids = `{${attempts.map((attempt) => attempt.to_booking_id).join(',')}}`;
    let landed: Set<string>;
    try {
      const found = await withDb(this.deps.env, (db) => db.execute(pgSql`select id from bookings where event_id = ${eventId} and id = any(${ids}::text[])`));
      landed = new Set((found.rows as Array<{ id: string }>).map((row) => row.id));
    } catch (error) {
      console.warn(`earlier transfers out of ${bookingId} could not be settled`, error);
      return false;
    }
    // No await from here on: what another request settled meanwhile is not read again.
    const now = Date.now();
    for (const attempt of unsettled()) {
      if (!attempts.some((asked) => asked.to_booking_id === attempt.to_booking_id)) continue;
      if (landed.has(attempt.to_booking_id)) this.apply(attempt, now);
      else this.deps.sql.exec(`DELETE FROM transfer_attempts WHERE to_booking_id = ?`, attempt.to_booking_id);
    }
    const writing = this.deps.sql.exec(`SELECT 1 FROM transfer_attempts WHERE from_booking_id = ?`, bookingId).toArray().length > 0;
    if (!writing) this.deps.sql.exec(`UPDATE bookings SET status = 'confirmed' WHERE booking_id = ? AND status = 'transferring'`, bookingId);
    return true;
  }
}
