// Payments the TicketLock owes back: one whose booking could not have its seats (gone, beyond the
// limit, the event cancelled), or a second payment of a booking another payment already bought
// (invariant 3: money and seats agree). A refund is owed in the same step as the decision that
// makes it due, then paid through the provider; one that fails is retried by the alarm until it
// goes through. Like a confirmation's write, a refund in flight is never started again in parallel.

export interface OwedRefund {
  /** The payment to give back (one refund per payment: the provider's idempotency key). */
  reference: string;
  bookingId: string;
  provider: string;
  amountCents: number;
  reason: 'seats_unavailable' | 'already_paid';
}

interface RefundRow extends Record<string, SqlStorageValue> {
  reference: string;
  booking_id: string;
  provider: string;
  amount_cents: number;
  attempts: number;
}

/** First retry of a refund that failed; doubled per attempt, capped. */
const RETRY_BASE_MS = 5_000;
const RETRY_MAX_MS = 15 * 60 * 1000;
/** A refund whose instance went away with it is tried again after this long. */
const LEASE_MS = 60 * 1000;

export class RefundLedger {
  /** Refunds this instance is asking the provider for right now. */
  private readonly inFlight = new Set<string>();

  constructor(private readonly sql: SqlStorage) {}

  /** Records a refund as owed (again: nothing, a payment is owed back once), due at once. */
  owe(refund: OwedRefund, now: number): void {
    this.sql.exec(
      `INSERT OR IGNORE INTO refunds (reference, booking_id, provider, amount_cents, reason, owed_since, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      refund.reference, refund.bookingId, refund.provider, refund.amountCents, refund.reason, now, now,
    );
  }

  /** Whether any payment of this booking is owed back or was given back. */
  hasRefundFor(bookingId: string): boolean {
    return this.sql.exec(`SELECT 1 FROM refunds WHERE booking_id = ? LIMIT 1`, bookingId).toArray().length > 0;
  }

  /** Refunds not yet given back whose next attempt is due. */
  due(now: number): string[] {
    return this.sql
      .exec<{ reference: string }>(`SELECT reference FROM refunds WHERE refunded_at IS NULL AND next_attempt_at <= ? ORDER BY next_attempt_at`, now)
      .toArray()
      .map((row) => row.reference);
  }

  nextAttemptAt(): number | null {
    return this.sql.exec<{ at: number | null }>(`SELECT min(next_attempt_at) AS at FROM refunds WHERE refunded_at IS NULL`).one().at;
  }

  /**
   * Gives the payment back through `refund` unless that is done or already under way here.
   * Returns the booking the refund was for once it went through.
   */
  async pay(reference: string, refund: (payment: { reference: string; provider: string; amountCents: number }) => Promise<void>): Promise<{ refunded: string } | null> {
    const row = this.sql
      .exec<RefundRow>(`SELECT reference, booking_id, provider, amount_cents, attempts FROM refunds WHERE reference = ? AND refunded_at IS NULL`, reference)
      .toArray()[0];
    if (!row || this.inFlight.has(reference)) return null;
    this.inFlight.add(reference);
    this.sql.exec(`UPDATE refunds SET next_attempt_at = ? WHERE reference = ?`, Date.now() + LEASE_MS, reference);
    try {
      await refund({ reference, provider: row.provider, amountCents: row.amount_cents });
    } catch (error) {
      const attempts = row.attempts + 1;
      const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(attempts - 1, 20));
      console.warn(`refund of ${reference} (booking ${row.booking_id}) failed (attempt ${attempts}), retrying in ${delay} ms`, error);
      this.sql.exec(`UPDATE refunds SET attempts = ?, next_attempt_at = ? WHERE reference = ?`, attempts, Date.now() + delay, reference);
      return null;
    } finally {
      this.inFlight.delete(reference);
    }
    this.sql.exec(`UPDATE refunds SET attempts = attempts + 1, refunded_at = ?, next_attempt_at = NULL WHERE reference = ?`, Date.now(), reference);
    return { refunded: row.booking_id };
  }
}
