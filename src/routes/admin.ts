import { Hono, type Context } from 'hono';
import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { AppEnv, Bindings } from '../env';
import { ApiError, notFound } from '../errors';
import { requireAdmin } from '../auth/session';
import { withDb } from '../db/client';
import { events, performers } from '../db/schema';
import { toEventJson } from '../db/catalog';
import { queueSettingsOf } from '../queue/settings';
import { checkPrices, createEvent, createVenue, requireExisting, salesFigures, sectionPlaces, updateEvent, venueSectionNames } from '../db/organizer';
import { purge } from '../lib/edge-cache';
import { eventDocumentKey, eventHeaderKey } from './events';
import { seatmapKey } from './seatmap';
import { canonicalId, parseBody, parseId, text } from '../validation';
import { readScannedCode, type TicketClaims } from '../tickets/codes';
import { eventIdOfBooking } from '../domain/booking';
import type { TicketLock } from '../durable/TicketLock';
import { refundFigures } from '../db/refunds';
import { salesHistory } from '../db/sales-history';
import { deliverNotificationsSoon } from '../notifications/deliver';
import { seatNamesFallback, toBookingJson } from './bookings';

const MAX_VENUE_SEATS = 100_000;

export const performerBody = z.object({
  name: text(200),
  genre: text(100).optional(),
  bio: z.string().trim().max(5000).optional(),
});

const seatedSection = z.object({
  name: text(100),
  kind: z.literal('seated').optional(),
  rows: z.number().int().min(1).max(200),
  seatsPerRow: z.number().int().min(1).max(500),
});

/** General admission (API.md): `capacity` places, no rows or seats. */
const standingSection = z.object({
  name: text(100),
  kind: z.literal('standing'),
  capacity: z.number().int().min(1).max(MAX_VENUE_SEATS),
});

export const venueBody = z
  .object({
    name: text(200),
    city: text(100),
    address: z.string().trim().max(500).optional(),
    /** Decimal degrees, both or neither: search's `near=` finds the venue by them. */
    latitude: z.number().min(-90).max(90).optional(),
    longitude: z.number().min(-180).max(180).optional(),
    sections: z.array(z.union([standingSection, seatedSection])).min(1).max(100),
  })
  .superRefine((venue, ctx) => {
    if ((venue.latitude === undefined) !== (venue.longitude === undefined)) {
      ctx.addIssue({ code: 'custom', path: [venue.latitude === undefined ? 'latitude' : 'longitude'], message: 'give latitude and longitude together' });
    }
    const names = venue.sections.map((s) => s.name.toLowerCase());
    names.forEach((name, i) => {
      if (names.indexOf(name) !== i) ctx.addIssue({ code: 'custom', path: ['sections', i, 'name'], message: 'section names must be distinct' });
    });
    const seats = venue.sections.reduce((sum, s) => sum + sectionPlaces(s), 0);
    if (seats > MAX_VENUE_SEATS) ctx.addIssue({ code: 'custom', path: ['sections'], message: `a venue has at most ${MAX_VENUE_SEATS} seats` });
  });

const isoDateTime = z.iso.datetime({ offset: true }).transform((value) => new Date(value));
const cents = z.number().int().min(0).max(100_000_000);
const queueSettings = z.object({
  enabled: z.boolean(),
  admitPerMinute: z.number().int().min(1).max(100_000).optional(),
  maxActive: z.number().int().min(1).max(1_000_000).optional(),
  /** Lifetime of an admission token. */
  tokenMinutes: z.number().int().min(1).max(24 * 60).optional(),
  /** How long before onSaleAt the lobby opens; who joins it before the sale is shuffled into a random order. */
  lobbyMinutes: z.number().int().min(0).max(7 * 24 * 60).optional(),
});

