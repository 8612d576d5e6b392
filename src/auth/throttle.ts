// Login throttling. Every attempt is counted before its password is hashed, in one statement that
// increments each counter it falls under and returns the new counts (Postgres's row lock on each
// counter orders concurrent attempts), so of 40 guesses sent at once only the first few reach the
// password check; the rest are 429 before any hashing.
//
// The scheme, in fixed 15-minute windows:
// - per IP: 30 attempts that did not succeed. Guessing across many accounts from one address stops.
// - per account and IP: 5. One address guessing one account stops; the account stays open to
//   every other address, and the address to every other account.
// - per account, counting only attempts from IPs that have never signed into it (login_sources,
//   remembered 90 days): 20. Guessing one account from many addresses stops, but strangers cannot
//   lock the owner out: an address the owner signed in from before is not subject to this limit.
//   (An owner on a new network while the account is under attack waits out the window.)
// A success gives back its own count (it was not a failure), forgives its account and IP pair,
// and remembers the IP for the account. Limits by IP apply only when the client's IP is known
// (CF-Connecting-IP, always set by Cloudflare; not loopback, src/auth/limits.ts); without it, the
// account's counters use the IP "unknown".
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { ApiError } from '../errors';

const WINDOW_SECONDS = 15 * 60;
const KNOWN_SOURCE_DAYS = 90;
export const MAX_ATTEMPTS_PER_IP = 30;
export const MAX_ATTEMPTS_PER_ACCOUNT_AND_IP = 5;
export const MAX_ATTEMPTS_PER_ACCOUNT_FROM_NEW_IPS = 20;
/** One attempt in this many also clears out counters and sources long past use. */
const SWEEP_ONE_IN = 100;

export interface LoginAttempt {
  account: string;
  /** The client's IP, or null when unknown. */
  ip: string | null;
  keys: { ip: string | null; accountAndIp: string; account: string };
}

export function loginAttempt(email: string, ip: string | undefined): LoginAttempt {
  const account = email.trim().toLowerCase();
  const source = ip?.trim() || null;
  return {
    account,
    ip: source,
    keys: {
      ip: source ? `ip:${source}` : null,
      // An IP never contains "|", so the pair reads one way only.
      accountAndIp: `ip-account:${source ?? 'unknown'}|${account}`,
      account: `account:${account}`,
    },
  };
}

function limitOf(attempt: LoginAttempt, key: string): number {
  if (key === attempt.keys.ip) return MAX_ATTEMPTS_PER_IP;
  if (key === attempt.keys.accountAndIp) return MAX_ATTEMPTS_PER_ACCOUNT_AND_IP;
  return MAX_ATTEMPTS_PER_ACCOUNT_FROM_NEW_IPS;
}

export interface CountedAttempt extends LoginAttempt {
  /** The counters this attempt was counted under. */
  counted: string[];
}

/**
 * Counts the attempt under every limit it falls under and refuses it (429 with Retry-After) when
 * any is exceeded. Call before hashing anything.
 */
export async function countAttempt(db: Database, attempt: LoginAttempt): Promise<CountedAttempt> {
  const keys = [attempt.keys.ip, attempt.keys.accountAndIp, attempt.keys.account].filter((key): key is string => key !== null);
  const window = sql`make_interval(secs => ${WINDOW_SECONDS})`;
  const counted = await db.execute<{ key: string; failures: number; retry_after: number }>(sql`
    with known as (
      select 1 from login_sources
      where account = ${attempt.account} and ip = ${attempt.ip ?? 'unknown'}
        and last_success_at > now() - make_interval(days => ${KNOWN_SOURCE_DAYS})
    )
    insert into login_throttle as t (key, failures, window_started_at)
    select v.key, 1, now() from (values ${sql.join(keys.map((key) => sql`(${key})`), sql`, `)}) as v(key)
    where v.key <> ${attempt.keys.account} or not exists (select 1 from known)
    on conflict (key) do update set
      failures = case when t.window_started_at <= now() - ${window} then 1 else t.failures + 1 end,
      window_started_at = case when t.window_started_at <= now() - ${window} then now() else t.window_started_at end
    returning t.key, t.failures, ceil(extract(epoch from t.window_started_at + ${window} - now()))::int as retry_after`);
  if (Math.random() * SWEEP_ONE_IN < 1) await sweep(db);
  const refusals = counted.rows.filter((row) => row.failures > limitOf(attempt, row.key));
  if (refusals.length === 0) return { ...attempt, counted: counted.rows.map((row) => row.key) };
  const retryAfter = Math.max(1, ...refusals.map((row) => row.retry_after));
  throw new ApiError(429, 'rate_limited', `Too many sign-in attempts. Try again in ${Math.ceil(retryAfter / 60)} minutes.`, undefined, {
    'Retry-After': String(retryAfter),
  });
}

/** The attempt succeeded: its counts are given back, its account-and-IP failures forgiven and the IP remembered. */
export async function attemptSucceeded(db: Database, attempt: CountedAttempt): Promise<void> {
  const giveBack = attempt.counted.filter((key) => key !== attempt.keys.accountAndIp);
  if (giveBack.length > 0) {
    await db.execute(sql`update login_throttle set failures = greatest(failures - 1, 0) where key in (${sql.join(giveBack.map((key) => sql`${key}`), sql`, `)})`);
  }
  await db.execute(sql`delete from login_throttle where key = ${attempt.keys.accountAndIp}`);
  await rememberSource(db, attempt);
}

/** The IP signed into the account (or created it): it stays open to the account while strangers guess. */
export async function rememberSource(db: Database, attempt: LoginAttempt): Promise<void> {
  await db.execute(sql`
    insert into login_sources (account, ip, last_success_at) values (${attempt.account}, ${attempt.ip ?? 'unknown'}, now())
    on conflict (account, ip) do update set last_success_at = now()`);
}

async function sweep(db: Database): Promise<void> {
  await db.execute(sql`delete from login_throttle where window_started_at < now() - make_interval(secs => ${2 * WINDOW_SECONDS})`);
  await db.execute(sql`delete from login_sources where last_success_at < now() - make_interval(days => ${KNOWN_SOURCE_DAYS})`);
}
