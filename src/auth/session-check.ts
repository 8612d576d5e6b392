// Whether a signed session token still stands: its session row exists (not logged out, password
// not changed since, user not deleted), and with which role. Postgres answers, through the
// SessionCheck object that the session's id hashes to (src/durable/SessionCheck.ts: it shares
// queries among requests and isolates); each isolate remembers the answer until a minute after
// Postgres gave it, so a hold or a queue poll costs one look-up per session per isolate per minute,
// not one per request, and a revocation or a role change reaches every isolate within that minute.
import type { Bindings } from '../env';
import type { SessionUser } from './session';

/** How long an answer is trusted: the most a revocation or role change can take to reach an isolate. */
export const SESSION_CHECK_MS = 60_000;
/** Sessions are spread over this many SessionCheck objects. */
const SESSION_CHECK_SHARDS = 8;
/**
 * While Postgres cannot be reached, a check this recent still counts, so signed-in buyers can
 * hold seats through an outage (holds need no Postgres). Nothing older is trusted.
 */
const OUTAGE_GRACE_MS = 10 * 60_000;
/**
 * Postgres slower than this counts as unreachable for the check (the answer above is used, or
 * 503): slow is normal during an on-sale, and a buyer's hold must not wait on it for long.
 */
const CHECK_TIMEOUT_MS = 5000;
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

function sessionCheckFor(env: Bindings, sessionId: string) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < sessionId.length; i++) hash = Math.imul(hash ^ sessionId.charCodeAt(i), 0x01000193);
  return env.SESSION_CHECK.getByName(`sessions-${(hash >>> 0) % SESSION_CHECK_SHARDS}`);
}

/**
 * Asks the session's SessionCheck object. (Requests of an isolate cannot share one query: the
 * Workers runtime cancels a request that waits on a promise only another request's I/O settles.
 * The object can, for all of them.)
 */
async function lookUp(env: Bindings, sessionId: string, userId: string): Promise<Remembered> {
  const answer = await sessionCheckFor(env, sessionId).check(sessionId, userId);
  return { user: answer.role ? { id: userId, role: answer.role, sessionId } : null, at: answer.checkedAt };
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
    const answer = await Promise.race([lookup, timeout]);
    // A logout in this isolate while the look-up ran has the last word.
    const latest = remembered.get(sessionId);
    if (!latest || latest.at <= answer.at) remember(sessionId, answer);
    return answer.user?.id === userId ? answer.user : null;
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

/** After the session's row is deleted: its SessionCheck object answers null from now on, for every isolate. */
export async function forgetSessionEverywhere(env: Bindings, sessionId: string): Promise<void> {
  await sessionCheckFor(env, sessionId).forget(sessionId);
}
