// What the TicketLock answers, and its booking rows. Types only.
import type { BookingState } from '../../domain/booking';

export interface SeatStatusSnapshot {
  /** Grows with every change of any seat's status; part of the event view's ETag. */
  version: number;
  reserved: string[];
  booked: string[];
}

export interface HoldCounts {
  held: number;
  sold: number;
  total: number;
}

export type HoldOutcome =
  /** `seats`: for a best-available hold, the seat indexes chosen, in the booking's ticket order. */
  | { ok: true; booking: BookingState; seats?: number[] }
  /** `seats`: the seat indexes of those tickets, when the hold named seats. */
  | { ok: false; reason: 'tickets_unavailable'; ticketIds: string[]; seats?: number[] }
  | { ok: false; reason: 'unknown_tickets'; ticketIds: string[] }
  /** Seat indexes the event has no ticket at. */
  | { ok: false; reason: 'unknown_seats'; seats: number[] }
  | { ok: false; reason: 'ticket_limit'; limit: number; owned: number }
  /** The waiting room's admission was already used up by a completed or cancelled booking. */
  | { ok: false; reason: 'admission_used' }
  /** The event was cancelled: nothing is for sale. */
  | { ok: false; reason: 'event_cancelled' };

export type PaymentStart =
  /** Charge for this attempt: its id names the charge at the provider, and every report about it. */
  | { ok: true; booking: BookingState; attemptId: string }
  | { ok: false; reason: 'not_found' | 'booking_not_pending' | 'hold_expired' }
  /** The event was cancelled: the hold ended, nothing is charged. */
  | { ok: false; reason: 'event_cancelled' }
  /** Taking an ended hold again is a new hold, refused as one would be. */
  | RetakeRefusal;

export type RetakeRefusal = { ok: false; reason: 'ticket_limit'; limit: number; owned: number } | { ok: false; reason: 'admission_used' };

/**
 * A payment that came back successful: the provider that took it, its reference there, the
 * attempt it was charged for, and (from a webhook) how much it took.
 */
export interface Payment {
  provider: string;
  reference: string;
  attemptId?: string;
  amountCents?: number;
}

export type ConfirmOutcome =
  | { ok: true; booking: BookingState }
  | { ok: false; reason: 'not_found' }
  /**
   * The booking cannot have its seats (gone, the event cancelled, or taking them again is refused): it is cancelled and
   * the payment is owed back; `booking.refunded` says whether the provider has given it back yet
   * (the alarm retries until it has).
   */
  | { ok: false; reason: 'seats_gone'; booking: BookingState };

export interface BookingRow extends Record<string, SqlStorageValue> {
  booking_id: string;
  user_id: string;
  status: string;
  expires_at: number;
  total_cents: number;
  currency: string;
  confirmed_at: number | null;
  payment_provider: string | null;
  payment_reference: string | null;
  write_pending: number;
  retry_count: number;
  next_retry_at: number | null;
  refunded: number;
  /** The payment attempt under way while paying. */
  payment_attempt_id: string | null;
  /** The ticket limit the hold was taken under; null for holds taken before it was kept. */
  max_tickets_per_user: number | null;
}