const eventFields = {
  name: text(200),
  description: z.string().trim().max(5000).optional(),
  performerId: canonicalId(),
  venueId: canonicalId(),
  startsAt: isoDateTime,
  onSaleAt: isoDateTime.optional(),
  status: z.enum(['draft', 'published', 'cancelled']).optional(),
  prices: z.record(text(100), cents).refine((prices) => Object.keys(prices).length > 0, 'give at least one price'),
  currency: z
    .string()
    .regex(/^[A-Za-z]{3}$/, 'must be an ISO 4217 code such as USD')
    .transform((code) => code.toUpperCase())
    .optional(),
  queue: queueSettings.optional(),
  /** How long places offered to the waiting list stay held for the person offered them (default 120). */
  waitlistOfferMinutes: z.number().int().min(1).max(7 * 24 * 60).optional(),
};

// Zod runs the refinement even when a date failed its own check (still a string then).
export const createEventBody = z.object(eventFields).refine((e) => !(e.onSaleAt instanceof Date) || !(e.startsAt instanceof Date) || e.onSaleAt.getTime() <= e.startsAt.getTime(), {
  message: 'must not be after startsAt',
  path: ['onSaleAt'],
});

export const patchEventBody = z
  .object({ ...eventFields, queue: queueSettings.partial().optional() })
  .partial()
  .strict()
  .refine((changes) => Object.keys(changes).length > 0, 'give at least one field to change');

function queueColumns(queue: Partial<z.infer<typeof queueSettings>> | undefined) {
  if (!queue) return {};
  return {
    ...(queue.enabled !== undefined ? { queueEnabled: queue.enabled } : {}),
    ...(queue.admitPerMinute ? { queueAdmitPerMinute: queue.admitPerMinute } : {}),
    ...(queue.maxActive ? { queueMaxActive: queue.maxActive } : {}),
    ...(queue.tokenMinutes ? { queueTokenMinutes: queue.tokenMinutes } : {}),
    ...(queue.lobbyMinutes !== undefined ? { queueLobbyMinutes: queue.lobbyMinutes } : {}),
  };
}

/** POST /api/admin/bookings/:id/refund: the body may be left out (the seats stay sold). */
export const refundBody = z
  .object({
    releaseSeats: z.boolean().optional().describe('Put the booking\'s seats back on sale (default false: they stay sold, and nobody can buy them).'),
  })
  .strict();

/** A body that may be left out altogether: none is `{}`; one that is sent is parsed like any other. */
async function optionalBody<S extends z.ZodType>(c: Context<AppEnv>, schema: S): Promise<z.output<S>> {
  if (!c.req.header('Content-Type') && (await c.req.raw.clone().text()) === '') return schema.parse({});
  return parseBody(c, schema);
}

/** Whether Postgres has the event: only an event the catalog knows has a TicketLock (no made-up id creates one). */
async function eventExists(env: Bindings, eventId: string): Promise<boolean> {
  return withDb(env, async (db) => (await db.select({ id: events.id }).from(events).where(eq(events.id, eventId))).length > 0);
}

/**
 * A refund decided in the event's TicketLock, which writes it to Postgres: when that fails (the
 * database is down or slow), nothing was refunded or a sweep will finish it; either way, try again.
 */
async function refundCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ApiError) throw error;
    console.warn(`${what} failed`, error);
    throw new ApiError(503, 'unavailable', 'The box office cannot reach its database just now. Try again in a minute.', undefined, { 'Retry-After': '5' });
  }
}

// Scanners that type like a keyboard end the code with a newline.
export const scanBody = z.object({ code: z.string().trim().min(1).max(500) });

interface Admission {
  result: 'admitted' | 'already_admitted' | 'invalid';
  /** row and seat null for a place in a standing section. */
  ticket: { id: string; section: string; row: string | null; seat: number | null } | null;
  eventId: string | null;
  admittedAt: string | null;
}

const INVALID: Admission = { result: 'invalid', ticket: null, eventId: null, admittedAt: null };

type AdmissionRow = { section: string; row: string | null; seat: number | null; admitted_at: Date | string } & Record<string, unknown>;

/**
 * Admits a ticket once. The conditional update is the decision: of two doors scanning the same
 * ticket at once, one update waits for the other's row lock, then finds admitted_at set and
 * changes nothing. The look-up after it is a statement of its own so that it sees that commit.
 */
