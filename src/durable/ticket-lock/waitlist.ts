// The event's waiting list (API.md, waiting list; pretix's semantics): entries in join order, each
// asking for a quantity (of one section, or anywhere). The TicketLock offers places that come free
// to the first entry they fit, as a pending booking of that person's, and this table remembers
// which booking is whose offer. Reads go by index: the line is never scanned whole.

export type WaitlistStatus = 'waiting' | 'offered' | 'accepted' | 'expired' | 'left';

export interface WaitlistEntryRow extends Record<string, SqlStorageValue> {
  entry_id: string;
  seq: number;
  user_id: string;
  quantity: number;
  section: string | null;
  offer_minutes: number;
  max_tickets: number;
  status: WaitlistStatus;
  offer_booking_id: string | null;
  offer_expires_at: number | null;
}

export interface WaitlistEntryState {
  id: string;
  quantity: number;
  section: string | null;
  /** 1 for the first one waiting; null unless waiting. */
  position: number | null;
  status: WaitlistStatus;
  offer: { bookingId: string; expiresAt: string } | null;
}

/** How many waiting entries one pass over freed places looks at: a pass never walks the whole line. */
export const ENTRIES_PER_OFFER_PASS = 50;

export function createWaitlistSchema(sql: SqlStorage): void {
  sql.exec(`
    CREATE TABLE IF NOT EXISTS waitlist (
      entry_id TEXT PRIMARY KEY,
      seq INTEGER NOT NULL UNIQUE,
      user_id TEXT NOT NULL,
      quantity INTEGER NOT NULL,
      section TEXT,
      offer_minutes INTEGER NOT NULL,
      max_tickets INTEGER NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('waiting', 'offered', 'accepted', 'expired', 'left')),
      offer_booking_id TEXT,
      offer_expires_at INTEGER,
      created_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS waitlist_waiting ON waitlist(seq) WHERE status = 'waiting';
    CREATE INDEX IF NOT EXISTS waitlist_user ON waitlist(user_id);
    CREATE UNIQUE INDEX IF NOT EXISTS waitlist_offer_booking ON waitlist(offer_booking_id) WHERE offer_booking_id IS NOT NULL;
    -- Offers whose notification is not yet in the Postgres outbox (the alarm retries them).
    CREATE TABLE IF NOT EXISTS waitlist_notices (booking_id TEXT PRIMARY KEY, entry_id TEXT NOT NULL, due_at INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS waitlist_notices_due ON waitlist_notices(due_at);
  `);
}

export class Waitlist {
  constructor(private readonly sql: SqlStorage) {}

  /** The user's entry that still counts (waiting or holding an offer), if any: one per person and event. */
  activeEntryOf(userId: string): WaitlistEntryRow | undefined {
    return this.sql
      .exec<WaitlistEntryRow>(`SELECT * FROM waitlist WHERE user_id = ? AND status IN ('waiting', 'offered') ORDER BY seq DESC LIMIT 1`, userId)
      .toArray()[0];
  }

  entry(entryId: string): WaitlistEntryRow | undefined {
    return this.sql.exec<WaitlistEntryRow>(`SELECT * FROM waitlist WHERE entry_id = ?`, entryId).toArray()[0];
  }

  join(input: { entryId: string; userId: string; quantity: number; section: string | null; offerMinutes: number; maxTickets: number }, now: number): WaitlistEntryRow {
    const seq = this.sql.exec<{ next: number }>(`SELECT coalesce(max(seq), 0) + 1 AS next FROM waitlist`).one().next;
    this.sql.exec(
      `INSERT INTO waitlist (entry_id, seq, user_id, quantity, section, offer_minutes, max_tickets, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'waiting', ?)`,
      input.entryId, seq, input.userId, input.quantity, input.section, input.offerMinutes, input.maxTickets, now,
    );
    return this.entry(input.entryId)!;
  }

  /** The first waiting entries in join order, at most `limit`. */
  waiting(limit: number): WaitlistEntryRow[] {
    return this.sql.exec<WaitlistEntryRow>(`SELECT * FROM waitlist WHERE status = 'waiting' ORDER BY seq LIMIT ?`, limit).toArray();
  }

  hasWaiting(): boolean {
    return this.sql.exec(`SELECT 1 FROM waitlist WHERE status = 'waiting' LIMIT 1`).toArray().length > 0;
  }

  markOffered(entryId: string, bookingId: string, expiresAt: number, now: number): void {
    this.sql.exec(`UPDATE waitlist SET status = 'offered', offer_booking_id = ?, offer_expires_at = ? WHERE entry_id = ?`, bookingId, expiresAt, entryId);
    this.sql.exec(`INSERT OR REPLACE INTO waitlist_notices (booking_id, entry_id, due_at) VALUES (?, ?, ?)`, bookingId, entryId, now);
  }

  /** The booking of an offer was paid: the entry is done. */
  offerAccepted(bookingId: string): void {
    this.sql.exec(`UPDATE waitlist SET status = 'accepted' WHERE offer_booking_id = ? AND status = 'offered'`, bookingId);
  }

  /** The booking of an offer ended unpaid: it ran out (`expired`) or its person let it go (`left`). */
  offerEnded(bookingId: string, how: 'expired' | 'left'): void {
    this.sql.exec(`UPDATE waitlist SET status = ? WHERE offer_booking_id = ? AND status = 'offered'`, how, bookingId);
  }

  leave(entryId: string): void {
    this.sql.exec(`UPDATE waitlist SET status = 'left' WHERE entry_id = ? AND status IN ('waiting', 'offered')`, entryId);
  }

  /** Everyone still waiting leaves (the event was cancelled). */
  closeAll(): void {
    this.sql.exec(`UPDATE waitlist SET status = 'left' WHERE status = 'waiting'`);
  }

  state(row: WaitlistEntryRow): WaitlistEntryState {
    const position =
      row.status === 'waiting' ? this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM waitlist WHERE status = 'waiting' AND seq <= ?`, row.seq).one().n : null;
    return {
      id: row.entry_id,
      quantity: row.quantity,
      section: row.section,
      position,
      status: row.status,
      offer: row.offer_booking_id && row.offer_expires_at !== null ? { bookingId: row.offer_booking_id, expiresAt: new Date(row.offer_expires_at).toISOString() } : null,
    };
  }

  /** Offers whose notification is due to be written to the outbox. */
  noticesDue(now: number, limit = 20): Array<{ booking_id: string; entry_id: string }> {
    return this.sql.exec<{ booking_id: string; entry_id: string }>(`SELECT booking_id, entry_id FROM waitlist_notices WHERE due_at <= ? ORDER BY due_at LIMIT ?`, now, limit).toArray();
  }

  noticeWritten(bookingId: string): void {
    this.sql.exec(`DELETE FROM waitlist_notices WHERE booking_id = ?`, bookingId);
  }

  noticeFailed(bookingId: string, retryAt: number): void {
    this.sql.exec(`UPDATE waitlist_notices SET due_at = ? WHERE booking_id = ?`, retryAt, bookingId);
  }

  nextNoticeAt(): number | null {
    return this.sql.exec<{ at: number | null }>(`SELECT min(due_at) AS at FROM waitlist_notices`).one().at;
  }
}
