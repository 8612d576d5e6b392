import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../env';
import { notFound } from '../errors';
import { isAdmin } from '../auth/session';
import { withDb } from '../db/client';
import { loadEventDocument, loadEventHeader, type EventDocument, type EventHeader } from '../db/catalog';
import { effectiveSort, SEARCH_FACETS, SEARCH_SORTS, searchEvents, type SearchQuery, type SearchResult } from '../db/search';
import { keywordWords } from '../db/search-keyword';
import { cachedJson, cacheKey } from '../lib/edge-cache';
import { adaptiveJson, type AdaptiveLifetimes } from '../lib/adaptive-cache';
import { renderedResponse, RenderedViews } from '../lib/rendered-views';
import { canonicalId, parseId, parseQuery, text } from '../validation';
import type { SeatStatusSnapshot } from '../durable/TicketLock';

/** Organizer edits reach every data centre within this many seconds. */
export const CATALOG_TTL_SECONDS = 60;
/** Seat status shown by the event view is at most this stale; the seat stream is live. */
export const SEAT_STATUS_TTL_SECONDS = 2;
/**
 * Search answers, by normalized query: a query asked about every 15 s or more often (in an
 * isolate) is hot, kept 60 s and refreshed in the background once 15 s old, so it never waits for
 * Postgres; others are kept 30 s. No answer is older than 60 s, so an organizer's edit shows
 * within 60 s.
 */
export const SEARCH_CACHE: AdaptiveLifetimes = { coldSeconds: 30, hotFreshSeconds: 15, maxAgeSeconds: 60, hotAfter: 3 };

export const eventDocumentKey = (eventId: string) => cacheKey(`/v1/events/${eventId}`);
export const eventHeaderKey = (eventId: string) => cacheKey(`/v1/events/${eventId}/header`);
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

/** `near=lat,lng`: decimal degrees, latitude first. */
const coordinates = z
  .string()
  .trim()
  .regex(/^-?\d{1,3}(\.\d+)?,-?\d{1,3}(\.\d+)?$/, 'must be latitude,longitude in decimal degrees, e.g. 41.8781,-87.6298')
  .transform((value) => {
    const [latitude, longitude] = value.split(',').map(Number) as [number, number];
    return { latitude, longitude };
  })
  .refine((near) => Math.abs(near.latitude) <= 90 && Math.abs(near.longitude) <= 180, 'latitude must be within ±90 and longitude within ±180');

/** A comma-separated list of distinct facet names. */
const facetList = z
  .string()
  .trim()
  .transform((value) => value.split(',').map((name) => name.trim()).filter((name) => name.length > 0))
  .pipe(z.array(z.enum(SEARCH_FACETS)).min(1, 'name at least one facet: city, genre'))
  .transform((names) => [...new Set(names)]);

export const DEFAULT_RADIUS_KM = 50;
export const MAX_RADIUS_KM = 500;

export const searchQuery = z
  .object({
    keyword: z.string().trim().max(200, 'must be at most 200 characters').optional(),
    start: dateBound.optional(),
    end: dateBound.optional(),
    pageSize: z.coerce.number().int().min(1).max(100).default(20),
    page: z.coerce.number().int().min(1).max(1000).default(1),
    city: text(100).optional().describe('Only events in this city (any case).'),
    genre: text(100).optional().describe("Only events whose performer has this genre (any case)."),
    venueId: canonicalId().optional().describe('Only events at this venue.'),
    performerId: canonicalId().optional().describe('Only events of this performer.'),
    near: coordinates.optional().describe('latitude,longitude: only events at venues within radiusKm of it.'),
    radiusKm: z.coerce.number().positive().max(MAX_RADIUS_KM).optional().describe(`Radius around near, in km (default ${DEFAULT_RADIUS_KM}).`),
    sort: z.enum(SEARCH_SORTS).optional().describe('relevance (the default with a keyword), date (the default without), name, or distance (needs near).'),
    onSale: z.enum(['true', 'false']).optional().describe('true: only events on sale now with tickets left to buy.'),
    facets: facetList.optional().describe('Comma-separated: city, genre. Counts of the matching events by each value.'),
  })
  // Zod runs this even when start or end failed their own check (a string then, not a range).
  .refine((q) => !(q.start?.from instanceof Date) || !(q.end?.until instanceof Date) || q.start.from.getTime() < q.end.until.getTime(), {
    message: 'start must not be after end',
    path: ['start'],
  })
  .refine((q) => q.radiusKm === undefined || q.near !== undefined, { message: 'radiusKm goes with near=latitude,longitude', path: ['radiusKm'] })
  .refine((q) => q.sort !== 'distance' || q.near !== undefined, { message: 'sort=distance needs near=latitude,longitude', path: ['sort'] });

