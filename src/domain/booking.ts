// What a booking is, shared by the TicketLock that decides it, the routes that show it and the
// Postgres queries that list it. A leaf module: it imports nothing of the app.

/** `transferred`: every ticket of it moved to other accounts (POST /api/bookings/:id/transfer). */
export type BookingStatus = 'pending' | 'confirmed' | 'cancelled' | 'expired' | 'transferred' | 'refunded';

export interface TicketSeat {
  seatIndex: number;
  section: string;
  /** Null for a place in a standing section. */
  row: string | null;
  seat: number | null;
}

export interface BookingState {
  bookingId: string;
  eventId: string;
  userId: string;
  status: BookingStatus;
  ticketIds: string[];
  /** What each ticket (in the order of ticketIds) costs this booking: its price when the hold was taken. */
  ticketPriceCents: number[];
  /**
   * Where each ticket (in the order of ticketIds) is, when known: its seat index and seat name. Absent,
   * or null for a ticket, where the teller did not know it (a TicketLock that has not relearnt it).
   */
  ticketSeats?: Array<TicketSeat | null>;
  totalCents: number;
  currency: string;
  expiresAt: string;
  confirmedAt: string | null;
  /** The confirmation is decided but not yet written to Postgres (it is retried by the alarm). */
  confirmationPending: boolean;
  refunded: boolean;
}

/**
 * Booking ids name their event (its uuid without dashes, then a random part), so a request
 * that only has the booking id finds the right TicketLock without asking Postgres.
 */
export function newBookingId(eventId: string): string {
  return `${eventId.replace(/-/g, '')}${crypto.randomUUID().replace(/-/g, '')}`;
}

export function eventIdOfBooking(bookingId: string): string | null {
  if (!/^[0-9a-f]{64}$/.test(bookingId)) return null;
  const hex = bookingId.slice(0, 32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
