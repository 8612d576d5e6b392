// POST /api/bookings/:eventId with `best` (API.md, best available): the TicketLock picks the seats
// and holds them at once.
import { describe, expect, it } from 'vitest';
import { adminToken, api, createEvent, env, signUp, ticketIdsOf, unique } from '../helpers';

interface BookingJson {
  bookingId: string;
  status: string;
  ticketIds: string[];
  seats?: number[];
  tickets: Array<{ id: string; section: string | null; row: string | null; seat: number | null; priceCents: number }>;
  totalCents: number;
}

interface ErrorJson {
  error: { code: string; details?: unknown };
}

const hold = (token: string, eventId: string, json: unknown, headers?: Record<string, string>) => api(`/api/bookings/${eventId}`, { method: 'POST', token, json, headers });
const names = (booking: BookingJson) => booking.tickets.map(({ section, row, seat }) => `${section} ${row}${seat}`);

/** Floor: rows A and B of 6 (seat indexes 0–11) at 5000; Balcony: row A of 6 (12–17) at 6000. */
async function hall(): Promise<{ eventId: string; ticketIds: string[] }> {
  const admin = await adminToken();
  const { eventId } = await createEvent(admin, {
    sections: [{ name: 'Floor', rows: 2, seatsPerRow: 6 }, { name: 'Balcony', rows: 1, seatsPerRow: 6 }],
    prices: { Floor: 5000, Balcony: 6000 },
  });
  return { eventId, ticketIds: await ticketIdsOf(eventId) };
}

