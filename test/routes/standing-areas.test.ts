// General admission (API.md, "Inventory like a real box office"): a venue section may be a
// standing area of `capacity` places. Each place is a ticket with row and seat null and a seat
// index of its own; buyers take places with `best`.
import { describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { withDb } from '../../src/db/client';
import { venues } from '../../src/db/schema';
import { adminToken, api, createEvent, env, signUp, unique } from '../helpers';

interface BookingJson {
  bookingId: string;
  status: string;
  ticketIds: string[];
  seats?: number[];
  tickets: Array<{ id: string; section: string | null; row: string | null; seat: number | null; priceCents: number; code: string | null }>;
  totalCents: number;
}

interface ErrorJson {
  error: { code: string; details?: unknown };
}

const STALLS = [0, 1, 2, 3, 4, 5];
const FLOOR = [6, 7, 8, 9, 10, 11, 12, 13];

/**
 * Stalls: rows A and B of 3 seats (seat indexes 0–5) at 5000; Floor: standing, 8 places (6–13) at
 * 7000; Balcony: row A of 4 (14–17) at 3000.
 */
async function club(): Promise<{ eventId: string; admin: string }> {
  const admin = await adminToken();
  const { eventId, ticketCount } = await createEvent(admin, {
    sections: [
      { name: 'Stalls', rows: 2, seatsPerRow: 3 },
      { name: 'Floor', kind: 'standing', capacity: 8 },
      { name: 'Balcony', rows: 1, seatsPerRow: 4 },
    ],
    prices: { Stalls: 5000, Floor: 7000, Balcony: 3000 },
  });
  expect(ticketCount).toBe(18);
  return { eventId, admin };
}

const hold = (token: string, eventId: string, json: unknown) => api(`/api/bookings/${eventId}`, { method: 'POST', token, json });

async function held(token: string, eventId: string, json: unknown): Promise<BookingJson> {
  const response = await hold(token, eventId, json);
  expect(response.status).toBe(201);
  return response.json();
}

/** The availability's statuses (API.md: 2 bits a seat, low bits first): 0 available, 1 reserved, 2 booked. */
async function statuses(eventId: string): Promise<number[]> {
  const body = (await (await api(`/api/events/${eventId}/availability`)).json()) as { seatCount: number; statuses: string };
  const bytes = Uint8Array.from(atob(body.statuses), (ch) => ch.charCodeAt(0));
  return Array.from({ length: body.seatCount }, (_, i) => (bytes[i >> 2]! >> (2 * (i & 3))) & 3);
}

const freeAmong = (all: number[], indexes: number[]) => indexes.filter((i) => all[i] === 0);

describe('venues with standing areas', () => {
  it('creates a standing section beside seated ones; the venue counts its places', async () => {
    const admin = await adminToken();

    const response = await api('/api/admin/venues', {
      method: 'POST',
      token: admin,
      json: { name: unique('Club '), city: 'Springfield', sections: [{ name: 'Floor', kind: 'standing', capacity: 300 }, { name: 'Balcony', rows: 2, seatsPerRow: 10 }] },
    });

    expect(response.status).toBe(201);
    const { venue } = (await response.json()) as { venue: { capacity: number; sections: unknown[] } };
    expect(venue.capacity).toBe(320);
    expect(venue.sections).toEqual([
      { name: 'Floor', kind: 'standing', capacity: 300 },
      { name: 'Balcony', kind: 'seated', rows: 2, seatsPerRow: 10 },
    ]);
  });

  it.each([
    ['no capacity', { name: 'Floor', kind: 'standing' }],
    ['capacity 0', { name: 'Floor', kind: 'standing', capacity: 0 }],
    ['a fractional capacity', { name: 'Floor', kind: 'standing', capacity: 2.5 }],
    ['a capacity as text', { name: 'Floor', kind: 'standing', capacity: '100' }],
    ['a capacity past the venue limit', { name: 'Floor', kind: 'standing', capacity: 100_001 }],
    ['rows instead of a capacity', { name: 'Floor', kind: 'standing', rows: 2, seatsPerRow: 10 }],
    ['an unknown kind', { name: 'Floor', kind: 'lawn', capacity: 100 }],
    ['a seated kind without rows', { name: 'Floor', kind: 'seated', capacity: 100 }],
  ])('refuses a standing section with %s (400, nothing created)', async (_, section) => {
    const admin = await adminToken();
    const name = unique('Refused ');

    const response = await api('/api/admin/venues', { method: 'POST', token: admin, json: { name, city: 'Springfield', sections: [section] } });

    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorJson).error.code).toBe('validation_failed');
    expect(await withDb(env, (db) => db.select().from(venues).where(eq(venues.name, name)))).toEqual([]);
  });

  it('counts standing places in the venue limit', async () => {
    const admin = await adminToken();

    const response = await api('/api/admin/venues', {
      method: 'POST',
      token: admin,
      json: { name: unique('Too big '), city: 'Springfield', sections: [{ name: 'Floor', kind: 'standing', capacity: 99_000 }, { name: 'Stand', rows: 10, seatsPerRow: 101 }] },
    });

    expect(response.status).toBe(400);
  });
});

