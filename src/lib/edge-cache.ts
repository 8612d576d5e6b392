// The Workers Cache API as a small read-through cache of JSON documents. Keys are synthetic
// URLs; a format version in the key lets a deploy that changes a document's shape ignore old
// copies. `caches.default` is per data centre, so purges are local and a TTL bounds staleness
// everywhere else.
const ORIGIN = 'https://edge-cache.box-office.internal';

export function cacheKey(path: string): string {
  return `${ORIGIN}${path}`;
}

// Loads in flight in this isolate, by key: when an on-sale opens, hundreds of requests miss the
// cache at once, and they should cost one database session, not hundreds.
const inFlight = new Map<string, Promise<unknown>>();

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
): Promise<T | null> {
  const cache = caches.default;
  const hit = await cache.match(key);
  let stale: { value: T } | null = null;
  if (hit) {
    const value = (await hit.json()) as T;
    const freshUntil = Number(hit.headers.get(FRESH_UNTIL_HEADER) ?? Infinity);
    const now = Date.now();
    if (now < freshUntil) return value;
    if (now < freshUntil + STALE_IF_ERROR_SECONDS * 1000) stale = { value };
  }
  let loading = inFlight.get(key) as Promise<T | null> | undefined;
  if (!loading) {
    loading = load()
      .then((value) => {
        if (value !== null) {
          const response = new Response(JSON.stringify(value), {
            headers: {
              'Content-Type': 'application/json',
              'Cache-Control': `public, max-age=${ttlSeconds + STALE_IF_ERROR_SECONDS}`,
              [FRESH_UNTIL_HEADER]: String(Date.now() + ttlSeconds * 1000),
            },
          });
          ctx.waitUntil(cache.put(key, response));
        }
        return value;
      })
      .finally(() => inFlight.delete(key));
    inFlight.set(key, loading);
  }
  if (!stale) return loading;
  try {
    return await loading;
  } catch (error) {
    console.warn(`edge cache: answering a stale copy of ${key}, its load failed`, error);
    return stale.value;
  }
}

export async function purge(key: string): Promise<void> {
  await caches.default.delete(key);
}
