import { DurableObject } from 'cloudflare:workers';
import type { Bindings } from '../env';
import { withDb } from '../db/client';
import { assertServesEvent, isSeatRelayOf } from './object-name';
import { createTicketLockSchema } from './ticket-lock/schema';
import { IdempotencyStore, type IdempotencyClaim } from './ticket-lock/idempotency-store';
import { RefundLedger } from './ticket-lock/refund-ledger';
import { PaymentAttempts, type AttemptRef } from './ticket-lock/payment-attempts';
import { Admissions } from './ticket-lock/admissions';
import { BookingRows } from './ticket-lock/booking-rows';
import { ConfirmationWrites } from './ticket-lock/confirmation-writes';
import { Payments, SETTLED } from './ticket-lock/payments';
import { EventLoad } from './ticket-lock/event-load';
import { Holds, type HoldRequest } from './ticket-lock/holds';
import { SeatRelays, createSeatRelaySchema, type RelaySync } from './ticket-lock/seat-relays';
import { RELAYS_PER_EVENT } from './SeatRelay';
import { SeatLog } from './ticket-lock/seat-log';
import { SeatPlaces } from './ticket-lock/seat-places';
import { AvailabilityMap, type PackedStatuses } from './ticket-lock/availability';
import { BestAvailable } from './ticket-lock/best-available';
import { OrganizerRefunds } from './ticket-lock/organizer-refunds';
import { markEventRefundsOwed, refundBookingInPostgres } from '../db/refunds';
import { updateEvent } from '../db/organizer';
import { Waitlist, createWaitlistSchema, type WaitlistEntryState } from './ticket-lock/waitlist';
import { WaitlistOffers, type WaitlistJoin, type WaitlistJoinOutcome } from './ticket-lock/waitlist-offers';
import type { BookingState } from '../domain/booking';
import { TicketTransfers, type TransferOutcome } from './ticket-lock/transfers';
import { deliverNotificationsSoon } from '../notifications/deliver';
import type { ConfirmOutcome, HoldCounts, HoldOutcome, Payment, PaymentStart, SeatStatusSnapshot } from './ticket-lock/types';

