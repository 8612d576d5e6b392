import { runInDurableObject } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { withDb } from '../../src/db/client';
import { adminToken, api, createEvent, env, signUp, type CreatedEvent } from '../helpers';

interface EventView {
  event: { id: string; name: string; status: string; startsAt: string; onSaleAt: string; performerId: string; venueId: string; queue: { enabled: boolean } };
  venue: { id: string; name: string; city: string; address: string | null; capacity: number };
  performer: { id: string; name: string; genre: string | null };
  tickets: Array<{ id: string; section: string; row: string; seat: number; priceCents: number; currency: string; status: string }>;
}

describe('GET /api/events/:eventId', () => {
  let admin: string;
  let created: CreatedEvent;

  beforeAll(async () => {
    admin = await adminToken();
    created = await createEvent(admin, { city: 'Lisbon' });
  });

  it('returns the event, its venue, performer and one ticket per seat', async () => {
    const response = await api(`/api/events/${created.eventId}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as EventView;
    expect(body.event).toMatchObject({ id: created.eventId, status: 'published', venueId: created.venueId, performerId: created.performerId, queue: { enabled: false } });
    expect(body.venue).toMatchObject({ id: created.venueId, city: 'Lisbon', capacity: 14 });
    expect(body.performer).toMatchObject({ id: created.performerId, genre: 'rock' });
    expect(body.tickets).toHaveLength(14);
    expect(body.tickets[0]).toEqual({ id: expect.any(String), section: 'Floor', row: 'A', seat: 1, priceCents: 5000, currency: 'USD', status: 'available' });
    expect(body.tickets.at(-1)).toMatchObject({ section: 'Balcony', row: 'A', seat: 4, priceCents: 6000 });
    expect(response.headers.get('Cache-Control')).toMatch(/max-age=\d/);
    expect(response.headers.get('ETag')).toBeTruthy();
  });

  it('answers ?tickets=none with the event, venue and performer only, versioned by the catalog', async () => {
    const full = (await (await api(`/api/events/${created.eventId}`)).json()) as EventView;

    const response = await api(`/api/events/${created.eventId}?tickets=none`);

    expect(response.status).toBe(200);
    const body = (await response.json()) as Partial<EventView>;
    expect(body).toEqual({ event: full.event, venue: full.venue, performer: full.performer });
    expect(response.headers.get('Cache-Control')).toBe('public, max-age=60');
    const again = await api(`/api/events/${created.eventId}?tickets=none`, { headers: { 'If-None-Match': response.headers.get('ETag')! } });
    expect(again.status).toBe(304);
  });

  it('refuses another value of tickets with 400, and hides a draft from anyone but organizers', async () => {
    expect((await api(`/api/events/${created.eventId}?tickets=all`)).status).toBe(400);
    const draft = await createEvent(admin, { status: 'draft' });
    expect((await api(`/api/events/${draft.eventId}?tickets=none`)).status).toBe(404);
    expect((await api(`/api/events/${draft.eventId}?tickets=none`, { token: admin })).status).toBe(200);
  });

  it('answers 404 in the error shape for an unknown or malformed id', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-an-id']) {
      const response = await api(`/api/events/${id}`);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
    }
  });

  it('answers 304 to If-None-Match with the current ETag', async () => {
    const first = await api(`/api/events/${created.eventId}`);
    const etag = first.headers.get('ETag')!;
    const second = await api(`/api/events/${created.eventId}`, { headers: { 'If-None-Match': etag } });
    expect(second.status).toBe(304);
    expect(second.headers.get('ETag')).toBe(etag);
    const stale = await api(`/api/events/${created.eventId}`, { headers: { 'If-None-Match': 'W/"stale"' } });
    expect(stale.status).toBe(200);
  });

  it('hides drafts from customers and anonymous readers but shows them to admins', async () => {
    const draft = await createEvent(admin, { status: 'draft' });
    const customer = await signUp();
    expect((await api(`/api/events/${draft.eventId}`)).status).toBe(404);
    expect((await api(`/api/events/${draft.eventId}`, { token: customer.token })).status).toBe(404);
    const asAdmin = await api(`/api/events/${draft.eventId}`, { token: admin });
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.headers.get('Cache-Control')).toContain('private');
  });

  it('shows an organizer edit on the next read', async () => {
    const event = await createEvent(admin);
    await api(`/api/events/${event.eventId}`);
    const patch = await api(`/api/admin/events/${event.eventId}`, { method: 'PATCH', token: admin, json: { name: 'Renamed Night' } });
    expect(patch.status).toBe(200);
    const body = (await (await api(`/api/events/${event.eventId}`)).json()) as EventView;
    expect(body.event.name).toBe('Renamed Night');
  });

  it('takes seat status from the event TicketLock, not from Postgres', async () => {
    const event = await createEvent(admin);
    const ticketIds = await withDb(env, async (db) =>
      ((await db.execute(sql`select id from tickets where event_id = ${event.eventId} order by position`)).rows as Array<{ id: string }>).map((r) => r.id),
    );
    const [sold, held, heldButExpired] = ticketIds;
    // A sale already in Postgres when the TicketLock first starts is learnt then.
    const buyer = await signUp();
    const bookingId = crypto.randomUUID();
    await withDb(env, async (db) => {
      await db.execute(sql`insert into bookings (id, user_id, event_id, status, total_cents, currency, payment_provider, confirmed_at)
        values (${bookingId}, ${buyer.user.id}, ${event.eventId}, 'confirmed', 5000, 'USD', 'test', now())`);
      await db.execute(sql`update tickets set status = 'sold', booking_id = ${bookingId} where id = ${sold!}`);
    });
    // Holds exist only in the TicketLock's own storage.
    const lock = env.TICKET_LOCK.getByName(event.eventId);
    const hold = (ticketIds: string[]) =>
      lock.holdSeats({ eventId: event.eventId, userId: buyer.user.id, ticketIds, ttlSeconds: 600, maxTicketsPerUser: 10 });
    expect((await hold([held!])).ok).toBe(true);
    const expiring = await hold([heldButExpired!]);
    await runInDurableObject(lock, (_instance, state) => {
      state.storage.sql.exec(`UPDATE holds SET expires_at = ? WHERE booking_id = ?`, Date.now() - 1, expiring.ok ? expiring.booking.bookingId : '');
    });

    const view = (await (await api(`/api/events/${event.eventId}`)).json()) as EventView;
    const status = Object.fromEntries(view.tickets.map((t) => [t.id, t.status]));
    expect(status[sold!]).toBe('booked');
    expect(status[held!]).toBe('reserved');
    expect(status[heldButExpired!]).toBe('available');
    expect(Object.values(status).filter((s) => s === 'available')).toHaveLength(ticketIds.length - 2);
  });
});
