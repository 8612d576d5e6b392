// The TicketLock's side of a payment (API.md, Payments): re-checking a hold and keeping it while
// the charge is taken, a charge still processing, a declined card, and the confirmation, which is
// decided here before Postgres is written to. Money that cannot buy seats (they are gone, the
// event is cancelled, or the booking was paid already) is owed back in the same step as that
// decision and paid back through the provider (the alarm retries what fails).
//
// Every method runs after the TicketLock loaded its tickets; each check and the writes it allows
// run with no await between them.
import { settings, type Bindings } from '../../env';
import { paymentProviderFor } from '../../payments';
import type { BookingState } from '../../domain/booking';
import { holdIsLive, type BookingRows } from './booking-rows';
import type { PaymentAttempts, AttemptRef } from './payment-attempts';
import type { RefundLedger, OwedRefund } from './refund-ledger';
import type { Admissions } from './admissions';
import type { ConfirmationWrites } from './confirmation-writes';
import type { SeatLog } from './seat-log';
import type { Waitlist } from './waitlist';
import type { BookingRow, ConfirmOutcome, Payment, PaymentStart, RetakeRefusal } from './types';

/** Bookings paid for (their tickets moving to another account, or moved): never pending again. */
export const SETTLED = new Set(['confirmed', 'transferring', 'transferred', 'refunded']);
/** How long a hold is kept beyond its expiry while its payment is being taken. */
const PAYMENT_GRACE_MS = 2 * 60 * 1000;
/** How long seats wait for a payment the provider reported as processing. */
const PROCESSING_HOLD_MS = 30 * 60 * 1000;

export interface PaymentDeps {
  sql: SqlStorage;
  env: Bindings;
  rows: BookingRows;
  seatLog: SeatLog;
  attempts: PaymentAttempts;
  refunds: RefundLedger;
  admissions: Admissions;
  waitlist: Waitlist;
  writes: ConfirmationWrites;
  armAlarm(): void;
  /** Ends a pending or paying booking's hold (its seats free, offered to the waiting list). */
  endHold(bookingId: string, status: 'cancelled' | 'expired', now: number): void;
  eventCancelled(): boolean;
  /** A booking was paid: the event's WaitingRoom is told (best effort). */
  tellWaitingRoom(eventId: string, bookingId: string): Promise<void>;
}

export class Payments {
  constructor(private readonly deps: PaymentDeps) {}

  /**
   * Before charging: re-checks the hold and keeps it for the length of the payment. A hold that
   * ran out is taken again when all its seats are still free.
   */
  begin(eventId: string, bookingId: string): PaymentStart {
    const { sql, rows, attempts, seatLog } = this.deps;
    const now = Date.now();
    const booking = rows.booking(bookingId);
    if (!booking) return { ok: false, reason: 'not_found' };
    if (booking.status === 'paying' || SETTLED.has(booking.status) || booking.status === 'cancelled') {
      return { ok: false, reason: 'booking_not_pending' };
    }
    if (this.deps.eventCancelled()) {
      this.deps.endHold(bookingId, 'cancelled', now);
      return { ok: false, reason: 'event_cancelled' };
    }
    const ticketIds = rows.ticketIdsOf(bookingId);
    if (!rows.seatsStillAvailableTo(bookingId, ticketIds, now)) {
      if (booking.status === 'pending') this.deps.endHold(bookingId, 'expired', now);
      return { ok: false, reason: 'hold_expired' };
    }
    const refused = holdIsLive(booking, now) ? null : this.retakeRefusal(booking, ticketIds.length, now);
    if (refused) return refused;
    const holdExpiresAt = Math.max(booking.expires_at, now);
    const expiresAt = holdExpiresAt + PAYMENT_GRACE_MS;
    const attemptId = attempts.begin(bookingId, holdExpiresAt, now);
    sql.exec(`UPDATE bookings SET status = 'paying', expires_at = ? WHERE booking_id = ?`, expiresAt, bookingId);
    for (const ticketId of ticketIds) {
      sql.exec(`INSERT OR REPLACE INTO holds (ticket_id, booking_id, expires_at) VALUES (?, ?, ?)`, ticketId, bookingId, expiresAt);
      if (booking.status === 'expired') seatLog.record(ticketId, 'reserved', now);
    }
    this.deps.armAlarm();
    return { ok: true, booking: rows.state(eventId, bookingId)!, attemptId };
  }

