// Token buckets. The Worker spreads what it limits (an account, an IP address) over a fixed set
// of these objects by a hash of its name (src/auth/limits.ts), so limits hold across every isolate
// and data centre, no one object carries everyone, and a crowd of first-time buyers does not start
// an object each. Inside, a bucket is named after the subject and what it limits
// ("account:…/bookings", "ip:…/signup", …).
//
// A bucket holds up to `capacity` tokens and regains `refillPerSecond`; a request takes one or is
// refused, without changing anything, until the next token is due. A full bucket is the same as no
// bucket, so only buckets below their capacity are kept. Fast ones (a token back within
// DURABLE_ABOVE_SECONDS) live in memory: if the object is evicted they come back full, which an
// object idle that long would have refilled anyway, and bookings and queue polls write nothing.
// Slow ones (sign-ups, one-time tickets) are stored, so an eviction does not reset them; an alarm
// every SWEEP_MS removes those full again, and with none left the object's storage goes.
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

interface Bucket {
  tokens: number;
  updatedAt: number;
  fullAt: number;
}

const MAX_NAME_LENGTH = 300;
/** Buckets slower than a token per this many seconds are stored. */
const DURABLE_ABOVE_SECONDS = 10;
const SWEEP_MS = 5 * 60_000;
/** Memory buckets are swept of full ones when there are more than this. */
const MEMORY_SWEEP_SIZE = 10_000;

export class RateLimiter extends DurableObject<Bindings> {
  private readonly sql: SqlStorage;
  private readonly memory = new Map<string, Bucket>();
  private tableReady = false;
  /** Whether this instance has set the sweeping alarm (one set before a restart is simply moved). */
  private alarmSet = false;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
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
    const durable = 1 / rule.refillPerSecond > DURABLE_ABOVE_SECONDS;
    const now = Date.now();
    const bucket = durable ? this.stored(name) : this.memory.get(name);
    const elapsedSeconds = bucket ? Math.max(0, now - bucket.updatedAt) / 1000 : 0;
    const tokens = bucket ? Math.min(rule.capacity, bucket.tokens + elapsedSeconds * rule.refillPerSecond) : rule.capacity;
    if (tokens < 1) return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / rule.refillPerSecond)) };
    const left = tokens - 1;
    const taken: Bucket = { tokens: left, updatedAt: now, fullAt: now + Math.ceil(((rule.capacity - left) / rule.refillPerSecond) * 1000) };
    if (durable) this.store(name, taken);
    else this.remember(name, taken, now);
    return { ok: true, remaining: Math.floor(left) };
  }

  private stored(name: string): Bucket | undefined {
    this.ensureTable();
    return this.sql
      .exec<{ tokens: number; updatedAt: number; fullAt: number }>(`SELECT tokens, updated_at AS updatedAt, full_at AS fullAt FROM buckets WHERE name = ?`, name)
      .toArray()[0];
  }

  private store(name: string, bucket: Bucket): void {
    this.sql.exec(
      `INSERT INTO buckets (name, tokens, updated_at, full_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at, full_at = excluded.full_at`,
      name,
      bucket.tokens,
      bucket.updatedAt,
      bucket.fullAt,
    );
    if (!this.alarmSet) {
      this.alarmSet = true;
      void this.ctx.storage.setAlarm(bucket.updatedAt + SWEEP_MS);
    }
  }

  private remember(name: string, bucket: Bucket, now: number): void {
    this.memory.delete(name);
    this.memory.set(name, bucket);
    if (this.memory.size <= MEMORY_SWEEP_SIZE) return;
    for (const [key, kept] of this.memory) if (kept.fullAt <= now) this.memory.delete(key);
  }

  /** Forgets the stored buckets that are full again; with none left, the object's storage goes. Safe to run twice. */
  override async alarm(): Promise<void> {
    this.ensureTable();
    this.sql.exec(`DELETE FROM buckets WHERE full_at <= ?`, Date.now());
    if (this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM buckets`).one().n > 0) {
      this.alarmSet = true;
      await this.ctx.storage.setAlarm(Date.now() + SWEEP_MS);
      return;
    }
    this.alarmSet = false;
    this.tableReady = false;
    await this.ctx.storage.deleteAll();
  }
}
