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
const isoDate = /^\d{4}-\d{2}-\d{2}$/;
const isoDateTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/** An ISO date or date-time; a bare date covers its whole UTC day. */
const dateBound = z
  .string()
  .trim()
  .refine((value) => (isoDate.test(value) || isoDateTime.test(value)) && !Number.isNaN(Date.parse(value)), {
    message: 'must be an ISO 8601 date (2027-03-01) or date-time (2027-03-01T19:30:00Z)',
  })
  .transform((value) => ({ at: new Date(value), wholeDay: isoDate.test(value) }));

const searchQuery = z
  .object({
    keyword: z.string().trim().max(200, 'must be at most 200 characters').optional(),
    start: dateBound.optional(),
    end: dateBound.optional(),
    pageSize: z.coerce.number().int().min(1).max(100).default(20),
    page: z.coerce.number().int().min(1).max(1000).default(1),
  })
  .refine((q) => !q.start || !q.end || q.start.at.getTime() <= q.end.at.getTime(), {
    message: 'start must not be after end',
    path: ['start'],
  });

async function seatStatus(c: Context<AppEnv>, eventId: string): Promise<SeatStatusSnapshot> {
  const snapshot = await cachedJson(c.executionCtx, seatStatusKey(eventId), SEAT_STATUS_TTL_SECONDS, () =>
    c.env.TICKET_LOCK.getByName(eventId).seatStatus(eventId),
  );
  return snapshot!;
}

export const eventRoutes = new Hono<AppEnv>()
  .get('/search', async (c) => {
    const query = parseQuery(c, searchQuery);
    const start = query.start?.at;
    const endBefore = query.end ? new Date(query.end.at.getTime() + (query.end.wholeDay ? DAY_MS : 1)) : undefined;
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
    const document = await cachedJson<EventDocument>(c.executionCtx, eventDocumentKey(eventId), CATALOG_TTL_SECONDS, () =>
      withDb(c.env, (db) => loadEventDocument(db, eventId)),
    );
    if (!document || (document.event.status === 'draft' && !isAdmin(c))) throw notFound('event');

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