describe('the seat map and views of a standing area', () => {
  it('shows a standing section as its capacity and price, taking the next capacity seat indexes', async () => {
    const { eventId } = await club();

    const seatmap = (await (await api(`/api/events/${eventId}/seatmap`)).json()) as { seatCount: number; sections: unknown[] };

    expect(seatmap.seatCount).toBe(18);
    expect(seatmap.sections).toEqual([
      { name: 'Stalls', kind: 'seated', priceCents: 5000, rows: [{ name: 'A', seats: 3 }, { name: 'B', seats: 3 }] },
      { name: 'Floor', kind: 'standing', capacity: 8, priceCents: 7000 },
      { name: 'Balcony', kind: 'seated', priceCents: 3000, rows: [{ name: 'A', seats: 4 }] },
    ]);
    // Availability counts every place: 18 free seat indexes.
    expect(await statuses(eventId)).toEqual(Array(18).fill(0));
  });

  it('lists standing places in the event view with row and seat null, at the seat-map positions', async () => {
    const { eventId } = await club();

    const view = (await (await api(`/api/events/${eventId}`)).json()) as { tickets: Array<{ section: string; row: string | null; seat: number | null; priceCents: number }> };

    expect(view.tickets).toHaveLength(18);
    for (const i of FLOOR) expect(view.tickets[i]).toMatchObject({ section: 'Floor', row: null, seat: null, priceCents: 7000 });
    expect(view.tickets[5]).toMatchObject({ section: 'Stalls', row: 'B', seat: 3 });
    expect(view.tickets[14]).toMatchObject({ section: 'Balcony', row: 'A', seat: 1 });
  });
});

