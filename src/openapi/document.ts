// The OpenAPI 3.1 description of the API (GET /api/openapi.json), built from the same zod
// schemas the routes validate with, so a changed rule changes its description. Every route the
// app registers is listed here (test/openapi/document.test.ts compares them with app.routes);
// endpoints of API.md that are not built yet are listed too, marked `x-planned`, so a client
// writer sees the whole contract and knows which part answers today.
import { z } from 'zod';
import { loginBody, signupBody } from '../routes/auth';
import { eventViewQuery, searchQuery } from '../routes/events';
import { createEventBody, patchEventBody, performerBody, refundBody, scanBody, venueBody } from '../routes/admin';
import { holdBody, payBody, transferBody } from '../routes/bookings';
import { seatmapQuery } from '../routes/seatmap';
import { seatStreamQuery } from '../routes/seats';
import { outboxQuery } from '../routes/dev';
import { waitlistBody } from '../routes/waitlist';
import * as responses from './responses';

type Method = 'get' | 'post' | 'patch' | 'delete';
type Access = 'public' | 'user' | 'admin' | 'optional';

interface Answer {
  description: string;
  /** JSON body; omitted for answers without one. */
  schema?: z.ZodType;
  /** A body of another kind, described in words (the seat stream, the docs page). */
  contentType?: string;
  headers?: Record<string, string>;
}

export interface Operation {
  method: Method;
  /** OpenAPI path template, e.g. /api/events/{eventId}. */
  path: string;
  tag: string;
  summary: string;
  description?: string;
  access: Access;
  pathParams?: Record<string, string>;
  query?: z.ZodObject;
  headers?: Record<string, string>;
  body?: z.ZodType;
  /** Statuses other than 2xx get API.md's error shape. */
  answers: Record<number, Answer | string>;
  /** In API.md but not served yet: documented so clients see what is coming. */
  planned?: boolean;
}

const eventId = { eventId: 'The event\'s id.' };
const bookingId = { bookingId: 'The booking\'s id (as returned when it was held).' };

// Error answers that apply to every operation of a kind, added to each.
const badRequest = 'validation_failed: the body, a query parameter or a header is not valid (details name each field).';
const notFound = 'not_found: no such resource, or not one the caller may see.';

function accessErrors(access: Access): Record<number, string> {
  if (access === 'user') return { 401: 'unauthenticated: no valid session.' };
  if (access === 'admin') return { 401: 'unauthenticated: no valid session.', 403: 'forbidden: organizers (admins) only.' };
  return {};
}

