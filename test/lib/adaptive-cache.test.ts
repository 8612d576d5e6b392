// Adaptive lifetimes over the edge cache (src/lib/adaptive-cache.ts), on the Worker's clock.
import { describe, expect, it } from 'vitest';
import { adaptiveJson, type AdaptiveLifetimes } from '../../src/lib/adaptive-cache';
import { cacheKey } from '../../src/lib/edge-cache';
import { TestClock, unique } from '../helpers';

const LIFETIMES: AdaptiveLifetimes = { coldSeconds: 30, hotFreshSeconds: 15, maxAgeSeconds: 60, hotAfter: 3 };

/** An ExecutionContext whose waitUntil promises the test can wait for (background loads run in one). */
function context() {
  const pending: Promise<unknown>[] = [];
  return { ctx: { waitUntil: (promise: Promise<unknown>) => void pending.push(promise) }, settled: () => Promise.all(pending) };
}

/** A source whose every load gives the next number, and that can be made to fail. */
function source() {
  const state = { loads: 0, failing: false };
  const load = async () => {
    state.loads += 1;
    if (state.failing) throw new Error('database unreachable');
    return state.loads;
  };
  return { state, load };
}

describe('adaptiveJson', () => {
  it('keeps a cold key 30 s, then the next request waits for a new load', async () => {
    const key = cacheKey(`/test/adaptive/${unique()}`);
    const { state, load } = source();
    const clock = new TestClock();
    await clock.during(async () => {
      expect((await adaptiveJson(context().ctx, key, LIFETIMES, load)).value).toBe(1);
      clock.advance(29_000);
      expect((await adaptiveJson(context().ctx, key, LIFETIMES, load)).value).toBe(1);
      clock.advance(2_000);
      const later = context();
      expect((await adaptiveJson(later.ctx, key, LIFETIMES, load)).value).toBe(2);
      await later.settled();
      expect(state.loads).toBe(2);
    });
  });

  it('answers a hot key at once from its copy while one background load replaces it', async () => {
    const key = cacheKey(`/test/adaptive/${unique()}`);
    const { state, load } = source();
    const clock = new TestClock();
    await clock.during(async () => {
      for (let i = 0; i < LIFETIMES.hotAfter; i++) await adaptiveJson(context().ctx, key, LIFETIMES, load);
      expect(state.loads).toBe(1);

      clock.advance(16_000);
      const first = context();
      const second = context();
      // Both answered from the copy; one background load between them.
      const answers = await Promise.all([adaptiveJson(first.ctx, key, LIFETIMES, load), adaptiveJson(second.ctx, key, LIFETIMES, load)]);
      expect(answers.map((a) => a.value)).toEqual([1, 1]);
      expect(answers[0]!.loadedAt).toBe(clock.now - 16_000);
      await Promise.all([first.settled(), second.settled()]);
      expect(state.loads).toBe(2);
      expect((await adaptiveJson(context().ctx, key, LIFETIMES, load)).value).toBe(2);

      // Kept hot by its requests, it never waits: every answer is the copy before the newest load.
      for (let round = 3; round <= 6; round++) {
        clock.advance(16_000);
        const request = context();
        expect((await adaptiveJson(request.ctx, key, LIFETIMES, load)).value).toBe(round - 1);
        await request.settled();
        expect(state.loads).toBe(round);
      }
    });
  });

  it('answers nothing older than 60 s: a hot key asked again after a minute waits for a new load', async () => {
    const key = cacheKey(`/test/adaptive/${unique()}`);
    const { state, load } = source();
    const clock = new TestClock();
    await clock.during(async () => {
      for (let i = 0; i < LIFETIMES.hotAfter; i++) await adaptiveJson(context().ctx, key, LIFETIMES, load);
      clock.advance(16_000);
      const refresh = context();
      await adaptiveJson(refresh.ctx, key, LIFETIMES, load);
      await refresh.settled();
      expect(state.loads).toBe(2);

      clock.advance(60_001);
      const late = context();
      const answer = await adaptiveJson(late.ctx, key, LIFETIMES, load);
      expect(answer).toEqual({ value: 3, loadedAt: clock.now });
      await late.settled();
      expect(state.loads).toBe(3);
    });
  });

  it('keeps answering the copy when a background load fails, and tries again on a later request', async () => {
    const key = cacheKey(`/test/adaptive/${unique()}`);
    const { state, load } = source();
    const clock = new TestClock();
    await clock.during(async () => {
      for (let i = 0; i < LIFETIMES.hotAfter; i++) await adaptiveJson(context().ctx, key, LIFETIMES, load);
      state.failing = true;
      clock.advance(16_000);
      const failed = context();
      expect((await adaptiveJson(failed.ctx, key, LIFETIMES, load)).value).toBe(1);
      await failed.settled();
      expect(state.loads).toBe(2);

      state.failing = false;
      clock.advance(1_000);
      const retried = context();
      expect((await adaptiveJson(retried.ctx, key, LIFETIMES, load)).value).toBe(1);
      await retried.settled();
      expect((await adaptiveJson(context().ctx, key, LIFETIMES, load)).value).toBe(3);
    });
  });
});