describe('taking standing places with best', () => {
  it('takes N free places of the area, answered with row and seat null, at the area price', async () => {
    const { eventId } = await club();
    const buyer = await signUp();

    const booking = await held(buyer.token, eventId, { best: { quantity: 3, section: 'Floor' } });

    expect(booking.seats).toHaveLength(3);
    for (const seat of booking.seats!) expect(FLOOR).toContain(seat);
    expect(new Set(booking.seats).size).toBe(3);
    expect(booking.tickets.map(({ section, row, seat }) => ({ section, row, seat }))).toEqual(Array(3).fill({ section: 'Floor', row: null, seat: null }));
    expect(booking.totalCents).toBe(21_000);
    // The booking read back names its places the same way.
    const stored = (await (await api(`/api/bookings/${booking.bookingId}`, { token: buyer.token })).json()) as BookingJson;
    expect(stored.tickets.map((t) => [t.section, t.row, t.seat])).toEqual(Array(3).fill(['Floor', null, null]));
    const now = await statuses(eventId);
    expect(booking.seats!.map((seat) => now[seat])).toEqual([1, 1, 1]);
    expect(freeAmong(now, FLOOR)).toHaveLength(5);
  });

  it('ranks a standing area by price like a seated section', async () => {
    const { eventId } = await club();
    const buyer = await signUp();

    // The dearest section is the standing one.
    const dearest = await held(buyer.token, eventId, { best: { quantity: 2 } });
    // Within 5000: a row of the Stalls (the dearer seated section), as the area is too dear.
    const within = await held(buyer.token, eventId, { best: { quantity: 3, maxPriceCents: 5000 } });

    for (const seat of dearest.seats!) expect(FLOOR).toContain(seat);
    for (const seat of within.seats!) expect(STALLS).toContain(seat);
  });

  it('never takes a place held by someone else, by index or by best', async () => {
    const { eventId } = await club();
    const first = await signUp();
    const second = await signUp();
    // Places are tickets: holds by seat index take them too.
    const byIndex = await held(first.token, eventId, { seats: [6, 9] });
    expect(byIndex.tickets.map((t) => [t.section, t.row, t.seat])).toEqual([['Floor', null, null], ['Floor', null, null]]);

    const rest = await held(second.token, eventId, { best: { quantity: 6, section: 'Floor' } });

    expect(rest.seats).toEqual([7, 8, 10, 11, 12, 13]);
  });

  it('refuses with 409 tickets_unavailable when the area has fewer free places than asked, and holds nothing', async () => {
    const { eventId } = await club();
    const buyer = await signUp();
    const late = await signUp();
    await held(buyer.token, eventId, { best: { quantity: 7, section: 'Floor' } });
    const before = await statuses(eventId);

    const refused = await hold(late.token, eventId, { best: { quantity: 2, section: 'Floor' } });

    expect(refused.status).toBe(409);
    expect(((await refused.json()) as ErrorJson).error.code).toBe('tickets_unavailable');
    expect(await statuses(eventId)).toEqual(before);
    // The one place left is still there for one.
    const last = await held(late.token, eventId, { best: { quantity: 1, section: 'Floor' } });
    expect(last.seats).toEqual(freeAmong(before, FLOOR));
  });

  it('gives the last places to one of two parallel buyers, all or nothing', async () => {
    const { eventId } = await club();
    const early = await signUp();
    await held(early.token, eventId, { best: { quantity: 5, section: 'Floor' } });
    const [a, b] = [await signUp(), await signUp()];

    const answers = await Promise.all([a, b].map((buyer) => hold(buyer.token, eventId, { best: { quantity: 2, section: 'Floor' } })));

    expect(answers.map((r) => r.status).sort()).toEqual([201, 409]);
    const winner = (await answers.find((r) => r.status === 201)!.json()) as BookingJson;
    expect(winner.seats).toHaveLength(2);
    const now = await statuses(eventId);
    expect(freeAmong(now, FLOOR)).toHaveLength(1);
  });

  it('releases places back to the area when a hold is cancelled', async () => {
    const { eventId } = await club();
    const buyer = await signUp();
    const first = await held(buyer.token, eventId, { best: { quantity: 8, section: 'Floor' } });
    expect((await hold(buyer.token, eventId, { best: { quantity: 1, section: 'Floor' } })).status).toBe(409);

    expect((await api(`/api/bookings/${first.bookingId}`, { method: 'DELETE', token: buyer.token })).status).toBe(204);

    const again = await held(buyer.token, eventId, { best: { quantity: 8, section: 'Floor' } });
    expect(again.seats).toEqual(FLOOR);
  });
});

type Frame = { event: string; data: { seatCount?: number; changes?: Array<[number, number]> } };

/** Frames of a compact seat stream (`event:` and JSON `data:`), read until `until` says enough or 5 s pass. */
async function compactFrames(response: Response, until: (frames: Frame[]) => boolean): Promise<Frame[]> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const frames: Frame[] = [];
  let buffer = '';
  const deadline = Date.now() + 5000;
  while (!until(frames) && Date.now() < deadline) {
    const { value, done } = await Promise.race([reader.read(), new Promise<{ value: undefined; done: true }>((resolve) => setTimeout(() => resolve({ value: undefined, done: true }), deadline - Date.now()))]);
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const lines = buffer.slice(0, end).split('\n');
      buffer = buffer.slice(end + 2);
      const event = lines.find((l) => l.startsWith('event:'))?.slice(6).trim();
      const data = lines.find((l) => l.startsWith('data:'))?.slice(5).trim();
      if (event && data) frames.push({ event, data: JSON.parse(data) });
    }
  }
  await reader.cancel();
  return frames;
}

