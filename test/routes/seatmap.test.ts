// The compact seat resources: GET /api/events/:eventId/seatmap and …/availability (API.md).
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { withDb } from '../../src/db/client';
import { decodeStatuses } from '../../src/durable/ticket-lock/availability';
import { adminToken, api, createEvent, env, signUp, TestClock } from '../helpers';

interface Seatmap {
  eventId: string;
  version: string;
  currency: string;
  seatCount: number;
  sections: Array<{ name: string; priceCents: number; rows: Array<{ name: string; seats: number }> }>;
}

interface Availability {
  eventId: string;
  version: number;
  seatmapVersion: string;
  seatCount: number;
  statuses: string;
}

/** Ticket ids by seat index, as Postgres orders them (position − 1). */
async function ticketsBySeatIndex(eventId: string): Promise<Array<{ id: string; section: string; row: string; seat: number }>> {
  return withDb(env, async (db) => (await db.execute(sql`select id, section, row, seat from tickets where event_id = ${eventId} order by position`)).rows as never);
}

async function seatmapOf(eventId: string, query = ''): Promise<Seatmap> {
  const response = await api(`/api/events/${eventId}/seatmap${query}`);
  expect(response.status).toBe(200);
  return response.json();
}

async function availabilityOf(eventId: string): Promise<Availability & { codes: number[] }> {
  const response = await api(`/api/events/${eventId}/availability`);
  expect(response.status).toBe(200);
  const body = (await response.json()) as Availability;
  return { ...body, codes: decodeStatuses(body.statuses, body.seatCount) };
}

async function hold(token: string, eventId: string, ticketIds: string[], paymentMethodId?: string): Promise<{ bookingId: string }> {
  const response = await api(`/api/bookings/${eventId}`, { method: 'POST', token, json: { ticketIds, ...(paymentMethodId ? { paymentDetails: { paymentMethodId } } : {}) } });
  if (response.status !== 201) throw new Error(`hold failed: ${response.status} ${await response.text()}`);
  return response.json();
}

