// WebSocket tickets. A browser cannot set headers on a WebSocket and a session token must never
// sit in a URL (logs, history, Referer), so a page that has the session cookie or token first asks
// `POST /api/events/:eventId/queue/ticket` for a ticket and opens the waiting room's socket with
// `?ticket=`. A ticket names the session, the user and the event, lasts 60 seconds and opens one
// socket: using it spends it in the user's RateLimiter object (src/auth/limits.ts), as a stored
// bucket of one token that refills only after the ticket has expired. Its session must still stand when it is used.
import type { Bindings } from '../env';
import { signKeyedToken, verifyKeyedToken } from '../lib/signing';
import { sessionKeys } from './keys';
import { checkSession } from './session-check';
import { limiterFor } from './limits';
import type { SessionUser } from './session';

const PURPOSE = 'queue-socket-ticket';
export const SOCKET_TICKET_SECONDS = 60;
/** A spent ticket's bucket refills after the ticket can no longer be used anyway. */
const SPENT_TICKET_RULE = { capacity: 1, refillPerSecond: 1 / (2 * SOCKET_TICKET_SECONDS) };

interface TicketClaims {
  /** session id */
  s: string;
  /** user id */
  u: string;
  /** event id */
  e: string;
  /** expiry, ms since the epoch */
  x: number;
  /** nonce: names this ticket's use */
  n: string;
}

export async function issueSocketTicket(env: Bindings, user: SessionUser, eventId: string): Promise<{ ticket: string; expiresAt: string }> {
  const expiresAt = Date.now() + SOCKET_TICKET_SECONDS * 1000;
  const claims: TicketClaims = { s: user.sessionId, u: user.id, e: eventId, x: expiresAt, n: crypto.randomUUID() };
  return { ticket: await signKeyedToken(sessionKeys(env), PURPOSE, claims), expiresAt: new Date(expiresAt).toISOString() };
}

/** The user a ticket for this event admits, spending it; null for a ticket that is not valid, expired, spent or whose session ended. */
export async function redeemSocketTicket(env: Bindings, ticket: string, eventId: string): Promise<SessionUser | null> {
  const claims = await verifyKeyedToken<TicketClaims>(sessionKeys(env), PURPOSE, ticket);
  if (!claims || typeof claims.s !== 'string' || typeof claims.u !== 'string' || typeof claims.e !== 'string' || typeof claims.x !== 'number' || typeof claims.n !== 'string') {
    return null;
  }
  if (claims.e !== eventId || claims.x <= Date.now()) return null;
  const user = await checkSession(env, { sessionId: claims.s, userId: claims.u });
  if (!user) return null;
  const account = `account:${claims.u}`;
  const spent = await limiterFor(env, account).take(`${account}/socket-ticket:${claims.n}`, SPENT_TICKET_RULE);
  return spent.ok ? user : null;
}
