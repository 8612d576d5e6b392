// Token buckets for one limited thing (an account, an IP address), one Durable Object each, so
// limits hold across every isolate and data centre and no single object carries everyone's.
// Inside, each bucket is named after what it limits ("bookings", "queue", "signup", …).
//
// A bucket holds up to `capacity` tokens and regains `refillPerSecond`; a request takes one or is
// refused, without changing anything, until the next token is due. A full bucket is the same as
// no bucket, so rows are kept only while they hold less than their capacity, and an alarm at the
// moment the last of them is full again removes them all: an IP seen once costs nothing later.
//
// The same bucket with capacity 1, refilling only after what it guards has expired, lets
// something be used once: a WebSocket ticket (src/auth/socket-tickets.ts).
import { DurableObject } from 'cloudflare:workers';
import type { Bindings } from '../env';

export interface LimitRule {
  capacity: number;
  refillPerSecond: number;
}

export type LimitResult = { ok: true; remaining: number } | { ok: false; retryAfterSeconds: number };

const MAX_NAME_LENGTH = 200;

export class RateLimiter extends DurableObject<Bindings> {
  private readonly sql: SqlStorage;
  private tableReady = false;
  /** When the alarm is set for, or null when none is. */
  private alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    void ctx.blockConcurrencyWhile(async () => {
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  private ensureTable(): void {
    if (this.tableReady) return;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS buckets (name TEXT PRIMARY KEY, tokens REAL NOT NULL, updated_at INTEGER NOT NULL, full_at INTEGER NOT NULL)`);
    this.tableReady = true;
  }

  /** Takes one token from the bucket `name`, or says how long until one is due. */
  take(name: string, rule: LimitRule): LimitResult {
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH) throw new Error(`bad bucket name "${String(name).slice(0, 40)}"`);
    if (!(rule.capacity >= 1 && rule.capacity <= 100_000 && rule.refillPerSecond > 0 && rule.refillPerSecond <= 100_000)) {
      throw new Error(`bad limit rule ${JSON.stringify(rule)}`);
    }
    this.ensureTable();
    const now = Date.now();
    const row = this.sql.exec<{ tokens: number; updated_at: number }>(`SELECT tokens, updated_at FROM buckets WHERE name = ?`, name).toArray()[0];
    const elapsedSeconds = row ? Math.max(0, now - row.updated_at) / 1000 : 0;
    const tokens = row ? Math.min(rule.capacity, row.tokens + elapsedSeconds * rule.refillPerSecond) : rule.capacity;
    if (tokens < 1) return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / rule.refillPerSecond)) };
    const left = tokens - 1;
    const fullAt = now + Math.ceil(((rule.capacity - left) / rule.refillPerSecond) * 1000);
    this.sql.exec(
      `INSERT INTO buckets (name, tokens, updated_at, full_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at, full_at = excluded.full_at`,
      name,
      left,
      now,
      fullAt,
    );
    // One alarm, at the moment every bucket is full again.
    if (this.alarmAt === null || fullAt > this.alarmAt) {
      this.alarmAt = fullAt;
      void this.ctx.storage.setAlarm(fullAt);
    }
    return { ok: true, remaining: Math.floor(left) };
  }

  /** Forgets the buckets that are full again; with none left, the object's storage goes. Safe to run twice. */
  override async alarm(): Promise<void> {
    this.ensureTable();
    const now = Date.now();
    this.sql.exec(`DELETE FROM buckets WHERE full_at <= ?`, now);
    const next = this.sql.exec<{ at: number | null }>(`SELECT max(full_at) AS at FROM buckets`).one().at;
    if (next !== null) {
      this.alarmAt = next;
      await this.ctx.storage.setAlarm(next);
      return;
    }
    this.alarmAt = null;
    this.tableReady = false;
    await this.ctx.storage.deleteAll();
  }
}
