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
import { endSession, issueSessionToken, presentedToken, SESSION_COOKIE, SESSION_TTL_SECONDS } from '../auth/session';
import { attemptSucceeded, countAttempt, loginAttempt, rememberSource } from '../auth/throttle';
import { clientIp, limitSignup } from '../auth/limits';
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

/** Sets the session's token as the cookie (HttpOnly, Secure, SameSite=Lax) and returns it. */
function startSession(c: Context<AppEnv>, token: string): string {
  setCookie(c, SESSION_COOKIE, token, { httpOnly: true, secure: true, sameSite: 'Lax', path: '/', maxAge: SESSION_TTL_SECONDS });
  return token;
}

const invalidCredentials = () => new ApiError(401, 'invalid_credentials', 'That email and password do not match an account.');

export const authRoutes = new Hono<AppEnv>()
  .post('/signup', async (c) => {
    const body = await parseBody(c, signupBody);
    // Counted before the hash: sign-ups cost CPU and make identities that per-account limits trust.
    await limitSignup(c);
    const passwordHash = await hashPassword(body.password);
    const { user, token } = await withDb(c.env, async (db) => {
      const [created] = await db
        .insert(users)
        .values({ email: body.email, name: body.name, passwordHash })
        .returning()
        .catch((error: unknown) => {
          if (isUniqueViolation(error)) throw new ApiError(409, 'email_taken', 'An account with that email already exists. Sign in instead.');
          throw error;
        });
      await rememberSource(db, loginAttempt(created!.email, clientIp(c) ?? undefined));
      return { user: created!, token: await issueSessionToken(c.env, created!, db) };
    });
    return c.json({ user: toUserJson(user), token: startSession(c, token) }, 201);
  })
  .post('/login', async (c) => {
    const body = await parseBody(c, loginBody);
    // Counted before the password is hashed, atomically (src/auth/throttle.ts): a refused attempt checks nothing.
    const { attempt, found } = await withDb(c.env, async (db) => {
      const counted = await countAttempt(db, loginAttempt(body.email, clientIp(c) ?? undefined));
      const [row] = await db.select().from(users).where(sql`lower(${users.email}) = lower(${body.email})`);
      return { attempt: counted, found: row };
    });
    // An unknown email costs the same hashing as a wrong password, so timing tells nothing.
    // The hashing runs with no database session open.
    const matches = await verifyPassword(body.password, found?.passwordHash ?? DUMMY_PASSWORD_HASH);
    if (!found || !matches) throw invalidCredentials();
    const token = await withDb(c.env, async (db) => {
      await attemptSucceeded(db, attempt);
      return issueSessionToken(c.env, found, db);
    });
    return c.json({ user: toUserJson(found), token: startSession(c, token) });
  })
  .post('/logout', async (c) => {
    // The token is revoked on the server, not merely dropped by this browser.
    const token = presentedToken(c);
    if (token) await endSession(c.env, token);
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure: true, httpOnly: true, sameSite: 'Lax' });
    return c.body(null, 204);
  });
