// What the TicketLock does with its waiting list: joins (refused while places fit now), offers of
// places that come free (held for the first entry they fit, in the same turn that freed them, so
// nobody else can take them first and no offer is made of places someone holds), and the offer
// notifications, written to the Postgres outbox after the turn and retried by the alarm.
import type { Bindings } from '../../env';
import { withDb } from '../../db/client';
import { sql as pgSql } from 'drizzle-orm';
import { enqueueNotification } from '../../notifications/outbox';
import { waitlistOfferMessage } from '../../notifications/messages';
import { deliverNotificationsSoon } from '../../notifications/deliver';
import type { BookingRows } from './booking-rows';
import type { SeatPlaces } from './seat-places';
import type { BestRequest } from './best-available';
import { ENTRIES_PER_OFFER_PASS, type Waitlist, type WaitlistEntryState } from './waitlist';

export interface WaitlistJoin {
  entryId: string;
  userId: string;
  quantity: number;
  section: string | null;
  /** How long an offer stays held (the event's waitlistOfferMinutes). */
  offerMinutes: number;
  maxTicketsPerUser: number;
}

export type WaitlistJoinOutcome =
  | { ok: true; created: boolean; entry: WaitlistEntryState }
  | { ok: false; reason: 'tickets_available' | 'event_cancelled' }
  | { ok: false; reason: 'ticket_limit'; limit: number; owned: number };

/** How long an offer's notification waits before the alarm tries the outbox again. */
const NOTICE_RETRY_MS = 30_000;

export class WaitlistOffers {
  /** An offer pass holds places, which must not start another pass from inside it. */
  private offering = false;

  constructor(
    private readonly deps: {
      ctx: DurableObjectState;
      env: Bindings;
      waitlist: Waitlist;
      rows: BookingRows;
      places: SeatPlaces;
      /** Seat indexes of free places that fit the request, chosen as best available chooses; null when none fit. */
      freePlaces: (request: BestRequest, now: number) => number[] | null;
      writeHold: (hold: { eventId: string; userId: string; ticketIds: string[]; expiresAt: number; maxTicketsPerUser: number; now: number }) => string;
      eventId: () => string | null;
      cancelled: () => boolean;
      armAlarm: () => void;
    },
  ) {}

  join(join: WaitlistJoin, now: number): WaitlistJoinOutcome {
    const { waitlist, rows } = this.deps;
    if (this.deps.cancelled()) return { ok: false, reason: 'event_cancelled' };
    const existing = waitlist.activeEntryOf(join.userId);
    if (existing) return { ok: true, created: false, entry: waitlist.state(existing) };
    if (this.deps.freePlaces(request(join), now)) return { ok: false, reason: 'tickets_available' };
    const owned = rows.ticketsOwnedBy(join.userId, now);
    if (owned + join.quantity > join.maxTicketsPerUser) return { ok: false, reason: 'ticket_limit', limit: join.maxTicketsPerUser, owned };
    const row = waitlist.join({ ...join, maxTickets: join.maxTicketsPerUser }, now);
    return { ok: true, created: true, entry: waitlist.state(row) };
  }

  /**
   * Offers free places to the waiting list in join order: each of the first entries that the free
   * places fit gets them held as a pending booking of theirs for the entry's offer time. Looks at
   * no more than ENTRIES_PER_OFFER_PASS entries (the next freeing looks again).
   */
  offerFreedPlaces(now: number): void {
    const { waitlist, rows, places } = this.deps;
    if (this.offering || this.deps.cancelled() || !waitlist.hasWaiting()) return;
    const eventId = this.deps.eventId();
    if (!eventId) return;
    this.offering = true;
    let offered = false;
    try {
      for (const entry of waitlist.waiting(ENTRIES_PER_OFFER_PASS)) {
        if (!this.deps.freePlaces({ quantity: 1 }, now)) break;
        // Someone whose purchases since joining reach the limit is passed over, not offered more.
        if (rows.ticketsOwnedBy(entry.user_id, now) + entry.quantity > entry.max_tickets) continue;
        const seats = this.deps.freePlaces(request({ quantity: entry.quantity, section: entry.section }), now);
        if (!seats) continue;
        const found = places.ticketIdsAt(seats);
        if (found.unknown.length) continue;
        const expiresAt = now + entry.offer_minutes * 60_000;
        const bookingId = this.deps.writeHold({ eventId, userId: entry.user_id, ticketIds: found.ticketIds, expiresAt, maxTicketsPerUser: entry.max_tickets, now });
        waitlist.markOffered(entry.entry_id, bookingId, expiresAt, now);
        offered = true;
      }
    } finally {
      this.offering = false;
    }
    if (offered) {
      this.deps.armAlarm();
      this.deps.ctx.waitUntil(this.writeNotices(now));
    }
  }

  /** Writes due offer notifications to the outbox (each once: the dedupe key is the offer's booking). */
  async writeNotices(now: number): Promise<void> {
    const { waitlist, env } = this.deps;
    const due = waitlist.noticesDue(now);
    const eventId = this.deps.eventId();
    if (!due.length || !eventId) return;
    const offers = due.flatMap((notice) => {
      const entry = waitlist.entry(notice.entry_id);
      return entry && entry.offer_booking_id === notice.booking_id && entry.offer_expires_at !== null ? [{ notice, entry }] : [];
    });
    try {
      await withDb(env, async (db) => {
        const [event] = (await db.execute(pgSql`select name from events where id = ${eventId}`)).rows as Array<{ name: string }>;
        for (const { notice, entry } of offers) {
          const message = waitlistOfferMessage({ eventId, eventName: event?.name ?? 'your event', bookingId: notice.booking_id, quantity: entry.quantity, expiresAt: new Date(entry.offer_expires_at!).toISOString() });
          await enqueueNotification(db, { dedupeKey: `waitlist_offer:${notice.booking_id}`, userId: entry.user_id, message });
        }
      });
      for (const notice of due) waitlist.noticeWritten(notice.booking_id);
      this.deps.ctx.waitUntil(deliverNotificationsSoon(env));
    } catch (error) {
      console.warn(`waiting-list offers of ${eventId} not yet in the outbox; the alarm tries again`, error);
      for (const notice of due) waitlist.noticeFailed(notice.booking_id, Date.now() + NOTICE_RETRY_MS);
    }
    this.deps.armAlarm();
  }
}

function request(entry: { quantity: number; section: string | null }): BestRequest {
  return entry.section === null ? { quantity: entry.quantity } : { quantity: entry.quantity, section: entry.section };
}
