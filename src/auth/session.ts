// Sessions: a token (Bearer header or the HttpOnly `session` cookie), signed with the current
// session key and naming it (src/auth/keys.ts, so keys can rotate), that names a row of the
// `sessions` table. The signature proves the token is ours; the row, checked through
// src/auth/session-check.ts, proves it still stands and gives the user's current role, so logging
// out, a password change, a deleted account or a changed role take effect within a minute.
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { and, eq, inArray, lt, sql } from 'drizzle-orm';
import type { AppEnv, Bindings } from '../env';
import { ApiError, forbidden, unauthenticated } from '../errors';
import { signKeyedToken, verifyKeyedToken } from '../lib/signing';
import { sessionKeys, type SessionKeyEnv } from './keys';
import { withDb, type Database } from '../db/client';
import { sessions } from '../db/schema';
import { checkSession, forgetSession, forgetSessionEverywhere, rememberNewSession, SessionCheckUnavailable } from './session-check';

export interface SessionUser {
  id: string;
  role: 'customer' | 'admin';
  /** The session the request came with. */
  sessionId: string;
}

interface SessionClaims {
  /** session id (a row of `sessions`) */
  sid: string;
  /** user id */
  sub: string;
  /** expiry, seconds since the epoch */
  exp: number;
}

export const SESSION_COOKIE = 'session';
export const SESSION_TTL_SECONDS = 7 * 24 * 3600;
const PURPOSE = 'session';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Starts a session for each user (rows in Postgres, one statement) and returns their tokens, in
 * order. The role is not in a token: checkSession reads the current one. Give `db` to use a
 * database session already open.
 */
export async function issueSessionTokens(env: Bindings, users: Array<{ id: string; role: string }>, db?: Database): Promise<string[]> {
  if (users.length === 0) return [];
  const expiresAt = new Date(Date.now() + SESSION_TTL_SECONDS * 1000);
  const create = async (db: Database) => {
    // The users' expired sessions are cleared here rather than by a job of their own.
    const userIds = users.map((user) => user.id);
    await db.delete(sessions).where(and(inArray(sessions.userId, userIds), lt(sessions.expiresAt, sql`now()`)));
    return db.insert(sessions).values(userIds.map((userId) => ({ userId, expiresAt }))).returning({ id: sessions.id, userId: sessions.userId });
  };
  const rows = db ? await create(db) : await withDb(env, create);
  const sessionIdsOf = new Map<string, string[]>();
  for (const row of rows) sessionIdsOf.set(row.userId, [...(sessionIdsOf.get(row.userId) ?? []), row.id]);
  return Promise.all(
    users.map((user) => {
      const sessionId = sessionIdsOf.get(user.id)!.shift()!;
      if (user.role === 'customer' || user.role === 'admin') rememberNewSession({ id: user.id, role: user.role, sessionId });
      return signSessionToken(env, { sessionId, userId: user.id, expiresAt });
    }),
  );
}

export async function issueSessionToken(env: Bindings, user: { id: string; role: string }, db?: Database): Promise<string> {
  const [token] = await issueSessionTokens(env, [user], db);
  return token!;
}

/** The token of a session row that exists (scripts that create sessions themselves use this too). */
export function signSessionToken(env: SessionKeyEnv, session: { sessionId: string; userId: string; expiresAt: Date }): Promise<string> {
  const claims: SessionClaims = { sid: session.sessionId, sub: session.userId, exp: Math.floor(session.expiresAt.getTime() / 1000) };
  return signKeyedToken(sessionKeys(env), PURPOSE, claims);
}

/** The session a token names, if it is ours, well formed and unexpired; whether it still stands is checkSession's. */
export async function readSessionToken(env: Bindings, token: string): Promise<{ sessionId: string; userId: string } | null> {
  const claims = await verifyKeyedToken<SessionClaims>(sessionKeys(env), PURPOSE, token);
  if (!claims || typeof claims.sid !== 'string' || typeof claims.sub !== 'string' || typeof claims.exp !== 'number') return null;
  if (!UUID.test(claims.sid) || !UUID.test(claims.sub)) return null;
  if (claims.exp <= Date.now() / 1000) return null;
  return { sessionId: claims.sid, userId: claims.sub };
}

/** The token the request carries: the Authorization header, else the cookie. Never the URL. */
export function presentedToken(c: Context<AppEnv>): string | undefined {
  const header = c.req.header('Authorization');
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  return getCookie(c, SESSION_COOKIE);
}

/** The user of a session token that still stands, or null. Throws SessionCheckUnavailable when nobody can say. */
export async function sessionUserOf(env: Bindings, token: string): Promise<SessionUser | null> {
  const session = await readSessionToken(env, token);
  return session ? checkSession(env, session) : null;
}

/**
 * Reads the caller's session, if any. Postgres is asked at most once a minute per session and
 * isolate (src/auth/session-check.ts), so this stays fit for hot paths.
 */
export const loadSession: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = presentedToken(c);
  let user: SessionUser | null = null;
  if (token) {
    try {
      user = await sessionUserOf(c.env, token);
    } catch (error) {
      if (!(error instanceof SessionCheckUnavailable)) throw error;
      // Public pages still answer; whatever needs the user says "try again" (requireUser).
      console.error('session check unavailable', error.cause);
      c.set('sessionCheckFailed', true);
    }
  }
  c.set('user', user);
  await next();
};

/** Ends the session the token names, everywhere: its row goes, and this isolate forgets it at once. */
export async function endSession(env: Bindings, token: string): Promise<void> {
  const session = await readSessionToken(env, token);
  if (!session) return;
  forgetSession(session.sessionId);
  await withDb(env, (db) => db.delete(sessions).where(and(eq(sessions.id, session.sessionId), eq(sessions.userId, session.userId))));
  // Only after the row is gone, so that no query can find it again.
  await forgetSessionEverywhere(env, session.sessionId);
}

export function requireUser(c: Context<AppEnv>): SessionUser {
  const user = c.get('user');
  if (!user) {
    if (c.get('sessionCheckFailed')) {
      throw new ApiError(503, 'unavailable', 'Your sign-in cannot be checked right now. Please try again shortly.', undefined, { 'Retry-After': '5' });
    }
    throw unauthenticated();
  }
  return user;
}

export function requireAdmin(c: Context<AppEnv>): SessionUser {
  const user = requireUser(c);
  if (user.role !== 'admin') throw forbidden('Only organizers (admins) may do that.');
  return user;
}

export const isAdmin = (c: Context<AppEnv>) => c.get('user')?.role === 'admin';
