import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv, Bindings } from './env';
import { ApiError } from './errors';
import { loadSession } from './auth/session';
import { limitBookingPosts, limitQueueRequests } from './auth/limits';
import { healthRoutes } from './routes/health';
import { authRoutes } from './routes/auth';
import { meRoutes } from './routes/me';
import { eventRoutes } from './routes/events';
import { seatRoutes } from './routes/seats';
import { seatmapRoutes } from './routes/seatmap';
import { queueRoutes } from './routes/queue';
import { adminRoutes } from './routes/admin';
import { bookingRoutes } from './routes/bookings';
import { paymentRoutes } from './routes/payments';
import { docsRoutes } from './routes/docs';
import { devRoutes } from './routes/dev';
import { waitlistRoutes } from './routes/waitlist';
import { deliverNotificationsSoon } from './notifications/deliver';
import { pageRoutes } from './pages/routes';
import { idempotentBookingPosts } from './lib/idempotency';
import { refuseCrossSiteCookieWrites } from './lib/cross-site';

export { TicketLock } from './durable/TicketLock';
export { WaitingRoom } from './durable/WaitingRoom';
export { RateLimiter } from './durable/RateLimiter';
export { SessionCheck } from './durable/SessionCheck';
export { SeatRelay } from './durable/SeatRelay';

const MAX_BODY_BYTES = 64 * 1024;

export const app = new Hono<AppEnv>();

/** No type sniffing, no full URLs to other sites, never in a frame. */
const SECURITY_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['X-Content-Type-Options', 'nosniff'],
  // Not no-referrer: under it a browser sends our own pages' writes with `Origin: null`.
  ['Referrer-Policy', 'strict-origin-when-cross-origin'],
  ['X-Frame-Options', 'DENY'],
];

function secure(headers: Headers): void {
  for (const [name, value] of SECURITY_HEADERS) headers.set(name, value);
  // A page's own policy (the API docs) keeps its rules and gains the frame rule if it lacks one.
  const policy = headers.get('Content-Security-Policy');
  if (!policy) headers.set('Content-Security-Policy', "frame-ancestors 'none'");
  else if (!/frame-ancestors/i.test(policy)) headers.set('Content-Security-Policy', `${policy}; frame-ancestors 'none'`);
}

// First, so it wraps everything after it: errors, 404s, 304s and streams are answered through it.
app.use('*', async (c, next) => {
  await next();
  try {
    secure(c.res.headers);
  } catch {
    // A response from fetch() or a Durable Object (the queue's 101) has immutable headers: send a copy.
    const copy = new Response(c.res.body, c.res);
    secure(copy.headers);
    c.res = copy;
  }
});

app.use(
  '/api/*',
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new ApiError(413, 'payload_too_large', `Request bodies are limited to ${MAX_BODY_BYTES / 1024} KiB.`);
    },
  }),
);
app.use('/api/*', refuseCrossSiteCookieWrites);
app.use('/api/*', loadSession);

app.route('/api/health', healthRoutes);
app.route('/api/auth', authRoutes);
app.route('/api/me', meRoutes);
// Per account and per IP (src/auth/limits.ts), once the session is known.
app.use('/api/events/:eventId/queue', limitQueueRequests);
app.use('/api/events/:eventId/queue/*', limitQueueRequests);
app.route('/api/events/:eventId/queue', queueRoutes);
app.route('/api/events/:eventId/seats', seatRoutes);
app.route('/api/events/:eventId/waitlist', waitlistRoutes);
app.route('/api/events/:eventId', seatmapRoutes);
app.route('/api/events', eventRoutes);
app.route('/api/admin', adminRoutes);
app.use('/api/bookings/*', limitBookingPosts);
app.use('/api/bookings/*', idempotentBookingPosts);
app.route('/api/bookings', bookingRoutes);
app.route('/api/payments', paymentRoutes);
app.route('/api/dev', devRoutes);
app.route('/api', docsRoutes);
// The box office in a browser (src/pages): HTML pages and their hashed assets, outside /api.
app.route('/', pageRoutes);

app.notFound((c) => c.json(new ApiError(404, 'not_found', `No route for ${c.req.method} ${new URL(c.req.url).pathname}.`).toBody(), 404));

// The one place errors become responses: API.md's shape, and never internals.
app.onError((error, c) => {
  if (error instanceof ApiError) {
    for (const [name, value] of Object.entries(error.headers ?? {})) c.header(name, value);
    return c.json(error.toBody(), error.status);
  }
  if (error instanceof HTTPException && error.status < 500) {
    return c.json(new ApiError(error.status as 400, 'validation_failed', 'The request could not be read.').toBody(), error.status);
  }
  console.error(`${c.req.method} ${c.req.path} failed`, error);
  return c.json(new ApiError(500, 'internal', 'Something went wrong on our side. Please try again.').toBody(), 500);
});

export default {
  fetch: app.fetch,
  /** Every minute (wrangler.toml's cron): notifications whose send failed are tried again. */
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(deliverNotificationsSoon(env));
  },
} satisfies ExportedHandler<Bindings>;