export { eventIdOfBooking, newBookingId, type BookingState, type BookingStatus } from '../domain/booking';
export type { IdempotencyClaim } from './ticket-lock/idempotency-store';
export type { TransferOutcome } from './ticket-lock/transfers';
export type { ConfirmOutcome, HoldCounts, HoldOutcome, Payment, PaymentStart, SeatStatusSnapshot } from './ticket-lock/types';

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
  /** The event's tickets, places and status as Postgres told (ticket-lock/event-load.ts). */
  private readonly load: EventLoad;
  /** Holds taken, and ended (ticket-lock/holds.ts). */
  private readonly holds: Holds;
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
  /** Payments: a hold kept while charged, declines, confirmations, and money owed back (ticket-lock/payments.ts). */
  private readonly payments: Payments;
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
    this.waitlist = new Waitlist(this.sql);
    this.holds = new Holds({
      sql: this.sql,
      rows: this.rows,
      places: this.places,
      admissions: this.admissions,
      seatLog: this.seatLog,
      waitlist: this.waitlist,
      availability: this.availability,
      bestAvailable: this.bestAvailable,
      eventCancelled: () => this.load.cancelled(),
      offerFreedPlaces: (now) => this.offers.offerFreedPlaces(now),
      armAlarm: () => this.armAlarm(),
    });
    this.load = new EventLoad({
      ctx,
      sql: this.sql,
      env,
      places: this.places,
      availability: this.availability,
      bestAvailable: this.bestAvailable,
      seatLog: this.seatLog,
      waitlist: this.waitlist,
      endHold: (bookingId, status, now) => this.holds.end(bookingId, status, now),
      armAlarm: () => this.armAlarm(),
    });
    this.writes = new ConfirmationWrites({
      sql: this.sql,
      env,
      rows: this.rows,
      seatLog: this.seatLog,
      armAlarm: () => this.armAlarm(),
      oweRefund: (bookingId, payment, amountCents, now) => this.payments.oweRefund(bookingId, payment, amountCents, 'seats_unavailable', now),
      afterWrite: () => ctx.waitUntil(deliverNotificationsSoon(env)),
    });
    this.organizerRefunds = new OrganizerRefunds({
      sql: this.sql,
      env,
      seatLog: this.seatLog,
      armAlarm: () => this.armAlarm(),
      cancelled: () => this.load.cancelled(),
      learnCancelled: (now) => this.load.learnEventStatus('cancelled', now),
      seatsReturned: (now) => this.seatsReturned(now),
    });
    this.transfers = new TicketTransfers({ sql: this.sql, env, rows: this.rows, afterWrite: () => ctx.waitUntil(deliverNotificationsSoon(env)) });
    this.offers = new WaitlistOffers({
      ctx,
      env,
      waitlist: this.waitlist,
      rows: this.rows,
      places: this.places,
      freePlaces: (request, now) => (this.places.learnt() ? this.bestAvailable.choose(this.availability.codes(now), request) : null),
      writeHold: (hold) => this.holds.write(hold),
      eventId: () => this.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'event_id'`).toArray()[0]?.value ?? null,
      cancelled: () => this.load.cancelled(),
      armAlarm: () => this.armAlarm(),
    });
    this.payments = new Payments({
      sql: this.sql,
      env,
      rows: this.rows,
      seatLog: this.seatLog,
      attempts: this.attempts,
      refunds: this.refunds,
      admissions: this.admissions,
      waitlist: this.waitlist,
      writes: this.writes,
      armAlarm: () => this.armAlarm(),
      endHold: (bookingId, status, now) => this.holds.end(bookingId, status, now),
      eventCancelled: () => this.load.cancelled(),
      tellWaitingRoom: (eventId, bookingId) => this.tellWaitingRoom(eventId, bookingId),
    });
    ctx.blockConcurrencyWhile(async () => {
      createTicketLockSchema(this.sql);
      createSeatRelaySchema(this.sql);
      createWaitlistSchema(this.sql);
    });
  }

  /** What the event view overlays on its cached seat layout. */
  async seatStatus(eventId: string): Promise<SeatStatusSnapshot> {
    await this.load.ensureLoaded(eventId);
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
    await this.load.ensureLoaded(eventId);
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
    await this.load.ensurePlaces(eventId);
    this.holds.expireDue(Date.now());
    return { version: this.seatLog.version(), epoch: this.seatLog.epoch(), ...this.availability.read(Date.now()) };
  }

  /**
   * All or nothing: every ticket is held for this user until the returned expiry, or none is.
   * Tickets are named by id, or by seat index (`seats`, mapped here, where the index is known), or
   * chosen here (`best`, API.md's best available: see ticket-lock/best-available.ts) and then held
   * as seats named by index are, with no await between the choice and the hold (ticket-lock/holds.ts).
   */
  async holdSeats(input: HoldRequest): Promise<HoldOutcome> {
    await this.load.ensureLoaded(input.eventId);
    if (input.seats || input.best) await this.load.ensurePlaces(input.eventId);
    // No await from here on.
    return this.holds.hold(input);
  }

  /** Joins the waiting list (API.md): refused while places that fit can be held now. */
  async joinWaitlist(eventId: string, join: WaitlistJoin): Promise<WaitlistJoinOutcome> {
    await this.load.ensurePlaces(eventId);
    this.holds.expireDue(Date.now());
    return this.offers.join(join, Date.now());
  }

  /** Leaves the waiting list; an offer held for the person is let go (and passes to the next). */
  async leaveWaitlist(eventId: string, userId: string): Promise<boolean> {
    await this.load.ensureLoaded(eventId);
    const entry = this.waitlist.activeEntryOf(userId);
    if (!entry) return false;
    this.waitlist.leave(entry.entry_id);
    if (entry.offer_booking_id && this.rows.booking(entry.offer_booking_id)?.status === 'pending') this.holds.end(entry.offer_booking_id, 'cancelled', Date.now());
    return true;
  }

  /** The entries named (a user's, listed by GET /api/me/waitlist); ids this event does not know are left out. */
  async waitlistEntries(eventId: string, userId: string, entryIds: string[]): Promise<WaitlistEntryState[]> {
    await this.load.ensureLoaded(eventId);
    this.holds.expireDue(Date.now());
    return entryIds.flatMap((id) => {
      const row = this.waitlist.entry(id);
      return row && row.user_id === userId ? [this.waitlist.state(row)] : [];
    });
  }

  async getBooking(eventId: string, bookingId: string): Promise<BookingState | null> {
    await this.load.ensureLoaded(eventId);
    await this.transfers.settleAround(eventId, bookingId);
    return this.rows.state(eventId, bookingId);
  }

  /** Frees a pending booking's seats at once. */
  async releaseHold(eventId: string, bookingId: string): Promise<{ ok: true } | { ok: false; reason: 'not_found' | 'booking_not_pending' }> {
    await this.load.ensureLoaded(eventId);
    const booking = this.rows.booking(bookingId);
    if (!booking) return { ok: false, reason: 'not_found' };
    if (booking.status === 'paying' || SETTLED.has(booking.status)) return { ok: false, reason: 'booking_not_pending' };
    if (booking.status === 'pending') {
      this.holds.end(bookingId, 'cancelled', Date.now());
      await this.tellWaitingRoom(eventId, bookingId);
    }
    return { ok: true };
  }

  /** Before charging: re-checks the hold and keeps it for the payment (ticket-lock/payments.ts). */
  async beginPayment(eventId: string, bookingId: string): Promise<PaymentStart> {
    await this.load.ensureLoaded(eventId);
    return this.payments.begin(eventId, bookingId);
  }

  /** The provider is still processing the charge: the seats stay held (ticket-lock/payments.ts). */
  async holdWhileProcessing(eventId: string, bookingId: string, attempt?: AttemptRef): Promise<BookingState> {
    await this.load.ensureLoaded(eventId);
    return this.payments.holdWhileProcessing(eventId, bookingId, attempt);
  }

  /** The card was declined: the hold goes back to what it was (ticket-lock/payments.ts). */
  async paymentFailed(eventId: string, bookingId: string, releaseSeats: boolean, attempt?: AttemptRef): Promise<void> {
    await this.load.ensureLoaded(eventId);
    this.payments.failed(bookingId, releaseSeats, attempt);
  }

  /** The payment succeeded: decided here, then written to Postgres (ticket-lock/payments.ts). */
  async confirm(eventId: string, bookingId: string, payment: Payment): Promise<ConfirmOutcome> {
    await this.load.ensureLoaded(eventId);
    return this.payments.confirm(eventId, bookingId, payment);
  }

  /** Moves tickets of a confirmed booking to another account as a new booking of theirs (ticket-lock/transfers.ts). */
  async transferTickets(input: { eventId: string; bookingId: string; userId: string; toUserId: string; ticketIds?: string[] }): Promise<TransferOutcome> {
    await this.load.ensureLoaded(input.eventId);
    return this.transfers.transfer(input);
  }

  /** After an organizer changed the event's prices or status (ticket-lock/event-load.ts). */
  async refreshEvent(eventId: string): Promise<void> {
    await this.load.refresh(eventId);
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
    await this.load.ensureLoaded(eventId);
    this.organizerRefunds.scheduleSafetyNet(Date.now());
    const cancelled = await withDb(this.env, async (db) => {
      const event = await updateEvent(db, eventId, { status: 'cancelled' });
      return event && { event, refunds: await markEventRefundsOwed(db, eventId) };
    });
    if (!cancelled) return null;
    // No await from here on: holds end, and every sale shows as refunded.
    this.load.learnEventStatus('cancelled', Date.now());
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
    await this.load.ensureLoaded(eventId);
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
    await this.load.ensureLoaded(eventId);
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
    await this.load.ensurePlaces(eventId);
    if (!isSeatRelayOf(relay, eventId, RELAYS_PER_EVENT)) throw new Error(`${JSON.stringify(relay)} is not a seat relay of event ${eventId}`);
    const now = Date.now();
    this.relays.register(relay, subscription, now);
    const missed = since && since.epoch === this.seatLog.epoch() ? this.seatLog.changesAfter(since.version) : null;
    if (missed) return { kind: 'changes', epoch: since!.epoch, version: this.seatLog.version(), changes: missed };
    // The snapshot is the availability array: holds due end first (see seatAvailability).
    this.holds.expireDue(now);
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
    this.holds.expireDue(now);

    for (const booking_id of this.writes.due(now)) {
      const outcome = await this.writes.write(eventId, booking_id);
      if (outcome === 'written') await this.tellWaitingRoom(eventId, booking_id);
    }
    for (const reference of this.refunds.due(Date.now())) await this.payments.payRefund(reference);
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
}

