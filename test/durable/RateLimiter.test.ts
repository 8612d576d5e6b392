import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { env, TestClock } from '../helpers';

const clock = new TestClock();
const rule = { capacity: 3, refillPerSecond: 0.5 };

const limiter = (name = `test:${crypto.randomUUID()}`) => env.RATE_LIMITER.getByName(name);

function bucketRows(stub: DurableObjectStub<import('../../src/durable/RateLimiter').RateLimiter>): Promise<number> {
  return runInDurableObject(stub, (_instance, state) => {
    const table = state.storage.sql.exec(`SELECT count(*) AS n FROM sqlite_master WHERE name = 'buckets'`).one().n as number;
    return table ? (state.storage.sql.exec(`SELECT count(*) AS n FROM buckets`).one().n as number) : 0;
  });
}

describe('RateLimiter', () => {
  beforeAll(() => clock.install());
  afterAll(() => clock.uninstall());

  it('allows a burst of `capacity`, then refuses with the seconds until the next token, and refills at the rate', async () => {
    const stub = limiter();
    for (let i = 0; i < 3; i++) expect(await stub.take('b', rule)).toEqual({ ok: true, remaining: 2 - i });
    expect(await stub.take('b', rule)).toEqual({ ok: false, retryAfterSeconds: 2 });
    clock.advance(1000);
    expect(await stub.take('b', rule)).toEqual({ ok: false, retryAfterSeconds: 1 });
    clock.advance(1000);
    expect(await stub.take('b', rule)).toEqual({ ok: true, remaining: 0 });
    // Never more than the capacity, however long it rests.
    clock.advance(3_600_000);
    for (let i = 0; i < 3; i++) expect((await stub.take('b', rule)).ok).toBe(true);
    expect((await stub.take('b', rule)).ok).toBe(false);
  });

  it('keeps buckets apart by name, and a refusal costs nothing', async () => {
    const stub = limiter();
    for (let i = 0; i < 3; i++) await stub.take('a', rule);
    for (let i = 0; i < 5; i++) expect((await stub.take('a', rule)).ok).toBe(false);
    expect((await stub.take('other', rule)).ok).toBe(true);
    clock.advance(2000);
    expect((await stub.take('a', rule)).ok).toBe(true);
  });

  it('with capacity 1 and a slow refill, lets a name be used once until long after', async () => {
    const stub = limiter();
    const once = { capacity: 1, refillPerSecond: 1 / 120 };
    expect((await stub.take('ticket:1', once)).ok).toBe(true);
    expect(await stub.take('ticket:1', once)).toEqual({ ok: false, retryAfterSeconds: 120 });
    clock.advance(60_000);
    expect((await stub.take('ticket:1', once)).ok).toBe(false);
  });

  it('stores slow buckets (a token back in more than 10 s), so a restart does not refill them; fast ones live in memory', async () => {
    const name = `test:${crypto.randomUUID()}`;
    const stub = limiter(name);
    const slow = { capacity: 1, refillPerSecond: 1 / 60 };
    expect((await stub.take('slow', slow)).ok).toBe(true);
    for (let i = 0; i < 3; i++) await stub.take('fast', rule);
    expect((await stub.take('fast', rule)).ok).toBe(false);
    expect(await bucketRows(stub)).toBe(1);
    // The object is replaced, as an eviction would (its storage stays).
    await expect(runInDurableObject(stub, (_instance, state) => state.abort('replaced'))).rejects.toThrow('replaced');
    const replaced = limiter(name);
    expect((await replaced.take('slow', slow)).ok).toBe(false);
    expect((await replaced.take('fast', rule)).ok).toBe(true);
  });

  it('sweeps stored buckets once they are full again, and its whole storage when none is left; the alarm is safe to run twice', async () => {
    const stub = limiter();
    await stub.take('minute', { capacity: 2, refillPerSecond: 1 / 60 }); // full again in 60 s
    await stub.take('hour', { capacity: 1, refillPerSecond: 1 / 3600 }); // full again in an hour
    expect(await bucketRows(stub)).toBe(2);
    clock.advance(5 * 60_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await bucketRows(stub)).toBe(1);
    clock.advance(3600_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await bucketRows(stub)).toBe(0);
    expect(await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm())).toBeNull();
    await runInDurableObject(stub, (instance) => instance.alarm());
    expect(await bucketRows(stub)).toBe(0);
    // Still works afterwards, from a full bucket.
    expect(await stub.take('hour', { capacity: 1, refillPerSecond: 1 / 3600 })).toEqual({ ok: true, remaining: 0 });
    expect(await bucketRows(stub)).toBe(1);
  });

  it('refuses names and rules that make no sense', async () => {
    await runInDurableObject(limiter(), (instance) => {
      expect(() => instance.take('', rule)).toThrow(/bucket name/);
      expect(() => instance.take('x'.repeat(301), rule)).toThrow(/bucket name/);
      expect(() => instance.take('b', { capacity: 0, refillPerSecond: 1 })).toThrow(/limit rule/);
      expect(() => instance.take('b', { capacity: 1, refillPerSecond: 0 })).toThrow(/limit rule/);
      expect(() => instance.take('b', { capacity: Number.NaN, refillPerSecond: 1 })).toThrow(/limit rule/);
    });
  });
});
