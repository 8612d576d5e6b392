// The Workers Cache API as a small read-through cache of JSON documents, with a bounded copy in
// the isolate in front of it. Keys are synthetic URLs; a format version in the key lets a deploy
// that changes a document's shape ignore old copies. `caches.default` is per data centre (and a
// no-op on *.workers.dev: production needs a route on a zone), so purges are local and a TTL
// bounds staleness everywhere else. What the cache hands out is shared: callers never mutate it.
const ORIGIN = 'https://edge-cache.box-office.internal';

/** "No such thing" is remembered this long, so a flood of lookups of one missing id costs one query. */
export const NOT_FOUND_TTL_SECONDS = 5;

/**
 * The isolate's own copies, fresh ones only (stale-if-error is the Cache API's job). Bounded by
 * count and by size; documents bigger than MEMORY_ENTRY_MAX_BYTES stay in the Cache API only.
 * Insertion order is recency order: a hit moves its entry to the end, eviction takes the front.
 */
const MEMORY_MAX_ENTRIES = 1000;
const MEMORY_MAX_BYTES = 32 * 1024 * 1024;
const MEMORY_ENTRY_MAX_BYTES = 1024 * 1024;
const memory = new Map<string, { value: unknown; freshUntil: number; bytes: number }>();
let memoryBytes = 0;

function remember(key: string, value: unknown, freshUntil: number, bytes: number): void {
  forget(key);
  if (bytes > MEMORY_ENTRY_MAX_BYTES) return;
  memory.set(key, { value, freshUntil, bytes });
  memoryBytes += bytes;
  for (const [oldest, entry] of memory) {
    if (memory.size <= MEMORY_MAX_ENTRIES && memoryBytes <= MEMORY_MAX_BYTES) break;
    memory.delete(oldest);
    memoryBytes -= entry.bytes;
  }
}

function forget(key: string): void {
  const entry = memory.get(key);
  if (!entry) return;
  memory.delete(key);
  memoryBytes -= entry.bytes;
}

/** The isolate's fresh copy: `undefined` when there is none (null is a remembered "not found"). */
function recall(key: string, now: number): unknown {
  const entry = memory.get(key);
  if (!entry) return undefined;
  if (now >= entry.freshUntil) {
    forget(key);
    return undefined;
  }
  memory.delete(key);
  memory.set(key, entry);
  return entry.value;
}

export function cacheKey(path: string): string {
  return `${ORIGIN}${path}`;
}

/**
 * Loads in flight in this isolate, by key: when an on-sale opens, hundreds of requests miss the
 * cache at once, and they should cost one load, not hundreds. The others must not await the
 * loader's promise: the Workers runtime runs such a continuation in the context of the request
 * that settled it (the waiter's own I/O then fails, "Cannot perform I/O on behalf of a different
 * request") and cancels the waiter as hung if that request goes away. So a waiter sleeps on its
 * own timers and picks up the outcome the loader leaves here, which is plain data.
 */
interface SharedLoad {
  startedAt: number;
  outcome?: { value: unknown } | { error: unknown };
}
const loadsInFlight = new Map<string, SharedLoad>();
/** A load older than this is presumed lost (its request cancelled): the next request loads itself. */
export const SHARED_LOAD_WAIT_MS = 8000;
const POLL_FIRST_MS = 1;
const POLL_MAX_MS = 20;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits, on this request's own timers, for another request's load: its outcome, or undefined if it took too long. */
async function outcomeOf(shared: SharedLoad): Promise<SharedLoad['outcome']> {
  let delay = POLL_FIRST_MS;
  const giveUpAt = shared.startedAt + SHARED_LOAD_WAIT_MS;
  while (!shared.outcome && Date.now() < giveUpAt) {
    await sleep(delay);
    delay = Math.min(POLL_MAX_MS, delay * 2);
  }
  return shared.outcome;
}