  /**
   * The payment provider is still processing the charge: the seats stay held for as long as a
   * processing payment may take, and the webhook settles it (confirm or paymentFailed).
   */
  holdWhileProcessing(eventId: string, bookingId: string, attempt?: AttemptRef): BookingState {
    const { sql, rows, attempts } = this.deps;
    attempts.record(bookingId, attempt);
    const booking = rows.booking(bookingId);
    if (booking?.status === 'paying' && attempts.isCurrent(booking.payment_attempt_id, attempt)) {
      const expiresAt = Math.max(booking.expires_at, Date.now() + PROCESSING_HOLD_MS);
      sql.exec(`UPDATE bookings SET expires_at = ? WHERE booking_id = ?`, expiresAt, bookingId);
      sql.exec(`UPDATE holds SET expires_at = ? WHERE booking_id = ?`, expiresAt, bookingId);
      this.deps.armAlarm();
    }
    return rows.state(eventId, bookingId)!;
  }

  /**
   * The card was declined: the hold goes back to what it was, so another card can be tried. Only
   * the attempt under way can fail the payment: a late report of an earlier attempt changes nothing.
   */
  failed(bookingId: string, releaseSeats: boolean, attempt?: AttemptRef): void {
    const { sql, rows, attempts } = this.deps;
    attempts.record(bookingId, attempt);
    const booking = rows.booking(bookingId);
    if (!booking || booking.status !== 'paying' || !attempts.isCurrent(booking.payment_attempt_id, attempt)) return;
    const now = Date.now();
    attempts.end(bookingId);
    if (releaseSeats || this.deps.eventCancelled()) {
      this.deps.endHold(bookingId, 'cancelled', now);
      return;
    }
    const expiresAt = Math.max(now, attempts.holdExpiresAt(bookingId, booking.payment_attempt_id) ?? booking.expires_at);
    sql.exec(`UPDATE bookings SET status = 'pending', expires_at = ? WHERE booking_id = ?`, expiresAt, bookingId);
    sql.exec(`UPDATE holds SET expires_at = ? WHERE booking_id = ?`, expiresAt, bookingId);
    this.deps.armAlarm();
  }