export const operations: Operation[] = [
  // Operations
  {
    method: 'get', path: '/api/health', tag: 'operations', summary: 'Is the service and its database up?', access: 'public',
    answers: { 200: { description: 'Up.', schema: responses.healthResponse }, 503: { description: 'The database is down.', schema: responses.healthResponse } },
  },
  {
    method: 'get', path: '/api/openapi.json', tag: 'operations', summary: 'This document.', access: 'public',
    answers: { 200: { description: 'OpenAPI 3.1.', contentType: 'application/json' } },
  },
  {
    method: 'get', path: '/api/docs', tag: 'operations', summary: 'This document, readable: Swagger UI (served from the Worker itself).', access: 'public',
    answers: { 200: { description: 'An HTML page.', contentType: 'text/html' } },
  },
  {
    method: 'get', path: '/api/docs/{asset}', tag: 'operations', summary: 'The docs page\'s scripts and stylesheet.', access: 'public',
    pathParams: { asset: 'swagger-ui-bundle.js, swagger-ui.css or init.js' },
    answers: { 200: { description: 'JavaScript or CSS.', contentType: 'text/plain' }, 404: notFound },
  },

  // Accounts
  {
    method: 'post', path: '/api/auth/signup', tag: 'accounts', summary: 'Create an account and sign in.', access: 'public', body: signupBody,
    description: 'Also sets the HttpOnly `session` cookie.',
    answers: { 201: { description: 'Signed up.', schema: responses.sessionResponse }, 409: 'email_taken', 429: 'rate_limited (with Retry-After).' },
  },
  {
    method: 'post', path: '/api/auth/login', tag: 'accounts', summary: 'Sign in.', access: 'public', body: loginBody,
    description: 'Also sets the HttpOnly `session` cookie. An unknown email and a wrong password answer the same.',
    answers: { 200: { description: 'Signed in.', schema: responses.sessionResponse }, 401: 'invalid_credentials', 429: 'rate_limited: too many failures (with Retry-After).' },
  },
  {
    method: 'post', path: '/api/auth/logout', tag: 'accounts', summary: 'Sign out.', access: 'optional',
    answers: { 204: { description: 'Signed out; the cookie is cleared.' } },
  },
  {
    method: 'get', path: '/api/me', tag: 'accounts', summary: 'Who am I?', access: 'user',
    answers: { 200: { description: 'The signed-in user.', schema: responses.meResponse } },
  },
  {
    method: 'get', path: '/api/me/bookings', tag: 'bookings', summary: 'My bookings that reached Postgres, newest first.', access: 'user',
    answers: { 200: { description: 'Bookings.', schema: responses.myBookingsResponse } },
  },

  // Catalog
  {
    method: 'get', path: '/api/events/search', tag: 'catalog', summary: 'Search published events (typo tolerant).', access: 'public', query: searchQuery,
    description:
      'Relevance: the words all in the event\'s or performer\'s name, then all in those or the venue and city, then anywhere; each by date. ' +
      'Filters (city, genre, venueId, performerId, near + radiusKm, onSale), sorts and facets are additions to API.md (see the README). ' +
      'Answers are cached by their normalized query for at most 60 s.',
    answers: { 200: { description: 'A page of events, best matches first.', schema: responses.searchResponse }, 400: badRequest },
  },
  {
    method: 'get', path: '/api/events/{eventId}', tag: 'catalog', summary: 'The event page: event, venue, performer and tickets with status.', access: 'optional',
    pathParams: eventId, query: eventViewQuery, headers: { 'If-None-Match': 'An ETag from an earlier answer.' },
    description:
      'Drafts are visible to admins only. Carries `Cache-Control` and `ETag`. ' +
      '`?tickets=none` (an addition): without `tickets`, a few hundred bytes at any venue size, cacheable for 60 s.',
    answers: { 200: { description: 'The event.', schema: responses.eventView, headers: { ETag: 'Weak validator.' } }, 304: { description: 'Not modified.' }, 404: notFound },
  },
  {
    method: 'get', path: '/api/events/{eventId}/seatmap', tag: 'catalog', summary: 'The seat layout to draw, without statuses.', access: 'optional', pathParams: eventId,
    query: seatmapQuery, headers: { 'If-None-Match': 'An ETag from an earlier answer.' },
    description:
      'Seat index: seats are numbered 0…seatCount−1 in the order sections, rows, seat numbers, as listed; the compact resources name seats by it. ' +
      'A standing section (general admission) takes the next `capacity` indexes, one per place. ' +
      'Without `v`: `Cache-Control: public, max-age=60`. With the current `v`: immutable for a year. Drafts are visible to admins only.',
    answers: {
      200: { description: 'The seat map.', schema: responses.seatmapResponse, headers: { ETag: 'The version, quoted.' } },
      304: { description: 'Not modified.' }, 400: badRequest, 404: 'not_found: no such event, or `v` is not the current version (not cached).',
    },
  },
  {
    method: 'get', path: '/api/events/{eventId}/availability', tag: 'catalog', summary: 'Seat statuses, 2 bits per seat (base64).', access: 'optional', pathParams: eventId,
    headers: { 'If-None-Match': 'An ETag from an earlier answer.' },
    description: 'At most 2 s stale (`Cache-Control: public, max-age=1`). 80,000 seats: 20,000 bytes, 26,668 characters of base64. Drafts are visible to admins only.',
    answers: { 200: { description: 'The statuses.', schema: responses.availabilityResponse, headers: { ETag: 'Weak validator.' } }, 304: { description: 'Not modified.' }, 404: notFound },
  },
  {
    method: 'get', path: '/api/events/{eventId}/seats/stream', tag: 'live', summary: 'Live seat status (server-sent events).', access: 'optional', pathParams: eventId,
    query: seatStreamQuery,
    headers: { 'Last-Event-ID': 'Resume after this event id (`<epoch>-<version>`); `?lastEventId=` does the same.' },
    description:
      '`?format=compact`: the snapshot is `{ version, seatCount, statuses }` (the availability encoding) and change frames `{ version, changes: [[seatIndex, status], …] }` with its numeric statuses. Any other `format` is 400.',
    answers: {
      200: { description: '`event: snapshot`, then `event: seats` frames.', contentType: 'text/event-stream' }, 400: badRequest, 404: notFound,
      503: 'unavailable: too many watchers (with Retry-After).',
    },
  },

  // Waiting room
  {
    method: 'get', path: '/api/events/{eventId}/queue', tag: 'waiting room', summary: 'The waiting room\'s WebSocket.', access: 'user', pathParams: eventId,
    description: 'Authenticated by the session cookie, a Bearer token, or a one-time `?ticket=` from `POST …/queue/ticket` (a session token never goes in a URL). Messages: see the README.',
    answers: { 101: { description: 'Switching to WebSocket.' }, 404: notFound, 426: 'upgrade_required: not a WebSocket request.' },
  },
  {
    method: 'post', path: '/api/events/{eventId}/queue/ticket', tag: 'waiting room', summary: 'A one-time ticket (60 s) to open the waiting room\'s socket with `?ticket=`.', access: 'user', pathParams: eventId,
    answers: { 200: { description: 'The ticket.', schema: responses.socketTicketResponse }, 404: notFound, 429: 'rate_limited (with Retry-After).' },
  },
  {
    method: 'post', path: '/api/events/{eventId}/queue/join', tag: 'waiting room', summary: 'Join the line without a WebSocket (or keep the place held).', access: 'user', pathParams: eventId,
    answers: { 200: { description: 'The caller\'s place, as the status.', schema: responses.queueStatusResponse }, 404: notFound, 429: 'rate_limited (with Retry-After).' },
  },
  {
    method: 'get', path: '/api/events/{eventId}/queue/status', tag: 'waiting room', summary: 'My place in the line.', access: 'user', pathParams: eventId,
    description: 'Never joins (`none` without a place); polling keeps a place that exists. When admitted it also sets the HttpOnly admission cookie that bookings accept in place of `X-Queue-Token`.',
    answers: { 200: { description: 'The caller\'s place.', schema: responses.queueStatusResponse }, 404: notFound, 429: 'rate_limited: asked too often.' },
  },
  {
    method: 'get', path: '/api/events/{eventId}/queue/fairness', tag: 'waiting room', summary: 'Everything needed to re-check the lobby\'s random draw.', access: 'public', pathParams: eventId,
    answers: { 200: { description: 'The draw.', schema: responses.fairnessResponse }, 404: notFound },
  },
  {
    method: 'post', path: '/api/events/{eventId}/waitlist', tag: 'waiting list', summary: 'Join the waiting list for places that come free.', access: 'user', pathParams: eventId, body: waitlistBody,
    description: 'Only while no places that fit (the quantity, in the section if named) can be held. Places that come free are held for the first entry they fit as a pending booking of theirs for the event\'s `waitlistOfferMinutes`, and they are notified; an offer not paid in time goes to the next. One entry per account and event: joining again answers the entry (200).',
    answers: {
      201: { description: 'Joined.', schema: responses.waitlistEntryResponse },
      200: { description: 'Already on the list: the entry.', schema: responses.waitlistEntryResponse },
      400: badRequest,
      404: notFound,
      409: 'tickets_available: places that fit can be held now; tickets_unavailable: the event was cancelled; ticket_limit.',
    },
  },
  {
    method: 'delete', path: '/api/events/{eventId}/waitlist', tag: 'waiting list', summary: 'Leave the waiting list (an offer held for you is let go).', access: 'user', pathParams: eventId,
    answers: { 204: { description: 'Left.' }, 404: notFound },
  },
  {
    method: 'get', path: '/api/me/waitlist', tag: 'waiting list', summary: 'My waiting-list entries, newest first.', access: 'user',
    answers: { 200: { description: 'The entries.', schema: responses.myWaitlistResponse } },
  },

  // Bookings
  {
    method: 'post', path: '/api/bookings/{id}', tag: 'bookings', summary: 'Hold tickets (and optionally pay at once).', access: 'user', body: holdBody,
    pathParams: { id: 'The event\'s id.' },
    headers: { 'Idempotency-Key': '1–255 visible ASCII characters: a retry with the same key and body gets the first answer.', 'X-Queue-Token': 'The waiting room\'s admission token, while the event\'s queue is on.' },
    description: 'All or nothing: every ticket is held for the caller, or none. Name the tickets by `ticketIds` or by `seats` (seat indexes of the seat map), or ask for `best` available (the server picks `quantity` seats and holds them at once), exactly one of the three; an answer to `seats` or `best` carries the seat indexes too.',
    answers: {
      201: { description: 'Held (`pending`) or, with paymentDetails, paid (`confirmed`).', schema: responses.bookingJson },
      202: { description: 'The payment is still processing: `pending`, seats held until it settles.', schema: responses.bookingJson },
      400: badRequest, 402: 'payment_declined: every ticket released.', 403: 'queue_required, or forbidden before the sale opens.', 404: notFound,
      409: 'tickets_unavailable (details.ticketIds, and details.seats for a hold by seats; for `best`, nothing fits), ticket_limit, or idempotency_in_progress.', 422: 'idempotency_key_reused', 429: 'rate_limited (with Retry-After).',
    },
  },
  {
    method: 'get', path: '/api/bookings/{id}', tag: 'bookings', summary: 'A booking (owner or admin).', access: 'user', pathParams: { id: bookingId.bookingId },
    answers: { 200: { description: 'The booking.', schema: responses.bookingJson }, 404: notFound },
  },
  {
    method: 'delete', path: '/api/bookings/{id}', tag: 'bookings', summary: 'Release a pending booking\'s seats (owner).', access: 'user', pathParams: { id: bookingId.bookingId },
    answers: { 204: { description: 'Released.' }, 404: notFound, 409: 'booking_not_pending' },
  },
  {
    method: 'post', path: '/api/bookings/{bookingId}/pay', tag: 'bookings', summary: 'Pay for a held booking (owner).', access: 'user', pathParams: bookingId, body: payBody,
    headers: { 'Idempotency-Key': 'As for the hold.' },
    answers: {
      200: { description: 'Confirmed.', schema: responses.bookingJson }, 202: { description: 'Still processing.', schema: responses.bookingJson },
      400: badRequest, 402: 'payment_declined: the hold is kept.', 404: notFound, 409: 'booking_not_pending', 410: 'hold_expired', 422: 'idempotency_key_reused', 429: 'rate_limited (with Retry-After).',
    },
  },
  {
    method: 'get', path: '/api/bookings/{bookingId}/tickets/{ticketId}/rotating', tag: 'bookings', summary: 'A ticket\'s rotating QR code (owner).', access: 'user',
    pathParams: { ...bookingId, ticketId: 'A ticket of that booking.' },
    answers: { 200: { description: 'The codes; `Cache-Control: no-store`.', schema: responses.rotatingCodeResponse }, 404: notFound },
  },
  {
    method: 'post', path: '/api/bookings/{bookingId}/transfer', tag: 'bookings', summary: 'Give tickets to another account (owner).', access: 'user', pathParams: bookingId, body: transferBody,
    headers: { 'Idempotency-Key': 'As for the hold.' },
    description: 'The tickets (all, or those named) move to the account with that email as a new confirmed booking of theirs (price 0, new codes; the old codes scan invalid). The sender keeps the others, or the booking becomes `transferred`. A transfer consumes no ticket limit of the recipient\'s.',
    answers: {
      200: { description: 'Moved.', schema: responses.transferResponse },
      400: 'validation_failed: the body is not valid, the email is your own, or a ticket named is not in the booking.',
      404: 'not_found: no such booking of yours, or no account has that email.',
      409: 'booking_not_pending: the booking is not confirmed (or its confirmation is not recorded yet), or its tickets are being moved or were moved; also idempotency_in_progress.',
      422: 'idempotency_key_reused', 503: 'unavailable (with Retry-After): the database did not answer; nothing moved.',
    },
  },
  {
    method: 'post', path: '/api/payments/webhook', tag: 'payments', summary: 'Stripe\'s webhook.', access: 'public',
    headers: { 'Stripe-Signature': 'Checked with STRIPE_WEBHOOK_SECRET.' },
    body: z.looseObject({ id: z.string(), type: z.string() }).describe('A Stripe event, exactly as Stripe sent it.'),
    answers: { 200: { description: 'Received.', schema: responses.webhookResponse }, 400: 'validation_failed: a missing, bad or old signature.' },
  },

  // Organizer
  {
    method: 'post', path: '/api/admin/performers', tag: 'organizer', summary: 'Create a performer.', access: 'admin', body: performerBody,
    answers: { 201: { description: 'Created.', schema: responses.performerCreated }, 400: badRequest },
  },
  {
    method: 'post', path: '/api/admin/venues', tag: 'organizer', summary: 'Create a venue and its seats (rows A, B, …; seats from 1) and standing areas (`kind: "standing"`, `capacity` places).', access: 'admin', body: venueBody,
    answers: { 201: { description: 'Created.', schema: responses.venueCreated }, 400: badRequest },
  },
  {
    method: 'post', path: '/api/admin/events', tag: 'organizer', summary: 'Create an event, one ticket per seat of its venue.', access: 'admin', body: createEventBody,
    answers: { 201: { description: 'Created.', schema: responses.eventCreated }, 400: badRequest },
  },
  {
    method: 'patch', path: '/api/admin/events/{eventId}', tag: 'organizer', summary: 'Change any of an event\'s fields.', access: 'admin', pathParams: eventId, body: patchEventBody,
    answers: { 200: { description: 'Changed; views and search show it within 60 s.', schema: responses.eventUpdated }, 400: badRequest, 404: notFound },
  },
  {
    method: 'get', path: '/api/admin/events/{eventId}/sales', tag: 'organizer', summary: 'Sales figures.', access: 'admin', pathParams: eventId,
    description: '`revenueCents` is net of refunds: what the event\'s bookings were paid, less what was given back (`refundedCents`) or is still owed back (the bookings counted by `refundsPending`). ' +
      '`history` is the sales over time, cumulative, from each paid booking\'s confirmation time: one point per hour with sales, or per day (or run of days) when that would be more than 200 points.',
    answers: { 200: { description: 'Figures.', schema: responses.salesResponse }, 404: notFound },
  },
  {
    method: 'post', path: '/api/admin/events/{eventId}/cancel', tag: 'organizer', summary: 'Cancel an event and refund every booking.', access: 'admin', pathParams: eventId,
    description:
      'The event becomes `cancelled`: no new holds, pending holds released. Every confirmed booking becomes `refunded`, its codes scan `invalid`, its buyer is notified (`event_cancelled`), ' +
      'and its money is owed back until the payment provider returns it (paid in batches, retried until done). `refunds` counts what this call made owed: cancelling again answers the same shape with 0 and 0.',
    answers: { 200: { description: 'Cancelled.', schema: responses.eventCancelledResponse }, 404: notFound },
  },
  {
    method: 'post', path: '/api/admin/bookings/{bookingId}/refund', tag: 'organizer', summary: 'Refund a booking.', access: 'admin', pathParams: bookingId, body: refundBody,
    description:
      'A confirmed booking becomes `refunded`: its money is owed back until the provider returns it, its codes scan `invalid`, and its buyer is notified (`booking_refunded`). ' +
      'With `releaseSeats: true` its seats go back on sale; without, they stay sold. The body may be left out.',
    answers: {
      200: { description: 'The booking, `status: "refunded"`.', schema: responses.bookingJson },
      400: badRequest, 404: notFound,
      409: 'booking_not_pending: the booking is pending, cancelled, or refunded already.',
      503: 'unavailable (with Retry-After): the booking\'s sale is still being written to the database.',
    },
  },
  {
    method: 'post', path: '/api/admin/scan', tag: 'organizer', summary: 'The door check: admit a ticket once.', access: 'admin', body: scanBody,
    answers: { 200: { description: 'admitted, already_admitted or invalid.', schema: responses.scanResponse }, 400: badRequest },
  },
  {
    method: 'get', path: '/api/dev/outbox', tag: 'organizer', summary: 'The notifications outbox: what buyers are told, newest first.', access: 'admin', query: outboxQuery,
    answers: { 200: { description: 'The outbox.', schema: responses.outboxResponse }, 400: badRequest },
  },
];