/** Runs `load` as the isolate's one load of `key`, leaving its outcome for the requests waiting on it. */
async function loadShared<T>(key: string, load: () => Promise<T | null>, store: (value: T | null) => void): Promise<T | null> {
  const shared: SharedLoad = { startedAt: Date.now() };
  loadsInFlight.set(key, shared);
  try {
    const value = await load();
    store(value);
    shared.outcome = { value };
    return value;
  } catch (error) {
    shared.outcome = { error };
    throw error;
  } finally {
    if (loadsInFlight.get(key) === shared) loadsInFlight.delete(key);
  }
}

/**
 * Stale-if-error: a copy is fresh for its TTL, then kept this much longer to answer while the
 * load behind it fails (Postgres down), so event pages outlive an outage of up to an hour.
 */
const STALE_IF_ERROR_SECONDS = 3600;
/** When the copy stops being fresh, by the Worker's clock (the Cache API's expiry is the stale limit). */
const FRESH_UNTIL_HEADER = 'X-Fresh-Until';

export async function cachedJson<T>(
  ctx: Pick<ExecutionContext, 'waitUntil'>,
  key: string,
  ttlSeconds: number,
  load: () => Promise<T | null>,
  /** false for what must never be older than its TTL (a failed load then fails the request). */
  options: { staleIfError?: boolean } = {},
): Promise<T | null> {
  const remembered = recall(key, Date.now());
  if (remembered !== undefined) return remembered as T | null;
  const cache = caches.default;
  const hit = await cache.match(key);
  let stale: { value: T } | null = null;
  if (hit) {
    const body = await hit.text();
    const value = JSON.parse(body) as T | null;
    const freshUntil = Number(hit.headers.get(FRESH_UNTIL_HEADER) ?? Infinity);
    const now = Date.now();
    if (now < freshUntil) {
      remember(key, value, freshUntil, body.length);
      return value;
    }
    if (value !== null && options.staleIfError !== false && now < freshUntil + STALE_IF_ERROR_SECONDS * 1000) stale = { value };
  }
  const loadOnce = async (): Promise<T | null> => {
    const shared = loadsInFlight.get(key);
    if (shared && Date.now() - shared.startedAt < SHARED_LOAD_WAIT_MS) {
      const outcome = await outcomeOf(shared);
      if (outcome && 'value' in outcome) return outcome.value as T | null;
      if (outcome) throw outcome.error;
    }
    return loadShared(key, load, (value) => storeJson(ctx, key, value, ttlSeconds));
  };
  if (!stale) return loadOnce();
  try {
    return await loadOnce();
  } catch (error) {
    console.warn(`edge cache: answering a stale copy of ${key}, its load failed`, error);
    return stale.value;
  }
}

/**
 * Puts `value` in the cache under `key` as a fresh copy for `ttlSeconds` (in the isolate at once,
 * in the Cache API in the background): what cachedJson does after a load, for a caller that
 * loaded a newer copy itself.
 */
export function storeJson(ctx: Pick<ExecutionContext, 'waitUntil'>, key: string, value: unknown, ttlSeconds: number): void {
  // A "not found" is kept briefly and never served stale: the thing may be created any moment.
  const freshSeconds = value === null ? Math.min(ttlSeconds, NOT_FOUND_TTL_SECONDS) : ttlSeconds;
  const keepSeconds = value === null ? freshSeconds : ttlSeconds + STALE_IF_ERROR_SECONDS;
  const body = JSON.stringify(value);
  const freshUntil = Date.now() + freshSeconds * 1000;
  remember(key, value, freshUntil, body.length);
  const response = new Response(body, {
    headers: {
      'Content-Type': 'application/json',
      'Cache-Control': `public, max-age=${keepSeconds}`,
      [FRESH_UNTIL_HEADER]: String(freshUntil),
    },
  });
  ctx.waitUntil(caches.default.put(key, response));
}

export async function purge(key: string): Promise<void> {
  forget(key);
  await caches.default.delete(key);
}