  /**
   * The payment succeeded: records the decision here first (so it survives a Postgres outage),
   * then writes the sale to Postgres in one transaction. Safe to call again for the same booking.
   */
  async confirm(eventId: string, bookingId: string, payment: Payment): Promise<ConfirmOutcome> {
    const { sql, rows, seatLog } = this.deps;
    const booking = rows.booking(bookingId);
    if (!booking) return { ok: false, reason: 'not_found' };
    this.deps.attempts.record(bookingId, payment);
    const now = Date.now();
    if (SETTLED.has(booking.status)) {
      // Paid for already: by this payment (a replay), or by another one, which is then given back.
      if (booking.payment_reference !== null && booking.payment_reference !== payment.reference) {
        this.oweRefund(bookingId, payment, payment.amountCents ?? booking.total_cents, 'already_paid', now);
        await this.payRefund(payment.reference);
      }
      return { ok: true, booking: rows.state(eventId, bookingId)! };
    }
    const ticketIds = rows.ticketIdsOf(bookingId);
    // Once a booking's money went back (or is owed back), no later charge of it may take seats:
    // that charge is refunded too. A payment that lands after its hold ended (a late webhook) takes
    // the seats again only as a new hold could; otherwise the money goes back.
    const refused =
      this.deps.eventCancelled() ||
      (booking.status === 'cancelled' && this.deps.refunds.hasRefundFor(bookingId)) ||
      !rows.seatsStillAvailableTo(bookingId, ticketIds, now) ||
      (!holdIsLive(booking, now) && this.retakeRefusal(booking, ticketIds.length, now));
    if (refused) {
      if (booking.status === 'pending' || booking.status === 'paying') this.deps.endHold(bookingId, 'cancelled', now);
      else sql.exec(`UPDATE bookings SET status = 'cancelled' WHERE booking_id = ?`, bookingId);
      this.oweRefund(bookingId, payment, payment.amountCents ?? booking.total_cents, 'seats_unavailable', now);
      await this.payRefund(payment.reference);
      return { ok: false, reason: 'seats_gone', booking: rows.state(eventId, bookingId)! };
    }
    for (const ticketId of ticketIds) {
      sql.exec(`INSERT OR REPLACE INTO holds (ticket_id, booking_id, expires_at) VALUES (?, ?, ?)`, ticketId, bookingId, Number.MAX_SAFE_INTEGER);
      if (booking.status === 'expired' || booking.status === 'cancelled') seatLog.record(ticketId, 'reserved', now);
    }
    sql.exec(
      `UPDATE bookings SET status = 'confirmed', confirmed_at = ?, payment_provider = ?, payment_reference = ?, payment_attempt_id = NULL, write_pending = 1, next_retry_at = ? WHERE booking_id = ?`,
      now, payment.provider, payment.reference, now, bookingId,
    );
    this.deps.waitlist.offerAccepted(bookingId);
    // Arms the alarm for the write's lease before anything is awaited.
    const outcome = await this.deps.writes.write(eventId, bookingId);
    if (outcome === 'written') await this.deps.tellWaitingRoom(eventId, bookingId);
    if (outcome === 'seats_gone') {
      await this.payRefund(payment.reference);
      return { ok: false, reason: 'seats_gone', booking: rows.state(eventId, bookingId)! };
    }
    return { ok: true, booking: rows.state(eventId, bookingId)! };
  }

  /**
   * A payment owed back, recorded in the same step as the decision that makes it due (the alarm
   * pays it if this instance does not get to).
   */
  oweRefund(bookingId: string, payment: Payment, amountCents: number, reason: OwedRefund['reason'], now: number): void {
    this.deps.refunds.owe({ reference: payment.reference, bookingId, provider: payment.provider, amountCents, reason }, now);
    this.deps.armAlarm();
  }

  /** Asks the payment provider for an owed refund; one that fails stays owed for the alarm. */
  async payRefund(reference: string): Promise<void> {
    const paid = await this.deps.refunds.pay(reference, async (refund) => {
      const provider = paymentProviderFor(this.deps.env);
      if (provider.name !== refund.provider) throw new Error(`${refund.reference} was paid through ${refund.provider}, but this server pays through ${provider.name}`);
      await provider.refund(refund.reference, refund.amountCents);
    });
    // A cancelled booking whose money went back says so; a second payment given back for a booking
    // another payment bought leaves that booking as it is.
    if (paid) this.deps.sql.exec(`UPDATE bookings SET refunded = 1 WHERE booking_id = ? AND status = 'cancelled'`, paid.refunded);
    this.deps.armAlarm();
  }

  /**
   * Taking the seats of a hold that ended is a new hold: the same ticket limit (the buyer's other
   * live holds and purchases count) and the same admission check as holdSeats.
   */
  private retakeRefusal(booking: BookingRow, ticketCount: number, now: number): RetakeRefusal | null {
    if (this.deps.admissions.endedFor(booking.booking_id)) return { ok: false, reason: 'admission_used' };
    const limit = booking.max_tickets_per_user ?? settings(this.deps.env).maxTicketsPerUser;
    const owned = this.deps.rows.ticketsOwnedBy(booking.user_id, now);
    return owned + ticketCount > limit ? { ok: false, reason: 'ticket_limit', limit, owned } : null;
  }
}