async function admit(env: Bindings, claims: TicketClaims): Promise<Admission> {
  const outcome = await withDb(env, async (db) => {
    const admitted = await db.execute<AdmissionRow>(sql`
      update booking_tickets bt set admitted_at = now()
      from bookings b, tickets t
      where bt.booking_id = b.id and t.id = bt.ticket_id and b.status = 'confirmed' and b.event_id = ${claims.eventId}
        and bt.ticket_id = ${claims.ticketId} and bt.booking_id = ${claims.bookingId} and bt.admitted_at is null and bt.released_at is null
      returning t.section, t.row, t.seat, bt.admitted_at`);
    if (admitted.rows[0]) return { result: 'admitted' as const, row: admitted.rows[0] };
    const earlier = await db.execute<AdmissionRow>(sql`
      select t.section, t.row, t.seat, bt.admitted_at
      from booking_tickets bt join bookings b on b.id = bt.booking_id join tickets t on t.id = bt.ticket_id
      where b.status = 'confirmed' and b.event_id = ${claims.eventId}
        and bt.ticket_id = ${claims.ticketId} and bt.booking_id = ${claims.bookingId} and bt.admitted_at is not null and bt.released_at is null`);
    return earlier.rows[0] ? { result: 'already_admitted' as const, row: earlier.rows[0] } : null;
  });
  if (!outcome) return INVALID;
  const { section, row, seat, admitted_at } = outcome.row;
  return {
    result: outcome.result,
    ticket: { id: claims.ticketId, section, row, seat },
    eventId: claims.eventId,
    admittedAt: new Date(admitted_at).toISOString(),
  };
}

