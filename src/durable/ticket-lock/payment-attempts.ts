// A booking's payment attempts. Each charge a buyer starts is one attempt (one PaymentIntent at
// Stripe), named by the TicketLock, with the hold's own expiry to give back when it fails and the
// provider's reference once known. Webhooks arrive late and out of order: a failure acts only on
// the attempt under way, so an earlier card's failure cannot undo a later card's payment.

/** Which payment a report is about: the attempt (a webhook's metadata) and the provider's reference (its intent). */
export interface AttemptRef {
  attemptId?: string;
  reference?: string;
}

export class PaymentAttempts {
  constructor(private readonly sql: SqlStorage) {}

  /** Starts an attempt and makes it the booking's current one. */
  begin(bookingId: string, holdExpiresAt: number, now: number): string {
    const attemptId = crypto.randomUUID();
    this.sql.exec(`INSERT INTO payment_attempts (attempt_id, booking_id, hold_expires_at, started_at) VALUES (?, ?, ?, ?)`, attemptId, bookingId, holdExpiresAt, now);
    this.sql.exec(`UPDATE bookings SET payment_attempt_id = ? WHERE booking_id = ?`, attemptId, bookingId);
    return attemptId;
  }

  /** Records the provider's reference of an attempt of this booking, the first time it is learnt. */
  record(bookingId: string, attempt: AttemptRef | undefined): void {
    if (!attempt?.attemptId || !attempt.reference) return;
    this.sql.exec(`UPDATE payment_attempts SET reference = ? WHERE attempt_id = ? AND booking_id = ? AND reference IS NULL`, attempt.reference, attempt.attemptId, bookingId);
  }

  /**
   * Whether a report is about the booking's current attempt. Without a report (the caller started
   * the attempt itself) or for a payment begun before attempts were kept, it is.
   */
  isCurrent(currentAttemptId: string | null, report: AttemptRef | undefined): boolean {
    if (!report || currentAttemptId === null) return true;
    const recorded = this.sql.exec<{ reference: string | null }>(`SELECT reference FROM payment_attempts WHERE attempt_id = ?`, currentAttemptId).toArray()[0]?.reference ?? null;
    if (report.attemptId !== undefined && report.attemptId !== currentAttemptId) return false;
    if (report.reference !== undefined && recorded !== null && report.reference !== recorded) return false;
    // A report naming neither the attempt nor a reference known for it is about another payment.
    return report.attemptId !== undefined || (report.reference !== undefined ? recorded === report.reference : true);
  }

  /** The expiry the hold had before the current attempt (or, for payments begun before attempts were kept, the latest) began. */
  holdExpiresAt(bookingId: string, currentAttemptId: string | null): number | undefined {
    const row =
      currentAttemptId === null
        ? this.sql.exec<{ hold_expires_at: number }>(`SELECT hold_expires_at FROM payment_attempts WHERE booking_id = ? ORDER BY started_at DESC LIMIT 1`, bookingId).toArray()[0]
        : this.sql.exec<{ hold_expires_at: number }>(`SELECT hold_expires_at FROM payment_attempts WHERE attempt_id = ?`, currentAttemptId).toArray()[0];
    return row?.hold_expires_at;
  }

  /** The booking has no attempt under way any more. */
  end(bookingId: string): void {
    this.sql.exec(`UPDATE bookings SET payment_attempt_id = NULL WHERE booking_id = ?`, bookingId);
  }
}
