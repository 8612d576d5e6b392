// Who may do what: every endpoint the app registers, asked by the anonymous, the customer whose
// things they are, another customer and an admin, and with tokens that must count for nothing
// (unsigned, re-signed with another's signature, expired). Each cell's status is the table's; every
// 2xx JSON answer is parsed with the response schema GET /api/openapi.json documents for it.
import { beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import type { z } from 'zod';
import { app } from '../../src/worker';
import { operations } from '../../src/openapi/document';
import { withDb } from '../../src/db/client';
import { users } from '../../src/db/schema';
import { hashPassword } from '../../src/auth/passwords';
import { signSessionToken } from '../../src/auth/session';
import { api, createEvent, env, unique } from '../helpers';

type Actor = 'anonymous' | 'customer' | 'other' | 'admin';
const ACTORS: Actor[] = ['anonymous', 'customer', 'other', 'admin'];

/** Tokens that must be taken for no one: each column expects what the anonymous get. */
type BadToken = 'alg-none' | 'wrong-signature' | 'expired' | 'revoked' | 'deleted-user';
const BAD_TOKENS: BadToken[] = ['alg-none', 'wrong-signature', 'expired', 'revoked', 'deleted-user'];

interface Account {
  id: string;
  email: string;
  password: string;
  token: string;
}

interface Cell {
  path: string;
  body?: unknown;
  /** Gives back what the cell was given and did not use up (a hold counts against the ticket limit). */
  after?: () => Promise<void>;
}

interface Row {
  /** The operation as the document names it: "GET /api/bookings/{id}". */
  operation: string;
  /** What to ask, made fresh for each cell (a cell may use up what it is given). */
  cell: (actor: Actor | BadToken) => Promise<Cell> | Cell;
  expect: Record<Actor, number>;
  /** Each cell signs the actor in anew: the request ends the session it carries. */
  ownSession?: boolean;
}

const PASSWORD = 'matrix-password-123';
const all = (status: number): Record<Actor, number> => ({ anonymous: status, customer: status, other: status, admin: status });
const signedIn = (status: number): Record<Actor, number> => ({ anonymous: 401, customer: status, other: status, admin: status });
const adminOnly = (status: number): Record<Actor, number> => ({ anonymous: 401, customer: 403, other: 403, admin: status });
const ownerOrAdmin = (status: number): Record<Actor, number> => ({ anonymous: 401, customer: status, other: 404, admin: status });
const ownerOnly = (status: number): Record<Actor, number> => ({ anonymous: 401, customer: status, other: 404, admin: 404 });

let accounts: Record<Exclude<Actor, 'anonymous'>, Account>;
let badTokens: Record<BadToken, string>;
let rows: Row[];

const b64 = (text: string) => btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
/** A session token is `<key id>.<payload>.<signature>`: the claims are the payload. */
const claimsOf = (token: string) => JSON.parse(atob(token.split('.').at(-2)!.replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>;
const withSignatureOf = (token: string, signer: string) => [...token.split('.').slice(0, -1), signer.split('.').at(-1)].join('.');

async function login(email: string, password: string): Promise<string> {
  const response = await api('/api/auth/login', { method: 'POST', json: { email, password } });
  if (response.status !== 200) throw new Error(`login failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

async function account(role: 'customer' | 'admin'): Promise<Account> {
  const email = `${unique(`matrix-${role}`)}@example.com`;
  const [user] = await withDb(env, async (db) => db.insert(users).values({ email, name: `Matrix ${role}`, passwordHash: await hashPassword(PASSWORD), role }).returning({ id: users.id }));
  return { id: user!.id, email, password: PASSWORD, token: await login(email, PASSWORD) };
}

async function tokenFor(who: Actor | BadToken, ownSession: boolean): Promise<string | undefined> {
  if (who === 'anonymous') return undefined;
  if (who in badTokens) return badTokens[who as BadToken];
  const holder = accounts[who as Exclude<Actor, 'anonymous'>];
  return ownSession ? login(holder.email, holder.password) : holder.token;
}

/** A session of the customer's that was logged out. */
async function revokedToken(): Promise<string> {
  const token = await login(accounts.customer.email, accounts.customer.password);
  const response = await api('/api/auth/logout', { method: 'POST', token });
  if (response.status !== 204) throw new Error(`logout failed: ${response.status}`);
  return token;
}

/** The session of an account that was deleted since. */
async function deletedUsersToken(): Promise<string> {
  const gone = await account('customer');
  await withDb(env, (db) => db.delete(users).where(eq(users.id, gone.id)));
  return gone.token;
}

/** The documented schema of a 2xx JSON answer, if the document gives one. */
function documentedAnswer(operation: string, status: number): z.ZodType | undefined {
  const [method, path] = operation.split(' ') as [string, string];
  const op = operations.find((o) => o.method === method.toLowerCase() && o.path === path);
  if (!op) throw new Error(`the document has no ${operation}`);
  const answer = op.answers[status];
  return typeof answer === 'object' ? answer.schema : undefined;
}

async function ask(row: Row, who: Actor | BadToken): Promise<{ path: string; status: number; problem?: string }> {
  const cell = await row.cell(who);
  try {
    return { path: cell.path, ...(await answer(row, who, cell)) };
  } finally {
    await cell.after?.();
  }
}

async function answer(row: Row, who: Actor | BadToken, { path, body }: Cell): Promise<{ status: number; problem?: string }> {
  const [method] = row.operation.split(' ') as [string];
  const token = await tokenFor(who, row.ownSession ?? false);
  const response = await api(path, { method, token, ...(body !== undefined ? { json: body } : {}) });
  const type = response.headers.get('Content-Type') ?? '';
  if (type.startsWith('text/event-stream')) {
    await response.body?.cancel();
    return { status: response.status };
  }
  const text = await response.text();
  if (response.status >= 400) {
    const error = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (typeof error.error?.code !== 'string' || typeof error.error.message !== 'string') return { status: response.status, problem: `not the error shape: ${text.slice(0, 200)}` };
  } else if (type.startsWith('application/json')) {
    const schema = documentedAnswer(row.operation, response.status);
    const parsed = schema?.safeParse(JSON.parse(text));
    if (parsed && !parsed.success) return { status: response.status, problem: `answer does not match the document: ${parsed.error.message.slice(0, 300)}` };
  }
  return { status: response.status };
}

const shape = (path: string) => path.replace(/:[A-Za-z0-9_]+(\{[^}]*\})?/g, '{}').replace(/\{[A-Za-z0-9_]+\}/g, '{}');

beforeAll(async () => {
  accounts = { customer: await account('customer'), other: await account('customer'), admin: await account('admin') };
  const customerClaims = claimsOf(accounts.customer.token);
  const now = Math.floor(Date.now() / 1000);
  badTokens = {
    'alg-none': `${b64(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64(JSON.stringify({ ...claimsOf(accounts.admin.token), role: 'admin' }))}.`,
    // The admin's claims under the customer's signature.
    'wrong-signature': withSignatureOf(accounts.admin.token, accounts.customer.token),
    // Properly signed, an hour past its expiry.
    expired: await signSessionToken(env, { sessionId: String(customerClaims.sid), userId: String(customerClaims.sub), expiresAt: new Date((now - 3600) * 1000) }),
    revoked: await revokedToken(),
    'deleted-user': await deletedUsersToken(),
  };

  const admin = accounts.admin.token;
  const sections = [{ name: 'Floor', rows: 4, seatsPerRow: 20 }];
  const event = await createEvent(admin, { sections, prices: { Floor: 1500 } });
  const draft = await createEvent(admin, { sections: [{ name: 'Floor', rows: 1, seatsPerRow: 2 }], prices: { Floor: 1500 }, status: 'draft' });
  const queued = await createEvent(admin, {
    sections: [{ name: 'Floor', rows: 1, seatsPerRow: 10 }],
    prices: { Floor: 1500 },
    onSaleAt: new Date(Date.now() - 60_000).toISOString(),
    queue: { enabled: true, admitPerMinute: 60, maxActive: 100 },
  });
  const tickets = ((await (await api(`/api/events/${event.eventId}`)).json()) as { tickets: Array<{ id: string }> }).tickets.map((t) => t.id);
  let nextSeat = 0;
  const freeTicket = () => {
    const ticket = tickets[nextSeat++];
    if (!ticket) throw new Error('the matrix event ran out of seats');
    return ticket;
  };
  const hold = async (paymentMethodId?: string) => {
    const response = await api(`/api/bookings/${event.eventId}`, {
      method: 'POST',
      token: accounts.customer.token,
      json: { ticketIds: [freeTicket()], ...(paymentMethodId ? { paymentDetails: { paymentMethodId } } : {}) },
    });
    if (response.status !== 201) throw new Error(`hold failed: ${response.status} ${await response.text()}`);
    return (await response.json()) as { bookingId: string; ticketIds: string[] };
  };
  /** The customer's hold, if still pending, goes (MAX_TICKETS_PER_USER would stop the next cells). */
  const release = async (bookingId: string) => {
    const response = await api(`/api/bookings/${bookingId}`, { method: 'DELETE', token: accounts.customer.token });
    if (response.status !== 204 && response.status !== 409) throw new Error(`release failed: ${response.status}`);
  };
  // An event whose one seat someone else holds: nothing fits, so anyone signed in may join its waiting list.
  const soldOut = await createEvent(admin, { sections: [{ name: 'Floor', rows: 1, seatsPerRow: 1 }], prices: { Floor: 1500 } });
  const seatHolder = await account('customer');
  const held = await api(`/api/bookings/${soldOut.eventId}`, { method: 'POST', token: seatHolder.token, json: { seats: [0] } });
  if (held.status !== 201) throw new Error(`hold of the sold-out event failed: ${held.status}`);
  const waitlistPath = `/api/events/${soldOut.eventId}/waitlist`;
  const confirmed = await hold('pm_card_visa');
  // Moved by the owner's cell; every other caller is refused before it moves (401, or 404 as for GET).
  const transferable = await hold('pm_card_visa');
  const pending = await hold();
  // Refunded by the admin's cell (anyone else is refused before it changes); an event the admin's cell cancels.
  const refundable = await hold('pm_card_visa');
  const toCancel = await createEvent(admin, { sections: [{ name: 'Floor', rows: 1, seatsPerRow: 2 }], prices: { Floor: 1000 } });

  const performerAndVenue = { performerId: event.performerId, venueId: event.venueId };
  rows = [
    { operation: 'GET /api/health', cell: () => ({ path: '/api/health' }), expect: all(200) },
    { operation: 'GET /api/openapi.json', cell: () => ({ path: '/api/openapi.json' }), expect: all(200) },
    { operation: 'GET /api/docs', cell: () => ({ path: '/api/docs' }), expect: all(200) },
    { operation: 'GET /api/docs/{asset}', cell: () => ({ path: '/api/docs/init.js' }), expect: all(200) },
    {
      operation: 'POST /api/auth/signup',
      cell: () => ({ path: '/api/auth/signup', body: { email: `${unique('matrix-new')}@example.com`, password: PASSWORD, name: 'New' } }),
      expect: all(201),
    },
    { operation: 'POST /api/auth/login', cell: () => ({ path: '/api/auth/login', body: { email: accounts.customer.email, password: PASSWORD } }), expect: all(200) },
    { operation: 'POST /api/auth/logout', cell: () => ({ path: '/api/auth/logout' }), expect: all(204), ownSession: true },
    { operation: 'GET /api/me', cell: () => ({ path: '/api/me' }), expect: signedIn(200) },
    { operation: 'GET /api/me/bookings', cell: () => ({ path: '/api/me/bookings' }), expect: signedIn(200) },
    { operation: 'GET /api/events/search', cell: () => ({ path: '/api/events/search?keyword=matrix' }), expect: all(200) },
    { operation: 'GET /api/events/{eventId}', cell: () => ({ path: `/api/events/${event.eventId}` }), expect: all(200) },
    { operation: 'GET /api/events/{eventId}', cell: () => ({ path: `/api/events/${draft.eventId}` }), expect: { anonymous: 404, customer: 404, other: 404, admin: 200 } },
    { operation: 'GET /api/events/{eventId}/seatmap', cell: () => ({ path: `/api/events/${event.eventId}/seatmap` }), expect: all(200) },
    { operation: 'GET /api/events/{eventId}/seatmap', cell: () => ({ path: `/api/events/${draft.eventId}/seatmap` }), expect: { anonymous: 404, customer: 404, other: 404, admin: 200 } },
    { operation: 'GET /api/events/{eventId}/availability', cell: () => ({ path: `/api/events/${event.eventId}/availability` }), expect: all(200) },
    { operation: 'GET /api/events/{eventId}/availability', cell: () => ({ path: `/api/events/${draft.eventId}/availability` }), expect: { anonymous: 404, customer: 404, other: 404, admin: 200 } },
    { operation: 'GET /api/events/{eventId}/seats/stream', cell: () => ({ path: `/api/events/${event.eventId}/seats/stream` }), expect: all(200) },
    { operation: 'GET /api/events/{eventId}/seats/stream', cell: () => ({ path: `/api/events/${draft.eventId}/seats/stream` }), expect: { anonymous: 404, customer: 404, other: 404, admin: 200 } },
    // Without an upgrade: 426 for whoever may connect.
    { operation: 'GET /api/events/{eventId}/queue', cell: () => ({ path: `/api/events/${queued.eventId}/queue` }), expect: signedIn(426) },
    { operation: 'POST /api/events/{eventId}/queue/ticket', cell: () => ({ path: `/api/events/${queued.eventId}/queue/ticket` }), expect: signedIn(200) },
    { operation: 'POST /api/events/{eventId}/queue/join', cell: () => ({ path: `/api/events/${queued.eventId}/queue/join` }), expect: signedIn(200) },
    { operation: 'GET /api/events/{eventId}/queue/status', cell: () => ({ path: `/api/events/${queued.eventId}/queue/status` }), expect: signedIn(200) },
    { operation: 'GET /api/events/{eventId}/queue/fairness', cell: () => ({ path: `/api/events/${queued.eventId}/queue/fairness` }), expect: all(200) },
    { operation: 'POST /api/events/{eventId}/waitlist', cell: () => ({ path: waitlistPath, body: { quantity: 1 } }), expect: signedIn(201) },
    {
      operation: 'DELETE /api/events/{eventId}/waitlist',
      cell: async (who) => {
        // Whoever can sign in is on the list first (a second join keeps the entry).
        const token = await tokenFor(who, false);
        if (token) await api(waitlistPath, { method: 'POST', token, json: { quantity: 1 } });
        return { path: waitlistPath };
      },
      expect: signedIn(204),
    },
    { operation: 'GET /api/me/waitlist', cell: () => ({ path: '/api/me/waitlist' }), expect: signedIn(200) },
    { operation: 'POST /api/bookings/{id}', cell: () => ({ path: `/api/bookings/${event.eventId}`, body: { ticketIds: [freeTicket()] } }), expect: signedIn(201) },
    { operation: 'GET /api/bookings/{id}', cell: () => ({ path: `/api/bookings/${pending.bookingId}` }), expect: ownerOrAdmin(200) },
    {
      operation: 'POST /api/bookings/{bookingId}/pay',
      cell: async () => {
        const { bookingId } = await hold();
        return { path: `/api/bookings/${bookingId}/pay`, body: { paymentDetails: { paymentMethodId: 'pm_card_visa' } }, after: () => release(bookingId) };
      },
      expect: ownerOnly(200),
    },
    {
      operation: 'GET /api/bookings/{bookingId}/tickets/{ticketId}/rotating',
      cell: () => ({ path: `/api/bookings/${confirmed.bookingId}/tickets/${confirmed.ticketIds[0]}/rotating` }),
      expect: ownerOnly(200),
    },
    {
      operation: 'POST /api/bookings/{bookingId}/transfer',
      cell: () => ({ path: `/api/bookings/${transferable.bookingId}/transfer`, body: { email: accounts.other.email } }),
      expect: ownerOnly(200),
    },
    {
      operation: 'DELETE /api/bookings/{id}',
      cell: async () => {
        const { bookingId } = await hold();
        return { path: `/api/bookings/${bookingId}`, after: () => release(bookingId) };
      },
      expect: ownerOnly(204),
    },
    { operation: 'POST /api/payments/webhook', cell: () => ({ path: '/api/payments/webhook', body: { id: 'evt_1', type: 'payment_intent.succeeded' } }), expect: all(400) },
    { operation: 'POST /api/admin/performers', cell: () => ({ path: '/api/admin/performers', body: { name: unique('Matrix Band ') } }), expect: adminOnly(201) },
    {
      operation: 'POST /api/admin/venues',
      cell: () => ({ path: '/api/admin/venues', body: { name: unique('Matrix Hall '), city: 'Springfield', sections: [{ name: 'Floor', rows: 1, seatsPerRow: 2 }] } }),
      expect: adminOnly(201),
    },
    {
      operation: 'POST /api/admin/events',
      cell: () => ({
        path: '/api/admin/events',
        body: { name: unique('Matrix Night '), ...performerAndVenue, startsAt: new Date(Date.now() + 86_400_000).toISOString(), status: 'draft', prices: { Floor: 1000 } },
      }),
      expect: adminOnly(201),
    },
    { operation: 'PATCH /api/admin/events/{eventId}', cell: () => ({ path: `/api/admin/events/${draft.eventId}`, body: { description: unique('edited ') } }), expect: adminOnly(200) },
    { operation: 'GET /api/admin/events/{eventId}/sales', cell: () => ({ path: `/api/admin/events/${event.eventId}/sales` }), expect: adminOnly(200) },
    { operation: 'POST /api/admin/events/{eventId}/cancel', cell: () => ({ path: `/api/admin/events/${toCancel.eventId}/cancel` }), expect: adminOnly(200) },
    { operation: 'POST /api/admin/bookings/{bookingId}/refund', cell: () => ({ path: `/api/admin/bookings/${refundable.bookingId}/refund`, body: {} }), expect: adminOnly(200) },
    { operation: 'GET /api/dev/outbox', cell: () => ({ path: '/api/dev/outbox?limit=1' }), expect: adminOnly(200) },
    { operation: 'POST /api/admin/scan', cell: () => ({ path: '/api/admin/scan', body: { code: 'not-a-ticket-code' } }), expect: adminOnly(200) },
  ];
});

// Some 300 requests one after another (a cell's fixture may use up a hold), on a shared machine.
describe('authorization matrix', { timeout: 300_000 }, () => {
  it('has a row for every API route the app registers', () => {
    // The web pages outside /api are public HTML; test/pages covers them.
    const registered = new Set(app.routes.filter((route) => route.method !== 'ALL' && route.path.startsWith('/api/')).map((route) => `${route.method} ${shape(route.path)}`));
    const covered = new Set(rows.map((row) => shape(row.operation)));
    expect([...registered].filter((route) => !covered.has(route)).sort()).toEqual([]);
  });

  it('answers every endpoint × caller with the status the table gives, and the documented shape', async () => {
    const mismatches: string[] = [];
    let cells = 0;
    for (const row of rows) {
      for (const who of [...ACTORS, ...BAD_TOKENS]) {
        const expected = row.expect[(ACTORS as string[]).includes(who) ? (who as Actor) : 'anonymous'];
        const { path, status, problem } = await ask(row, who);
        cells++;
        if (status !== expected || problem) mismatches.push(`${row.operation} (${path.slice(0, 60)}) as ${who}: ${status}, expected ${expected}${problem ? `; ${problem}` : ''}`);
      }
    }
    expect(cells).toBe(rows.length * (ACTORS.length + BAD_TOKENS.length));
    expect(mismatches).toEqual([]);
  });
});