describe('standing places in the compact seat stream and holds by ticket id', () => {
  it('sends the places taken in an area as [seatIndex, status] changes of their indexes', async () => {
    const { eventId } = await club();
    const buyer = await signUp();
    const stream = await api(`/api/events/${eventId}/seats/stream?format=compact`);
    expect(stream.status).toBe(200);
    const reading = compactFrames(stream, (frames) => frames.some((f) => f.event === 'seats'));
    // The snapshot first (the stream syncs with the TicketLock), then the hold.
    await new Promise((resolve) => setTimeout(resolve, 300));

    const booking = await held(buyer.token, eventId, { best: { quantity: 2, section: 'Floor' } });

    const frames = await reading;
    expect(frames[0]).toMatchObject({ event: 'snapshot', data: { seatCount: 18 } });
    const changes = frames.filter((f) => f.event === 'seats').flatMap((f) => f.data.changes ?? []);
    expect(new Map(changes)).toEqual(new Map(booking.seats!.map((seat) => [seat, 1])));
  });

  it('holds standing places named by ticket id, all or nothing', async () => {
    const { eventId } = await club();
    const [first, second] = [await signUp(), await signUp()];
    const view = (await (await api(`/api/events/${eventId}`)).json()) as { tickets: Array<{ id: string }> };
    const floor = FLOOR.map((i) => view.tickets[i]!.id);

    const booking = await held(first.token, eventId, { ticketIds: [floor[0], floor[1]] });
    const overlapping = await hold(second.token, eventId, { ticketIds: [floor[1], floor[2]] });

    expect(booking.tickets.map((t) => [t.section, t.row, t.seat])).toEqual([['Floor', null, null], ['Floor', null, null]]);
    expect(overlapping.status).toBe(409);
    const now = await statuses(eventId);
    expect(FLOOR.map((i) => now[i])).toEqual([1, 1, 0, 0, 0, 0, 0, 0]);
  });
});

describe('standing tickets bought, listed, scanned and counted', () => {
  it('pays, lists in /me/bookings with row and seat null, admits once at the door, and counts in sales', async () => {
    const { eventId, admin } = await club();
    const buyer = await signUp();
    const other = await signUp();

    const bought = await held(buyer.token, eventId, { best: { quantity: 2, section: 'Floor' }, paymentDetails: { paymentMethodId: 'pm_card_visa' } });
    await held(other.token, eventId, { best: { quantity: 3, section: 'Floor' } });

    expect(bought.status).toBe('confirmed');
    const mine = (await (await api('/api/me/bookings', { token: buyer.token })).json()) as { bookings: BookingJson[] };
    const listed = mine.bookings.find((b) => b.bookingId === bought.bookingId)!;
    expect(listed.tickets.map((t) => [t.section, t.row, t.seat])).toEqual([['Floor', null, null], ['Floor', null, null]]);

    const code = bought.tickets[0]!.code!;
    const scan = () => api('/api/admin/scan', { method: 'POST', token: admin, json: { code } });
    const first = (await (await scan()).json()) as { result: string; ticket: unknown; eventId: string };
    const second = (await (await scan()).json()) as { result: string; ticket: unknown };
    expect(first).toMatchObject({ result: 'admitted', eventId, ticket: { id: bought.tickets[0]!.id, section: 'Floor', row: null, seat: null } });
    expect(second).toMatchObject({ result: 'already_admitted', ticket: { section: 'Floor', row: null, seat: null } });

    const sales = (await (await api(`/api/admin/events/${eventId}/sales`, { token: admin })).json()) as Record<string, number>;
    expect(sales).toMatchObject({ sold: 2, held: 3, available: 13, revenueCents: 14_000 });
  });
});