describe('GET /api/events/:eventId/seatmap', () => {
  let admin: string;
  beforeAll(async () => {
    admin = await adminToken();
  });

  it('lists sections, rows and seat counts in seat index order, with section prices', async () => {
    const { eventId } = await createEvent(admin, {
      sections: [{ name: 'Floor', rows: 2, seatsPerRow: 3 }, { name: 'Balcony', rows: 1, seatsPerRow: 4 }],
      prices: { Floor: 9000, Balcony: 4000 },
    });

    const seatmap = await seatmapOf(eventId);

    expect(seatmap).toMatchObject({
      eventId,
      currency: 'USD',
      seatCount: 10,
      sections: [
        { name: 'Floor', priceCents: 9000, rows: [{ name: 'A', seats: 3 }, { name: 'B', seats: 3 }] },
        { name: 'Balcony', priceCents: 4000, rows: [{ name: 'A', seats: 4 }] },
      ],
    });
    expect(seatmap.version).toMatch(/^[0-9a-f]{16}$/);
  });

  it('numbers seats by sections, then rows, then seat numbers: seat index i is the ticket at position i + 1', async () => {
    const { eventId } = await createEvent(admin, { sections: [{ name: 'Floor', rows: 2, seatsPerRow: 3 }, { name: 'Balcony', rows: 1, seatsPerRow: 2 }] });

    const seatmap = await seatmapOf(eventId);
    const tickets = await ticketsBySeatIndex(eventId);

    const fromSeatmap = seatmap.sections.flatMap((section) => section.rows.flatMap((row) => Array.from({ length: row.seats }, (_, n) => `${section.name} ${row.name}${n + 1}`)));
    expect(fromSeatmap).toEqual(['Floor A1', 'Floor A2', 'Floor A3', 'Floor B1', 'Floor B2', 'Floor B3', 'Balcony A1', 'Balcony A2']);
    expect(tickets.map((t) => `${t.section} ${t.row}${t.seat}`)).toEqual(fromSeatmap);
  });

  it('answers its current version immutably for a year, and is cacheable for 60 s without one', async () => {
    const { eventId } = await createEvent(admin);
    const current = await seatmapOf(eventId);

    const unversioned = await api(`/api/events/${eventId}/seatmap`);
    const versioned = await api(`/api/events/${eventId}/seatmap?v=${current.version}`);

    expect(unversioned.headers.get('Cache-Control')).toBe('public, max-age=60');
    expect(versioned.status).toBe(200);
    expect(versioned.headers.get('Cache-Control')).toBe('public, max-age=31536000, immutable');
    expect(await versioned.json()).toEqual(current);
  });

  it('changes its version when a price changes, and answers an outdated version 404', async () => {
    const { eventId } = await createEvent(admin, { prices: { Floor: 5000, Balcony: 3000 } });
    const before = await seatmapOf(eventId);

    const patched = await api(`/api/admin/events/${eventId}`, { method: 'PATCH', token: admin, json: { prices: { Floor: 6500 } } });
    expect(patched.status).toBe(200);
    const after = await seatmapOf(eventId);
    const outdated = await api(`/api/events/${eventId}/seatmap?v=${before.version}`);

    expect(after.version).not.toBe(before.version);
    expect(after.sections[0]).toMatchObject({ name: 'Floor', priceCents: 6500 });
    expect(outdated.status).toBe(404);
    expect(((await outdated.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('answers 304 to If-None-Match with its ETag', async () => {
    const { eventId } = await createEvent(admin);
    const first = await api(`/api/events/${eventId}/seatmap`);
    const etag = first.headers.get('ETag')!;

    const again = await api(`/api/events/${eventId}/seatmap`, { headers: { 'If-None-Match': etag } });

    expect(etag).toBe(`"${((await first.json()) as Seatmap).version}"`);
    expect(again.status).toBe(304);
  });

  it('sends the same seat map gzipped to a client that takes gzip', async () => {
    const { eventId } = await createEvent(admin, { sections: Array.from({ length: 12 }, (_, i) => ({ name: `Section ${i + 1}`, rows: 20, seatsPerRow: 10 })), prices: Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`Section ${i + 1}`, 2500])) });
    const text = await (await api(`/api/events/${eventId}/seatmap`)).text();

    const gzipped = await api(`/api/events/${eventId}/seatmap`, { headers: { 'Accept-Encoding': 'gzip' } });

    expect(gzipped.headers.get('Content-Encoding')).toBe('gzip');
    expect(gzipped.headers.get('Cache-Control')).toBe('public, max-age=60');
    expect(await gzipped.text()).toBe(text);
  });

  it('hides drafts from everyone but admins, and answers unknown events 404 in the error shape', async () => {
    const draft = await createEvent(admin, { status: 'draft' });
    const customer = await signUp();

    const anonymous = await api(`/api/events/${draft.eventId}/seatmap`);
    const asCustomer = await api(`/api/events/${draft.eventId}/seatmap`, { token: customer.token });
    const asAdmin = await api(`/api/events/${draft.eventId}/seatmap`, { token: admin });
    const unknown = await api(`/api/events/00000000-0000-4000-8000-000000000000/seatmap`);

    expect(anonymous.status).toBe(404);
    expect(asCustomer.status).toBe(404);
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.headers.get('Cache-Control')).toBe('private, no-cache');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'not_found', message: expect.any(String) } });
  });
});

