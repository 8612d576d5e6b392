// Whether sessions still stand, asked of Postgres on behalf of every Worker isolate. Sessions are
// spread over a fixed set of these objects by a hash of their id (src/auth/session-check.ts).
//
// Why an object and not each isolate on its own: a burst of sessions new to an isolate (the
// sockets of an on-sale's waiting room) would each open a Postgres connection of their own, since
// a Worker request may not wait on another request's query. Here requests may share one: the
// look-ups that arrive while its one query runs all go into the next one (so the shards bound the
// connections that session checks hold, and a slower Postgres makes bigger batches, not more
// connections), and an answer is remembered
// for the rest of its minute for every isolate that asks. An answer carries the moment Postgres
// gave it, and isolates count their own minute from then, so no answer is trusted for longer than
// SESSION_CHECK_MS in all.
import { DurableObject } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import type { Bindings } from '../env';
import { withDb } from '../db/client';
import { SESSION_CHECK_MS } from '../auth/session-check';

const QUERIES_AT_ONCE = 1;
/** A query waits this long for the look-ups arriving with the first (a burst comes within a few ms). */
const GATHER_MS = 5;
const MAX_BATCH = 500;
const MAX_REMEMBERED = 50_000;

export type SessionRole = 'customer' | 'admin';

export interface SessionAnswer {
  /** The user's role now, or null when the session no longer stands (or is not this user's). */
  role: SessionRole | null;
  /** When Postgres said so (ms since the epoch). */
  checkedAt: number;
}

interface Remembered {
  userId: string;
  role: SessionRole | null;
  checkedAt: number;
}

interface Waiter {
  sessionId: string;
  userId: string;
  resolve: (answer: SessionAnswer) => void;
  reject: (error: unknown) => void;
}

export class SessionCheck extends DurableObject<Bindings> {
  private readonly answers = new Map<string, Remembered>();
  private waiting: Waiter[] = [];
  private running = 0;
  private gathering = false;

  check(sessionId: string, userId: string): SessionAnswer | Promise<SessionAnswer> {
    const known = this.answers.get(sessionId);
    const age = known ? Date.now() - known.checkedAt : Infinity;
    if (known && age >= 0 && age < SESSION_CHECK_MS) return { role: known.userId === userId ? known.role : null, checkedAt: known.checkedAt };
    const answer = new Promise<SessionAnswer>((resolve, reject) => this.waiting.push({ sessionId, userId, resolve, reject }));
    if (!this.gathering && this.running < QUERIES_AT_ONCE) {
      this.gathering = true;
      setTimeout(() => {
        this.gathering = false;
        this.startQueries();
      }, GATHER_MS);
    }
    return answer;
  }

  /** The session has ended (logout): answered null from now on, whatever a query in flight finds. */
  forget(sessionId: string): void {
    this.remember(sessionId, { userId: '', role: null, checkedAt: Date.now() });
  }

  private startQueries(): void {
    while (this.running < QUERIES_AT_ONCE && this.waiting.length > 0) {
      const batch = this.waiting.slice(0, MAX_BATCH);
      this.waiting = this.waiting.slice(MAX_BATCH);
      this.running += 1;
      void this.answerBatch(batch).finally(() => {
        this.running -= 1;
        this.startQueries();
      });
    }
  }

  private async answerBatch(batch: Waiter[]): Promise<void> {
    const checkedAt = Date.now();
    try {
      const ids = [...new Set(batch.map((waiter) => waiter.sessionId))];
      const rows = await withDb(this.env, (db) =>
        db.execute<{ id: string; user_id: string; role: string }>(
          sql`select s.id, s.user_id, u.role from sessions s join users u on u.id = s.user_id where s.id in (${sql.join(ids.map((id) => sql`${id}`), sql`, `)})`,
        ),
      );
      const found = new Map(rows.rows.map((row) => [row.id, row]));
      for (const id of ids) {
        const row = found.get(id);
        const role = row?.role === 'customer' || row?.role === 'admin' ? row.role : null;
        // A logout while the query ran has the last word.
        const latest = this.answers.get(id);
        if (!latest || latest.checkedAt <= checkedAt) this.remember(id, { userId: row?.user_id ?? '', role, checkedAt });
      }
      for (const waiter of batch) {
        const answer = this.answers.get(waiter.sessionId)!;
        waiter.resolve({ role: answer.userId === waiter.userId ? answer.role : null, checkedAt: answer.checkedAt });
      }
    } catch (error) {
      for (const waiter of batch) waiter.reject(error);
    }
  }

  private remember(sessionId: string, entry: Remembered): void {
    this.answers.delete(sessionId);
    this.answers.set(sessionId, entry);
    if (this.answers.size > MAX_REMEMBERED) this.answers.delete(this.answers.keys().next().value!);
  }
}
