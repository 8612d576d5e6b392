import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../env';
import { notFound } from '../errors';
import { isAdmin } from '../auth/session';
import { withDb } from '../db/client';
import { loadEventDocument, type EventDocument } from '../db/catalog';
import { keywordWords, searchEvents, type SearchResult } from '../db/search';
import { cachedJson, cacheKey } from '../lib/edge-cache';
import { parseId, parseQuery } from '../validation';
import type { SeatStatusSnapshot } from '../durable/TicketLock';

/** Organizer edits reach every data centre within this many seconds. */
export const CATALOG_TTL_SECONDS = 60;
/** Seat status shown by the event view is at most this stale; the seat stream is live. */
export const SEAT_STATUS_TTL_SECONDS = 2;
export const SEARCH_TTL_SECONDS = 60;

export const eventDocumentKey = (eventId: string) => cacheKey(`/v1/events/${eventId}`);
const seatStatusKey = (eventId: string) => cacheKey(`/v1/events/${eventId}/seat-status`);

const DAY_MS = 24 * 3600 * 1000;
const isoDate = /^(\d{4})-(\d{2})-(\d{2})$/;
const isoDateTime = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d)(:([0-5]\d)(\.\d{1,9})?)?(Z|[+-]([01]\d|2[0-3]):?[0-5]\d)$/;

/** Date.parse rolls 2027-02-30 over to March; a calendar date must exist as written. */
function isCalendarDate(year: string, month: string, day: string): boolean {
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  return date.getUTCFullYear() === Number(year) && date.getUTCMonth() === Number(month) - 1 && date.getUTCDate() === Number(day);
}

/** An ISO date or date-time, as the half-open range of instants it names (a bare date is its whole UTC day). */
const dateBound = z
  .string()
  .trim()
  .refine(
    (value) => {
      const parts = isoDate.exec(value) ?? isoDateTime.exec(value);
      return parts !== null && isCalendarDate(parts[1]!, parts[2]!, parts[3]!) && !Number.isNaN(Date.parse(value));
    },
    { message: 'must be an ISO 8601 date (2027-03-01) or date-time (2027-03-01T19:30:00Z)' },
  )
  .transform((value) => {
    const from = new Date(value);
    return { from, until: new Date(from.getTime() + (isoDate.test(value) ? DAY_MS : 1)) };
  });

export const searchQuery = z
  .object({
    keyword: z.string().trim().max(200, 'must be at most 200 characters').optional(),
    start: dateBound.optional(),
    end: dateBound.optional(),
    pageSize: z.coerce.number().int().min(1).max(100).default(20),
    page: z.coerce.number().int().min(1).max(1000).default(1),
  })
  .refine((q) => !q.start || !q.end || q.start.from.getTime() < q.end.until.getTime(), {
    message: 'start must not be after end',
    path: ['start'],
  });

/** The event's catalog document, from the edge cache or else Postgres. */
export function eventDocument(c: Context<AppEnv>, eventId: string): Promise<EventDocument | null> {
  return cachedJson<EventDocument>(c.executionCtx, eventDocumentKey(eventId), CATALOG_TTL_SECONDS, () => withDb(c.env, (db) => loadEventDocument(db, eventId)));
}

/** The event as its public pages show it: unknown events, and drafts to anyone but organizers, are not found. */
export async function visibleEventDocument(c: Context<AppEnv>, eventId: string): Promise<EventDocument> {
  const document = await eventDocument(c, eventId);
  if (!document || (document.event.status === 'draft' && !isAdmin(c))) throw notFound('event');
  return document;
}

async function seatStatus(c: Context<AppEnv>, eventId: string): Promise<SeatStatusSnapshot> {
  const snapshot = await cachedJson(c.executionCtx, seatStatusKey(eventId), SEAT_STATUS_TTL_SECONDS, () =>
    c.env.TICKET_LOCK.getByName(eventId).seatStatus(eventId),
  );
  return snapshot!;
}

export const eventRoutes = new Hono<AppEnv>()
  .get('/search', async (c) => {
    const query = parseQuery(c, searchQuery);
    const start = query.start?.from;
    const endBefore = query.end?.until;
    const words = keywordWords(query.keyword);
    // Equivalent searches share one cache entry.
    const normalized = new URLSearchParams({
      k: words.join(' '),
      s: start?.toISOString() ?? '',
      e: endBefore?.toISOString() ?? '',
      p: String(query.page),
      n: String(query.pageSize),
    });
    const result = await cachedJson<SearchResult>(c.executionCtx, cacheKey(`/v1/search?${normalized}`), SEARCH_TTL_SECONDS, () =>
      withDb(c.env, (db) => searchEvents(db, { keyword: words.join(' '), start, endBefore, page: query.page, pageSize: query.pageSize })),
    );
    c.header('Cache-Control', `public, max-age=${SEARCH_TTL_SECONDS / 2}`);
    return c.json({ ...result!, page: query.page, pageSize: query.pageSize });
  })
  .get('/:eventId', async (c) => {
    const eventId = parseId(c.req.param('eventId'), 'event');
    const document = await visibleEventDocument(c, eventId);

    const seats = await seatStatus(c, eventId);
    const etag = `W/"${document.version.toString(36)}-${seats.version.toString(36)}"`;
    const cacheControl = document.event.status === 'draft' ? 'private, no-cache' : `public, max-age=${SEAT_STATUS_TTL_SECONDS}`;
    c.header('ETag', etag);
    c.header('Cache-Control', cacheControl);
    const ifNoneMatch = c.req.header('If-None-Match');
    if (ifNoneMatch && ifNoneMatch.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*')) {
      return c.body(null, 304);
    }

    const reserved = new Set(seats.reserved);
    const booked = new Set(seats.booked);
    const { event, venue, performer } = document;
    return c.json({
      event,
      venue,
      performer,
      tickets: document.tickets.map((ticket) => ({
        ...ticket,
        status: booked.has(ticket.id) ? 'booked' : reserved.has(ticket.id) ? 'reserved' : 'available',
      })),
    });
  });