export type SearchParams = z.output<typeof searchQuery>;

/** The search a request asks for, normalized: equivalent requests give equal queries (and share a cache entry). */
export function toSearchQuery(params: SearchParams): SearchQuery {
  const words = keywordWords(params.keyword);
  const query: SearchQuery = {
    keyword: words.length > 0 ? words.join(' ') : undefined,
    start: params.start?.from,
    endBefore: params.end?.until,
    city: params.city?.toLowerCase(),
    genre: params.genre?.toLowerCase(),
    venueId: params.venueId,
    performerId: params.performerId,
    near: params.near ? { ...params.near, radiusKm: params.radiusKm ?? DEFAULT_RADIUS_KM } : undefined,
    onSale: params.onSale === 'true' ? true : undefined,
    facets: params.facets ? [...params.facets].sort() : undefined,
    page: params.page,
    pageSize: params.pageSize,
  };
  query.sort = effectiveSort({ sort: params.sort, keyword: query.keyword });
  return query;
}

/** The cache key of a normalized search. */
export function searchCacheKey(query: SearchQuery): string {
  const parts: Array<[string, string | undefined]> = [
    ['k', query.keyword],
    ['s', query.start?.toISOString()],
    ['e', query.endBefore?.toISOString()],
    ['city', query.city],
    ['genre', query.genre],
    ['venue', query.venueId],
    ['performer', query.performerId],
    ['near', query.near ? `${query.near.latitude},${query.near.longitude},${query.near.radiusKm}` : undefined],
    ['onSale', query.onSale ? '1' : undefined],
    ['sort', query.sort],
    ['facets', query.facets?.join(',')],
    ['p', String(query.page)],
    ['n', String(query.pageSize)],
  ];
  const defined = parts.filter((part): part is [string, string] => part[1] !== undefined);
  return cacheKey(`/v2/search?${new URLSearchParams(defined)}`);
}

/** The event's catalog document, from the edge cache or else Postgres. */
export function eventDocument(c: Context<AppEnv>, eventId: string): Promise<EventDocument | null> {
  return cachedJson<EventDocument>(c.executionCtx, eventDocumentKey(eventId), CATALOG_TTL_SECONDS, () => withDb(c.env, (db) => loadEventDocument(db, eventId)));
}

/** The event as its public pages show it: unknown events, and drafts to anyone but organizers, are not found. */
export async function visibleEventDocument(c: Context<AppEnv>, eventId: string): Promise<EventDocument> {
  return visible(c, await eventDocument(c, eventId));
}

/** The event without its seats (src/db/catalog.ts EventHeader), from the edge cache or else Postgres. */
export function eventHeader(c: Context<AppEnv>, eventId: string): Promise<EventHeader | null> {
  return cachedJson<EventHeader>(c.executionCtx, eventHeaderKey(eventId), CATALOG_TTL_SECONDS, () => withDb(c.env, (db) => loadEventHeader(db, eventId)));
}

/** visibleEventDocument without the seats: for paths whose cost must not grow with the venue. */
export async function visibleEventHeader(c: Context<AppEnv>, eventId: string): Promise<EventHeader> {
  return visible(c, await eventHeader(c, eventId));
}

function visible<T extends EventHeader>(c: Context<AppEnv>, found: T | null): T {
  if (!found || (found.event.status === 'draft' && !isAdmin(c))) throw notFound('event');
  return found;
}

