import { beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { withDb } from '../../src/db/client';
import { rotatingCode } from '../../src/tickets/codes';
import { adminToken, api, createEvent, env, signUp } from '../helpers';

interface Booking {
  bookingId: string;
  status: string;
  eventId: string;
  tickets: Array<{ id: string; section: string; row: string; seat: number; code: string | null }>;
}

interface Scan {
  result: 'admitted' | 'already_admitted' | 'invalid';
  ticket: { id: string; section: string; row: string; seat: number } | null;
  eventId: string | null;
  admittedAt: string | null;
}

interface Rotating {
  code: string;
  rotating: string;
  validForSeconds: number;
}

interface ErrorBody {
  error: { code: string };
}

async function ticketIdsOf(eventId: string): Promise<string[]> {
  return withDb(env, async (db) =>
    ((await db.execute(sql`select id from tickets where event_id = ${eventId} order by position`)).rows as Array<{ id: string }>).map((r) => r.id),
  );
}

async function buy(token: string, eventId: string, ticketIds: string[], paymentMethodId?: string): Promise<Booking> {
  const response = await api(`/api/bookings/${eventId}`, {
    method: 'POST',
    token,
    json: { ticketIds, ...(paymentMethodId ? { paymentDetails: { paymentMethodId } } : {}) },
  });
  expect(response.status).toBe(201);
  return response.json();
}

const scan = (token: string | undefined, json: unknown) => api('/api/admin/scan', { method: 'POST', token, json });

async function scanned(token: string, code: string): Promise<Scan> {
  const response = await scan(token, { code });
  expect(response.status).toBe(200);
  return response.json();
}

const INVALID: Scan = { result: 'invalid', ticket: null, eventId: null, admittedAt: null };

/** The code with the character at `index` replaced by another base64url character. */
const changeChar = (code: string, index: number) => code.slice(0, index) + (code[index] === 'A' ? 'B' : 'A') + code.slice(index + 1);

describe('tickets at the door', () => {
  let admin: string;
  beforeAll(async () => {
    admin = await adminToken();
  });

  /** A confirmed booking of the first `count` seats of a new event, bought through the API. */
  async function confirmedBooking(count = 1) {
    const { eventId } = await createEvent(admin);
    const ids = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const booking = await buy(buyer.token, eventId, ids.slice(0, count), 'pm_card_visa');
    expect(booking.status).toBe('confirmed');
    return { eventId, buyer, booking, ids };
  }

  describe('GET /api/bookings/:bookingId codes', () => {
    it('gives every ticket of a confirmed booking its own code, and none to a pending booking', async () => {
      const { eventId, buyer, booking, ids } = await confirmedBooking(2);
      const view = (await (await api(`/api/bookings/${booking.bookingId}`, { token: buyer.token })).json()) as Booking;
      const codes = view.tickets.map((t) => t.code);
      expect(codes.every((code) => typeof code === 'string' && code.length > 0 && code.length <= 100)).toBe(true);
      expect(new Set(codes).size).toBe(2);
      expect(booking.tickets.map((t) => t.code)).toEqual(codes);

      const pending = await buy(buyer.token, eventId, ids.slice(2, 3));
      expect(pending.tickets.map((t) => t.code)).toEqual([null]);
      const pendingView = (await (await api(`/api/bookings/${pending.bookingId}`, { token: buyer.token })).json()) as Booking;
      expect(pendingView).toMatchObject({ status: 'pending', tickets: [{ code: null }] });
    });
  });

  describe('POST /api/admin/scan', () => {
    it('admits a ticket once and answers a second scan with the first admission', async () => {
      const { eventId, booking } = await confirmedBooking();
      const ticket = booking.tickets[0]!;
      const first = await scanned(admin, ticket.code!);
      expect(first).toMatchObject({ result: 'admitted', eventId, ticket: { id: ticket.id, section: ticket.section, row: ticket.row, seat: ticket.seat } });
      expect(Math.abs(Date.parse(first.admittedAt!) - Date.now())).toBeLessThan(60_000);

      const second = await scanned(admin, ticket.code!);
      expect(second).toEqual({ ...first, result: 'already_admitted' });
    });

    it('admits a ticket once when two doors scan it at the same moment', async () => {
      const { booking } = await confirmedBooking();
      const code = booking.tickets[0]!.code!;
      const results = await Promise.all([scanned(admin, code), scanned(admin, code), scanned(admin, code)]);
      expect(results.map((r) => r.result).sort()).toEqual(['admitted', 'already_admitted', 'already_admitted']);
      expect(new Set(results.map((r) => r.admittedAt)).size).toBe(1);
    });

    it('keeps the tickets of one booking apart', async () => {
      const { booking } = await confirmedBooking(2);
      const [a, b] = booking.tickets;
      expect((await scanned(admin, a!.code!)).result).toBe('admitted');
      expect(await scanned(admin, b!.code!)).toMatchObject({ result: 'admitted', ticket: { id: b!.id } });
    });

    it('calls a forged or altered code invalid and admits nothing', async () => {
      const { booking } = await confirmedBooking();
      const code = booking.tickets[0]!.code!;
      for (const index of [0, 5, 20, 40, 60, code.length - 1]) {
        expect(await scanned(admin, changeChar(code, index)), `char ${index}`).toEqual(INVALID);
      }
      for (const garbage of ['x', 'not a ticket', `${code}.`, `${code}.1234`, 'A'.repeat(500)]) {
        expect(await scanned(admin, garbage), garbage.slice(0, 20)).toEqual(INVALID);
      }
      expect((await scanned(admin, code)).result).toBe('admitted');
    });

    it('calls the code of a cancelled booking invalid', async () => {
      const { booking } = await confirmedBooking();
      await withDb(env, (db) => db.execute(sql`update bookings set status = 'cancelled' where id = ${booking.bookingId}`));
      expect(await scanned(admin, booking.tickets[0]!.code!)).toEqual(INVALID);
    });

    it('accepts a fresh rotating code and refuses a stale one', async () => {
      const { buyer, booking } = await confirmedBooking(2);
      const [a, b] = booking.tickets;
      const ids = (ticketId: string) => ({ ticketId, eventId: booking.eventId, bookingId: booking.bookingId });

      const stale = await rotatingCode(env, ids(a!.id), Date.now() - 60_000);
      expect(await scanned(admin, stale)).toEqual(INVALID);

      const response = await api(`/api/bookings/${booking.bookingId}/tickets/${b!.id}/rotating`, { token: buyer.token });
      expect(response.status).toBe(200);
      expect(response.headers.get('Cache-Control')).toBe('no-store');
      const fresh = (await response.json()) as Rotating;
      expect(fresh.code).toBe(b!.code);
      expect(fresh.rotating.startsWith(`${b!.code}.`)).toBe(true);
      expect(fresh.validForSeconds).toBeGreaterThanOrEqual(1);
      expect(fresh.validForSeconds).toBeLessThanOrEqual(30);
      expect(await scanned(admin, fresh.rotating)).toMatchObject({ result: 'admitted', ticket: { id: b!.id } });
      expect((await scanned(admin, `${fresh.rotating}\n`)).result).toBe('already_admitted');
    });

    it('is for admins only', async () => {
      const { buyer, booking } = await confirmedBooking();
      const code = booking.tickets[0]!.code!;
      const anonymous = await scan(undefined, { code });
      expect(anonymous.status).toBe(401);
      expect(((await anonymous.json()) as ErrorBody).error.code).toBe('unauthenticated');
      const customer = await scan(buyer.token, { code });
      expect(customer.status).toBe(403);
      expect(((await customer.json()) as ErrorBody).error.code).toBe('forbidden');
      expect((await scanned(admin, code)).result).toBe('admitted');
    });

    it('answers a missing or non-text code with 400 validation_failed', async () => {
      for (const body of [{}, { code: 42 }, { code: null }, { code: '' }, { code: 'x'.repeat(501) }]) {
        const response = await scan(admin, body);
        expect(response.status, JSON.stringify(body).slice(0, 30)).toBe(400);
        expect(((await response.json()) as ErrorBody).error.code).toBe('validation_failed');
      }
    });
  });

  describe('GET /api/bookings/:bookingId/tickets/:ticketId/rotating', () => {
    it('is for the owner of a confirmed booking and its own tickets only', async () => {
      const { eventId, buyer, booking, ids } = await confirmedBooking();
      const path = `/api/bookings/${booking.bookingId}/tickets/${booking.tickets[0]!.id}/rotating`;
      const stranger = await signUp();
      expect((await api(path)).status).toBe(401);
      expect((await api(path, { token: stranger.token })).status).toBe(404);
      expect((await api(path, { token: admin })).status).toBe(404);
      expect((await api(`/api/bookings/${booking.bookingId}/tickets/${ids[5]}/rotating`, { token: buyer.token })).status).toBe(404);

      const pending = await buy(buyer.token, eventId, ids.slice(1, 2));
      expect((await api(`/api/bookings/${pending.bookingId}/tickets/${ids[1]}/rotating`, { token: buyer.token })).status).toBe(404);
    });
  });
});
