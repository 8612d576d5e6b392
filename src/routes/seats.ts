import { Hono } from 'hono';
import type { AppEnv } from '../env';
import { notFound } from '../errors';
import { isAdmin } from '../auth/session';
import { withDb } from '../db/client';
import { loadEventDocument, type EventDocument } from '../db/catalog';
import { cachedJson } from '../lib/edge-cache';
import { parseId } from '../validation';
import { MAX_LAST_EVENT_ID_LENGTH } from '../durable/seat-stream';
import { CATALOG_TTL_SECONDS, eventDocumentKey } from './events';

/** Mounted at /api/events/:eventId/seats. */
export const seatRoutes = new Hono<AppEnv>().get('/stream', async (c) => {
  const eventId = parseId(c.req.param('eventId'), 'event');
  const document = await cachedJson<EventDocument>(c.executionCtx, eventDocumentKey(eventId), CATALOG_TTL_SECONDS, () =>
    withDb(c.env, (db) => loadEventDocument(db, eventId)),
  );
  if (!document || (document.event.status === 'draft' && !isAdmin(c))) throw notFound('event');

  // A browser's EventSource sends Last-Event-ID itself when it reconnects; a page that opens a
  // new EventSource can only pass what it last saw in the query. Anything malformed means "none".
  const raw = c.req.header('Last-Event-ID') ?? c.req.query('lastEventId') ?? null;
  const lastEventId = raw && raw.length <= MAX_LAST_EVENT_ID_LENGTH ? raw : null;
  const stream = await c.env.TICKET_LOCK.getByName(eventId).openSeatStream(eventId, lastEventId);
  return new Response(stream, {
    headers: {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      'X-Accel-Buffering': 'no',
    },
  });
});
