import { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../env';
import { requireAdmin } from '../auth/session';
import { withDb } from '../db/client';
import { notificationKinds } from '../db/schema';
import { listOutbox } from '../notifications/outbox';
import { parseQuery } from '../validation';

export const outboxQuery = z.object({
  email: z.string().trim().min(1).max(320).optional().describe('Only messages to this address (any case).'),
  kind: z.enum(notificationKinds).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** What operators look at: the notifications outbox (API.md, notifications), newest first. */
export const devRoutes = new Hono<AppEnv>().get('/outbox', async (c) => {
  requireAdmin(c);
  const query = parseQuery(c, outboxQuery);
  const notifications = await withDb(c.env, (db) => listOutbox(db, query));
  return c.json({ notifications });
});
