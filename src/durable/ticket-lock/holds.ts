// Holds (API.md, Holds): the check that every ticket asked for is free, the buyer's ticket limit
// and admission, and the pending booking written, all or nothing and with no await between the
// check and the writes; and the end of holds, cancelled or run out, whose places go to the waiting
// list first, in the same turn. A hold counts while `expires_at` is in the future, whether or not
// the alarm has tidied it yet.
import { newBookingId } from '../../domain/booking';
import type { BookingRows } from './booking-rows';
import type { SeatPlaces } from './seat-places';
import type { Admissions } from './admissions';
import type { SeatLog } from './seat-log';
import type { Waitlist } from './waitlist';
import type { AvailabilityMap } from './availability';
import type { BestAvailable, BestRequest } from './best-available';
import type { HoldOutcome } from './types';

export interface HoldRequest {
  eventId: string;
  userId: string;
  ticketIds?: string[];
  seats?: number[];
  best?: BestRequest;
  ttlSeconds: number;
  maxTicketsPerUser: number;
  /** The waiting room's admission the request carried, when the event's queue is on. */
  admissionId?: string;
}

export interface HoldDeps {
  sql: SqlStorage;
  rows: BookingRows;
  places: SeatPlaces;
  admissions: Admissions;
  seatLog: SeatLog;
  waitlist: Waitlist;
  availability: AvailabilityMap;
  bestAvailable: BestAvailable;
  eventCancelled(): boolean;
  /** Places that came free: offered to the waiting list (ticket-lock/waitlist-offers.ts). */
  offerFreedPlaces(now: number): void;
  armAlarm(): void;
}

export class Holds {
  constructor(private readonly deps: HoldDeps) {}

  /**
   * All or nothing: every ticket is held for this user until the returned expiry, or none is.
   * Called once the tickets (and, for `seats` or `best`, their places) are loaded; no await from
   * here on. Holds that ran out end first: their places go to the waiting list before anyone else.
   */
  hold(input: HoldRequest): HoldOutcome {
    const { sql, rows } = this.deps;
    this.expireDue(Date.now());
    let ticketIds = input.ticketIds ?? [];
    let seats = input.seats;
    if (input.best) {
      seats = this.chooseBest(input.best, Date.now()) ?? undefined;
      if (!seats) return { ok: false, reason: 'tickets_unavailable', ticketIds: [] };
    }
    if (seats) {
      const found = this.deps.places.ticketIdsAt(seats);
      if (found.unknown.length) return { ok: false, reason: 'unknown_seats', seats: found.unknown };
      ticketIds = found.ticketIds;
    }
    const now = Date.now();
    const known = rows.tickets(ticketIds);
    const unknown = ticketIds.filter((id) => !known.has(id));
    if (unknown.length) return { ok: false, reason: 'unknown_tickets', ticketIds: unknown };
    if (this.deps.eventCancelled()) return { ok: false, reason: 'event_cancelled' };
    if (input.admissionId && this.deps.admissions.isEnded(input.admissionId)) {
      return { ok: false, reason: 'admission_used' };
    }

    const taken = ticketIds.filter((id) => {
      if (known.get(id)!.sold_to_booking) return true;
      return sql.exec(`SELECT 1 FROM holds WHERE ticket_id = ? AND expires_at > ?`, id, now).toArray().length > 0;
    });
    if (taken.length) {
      const takenSeats = seats && seats.filter((_, i) => taken.includes(ticketIds[i]!));
      return { ok: false, reason: 'tickets_unavailable', ticketIds: taken, ...(takenSeats ? { seats: takenSeats } : {}) };
    }

    const owned = rows.ticketsOwnedBy(input.userId, now);
    if (owned + ticketIds.length > input.maxTicketsPerUser) {
      return { ok: false, reason: 'ticket_limit', limit: input.maxTicketsPerUser, owned };
    }

    const bookingId = this.write({ eventId: input.eventId, userId: input.userId, ticketIds, expiresAt: now + input.ttlSeconds * 1000, maxTicketsPerUser: input.maxTicketsPerUser, admissionId: input.admissionId, now });
    return { ok: true, booking: rows.state(input.eventId, bookingId)!, ...(input.best ? { seats } : {}) };
  }

  /** Writes a pending booking holding these tickets (checked free by the caller, in the same turn). */
  write(hold: { eventId: string; userId: string; ticketIds: string[]; expiresAt: number; maxTicketsPerUser: number; admissionId?: string; now: number }): string {
    const { sql } = this.deps;
    const { ticketIds, now } = hold;
    const known = this.deps.rows.tickets(ticketIds);
    const bookingId = newBookingId(hold.eventId);
    const totalCents = ticketIds.reduce((sum, id) => sum + Number(known.get(id)!.price_cents), 0);
    const currency = String(known.get(ticketIds[0]!)!.currency);
    sql.exec(
      `INSERT INTO bookings (booking_id, user_id, status, expires_at, total_cents, currency, created_at, max_tickets_per_user) VALUES (?, ?, 'pending', ?, ?, ?, ?, ?)`,
      bookingId, hold.userId, hold.expiresAt, totalCents, currency, now, hold.maxTicketsPerUser,
    );
    if (hold.admissionId) this.deps.admissions.record(hold.admissionId, hold.userId, bookingId);
    for (const ticketId of ticketIds) {
      sql.exec(`INSERT INTO booking_tickets (booking_id, ticket_id, price_cents) VALUES (?, ?, ?)`, bookingId, ticketId, known.get(ticketId)!.price_cents);
      // An expired hold on this seat is simply replaced.
      sql.exec(`INSERT OR REPLACE INTO holds (ticket_id, booking_id, expires_at) VALUES (?, ?, ?)`, ticketId, bookingId, hold.expiresAt);
      this.deps.seatLog.record(ticketId, 'reserved', now);
    }
    this.deps.armAlarm();
    return bookingId;
  }

  /**
   * Best available's seat indexes, or null when nothing fits. Holds that ran out end first (as the
   * alarm ends them), so the availability array it reads is the truth now.
   */
  private chooseBest(request: BestRequest, now: number): number[] | null {
    this.expireDue(now);
    return this.deps.bestAvailable.choose(this.deps.availability.codes(now), request);
  }

  /** Ends the holds whose time is up (by the partial index of open bookings: usually none to read). */
  expireDue(now: number): void {
    const expired = this.deps.sql
      .exec<{ booking_id: string }>(`SELECT booking_id FROM bookings WHERE status IN ('pending', 'paying') AND expires_at <= ?`, now)
      .toArray();
    for (const booking of expired) this.end(booking.booking_id, 'expired', now);
  }

  end(bookingId: string, status: 'cancelled' | 'expired', now: number): void {
    const { sql } = this.deps;
    const released = sql.exec<{ ticket_id: string }>(`SELECT ticket_id FROM holds WHERE booking_id = ?`, bookingId).toArray();
    sql.exec(`DELETE FROM holds WHERE booking_id = ?`, bookingId);
    sql.exec(`UPDATE bookings SET status = ? WHERE booking_id = ?`, status, bookingId);
    for (const { ticket_id } of released) this.deps.seatLog.record(ticket_id, 'available', now);
    this.deps.waitlist.offerEnded(bookingId, status === 'expired' ? 'expired' : 'left');
    // Places that come free go to the waiting list first, in the same turn, before anyone else can hold them.
    if (released.length) this.deps.offerFreedPlaces(now);
  }
}
