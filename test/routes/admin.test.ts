import { beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { withDb } from '../../src/db/client';
import { adminToken, api, createEvent, env, signUp, unique, type CreatedEvent } from '../helpers';

interface ErrorBody {
  error: { code: string; message: string; details?: Array<{ field: string; message: string }> };
}

interface EventJson {
  id: string;
  name: string;
  description: string | null;
  startsAt: string;
  onSaleAt: string;
  status: string;
  performerId: string;
  venueId: string;
  currency: string;
  prices: Record<string, number>;
  queue: { enabled: boolean };
}

interface EventView {
  event: EventJson;
  venue: { id: string; name: string; city: string; address: string | null; capacity: number };
  tickets: Array<{ id: string; section: string; row: string; seat: number; priceCents: number; currency: string; status: string }>;
}

type Section = { name: string; rows: number; seatsPerRow: number };

const STARTS_AT = '2031-06-01T19:00:00.000Z';
const MISSING_ID = '00000000-0000-4000-8000-000000000000';

async function expectValidationError(response: Response, ...fields: string[]): Promise<ErrorBody> {
  expect(response.status).toBe(400);
  const body = (await response.json()) as ErrorBody;
  expect(body.error).toMatchObject({ code: 'validation_failed', message: expect.any(String) });
  for (const field of fields) {
    expect(body.error.details, field).toEqual(expect.arrayContaining([expect.objectContaining({ field, message: expect.any(String) })]));
  }
  return body;
}

async function count(table: 'venues' | 'events' | 'performers', name: string): Promise<number> {
  return withDb(env, async (db) => {
    const result = await db.execute(sql`select count(*)::int as n from ${sql.identifier(table)} where name = ${name}`);
    return Number((result.rows[0] as { n: number }).n);
  });
}

async function view(eventId: string, token?: string): Promise<EventView> {
  const response = await api(`/api/events/${eventId}`, { token });
  expect(response.status).toBe(200);
  return (await response.json()) as EventView;
}

describe('organizer API', () => {
  let admin: string;
  let customer: string;

  beforeAll(async () => {
    admin = await adminToken();
    customer = (await signUp()).token;
  });

  async function newPerformer(name = unique('Performer ')): Promise<string> {
    const response = await api('/api/admin/performers', { method: 'POST', token: admin, json: { name } });
    expect(response.status).toBe(201);
    return ((await response.json()) as { performer: { id: string } }).performer.id;
  }

  async function newVenue(sections: Section[], name = unique('Venue ')): Promise<{ id: string; capacity: number }> {
    const response = await api('/api/admin/venues', { method: 'POST', token: admin, json: { name, city: 'Utrecht', sections } });
    expect(response.status).toBe(201);
    return ((await response.json()) as { venue: { id: string; capacity: number } }).venue;
  }

  function postEvent(json: Record<string, unknown>): Promise<Response> {
    return api('/api/admin/events', { method: 'POST', token: admin, json });
  }

  function patchEvent(eventId: string, json: unknown): Promise<Response> {
    return api(`/api/admin/events/${eventId}`, { method: 'PATCH', token: admin, json });
  }

  describe('access', () => {
    let existing: CreatedEvent;

    beforeAll(async () => {
      existing = await createEvent(admin);
    });

    const endpoints = (): Array<[string, string, unknown]> => [
      ['POST', '/api/admin/performers', { name: unique('Intruder ') }],
      ['POST', '/api/admin/venues', { name: unique('Intruder Hall '), city: 'Nowhere', sections: [{ name: 'Floor', rows: 1, seatsPerRow: 1 }] }],
      ['POST', '/api/admin/events', { name: unique('Intruder Night '), performerId: existing.performerId, venueId: existing.venueId, startsAt: STARTS_AT, prices: { Floor: 1, Balcony: 1 } }],
      ['PATCH', `/api/admin/events/${existing.eventId}`, { name: 'Hijacked' }],
      ['GET', `/api/admin/events/${existing.eventId}/sales`, undefined],
    ];

    it('answers 401 unauthenticated to anonymous callers on every admin endpoint', async () => {
      for (const [method, path, json] of endpoints()) {
        const response = await api(path, { method, json });
        expect(response.status, `${method} ${path}`).toBe(401);
        expect(((await response.json()) as ErrorBody).error.code).toBe('unauthenticated');
      }
    });

    it('answers 403 forbidden to customers on every admin endpoint, and changes nothing', async () => {
      const attempts = endpoints();
      for (const [method, path, json] of attempts) {
        const response = await api(path, { method, json, token: customer });
        expect(response.status, `${method} ${path}`).toBe(403);
        expect(((await response.json()) as ErrorBody).error.code).toBe('forbidden');
      }
      expect(await count('performers', (attempts[0]![2] as { name: string }).name)).toBe(0);
      expect(await count('venues', (attempts[1]![2] as { name: string }).name)).toBe(0);
      expect(await count('events', (attempts[2]![2] as { name: string }).name)).toBe(0);
      expect((await view(existing.eventId)).event.name).not.toBe('Hijacked');
    });
  });

  describe('POST /api/admin/performers', () => {
    it('answers 201 with the performer', async () => {
      const name = unique('Nina Vale ');
      const response = await api('/api/admin/performers', { method: 'POST', token: admin, json: { name, genre: 'jazz', bio: 'Sings.' } });
      expect(response.status).toBe(201);
      expect(await response.json()).toEqual({ performer: { id: expect.any(String), name, genre: 'jazz', bio: 'Sings.' } });
    });

    it('leaves genre and bio null when not given', async () => {
      const name = unique('Solo ');
      const response = await api('/api/admin/performers', { method: 'POST', token: admin, json: { name } });
      expect(response.status).toBe(201);
      expect(await response.json()).toEqual({ performer: { id: expect.any(String), name, genre: null, bio: null } });
    });

    it('answers 400 naming the field for a missing name', async () => {
      await expectValidationError(await api('/api/admin/performers', { method: 'POST', token: admin, json: { genre: 'jazz' } }), 'name');
    });
  });

  describe('POST /api/admin/venues', () => {
    it('answers 201 with the venue, its capacity the sum of rows times seats per row', async () => {
      const name = unique('Grand Hall ');
      const sections = [
        { name: 'Stalls', rows: 3, seatsPerRow: 4 },
        { name: 'Circle', rows: 2, seatsPerRow: 5 },
      ];
      const response = await api('/api/admin/venues', { method: 'POST', token: admin, json: { name, city: 'Utrecht', address: '2 Canal St', sections } });
      expect(response.status).toBe(201);
      const { venue } = (await response.json()) as { venue: Record<string, unknown> };
      expect(venue).toMatchObject({ id: expect.any(String), name, city: 'Utrecht', address: '2 Canal St', capacity: 22 });
    });

    it('names rows A, B, C… and numbers seats from 1, as the event view shows', async () => {
      const venue = await newVenue([{ name: 'Stalls', rows: 3, seatsPerRow: 4 }]);
      const response = await postEvent({ name: unique('Layout '), performerId: await newPerformer(), venueId: venue.id, startsAt: STARTS_AT, prices: { Stalls: 2500 } });
      expect(response.status).toBe(201);
      const { tickets } = await view(((await response.json()) as { event: { id: string } }).event.id);
      expect(tickets.map((t) => `${t.row}${t.seat}`)).toEqual(['A1', 'A2', 'A3', 'A4', 'B1', 'B2', 'B3', 'B4', 'C1', 'C2', 'C3', 'C4']);
      expect(new Set(tickets.map((t) => t.section))).toEqual(new Set(['Stalls']));
    });

    it('names the 27th row AA', async () => {
      const venue = await newVenue([{ name: 'Terrace', rows: 27, seatsPerRow: 1 }]);
      expect(venue.capacity).toBe(27);
      const response = await postEvent({ name: unique('Rows '), performerId: await newPerformer(), venueId: venue.id, startsAt: STARTS_AT, prices: { Terrace: 1000 } });
      const { tickets } = await view(((await response.json()) as { event: { id: string } }).event.id);
      expect(tickets.map((t) => t.row)).toEqual([...'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'AA']);
    });

    const invalid: Array<[string, Section[], string]> = [
      ['duplicate section names', [{ name: 'Floor', rows: 1, seatsPerRow: 1 }, { name: 'Floor', rows: 1, seatsPerRow: 1 }], 'sections.1.name'],
      ['section names that differ only in case', [{ name: 'Floor', rows: 1, seatsPerRow: 1 }, { name: 'FLOOR', rows: 1, seatsPerRow: 1 }], 'sections.1.name'],
      ['more than 100 000 seats', [{ name: 'North', rows: 200, seatsPerRow: 500 }, { name: 'South', rows: 1, seatsPerRow: 1 }], 'sections'],
      ['no sections', [], 'sections'],
      ['a section without rows', [{ name: 'Floor', rows: 0, seatsPerRow: 10 }], 'sections.0.rows'],
    ];
    for (const [what, sections, field] of invalid) {
      it(`answers 400 naming ${field} for ${what}, and writes nothing`, async () => {
        const name = unique('Rejected Hall ');
        const response = await api('/api/admin/venues', { method: 'POST', token: admin, json: { name, city: 'Utrecht', sections } });
        await expectValidationError(response, field);
        expect(await count('venues', name)).toBe(0);
      });
    }
  });

  describe('POST /api/admin/events', () => {
    let performerId: string;
    let venue: { id: string; capacity: number };

    beforeAll(async () => {
      performerId = await newPerformer();
      venue = await newVenue([
        { name: 'Floor', rows: 2, seatsPerRow: 3 },
        { name: 'Balcony', rows: 1, seatsPerRow: 2 },
      ]);
    });

    it('answers 201 with the event and one ticket per seat, priced by section', async () => {
      const name = unique('Opening Night ');
      const response = await postEvent({
        name,
        description: 'First night.',
        performerId,
        venueId: venue.id,
        startsAt: STARTS_AT,
        onSaleAt: '2031-01-01T10:00:00.000Z',
        prices: { Floor: 9900, Balcony: 4900 },
        currency: 'eur',
      });
      expect(response.status).toBe(201);
      const body = (await response.json()) as { event: EventJson; ticketCount: number };
      expect(body.ticketCount).toBe(venue.capacity);
      expect(body.event).toMatchObject({
        id: expect.any(String),
        name,
        description: 'First night.',
        startsAt: STARTS_AT,
        onSaleAt: '2031-01-01T10:00:00.000Z',
        status: 'published',
        performerId,
        venueId: venue.id,
        currency: 'EUR',
        queue: { enabled: false },
      });

      const { tickets } = await view(body.event.id);
      expect(tickets).toHaveLength(8);
      expect(tickets.filter((t) => t.section === 'Floor').map((t) => t.priceCents)).toEqual(Array(6).fill(9900));
      expect(tickets.filter((t) => t.section === 'Balcony').map((t) => t.priceCents)).toEqual([4900, 4900]);
      expect(new Set(tickets.map((t) => t.currency))).toEqual(new Set(['EUR']));
      expect(new Set(tickets.map((t) => t.status))).toEqual(new Set(['available']));
    });

    it('creates a draft that only admins can see', async () => {
      const response = await postEvent({ name: unique('Draft '), performerId, venueId: venue.id, startsAt: STARTS_AT, status: 'draft', prices: { Floor: 1, Balcony: 1 } });
      expect(response.status).toBe(201);
      const { event } = (await response.json()) as { event: EventJson };
      expect(event.status).toBe('draft');
      expect((await api(`/api/events/${event.id}`)).status).toBe(404);
      expect((await view(event.id, admin)).event.status).toBe('draft');
    });

    const invalid = (): Array<[string, Record<string, unknown>, string[]]> => [
      ['an unknown performerId', { performerId: MISSING_ID }, ['performerId']],
      ['an unknown venueId', { venueId: MISSING_ID }, ['venueId']],
      ['an unknown performerId and venueId', { performerId: MISSING_ID, venueId: MISSING_ID }, ['performerId', 'venueId']],
      ['prices missing a section', { prices: { Floor: 5000 } }, ['prices.Balcony']],
      ['prices naming an unknown section', { prices: { Floor: 5000, Balcony: 3000, Mezzanine: 2000 } }, ['prices.Mezzanine']],
      ['no prices', { prices: {} }, ['prices']],
      ['a negative price', { prices: { Floor: -1, Balcony: 3000 } }, ['prices.Floor']],
      ['onSaleAt after startsAt', { onSaleAt: '2031-06-01T19:00:00.001Z' }, ['onSaleAt']],
      ['a startsAt that is not a date-time', { startsAt: 'next friday' }, ['startsAt']],
      ['an unknown status', { status: 'postponed' }, ['status']],
      ['a missing name', { name: undefined }, ['name']],
    ];
    it.each(invalid().map(([what, change, fields]) => ({ what, change, fields })))('answers 400 naming the field for $what, and writes nothing', async ({ change, fields }) => {
      const name = unique('Rejected Night ');
      const response = await postEvent({ name, performerId, venueId: venue.id, startsAt: STARTS_AT, prices: { Floor: 5000, Balcony: 3000 }, ...change });
      await expectValidationError(response, ...fields);
      expect(await count('events', name)).toBe(0);
    });
  });

  describe('PATCH /api/admin/events/:eventId', () => {
    it('changes name, description, startsAt and status, and the event view shows it', async () => {
      const event = await createEvent(admin, { startsAt: STARTS_AT });
      await view(event.eventId); // cached before the edit
      const changes = { name: unique('Renamed '), description: 'Moved to a later date.', startsAt: '2031-07-04T20:00:00.000Z', status: 'cancelled' };
      const response = await patchEvent(event.eventId, changes);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { event: EventJson };
      expect(body.event).toMatchObject({ id: event.eventId, ...changes });

      expect((await view(event.eventId)).event).toMatchObject(changes);
    });

    it('lets an organizer cancel an event that was created with a startsAt in the past', async () => {
      const event = await createEvent(admin, { startsAt: '2020-01-01T19:00:00.000Z' });
      const response = await patchEvent(event.eventId, { status: 'cancelled' });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { event: EventJson }).event.status).toBe('cancelled');
    });

    it('reprices the available tickets of a section and leaves the other sections alone', async () => {
      const event = await createEvent(admin, { prices: { Floor: 5000, Balcony: 6000 } });
      await view(event.eventId);
      const response = await patchEvent(event.eventId, { prices: { Floor: 7777 } });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { event: EventJson }).event.prices).toEqual({ Floor: 7777, Balcony: 6000 });

      const { tickets } = await view(event.eventId);
      expect(new Set(tickets.filter((t) => t.section === 'Floor').map((t) => t.priceCents))).toEqual(new Set([7777]));
      expect(new Set(tickets.filter((t) => t.section === 'Balcony').map((t) => t.priceCents))).toEqual(new Set([6000]));
    });

    it('keeps the price a sold ticket was sold at', async () => {
      const event = await createEvent(admin, { prices: { Floor: 5000, Balcony: 6000 } });
      const soldId = await sellFirstTicket(event.eventId);
      expect((await patchEvent(event.eventId, { prices: { Floor: 8000 } })).status).toBe(200);
      const { tickets } = await view(event.eventId);
      expect(tickets.find((t) => t.id === soldId)!.priceCents).toBe(5000);
      expect(tickets.filter((t) => t.section === 'Floor' && t.id !== soldId).every((t) => t.priceCents === 8000)).toBe(true);
    });

    it('shows a renamed event in search under its new name', async () => {
      const event = await createEvent(admin);
      const word = unique('zqrenamed');
      expect((await patchEvent(event.eventId, { name: `${word} Revival` })).status).toBe(200);
      const response = await api(`/api/events/search?keyword=${word}`);
      const body = (await response.json()) as { events: Array<{ id: string; name: string }>; total: number };
      expect(body.events.map((e) => [e.id, e.name])).toEqual([[event.eventId, `${word} Revival`]]);
    });

    it('refuses to move startsAt before onSaleAt', async () => {
      const event = await createEvent(admin, { startsAt: STARTS_AT });
      const { event: before } = await view(event.eventId);
      const earlier = new Date(Date.parse(before.onSaleAt) - 60_000).toISOString();
      await expectValidationError(await patchEvent(event.eventId, { startsAt: earlier }), 'onSaleAt');
    });

    it('answers 400 to an unknown field', async () => {
      const event = await createEvent(admin);
      await expectValidationError(await patchEvent(event.eventId, { name: 'Fine', colour: 'red' }));
    });

    it('answers 400 to an empty change', async () => {
      const event = await createEvent(admin);
      await expectValidationError(await patchEvent(event.eventId, {}));
    });

    it('refuses to move an event to another venue, and changes nothing', async () => {
      const event = await createEvent(admin);
      const other = await createEvent(admin);
      const name = unique('Should Not Stick ');
      await expectValidationError(await patchEvent(event.eventId, { name, venueId: other.venueId }), 'venueId');
      expect(await count('events', name)).toBe(0);
    });

    it('refuses to publish a cancelled event again', async () => {
      const event = await createEvent(admin, { status: 'cancelled' });
      await expectValidationError(await patchEvent(event.eventId, { status: 'published' }), 'status');
      const [row] = await withDb(env, async (db) => (await db.execute(sql`select status from events where id = ${event.eventId}`)).rows as Array<{ status: string }>);
      expect(row!.status).toBe('cancelled');
    });

    it('answers 400 to prices naming a section the venue does not have', async () => {
      const event = await createEvent(admin);
      await expectValidationError(await patchEvent(event.eventId, { prices: { Mezzanine: 100 } }), 'prices.Mezzanine');
    });

    it('answers 404 for an unknown event', async () => {
      for (const id of [MISSING_ID, 'not-an-id']) {
        const response = await patchEvent(id, { name: 'Ghost' });
        expect(response.status).toBe(404);
        expect(((await response.json()) as ErrorBody).error.code).toBe('not_found');
      }
    });
  });

  /** Marks the event's first ticket sold in Postgres, as a confirmed booking would; returns its id. */
  async function sellFirstTicket(eventId: string): Promise<string> {
    return sellTicket(eventId, 0, new Date());
  }

  /** The event's ticket at `position` (0-based) sold in Postgres by a booking confirmed at `confirmedAt`. */
  async function sellTicket(eventId: string, position: number, confirmedAt: Date): Promise<string> {
    const buyer = await signUp();
    const bookingId = crypto.randomUUID();
    return withDb(env, async (db) => {
      const [ticket] = (await db.execute(sql`select id, price_cents from tickets where event_id = ${eventId} order by position offset ${position} limit 1`)).rows as Array<{ id: string; price_cents: number }>;
      await db.execute(sql`insert into bookings (id, user_id, event_id, status, total_cents, currency, payment_provider, confirmed_at)
        values (${bookingId}, ${buyer.user.id}, ${eventId}, 'confirmed', ${ticket!.price_cents}, 'USD', 'test', ${confirmedAt.toISOString()})`);
      await db.execute(sql`insert into booking_tickets (booking_id, ticket_id, price_cents) values (${bookingId}, ${ticket!.id}, ${ticket!.price_cents})`);
      await db.execute(sql`update tickets set status = 'sold', booking_id = ${bookingId} where id = ${ticket!.id}`);
      return ticket!.id;
    });
  }

  describe('GET /api/admin/events/:eventId/sales', () => {
    it('reports nothing sold or held for a new event', async () => {
      const event = await createEvent(admin);
      const response = await api(`/api/admin/events/${event.eventId}/sales`, { token: admin });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ sold: 0, held: 0, available: event.ticketCount, revenueCents: 0, refundedCents: 0, refundsPending: 0, currency: 'USD', history: [] });
    });

    it('counts a sold ticket and its price as revenue', async () => {
      const event = await createEvent(admin, { prices: { Floor: 4500, Balcony: 3000 } });
      await api(`/api/admin/events/${event.eventId}/sales`, { token: admin });
      await sellFirstTicket(event.eventId);
      const response = await api(`/api/admin/events/${event.eventId}/sales`, { token: admin });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { history: Array<{ at: string }> };
      expect(body).toEqual({
        sold: 1, held: 0, available: event.ticketCount - 1, revenueCents: 4500, refundedCents: 0, refundsPending: 0, currency: 'USD',
        history: [{ at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:00:00\.000Z$/), sold: 1, revenueCents: 4500 }],
      });
    });

    it('gives the sales over time: cumulative, one point per hour with sales', async () => {
      const event = await createEvent(admin, { prices: { Floor: 4500, Balcony: 3000 } });
      const hour = Date.UTC(2026, 10, 29, 14); // whole hours, so the buckets are known
      await sellTicket(event.eventId, 0, new Date(hour + 10 * 60_000));
      await sellTicket(event.eventId, 1, new Date(hour + 20 * 60_000)); // the same hour: one point
      await sellTicket(event.eventId, 2, new Date(hour + 70 * 60_000)); // an hour later
      const response = await api(`/api/admin/events/${event.eventId}/sales`, { token: admin });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { sold: number; history: unknown };
      expect(body.sold).toBe(3);
      expect(body.history).toEqual([
        { at: new Date(hour).toISOString(), sold: 2, revenueCents: 9000 },
        { at: new Date(hour + 3_600_000).toISOString(), sold: 3, revenueCents: 13_500 },
      ]);
    });

    it('counts by the day, at most 200 points, when the sale has gone on for longer than 199 hours', async () => {
      const event = await createEvent(admin, { prices: { Floor: 4500, Balcony: 3000 } });
      const day = Date.UTC(2026, 9, 1);
      // Sales on days 0, 1, 2 and 249 (one hour into each): 249 days apart, daily buckets could be
      // 250 points, so they are two days wide.
      for (const [i, offset] of [0, 1, 2, 249].entries()) await sellTicket(event.eventId, i, new Date(day + offset * 864e5 + 3_600_000));
      const history = ((await (await api(`/api/admin/events/${event.eventId}/sales`, { token: admin })).json()) as { history: Array<{ at: string; sold: number }> }).history;
      const width = 2 * 864e5;
      const bucket = (offset: number) => new Date(Math.floor((day + offset * 864e5 + 3_600_000) / width) * width).toISOString();
      expect(history.map((point) => point.at)).toEqual([...new Set([bucket(0), bucket(1), bucket(2), bucket(249)])]);
      expect(history.at(-1)!.sold).toBe(4);
      expect(history.length).toBeLessThanOrEqual(200);
    });

    it('does not count a transfer as a sale', async () => {
      const event = await createEvent(admin, { prices: { Floor: 4500, Balcony: 3000 } });
      const at = new Date(Date.UTC(2026, 10, 29, 9, 30));
      const ticketId = await sellTicket(event.eventId, 0, at);
      const recipient = await signUp();
      await withDb(env, async (db) => {
        const [original] = (await db.execute(sql`select booking_id from tickets where id = ${ticketId}`)).rows as Array<{ booking_id: string }>;
        const given = crypto.randomUUID();
        await db.execute(sql`update bookings set status = 'transferred' where id = ${original!.booking_id}`);
        await db.execute(sql`update booking_tickets set released_at = now() where booking_id = ${original!.booking_id}`);
        await db.execute(sql`insert into bookings (id, user_id, event_id, status, total_cents, currency, payment_provider, confirmed_at, transferred_from)
          values (${given}, ${recipient.user.id}, ${event.eventId}, 'confirmed', 0, 'USD', 'transfer', now(), ${original!.booking_id})`);
        await db.execute(sql`insert into booking_tickets (booking_id, ticket_id, price_cents) values (${given}, ${ticketId}, 0)`);
        await db.execute(sql`update tickets set booking_id = ${given} where id = ${ticketId}`);
      });
      const history = ((await (await api(`/api/admin/events/${event.eventId}/sales`, { token: admin })).json()) as { history: unknown }).history;
      expect(history).toEqual([{ at: new Date(Date.UTC(2026, 10, 29, 9)).toISOString(), sold: 1, revenueCents: 4500 }]);
    });

    it('answers 404 for an unknown event', async () => {
      const response = await api(`/api/admin/events/${MISSING_ID}/sales`, { token: admin });
      expect(response.status).toBe(404);
      expect(((await response.json()) as ErrorBody).error.code).toBe('not_found');
    });
  });
});

describe('prices of sections whose names are also names of object properties', () => {
  it('asks for the price of a section named "constructor" instead of failing with 500', async () => {
    const admin = await adminToken();
    const performer = (await (await api('/api/admin/performers', { method: 'POST', token: admin, json: { name: 'Proto Band' } })).json()) as { performer: { id: string } };
    const venue = (await (await api('/api/admin/venues', { method: 'POST', token: admin, json: { name: 'Proto Hall', city: 'Ghent', sections: [{ name: 'A', rows: 1, seatsPerRow: 2 }, { name: 'constructor', rows: 1, seatsPerRow: 2 }] } })).json()) as { venue: { id: string } };

    const response = await api('/api/admin/events', {
      method: 'POST',
      token: admin,
      json: { name: 'Proto Night', performerId: performer.performer.id, venueId: venue.venue.id, startsAt: new Date(Date.now() + 864e5).toISOString(), prices: { A: 1000 } },
    });

    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { details: Array<{ field: string }> } }).error.details.map((d) => d.field)).toEqual(['prices.constructor']);
  });
});