async function seatStatus(c: Context<AppEnv>, eventId: string): Promise<SeatStatusSnapshot> {
  const snapshot = await cachedJson(c.executionCtx, seatStatusKey(eventId), SEAT_STATUS_TTL_SECONDS, () =>
    c.env.TICKET_LOCK.getByName(eventId).seatStatus(eventId),
  );
  return snapshot!;
}

export const eventRoutes = new Hono<AppEnv>()
  .get('/search', async (c) => {
    const params = parseQuery(c, searchQuery);
    const query = toSearchQuery(params);
    const answer = await adaptiveJson<SearchResult>(c.executionCtx, searchCacheKey(query), SEARCH_CACHE, () =>
      withDb(c.env, (db) => searchEvents(db, query)),
    );
    // Browsers and proxies may keep it only for what is left of its 60 s.
    const ageSeconds = Math.ceil((Date.now() - answer.loadedAt) / 1000);
    c.header('Cache-Control', `public, max-age=${Math.max(0, SEARCH_CACHE.maxAgeSeconds - ageSeconds)}`);
    const { events, total, ...additions } = answer.value;
    return c.json({ events, page: query.page, pageSize: query.pageSize, total, ...additions });
  })
  .get('/:eventId', async (c) => {
    const eventId = parseId(c.req.param('eventId'), 'event');
    const { tickets } = parseQuery(c, eventViewQuery);
    // The header and the seat status carry both versions: a 304, or a body rendered before for
    // them, costs no look at the seat list (11 MB at 80,000 seats).
    const header = await visibleEventHeader(c, eventId);
    if (tickets === 'none') return eventDetails(c, header);
    const seats = await seatStatus(c, eventId);
    const etag = `W/"${header.version.toString(36)}-${seats.version.toString(36)}"`;
    const cacheControl = header.event.status === 'draft' ? 'private, no-cache' : `public, max-age=${SEAT_STATUS_TTL_SECONDS}`;
    c.header('ETag', etag);
    c.header('Cache-Control', cacheControl);
    const ifNoneMatch = c.req.header('If-None-Match');
    if (ifNoneMatch && ifNoneMatch.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*')) {
      return c.body(null, 304);
    }
    let view = renderedViews.recall(eventId, etag);
    if (view === undefined) {
      const document = await visibleEventDocument(c, eventId);
      view = { text: renderEventView(document, seats) };
      renderedViews.remember(eventId, etag, view);
    }
    return renderedResponse(view, c.req.header('Accept-Encoding'), { ETag: etag, 'Cache-Control': cacheControl });
  });

export const eventViewQuery = z.object({
  tickets: z.enum(['none']).optional().describe('none: the event, venue and performer without the tickets (a page that draws its seats from the seat map and availability).'),
});

/** `?tickets=none`: the view without its tickets, from the small header, versioned by the catalog alone. */
function eventDetails(c: Context<AppEnv>, header: EventHeader) {
  const etag = `W/"${header.version.toString(36)}"`;
  c.header('ETag', etag);
  c.header('Cache-Control', header.event.status === 'draft' ? 'private, no-cache' : `public, max-age=${CATALOG_TTL_SECONDS}`);
  const ifNoneMatch = c.req.header('If-None-Match');
  if (ifNoneMatch && ifNoneMatch.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*')) return c.body(null, 304);
  const { event, venue, performer } = header;
  return c.json({ event, venue, performer });
}

/** The full view as JSON text, once per (catalog version, seat status version) in an isolate. */
function renderEventView(document: EventDocument, seats: SeatStatusSnapshot): string {
  const reserved = new Set(seats.reserved);
  const booked = new Set(seats.booked);
  const { event, venue, performer } = document;
  return JSON.stringify({
    event,
    venue,
    performer,
    tickets: document.tickets.map((ticket) => ({
      ...ticket,
      status: booked.has(ticket.id) ? 'booked' : reserved.has(ticket.id) ? 'reserved' : 'available',
    })),
  });
}

const renderedViews = new RenderedViews();
