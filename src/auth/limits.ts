// Request rate limits, kept in RateLimiter Durable Objects (src/durable/RateLimiter.ts): per
// account (`account:<userId>`) and per client IP (`ip:<address>`), a token bucket for each kind of
// request, in the shard that the subject's name hashes to. Over a limit: 429 rate_limited with
// Retry-After.
//
// The client's IP is CF-Connecting-IP, which Cloudflare sets on every request; limits by IP apply
// only when it is there and not loopback, so local tools and tests do not all share one bucket.
// Login attempts are throttled in Postgres instead (src/auth/throttle.ts): login needs it anyway,
// and the count must be taken in the same place the password check reads.
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv, Bindings } from '../env';
import { ApiError } from '../errors';
import type { LimitRule } from '../durable/RateLimiter';

/** Generous for people, tight for scripts: buckets refill steadily and allow a burst of `capacity`. */
export const LIMITS = {
  /** Account creation costs a password hash and makes a fresh identity: 5 an hour per IP. */
  signupPerIp: { capacity: 5, refillPerSecond: 5 / 3600 },
  /** Holds, payments, cancellations: 60 at once, then one a second, per account. */
  bookingsPerAccount: { capacity: 60, refillPerSecond: 1 },
  /** Per address, for everyone behind it (an office, a campus): 300 at once, then 10 a second. */
  bookingsPerIp: { capacity: 300, refillPerSecond: 10 },
  /** Queue joins, sockets, tickets and status polls: 60 at once, then one a second, per account. */
  queuePerAccount: { capacity: 60, refillPerSecond: 1 },
  queuePerIp: { capacity: 600, refillPerSecond: 20 },
} satisfies Record<string, LimitRule>;

/**
 * The client's address as Cloudflare gives it, or null. A loopback address only ever comes from a
 * local run (`npm run dev`, the benchmarks and browser tests: Miniflare fills the header in with
 * 127.0.0.1), where everyone is the same machine; Cloudflare never sends one.
 */
export function clientIp(c: Context<AppEnv>): string | null {
  const ip = c.req.header('CF-Connecting-IP')?.trim();
  if (!ip || /^127\.|^::1$|^::ffff:127\./i.test(ip)) return null;
  return ip;
}

interface Limited {
  /** `account:<userId>` or `ip:<address>`: the RateLimiter object. */
  subject: string;
  bucket: string;
  rule: LimitRule;
}

/**
 * The RateLimiter object that keeps a subject's buckets: one of LIMITER_SHARDS, chosen by a hash
 * of the subject. One object per account would make a burst of first-time buyers (an on-sale)
 * start as many new objects as there are buyers; a fixed set of shards is started once and each
 * serves a share of everyone.
 */
export const LIMITER_SHARDS = 32;

export function limiterFor(env: Bindings, subject: string) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < subject.length; i++) hash = Math.imul(hash ^ subject.charCodeAt(i), 0x01000193);
  return env.RATE_LIMITER.getByName(`limits-${(hash >>> 0) % LIMITER_SHARDS}`);
}

/** Takes a token from each bucket (at once) and refuses the request if any is empty. */
export async function enforceLimits(env: Bindings, limits: Limited[]): Promise<void> {
  const results = await Promise.all(limits.map((limit) => limiterFor(env, limit.subject).take(`${limit.subject}/${limit.bucket}`, limit.rule)));
  const waits = results.flatMap((result) => (result.ok ? [] : [result.retryAfterSeconds]));
  if (waits.length === 0) return;
  const retryAfter = Math.max(...waits);
  throw new ApiError(429, 'rate_limited', `Too many requests. Try again in ${retryAfter} seconds.`, undefined, { 'Retry-After': String(retryAfter) });
}

/** Sign-ups: limited per IP, before the password is hashed. */
export async function limitSignup(c: Context<AppEnv>): Promise<void> {
  const ip = clientIp(c);
  if (ip) await enforceLimits(c.env, [{ subject: `ip:${ip}`, bucket: 'signup', rule: LIMITS.signupPerIp }]);
}

/** The account's bucket when the request is signed in, the IP's when the IP is known. */
function subjectsOf(c: Context<AppEnv>, bucket: string, perAccount: LimitRule, perIp: LimitRule): Limited[] {
  const user = c.get('user');
  const ip = clientIp(c);
  return [
    ...(user ? [{ subject: `account:${user.id}`, bucket, rule: perAccount }] : []),
    ...(ip ? [{ subject: `ip:${ip}`, bucket, rule: perIp }] : []),
  ];
}

/** `POST /api/bookings/*`: holds and payments. Runs after loadSession, before the route (and its idempotency). */
export const limitBookingPosts: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.method === 'POST') await enforceLimits(c.env, subjectsOf(c, 'bookings', LIMITS.bookingsPerAccount, LIMITS.bookingsPerIp));
  await next();
};

/** `/api/events/:eventId/queue…`: the socket, joins, tickets and status polls; the public fairness record is not limited. */
export const limitQueueRequests: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.req.path.endsWith('/fairness')) await enforceLimits(c.env, subjectsOf(c, 'queue', LIMITS.queuePerAccount, LIMITS.queuePerIp));
  await next();
};
