// A second Postgres session in the test's hands, to make the Worker's own writes wait: it locks
// rows the way a slow transaction would, and says whether writers are queued behind it.
import { sql } from 'drizzle-orm';
import { withDb } from '../src/db/client';
import { env } from './helpers';

export interface RowLocks {
  /** Ends the holding transaction; whatever waited on its locks goes on. */
  release(): Promise<void>;
}

/**
 * Locks the tickets' rows (`FOR UPDATE`) in a transaction that stays open until `release`.
 * On PGlite, which serves one session at a time, the whole database waits behind it.
 */
export async function lockTicketRows(ticketIds: string[]): Promise<RowLocks> {
  let releaseLocks!: () => void;
  const released = new Promise<void>((resolve) => (releaseLocks = resolve));
  let locked!: () => void;
  const acquired = new Promise<void>((resolve) => (locked = resolve));
  const session = withDb(env, (db) =>
    db.transaction(async (tx) => {
      await tx.execute(sql`select id from tickets where id = any(${`{${ticketIds.join(',')}}`}::uuid[]) order by id for update`);
      locked();
      await released;
    }),
  );
  await Promise.race([acquired, session]);
  return {
    async release() {
      releaseLocks();
      await session;
    },
  };
}

/** PGlite runs one session at a time, so nothing there ever waits on another session's row lock. */
export async function isPglite(): Promise<boolean> {
  const { rows } = await withDb(env, (db) => db.execute(sql`select version() as version`));
  return String((rows[0] as { version: string }).version).includes('PGlite');
}

/** Waits until `count` sessions of this database wait on a lock (Postgres only: call it while rows are locked). */
export async function sessionsWaitingOnLocks(count: number, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const { rows } = await withDb(env, (db) =>
      db.execute(sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`),
    );
    if ((rows[0] as { n: number }).n >= count) return;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${count} sessions to wait on a lock`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
