import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { withDb } from '../../src/db/client';
import { users } from '../../src/db/schema';
import { issueSessionTokens } from '../../src/auth/session';
import { testPaymentRecord } from '../../src/payments/test-provider';
import { adminToken, api, createEvent, env, signUp, unique } from '../helpers';

interface Booking {
  bookingId: string;
  status: string;
  eventId: string;
  ticketIds: string[];
  tickets: Array<{ id: string; section: string; row: string; seat: number; priceCents: number; code: string | null }>;
  totalCents: number;
  currency: string;
  expiresAt: string;
  confirmedAt: string | null;
}

interface ErrorBody {
  error: { code: string; message: string; details?: { ticketIds?: string[] } };
}

async function ticketIdsOf(eventId: string): Promise<string[]> {
  return withDb(env, async (db) =>
    ((await db.execute(sql`select id from tickets where event_id = ${eventId} order by position`)).rows as Array<{ id: string }>).map((r) => r.id),
  );
}

async function soldInPostgres(eventId: string): Promise<Array<{ id: string; booking_id: string }>> {
  return withDb(env, async (db) => (await db.execute(sql`select id, booking_id from tickets where event_id = ${eventId} and status = 'sold'`)).rows as Array<{ id: string; booking_id: string }>);
}

const hold = (token: string, eventId: string, ticketIds: string[], paymentMethodId?: string) =>
  api(`/api/bookings/${eventId}`, { method: 'POST', token, json: { ticketIds, ...(paymentMethodId ? { paymentDetails: { paymentMethodId } } : {}) } });

const pay = (token: string, bookingId: string, paymentMethodId = 'pm_card_visa') =>
  api(`/api/bookings/${bookingId}/pay`, { method: 'POST', token, json: { paymentDetails: { paymentMethodId } } });

async function expireHold(eventId: string, bookingId: string): Promise<void> {
  await runInDurableObject(env.TICKET_LOCK.getByName(eventId), (_instance, state) => {
    const past = Date.now() - 1;
    state.storage.sql.exec(`UPDATE bookings SET expires_at = ? WHERE booking_id = ?`, past, bookingId);
    state.storage.sql.exec(`UPDATE holds SET expires_at = ? WHERE booking_id = ?`, past, bookingId);
  });
}

/** Many buyers at once: accounts written straight to Postgres, sessions signed directly. */
async function manyBuyers(count: number): Promise<string[]> {
  const rows = Array.from({ length: count }, () => ({ email: `${unique('crowd')}@example.com`, name: 'Crowd', passwordHash: 'unused' }));
  const created = await withDb(env, (db) => db.insert(users).values(rows).returning({ id: users.id, role: users.role }));
  return issueSessionTokens(env, created);
}