describe('POST /api/bookings/:eventId with best', () => {
  it('holds the best seats and answers like a hold, with their ticketIds and seat indexes', async () => {
    const { eventId, ticketIds } = await hall();
    const buyer = await signUp();

    const response = await hold(buyer.token, eventId, { best: { quantity: 2 } });

    expect(response.status).toBe(201);
    const booking = (await response.json()) as BookingJson;
    // The dearer section, its first row, the two seats at its centre.
    expect(booking.seats).toEqual([14, 15]);
    expect(booking.ticketIds).toEqual([ticketIds[14], ticketIds[15]]);
    expect(names(booking)).toEqual(['Balcony A3', 'Balcony A4']);
    expect(booking).toMatchObject({ status: 'pending', totalCents: 12_000 });
    const stored = (await (await api(`/api/bookings/${booking.bookingId}`, { token: buyer.token })).json()) as BookingJson;
    expect(stored.ticketIds).toEqual(booking.ticketIds);
  });

  it('chooses around what is taken, within the section or price asked for', async () => {
    const { eventId } = await hall();
    const buyer = await signUp();
    const other = await signUp();
    await hold(other.token, eventId, { seats: [14, 15] });

    // Balcony A1–A2 and A5–A6 are left, equally near the centre: the lower pair.
    const second = (await (await hold(buyer.token, eventId, { best: { quantity: 2 } })).json()) as BookingJson;
    const cheaper = (await (await hold(buyer.token, eventId, { best: { quantity: 2, maxPriceCents: 5000 } })).json()) as BookingJson;
    // Three of six in a row: seats 1–3, as seats 2–4 or 3–5 would leave a single seat beside them.
    const floor = (await (await hold(other.token, eventId, { best: { quantity: 3, section: 'Floor' } })).json()) as BookingJson;

    expect(names(second)).toEqual(['Balcony A1', 'Balcony A2']);
    expect(names(cheaper)).toEqual(['Floor A3', 'Floor A4']);
    // Row A has A1–A2 and A5–A6 left: no three adjacent, so row B.
    expect(names(floor)).toEqual(['Floor B1', 'Floor B2', 'Floor B3']);
  });

  it('offers seats again once their hold is released or has run out, and follows new prices', async () => {
    const { eventId } = await hall();
    const buyer = await signUp();
    const first = (await (await hold(buyer.token, eventId, { best: { quantity: 2 } })).json()) as BookingJson;
    expect((await api(`/api/bookings/${first.bookingId}`, { method: 'DELETE', token: buyer.token })).status).toBe(204);

    const again = (await (await hold(buyer.token, eventId, { best: { quantity: 2 } })).json()) as BookingJson;
    expect(again.seats).toEqual([14, 15]);

    // A hold that has run out (the alarm has not ended it yet) does not keep its seats.
    const lock = env.TICKET_LOCK.getByName(eventId);
    const lapsed = await lock.holdSeats({ eventId, userId: buyer.user.id, best: { quantity: 2 }, ttlSeconds: 0, maxTicketsPerUser: 10 });
    expect(lapsed).toMatchObject({ ok: true, seats: [12, 13] });
    const afterLapse = (await (await hold(buyer.token, eventId, { best: { quantity: 2 } })).json()) as BookingJson;
    expect(afterLapse.seats).toEqual([12, 13]);

    // The Floor becomes the dearer section.
    const admin = await adminToken();
    const patched = await api(`/api/admin/events/${eventId}`, { method: 'PATCH', token: admin, json: { prices: { Floor: 7000, Balcony: 6000 } } });
    expect(patched.status).toBe(200);
    const dearer = (await (await hold(buyer.token, eventId, { best: { quantity: 2 } })).json()) as BookingJson;
    expect(names(dearer)).toEqual(['Floor A3', 'Floor A4']);
    expect(dearer.totalCents).toBe(14_000);
  });

  it('answers 409 tickets_unavailable when nothing fits, and holds nothing', async () => {
    const { eventId } = await hall();
    const buyer = await signUp();

    const tooMany = await hold(buyer.token, eventId, { best: { quantity: 7, section: 'Balcony' } });
    const tooCheap = await hold(buyer.token, eventId, { best: { quantity: 1, maxPriceCents: 4999 } });
    const noSuchSection = await hold(buyer.token, eventId, { best: { quantity: 1, section: 'Stalls' } });

    for (const response of [tooMany, tooCheap, noSuchSection]) {
      expect(response.status).toBe(409);
      expect(((await response.json()) as ErrorJson).error).toMatchObject({ code: 'tickets_unavailable', details: { ticketIds: [] } });
    }
    const admin = await adminToken();
    const sales = (await (await api(`/api/admin/events/${eventId}/sales`, { token: admin })).json()) as { held: number };
    expect(sales.held).toBe(0);
  });

  it.each([
    ['no way of naming seats', {}],
    ['best with ticketIds', { best: { quantity: 1 }, ticketIds: ['00000000-0000-4000-8000-000000000000'] }],
    ['best with seats', { best: { quantity: 1 }, seats: [0] }],
    ['quantity 0', { best: { quantity: 0 } }],
    ['quantity 11', { best: { quantity: 11 } }],
    ['a fractional quantity', { best: { quantity: 1.5 } }],
    ['quantity as text', { best: { quantity: '2' } }],
    ['no quantity', { best: {} }],
    ['an empty section', { best: { quantity: 1, section: '' } }],
    ['a negative maxPriceCents', { best: { quantity: 1, maxPriceCents: -1 } }],
    ['best that is not an object', { best: 2 }],
  ])('refuses %s with 400 validation_failed', async (_case, body) => {
    const { eventId } = await hall();
    const buyer = await signUp();

    const response = await hold(buyer.token, eventId, body);

    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorJson).error.code).toBe('validation_failed');
  });

  it('never gives one seat to two of many buyers asking at once, and fills the event', async () => {
    const admin = await adminToken();
    // 20 seats; 20 buyers ask for 2 each at the same moment.
    const { eventId } = await createEvent(admin, { sections: [{ name: 'Floor', rows: 2, seatsPerRow: 10 }], prices: { Floor: 5000 } });
    const buyers = await Promise.all(Array.from({ length: 20 }, () => signUp()));

    const responses = await Promise.all(buyers.map((buyer) => hold(buyer.token, eventId, { best: { quantity: 2 } })));

    const held = await Promise.all(responses.filter((r) => r.status === 201).map(async (r) => (await r.json()) as BookingJson));
    const refused = responses.filter((r) => r.status === 409);
    expect(held.length + refused.length).toBe(20);
    const seats = held.flatMap((booking) => booking.seats!);
    expect(new Set(seats).size).toBe(seats.length);
    expect(seats.length).toBeLessThanOrEqual(20);
    // Two seats of one section are always found (across rows if need be): every seat goes.
    expect(held).toHaveLength(10);
    const sales = (await (await api(`/api/admin/events/${eventId}/sales`, { token: admin })).json()) as { held: number; available: number };
    expect(sales).toMatchObject({ held: 20, available: 0 });
  });

  it('keeps the ticket limit and replays an Idempotency-Key as any hold does', async () => {
    const { eventId } = await hall();
    const buyer = await signUp();
    const key = unique('best-');

    const first = await hold(buyer.token, eventId, { best: { quantity: 4 } }, { 'Idempotency-Key': key });
    const replay = await hold(buyer.token, eventId, { best: { quantity: 4 } }, { 'Idempotency-Key': key });
    const more = await hold(buyer.token, eventId, { best: { quantity: 6 } });
    const overLimit = await hold(buyer.token, eventId, { best: { quantity: 1 } });

    expect(first.status).toBe(201);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('Idempotent-Replayed')).toBe('true');
    expect(((await replay.json()) as BookingJson).bookingId).toBe(((await first.json()) as BookingJson).bookingId);
    expect(more.status).toBe(201);
    expect(overLimit.status).toBe(409);
    expect(((await overLimit.json()) as ErrorJson).error.code).toBe('ticket_limit');
  });

  it('pays in the same call with paymentDetails', async () => {
    const { eventId } = await hall();
    const buyer = await signUp();

    const response = await hold(buyer.token, eventId, { best: { quantity: 1, section: 'Floor' }, paymentDetails: { paymentMethodId: 'pm_card_visa' } });

    expect(response.status).toBe(201);
    const booking = (await response.json()) as BookingJson;
    expect(booking.status).toBe('confirmed');
    expect(names(booking)).toEqual(['Floor A3']);
    expect(booking.seats).toEqual([2]);
  });
});
