// Reads of the TicketLock's tickets, holds and bookings: what a booking is, what its seats are
// doing and what a buyer already has. No writes.
import { type BookingState, type BookingStatus, type TicketSeat } from '../../domain/booking';
import type { BookingRow } from './types';

export interface TicketRow {
  price_cents: number;
  currency: string;
  sold_to_booking: string | null;
}

/** A hold counts while it is unexpired, whether or not the alarm has tidied it yet. */
export function holdIsLive(booking: BookingRow, now: number): boolean {
  return (booking.status === 'pending' || booking.status === 'paying') && booking.expires_at > now;
}

export class BookingRows {
  constructor(private readonly sql: SqlStorage) {}

  tickets(ids: string[]): Map<string, TicketRow> {
    const rows = new Map<string, TicketRow>();
    for (const id of ids) {
      const row = this.sql.exec<TicketRow & Record<string, SqlStorageValue>>(`SELECT price_cents, currency, sold_to_booking FROM tickets WHERE ticket_id = ?`, id).toArray()[0];
      if (row) rows.set(id, row);
    }
    return rows;
  }

  booking(bookingId: string): BookingRow | undefined {
    return this.sql.exec<BookingRow>(`SELECT * FROM bookings WHERE booking_id = ?`, bookingId).toArray()[0];
  }

  /** The booking's tickets: those it still has, or (every one moved away: transferred) those it had. */
  ticketIdsOf(bookingId: string): string[] {
    return this.ticketsOf(bookingId).map((ticket) => ticket.ticketId);
  }

  /** The booking's tickets at the prices they were held at (holds from before prices were kept: the ticket's price). */
  ticketsOf(bookingId: string): Array<{ ticketId: string; priceCents: number; seat: TicketSeat | null }> {
    return this.sql
      .exec<{ ticket_id: string; price_cents: number; seat_index: number | null; section: string | null; row_name: string | null; seat_number: number | null }>(
        `SELECT bt.ticket_id, coalesce(bt.price_cents, t.price_cents) AS price_cents, t.seat_index, t.section, t.row_name, t.seat_number
         FROM booking_tickets bt JOIN tickets t USING (ticket_id) WHERE bt.booking_id = ?
           AND (bt.released_at IS NULL OR NOT EXISTS (SELECT 1 FROM booking_tickets live WHERE live.booking_id = bt.booking_id AND live.released_at IS NULL))
         ORDER BY bt.rowid`,
        bookingId,
      )
      .toArray()
      .map((row) => ({
        ticketId: row.ticket_id,
        priceCents: row.price_cents,
        seat:
          // A standing place has no row or seat number (the place is known by its index).
          row.seat_index !== null && row.section !== null
            ? { seatIndex: row.seat_index, section: row.section, row: row.row_name, seat: row.seat_number }
            : null,
      }));
  }

  /** Live holds and purchases of the buyer at this event. */
  ticketsOwnedBy(userId: string, now: number): number {
    const held = this.sql
      .exec<{ n: number }>(`SELECT count(*) AS n FROM holds h JOIN bookings b USING (booking_id) WHERE b.user_id = ? AND h.expires_at > ?`, userId, now)
      .one().n;
    const bought = this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM tickets WHERE sold_to_user = ?`, userId).one().n;
    return held + bought;
  }

  /** Every seat is sold to this booking already, or unsold and either held by it or by no live hold. */
  seatsStillAvailableTo(bookingId: string, ticketIds: string[], now: number): boolean {
    return ticketIds.every((id) => {
      const soldTo = this.tickets([id]).get(id)?.sold_to_booking;
      if (soldTo) return soldTo === bookingId;
      const hold = this.sql.exec<{ booking_id: string; expires_at: number }>(`SELECT booking_id, expires_at FROM holds WHERE ticket_id = ?`, id).toArray()[0];
      return !hold || hold.booking_id === bookingId || hold.expires_at <= now;
    });
  }

  /** The booking as API.md shows it: a payment under way is still pending, a lapsed hold expired. */
  state(eventId: string, bookingId: string): BookingState | null {
    const row = this.booking(bookingId);
    if (!row) return null;
    const expired = (row.status === 'pending' && row.expires_at <= Date.now()) || row.status === 'expired';
    const held = this.ticketsOf(bookingId);
    return {
      bookingId,
      eventId,
      userId: row.user_id,
      // A transfer being written is still the sender's confirmed booking until it lands.
      status: expired ? 'expired' : row.status === 'paying' ? 'pending' : row.status === 'transferring' ? 'confirmed' : (row.status as BookingStatus),
      ticketIds: held.map((ticket) => ticket.ticketId),
      ticketPriceCents: held.map((ticket) => ticket.priceCents),
      ticketSeats: held.map((ticket) => ticket.seat),
      totalCents: row.total_cents,
      currency: row.currency,
      expiresAt: new Date(Math.min(row.expires_at, 8.64e15)).toISOString(),
      confirmedAt: row.confirmed_at ? new Date(row.confirmed_at).toISOString() : null,
      confirmationPending: row.write_pending === 1,
      // An organizer's refund (its money owed back until the provider gives it) is refunded too.
      refunded: row.refunded === 1 || row.status === 'refunded',
    };
  }
}
