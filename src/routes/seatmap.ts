// The compact seat resources of API.md: the seat map (layout and prices, versioned by a content
// hash) and the availability (2 bits a seat from the event's TicketLock). Together they are what a
// client draws a stadium from: at 80,000 seats a few kilobytes of layout and 27 KB of statuses,
// where the full event view is 11 MB. Neither reads anything per seat per request.
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../env';
import { ApiError, notFound } from '../errors';
import { isAdmin } from '../auth/session';
import { withDb } from '../db/client';
import { loadSeatmap, type StoredSeatmap } from '../db/seatmap';
import { cachedJson, cacheKey } from '../lib/edge-cache';
import { renderedResponse, RenderedViews } from '../lib/rendered-views';
import { parseId, parseQuery } from '../validation';
import { CATALOG_TTL_SECONDS } from './events';

/** A versioned seat map never changes: any cache may keep it. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Availability is at most this stale (API.md: 2 s, with the edge cache's own second on top). */
export const AVAILABILITY_TTL_SECONDS = 1;

export const seatmapKey = (eventId: string) => cacheKey(`/v1/events/${eventId}/seatmap`);
const availabilityKey = (eventId: string) => cacheKey(`/v1/events/${eventId}/availability`);

export const seatmapQuery = z.object({
  v: z.string().max(64).optional().describe('A version of the seat map: answered, immutable, while it is the current one; any other is 404.'),
});

/** The seat map from the edge cache or Postgres; unknown events, and drafts to anyone but organizers, are not found. */
async function visibleSeatmap(c: Context<AppEnv>, eventId: string): Promise<StoredSeatmap> {
  const stored = await cachedJson(c.executionCtx, seatmapKey(eventId), CATALOG_TTL_SECONDS, () => withDb(c.env, (db) => loadSeatmap(db, eventId)));
  if (!stored || (stored.status === 'draft' && !isAdmin(c))) throw notFound('event');
  return stored;
}

// Bodies rendered once per version in this isolate, and gzipped once for every client that takes
// gzip: at 80,000 seats the availability is 27 KB of JSON a request would otherwise build (and the
// edge compress) again, and it changes at most once a second.
const renderedSeatmaps = new RenderedViews();
const renderedAvailability = new RenderedViews();

function rendered(views: RenderedViews, eventId: string, version: string, body: () => unknown) {
  let view = views.recall(eventId, version);
  if (!view) {
    view = { text: JSON.stringify(body()) };
    views.remember(eventId, version, view);
  }
  return view;
}

/** Sets the ETag and says whether the client's copy is current (then the answer is a 304). */
function notModified(c: Context<AppEnv>, etag: string): boolean {
  c.header('ETag', etag);
  const ifNoneMatch = c.req.header('If-None-Match');
  return !!ifNoneMatch && ifNoneMatch.split(',').some((tag) => tag.trim() === etag || tag.trim() === `W/${etag}` || tag.trim() === '*');
}

/** Mounted at /api/events/:eventId. */
export const seatmapRoutes = new Hono<AppEnv>()
  .get('/seatmap', async (c) => {
    const eventId = parseId(c.req.param('eventId'), 'event');
    const { v } = parseQuery(c, seatmapQuery);
    const { status, seatmap } = await visibleSeatmap(c, eventId);
    if (v !== undefined && v !== seatmap.version) {
      // Not cached: a layout changed back makes an old version current again.
      throw new ApiError(404, 'not_found', `Version ${v} of this seat map is not the current one (${seatmap.version}).`, undefined, { 'Cache-Control': 'no-cache' });
    }
    const draft = status === 'draft';
    const cacheControl = draft ? 'private, no-cache' : v !== undefined ? IMMUTABLE : `public, max-age=${CATALOG_TTL_SECONDS}`;
    const etag = `"${seatmap.version}"`;
    c.header('Cache-Control', cacheControl);
    if (notModified(c, etag)) return c.body(null, 304);
    return renderedResponse(rendered(renderedSeatmaps, eventId, seatmap.version, () => seatmap), c.req.header('Accept-Encoding'), { ETag: etag, 'Cache-Control': cacheControl });
  })
  .get('/availability', async (c) => {
    const eventId = parseId(c.req.param('eventId'), 'event');
    const { status, seatmap } = await visibleSeatmap(c, eventId);
    // API.md: at most 2 s stale. A TicketLock that cannot answer (it would have to load from a
    // Postgres that is down) is a 503, never an old copy of who holds what.
    const packed = (await cachedJson(
      c.executionCtx,
      availabilityKey(eventId),
      AVAILABILITY_TTL_SECONDS,
      () => c.env.TICKET_LOCK.getByName(eventId).seatAvailability(eventId),
      { staleIfError: false },
    ).catch((error: unknown) => {
      console.warn(`availability of ${eventId} unavailable`, error);
      throw new ApiError(503, 'unavailable', 'Seat availability cannot be read just now. Try again in a few seconds.', undefined, { 'Retry-After': '5' });
    }))!;
    const cacheControl = status === 'draft' ? 'private, no-cache' : `public, max-age=${AVAILABILITY_TTL_SECONDS}`;
    c.header('Cache-Control', cacheControl);
    // The epoch changes when the TicketLock relearns its seats (its versions may start again), the
    // seat version with every change, the seat map's with the layout: together they name the body.
    const etag = `"${packed.epoch}-${packed.version.toString(36)}-${seatmap.version}"`;
    if (notModified(c, etag)) return c.body(null, 304);
    const body = () => ({ eventId, version: packed.version, seatmapVersion: seatmap.version, seatCount: packed.seatCount, statuses: packed.statuses });
    return renderedResponse(rendered(renderedAvailability, eventId, etag, body), c.req.header('Accept-Encoding'), { ETag: etag, 'Cache-Control': cacheControl });
  });
