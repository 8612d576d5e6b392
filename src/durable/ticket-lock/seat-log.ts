// The TicketLock's log of seat changes, for the seat stream: every change gets the next version,
// which is then the version of the seat status as a whole (part of the event view's ETag).
import { newEpoch, type LoggedChange, type SeatChange } from '../seat-stream';

/** Changes kept for seat streams that reconnect (older ones earn a snapshot); trimmed every so many changes. */
const CHANGES_KEPT = 10_000;
const CHANGES_TRIM_EVERY = 1_000;

export class SeatLog {
  constructor(
    private readonly sql: SqlStorage,
    /** Told after every change (the availability array follows it; the seat stream batches them). */
    private readonly changed: (seatIndex: number | null, status: SeatChange['status']) => void,
    /** Told when a new epoch starts (the seat-stream relays must take a snapshot). */
    private readonly restarted: () => void = () => {},
  ) {}

  record(ticketId: string, status: SeatChange['status'], now: number): void {
    const version = this.version() + 1;
    // By primary key: one row, whatever the venue's size.
    const seatIndex = this.sql.exec<{ seat_index: number | null }>(`SELECT seat_index FROM tickets WHERE ticket_id = ?`, ticketId).toArray()[0]?.seat_index ?? null;
    this.sql.exec(`INSERT INTO changes (version, ticket_id, status, at, seat_index) VALUES (?, ?, ?, ?, ?)`, version, ticketId, status, now, seatIndex);
    this.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('version', ?)`, String(version));
    if (version % CHANGES_TRIM_EVERY === 0) this.sql.exec(`DELETE FROM changes WHERE version <= ?`, version - CHANGES_KEPT);
    this.changed(seatIndex, status);
  }

  version(): number {
    const row = this.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'version'`).toArray()[0];
    return row ? Number(row.value) : 0;
  }

  /**
   * Seat stream event ids are `<epoch>-<version>`: storage that is lost and relearnt from Postgres
   * starts a new epoch, and so do objects older than the stream (their change log is dropped).
   */
  epoch(): string {
    const row = this.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'stream_epoch'`).toArray()[0];
    return row ? row.value : this.startEpoch(0);
  }

  /** A new epoch after the tickets were relearnt; the version moves on by one. */
  restart(): void {
    this.startEpoch(1);
    this.restarted();
  }

  /**
   * Drops the change log for a new epoch. The version never goes back, even when the stored one
   * was lost with part of the storage: the event view's ETag is built on it.
   */
  private startEpoch(step: number): string {
    const lastChange = this.sql.exec<{ v: number | null }>(`SELECT max(version) AS v FROM changes`).one().v ?? 0;
    const epoch = newEpoch();
    this.sql.exec(`DELETE FROM changes`);
    this.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('stream_epoch', ?)`, epoch);
    this.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('version', ?)`, String(Math.max(this.version(), lastChange) + step));
    return epoch;
  }

  /** Versions within an epoch have no gaps and trimming drops the oldest: the next one present means all are. */
  changesAfter(version: number): LoggedChange[] | null {
    const current = this.version();
    if (version >= current) return version === current ? [] : null;
    const rows = this.sql
      .exec<{ version: number; ticket_id: string; status: SeatChange['status']; seat_index: number | null }>(
        `SELECT version, ticket_id, status, seat_index FROM changes WHERE version > ? ORDER BY version`,
        version,
      )
      .toArray();
    if (rows[0]?.version !== version + 1) return null;
    return rows.map((row) => ({ version: row.version, id: row.ticket_id, status: row.status, seatIndex: row.seat_index }));
  }

  /** The latest `limit` changes, oldest first: contiguous up to the version (trimming drops the oldest). */
  recent(limit: number): LoggedChange[] {
    return this.sql
      .exec<{ version: number; ticket_id: string; status: SeatChange['status']; seat_index: number | null }>(
        `SELECT version, ticket_id, status, seat_index FROM changes ORDER BY version DESC LIMIT ?`,
        limit,
      )
      .toArray()
      .reverse()
      .map((row) => ({ version: row.version, id: row.ticket_id, status: row.status, seatIndex: row.seat_index }));
  }

  /** Every ticket as the event view shows it: a hold counts while unexpired, alarm or not. */
  snapshot(now: number): SeatChange[] {
    return this.sql
      .exec<{ id: string; status: SeatChange['status'] }>(
        `SELECT t.ticket_id AS id,
           CASE WHEN t.sold_to_booking IS NOT NULL THEN 'booked'
                WHEN EXISTS (SELECT 1 FROM holds h WHERE h.ticket_id = t.ticket_id AND h.expires_at > ?) THEN 'reserved'
                ELSE 'available' END AS status
         FROM tickets t ORDER BY t.rowid`,
        now,
      )
      .toArray()
      .map((row) => ({ id: row.id, status: row.status }));
  }
}
