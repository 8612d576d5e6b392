// What the TicketLock knows of its event from Postgres: the tickets, prices and sales, learnt the
// first time the object runs (or after its storage was lost); the seat places of objects loaded
// before they were kept; new prices and the event's status after an organizer changed them. A
// cancelled event ends the holds waiting for payment.
import type { Bindings } from '../../env';
import { withDb } from '../../db/client';
import { eventInventory, eventPrices, eventTicketPlaces } from '../../db/inventory';
import { assertServesEvent } from '../object-name';
import type { SeatPlaces } from './seat-places';
import type { AvailabilityMap } from './availability';
import type { BestAvailable } from './best-available';
import type { SeatLog } from './seat-log';
import type { Waitlist } from './waitlist';

export interface EventLoadDeps {
  ctx: DurableObjectState;
  sql: SqlStorage;
  env: Bindings;
  places: SeatPlaces;
  availability: AvailabilityMap;
  bestAvailable: BestAvailable;
  seatLog: SeatLog;
  waitlist: Waitlist;
  /** Ends a pending booking's hold (its seats free). */
  endHold(bookingId: string, status: 'cancelled', now: number): void;
  armAlarm(): void;
}

export class EventLoad {
  private loading: Promise<void> | null = null;
  private relearning: Promise<void> | null = null;

  constructor(private readonly deps: EventLoadDeps) {}

  /**
   * Learns the event's tickets, prices and sales from Postgres the first time this object runs
   * (or after its storage was lost). Outside `blockConcurrencyWhile` on purpose: callers that
   * arrive during the load wait for the same promise instead of the object stalling on outside I/O.
   */
  ensureLoaded(eventId: string): Promise<void> {
    assertServesEvent(this.deps.ctx, eventId, 'TicketLock');
    if (this.loaded()) return Promise.resolve();
    this.loading ??= this.loadTickets(eventId).finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  private loaded(): boolean {
    return this.deps.sql.exec(`SELECT 1 FROM meta WHERE key = 'loaded_from_postgres'`).toArray().length > 0;
  }

  private async loadTickets(eventId: string): Promise<void> {
    const { sql } = this.deps;
    const inventory = await withDb(this.deps.env, (db) => eventInventory(db, eventId));
    // No await from here on: the rows and the flag commit together.
    this.learnEventStatus(inventory.status, Date.now());
    for (const ticket of inventory.tickets) {
      sql.exec(
        `INSERT OR REPLACE INTO tickets (ticket_id, price_cents, currency, sold_to_booking, sold_to_user, seat_index, section, row_name, seat_number) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ticket.id, ticket.priceCents, ticket.currency, ticket.bookingId, ticket.userId, ticket.seatIndex, ticket.section, ticket.row, ticket.seat,
      );
    }
    sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('event_id', ?), ('loaded_from_postgres', '1')`, eventId);
    this.deps.places.markLearnt();
    this.deps.availability.reset();
    // The seat stream's old change log means nothing now.
    this.deps.seatLog.restart();
  }

  /**
   * The tickets' seat indexes and names, for objects loaded before they were kept: read from
   * Postgres once and written over the tickets this object has. Other requests run during the
   * read (holds, sales); the flag is checked again after it, and the writes, the flag and the
   * reset of what was built on the old places follow with no await between.
   */
  async ensurePlaces(eventId: string): Promise<void> {
    await this.ensureLoaded(eventId);
    const { places } = this.deps;
    if (places.learnt()) return;
    this.relearning ??= (async () => {
      const learnt = await withDb(this.deps.env, (db) => eventTicketPlaces(db, eventId));
      if (places.learnt()) return;
      places.relearn(learnt);
      this.deps.availability.reset();
      // Changes logged so far carry no seat index: compact streams start from a snapshot.
      this.deps.seatLog.restart();
    })().finally(() => {
      this.relearning = null;
    });
    return this.relearning;
  }

  /**
   * After an organizer changed the event's prices or status. Holds taken from now on use the new
   * prices (holds already taken keep the prices they were taken at); a cancelled event takes no
   * holds and no payments, and its pending holds end.
   */
  async refresh(eventId: string): Promise<void> {
    if (!this.loaded()) return;
    const current = await withDb(this.deps.env, (db) => eventPrices(db, eventId));
    for (const row of current.tickets) {
      this.deps.sql.exec(`UPDATE tickets SET price_cents = ?, currency = ? WHERE ticket_id = ? AND sold_to_booking IS NULL`, row.priceCents, row.currency, row.id);
    }
    // Best available ranks sections by price.
    this.deps.bestAvailable.invalidated();
    this.learnEventStatus(current.status, Date.now());
  }

  /** The event as Postgres last told: a cancelled event ends the holds waiting for payment. */
  learnEventStatus(status: string | null, now: number): void {
    const { sql } = this.deps;
    sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('event_status', ?)`, status ?? 'unknown');
    if (status !== 'cancelled') return;
    this.deps.waitlist.closeAll();
    const pending = sql.exec<{ booking_id: string }>(`SELECT booking_id FROM bookings WHERE status = 'pending'`).toArray();
    for (const { booking_id } of pending) this.deps.endHold(booking_id, 'cancelled', now);
    this.deps.armAlarm();
  }

  cancelled(): boolean {
    return this.deps.sql.exec(`SELECT 1 FROM meta WHERE key = 'event_status' AND value = 'cancelled'`).toArray().length > 0;
  }
}