describe('bookings', () => {
  let admin: string;
  beforeAll(async () => {
    admin = await adminToken();
  });

  describe('POST /api/bookings/:eventId (hold)', () => {
    it('holds every requested ticket for the buyer and answers the pending booking', async () => {
      const { eventId } = await createEvent(admin);
      const ids = await ticketIdsOf(eventId);
      const buyer = await signUp();
      const response = await hold(buyer.token, eventId, ids.slice(0, 2));
      expect(response.status).toBe(201);
      const booking = (await response.json()) as Booking;
      expect(booking).toMatchObject({ status: 'pending', eventId, ticketIds: ids.slice(0, 2), totalCents: 10000, currency: 'USD', confirmedAt: null });
      const minutes = (Date.parse(booking.expiresAt) - Date.now()) / 60000;
      expect(minutes).toBeGreaterThan(9);
      expect(minutes).toBeLessThanOrEqual(10);
      const status = await env.TICKET_LOCK.getByName(eventId).seatStatus(eventId);
      expect(status.reserved.sort()).toEqual(ids.slice(0, 2).sort());
      expect(await soldInPostgres(eventId)).toEqual([]);
    });

    it('is all or nothing: one taken ticket refuses the whole request and names only the taken one', async () => {
      const { eventId } = await createEvent(admin);
      const [a, b, c] = await ticketIdsOf(eventId);
      const first = await signUp();
      const second = await signUp();
      expect((await hold(first.token, eventId, [b!])).status).toBe(201);

      const response = await hold(second.token, eventId, [a!, b!, c!]);
      expect(response.status).toBe(409);
      const body = (await response.json()) as ErrorBody;
      expect(body.error.code).toBe('tickets_unavailable');
      expect(body.error.details?.ticketIds).toEqual([b]);
      const status = await env.TICKET_LOCK.getByName(eventId).seatStatus(eventId);
      expect(status.reserved).toEqual([b]);
    });

    it('lets exactly one of two buyers racing for overlapping seats win', async () => {
      const { eventId } = await createEvent(admin);
      const [a, b, c] = await ticketIdsOf(eventId);
      const [one, two] = await manyBuyers(2);
      const responses = await Promise.all([hold(one!, eventId, [a!, b!]), hold(two!, eventId, [b!, c!])]);
      expect(responses.map((r) => r.status).sort()).toEqual([201, 409]);
    });

    it('refuses tickets of another event, duplicates and empty or oversized requests with 400', async () => {
      const { eventId } = await createEvent(admin);
      const other = await createEvent(admin);
      const [mine] = await ticketIdsOf(eventId);
      const [theirs] = await ticketIdsOf(other.eventId);
      const buyer = await signUp();
      for (const ticketIds of [[theirs!], [mine!, mine!], [], Array.from({ length: 11 }, () => crypto.randomUUID()), 'abc']) {
        const response = await api(`/api/bookings/${eventId}`, { method: 'POST', token: buyer.token, json: { ticketIds } });
        expect(response.status).toBe(400);
        expect(((await response.json()) as ErrorBody).error.code).toBe('validation_failed');
      }
      expect((await env.TICKET_LOCK.getByName(eventId).seatStatus(eventId)).reserved).toEqual([]);
    });

    it('needs a signed-in buyer and a published event', async () => {
      const { eventId } = await createEvent(admin);
      const draft = await createEvent(admin, { status: 'draft' });
      const [id] = await ticketIdsOf(eventId);
      expect((await api(`/api/bookings/${eventId}`, { method: 'POST', json: { ticketIds: [id] } })).status).toBe(401);
      const buyer = await signUp();
      const [draftTicket] = await ticketIdsOf(draft.eventId);
      expect((await hold(buyer.token, draft.eventId, [draftTicket!])).status).toBe(404);
    });

    it('refuses with ticket_limit a buyer who would hold or own more than MAX_TICKETS_PER_USER', async () => {
      const { eventId } = await createEvent(admin);
      const ids = await ticketIdsOf(eventId);
      const buyer = await signUp();
      expect((await hold(buyer.token, eventId, ids.slice(0, 6), 'pm_card_visa')).status).toBe(201);
      expect((await hold(buyer.token, eventId, ids.slice(6, 10))).status).toBe(201);
      const response = await hold(buyer.token, eventId, ids.slice(10, 11));
      expect(response.status).toBe(409);
      expect(((await response.json()) as ErrorBody).error.code).toBe('ticket_limit');
    });
  });

  describe('expiry', () => {
    it('frees an expired hold for another buyer at once, before any alarm runs', async () => {
      const { eventId } = await createEvent(admin);
      const [a] = await ticketIdsOf(eventId);
      const first = await signUp();
      const second = await signUp();
      const held = (await (await hold(first.token, eventId, [a!])).json()) as Booking;
      await expireHold(eventId, held.bookingId);

      expect((await hold(second.token, eventId, [a!])).status).toBe(201);
      const firstView = (await (await api(`/api/bookings/${held.bookingId}`, { token: first.token })).json()) as Booking;
      expect(firstView.status).toBe('expired');
    });

    it('releases expired holds when the alarm runs, and a second run changes nothing', async () => {
      const { eventId } = await createEvent(admin);
      const [a, b] = await ticketIdsOf(eventId);
      const buyer = await signUp();
      const lasting = (await (await hold(buyer.token, eventId, [a!])).json()) as Booking;
      const expiring = (await (await hold(buyer.token, eventId, [b!])).json()) as Booking;
      await expireHold(eventId, expiring.bookingId);
      const lock = env.TICKET_LOCK.getByName(eventId);

      expect(await runDurableObjectAlarm(lock)).toBe(true);
      const afterFirst = await lock.seatStatus(eventId);
      expect(afterFirst.reserved).toEqual([a]);
      const holdRows = () => runInDurableObject(lock, (_i, state) => state.storage.sql.exec(`SELECT ticket_id FROM holds`).toArray());
      expect(await holdRows()).toEqual([{ ticket_id: a }]);

      await runDurableObjectAlarm(lock);
      expect(await lock.seatStatus(eventId)).toEqual(afterFirst);
      expect((await (await api(`/api/bookings/${lasting.bookingId}`, { token: buyer.token })).json()) as Booking).toMatchObject({ status: 'pending' });
    });
  });

  describe('paying', () => {
    it('confirms a hold and records the sale in Postgres', async () => {
      const { eventId } = await createEvent(admin);
      const ids = await ticketIdsOf(eventId);
      const buyer = await signUp();
      const held = (await (await hold(buyer.token, eventId, ids.slice(0, 2))).json()) as Booking;
      const response = await pay(buyer.token, held.bookingId);
      expect(response.status).toBe(200);
      const paid = (await response.json()) as Booking;
      expect(paid).toMatchObject({ bookingId: held.bookingId, status: 'confirmed', totalCents: 10000 });
      expect(paid.confirmedAt).not.toBeNull();
      expect(paid.tickets.map((t) => [t.section, t.row, t.seat])).toEqual([['Floor', 'A', 1], ['Floor', 'A', 2]]);
      const sold = await soldInPostgres(eventId);
      expect(sold.map((t) => t.id).sort()).toEqual(ids.slice(0, 2).sort());
      expect(new Set(sold.map((t) => t.booking_id))).toEqual(new Set([held.bookingId]));

      const again = await pay(buyer.token, held.bookingId);
      expect(again.status).toBe(409);
      expect(((await again.json()) as ErrorBody).error.code).toBe('booking_not_pending');
      expect((await api(`/api/bookings/${held.bookingId}`, { method: 'DELETE', token: buyer.token })).status).toBe(409);
    });

    it('keeps the hold when a card is declined on pay, so another card can be tried', async () => {
      const { eventId } = await createEvent(admin);
      const [a] = await ticketIdsOf(eventId);
      const buyer = await signUp();
      const held = (await (await hold(buyer.token, eventId, [a!])).json()) as Booking;
      for (const card of ['pm_card_chargeDeclined', 'pm_card_insufficientFunds']) {
        const declined = await pay(buyer.token, held.bookingId, card);
        expect(declined.status).toBe(402);
        expect(((await declined.json()) as ErrorBody).error.code).toBe('payment_declined');
      }
      expect((await env.TICKET_LOCK.getByName(eventId).seatStatus(eventId)).reserved).toEqual([a]);
      expect((await pay(buyer.token, held.bookingId)).status).toBe(200);
    });

    it('releases every ticket when the one-call form is declined', async () => {
      const { eventId } = await createEvent(admin);
      const ids = await ticketIdsOf(eventId);
      const buyer = await signUp();
      const response = await hold(buyer.token, eventId, ids.slice(0, 3), 'pm_card_chargeDeclined');
      expect(response.status).toBe(402);
      expect((await env.TICKET_LOCK.getByName(eventId).seatStatus(eventId)).reserved).toEqual([]);
      expect(await soldInPostgres(eventId)).toEqual([]);
    });

    it('holds and pays in one call', async () => {
      const { eventId } = await createEvent(admin);
      const [a] = await ticketIdsOf(eventId);
      const buyer = await signUp();
      const response = await hold(buyer.token, eventId, [a!], 'pm_card_visa');
      expect(response.status).toBe(201);
      expect(((await response.json()) as Booking).status).toBe('confirmed');
      expect((await soldInPostgres(eventId)).map((t) => t.id)).toEqual([a]);
    });

    it('takes an expired hold again when its seats are all still free', async () => {
      const { eventId } = await createEvent(admin);
      const [a] = await ticketIdsOf(eventId);
      const buyer = await signUp();
      const held = (await (await hold(buyer.token, eventId, [a!])).json()) as Booking;
      await expireHold(eventId, held.bookingId);
      await runDurableObjectAlarm(env.TICKET_LOCK.getByName(eventId));
      expect((await pay(buyer.token, held.bookingId)).status).toBe(200);
    });

    it('re-takes an expired hold only within the ticket limit, counting what the buyer holds and bought since', async () => {
      const { eventId } = await createEvent(admin, { sections: [{ name: 'Floor', rows: 2, seatsPerRow: 10 }] });
      const ids = await ticketIdsOf(eventId);
      const buyer = await signUp();
      const first = (await (await hold(buyer.token, eventId, ids.slice(0, 10))).json()) as Booking;
      await expireHold(eventId, first.bookingId);
      expect((await hold(buyer.token, eventId, ids.slice(10, 20), 'pm_card_visa')).status).toBe(201);

      const response = await pay(buyer.token, first.bookingId);
      expect(response.status).toBe(409);
      expect(((await response.json()) as ErrorBody).error.code).toBe('ticket_limit');
      expect(await soldInPostgres(eventId)).toHaveLength(10);
      expect((await env.TICKET_LOCK.getByName(eventId).seatStatus(eventId)).reserved).toEqual([]);
    });

    it('answers 410 hold_expired when an expired hold lost a seat to someone else', async () => {
      const { eventId } = await createEvent(admin);
      const [a] = await ticketIdsOf(eventId);
      const late = await signUp();
      const other = await signUp();
      const held = (await (await hold(late.token, eventId, [a!])).json()) as Booking;
      await expireHold(eventId, held.bookingId);
      expect((await hold(other.token, eventId, [a!])).status).toBe(201);

      const response = await pay(late.token, held.bookingId);
      expect(response.status).toBe(410);
      expect(((await response.json()) as ErrorBody).error.code).toBe('hold_expired');
      expect(await soldInPostgres(eventId)).toEqual([]);
    });
  });

  describe('invariant 1: a seat is sold at most once', () => {
    it('sells each of 20 seats at most once to 200 buyers racing at once, and every loser gets 409', async () => {
      const { eventId } = await createEvent(admin, { sections: [{ name: 'Pit', rows: 2, seatsPerRow: 10 }] });
      const seats = await ticketIdsOf(eventId);
      const buyers = await manyBuyers(200);
      // Each buyer wants two neighbouring seats, so requests overlap heavily.
      const wanted = buyers.map((_, i) => [seats[i % 20]!, seats[(i + 1) % 20]!]);
      const responses = await Promise.all(buyers.map((token, i) => hold(token, eventId, wanted[i]!, 'pm_card_visa')));

      const statuses = responses.map((r) => r.status);
      const winners = statuses.filter((s) => s === 201).length;
      expect(statuses.filter((s) => s !== 201 && s !== 409)).toEqual([]);
      const sold = await soldInPostgres(eventId);
      expect(new Set(sold.map((t) => t.id)).size).toBe(sold.length);
      expect(sold.length).toBe(winners * 2);
      expect(winners).toBeGreaterThan(0);
      const counted = await withDb(env, async (db) => (await db.execute(sql`select count(*)::int as n from booking_tickets bt join tickets t on t.id = bt.ticket_id where t.event_id = ${eventId}`)).rows[0] as { n: number });
      expect(counted.n).toBe(sold.length);
    });

    it('lets Postgres refuse a second sale that a TicketLock which lost its memory allowed, and refunds it', async () => {
      const { eventId } = await createEvent(admin);
      const [a] = await ticketIdsOf(eventId);
      const first = await signUp();
      const second = await signUp();
      const firstBooking = (await (await hold(first.token, eventId, [a!], 'pm_card_visa')).json()) as Booking;
      expect(firstBooking.status).toBe('confirmed');
      // The Durable Object forgets the sale, as if its storage were lost and not reloaded.
      await runInDurableObject(env.TICKET_LOCK.getByName(eventId), (_instance, state) => {
        state.storage.sql.exec(`UPDATE tickets SET sold_to_booking = NULL, sold_to_user = NULL`);
        state.storage.sql.exec(`DELETE FROM holds`);
      });

      const response = await hold(second.token, eventId, [a!], 'pm_card_visa');
      expect(response.status).toBe(410);
      const sold = await soldInPostgres(eventId);
      expect(sold).toEqual([{ id: a, booking_id: firstBooking.bookingId }]);
    });
  });

  describe('GET /api/me/bookings', () => {
    it("lists the caller's confirmed bookings, newest first, with ticket codes, and nobody else's", async () => {
      const { eventId } = await createEvent(admin);
      const [a, b, c] = await ticketIdsOf(eventId);
      const buyer = await signUp();
      const other = await signUp();
      const older = (await (await hold(buyer.token, eventId, [a!], 'pm_card_visa')).json()) as Booking;
      const newer = (await (await hold(buyer.token, eventId, [b!], 'pm_card_visa')).json()) as Booking;
      await hold(other.token, eventId, [c!], 'pm_card_visa');

      const response = await api('/api/me/bookings', { token: buyer.token });
      expect(response.status).toBe(200);
      const { bookings } = (await response.json()) as { bookings: Booking[] };
      expect(bookings.map((booking) => booking.bookingId)).toEqual([newer.bookingId, older.bookingId]);
      expect(bookings[0]).toMatchObject({ status: 'confirmed', eventId, ticketIds: [b], totalCents: 5000 });
      expect(bookings[0]!.tickets[0]).toMatchObject({ id: b, section: 'Floor', row: 'A', seat: 2, priceCents: 5000, code: expect.any(String) });
      expect((await api('/api/me/bookings')).status).toBe(401);
    });
  });

  describe('prices', () => {
    it('charges the new price after an organizer reprices a section', async () => {
      const { eventId } = await createEvent(admin);
      const [a, b] = await ticketIdsOf(eventId);
      const buyer = await signUp();
      expect(((await (await hold(buyer.token, eventId, [a!])).json()) as Booking).totalCents).toBe(5000);
      const patch = await api(`/api/admin/events/${eventId}`, { method: 'PATCH', token: admin, json: { prices: { Floor: 7500 } } });
      expect(patch.status).toBe(200);
      expect(((await (await hold(buyer.token, eventId, [b!])).json()) as Booking).totalCents).toBe(7500);
    });

    it('sells held tickets at the prices of the hold, whatever the organizer charges since: Postgres adds up to the total charged', async () => {
      const { eventId } = await createEvent(admin);
      const [a, b] = await ticketIdsOf(eventId);
      const buyer = await signUp();
      const held = (await (await hold(buyer.token, eventId, [a!, b!])).json()) as Booking;
      expect(held.totalCents).toBe(10000);
      expect((await api(`/api/admin/events/${eventId}`, { method: 'PATCH', token: admin, json: { prices: { Floor: 7500 } } })).status).toBe(200);

      const paid = await pay(buyer.token, held.bookingId);
      expect(paid.status).toBe(200);
      const booking = (await paid.json()) as Booking;
      expect(booking.totalCents).toBe(10000);
      expect(booking.tickets.map((ticket) => ticket.priceCents)).toEqual([5000, 5000]);
      expect(testPaymentRecord.charges.filter((charge) => charge.bookingId === held.bookingId).map((charge) => charge.amountCents)).toEqual([10000]);
      const rows = await withDb(env, async (db) => ({
        total: ((await db.execute(sql`select total_cents from bookings where id = ${held.bookingId}`)).rows[0] as { total_cents: number }).total_cents,
        prices: ((await db.execute(sql`select price_cents from booking_tickets where booking_id = ${held.bookingId} order by price_cents`)).rows as Array<{ price_cents: number }>).map((row) => row.price_cents),
      }));
      expect(rows).toEqual({ total: 10000, prices: [5000, 5000] });
      const mine = (await (await api('/api/me/bookings', { token: buyer.token })).json()) as { bookings: Booking[] };
      expect(mine.bookings[0]!.tickets.map((ticket) => ticket.priceCents)).toEqual([5000, 5000]);
    });
  });

  describe('a cancelled event', () => {
    it('refuses to take payment for a hold once the event is cancelled, charging nothing and freeing the seats', async () => {
      const { eventId } = await createEvent(admin);
      const [a] = await ticketIdsOf(eventId);
      const buyer = await signUp();
      const held = (await (await hold(buyer.token, eventId, [a!])).json()) as Booking;
      expect((await api(`/api/admin/events/${eventId}`, { method: 'PATCH', token: admin, json: { status: 'cancelled' } })).status).toBe(200);

      const response = await pay(buyer.token, held.bookingId);
      expect(response.status).toBe(409);
      expect(((await response.json()) as ErrorBody).error.code).toBe('booking_not_pending');
      expect(testPaymentRecord.charges.filter((charge) => charge.bookingId === held.bookingId)).toEqual([]);
      expect(((await (await api(`/api/bookings/${held.bookingId}`, { token: buyer.token })).json()) as Booking).status).toBe('cancelled');
      expect((await env.TICKET_LOCK.getByName(eventId).seatStatus(eventId)).reserved).toEqual([]);
      expect(await soldInPostgres(eventId)).toEqual([]);
    });
  });

  describe('Idempotency-Key', () => {
    const withKey = (token: string, path: string, key: string, json: unknown) =>
      api(path, { method: 'POST', token, json, headers: { 'Idempotency-Key': key } });

    it('answers a retried hold with the first answer and holds nothing new', async () => {
      const { eventId } = await createEvent(admin);
      const [a, b] = await ticketIdsOf(eventId);
      const buyer = await signUp();
      const key = unique('key');
      const first = await withKey(buyer.token, `/api/bookings/${eventId}`, key, { ticketIds: [a, b] });
      const retry = await withKey(buyer.token, `/api/bookings/${eventId}`, key, { ticketIds: [a, b] });
      expect([first.status, retry.status]).toEqual([201, 201]);
      expect(await retry.json()).toEqual(await first.json());
      expect(await runInDurableObject(env.TICKET_LOCK.getByName(eventId), (_i, state) => state.storage.sql.exec(`SELECT count(*) AS n FROM bookings`).one().n)).toBe(1);
    });

    it('books and charges once when a hold-and-pay call is retried', async () => {
      const { eventId } = await createEvent(admin);
      const [a] = await ticketIdsOf(eventId);
      const buyer = await signUp();
      const body = { ticketIds: [a], paymentDetails: { paymentMethodId: 'pm_card_visa' } };
      const responses = [];
      for (let i = 0; i < 3; i++) responses.push(await withKey(buyer.token, `/api/bookings/${eventId}`, 'same-key', body));
      expect(responses.map((r) => r.status)).toEqual([201, 201, 201]);
      const bookingIds = new Set(await Promise.all(responses.map(async (r) => ((await r.json()) as Booking).bookingId)));
      expect(bookingIds.size).toBe(1);
      expect(await soldInPostgres(eventId)).toHaveLength(1);
    });

    it('replays the answer of a retried payment instead of refusing it', async () => {
      const { eventId } = await createEvent(admin);
      const [a] = await ticketIdsOf(eventId);
      const buyer = await signUp();
      const held = (await (await hold(buyer.token, eventId, [a!])).json()) as Booking;
      const body = { paymentDetails: { paymentMethodId: 'pm_card_visa' } };
      const first = await withKey(buyer.token, `/api/bookings/${held.bookingId}/pay`, 'pay-1', body);
      const retry = await withKey(buyer.token, `/api/bookings/${held.bookingId}/pay`, 'pay-1', body);
      expect([first.status, retry.status]).toEqual([200, 200]);
      expect(retry.headers.get('Idempotent-Replayed')).toBe('true');
    });

    it('refuses the same key with a different body, and keeps keys apart per user', async () => {
      const { eventId } = await createEvent(admin);
      const [a, b] = await ticketIdsOf(eventId);
      const buyer = await signUp();
      const other = await signUp();
      expect((await withKey(buyer.token, `/api/bookings/${eventId}`, 'k', { ticketIds: [a] })).status).toBe(201);
      const reused = await withKey(buyer.token, `/api/bookings/${eventId}`, 'k', { ticketIds: [b] });
      expect(reused.status).toBe(422);
      expect(((await reused.json()) as ErrorBody).error.code).toBe('idempotency_key_reused');
      expect((await withKey(other.token, `/api/bookings/${eventId}`, 'k', { ticketIds: [b] })).status).toBe(201);
      expect((await withKey(buyer.token, `/api/bookings/${eventId}`, 'bad key with spaces', { ticketIds: [b] })).status).toBe(400);
    });
  });

  describe('GET and DELETE /api/bookings/:bookingId', () => {
    it('shows a booking to its owner and to admins, and answers 404 to anyone else', async () => {
      const { eventId } = await createEvent(admin);
      const [a] = await ticketIdsOf(eventId);
      const owner = await signUp();
      const stranger = await signUp();
      const held = (await (await hold(owner.token, eventId, [a!])).json()) as Booking;

      expect((await api(`/api/bookings/${held.bookingId}`, { token: owner.token })).status).toBe(200);
      expect((await api(`/api/bookings/${held.bookingId}`, { token: admin })).status).toBe(200);
      for (const response of [
        await api(`/api/bookings/${held.bookingId}`, { token: stranger.token }),
        await pay(stranger.token, held.bookingId),
        await api(`/api/bookings/${held.bookingId}`, { method: 'DELETE', token: stranger.token }),
        await api(`/api/bookings/not-a-booking`, { token: owner.token }),
        await api(`/api/bookings/${'0'.repeat(64)}`, { token: owner.token }),
      ]) {
        expect(response.status).toBe(404);
      }
      expect((await env.TICKET_LOCK.getByName(eventId).seatStatus(eventId)).reserved).toEqual([a]);
    });

    it('cancels a pending booking and frees its seats at once', async () => {
      const { eventId } = await createEvent(admin);
      const [a] = await ticketIdsOf(eventId);
      const owner = await signUp();
      const next = await signUp();
      const held = (await (await hold(owner.token, eventId, [a!])).json()) as Booking;
      expect((await api(`/api/bookings/${held.bookingId}`, { method: 'DELETE', token: owner.token })).status).toBe(204);
      expect((await hold(next.token, eventId, [a!])).status).toBe(201);
      expect(((await (await api(`/api/bookings/${held.bookingId}`, { token: owner.token })).json()) as Booking).status).toBe('cancelled');
    });
  });
});
