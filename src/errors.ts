import type { ContentfulStatusCode } from 'hono/utils/http-status';

export type ErrorCode =
  | 'validation_failed'
  | 'unauthenticated'
  | 'invalid_credentials'
  | 'forbidden'
  | 'queue_required'
  | 'not_found'
  | 'email_taken'
  | 'tickets_unavailable'
  | 'tickets_available'
  | 'booking_not_pending'
  | 'ticket_limit'
  | 'hold_expired'
  | 'payload_too_large'
  | 'upgrade_required'
  | 'payment_declined'
  | 'rate_limited'
  | 'idempotency_key_reused'
  | 'idempotency_in_progress'
  | 'unavailable'
  | 'internal';

/** The one error the app throws on purpose; `onError` in src/worker.ts turns it into API.md's shape. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toBody() {
    return { error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) } };
  }
}

export const notFound = (what = 'resource') => new ApiError(404, 'not_found', `That ${what} does not exist.`);
export const unauthenticated = () =>
  new ApiError(401, 'unauthenticated', 'Sign in first: send a Bearer token or the session cookie.');
export const forbidden = (message = 'You are not allowed to do that.') => new ApiError(403, 'forbidden', message);