/** JSON Schema (2020-12, what OpenAPI 3.1 uses) of what a client sends or receives. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any', reused: 'inline' }) as Record<string, unknown>;
  return rest;
}

const errorSchemaRef = { $ref: '#/components/schemas/Error' };

function answerOf(answer: Answer | string) {
  if (typeof answer === 'string') return { description: answer, content: { 'application/json': { schema: errorSchemaRef } } };
  const headers = answer.headers && Object.fromEntries(Object.entries(answer.headers).map(([name, description]) => [name, { description, schema: { type: 'string' } }]));
  const content = answer.schema
    ? { 'application/json': { schema: jsonSchema(answer.schema, 'output') } }
    : answer.contentType
      ? { [answer.contentType]: { schema: { type: 'string' } } }
      : undefined;
  return { description: answer.description, ...(headers ? { headers } : {}), ...(content ? { content } : {}) };
}

function queryParameters(query: z.ZodObject) {
  const schema = jsonSchema(query, 'input') as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(schema.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: schema.required?.includes(name) ?? false,
    schema: property,
  }));
}

function operationObject(op: Operation) {
  const parameters = [
    ...Object.entries(op.pathParams ?? {}).map(([name, description]) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } })),
    ...(op.query ? queryParameters(op.query) : []),
    ...Object.entries(op.headers ?? {}).map(([name, description]) => ({ name, in: 'header', required: false, description, schema: { type: 'string' } })),
  ];
  const answers: Record<number, Answer | string | undefined> = {
    ...accessErrors(op.access),
    ...op.answers,
    ...(op.body ? { 400: op.answers[400] ?? badRequest, 413: 'payload_too_large: bodies are limited to 64 KiB.' } : {}),
    500: 'internal: never a stack trace or SQL.',
  };
  return {
    operationId: `${op.method}${op.path.replace(/[{}]/g, '').replace(/[^a-zA-Z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`,
    tags: [op.tag],
    summary: op.planned ? `(planned) ${op.summary}` : op.summary,
    ...(op.description || op.planned
      ? { description: [op.planned ? 'In API.md, not served yet (404 for now).' : '', op.description ?? ''].filter(Boolean).join(' ') }
      : {}),
    ...(op.planned ? { 'x-planned': true } : {}),
    ...(op.access === 'user' || op.access === 'admin' ? { security: [{ bearerAuth: [] }, { sessionCookie: [] }] } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(op.body, 'input') } } } } : {}),
    responses: Object.fromEntries(Object.entries(answers).flatMap(([status, answer]) => (answer ? [[status, answerOf(answer)]] : []))),
  };
}

export function openApiDocument() {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) (paths[op.path] ??= {})[op.method] = operationObject(op);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Box office API',
      version: '1',
      description:
        'The HTTP contract of the box office (API.md and the README\'s API additions). Errors always have the shape `{ "error": { "code", "message", "details"? } }`. Ids in paths are matched in their canonical (lower-case) form.',
    },
    servers: [{ url: '/' }],
    tags: ['catalog', 'live', 'waiting room', 'waiting list', 'bookings', 'payments', 'accounts', 'organizer', 'operations'].map((name) => ({ name })),
    paths,
    components: {
      schemas: { Error: jsonSchema(responses.errorResponse, 'output') },
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'The token from signup or login.' },
        sessionCookie: { type: 'apiKey', in: 'cookie', name: 'session', description: 'Set by signup and login (HttpOnly).' },
      },
    },
  };
}
