// Idempotency-Key for the booking POSTs: a retry with the same key and body gets the first
// answer and changes nothing. Keys live in the TicketLock of the event concerned, so the hold
// path still touches no Postgres.
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { eventIdOfBooking } from '../durable/TicketLock';

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function sha256(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** For `/:eventId` and `/:bookingId/pay` under /api/bookings. */
export const idempotentBookingPosts: MiddlewareHandler<AppEnv> = async (c, next) => {
  const header = c.req.header('Idempotency-Key');
  const user = c.get('user');
  if (c.req.method !== 'POST' || header === undefined || !user) return next();
  if (!KEY_PATTERN.test(header)) {
    throw new ApiError(400, 'validation_failed', 'Idempotency-Key must be 1–255 visible ASCII characters.', [{ field: 'Idempotency-Key', message: 'invalid' }]);
  }
  // The same canonical spelling the routes use, so a key is found whatever the spelling of the id.
  const target = (c.req.path.replace(/^\/api\/bookings\//, '').split('/')[0] ?? '').toLowerCase();
  const eventId = UUID.test(target) ? target : eventIdOfBooking(target);
  if (!eventId) return next();

  const lock = c.env.TICKET_LOCK.getByName(eventId);
  const key = `${user.id}:${header}`;
  const fingerprint = await sha256(`${c.req.method} ${c.req.path.toLowerCase()}\n${await c.req.raw.clone().text()}`);
  const claim = await lock.claimIdempotencyKey(key, fingerprint);
  if (claim.state === 'mismatch') {
    throw new ApiError(422, 'idempotency_key_reused', 'This Idempotency-Key was already used for a different request; use a new key.');
  }
  if (claim.state === 'in_progress') {
    throw new ApiError(409, 'idempotency_in_progress', 'A request with this Idempotency-Key is still being processed; retry shortly.', undefined, { 'Retry-After': '1' });
  }
  if (claim.state === 'done') {
    return c.newResponse(claim.body || null, claim.status as 200, { 'Content-Type': 'application/json; charset=UTF-8', 'Idempotent-Replayed': 'true' });
  }
  await next();
  // Server errors are not remembered, and neither is a 403 (not on sale yet, no admission from the
  // waiting room yet): the same request may be tried again and succeed.
  const answer = c.res.status < 500 && c.res.status !== 403 ? { status: c.res.status, body: await c.res.clone().text() } : null;
  // Through a new stub: the object that took the claim may have been replaced meanwhile (a deploy),
  // and its old stub would fail, leaving the claim "in progress" and the answer lost.
  await c.env.TICKET_LOCK.getByName(eventId).settleIdempotencyKey(key, answer, claim.claim);
};
