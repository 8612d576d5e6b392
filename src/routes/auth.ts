import { Hono, type Context } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { withDb } from '../db/client';
import { users } from '../db/schema';
import { isUniqueViolation, toUserJson } from '../db/users';
import { DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from '../auth/passwords';
import { issueSessionToken, SESSION_COOKIE, SESSION_TTL_SECONDS, type SessionUser } from '../auth/session';
import { forgetFailures, MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_IP, recordFailure, refuseIfThrottled, throttleKeys } from '../auth/throttle';
import { parseBody, text } from '../validation';

const email = z.string().trim().max(254).pipe(z.email('must be an email address'));

export const signupBody = z.object({
  email,
  password: z.string().min(8, 'must be at least 8 characters').max(200, 'must be at most 200 characters'),
  name: text(100),
});

export const loginBody = z.object({
  email: z.string().trim().min(1).max(254),
  password: z.string().min(1).max(200),
});

async function startSession(c: Context<AppEnv>, user: SessionUser): Promise<string> {
  const token = await issueSessionToken(c.env, user);
  setCookie(c, SESSION_COOKIE, token, { httpOnly: true, secure: true, sameSite: 'Lax', path: '/', maxAge: SESSION_TTL_SECONDS });
  return token;
}

const invalidCredentials = () => new ApiError(401, 'invalid_credentials', 'That email and password do not match an account.');

export const authRoutes = new Hono<AppEnv>()
  .post('/signup', async (c) => {
    const body = await parseBody(c, signupBody);
    const passwordHash = await hashPassword(body.password);
    const user = await withDb(c.env, async (db) => {
      try {
        const [created] = await db.insert(users).values({ email: body.email, name: body.name, passwordHash }).returning();
        return created!;
      } catch (error) {
        if (isUniqueViolation(error)) throw new ApiError(409, 'email_taken', 'An account with that email already exists. Sign in instead.');
        throw error;
      }
    });
    const token = await startSession(c, user);
    return c.json({ user: toUserJson(user), token }, 201);
  })
  .post('/login', async (c) => {
    const body = await parseBody(c, loginBody);
    const keys = throttleKeys(body.email, c.req.header('CF-Connecting-IP') ?? 'unknown');
    const found = await withDb(c.env, async (db) => {
      await refuseIfThrottled(db, [keys.account, keys.ip]);
      const [row] = await db.select().from(users).where(sql`lower(${users.email}) = lower(${body.email})`);
      return row;
    });
    // An unknown email costs the same hashing as a wrong password, so timing tells nothing.
    // The hashing runs with no database session open.
    const matches = await verifyPassword(body.password, found?.passwordHash ?? DUMMY_PASSWORD_HASH);
    const user = found && matches ? found : null;
    await withDb(c.env, async (db) => {
      if (user) return forgetFailures(db, keys.account);
      await recordFailure(db, keys.account, MAX_FAILURES_PER_ACCOUNT);
      await recordFailure(db, keys.ip, MAX_FAILURES_PER_IP);
    });
    if (!user) throw invalidCredentials();
    const token = await startSession(c, user);
    return c.json({ user: toUserJson(user), token });
  })
  .post('/logout', (c) => {
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure: true, httpOnly: true, sameSite: 'Lax' });
    return c.body(null, 204);
  });
