// Sends what the outbox holds: after the request that queued it (waitUntil) and every minute from
// the cron trigger, so a message whose send failed is tried again with growing waits.
import { sql } from 'drizzle-orm';
import type { Bindings } from '../env';
import { withDb, type Database } from '../db/client';
import { notificationProviderFor, type NotificationProvider } from './provider';

/** How long a claimed message is left to its sender before another delivery may try it. */
const CLAIM_SECONDS = 120;
const BATCH = 50;

/** 30 s, 1 min, 2 min, … up to an hour between tries. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(3600, 30 * 2 ** Math.max(0, attempts - 1));
}

/**
 * Claims due messages (skipping rows another delivery holds), sends each, and records the outcome.
 * The claim moves `next_attempt_at` past the sending time, so a delivery that dies mid-way leaves
 * its messages to be tried again, not lost. Answers how many were sent and how many failed.
 */
export async function deliverDueNotifications(db: Database, provider: NotificationProvider): Promise<{ sent: number; failed: number }> {
  const claimed = (
    await db.execute(sql`
      update notifications set attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => ${CLAIM_SECONDS})
      where id in (
        select id from notifications where sent_at is null and next_attempt_at <= now()
        order by next_attempt_at limit ${BATCH} for update skip locked)
      returning id, to_email, subject, body, attempts`)
  ).rows as Array<{ id: string; to_email: string; subject: string; body: string; attempts: number }>;
  let sent = 0;
  let failed = 0;
  for (const row of claimed) {
    try {
      await provider.send({ to: row.to_email, subject: row.subject, body: row.body });
      await db.execute(sql`update notifications set sent_at = now(), last_error = null where id = ${row.id}`);
      sent++;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await db.execute(sql`
        update notifications set last_error = ${message.slice(0, 500)},
          next_attempt_at = now() + make_interval(secs => ${retryDelaySeconds(Number(row.attempts))})
        where id = ${row.id}`);
      failed++;
    }
  }
  return { sent, failed };
}

/** For callers that only want it done eventually (waitUntil, the cron trigger): never throws. */
export async function deliverNotificationsSoon(env: Bindings): Promise<void> {
  try {
    const provider = notificationProviderFor(env);
    await withDb(env, (db) => deliverDueNotifications(db, provider));
  } catch (error) {
    console.warn('notifications not delivered now; the cron trigger tries again', error);
  }
}
