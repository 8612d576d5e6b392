import { DurableObject } from 'cloudflare:workers';
import { settings, type Bindings } from '../env';
import { withDb } from '../db/client';
import { eventInventory, eventPrices, eventTicketPlaces } from '../db/inventory';
import { assertServesEvent, isSeatRelayOf } from './object-name';
import { createTicketLockSchema } from './ticket-lock/schema';
import { IdempotencyStore, type IdempotencyClaim } from './ticket-lock/idempotency-store';
import { RefundLedger, type OwedRefund } from './ticket-lock/refund-ledger';
import { PaymentAttempts, type AttemptRef } from './ticket-lock/payment-attempts';
import { Admissions } from './ticket-lock/admissions';
import { BookingRows, holdIsLive } from './ticket-lock/booking-rows';
import { ConfirmationWrites } from './ticket-lock/confirmation-writes';
import { paymentProviderFor } from '../payments';
import { SeatRelays, createSeatRelaySchema, type RelaySync } from './ticket-lock/seat-relays';
import { RELAYS_PER_EVENT } from './SeatRelay';
import { SeatLog } from './ticket-lock/seat-log';
import { SeatPlaces } from './ticket-lock/seat-places';
import { AvailabilityMap, type PackedStatuses } from './ticket-lock/availability';
import { BestAvailable, type BestRequest } from './ticket-lock/best-available';
import { OrganizerRefunds } from './ticket-lock/organizer-refunds';
import { markEventRefundsOwed, refundBookingInPostgres } from '../db/refunds';
import { updateEvent } from '../db/organizer';
import { Waitlist, createWaitlistSchema, type WaitlistEntryState } from './ticket-lock/waitlist';
import { WaitlistOffers, type WaitlistJoin, type WaitlistJoinOutcome } from './ticket-lock/waitlist-offers';
import { newBookingId, type BookingState } from '../domain/booking';
import { TicketTransfers, type TransferOutcome } from './ticket-lock/transfers';
import { deliverNotificationsSoon } from '../notifications/deliver';
import type { BookingRow, ConfirmOutcome, HoldCounts, HoldOutcome, Payment, PaymentStart, RetakeRefusal, SeatStatusSnapshot } from './ticket-lock/types';

export { eventIdOfBooking, newBookingId, type BookingState, type BookingStatus } from '../domain/booking';
export type { IdempotencyClaim } from './ticket-lock/idempotency-store';
export type { TransferOutcome } from './ticket-lock/transfers';
export type { ConfirmOutcome, HoldCounts, HoldOutcome, Payment, PaymentStart, SeatStatusSnapshot } from './ticket-lock/types';

/** Bookings paid for (their tickets moving to another account, or moved): never pending again. */
const SETTLED = new Set(['confirmed', 'transferring', 'transferred', 'refunded']);
/** How long a hold is kept beyond its expiry while its payment is being taken. */
const PAYMENT_GRACE_MS = 2 * 60 * 1000;
/** How long seats wait for a payment the provider reported as processing. */
const PROCESSING_HOLD_MS = 30 * 60 * 1000;

/**
 * One per event (reached with `getByName(eventId)`): the single place that decides who holds
 * which seat. Holds live only here, in SQLite; sales are written to Postgres, which guards them
 * again on its own. A hold counts while `expires_at` is in the future, whether or not the alarm
 * has tidied it yet. Every check and the writes it allows run with no `await` between them.
 */