export const adminRoutes = new Hono<AppEnv>()
  .use(async (c, next) => {
    requireAdmin(c);
    await next();
  })
  .post('/performers', async (c) => {
    const body = await parseBody(c, performerBody);
    const [performer] = await withDb(c.env, (db) => db.insert(performers).values(body).returning());
    const { createdAt: _, ...json } = performer!;
    return c.json({ performer: json }, 201);
  })
  .post('/venues', async (c) => {
    const body = await parseBody(c, venueBody);
    const venue = await withDb(c.env, (db) => createVenue(db, body));
    const { createdAt: _, ...json } = venue;
    return c.json({ venue: json }, 201);
  })
  .post('/events', async (c) => {
    const body = await parseBody(c, createEventBody);
    const { queue, ...fields } = body;
    const created = await withDb(c.env, async (db) => {
      await requireExisting(db, { performerId: body.performerId, venueId: body.venueId });
      checkPrices(body.prices, await venueSectionNames(db, body.venueId));
      return createEvent(db, {
        ...fields,
        // On sale from now, or from the moment it was created for an event already in the past.
        onSaleAt: body.onSaleAt ?? new Date(Math.min(Date.now(), body.startsAt.getTime())),
        status: body.status ?? 'published',
        ...queueColumns(queue),
      });
    });
    return c.json({ event: toEventJson(created.event), ticketCount: created.ticketCount }, 201);
  })
  .patch('/events/:eventId', async (c) => {
    const eventId = parseId(c.req.param('eventId'), 'event');
    const body = await parseBody(c, patchEventBody);
    const { queue, ...fields } = body;
    const updated = await withDb(c.env, async (db) => {
      const [current] = await db.select({ venueId: events.venueId }).from(events).where(eq(events.id, eventId));
      if (!current) throw notFound('event');
      await requireExisting(db, { performerId: body.performerId });
      if (body.prices) {
        const sections = await venueSectionNames(db, current.venueId);
        const unknown = Object.keys(body.prices).filter((name) => !sections.includes(name));
        if (unknown.length) checkPrices(body.prices, sections);
      }
      return updateEvent(db, eventId, { ...fields, ...queueColumns(queue) });
    });
    if (!updated) throw notFound('event');
    // Other data centres see the edit when their copy expires (CATALOG_TTL_SECONDS).
    await Promise.all([purge(eventDocumentKey(eventId)), purge(eventHeaderKey(eventId)), purge(seatmapKey(eventId))]);
    // Prices for holds from now on, and whether the event is on sale at all (a cancelled one takes no payment).
    if (body.prices || body.currency || body.status) await c.env.TICKET_LOCK.getByName(eventId).refreshEvent(eventId);
    // Cancelled by PATCH is cancelled as by POST …/cancel: every booking is refunded.
    if (body.status === 'cancelled') {
      await c.env.TICKET_LOCK.getByName(eventId).cancelEvent(eventId);
      c.executionCtx.waitUntil(deliverNotificationsSoon(c.env));
    }
    // Settings change live: the room drops its copy for this newer one at once.
    if (body.queue || body.onSaleAt || updated.queueEnabled) {
      await c.env.WAITING_ROOM.getByName(eventId).configure(queueSettingsOf(toEventJson(updated), updated.updatedAt.getTime()));
    }
    return c.json({ event: toEventJson(updated) });
  })
  .get('/events/:eventId/sales', async (c) => {
    const eventId = parseId(c.req.param('eventId'), 'event');
    const figures = await withDb(c.env, async (db) => {
      const [event] = await db.select({ currency: events.currency }).from(events).where(eq(events.id, eventId));
      if (!event) return null;
      return { ...(await salesFigures(db, eventId)), refunds: await refundFigures(db, eventId), history: await salesHistory(db, eventId), currency: event.currency };
    });
    if (!figures) throw notFound('event');
    const { held } = await c.env.TICKET_LOCK.getByName(eventId).holdCounts(eventId);
    return c.json({
      sold: figures.sold,
      held,
      available: Math.max(0, figures.total - figures.sold - held),
      // Net: what the event's bookings brought in less what was refunded or is owed back.
      revenueCents: figures.refunds.netRevenueCents,
      refundedCents: figures.refunds.refundedCents,
      refundsPending: figures.refunds.refundsPending,
      currency: figures.currency,
      history: figures.history,
    });
  })
  .post('/events/:eventId/cancel', async (c) => {
    const eventId = parseId(c.req.param('eventId'), 'event');
    if (!(await refundCall('reading the catalog', () => eventExists(c.env, eventId)))) throw notFound('event');
    const cancelled = await refundCall(`cancelling ${eventId}`, () => c.env.TICKET_LOCK.getByName(eventId).cancelEvent(eventId));
    if (!cancelled) throw notFound('event');
    const { event, refunds } = cancelled;
    c.executionCtx.waitUntil(deliverNotificationsSoon(c.env));
    await Promise.all([purge(eventDocumentKey(eventId)), purge(eventHeaderKey(eventId)), purge(seatmapKey(eventId))]);
    if (event.queueEnabled) {
      await c.env.WAITING_ROOM.getByName(eventId).configure(queueSettingsOf(toEventJson(event), event.updatedAt.getTime()));
    }
    return c.json({ event: toEventJson(event), refunds });
  })
  .post('/bookings/:bookingId/refund', async (c) => {
    const bookingId = (c.req.param('bookingId') ?? '').toLowerCase();
    const eventId = eventIdOfBooking(bookingId);
    if (!eventId) throw notFound('booking');
    const body = await optionalBody(c, refundBody);
    if (!(await refundCall('reading the catalog', () => eventExists(c.env, eventId)))) throw notFound('booking');
    const outcome = await refundCall<Awaited<ReturnType<TicketLock['refundBooking']>>>(`refunding ${bookingId}`, () => c.env.TICKET_LOCK.getByName(eventId).refundBooking(eventId, bookingId, body.releaseSeats ?? false));
    if (!outcome.ok) {
      if (outcome.reason === 'not_found') throw notFound('booking');
      if (outcome.reason === 'booking_not_pending') throw new ApiError(409, 'booking_not_pending', 'Only a confirmed booking can be refunded (this one is pending, cancelled or refunded already).');
      throw new ApiError(503, 'unavailable', 'The sale of this booking is still being recorded. Try again in a few seconds.', undefined, { 'Retry-After': '5' });
    }
    c.executionCtx.waitUntil(deliverNotificationsSoon(c.env));
    return c.json(await toBookingJson(c.env, outcome.booking, await seatNamesFallback(c, outcome.booking)));
  })
  .post('/scan', async (c) => {
    const { code } = await parseBody(c, scanBody);
    const claims = await readScannedCode(c.env, code, Date.now());
    return c.json(claims ? await admit(c.env, claims) : INVALID);
  });
