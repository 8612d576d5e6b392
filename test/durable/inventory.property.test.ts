// Property-based test of the inventory features together (issue 12): random interleavings of holds,
// payments, cancels, holds running out, alarm runs, waiting-list joins and leaves (whose offers are
// made as places come free), transfers, an organizer's refunds (with and without putting the seats
// back on sale) and the event's cancellation, across four buyers and six seats. After every step
// invariants 1–4 of DESIGN.md are checked against the real state: the TicketLock's storage and the
// event's rows in Postgres. Driven through the HTTP API, as clients and organizers drive it; time
// passes by moving a hold's expiry into the past, as the TicketLock's own tests do.
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sql } from 'drizzle-orm';
import { withDb } from '../../src/db/client';
import { adminToken, api, createEvent, env, unique } from '../helpers';
import { users } from '../../src/db/schema';
import { issueSessionToken } from '../../src/auth/session';

const NUM_RUNS = 40;
const BUYERS = 4;
const SEATS = 6;

type Step =
  | { kind: 'hold'; buyer: number; seats: number[] }
  | { kind: 'pay'; booking: number; card: 'pm_card_visa' | 'pm_card_chargeDeclined' }
  | { kind: 'cancel'; booking: number }
  | { kind: 'runOut'; booking: number }
  | { kind: 'tick' }
  | { kind: 'join'; buyer: number; quantity: number }
  | { kind: 'leave'; buyer: number }
  | { kind: 'payOffer'; buyer: number }
  | { kind: 'transfer'; booking: number; to: number; some: boolean }
  | { kind: 'refund'; booking: number; releaseSeats: boolean }
  | { kind: 'cancelEvent' };

const n = fc.nat({ max: 9 });
const buyer = fc.nat({ max: BUYERS - 1 });
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('hold' as const), buyer, seats: fc.uniqueArray(fc.nat({ max: SEATS - 1 }), { minLength: 1, maxLength: 3 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('pay' as const), booking: n, card: fc.constantFrom('pm_card_visa' as const, 'pm_card_visa' as const, 'pm_card_chargeDeclined' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), booking: n }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('runOut' as const), booking: n }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'tick' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('join' as const), buyer, quantity: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('leave' as const), buyer }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('payOffer' as const), buyer }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('transfer' as const), booking: n, to: buyer, some: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('refund' as const), booking: n, releaseSeats: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'cancelEvent' as const }) },
);

interface World {
  admin: string;
  buyers: Array<{ token: string; user: { id: string; email: string } }>;
}

let world: World;

beforeAll(async () => {
  world = { admin: await adminToken(), buyers: [] };
});

/**
 * Buyers of their own for each run: a run's holds and payments then never meet the per-account
 * rate limit, however many runs (and shrinks) came before. Made in Postgres, with a session each.
 */
async function freshBuyers(): Promise<World['buyers']> {
  const rows = await withDb(env, (db) =>
    db
      .insert(users)
      .values(Array.from({ length: BUYERS }, (_, i) => ({ email: `${unique(`property${i}-`)}@example.com`, name: `Property buyer ${i}`, passwordHash: 'not-for-login' })))
      .returning({ id: users.id, email: users.email, role: users.role }),
  );
  return Promise.all(rows.map(async (row) => ({ token: await issueSessionToken(env, row), user: { id: row.id, email: row.email } })));
}

async function json<T>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

/** One run: its event, and the bookings its steps made (by index, in order). */
class Run {
  bookings: string[] = [];
  /** What the provider took for a booking, from /pay answers that said confirmed. */
  paid = new Map<string, number>();

  constructor(readonly eventId: string) {}

  lock() {
    return env.TICKET_LOCK.getByName(this.eventId);
  }

  pick(index: number): string | undefined {
    return this.bookings.length ? this.bookings[index % this.bookings.length] : undefined;
  }

