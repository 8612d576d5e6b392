// Admission tokens: what the waiting room hands a shopper whose turn came, and what
// `POST /api/bookings/:eventId` asks for while the event's queue is on. Signed, naming the user,
// the event and the expiry, so checking one needs no call to the WaitingRoom.
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import type { AppEnv, Bindings } from '../env';
import { ApiError } from '../errors';
import { signTokenNow, verifyTokenWithAny } from '../lib/signing';
import { sessionKeys } from '../auth/keys';

const PURPOSE = 'queue-admission';

interface AdmissionClaims {
  /** user id */
  u: string;
  /** event id */
  e: string;
  /** expiry, ms since the epoch */
  x: number;
  /** admission id: one per admission, so the TicketLock can tell when it has been used up */
  a: string;
}

function admissionSecret(env: Bindings): string {
  if (!env.SESSION_SECRET || env.SESSION_SECRET.length < 32) throw new Error('SESSION_SECRET must be set to at least 32 characters');
  return env.SESSION_SECRET;
}

/** The cookie the queue page sets (one per event, so a shopper can wait for two on-sales at once). */
export const admissionCookieName = (eventId: string) => `queue_${eventId.replace(/-/g, '')}`;

export function issueAdmissionToken(env: Bindings, admission: { userId: string; eventId: string; expiresAt: number; admissionId: string }): string {
  const claims: AdmissionClaims = { u: admission.userId, e: admission.eventId, x: admission.expiresAt, a: admission.admissionId };
  return signTokenNow(admissionSecret(env), PURPOSE, claims);
}

/**
 * Refuses a booking request on a queued event unless it carries this user's unexpired admission
 * to this event (header `X-Queue-Token`, or the queue page's cookie); returns the admission's id.
 * (Whether it was already used up, the event's TicketLock decides.)
 */
export async function requireAdmission(c: Context<AppEnv>, userId: string, eventId: string): Promise<string> {
  const token = c.req.header('X-Queue-Token')?.trim() || getCookie(c, admissionCookieName(eventId));
  if (!token) {
    throw new ApiError(403, 'queue_required', 'This on-sale runs a waiting room: join the queue at /api/events/' + eventId + '/queue and send the admission token in X-Queue-Token.');
  }
  // Under the current session key or, after a rotation, the previous one (src/auth/keys.ts).
  const claims = await verifyTokenWithAny<AdmissionClaims>(sessionKeys(c.env).map((key) => key.secret), PURPOSE, token);
  if (!claims || typeof claims.u !== 'string' || typeof claims.e !== 'string' || typeof claims.x !== 'number' || typeof claims.a !== 'string') {
    throw new ApiError(403, 'queue_required', 'That admission token is not valid: join the queue again.');
  }
  if (claims.u !== userId || claims.e !== eventId) {
    throw new ApiError(403, 'queue_required', 'That admission token was issued to another account or for another event.');
  }
  if (claims.x <= Date.now()) throw new ApiError(403, 'queue_required', 'Your admission has expired: join the queue again.');
  return claims.a;
}
