// The read-through cache in front of Postgres: unknown ids are remembered briefly (so a flood of
// requests for one missing event costs one lookup, not one each), and a bounded copy in the isolate
// answers before the Cache API (which is a no-op on *.workers.dev and costs a read everywhere).
import { describe, expect, it } from 'vitest';
import { cachedJson, cacheKey, NOT_FOUND_TTL_SECONDS, purge } from '../../src/lib/edge-cache';
import { TestClock, unique } from '../helpers';

function context() {
  const pending: Promise<unknown>[] = [];
  return { ctx: { waitUntil: (promise: Promise<unknown>) => void pending.push(promise) }, settled: () => Promise.all(pending) };
}

/** A load that counts how often the cache had to ask. */
function counted<T>(value: T) {
  const load = async () => {
    load.calls++;
    return value;
  };
  load.calls = 0;
  return load;
}

describe('cachedJson', () => {
  it('remembers that something does not exist, for a few seconds only', async () => {
    const key = cacheKey(`/test/missing/${unique()}`);
    const missing = counted(null);
    const clock = new TestClock();
    await clock.during(async () => {
      const first = context();
      expect(await cachedJson(first.ctx, key, 60, missing)).toBeNull();
      await first.settled();

      const again = await Promise.all(Array.from({ length: 20 }, () => cachedJson(context().ctx, key, 60, missing)));
      expect(again.every((value) => value === null)).toBe(true);
      expect(missing.calls).toBe(1);

      clock.advance((NOT_FOUND_TTL_SECONDS + 1) * 1000);
      const created = counted({ id: 'now it exists' });
      expect(await cachedJson(context().ctx, key, 60, created)).toEqual({ id: 'now it exists' });
      expect(created.calls).toBe(1);
    });
  });

  it('answers from the isolate’s own copy when the Cache API has none', async () => {
    const key = cacheKey(`/test/memory/${unique()}`);
    const first = context();
    await cachedJson(first.ctx, key, 60, counted({ version: 1 }));
    await first.settled();
    await caches.default.delete(key);

    const load = counted({ version: 2 });
    expect(await cachedJson(context().ctx, key, 60, load)).toEqual({ version: 1 });
    expect(load.calls).toBe(0);
  });

  it('forgets both copies on purge, so an edit shows at once where it was made', async () => {
    const key = cacheKey(`/test/purge/${unique()}`);
    const first = context();
    await cachedJson(first.ctx, key, 60, counted({ version: 1 }));
    await first.settled();

    await purge(key);
    const load = counted({ version: 2 });

    expect(await cachedJson(context().ctx, key, 60, load)).toEqual({ version: 2 });
    expect(load.calls).toBe(1);
  });

  it('keeps the isolate’s copy no longer than the TTL', async () => {
    const key = cacheKey(`/test/memory-ttl/${unique()}`);
    const clock = new TestClock();
    await clock.during(async () => {
      const first = context();
      await cachedJson(first.ctx, key, 60, counted({ version: 1 }));
      await first.settled();
      await caches.default.delete(key);

      clock.advance(61_000);
      const load = counted({ version: 2 });
      expect(await cachedJson(context().ctx, key, 60, load)).toEqual({ version: 2 });
      expect(load.calls).toBe(1);
    });
  });
});