  async apply(s: Step): Promise<void> {
    const token = (b: number) => world.buyers[b]!.token;
    switch (s.kind) {
      case 'hold': {
        const response = await api(`/api/bookings/${this.eventId}`, { method: 'POST', token: token(s.buyer), json: { seats: s.seats } });
        expect([201, 409]).toContain(response.status);
        if (response.status === 201) this.bookings.push((await json<{ bookingId: string }>(response)).bookingId);
        else await response.body?.cancel();
        return;
      }
      case 'pay': {
        const bookingId = this.pick(s.booking);
        if (!bookingId) return;
        const owner = await this.ownerOf(bookingId);
        const response = await api(`/api/bookings/${bookingId}/pay`, { method: 'POST', token: owner, json: { paymentDetails: { paymentMethodId: s.card } } });
        expect([200, 402, 404, 409, 410]).toContain(response.status);
        if (response.status === 200) {
          const booking = await json<{ status: string; totalCents: number }>(response);
          if (booking.status === 'confirmed') this.paid.set(bookingId, booking.totalCents);
        } else await response.body?.cancel();
        return;
      }
      case 'cancel': {
        const bookingId = this.pick(s.booking);
        if (!bookingId) return;
        const response = await api(`/api/bookings/${bookingId}`, { method: 'DELETE', token: await this.ownerOf(bookingId) });
        expect([204, 404, 409]).toContain(response.status);
        await response.body?.cancel();
        return;
      }
      case 'runOut': {
        const bookingId = this.pick(s.booking);
        if (!bookingId) return;
        await runInDurableObject(this.lock(), (_instance, state) => {
          state.storage.sql.exec(`UPDATE bookings SET expires_at = ? WHERE booking_id = ? AND status IN ('pending', 'paying')`, Date.now() - 1, bookingId);
          state.storage.sql.exec(`UPDATE holds SET expires_at = ? WHERE booking_id = ? AND expires_at < ?`, Date.now() - 1, bookingId, Number.MAX_SAFE_INTEGER);
        });
        return;
      }
      case 'tick':
        await runDurableObjectAlarm(this.lock());
        return;
      case 'join': {
        const response = await api(`/api/events/${this.eventId}/waitlist`, { method: 'POST', token: token(s.buyer), json: { quantity: s.quantity } });
        expect([200, 201, 409]).toContain(response.status);
        await response.body?.cancel();
        return;
      }
      case 'leave': {
        const response = await api(`/api/events/${this.eventId}/waitlist`, { method: 'DELETE', token: token(s.buyer) });
        expect([204, 404]).toContain(response.status);
        await response.body?.cancel();
        return;
      }
      case 'payOffer': {
        const entries = (await json<{ entries: Array<{ eventId: string; status: string; offer: { bookingId: string } | null }> }>(await api('/api/me/waitlist', { token: token(s.buyer) }))).entries;
        const offer = entries.find((entry) => entry.eventId === this.eventId && entry.status === 'offered')?.offer;
        if (!offer) return;
        if (!this.bookings.includes(offer.bookingId)) this.bookings.push(offer.bookingId);
        const response = await api(`/api/bookings/${offer.bookingId}/pay`, { method: 'POST', token: token(s.buyer), json: { paymentDetails: { paymentMethodId: 'pm_card_visa' } } });
        expect([200, 409, 410]).toContain(response.status);
        if (response.status === 200) this.paid.set(offer.bookingId, (await json<{ totalCents: number }>(response)).totalCents);
        else await response.body?.cancel();
        return;
      }
      case 'transfer': {
        const bookingId = this.pick(s.booking);
        if (!bookingId) return;
        const owner = await this.ownerOf(bookingId);
        const view = await json<{ ticketIds?: string[] }>(await api(`/api/bookings/${bookingId}`, { token: owner }));
        const ticketIds = s.some && view.ticketIds && view.ticketIds.length > 1 ? view.ticketIds.slice(0, 1) : undefined;
        const response = await api(`/api/bookings/${bookingId}/transfer`, { method: 'POST', token: owner, json: { email: world.buyers[s.to]!.user.email, ...(ticketIds ? { ticketIds } : {}) } });
        expect([200, 400, 404, 409]).toContain(response.status);
        if (response.status === 200) this.bookings.push((await json<{ booking: { bookingId: string } }>(response)).booking.bookingId);
        else await response.body?.cancel();
        return;
      }
      case 'refund': {
        const bookingId = this.pick(s.booking);
        if (!bookingId) return;
        const response = await api(`/api/admin/bookings/${bookingId}/refund`, { method: 'POST', token: world.admin, json: { releaseSeats: s.releaseSeats } });
        expect([200, 404, 409]).toContain(response.status);
        await response.body?.cancel();
        return;
      }
      case 'cancelEvent': {
        const response = await api(`/api/admin/events/${this.eventId}/cancel`, { method: 'POST', token: world.admin });
        expect(response.status).toBe(200);
        await response.body?.cancel();
        return;
      }
    }
  }

