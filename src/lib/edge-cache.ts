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

export async function cachedJson<T>(
  ctx: Pick<ExecutionContext, 'waitUntil'>,
  key: string,
  ttlSeconds: number,
  load: () => Promise<T | null>,
): Promise<T | null> {
  const cache = caches.default;
  const hit = await cache.match(key);
  if (hit) return (await hit.json()) as T;
  const pending = inFlight.get(key) as Promise<T | null> | undefined;
  if (pending) return pending;
  const loading = load().finally(() => inFlight.delete(key));
  inFlight.set(key, loading);
  const value = await loading;
  if (value !== null) {
    const response = new Response(JSON.stringify(value), {
      headers: { 'Content-Type': 'application/json', 'Cache-Control': `public, max-age=${ttlSeconds}` },
    });
    ctx.waitUntil(cache.put(key, response));
  }
  return value;
}

export async function purge(key: string): Promise<void> {
  await caches.default.delete(key);
}
