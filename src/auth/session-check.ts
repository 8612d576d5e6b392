// Whether a signed session token still stands: its session row exists (not logged out, password
// not changed since, user not deleted), and with which role. Postgres answers; each isolate
// remembers the answer for at most a minute, so a hold or a queue poll costs one look-up per
// session per isolate per minute, not one per request, and a revocation or a role change reaches
// every isolate within that minute.
import { sql } from 'drizzle-orm';
import { withDb } from '../db/client';
import type { Bindings } from '../env';
import type { SessionUser } from './session';

/** How long an isolate trusts a check: the most a revocation or role change can take to reach it. */
export const SESSION_CHECK_MS = 60_000;
/**
 * While Postgres cannot be reached, a check this recent still counts, so signed-in buyers can
 * hold seats through an outage (holds need no Postgres). Nothing older is trusted.
 */
const OUTAGE_GRACE_MS = 10 * 60_000;
/**
 * Postgres slower than this counts as unreachable for the check (the answer above is used, or
 * 503): slow is normal during an on-sale, and a buyer's hold must not wait on it for long.
 */
const CHECK_TIMEOUT_MS = 3000;
/** Enough for every active session of a busy isolate; the oldest answers go first. */
const MAX_REMEMBERED = 20_000;

interface Remembered {
  /** Null: refused (revoked, expired, or the user is gone). */
  user: SessionUser | null;
  at: number;
}

const remembered = new Map<string, Remembered>();

/** Postgres could not say whether the session stands, and this isolate has no recent answer. */
export class SessionCheckUnavailable extends Error {
  constructor(cause: unknown) {
    super('the session could not be checked', { cause });
    this.name = 'SessionCheckUnavailable';
  }
}

function remember(sessionId: string, entry: Remembered): void {
  remembered.delete(sessionId);
  remembered.set(sessionId, entry);
  if (remembered.size > MAX_REMEMBERED) remembered.delete(remembered.keys().next().value!);
}

/**
 * Each look-up is the request's own query. Requests cannot wait for another request's query in
 * the Workers runtime (it cancels a request whose promise only another request's I/O would
 * settle), so concurrent first requests of one session each ask once; later ones find the answer.
 */
async function lookUp(env: Bindings, sessionId: string, userId: string): Promise<SessionUser | null> {
  const rows = await withDb(env, (db) =>
    db.execute<{ role: string }>(sql`select u.role from sessions s join users u on u.id = s.user_id where s.id = ${sessionId} and s.user_id = ${userId}`),
  );
  const role = rows.rows[0]?.role;
  return role === 'customer' || role === 'admin' ? { id: userId, role, sessionId } : null;
}

/** The session's user as Postgres has it now (or at most SESSION_CHECK_MS ago), or null when it no longer stands. */
export async function checkSession(env: Bindings, session: { sessionId: string; userId: string }): Promise<SessionUser | null> {
  const { sessionId, userId } = session;
  const startedAt = Date.now();
  const known = remembered.get(sessionId);
  // An answer from "the future" (a clock set back) is not trusted either.
  const age = known ? startedAt - known.at : Infinity;
  if (known && age >= 0 && age < SESSION_CHECK_MS) return known.user?.id === userId ? known.user : null;

  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
    });
    const lookup = lookUp(env, sessionId, userId);
    // One that loses the race may still fail later, with nobody left to hear it.
    lookup.catch(() => {});
    const user = await Promise.race([lookup, timeout]);
    // A logout in this isolate while the look-up ran has the last word.
    const latest = remembered.get(sessionId);
    if (!latest || latest.at <= startedAt) remember(sessionId, { user, at: startedAt });
    return user?.id === userId ? user : null;
  } catch (error) {
    if (known && age >= 0 && age < OUTAGE_GRACE_MS) {
      console.warn(`session check failed; using this isolate's answer from ${Math.round(age / 1000)} s ago`, error);
      return known.user?.id === userId ? known.user : null;
    }
    throw new SessionCheckUnavailable(error);
  } finally {
    clearTimeout(timer);
  }
}

/** A session just created counts as checked: a sign-in's own isolate asks Postgres nothing more for a minute. */
export function rememberNewSession(user: SessionUser): void {
  remember(user.sessionId, { user, at: Date.now() });
}

/** This isolate refuses the session from now on (others within SESSION_CHECK_MS: its row is gone). */
export function forgetSession(sessionId: string): void {
  remember(sessionId, { user: null, at: Date.now() });
}
