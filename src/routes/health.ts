import { Hono } from 'hono';
import { sql } from 'drizzle-orm';
import type { AppEnv } from '../env';
import { withDb } from '../db/client';

export const healthRoutes = new Hono<AppEnv>().get('/', async (c) => {
  try {
    await withDb(c.env, (db) => db.execute(sql`select 1`));
    return c.json({ ok: true, db: 'ok' as const });
  } catch (error) {
    console.error('health: database check failed', error);
    return c.json({ ok: false, db: 'down' as const }, 503);
  }
});
