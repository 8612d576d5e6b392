// The edge cache answers a copy past its freshness when the load behind it fails (Postgres down):
// stale-if-error. The Cache API's own expiry runs on real time, outside the Worker's clock, so
// these use a one-second TTL and wait it out for real.
import { describe, expect, it } from 'vitest';
import { cachedJson, cacheKey } from '../../src/lib/edge-cache';
import { TestClock, unique } from '../helpers';

/** An ExecutionContext whose waitUntil promises the test can wait for (the cache write happens in one). */
function context() {
  const pending: Promise<unknown>[] = [];
  return { ctx: { waitUntil: (promise: Promise<unknown>) => void pending.push(promise) }, settled: () => Promise.all(pending) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const databaseDown = () => Promise.reject(new Error('database unreachable'));

describe('cachedJson when the load fails', () => {
  it('answers the last copy once its TTL has passed, and a fresh load again once the load works', async () => {
    const key = cacheKey(`/test/stale/${unique()}`);
    const first = context();
    expect(await cachedJson(first.ctx, key, 1, async () => ({ version: 1 }))).toEqual({ version: 1 });
    await first.settled();

    // Past the TTL in the Cache API's own (real) time, not only by the Worker's clock.
    await sleep(2100);
    expect(await cachedJson(context().ctx, key, 1, databaseDown)).toEqual({ version: 1 });

    const recovered = context();
    expect(await cachedJson(recovered.ctx, key, 1, async () => ({ version: 2 }))).toEqual({ version: 2 });
    await recovered.settled();
    expect(await cachedJson(context().ctx, key, 1, databaseDown)).toEqual({ version: 2 });
  });

  it('loads again once the copy is past its freshness by the Worker clock, and serves it while fresh', async () => {
    const key = cacheKey(`/test/stale/${unique()}`);
    const clock = new TestClock();
    await clock.during(async () => {
      const first = context();
      await cachedJson(first.ctx, key, 60, async () => ({ version: 1 }));
      await first.settled();
      clock.advance(59_000);
      expect(await cachedJson(context().ctx, key, 60, async () => ({ version: 2 }))).toEqual({ version: 1 });
      clock.advance(2_000);
      expect(await cachedJson(context().ctx, key, 60, databaseDown)).toEqual({ version: 1 });
      const reload = context();
      expect(await cachedJson(reload.ctx, key, 60, async () => ({ version: 2 }))).toEqual({ version: 2 });
      await reload.settled();
      expect(await cachedJson(context().ctx, key, 60, databaseDown)).toEqual({ version: 2 });
    });
  });

  it('still fails when there is no copy at all, and caches no failure', async () => {
    const key = cacheKey(`/test/stale/${unique()}`);
    await expect(cachedJson(context().ctx, key, 60, databaseDown)).rejects.toThrow('database unreachable');
    expect(await cachedJson(context().ctx, key, 60, async () => ({ version: 1 }))).toEqual({ version: 1 });
  });

  it('keeps no copy of a copy beyond its stale limit', async () => {
    const key = cacheKey(`/test/stale/${unique()}`);
    const clock = new TestClock();
    await clock.during(async () => {
      const first = context();
      await cachedJson(first.ctx, key, 60, async () => ({ version: 1 }));
      await first.settled();
      // An hour and a bit later by the Worker clock: too old to answer even when the load fails.
      clock.advance(60_000 + 3600_000 + 1000);
      await expect(cachedJson(context().ctx, key, 60, databaseDown)).rejects.toThrow('database unreachable');
    });
  });
});
