import { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { parseId, parseQuery } from '../validation';
import { MAX_LAST_EVENT_ID_LENGTH } from '../durable/seat-stream';
import { RELAYS_PER_EVENT, seatRelayName } from '../durable/SeatRelay';
import { visibleEventHeader } from './events';

export const seatStreamQuery = z.object({
  format: z.enum(['compact']).optional().describe('compact: the snapshot is the availability encoding and changes are [seatIndex, status code] pairs.'),
  lastEventId: z.string().optional().describe('Resume after this event id, as the Last-Event-ID header does.'),
});

/** Mounted at /api/events/:eventId/seats. */
export const seatRoutes = new Hono<AppEnv>().get('/stream', async (c) => {
  const eventId = parseId(c.req.param('eventId'), 'event');
  // Only API.md's one format: a misspelt one is refused rather than silently sent the full frames.
  const { format } = parseQuery(c, seatStreamQuery);
  await visibleEventHeader(c, eventId);

  // A browser's EventSource sends Last-Event-ID itself when it reconnects; a page that opens a
  // new EventSource can only pass what it last saw in the query. Anything malformed means "none".
  const raw = c.req.header('Last-Event-ID') ?? c.req.query('lastEventId') ?? null;
  const lastEventId = raw && raw.length <= MAX_LAST_EVENT_ID_LENGTH ? raw : null;
  // Watchers are spread over the event's relays (src/durable/SeatRelay.ts) from a random one on;
  // a full relay sends the request to the next, so 503 means every relay is full.
  const first = Math.floor(Math.random() * RELAYS_PER_EVENT);
  let stream: ReadableStream<Uint8Array> | null = null;
  let relay = first;
  for (let i = 0; i < RELAYS_PER_EVENT && !stream; i += 1) {
    relay = (first + i) % RELAYS_PER_EVENT;
    stream = await c.env.SEAT_RELAY.getByName(seatRelayName(eventId, relay)).openSeatStream(eventId, lastEventId, format ?? 'full');
  }
  if (!stream) {
    throw new ApiError(503, 'unavailable', 'Too many people are watching this seat map live; retry shortly, or reload the event page (its seat status is at most 2 seconds old).', undefined, { 'Retry-After': '10' });
  }
  return new Response(stream, {
    headers: {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      'X-Accel-Buffering': 'no',
      // Which of the event's relays serves this stream (bench/seat-stream.ts times the fan-out per relay).
      'X-Seat-Relay': String(relay),
    },
  });
});