describe('GET /api/events/:eventId/availability', () => {
  let admin: string;
  const clock = new TestClock();
  beforeAll(async () => {
    admin = await adminToken();
  });
  afterEach(() => clock.uninstall());

  it('shows every seat available on a new event, with the seat map\'s version and size', async () => {
    const { eventId, ticketCount } = await createEvent(admin);
    const seatmap = await seatmapOf(eventId);

    const availability = await availabilityOf(eventId);

    expect(availability).toMatchObject({ eventId, seatmapVersion: seatmap.version, seatCount: ticketCount });
    expect(availability.codes).toEqual(Array(ticketCount).fill(0));
  });

  it('shows held seats reserved, sold seats booked, and a hold that ran out available again', async () => {
    const { eventId } = await createEvent(admin);
    const tickets = await ticketsBySeatIndex(eventId);
    clock.install();
    const buyer = await signUp();
    await hold(buyer.token, eventId, [tickets[1]!.id], 'pm_card_visa');
    await hold(buyer.token, eventId, [tickets[3]!.id, tickets[4]!.id]);

    const during = await availabilityOf(eventId);
    clock.advance(11 * 60 * 1000); // past the 10-minute hold, with no alarm run
    const after = await availabilityOf(eventId);

    expect(during.codes.slice(0, 6)).toEqual([0, 2, 0, 1, 1, 0]);
    expect(after.codes.slice(0, 6)).toEqual([0, 2, 0, 0, 0, 0]);
    expect(after.version).toBeGreaterThan(during.version);
  });

  it('answers 304 to If-None-Match while nothing changed', async () => {
    const { eventId } = await createEvent(admin);
    const first = await api(`/api/events/${eventId}/availability`);
    const etag = first.headers.get('ETag')!;

    const again = await api(`/api/events/${eventId}/availability`, { headers: { 'If-None-Match': etag } });

    expect(first.headers.get('Cache-Control')).toBe('public, max-age=1');
    expect(again.status).toBe(304);
  });

  it('sends the same body gzipped to a client that takes gzip', async () => {
    const { eventId } = await createEvent(admin, { sections: [{ name: 'Floor', rows: 50, seatsPerRow: 100 }], prices: { Floor: 2500 } });
    const plain = await api(`/api/events/${eventId}/availability`);
    const text = await plain.text();

    const gzipped = await api(`/api/events/${eventId}/availability`, { headers: { 'Accept-Encoding': 'gzip, deflate' } });
    const again = await api(`/api/events/${eventId}/availability`, { headers: { 'Accept-Encoding': 'gzip' } });

    expect(plain.headers.get('Content-Encoding')).toBeNull();
    for (const answer of [gzipped, again]) {
      expect(answer.headers.get('Content-Encoding')).toBe('gzip');
      expect(answer.headers.get('ETag')).toBe(plain.headers.get('ETag'));
      expect(answer.headers.get('Cache-Control')).toBe('public, max-age=1');
      // The runtime's fetch inflates a gzip answer for its caller, as a browser does.
      expect(await answer.text()).toBe(text);
    }
  });

  it('hides drafts from everyone but admins', async () => {
    const draft = await createEvent(admin, { status: 'draft' });

    expect((await api(`/api/events/${draft.eventId}/availability`)).status).toBe(404);
    expect((await api(`/api/events/${draft.eventId}/availability`, { token: admin })).status).toBe(200);
  });

  it('draws and keeps current an 80,000-seat map from at most 100 KB: the seat map and the availability together', { timeout: 180_000 }, async () => {
    const { eventId, ticketCount } = await createEvent(admin, {
      sections: Array.from({ length: 8 }, (_, i) => ({ name: `Section ${i + 1}`, rows: 20, seatsPerRow: 500 })),
      prices: Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`Section ${i + 1}`, 5000 + i * 500])),
    });
    expect(ticketCount).toBe(80_000);

    const seatmap = await api(`/api/events/${eventId}/seatmap`);
    const availability = await api(`/api/events/${eventId}/availability`);
    const seatmapBytes = (await seatmap.arrayBuffer()).byteLength;
    const availabilityBody = new TextDecoder().decode(await availability.arrayBuffer());
    const { statuses, seatCount } = JSON.parse(availabilityBody) as Availability;

    expect(seatCount).toBe(80_000);
    expect(atob(statuses)).toHaveLength(20_000);
    expect(seatmapBytes + availabilityBody.length).toBeLessThanOrEqual(100 * 1024);
  });
});
