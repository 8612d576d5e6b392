// Adaptive lifetimes on top of the edge cache (cachedJson): a key asked for often in this
// isolate is "hot". A hot key's copy is kept for `maxAgeSeconds` and, once older than
// `hotFreshSeconds`, answered at once while one background load replaces it
// (stale-while-revalidate), so a popular key never waits for its load. A cold key's copy is kept
// for `coldSeconds` and then loaded again by the request that finds it gone: refreshing keys
// nobody asks for again would be wasted work. No copy is ever answered older than
// `maxAgeSeconds` (nor is a cold one kept longer), so changes show within that time.
import { cachedJson, storeJson } from './edge-cache';

export interface AdaptiveLifetimes {
  coldSeconds: number;
  hotFreshSeconds: number;
  maxAgeSeconds: number;
  /** The count of recent requests for a key, in this isolate, that makes it hot (see countRequest). */
  hotAfter: number;
}

export interface Aged<T> {
  value: T;
  /** When the copy was loaded (Worker clock, ms). */
  loadedAt: number;
}

/** How fast a key's request count fades: half of it is gone after this long. */
const HALF_LIFE_MS = 30_000;
/** Keys whose requests are counted; the least recently asked go first. */
const MAX_COUNTED_KEYS = 10_000;
const requests = new Map<string, { at: number; score: number }>();
/** Keys with a background load under way in this isolate. */
const refreshing = new Set<string>();

/**
 * Counts a request for `key` and says whether the key is hot now: its count of requests, each
 * fading with a 30 s half-life, has reached `hotAfter` (3: three requests in a row, or one about
 * every 15 s or more often).
 */
function countRequest(key: string, hotAfter: number, now: number): boolean {
  const entry = requests.get(key);
  const score = (entry ? entry.score * 2 ** (-(now - entry.at) / HALF_LIFE_MS) : 0) + 1;
  requests.delete(key);
  requests.set(key, { at: now, score });
  if (requests.size > MAX_COUNTED_KEYS) requests.delete(requests.keys().next().value!);
  return score >= hotAfter - 1e-9;
}

export async function adaptiveJson<T>(
  ctx: Pick<ExecutionContext, 'waitUntil'>,
  key: string,
  lifetimes: AdaptiveLifetimes,
  load: () => Promise<T>,
): Promise<Aged<T>> {
  const hot = countRequest(key, lifetimes.hotAfter, Date.now());
  const loadAged = async (): Promise<Aged<T>> => ({ value: await load(), loadedAt: Date.now() });
  const keepSeconds = hot ? lifetimes.maxAgeSeconds : lifetimes.coldSeconds;
  const copy = (await cachedJson<Aged<T>>(ctx, key, keepSeconds, loadAged))!;
  // cachedJson answers a copy older than its lifetime only when loading failed (stale-if-error).
  const age = Date.now() - copy.loadedAt;
  if (hot && age >= lifetimes.hotFreshSeconds * 1000 && age < lifetimes.maxAgeSeconds * 1000 && !refreshing.has(key)) {
    refreshing.add(key);
    ctx.waitUntil(
      loadAged()
        .then((fresh) => storeJson(ctx, key, fresh, lifetimes.maxAgeSeconds))
        // The copy in hand stays until its time is up; the next request tries again.
        .catch((error: unknown) => console.warn(`adaptive cache: background load of ${key} failed`, error))
        .finally(() => refreshing.delete(key)),
    );
  }
  return copy;
}