export class TicketLock extends DurableObject<Bindings> {
  private readonly sql: SqlStorage;
  private readonly idempotencyKeys: IdempotencyStore;
  private readonly refunds: RefundLedger;
  private readonly attempts: PaymentAttempts;
  private readonly admissions: Admissions;
  private readonly rows: BookingRows;
  private loading: Promise<void> | null = null;
  private relearning: Promise<void> | null = null;
  private readonly places: SeatPlaces;
  /** Every seat's status, 2 bits a seat, kept in memory (GET …/availability and compact streams). */
  private readonly availability: AvailabilityMap;
  /** Best available's rows and free counts, kept current with the availability array. */
  private readonly bestAvailable: BestAvailable;
  private readonly writes: ConfirmationWrites;
  private readonly seatLog: SeatLog;
  /** The seat-stream relays subscribed to this event's changes (src/durable/SeatRelay.ts): watchers are theirs, not this object's. */
  private readonly relays: SeatRelays;
  /** The organizer's refunds: a cancelled event's, and single bookings' (ticket-lock/organizer-refunds.ts). */
  private readonly organizerRefunds: OrganizerRefunds;
  private readonly transfers: TicketTransfers;
  private readonly waitlist: Waitlist;
  private readonly offers: WaitlistOffers;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.idempotencyKeys = new IdempotencyStore(this.sql);
    this.refunds = new RefundLedger(this.sql);
    this.attempts = new PaymentAttempts(this.sql);
    this.admissions = new Admissions(this.sql);
    this.rows = new BookingRows(this.sql);
    this.places = new SeatPlaces(this.sql);
    this.bestAvailable = new BestAvailable(this.sql);
    this.availability = new AvailabilityMap(this.sql, this.bestAvailable);
    this.seatLog = new SeatLog(
      this.sql,
      (seatIndex, status) => {
        this.availability.set(seatIndex, status);
        this.relays.changed();
      },
      () => this.relays.restarted(),
    );
    this.relays = new SeatRelays(this.sql, this.seatLog, (name) => env.SEAT_RELAY.getByName(name));
    this.writes = new ConfirmationWrites({
      sql: this.sql,
      env,
      rows: this.rows,
      seatLog: this.seatLog,
      armAlarm: () => this.armAlarm(),
      oweRefund: (bookingId, payment, amountCents, now) => this.oweRefund(bookingId, payment, amountCents, 'seats_unavailable', now),
      afterWrite: () => ctx.waitUntil(deliverNotificationsSoon(env)),
    });
    this.organizerRefunds = new OrganizerRefunds({
      sql: this.sql,
      env,
      seatLog: this.seatLog,
      armAlarm: () => this.armAlarm(),
      cancelled: () => this.eventCancelled(),
      learnCancelled: (now) => this.learnEventStatus('cancelled', now),
      seatsReturned: (now) => this.seatsReturned(now),
    });
    this.transfers = new TicketTransfers({ sql: this.sql, env, rows: this.rows, afterWrite: () => ctx.waitUntil(deliverNotificationsSoon(env)) });
    this.waitlist = new Waitlist(this.sql);
    this.offers = new WaitlistOffers({
      ctx,
      env,
      waitlist: this.waitlist,
      rows: this.rows,
      places: this.places,
      freePlaces: (request, now) => (this.places.learnt() ? this.bestAvailable.choose(this.availability.codes(now), request) : null),
      writeHold: (hold) => this.writeHold(hold),
      eventId: () => this.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'event_id'`).toArray()[0]?.value ?? null,
      cancelled: () => this.eventCancelled(),
      armAlarm: () => this.armAlarm(),
    });
    ctx.blockConcurrencyWhile(async () => {
      createTicketLockSchema(this.sql);
      createSeatRelaySchema(this.sql);
      createWaitlistSchema(this.sql);
    });
  }

  /** What the event view overlays on its cached seat layout. */
  async seatStatus(eventId: string): Promise<SeatStatusSnapshot> {
    await this.ensureLoaded(eventId);
    const reserved = this.sql
      .exec<{ ticket_id: string }>(`SELECT ticket_id FROM holds WHERE expires_at > ?`, Date.now())
      .toArray()
      .map((row) => row.ticket_id);
    const booked = this.sql
      .exec<{ ticket_id: string }>(`SELECT ticket_id FROM tickets WHERE sold_to_booking IS NOT NULL`)
      .toArray()
      .map((row) => row.ticket_id);
    return { version: this.seatLog.version(), reserved, booked };
  }

  async holdCounts(eventId: string): Promise<HoldCounts> {
    await this.ensureLoaded(eventId);
    const held = this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM holds WHERE expires_at > ?`, Date.now()).one().n;
    const sold = this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM tickets WHERE sold_to_booking IS NOT NULL`).one().n;
    const total = this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM tickets`).one().n;
    return { held, sold, total };
  }

  /**
   * Every seat's status, packed (API.md, availability). Holds that ran out end first, as the alarm
   * ends them, so the array and the seat log agree; then the work is the encoding, once per version.
   */
  async seatAvailability(eventId: string): Promise<PackedStatuses & { version: number; epoch: string }> {
    await this.ensurePlaces(eventId);
    this.expireDueHolds(Date.now());
    return { version: this.seatLog.version(), epoch: this.seatLog.epoch(), ...this.availability.read(Date.now()) };
  }

  /**
   * All or nothing: every ticket is held for this user until the returned expiry, or none is.
   * Tickets are named by id, or by seat index (`seats`, mapped here, where the index is known), or
   * chosen here (`best`, API.md's best available: see ticket-lock/best-available.ts) and then held
   * as seats named by index are, with no await between the choice and the hold.
   */
  async holdSeats(input: {
    eventId: string;
    userId: string;
    ticketIds?: string[];
    seats?: number[];
    best?: BestRequest;
    ttlSeconds: number;
    maxTicketsPerUser: number;
    /** The waiting room's admission the request carried, when the event's queue is on. */
    admissionId?: string;
  }): Promise<HoldOutcome> {
    await this.ensureLoaded(input.eventId);
    if (input.seats || input.best) await this.ensurePlaces(input.eventId);
    // No await from here on. Holds that ran out end first: their places go to the waiting list before anyone else.
    this.expireDueHolds(Date.now());
    let ticketIds = input.ticketIds ?? [];
    let seats = input.seats;
    if (input.best) {
      seats = this.chooseBest(input.best, Date.now()) ?? undefined;
      if (!seats) return { ok: false, reason: 'tickets_unavailable', ticketIds: [] };
    }
    if (seats) {
      const found = this.places.ticketIdsAt(seats);
      if (found.unknown.length) return { ok: false, reason: 'unknown_seats', seats: found.unknown };
      ticketIds = found.ticketIds;
    }
    const now = Date.now();
    const known = this.rows.tickets(ticketIds);
    const unknown = ticketIds.filter((id) => !known.has(id));
    if (unknown.length) return { ok: false, reason: 'unknown_tickets', ticketIds: unknown };
    if (this.eventCancelled()) return { ok: false, reason: 'event_cancelled' };
    if (input.admissionId && this.admissions.isEnded(input.admissionId)) {
      return { ok: false, reason: 'admission_used' };
    }

    const taken = ticketIds.filter((id) => {
      if (known.get(id)!.sold_to_booking) return true;
      return this.sql.exec(`SELECT 1 FROM holds WHERE ticket_id = ? AND expires_at > ?`, id, now).toArray().length > 0;
    });
    if (taken.length) {
      const takenSeats = seats && seats.filter((_, i) => taken.includes(ticketIds[i]!));
      return { ok: false, reason: 'tickets_unavailable', ticketIds: taken, ...(takenSeats ? { seats: takenSeats } : {}) };
    }

    const owned = this.rows.ticketsOwnedBy(input.userId, now);
    if (owned + ticketIds.length > input.maxTicketsPerUser) {
      return { ok: false, reason: 'ticket_limit', limit: input.maxTicketsPerUser, owned };
    }

    const bookingId = this.writeHold({ eventId: input.eventId, userId: input.userId, ticketIds, expiresAt: now + input.ttlSeconds * 1000, maxTicketsPerUser: input.maxTicketsPerUser, admissionId: input.admissionId, now });
    return { ok: true, booking: this.rows.state(input.eventId, bookingId)!, ...(input.best ? { seats } : {}) };
  }

  /** Writes a pending booking holding these tickets (checked free by the caller, in the same turn). */
  private writeHold(hold: { eventId: string; userId: string; ticketIds: string[]; expiresAt: number; maxTicketsPerUser: number; admissionId?: string; now: number }): string {
    const { ticketIds, now } = hold;
    const known = this.rows.tickets(ticketIds);
    const bookingId = newBookingId(hold.eventId);
    const totalCents = ticketIds.reduce((sum, id) => sum + Number(known.get(id)!.price_cents), 0);
    const currency = String(known.get(ticketIds[0]!)!.currency);
    this.sql.exec(
      `INSERT INTO bookings (booking_id, user_id, status, expires_at, total_cents, currency, created_at, max_tickets_per_user) VALUES (?, ?, 'pending', ?, ?, ?, ?, ?)`,
      bookingId, hold.userId, hold.expiresAt, totalCents, currency, now, hold.maxTicketsPerUser,
    );
    if (hold.admissionId) this.admissions.record(hold.admissionId, hold.userId, bookingId);
    for (const ticketId of ticketIds) {
      this.sql.exec(`INSERT INTO booking_tickets (booking_id, ticket_id, price_cents) VALUES (?, ?, ?)`, bookingId, ticketId, known.get(ticketId)!.price_cents);
      // An expired hold on this seat is simply replaced.
      this.sql.exec(`INSERT OR REPLACE INTO holds (ticket_id, booking_id, expires_at) VALUES (?, ?, ?)`, ticketId, bookingId, hold.expiresAt);
      this.seatLog.record(ticketId, 'reserved', now);
    }
    this.armAlarm();
    return bookingId;
  }

  /** Joins the waiting list (API.md): refused while places that fit can be held now. */
  async joinWaitlist(eventId: string, join: WaitlistJoin): Promise<WaitlistJoinOutcome> {
    await this.ensurePlaces(eventId);
    this.expireDueHolds(Date.now());
    return this.offers.join(join, Date.now());
  }

  /** Leaves the waiting list; an offer held for the person is let go (and passes to the next). */
  async leaveWaitlist(eventId: string, userId: string): Promise<boolean> {
    await this.ensureLoaded(eventId);
    const entry = this.waitlist.activeEntryOf(userId);
    if (!entry) return false;
    this.waitlist.leave(entry.entry_id);
    if (entry.offer_booking_id && this.rows.booking(entry.offer_booking_id)?.status === 'pending') this.endHold(entry.offer_booking_id, 'cancelled', Date.now());
    return true;
  }

  /** The entries named (a user's, listed by GET /api/me/waitlist); ids this event does not know are left out. */
  async waitlistEntries(eventId: string, userId: string, entryIds: string[]): Promise<WaitlistEntryState[]> {
    await this.ensureLoaded(eventId);
    this.expireDueHolds(Date.now());
    return entryIds.flatMap((id) => {
      const row = this.waitlist.entry(id);
      return row && row.user_id === userId ? [this.waitlist.state(row)] : [];
    });
  }

  /**
   * Best available's seat indexes, or null when nothing fits. Holds that ran out end first (as the
   * alarm ends them), so the availability array it reads is the truth now.
   */
  private chooseBest(request: BestRequest, now: number): number[] | null {
    this.expireDueHolds(now);
    return this.bestAvailable.choose(this.availability.codes(now), request);
  }

  async getBooking(eventId: string, bookingId: string): Promise<BookingState | null> {
    await this.ensureLoaded(eventId);
    return this.rows.state(eventId, bookingId);
  }

  /** Frees a pending booking's seats at once. */
  async releaseHold(eventId: string, bookingId: string): Promise<{ ok: true } | { ok: false; reason: 'not_found' | 'booking_not_pending' }> {
    await this.ensureLoaded(eventId);
    const booking = this.rows.booking(bookingId);
    if (!booking) return { ok: false, reason: 'not_found' };
    if (booking.status === 'paying' || SETTLED.has(booking.status)) return { ok: false, reason: 'booking_not_pending' };
    if (booking.status === 'pending') {
      this.endHold(bookingId, 'cancelled', Date.now());
      await this.tellWaitingRoom(eventId, bookingId);
    }
    return { ok: true };
  }

  /**
   * Before charging: re-checks the hold and keeps it for the length of the payment. A hold that
   * ran out is taken again when all its seats are still free.
   */
  async beginPayment(eventId: string, bookingId: string): Promise<PaymentStart> {
    await this.ensureLoaded(eventId);
    const now = Date.now();
    const booking = this.rows.booking(bookingId);
    if (!booking) return { ok: false, reason: 'not_found' };
    if (booking.status === 'paying' || SETTLED.has(booking.status) || booking.status === 'cancelled') {
      return { ok: false, reason: 'booking_not_pending' };
    }
    if (this.eventCancelled()) {
      this.endHold(bookingId, 'cancelled', now);
      return { ok: false, reason: 'event_cancelled' };
    }
    const ticketIds = this.rows.ticketIdsOf(bookingId);
    if (!this.rows.seatsStillAvailableTo(bookingId, ticketIds, now)) {
      if (booking.status === 'pending') this.endHold(bookingId, 'expired', now);
      return { ok: false, reason: 'hold_expired' };
    }
    const refused = holdIsLive(booking, now) ? null : this.retakeRefusal(booking, ticketIds.length, now);
    if (refused) return refused;
    const holdExpiresAt = Math.max(booking.expires_at, now);
    const expiresAt = holdExpiresAt + PAYMENT_GRACE_MS;
    const attemptId = this.attempts.begin(bookingId, holdExpiresAt, now);
    this.sql.exec(`UPDATE bookings SET status = 'paying', expires_at = ? WHERE booking_id = ?`, expiresAt, bookingId);
    for (const ticketId of ticketIds) {
      this.sql.exec(`INSERT OR REPLACE INTO holds (ticket_id, booking_id, expires_at) VALUES (?, ?, ?)`, ticketId, bookingId, expiresAt);
      if (booking.status === 'expired') this.seatLog.record(ticketId, 'reserved', now);
    }
    this.armAlarm();
    return { ok: true, booking: this.rows.state(eventId, bookingId)!, attemptId };
  }

  /**
   * The payment provider is still processing the charge: the seats stay held for as long as a
   * processing payment may take, and the webhook settles it (confirm or paymentFailed).
   */
  async holdWhileProcessing(eventId: string, bookingId: string, attempt?: AttemptRef): Promise<BookingState> {
    await this.ensureLoaded(eventId);
    this.attempts.record(bookingId, attempt);
    const booking = this.rows.booking(bookingId);
    if (booking?.status === 'paying' && this.attempts.isCurrent(booking.payment_attempt_id, attempt)) {
      const expiresAt = Math.max(booking.expires_at, Date.now() + PROCESSING_HOLD_MS);
      this.sql.exec(`UPDATE bookings SET expires_at = ? WHERE booking_id = ?`, expiresAt, bookingId);
      this.sql.exec(`UPDATE holds SET expires_at = ? WHERE booking_id = ?`, expiresAt, bookingId);
      this.armAlarm();
    }
    return this.rows.state(eventId, bookingId)!;
  }

  /**
   * The card was declined: the hold goes back to what it was, so another card can be tried. Only
   * the attempt under way can fail the payment: a late report of an earlier attempt changes nothing.
   */
  async paymentFailed(eventId: string, bookingId: string, releaseSeats: boolean, attempt?: AttemptRef): Promise<void> {
    await this.ensureLoaded(eventId);
    this.attempts.record(bookingId, attempt);
    const booking = this.rows.booking(bookingId);
    if (!booking || booking.status !== 'paying' || !this.attempts.isCurrent(booking.payment_attempt_id, attempt)) return;
    const now = Date.now();
    this.attempts.end(bookingId);
    if (releaseSeats || this.eventCancelled()) {
      this.endHold(bookingId, 'cancelled', now);
      return;
    }
    const expiresAt = Math.max(now, this.attempts.holdExpiresAt(bookingId, booking.payment_attempt_id) ?? booking.expires_at);
    this.sql.exec(`UPDATE bookings SET status = 'pending', expires_at = ? WHERE booking_id = ?`, expiresAt, bookingId);
    this.sql.exec(`UPDATE holds SET expires_at = ? WHERE booking_id = ?`, expiresAt, bookingId);
    this.armAlarm();
  }

  /**
   * The payment succeeded: records the decision here first (so it survives a Postgres outage),
   * then writes the sale to Postgres in one transaction. Safe to call again for the same booking.
   */
  async confirm(eventId: string, bookingId: string, payment: Payment): Promise<ConfirmOutcome> {
    await this.ensureLoaded(eventId);
    const booking = this.rows.booking(bookingId);
    if (!booking) return { ok: false, reason: 'not_found' };
    this.attempts.record(bookingId, payment);
    const now = Date.now();
    if (SETTLED.has(booking.status)) {
      // Paid for already: by this payment (a replay), or by another one, which is then given back.
      if (booking.payment_reference !== null && booking.payment_reference !== payment.reference) {
        this.oweRefund(bookingId, payment, payment.amountCents ?? booking.total_cents, 'already_paid', now);
        await this.payRefund(payment.reference);
      }
      return { ok: true, booking: this.rows.state(eventId, bookingId)! };
    }
    const ticketIds = this.rows.ticketIdsOf(bookingId);
    // Once a booking's money went back (or is owed back), no later charge of it may take seats:
    // that charge is refunded too. A payment that lands after its hold ended (a late webhook) takes
    // the seats again only as a new hold could; otherwise the money goes back.
    const refused =
      this.eventCancelled() ||
      (booking.status === 'cancelled' && this.refunds.hasRefundFor(bookingId)) ||
      !this.rows.seatsStillAvailableTo(bookingId, ticketIds, now) ||
      (!holdIsLive(booking, now) && this.retakeRefusal(booking, ticketIds.length, now));
    if (refused) {
      if (booking.status === 'pending' || booking.status === 'paying') this.endHold(bookingId, 'cancelled', now);
      else this.sql.exec(`UPDATE bookings SET status = 'cancelled' WHERE booking_id = ?`, bookingId);
      this.oweRefund(bookingId, payment, payment.amountCents ?? booking.total_cents, 'seats_unavailable', now);
      await this.payRefund(payment.reference);
      return { ok: false, reason: 'seats_gone', booking: this.rows.state(eventId, bookingId)! };
    }
    for (const ticketId of ticketIds) {
      this.sql.exec(`INSERT OR REPLACE INTO holds (ticket_id, booking_id, expires_at) VALUES (?, ?, ?)`, ticketId, bookingId, Number.MAX_SAFE_INTEGER);
      if (booking.status === 'expired' || booking.status === 'cancelled') this.seatLog.record(ticketId, 'reserved', now);
    }
    this.sql.exec(
      `UPDATE bookings SET status = 'confirmed', confirmed_at = ?, payment_provider = ?, payment_reference = ?, payment_attempt_id = NULL, write_pending = 1, next_retry_at = ? WHERE booking_id = ?`,
      now, payment.provider, payment.reference, now, bookingId,
    );
    this.waitlist.offerAccepted(bookingId);
    // Arms the alarm for the write's lease before anything is awaited.
    const outcome = await this.writes.write(eventId, bookingId);
    if (outcome === 'written') await this.tellWaitingRoom(eventId, bookingId);
    if (outcome === 'seats_gone') {
      await this.payRefund(payment.reference);
      return { ok: false, reason: 'seats_gone', booking: this.rows.state(eventId, bookingId)! };
    }
    return { ok: true, booking: this.rows.state(eventId, bookingId)! };
  }

  /** Moves tickets of a confirmed booking to another account as a new booking of theirs (ticket-lock/transfers.ts). */
  async transferTickets(input: { eventId: string; bookingId: string; userId: string; toUserId: string; ticketIds?: string[] }): Promise<TransferOutcome> {
    await this.ensureLoaded(input.eventId);
    return this.transfers.transfer(input);
  }

  /**
   * After an organizer changed the event's prices or status. Holds taken from now on use the new
   * prices (holds already taken keep the prices they were taken at); a cancelled event takes no
   * holds and no payments, and its pending holds end.
   */
  async refreshEvent(eventId: string): Promise<void> {
    const loaded = this.sql.exec(`SELECT 1 FROM meta WHERE key = 'loaded_from_postgres'`).toArray().length > 0;
    if (!loaded) return;
    const current = await withDb(this.env, (db) => eventPrices(db, eventId));
    for (const row of current.tickets) {
      this.sql.exec(`UPDATE tickets SET price_cents = ?, currency = ? WHERE ticket_id = ? AND sold_to_booking IS NULL`, row.priceCents, row.currency, row.id);
    }
    // Best available ranks sections by price.
    this.bestAvailable.invalidated();
    this.learnEventStatus(current.status, Date.now());
  }

  /** What refreshEvent was called before the event's status counted too. */
  async refreshTicketPrices(eventId: string): Promise<void> {
    await this.refreshEvent(eventId);
  }

  /**
   * POST /api/admin/events/:id/cancel. Before anything is awaited a sweep is set for a little
   * later, so the alarm pays the refunds even if this call's answer is lost; then Postgres cancels
   * the event and owes every booking's money, and the sweep is due at once
   * (ticket-lock/organizer-refunds.ts pays it back in batches).
   * Null: Postgres has no such event.
   */
  async cancelEvent(eventId: string): Promise<{ event: NonNullable<Awaited<ReturnType<typeof updateEvent>>>; refunds: { bookings: number; amountCents: number } } | null> {
    await this.ensureLoaded(eventId);
    this.organizerRefunds.scheduleSafetyNet(Date.now());
    const cancelled = await withDb(this.env, async (db) => {
      const event = await updateEvent(db, eventId, { status: 'cancelled' });
      return event && { event, refunds: await markEventRefundsOwed(db, eventId) };
    });
    if (!cancelled) return null;
    // No await from here on: holds end, and every sale shows as refunded.
    this.learnEventStatus('cancelled', Date.now());
    this.organizerRefunds.applyCancellation();
    this.organizerRefunds.schedule(Date.now());
    return cancelled;
  }

  /**
   * POST /api/admin/bookings/:id/refund: Postgres decides (a conditional update), then this object
   * shows the booking refunded and, with releaseSeats, its seats on sale again. The sweep is set
   * before the await and made due after it, as in cancelEvent.
   */
  async refundBooking(eventId: string, bookingId: string, releaseSeats: boolean): Promise<{ ok: true; booking: BookingState } | { ok: false; reason: 'not_found' | 'booking_not_pending' | 'confirmation_pending' }> {
    await this.ensureLoaded(eventId);
    const row = this.rows.booking(bookingId);
    if (!row) return { ok: false, reason: 'not_found' };
    if (row.status !== 'confirmed') return { ok: false, reason: 'booking_not_pending' };
    if (row.write_pending === 1) return { ok: false, reason: 'confirmation_pending' };
    this.organizerRefunds.scheduleSafetyNet(Date.now());
    const outcome = await withDb(this.env, (db) => refundBookingInPostgres(db, { bookingId, releaseSeats }));
    if (outcome.status === 'not_found') return { ok: false, reason: 'not_found' };
    if (outcome.status === 'not_confirmed') return { ok: false, reason: 'booking_not_pending' };
    this.organizerRefunds.applyRefund(bookingId, { ticketIds: outcome.releasedTicketIds }, Date.now());
    this.organizerRefunds.schedule(Date.now());
    return { ok: true, booking: this.rows.state(eventId, bookingId)! };
  }

  /** Seats an organizer's refund put back on sale go to the waiting list first, like any that come free. */
  private seatsReturned(now: number): void {
    this.offers.offerFreedPlaces(now);
  }

  /** The refund of a booking whose seats were gone went through (for callers that refund by themselves; confirm refunds on its own). */
  async markRefunded(eventId: string, bookingId: string): Promise<void> {
    await this.ensureLoaded(eventId);
    this.sql.exec(`UPDATE bookings SET refunded = 1 WHERE booking_id = ?`, bookingId);
  }

  /**
   * Claims an Idempotency-Key for a request (by its fingerprint): the first claim runs the
   * request, a retry gets the stored answer, and a different request under the same key is refused.
   */
  async claimIdempotencyKey(key: string, fingerprint: string): Promise<IdempotencyClaim> {
    const claim = this.idempotencyKeys.claim(key, fingerprint, Date.now());
    if (claim.state === 'new') this.armAlarm();
    return claim;
  }

  /** Stores the answer to replay, or forgets the claim so the request may be tried again. */
  async settleIdempotencyKey(key: string, answer: { status: number; body: string } | null, claim?: string): Promise<void> {
    this.idempotencyKeys.settle(key, answer, claim);
  }

  /**
   * A seat-stream relay subscribes (or renews, or catches up): recorded here and answered with what
   * it missed since `since`, or with a snapshot, with no await between the two, so the next batch
   * published follows on from what it was given.
   */
  async syncSeatRelay(eventId: string, relay: string, subscription: string, since: { epoch: string; version: number } | null): Promise<RelaySync> {
    // Seat indexes are what relays keep statuses by.
    await this.ensurePlaces(eventId);
    if (!isSeatRelayOf(relay, eventId, RELAYS_PER_EVENT)) throw new Error(`${JSON.stringify(relay)} is not a seat relay of event ${eventId}`);
    const now = Date.now();
    this.relays.register(relay, subscription, now);
    const missed = since && since.epoch === this.seatLog.epoch() ? this.seatLog.changesAfter(since.version) : null;
    if (missed) return { kind: 'changes', epoch: since!.epoch, version: this.seatLog.version(), changes: missed };
    // The snapshot is the availability array: holds due end first (see seatAvailability).
    this.expireDueHolds(now);
    return this.relays.snapshot(this.availability.read(now));
  }

  /** A relay with no watchers left. */
  async forgetSeatRelay(eventId: string, relay: string, subscription: string): Promise<void> {
    assertServesEvent(this.ctx, eventId, 'TicketLock');
    this.relays.forget(relay, subscription);
  }

  /** Expires holds whose time is up and retries confirmations Postgres has not taken yet. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    this.idempotencyKeys.trimExpired(now);
    const eventId = this.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'event_id'`).toArray()[0]?.value;
    if (!eventId) {
      this.armAlarm();
      return;
    }
    this.expireDueHolds(now);

    for (const booking_id of this.writes.due(now)) {
      const outcome = await this.writes.write(eventId, booking_id);
      if (outcome === 'written') await this.tellWaitingRoom(eventId, booking_id);
    }
    for (const reference of this.refunds.due(Date.now())) await this.payRefund(reference);
    await this.organizerRefunds.runIfDue(eventId, Date.now());
    await this.offers.writeNotices(Date.now());
    this.armAlarm();
  }

  /**
   * A booking was paid or cancelled. The admission it was made with ends once none of its
   * bookings is still open, and the event's WaitingRoom stops counting that shopper as active; the
   * room also tells everyone waiting when the last seat is sold. Telling it is best effort: its own
   * tick reads the inventory, and admissions expire by themselves.
   */
  private async tellWaitingRoom(eventId: string, bookingId: string): Promise<void> {
    const ended = this.admissions.endIfDone(bookingId, Date.now());
    const unsold = this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM tickets WHERE sold_to_booking IS NULL`).one().n;
    if (!ended && unsold > 0) return;
    try {
      const room = this.env.WAITING_ROOM.getByName(eventId);
      if (ended) await room.shopperFinished(ended.userId, ended.admissionId);
      if (unsold === 0) await room.soldOut();
    } catch (error) {
      console.warn(`waiting room of ${eventId} not told about booking ${bookingId}`, error);
    }
  }

  /** Ends the holds whose time is up (by the partial index of open bookings: usually none to read). */
  private expireDueHolds(now: number): void {
    const expired = this.sql
      .exec<{ booking_id: string }>(`SELECT booking_id FROM bookings WHERE status IN ('pending', 'paying') AND expires_at <= ?`, now)
      .toArray();
    for (const booking of expired) this.endHold(booking.booking_id, 'expired', now);
  }

  private endHold(bookingId: string, status: 'cancelled' | 'expired', now: number): void {
    const released = this.sql.exec<{ ticket_id: string }>(`SELECT ticket_id FROM holds WHERE booking_id = ?`, bookingId).toArray();
    this.sql.exec(`DELETE FROM holds WHERE booking_id = ?`, bookingId);
    this.sql.exec(`UPDATE bookings SET status = ? WHERE booking_id = ?`, status, bookingId);
    for (const { ticket_id } of released) this.seatLog.record(ticket_id, 'available', now);
    this.waitlist.offerEnded(bookingId, status === 'expired' ? 'expired' : 'left');
    // Places that come free go to the waiting list first, in the same turn, before anyone else can hold them.
    if (released.length) this.offers.offerFreedPlaces(now);
  }

  /**
   * A payment owed back, recorded in the same step as the decision that makes it due (the alarm
   * pays it if this instance does not get to).
   */
  private oweRefund(bookingId: string, payment: Payment, amountCents: number, reason: OwedRefund['reason'], now: number): void {
    this.refunds.owe({ reference: payment.reference, bookingId, provider: payment.provider, amountCents, reason }, now);
    this.armAlarm();
  }

  /** Asks the payment provider for an owed refund; one that fails stays owed for the alarm. */
  private async payRefund(reference: string): Promise<void> {
    const paid = await this.refunds.pay(reference, async (refund) => {
      const provider = paymentProviderFor(this.env);
      if (provider.name !== refund.provider) throw new Error(`${refund.reference} was paid through ${refund.provider}, but this server pays through ${provider.name}`);
      await provider.refund(refund.reference, refund.amountCents);
    });
    // A cancelled booking whose money went back says so; a second payment given back for a booking
    // another payment bought leaves that booking as it is.
    if (paid) this.sql.exec(`UPDATE bookings SET refunded = 1 WHERE booking_id = ? AND status = 'cancelled'`, paid.refunded);
    this.armAlarm();
  }

  /** One alarm, set to the next deadline: a hold's expiry, a confirmation's retry, a refund's retry, or a trim of expired keys. */
  private armAlarm(): void {
    const bookingsDue = this.sql
      .exec<{ at: number | null }>(
        `SELECT min(at) AS at FROM (
           SELECT min(expires_at) AS at FROM bookings WHERE status IN ('pending', 'paying')
           UNION ALL SELECT min(next_retry_at) FROM bookings WHERE write_pending = 1)`,
      )
      .one().at;
    const deadlines = [bookingsDue, this.refunds.nextAttemptAt(), this.idempotencyKeys.nextTrimAt(), this.waitlist.nextNoticeAt()].filter((at): at is number => at !== null);
    const refundSweepAt = this.organizerRefunds.nextAt();
    if (refundSweepAt !== null) deadlines.push(refundSweepAt);
    if (deadlines.length === 0) void this.ctx.storage.deleteAlarm();
    else void this.ctx.storage.setAlarm(Math.min(...deadlines));
  }

  /** The event as Postgres last told: a cancelled event ends the holds waiting for payment. */
  private learnEventStatus(status: string | null, now: number): void {
    this.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('event_status', ?)`, status ?? 'unknown');
    if (status !== 'cancelled') return;
    this.waitlist.closeAll();
    const pending = this.sql.exec<{ booking_id: string }>(`SELECT booking_id FROM bookings WHERE status = 'pending'`).toArray();
    for (const { booking_id } of pending) this.endHold(booking_id, 'cancelled', now);
    this.armAlarm();
  }

  private eventCancelled(): boolean {
    return this.sql.exec(`SELECT 1 FROM meta WHERE key = 'event_status' AND value = 'cancelled'`).toArray().length > 0;
  }

  /**
   * Taking the seats of a hold that ended is a new hold: the same ticket limit (the buyer's other
   * live holds and purchases count) and the same admission check as holdSeats.
   */
  private retakeRefusal(booking: BookingRow, ticketCount: number, now: number): RetakeRefusal | null {
    if (this.admissions.endedFor(booking.booking_id)) return { ok: false, reason: 'admission_used' };
    const limit = booking.max_tickets_per_user ?? settings(this.env).maxTicketsPerUser;
    const owned = this.rows.ticketsOwnedBy(booking.user_id, now);
    return owned + ticketCount > limit ? { ok: false, reason: 'ticket_limit', limit, owned } : null;
  }

  /**
   * Learns the event's tickets, prices and sales from Postgres the first time this object runs
   * (or after its storage was lost). Outside `blockConcurrencyWhile` on purpose: callers that
   * arrive during the load wait for the same promise instead of the object stalling on outside I/O.
   */
  private ensureLoaded(eventId: string): Promise<void> {
    assertServesEvent(this.ctx, eventId, 'TicketLock');
    const loaded = this.sql.exec(`SELECT 1 FROM meta WHERE key = 'loaded_from_postgres'`).toArray().length > 0;
    if (loaded) return Promise.resolve();
    this.loading ??= this.loadTickets(eventId).finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  private async loadTickets(eventId: string): Promise<void> {
    const inventory = await withDb(this.env, (db) => eventInventory(db, eventId));
    // No await from here on: the rows and the flag commit together.
    this.learnEventStatus(inventory.status, Date.now());
    for (const ticket of inventory.tickets) {
      this.sql.exec(
        `INSERT OR REPLACE INTO tickets (ticket_id, price_cents, currency, sold_to_booking, sold_to_user, seat_index, section, row_name, seat_number) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ticket.id, ticket.priceCents, ticket.currency, ticket.bookingId, ticket.userId, ticket.seatIndex, ticket.section, ticket.row, ticket.seat,
      );
    }
    this.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('event_id', ?), ('loaded_from_postgres', '1')`, eventId);
    this.places.markLearnt();
    this.availability.reset();
    // The seat stream's old change log means nothing now.
    this.seatLog.restart();
  }

  /**
   * The tickets' seat indexes and names, for objects loaded before they were kept: read from
   * Postgres once and written over the tickets this object has. Other requests run during the
   * read (holds, sales); the flag is checked again after it, and the writes, the flag and the
   * reset of what was built on the old places follow with no await between.
   */
  private async ensurePlaces(eventId: string): Promise<void> {
    await this.ensureLoaded(eventId);
    if (this.places.learnt()) return;
    this.relearning ??= (async () => {
      const places = await withDb(this.env, (db) => eventTicketPlaces(db, eventId));
      if (this.places.learnt()) return;
      this.places.relearn(places);
      this.availability.reset();
      // Changes logged so far carry no seat index: compact streams start from a snapshot.
      this.seatLog.restart();
    })().finally(() => {
      this.relearning = null;
    });
    return this.relearning;
  }
}

