import { Hono, type Context } from 'hono';
import { setCookie } from 'hono/cookie';
import type { AppEnv } from '../env';
import { ApiError, unauthenticated } from '../errors';
import { requireUser, sessionUserOf } from '../auth/session';
import { SessionCheckUnavailable } from '../auth/session-check';
import { issueSocketTicket, redeemSocketTicket } from '../auth/socket-tickets';
import type { EventHeader } from '../db/catalog';
import { visibleEventHeader } from './events';
import { parseId } from '../validation';
import { queueSettingsOf } from '../queue/settings';
import { admissionCookieName } from '../queue/admission';
import type { QueueView } from '../durable/WaitingRoom';

/** The event the waiting room belongs to; drafts exist for organizers only. */
async function queuedEvent(c: Context<AppEnv>): Promise<{ eventId: string; header: EventHeader }> {
  const eventId = parseId(c.req.param('eventId'), 'event');
  return { eventId, header: await visibleEventHeader(c, eventId) };
}


/** API.md's status shape: every field present, null where it does not apply. */
function statusJson(view: QueueView) {
  const blank = { position: null, ahead: null, etaSeconds: null, token: null, expiresAt: null };
  switch (view.state) {
    case 'lobby':
      return { ...blank, state: 'waiting' as const, lobby: true, onSaleAt: view.onSaleAt, seedHash: view.seedHash };
    case 'waiting':
      return { ...blank, state: view.state, position: view.position, ahead: view.ahead, etaSeconds: view.etaSeconds };
    case 'admitted':
      return { ...blank, state: view.state, token: view.token, expiresAt: view.expiresAt };
    case 'closed':
      return { ...blank, state: view.state, opensAt: view.opensAt };
    default:
      return { ...blank, state: view.state };
  }
}

/**
 * `POST …/join` and `GET …/status`, the fallback for clients without WebSockets: both answer in
 * the status shape, and an admission also sets the queue cookie. Only the POST takes a place:
 * a GET changes no state (API.md), so no link or prefetch can put anyone in line.
 */
async function placeInLine(c: Context<AppEnv>, joining: boolean) {
  const user = requireUser(c);
  const { eventId, header } = await queuedEvent(c);
  const room = c.env.WAITING_ROOM.getByName(eventId);
  const settings = queueSettingsOf(header.event, header.version);
  const view = joining ? await room.join(user.id, settings) : await room.status(user.id, settings);
  c.header('Cache-Control', 'no-store');
  if (view.state === 'admitted') {
    // What the queue page would set: bookings accept it in place of X-Queue-Token.
    const maxAge = Math.max(1, Math.floor((Date.parse(view.expiresAt) - Date.now()) / 1000));
    setCookie(c, admissionCookieName(eventId), view.token, { httpOnly: true, secure: true, sameSite: 'Lax', path: '/api/bookings', maxAge });
  }
  return c.json(statusJson(view));
}

/** The user of a session token given as ?token=; 503 when nobody can say whether the session stands. */
async function userOfUrlToken(c: Context<AppEnv>, token: string) {
  try {
    return await sessionUserOf(c.env, token);
  } catch (error) {
    if (error instanceof SessionCheckUnavailable) throw new ApiError(503, 'unavailable', 'Sign-in cannot be checked just now: try again shortly.', undefined, { 'Retry-After': '5' });
    throw error;
  }
}

export const queueRoutes = new Hono<AppEnv>()
  .get('/', async (c) => {
    // Browsers cannot set headers on a WebSocket: the session comes as the cookie, or as a
    // one-time ?ticket= from POST …/queue/ticket (src/auth/socket-tickets.ts, what our pages use).
    // API.md's ?token= (the session token itself) is taken too, for clients built on the contract;
    // a URL can end up in logs, which is why the pages never put the session there.
    const ticket = c.req.query('ticket');
    const urlToken = c.req.query('token');
    if (!ticket && !urlToken) requireUser(c);
    if (c.req.header('Upgrade')?.toLowerCase() !== 'websocket') {
      throw new ApiError(426, 'upgrade_required', 'This is the waiting room\'s WebSocket: connect with a WebSocket client (or POST …/queue/join, then poll …/queue/status).', undefined, { Upgrade: 'websocket' });
    }
    const { eventId, header } = await queuedEvent(c);
    const user = c.get('user') ?? (ticket ? await redeemSocketTicket(c.env, ticket, eventId) : urlToken ? await userOfUrlToken(c, urlToken) : null);
    if (!user) throw unauthenticated();
    // The room keeps whichever copy of the settings is newer: the catalog's comes along.
    const url = new URL('https://waiting-room.internal/connect');
    url.searchParams.set('userId', user.id);
    url.searchParams.set('settings', JSON.stringify(queueSettingsOf(header.event, header.version)));
    return c.env.WAITING_ROOM.getByName(eventId).fetch(new Request(url, { headers: { Upgrade: 'websocket' } }));
  })
  .post('/ticket', async (c) => {
    const user = requireUser(c);
    const { eventId } = await queuedEvent(c);
    c.header('Cache-Control', 'no-store');
    return c.json(await issueSocketTicket(c.env, user, eventId));
  })
  .post('/join', (c) => placeInLine(c, true))
  .get('/status', (c) => placeInLine(c, false))
  .get('/fairness', async (c) => {
    const { eventId, header } = await queuedEvent(c);
    const fairness = await c.env.WAITING_ROOM.getByName(eventId).fairness(queueSettingsOf(header.event, header.version));
    c.header('Cache-Control', 'no-store');
    return c.json({
      ...fairness,
      recipe:
        'participantId = first 24 hex digits of sha256("<eventId>:<userId>"); the draw orders the participants by sha256("<seed>:<participantId>") as hex, ascending; seedHash = sha256(seed), all hex of UTF-8 text.',
    });
  });
