// Login failures are counted per account and per IP in Postgres (login already needs it); past
// the limit, further attempts are refused with 429 before any password is checked.
import { inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { loginThrottle } from '../db/schema';
import { ApiError } from '../errors';

const WINDOW_SECONDS = 15 * 60;
const BLOCK_SECONDS = 15 * 60;
export const MAX_FAILURES_PER_ACCOUNT = 5;
export const MAX_FAILURES_PER_IP = 30;

export const throttleKeys = (email: string, ip: string) => ({
  account: `account:${email.toLowerCase()}`,
  ip: `ip:${ip}`,
});

export async function refuseIfThrottled(db: Database, keys: string[]): Promise<void> {
  const rows = await db.select({ blockedUntil: loginThrottle.blockedUntil }).from(loginThrottle).where(inArray(loginThrottle.key, keys));
  const now = Date.now();
  const until = Math.max(0, ...rows.map((row) => row.blockedUntil?.getTime() ?? 0));
  if (until > now) {
    const retryAfter = Math.ceil((until - now) / 1000);
    throw new ApiError(429, 'rate_limited', `Too many failed sign-in attempts. Try again in ${Math.ceil(retryAfter / 60)} minutes.`, undefined, {
      'Retry-After': String(retryAfter),
    });
  }
}

export async function recordFailure(db: Database, key: string, limit: number): Promise<void> {
  // A failure after the window has passed starts a new window.
  await db.execute(sql`
    insert into login_throttle (key, failures, window_started_at) values (${key}, 1, now())
    on conflict (key) do update set
      failures = case when login_throttle.window_started_at < now() - make_interval(secs => ${WINDOW_SECONDS})
                      then 1 else login_throttle.failures + 1 end,
      window_started_at = case when login_throttle.window_started_at < now() - make_interval(secs => ${WINDOW_SECONDS})
                      then now() else login_throttle.window_started_at end`);
  await db.execute(sql`
    update login_throttle set blocked_until = now() + make_interval(secs => ${BLOCK_SECONDS}), failures = 0, window_started_at = now()
    where key = ${key} and failures >= ${limit}`);
}

export async function forgetFailures(db: Database, key: string): Promise<void> {
  await db.delete(loginThrottle).where(sql`${loginThrottle.key} = ${key}`);
}
