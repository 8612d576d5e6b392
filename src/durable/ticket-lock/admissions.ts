// Admissions from the waiting room that bookings were made with. An admission ends when its
// bookings are all paid or cancelled (a hold that merely expired does not end it): the room stops
// counting the shopper, and the token books nothing more, not even by taking a lapsed hold again.

export class Admissions {
  constructor(private readonly sql: SqlStorage) {}

  isEnded(admissionId: string): boolean {
    return this.sql.exec(`SELECT 1 FROM admissions WHERE admission_id = ? AND ended = 1`, admissionId).toArray().length > 0;
  }

  /** Whether the booking was made with an admission that has ended since. */
  endedFor(bookingId: string): boolean {
    return this.sql.exec(`SELECT 1 FROM admission_bookings ab JOIN admissions a USING (admission_id) WHERE ab.booking_id = ? AND a.ended = 1`, bookingId).toArray().length > 0;
  }

  record(admissionId: string, userId: string, bookingId: string): void {
    this.sql.exec(`INSERT OR IGNORE INTO admissions (admission_id, user_id) VALUES (?, ?)`, admissionId, userId);
    this.sql.exec(`INSERT INTO admission_bookings (booking_id, admission_id) VALUES (?, ?)`, bookingId, admissionId);
  }

  /** Ends the admission this booking was made with once none of its bookings is still open; the one ended, if any. */
  endIfDone(bookingId: string, now: number): { admissionId: string; userId: string } | null {
    const admission = this.sql
      .exec<{ admission_id: string; user_id: string }>(
        `SELECT a.admission_id, a.user_id FROM admission_bookings ab JOIN admissions a USING (admission_id) WHERE ab.booking_id = ? AND a.ended = 0`,
        bookingId,
      )
      .toArray()[0];
    if (!admission) return null;
    const stillOpen =
      this.sql
        .exec(
          `SELECT 1 FROM admission_bookings ab JOIN bookings b USING (booking_id) WHERE ab.admission_id = ? AND (b.status = 'paying' OR (b.status = 'pending' AND b.expires_at > ?))`,
          admission.admission_id,
          now,
        )
        .toArray().length > 0;
    if (stillOpen) return null;
    this.sql.exec(`UPDATE admissions SET ended = 1 WHERE admission_id = ?`, admission.admission_id);
    return { admissionId: admission.admission_id, userId: admission.user_id };
  }
}
