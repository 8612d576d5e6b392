// The outbox: a notification is a row written in the same transaction as what caused it, so it is
// sent if and only if that happened; delivery (deliver.ts) comes after and never blocks the cause.
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import type { NotificationMessage } from './messages';

/** A transaction or a plain session: anything that runs statements. */
type Runner = Pick<Database, 'execute'>;

/**
 * Queues `message` for the user (to the e-mail their account has now). The same `dedupeKey`
 * queues once, so a cause that runs twice (a retried confirmation, a replayed webhook) tells once.
 * Answers whether a row was written.
 */
export async function enqueueNotification(db: Runner, input: { dedupeKey: string; userId: string; message: NotificationMessage }): Promise<boolean> {
  const { message } = input;
  const result = await db.execute(sql`
    insert into notifications (dedupe_key, user_id, to_email, kind, subject, body, data)
    select ${input.dedupeKey}, u.id, u.email, ${message.kind}, ${message.subject}, ${message.body}, ${JSON.stringify(message.data)}::jsonb
    from users u where u.id = ${input.userId}
    on conflict (dedupe_key) do nothing`);
  return (result.rowCount ?? 0) > 0;
}

export interface OutboxEntry {
  id: string;
  kind: string;
  to: string;
  userId: string | null;
  subject: string;
  body: string;
  data: Record<string, unknown>;
  createdAt: string;
  sentAt: string | null;
  attempts: number;
  lastError: string | null;
}

/** The newest notifications first, for the admin's look at the outbox (GET /api/dev/outbox). */
export async function listOutbox(db: Runner, filter: { email?: string; kind?: string; limit: number }): Promise<OutboxEntry[]> {
  const rows = (
    await db.execute(sql`
      select id, kind, to_email, user_id, subject, body, data, created_at, sent_at, attempts, last_error
      from notifications
      where (${filter.email ?? null}::text is null or lower(to_email) = lower(${filter.email ?? null}::text))
        and (${filter.kind ?? null}::text is null or kind = ${filter.kind ?? null}::text)
      order by created_at desc, id
      limit ${filter.limit}`)
  ).rows as Array<{ id: string; kind: string; to_email: string; user_id: string | null; subject: string; body: string; data: Record<string, unknown>; created_at: string | Date; sent_at: string | Date | null; attempts: number; last_error: string | null }>;
  return rows.map((row) => ({
    id: row.id,
    kind: row.kind,
    to: row.to_email,
    userId: row.user_id,
    subject: row.subject,
    body: row.body,
    data: row.data,
    createdAt: new Date(row.created_at).toISOString(),
    sentAt: row.sent_at ? new Date(row.sent_at).toISOString() : null,
    attempts: Number(row.attempts),
    lastError: row.last_error,
  }));
}
