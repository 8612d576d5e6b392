import { DurableObject } from 'cloudflare:workers';
import { and, eq } from 'drizzle-orm';
import type { Bindings } from '../env';
import { withDb } from '../db/client';
import { tickets } from '../db/schema';

export interface SeatStatusSnapshot {
  /** Grows with every change of any seat's status; part of the event view's ETag. */
  version: number;
  reserved: string[];
  booked: string[];
}

export interface HoldCounts {
  held: number;
  sold: number;
}

/**
 * One per event (reached with `getByName(eventId)`): the single place that decides who holds
 * which seat. Holds live only here, in SQLite; sales are written to Postgres and remembered here.
 * A hold counts while `expires_at` is in the future, whether or not the alarm has tidied it yet.
 */
export class TicketLock extends DurableObject<Bindings> {
  private readonly sql: SqlStorage;
  private loading: Promise<void> | null = null;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    ctx.blockConcurrencyWhile(async () => {
      this.sql.exec(`
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS sold_tickets (ticket_id TEXT PRIMARY KEY, booking_id TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS holds (
          booking_id TEXT PRIMARY KEY,
          user_id TEXT NOT NULL,
          expires_at INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS held_tickets (
          ticket_id TEXT PRIMARY KEY,
          booking_id TEXT NOT NULL REFERENCES holds(booking_id) ON DELETE CASCADE
        );
        CREATE INDEX IF NOT EXISTS held_tickets_booking ON held_tickets(booking_id);
        CREATE INDEX IF NOT EXISTS holds_expiry ON holds(expires_at);
      `);
    });
  }

  /** What the event view overlays on its cached seat layout. */
  async seatStatus(eventId: string): Promise<SeatStatusSnapshot> {
    await this.ensureLoaded(eventId);
    const now = Date.now();
    const reserved = this.sql
      .exec<{ ticket_id: string }>(
        `SELECT t.ticket_id FROM held_tickets t JOIN holds h USING (booking_id) WHERE h.expires_at > ?`,
        now,
      )
      .toArray()
      .map((row) => row.ticket_id);
    const booked = this.sql.exec<{ ticket_id: string }>(`SELECT ticket_id FROM sold_tickets`).toArray().map((row) => row.ticket_id);
    return { version: this.version(), reserved, booked };
  }

  async holdCounts(eventId: string): Promise<HoldCounts> {
    await this.ensureLoaded(eventId);
    const held = this.sql
      .exec<{ n: number }>(
        `SELECT count(*) AS n FROM held_tickets t JOIN holds h USING (booking_id) WHERE h.expires_at > ?`,
        Date.now(),
      )
      .one().n;
    const sold = this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM sold_tickets`).one().n;
    return { held, sold };
  }

  private version(): number {
    const row = this.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'version'`).toArray()[0];
    return row ? Number(row.value) : 0;
  }

  /**
   * Learns the event's sold tickets from Postgres the first time this object runs (or after its
   * storage was lost). Outside `blockConcurrencyWhile` on purpose: callers that arrive during
   * the load wait for the same promise instead of the whole object stalling on outside I/O.
   */
  private ensureLoaded(eventId: string): Promise<void> {
    const loaded = this.sql.exec(`SELECT 1 FROM meta WHERE key = 'loaded_from_postgres'`).toArray().length > 0;
    if (loaded) return Promise.resolve();
    this.loading ??= this.loadSoldTickets(eventId).finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  private async loadSoldTickets(eventId: string): Promise<void> {
    const sold = await withDb(this.env, (db) =>
      db
        .select({ id: tickets.id, bookingId: tickets.bookingId })
        .from(tickets)
        .where(and(eq(tickets.eventId, eventId), eq(tickets.status, 'sold'))),
    );
    // No await from here on: the rows and the flag commit together.
    for (const ticket of sold) {
      this.sql.exec(`INSERT OR IGNORE INTO sold_tickets (ticket_id, booking_id) VALUES (?, ?)`, ticket.id, ticket.bookingId ?? '');
    }
    this.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('event_id', ?), ('loaded_from_postgres', '1')`, eventId);
    this.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('version', ?)`, String(this.version() + 1));
  }
}
