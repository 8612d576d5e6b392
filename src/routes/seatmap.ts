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
    c.header('Cache-Control', draft ? 'private, no-cache' : v !== undefined ? IMMUTABLE : `public, max-age=${CATALOG_TTL_SECONDS}`);
    if (notModified(c, `"${seatmap.version}"`)) return c.body(null, 304);
    return c.json(seatmap);
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
    c.header('Cache-Control', status === 'draft' ? 'private, no-cache' : `public, max-age=${AVAILABILITY_TTL_SECONDS}`);
    // The epoch changes when the TicketLock relearns its seats (its versions may start again), the
    // seat version with every change, the seat map's with the layout: together they name the body.
    if (notModified(c, `"${packed.epoch}-${packed.version.toString(36)}-${seatmap.version}"`)) return c.body(null, 304);
    return c.json({ eventId, version: packed.version, seatmapVersion: seatmap.version, seatCount: packed.seatCount, statuses: packed.statuses });
  });
