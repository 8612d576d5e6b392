import type { TicketLock } from './durable/TicketLock';
import type { WaitingRoom } from './durable/WaitingRoom';
import type { RateLimiter } from './durable/RateLimiter';
import type { SessionCheck } from './durable/SessionCheck';
import type { SeatRelay } from './durable/SeatRelay';
import type { SessionUser } from './auth/session';

/** What the Worker is given: Durable Object namespaces, settings and secrets (API.md, last section). */
export interface Bindings {
  TICKET_LOCK: DurableObjectNamespace<TicketLock>;
  WAITING_ROOM: DurableObjectNamespace<WaitingRoom>;
  /** Token buckets for accounts and IPs, in shards by the hash of what is limited (src/auth/limits.ts). */
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
  /** Whether sessions still stand, asked of Postgres for every isolate (src/auth/session-check.ts). */
  SESSION_CHECK: DurableObjectNamespace<SessionCheck>;
  /** An event's seat-stream relays, `<eventId>:relay:<k>` (src/durable/SeatRelay.ts). */
  SEAT_RELAY: DurableObjectNamespace<SeatRelay>;
  DATABASE_URL: string;
  /** `host:port` of the local stand-in for Neon's WebSocket proxy; unset in production. */
  LOCAL_NEON_PROXY?: string;
  SESSION_SECRET: string;
  /** The session key before the last rotation, still accepted (src/auth/keys.ts). */
  SESSION_SECRET_PREVIOUS?: string;
  HOLD_TTL_SECONDS?: string;
  MAX_TICKETS_PER_USER?: string;
  PAYMENT_PROVIDER?: string;
  /** "true" lets PAYMENT_PROVIDER=test confirm bookings without money: set by `npm run dev` and the tests, never deployed. */
  ALLOW_TEST_PAYMENTS?: string;
  STRIPE_SECRET_KEY?: string;
  STRIPE_WEBHOOK_SECRET?: string;
  /** pk_… : with PAYMENT_PROVIDER=stripe the checkout page shows Stripe's Payment Element (and only then loads Stripe.js). */
  STRIPE_PUBLISHABLE_KEY?: string;
  /** Base URL of a local stand-in for Stripe's API (e.g. http://127.0.0.1:12111); unset in production. */
  STRIPE_API_BASE?: string;
  TICKET_SIGNING_KEY?: string;
  /** The ticket-code key before the last rotation, still accepted at the door. */
  TICKET_SIGNING_KEY_PREVIOUS?: string;
  /** "outbox" (the default: kept for GET /api/dev/outbox, nothing leaves) or "http" (src/notifications/provider.ts). */
  NOTIFICATION_PROVIDER?: string;
  NOTIFICATION_HTTP_URL?: string;
  NOTIFICATION_HTTP_KEY?: string;
  NOTIFICATION_FROM?: string;
}

export interface Variables {
  user: SessionUser | null;
  /** A session token came but Postgres could not say whether it stands (src/auth/session.ts). */
  sessionCheckFailed?: boolean;
}

export type AppEnv = { Bindings: Bindings; Variables: Variables };

declare global {
  namespace Cloudflare {
    interface Env extends Bindings {}
    interface GlobalProps {
      mainModule: typeof import('./worker');
      durableNamespaces: 'TicketLock' | 'WaitingRoom' | 'RateLimiter' | 'SessionCheck' | 'SeatRelay';
    }
  }
}

function positiveInteger(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new Error(`${name} must be a positive integer, got "${value}"`);
  return parsed;
}

export function settings(env: Bindings) {
  return {
    holdTtlSeconds: positiveInteger(env.HOLD_TTL_SECONDS, 600, 'HOLD_TTL_SECONDS'),
    maxTicketsPerUser: positiveInteger(env.MAX_TICKETS_PER_USER, 10, 'MAX_TICKETS_PER_USER'),
    paymentProvider: env.PAYMENT_PROVIDER === 'stripe' ? ('stripe' as const) : ('test' as const),
  };
}
