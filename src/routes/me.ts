import { Hono } from 'hono';
import { eq } from 'drizzle-orm';
import type { AppEnv } from '../env';
import { unauthenticated } from '../errors';
import { requireUser } from '../auth/session';
import { withDb } from '../db/client';
import { users } from '../db/schema';
import { toUserJson } from '../db/users';
import { myBookingRoutes } from './bookings';
import { myWaitlistRoutes } from './waitlist';

export const meRoutes = new Hono<AppEnv>().route('/bookings', myBookingRoutes).route('/waitlist', myWaitlistRoutes).get('/', async (c) => {
  const session = requireUser(c);
  const [user] = await withDb(c.env, (db) => db.select().from(users).where(eq(users.id, session.id)));
  if (!user) throw unauthenticated();
  return c.json({ user: toUserJson(user) });
});
