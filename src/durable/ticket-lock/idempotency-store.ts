// Idempotency-Keys of the booking POSTs (src/lib/idempotency.ts), kept in the event's TicketLock so
// the hold path stays off Postgres. A claim names the request that runs under the key; a retry gets
// the stored answer, or waits while the claim is young. A claim never answered belongs to a request
// that died (an instance replaced, a client gone): once older than its lease, a retry takes it over.

export type IdempotencyClaim =
  /** Run the request, then settle the key with this claim. */
  | { state: 'new'; claim: string }
  | { state: 'in_progress' }
  | { state: 'mismatch' }
  | { state: 'done'; status: number; body: string };

/** API.md promises at least 24 hours. */
const KEY_LIFETIME_MS = 48 * 3600 * 1000;
/** Longer than any request runs (the Worker's own limits end one long before). */
const CLAIM_LEASE_MS = 60 * 1000;
/** Expired keys are deleted by the alarm this many at a time, so one alarm run stays short. */
const TRIM_BATCH = 500;
/** The alarm trims this long after the oldest key expired, taking every key that expired meanwhile in one go. */
const TRIM_SLACK_MS = 10 * 60 * 1000;

interface KeyRow extends Record<string, SqlStorageValue> {
  fingerprint: string;
  status: number | null;
  body: string | null;
  created_at: number;
  claimed_at: number | null;
  claim: string | null;
}

export class IdempotencyStore {
  constructor(private readonly sql: SqlStorage) {}

  /** The first claim of a key (or of one whose claim lapsed) runs the request; no write touches other keys. */
  claim(key: string, fingerprint: string, now: number): IdempotencyClaim {
    const row = this.sql.exec<KeyRow>(`SELECT fingerprint, status, body, created_at, claimed_at, claim FROM idempotency_keys WHERE key = ?`, key).toArray()[0];
    const claim = crypto.randomUUID();
    if (!row || row.created_at <= now - KEY_LIFETIME_MS) {
      this.sql.exec(
        `INSERT OR REPLACE INTO idempotency_keys (key, fingerprint, status, body, created_at, claimed_at, claim) VALUES (?, ?, NULL, NULL, ?, ?, ?)`,
        key, fingerprint, now, now, claim,
      );
      return { state: 'new', claim };
    }
    if (row.fingerprint !== fingerprint) return { state: 'mismatch' };
    if (row.status !== null) return { state: 'done', status: row.status, body: row.body ?? '' };
    if ((row.claimed_at ?? row.created_at) > now - CLAIM_LEASE_MS) return { state: 'in_progress' };
    this.sql.exec(`UPDATE idempotency_keys SET claimed_at = ?, claim = ? WHERE key = ?`, now, claim, key);
    return { state: 'new', claim };
  }

  /**
   * Stores the answer to replay, or forgets the claim so the request may be tried again; only for
   * the request holding the claim (one taken over has no say any more). Without a claim (callers
   * older than claims), the key's open claim, whoever holds it.
   */
  settle(key: string, answer: { status: number; body: string } | null, claim: string | undefined): void {
    const holder = claim === undefined ? '' : ' AND claim = ?';
    const args = claim === undefined ? [key] : [key, claim];
    if (answer) this.sql.exec(`UPDATE idempotency_keys SET status = ?, body = ? WHERE key = ? AND status IS NULL${holder}`, answer.status, answer.body, ...args);
    else this.sql.exec(`DELETE FROM idempotency_keys WHERE key = ? AND status IS NULL${holder}`, ...args);
  }

  /** Deletes up to one batch of expired keys (oldest first, by the created_at index). */
  trimExpired(now: number): void {
    this.sql.exec(
      `DELETE FROM idempotency_keys WHERE key IN (SELECT key FROM idempotency_keys WHERE created_at <= ? ORDER BY created_at LIMIT ?)`,
      now - KEY_LIFETIME_MS,
      TRIM_BATCH,
    );
  }

  /** When the alarm should trim next, or null with no key kept. */
  nextTrimAt(): number | null {
    const oldest = this.sql.exec<{ at: number | null }>(`SELECT min(created_at) AS at FROM idempotency_keys`).one().at;
    return oldest === null ? null : oldest + KEY_LIFETIME_MS + TRIM_SLACK_MS;
  }
}
