// The read-through cache in front of Postgres: unknown ids are remembered briefly (so a flood of
// requests for one missing event costs one lookup, not one each), and a bounded copy in the isolate
// answers before the Cache API (which is a no-op on *.workers.dev and costs a read everywhere).
import { describe, expect, it } from 'vitest';
import { cachedJson, cacheKey, NOT_FOUND_TTL_SECONDS, purge, SHARED_LOAD_WAIT_MS } from '../../src/lib/edge-cache';
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

  it('asks once for many simultaneous misses of one key, and hands each the value', async () => {
    const key = cacheKey(`/test/together/${unique()}`);
    let calls = 0;
    const slowLoad = async () => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 50));
      return { loaded: 'once' };
    };

    const answers = await Promise.all(Array.from({ length: 20 }, () => cachedJson(context().ctx, key, 60, slowLoad)));

    expect(calls).toBe(1);
    expect(answers).toEqual(Array(20).fill({ loaded: 'once' }));
  });

  it('fails the requests waiting on a load that failed, and the next request loads afresh', async () => {
    const key = cacheKey(`/test/together-failed/${unique()}`);
    let calls = 0;
    const failingLoad = async (): Promise<{ loaded: string }> => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 30));
      throw new Error('database down');
    };

    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => cachedJson(context().ctx, key, 60, failingLoad)));

    expect(calls).toBe(1);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(Array(5).fill('rejected'));
    expect(await cachedJson(context().ctx, key, 60, counted({ loaded: 'later' }))).toEqual({ loaded: 'later' });
  });

  it('waits for a load that never ends no longer than SHARED_LOAD_WAIT_MS, then loads itself', async () => {
    const key = cacheKey(`/test/together-lost/${unique()}`);
    const clock = new TestClock();
    await clock.during(async () => {
      // A load whose request went away: it never settles.
      void cachedJson(context().ctx, key, 60, () => new Promise<never>(() => {}));
      await new Promise((resolve) => setTimeout(resolve, 10));
      const load = counted({ loaded: 'by the waiter' });
      const waiting = cachedJson(context().ctx, key, 60, load);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(load.calls).toBe(0);

      clock.advance(SHARED_LOAD_WAIT_MS);

      expect(await waiting).toEqual({ loaded: 'by the waiter' });
      expect(load.calls).toBe(1);
    });
  });
});