  private owners = new Map<string, string>();

  /** The token of whoever owns the booking (the TicketLock's row says). */
  async ownerOf(bookingId: string): Promise<string> {
    const known = this.owners.get(bookingId);
    if (known) return known;
    const userId = await runInDurableObject(this.lock(), (_i, state) => state.storage.sql.exec<{ user_id: string }>(`SELECT user_id FROM bookings WHERE booking_id = ?`, bookingId).toArray()[0]?.user_id);
    const token = world.buyers.find((b) => b.user.id === userId)?.token ?? world.admin;
    this.owners.set(bookingId, token);
    return token;
  }

  /** Invariants 1–4 of DESIGN.md, and the waiting list's own promises, against the real state. */
  async check(label: string): Promise<void> {
    const now = Date.now();
    const lock = await runInDurableObject(this.lock(), (_i, state) => {
      const q = <T extends Record<string, SqlStorageValue>>(text: string, ...args: SqlStorageValue[]) => state.storage.sql.exec<T>(text, ...args).toArray();
      return {
        tickets: q<{ ticket_id: string; sold_to_booking: string | null }>(`SELECT ticket_id, sold_to_booking FROM tickets`),
        holds: q<{ ticket_id: string; booking_id: string; expires_at: number }>(`SELECT ticket_id, booking_id, expires_at FROM holds`),
        bookings: q<{ booking_id: string; status: string; expires_at: number; write_pending: number; user_id: string }>(`SELECT booking_id, status, expires_at, write_pending, user_id FROM bookings`),
        bookingTickets: q<{ booking_id: string; ticket_id: string }>(`SELECT booking_id, ticket_id FROM booking_tickets`),
        offers: q<{ offer_booking_id: string; user_id: string; quantity: number }>(`SELECT offer_booking_id, user_id, quantity FROM waitlist WHERE status = 'offered'`),
      };
    });
    const pg = await withDb(env, async (db) => ({
      tickets: (await db.execute(sql`select id::text, status, booking_id from tickets where event_id = ${this.eventId}`)).rows as Array<{ id: string; status: string; booking_id: string | null }>,
      live: (await db.execute(sql`
        select bt.ticket_id::text, bt.booking_id, b.status from booking_tickets bt join bookings b on b.id = bt.booking_id
        where b.event_id = ${this.eventId} and bt.released_at is null`)).rows as Array<{ ticket_id: string; booking_id: string; status: string }>,
      bookings: (await db.execute(sql`select id, status, total_cents, refund_pending_cents, refunded_cents, transferred_from from bookings where event_id = ${this.eventId}`)).rows as Array<{ id: string; status: string; total_cents: number; refund_pending_cents: number; refunded_cents: number; transferred_from: string | null }>,
    }));
    const context = `${label}: ${JSON.stringify({ lock, pg })}`;
    const writing = lock.bookings.some((b) => b.write_pending === 1);

    // 1. A seat is sold at most once: one live booking row per ticket in Postgres, and a sold
    // ticket names that booking; the TicketLock agrees once its writes have landed.
    const liveByTicket = new Map<string, string>();
    for (const row of pg.live) {
      expect(liveByTicket.has(row.ticket_id), `${context}\nticket ${row.ticket_id} in two live bookings`).toBe(false);
      liveByTicket.set(row.ticket_id, row.booking_id);
    }
    for (const ticket of pg.tickets) {
      if (ticket.status === 'sold') expect(ticket.booking_id, context).toBe(liveByTicket.get(ticket.id));
      else expect(ticket.booking_id, context).toBeNull();
    }
    if (!writing) {
      const pgSold = new Map(pg.tickets.map((t) => [t.id, t.booking_id]));
      for (const ticket of lock.tickets) expect(ticket.sold_to_booking, `${context}\nticket ${ticket.ticket_id}`).toBe(pgSold.get(ticket.ticket_id) ?? null);
    }

    // 2. A hold counts only while unexpired: a live hold belongs to an open booking, and no ticket is
    // both held and sold.
    const open = new Map(lock.bookings.filter((b) => b.status === 'pending' || b.status === 'paying').map((b) => [b.booking_id, b]));
    const sold = new Map(lock.tickets.map((t) => [t.ticket_id, t.sold_to_booking]));
    for (const hold of lock.holds.filter((h) => h.expires_at > now && h.expires_at < Number.MAX_SAFE_INTEGER)) {
      expect(open.has(hold.booking_id), `${context}\nlive hold of ${hold.booking_id} whose booking is not open`).toBe(true);
      expect(sold.get(hold.ticket_id), context).toBeNull();
    }

    // 3. Money and seats agree: every payment ends in a booking Postgres holds (confirmed, moved on,
    // or refunded), and money owed back is owed or given back, never lost.
    const pgBookings = new Map(pg.bookings.map((b) => [b.id, b]));
    for (const [bookingId, cents] of this.paid) {
      const row = pgBookings.get(bookingId);
      if (!row) {
        // Still being written (Postgres is never down here), or its seats went elsewhere and the money is owed back.
        const state = lock.bookings.find((b) => b.booking_id === bookingId);
        expect(state?.write_pending === 1 || state?.status === 'cancelled', `${context}\npaid booking ${bookingId} is nowhere`).toBe(true);
        continue;
      }
      expect(row.total_cents, context).toBe(cents);
      if (row.status === 'refunded') expect(Number(row.refund_pending_cents) + Number(row.refunded_cents), context).toBe(cents);
    }
    for (const row of pg.bookings) if (row.transferred_from) expect(Number(row.total_cents), `${context}\na transfer charged its recipient`).toBe(0);

    // 4. All or nothing: an open booking holds every one of its tickets, each until its expiry.
    for (const booking of open.values()) {
      if (booking.expires_at <= now) continue;
      const mine = lock.bookingTickets.filter((bt) => bt.booking_id === booking.booking_id).map((bt) => bt.ticket_id);
      const held = lock.holds.filter((h) => h.booking_id === booking.booking_id && h.expires_at > now).map((h) => h.ticket_id);
      expect(held.sort(), `${context}\nbooking ${booking.booking_id} holds part of its tickets`).toEqual(mine.sort());
    }

    // The waiting list: an offer is an open booking of the person offered, of the quantity asked.
    for (const offer of lock.offers) {
      const booking = lock.bookings.find((b) => b.booking_id === offer.offer_booking_id);
      expect(booking?.user_id, context).toBe(offer.user_id);
      if (booking && (booking.status === 'pending' || booking.status === 'paying') && booking.expires_at > now) {
        expect(lock.bookingTickets.filter((bt) => bt.booking_id === offer.offer_booking_id).length, context).toBe(offer.quantity);
      }
    }
  }
}

describe('the inventory together (property)', () => {
  it('keeps invariants 1–4 through holds, payments, waiting-list offers, transfers, refunds and cancellation', { timeout: 600_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 10 }), async (steps) => {
        world.buyers = await freshBuyers();
        const event = await createEvent(world.admin, { sections: [{ name: 'Floor', rows: 1, seatsPerRow: SEATS }], prices: { Floor: 2500 } });
        const run = new Run(event.eventId);
        for (const [i, s] of steps.entries()) {
          await run.apply(s);
          await run.check(`after step ${i} ${JSON.stringify(s)} of ${JSON.stringify(steps)}`);
        }
        // In the end, with the alarm run, every refund owed has been paid.
        await runDurableObjectAlarm(run.lock());
        await runDurableObjectAlarm(run.lock());
        await run.check('at the end');
        const owed = await withDb(env, (db) => db.execute(sql`select id from bookings where event_id = ${event.eventId} and refund_pending_cents > 0`));
        expect(owed.rows, 'refunds still owed after the alarm ran').toEqual([]);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
