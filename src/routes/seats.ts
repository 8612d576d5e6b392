import { Hono } from 'hono';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { parseId } from '../validation';
import { MAX_LAST_EVENT_ID_LENGTH } from '../durable/seat-stream';
import { visibleEventHeader } from './events';

/** Mounted at /api/events/:eventId/seats. */
export const seatRoutes = new Hono<AppEnv>().get('/stream', async (c) => {
  const eventId = parseId(c.req.param('eventId'), 'event');
  await visibleEventHeader(c, eventId);

  // A browser's EventSource sends Last-Event-ID itself when it reconnects; a page that opens a
  // new EventSource can only pass what it last saw in the query. Anything malformed means "none".
  const raw = c.req.header('Last-Event-ID') ?? c.req.query('lastEventId') ?? null;
  const lastEventId = raw && raw.length <= MAX_LAST_EVENT_ID_LENGTH ? raw : null;
  const stream = await c.env.TICKET_LOCK.getByName(eventId).openSeatStream(eventId, lastEventId);
  if (!stream) {
    throw new ApiError(503, 'unavailable', 'Too many people are watching this seat map live; retry shortly, or reload the event page (its seat status is at most 2 seconds old).', undefined, { 'Retry-After': '10' });
  }
  return new Response(stream, {
    headers: {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      'X-Accel-Buffering': 'no',
    },
  });
});
