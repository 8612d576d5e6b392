import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { AppEnv, Bindings } from '../env';
import { forbidden, unauthenticated } from '../errors';
import { signToken, verifyToken } from '../lib/signing';

export interface SessionUser {
  id: string;
  role: 'customer' | 'admin';
}

interface SessionClaims {
  sub: string;
  role: SessionUser['role'];
  exp: number;
}

export const SESSION_COOKIE = 'session';
export const SESSION_TTL_SECONDS = 7 * 24 * 3600;
const PURPOSE = 'session';

function sessionSecret(env: Bindings): string {
  if (!env.SESSION_SECRET || env.SESSION_SECRET.length < 32) {
    throw new Error('SESSION_SECRET must be set to at least 32 characters');
  }
  return env.SESSION_SECRET;
}

export function issueSessionToken(env: Bindings, user: SessionUser): Promise<string> {
  const claims: SessionClaims = { sub: user.id, role: user.role, exp: Math.floor(Date.now() / 1000) + SESSION_TTL_SECONDS };
  return signToken(sessionSecret(env), PURPOSE, claims);
}

export async function readSessionToken(env: Bindings, token: string): Promise<SessionUser | null> {
  const claims = await verifyToken<SessionClaims>(sessionSecret(env), PURPOSE, token);
  if (!claims || typeof claims.sub !== 'string' || typeof claims.exp !== 'number') return null;
  if (claims.exp <= Date.now() / 1000) return null;
  if (claims.role !== 'customer' && claims.role !== 'admin') return null;
  return { id: claims.sub, role: claims.role };
}

function presentedToken(c: Context<AppEnv>): string | undefined {
  const header = c.req.header('Authorization');
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  return getCookie(c, SESSION_COOKIE);
}

/** Reads the caller's session, if any; touches no database, so it is fit for hot paths. */
export const loadSession: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = presentedToken(c);
  c.set('user', token ? await readSessionToken(c.env, token) : null);
  await next();
};

export function requireUser(c: Context<AppEnv>): SessionUser {
  const user = c.get('user');
  if (!user) throw unauthenticated();
  return user;
}

export function requireAdmin(c: Context<AppEnv>): SessionUser {
  const user = requireUser(c);
  if (user.role !== 'admin') throw forbidden('Only organizers (admins) may do that.');
  return user;
}

export const isAdmin = (c: Context<AppEnv>) => c.get('user')?.role === 'admin';
