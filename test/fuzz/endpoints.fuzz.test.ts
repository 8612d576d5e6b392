// The endpoint fuzzer: requests derived from GET /api/openapi.json's request schemas (made from
// the routes' own zod schemas), each broken in one way or many (wrong types, missing and extra
// fields, huge and odd text, NaN, negative and fractional numbers, malformed JSON, wrong content
// types, hostile ids: other spellings, other users' bookings, other events' tickets). Every answer
// must be below 500, every refusal API.md's error shape, and nothing may change: the fuzzer's own
// rows in Postgres and its events' TicketLock and WaitingRoom storage are compared before and after
// each endpoint's run, and no Durable Object may exist under an id that names nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createExecutionContext } from 'cloudflare:test';
import { app } from '../../src/worker';
import type { z } from 'zod';
import { errorResponse } from '../../src/openapi/responses';
import { signupBody, loginBody } from '../../src/routes/auth';
import { holdBody, payBody } from '../../src/routes/bookings';
import { waitlistBody } from '../../src/routes/waitlist';
import { createEventBody, patchEventBody, performerBody, refundBody, scanBody, venueBody } from '../../src/routes/admin';
import { signToken } from '../../src/lib/signing';
import { issueSessionTokens, signSessionToken } from '../../src/auth/session';
import { withDb } from '../../src/db/client';
import { users } from '../../src/db/schema';
import { adminToken, api, createEvent, env, signUp, unique } from '../helpers';
import {
  anyJson,
  applyMutation,
  hugeText,
  jsonContentType,
  malformedJson,
  mutation,
  oddNumber,
  oddText,
  validValue,
  wrongContentType,
  type JsonSchema,
} from './arbitraries';
import { existingObjectsNamed, settled, snapshot, type Actors } from './state';

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** The request must be refused (4xx): it is invalid, unauthorized, or names something it may not touch. */
  mustRefuse: boolean;
}

interface Account {
  id: string;
  email: string;
  token: string;
}

interface World {
  admin: Account;
  buyer: Account;
  other: Account;
  eventId: string;
  ticketIds: string[];
  otherEventId: string;
  otherTicketIds: string[];
  queuedEventId: string;
  draftEventId: string;
  /** The buyer's: pending (2 seats) and confirmed (1 seat). */
  pendingBookingId: string;
  confirmedBookingId: string;
  confirmedTicketId: string;
  confirmedCode: string;
  /** The other buyer's pending booking. */
  otherBookingId: string;
  /** Seats held or sold: any request for them is refused. */
  takenTicketIds: string[];
  /** Signed with our key but expired; and claims signed for another purpose in the older unkeyed format. */
  expiredAdminToken: string;
  queuePurposeToken: string;
  /**
   * Customers who own nothing here. Holds, payments and the queue are rate limited per account
   * (src/auth/limits.ts: 60 at once): spread over many accounts, the cases reach the validation
   * behind the limit instead of meeting 429 (which counts as a refusal all the same).
   */
  crowd: string[];
}

let world: World;
let actors: Actors;
let documentSchemas: Record<string, JsonSchema>;
const namesSent = new Set<string>();
const tally = { cases: 0, byStatus: new Map<number, number>(), started: 0 };

const ORIGIN = 'http://box-office.test';
/** A request that gets no answer in this time is a finding of its own (a hang). */
const ANSWER_WITHIN_MS = 15_000;

/** The event id at the start of a booking id (src/domain/booking.ts), for names no object may have. */
function eventIdOfBooking(bookingId: string): string | null {
  if (!/^[0-9a-f]{64}$/.test(bookingId)) return null;
  const hex = bookingId.slice(0, 32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

async function send(request: FuzzRequest): Promise<Response> {
  for (const segment of request.path.split('?')[0]!.split('/')) {
    try {
      namesSent.add(decodeURIComponent(segment));
    } catch {
      namesSent.add(segment);
    }
  }
  // The Worker's own fetch handler with its real bindings and Durable Objects. Not through
  // `exports.default.fetch`: the test pool's wrapper of it gets slower with every call in a file
  // (about 10 ms more per 200 calls, measured), which would make 10 000 cases quadratic.
  return app.fetch(new Request(`${ORIGIN}${request.path}`, { method: request.method, headers: request.headers, body: request.body }), env, createExecutionContext());
}

/** API.md: a refusal is `{ error: { code, message, details? } }` and never shows internals. */
function expectErrorShape(text: string, status: number, context: string) {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${context}: ${status} with a body that is not JSON: ${text.slice(0, 200)}`);
  }
  const parsed = errorResponse.strict().safeParse(body);
  if (!parsed.success) throw new Error(`${context}: ${status} not in the error shape: ${text.slice(0, 300)}`);
  if (/\n\s+at |\(\S*:\d+:\d+\)|node_modules|\.ts:\d|\bselect\b[^;]*\bfrom\b|drizzle|postgres/i.test(parsed.data.error.message)) {
    throw new Error(`${context}: error message shows internals: ${parsed.data.error.message}`);
  }
}

async function check(request: FuzzRequest): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ANSWER_WITHIN_MS} ms`)), ANSWER_WITHIN_MS);
  });
  const response = await Promise.race([send(request), hung]).finally(() => clearTimeout(timer));
  const context = `${request.method} ${request.path.slice(0, 200)} [${JSON.stringify(request.headers).slice(0, 200)}] ${String(request.body).slice(0, 200)}`;
  tally.cases++;
  tally.byStatus.set(response.status, (tally.byStatus.get(response.status) ?? 0) + 1);
  let text = '';
  if (response.headers.get('Content-Type')?.startsWith('text/event-stream')) {
    await response.body?.cancel();
  } else if (response.webSocket) {
    response.webSocket.accept();
    response.webSocket.close(1000, 'fuzz');
  } else {
    text = await response.text();
  }
  if (response.status >= 500) throw new Error(`${context}: ${response.status} ${text.slice(0, 300)}`);
  if (request.mustRefuse && response.status < 400) throw new Error(`${context}: expected a refusal, got ${response.status} ${text.slice(0, 300)}`);
  if (response.status >= 400) expectErrorShape(text, response.status, context);
}

/** Multiplies every group's case count: 0.1 for a quick look while editing; CI runs 1. */
const SCALE = 1;
const BATCH = 4;

/** Runs one endpoint's cases; nothing of the fuzzer's may change while they run. */
async function fuzz(name: string, arbitrary: fc.Arbitrary<FuzzRequest>, numRuns: number): Promise<void> {
  const before = await snapshot(actors);
  const started = performance.now();
  const casesBefore = tally.cases;
  console.log(`fuzz ${name}: start`);
  // Requests go out BATCH at a time, as clients' would: the answers wait on Postgres and Durable
  // Objects, so this is several times faster than one by one, and it also races them.
  const batches = Math.max(1, Math.round((numRuns * SCALE) / BATCH));
  await fc.assert(
    fc.asyncProperty(fc.array(arbitrary, { minLength: BATCH, maxLength: BATCH }), async (requests) => {
      await Promise.all(requests.map(check));
    }),
    { numRuns: batches, endOnFailure: true },
  );
  timings.push(`${name}: ${tally.cases - casesBefore} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  console.log(timings.at(-1));
  expect(await snapshot(actors)).toEqual(before);
}
const timings: string[] = [];

// ---------------------------------------------------------------------------------------------
// Pieces of requests

type Who = 'anonymous' | 'buyer' | 'other' | 'admin' | 'forged' | 'crowd';

let crowdTurn = 0;
function bearer(who: Who, forged: string): Record<string, string> {
  if (who === 'anonymous') return {};
  const token = who === 'forged' ? forged : who === 'crowd' ? world.crowd[crowdTurn++ % world.crowd.length]! : world[who].token;
  return { Authorization: `Bearer ${token}` };
}

const b64 = (text: string) => btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/** Session tokens that are not: unsigned, re-signed claims, altered, expired-looking, junk. */
const forgedToken = fc.oneof(
  fc.constant('').map(() => `${b64(JSON.stringify({ alg: 'none' }))}.${b64(JSON.stringify({ sub: world.admin.id, role: 'admin', exp: 9e9 }))}.`),
  fc.constant('').map(() => `${b64(JSON.stringify({ sub: world.admin.id, role: 'admin', exp: 9e9 }))}.`),
  fc.constant('').map(() => `${b64(JSON.stringify({ sub: world.buyer.id, role: 'admin', exp: 9e9 }))}.${world.buyer.token.split('.')[1]}`),
  // One character of the signature changed: its first, since the last carries unused bits.
  fc.constant('').map(() => {
    const at = world.buyer.token.lastIndexOf('.') + 1;
    return `${world.buyer.token.slice(0, at)}${world.buyer.token[at] === 'A' ? 'B' : 'A'}${world.buyer.token.slice(at + 1)}`;
  }),
  fc.constant('').map(() => `${world.buyer.token}.${world.buyer.token}`),
  fc.constant('').map(() => world.expiredAdminToken),
  fc.constant('').map(() => world.queuePurposeToken),
  oddText.filter((s) => /^[\x21-\x7e]*$/.test(s)),
  hugeText.map((s) => s.replace(/[^\x21-\x7e]/g, 'x')),
);

/** Everything but `allowed` is anonymous or forged: refused with 401/403. */
function caller(allowed: Who[]) {
  return fc.tuple(fc.constantFrom<Who>('anonymous', 'buyer', 'other', 'admin', 'forged', ...allowed, ...allowed, ...allowed), forgedToken).map(([who, forged]) => ({
    who,
    headers: bearer(who, forged),
    refused: !allowed.includes(who),
  }));
}

/** Percent-encoded; a lone surrogate becomes the bytes of one, which are not UTF-8. */
function encode(segment: string): string {
  try {
    return encodeURIComponent(segment);
  } catch {
    return '%ED%A0%80';
  }
}

/** Header values are bytes: keep what a client could send. */
const headerSafe = (text: string) => text.replace(/[^\x20-\x7e\xa0-\xff]/g, '');

/** Other spellings of an id that must name nothing (or, in upper case, the same thing). */
function otherSpellings(id: string): fc.Arbitrary<{ segment: string; sameThing: boolean }> {
  return fc.oneof(
    fc.constant({ segment: id.toUpperCase(), sameThing: true }),
    fc.constantFrom(`{${id}}`, `%7B${id}%7D`, `%20${id}`, `${id}%20`, `${id}%0A`, `%09${id}`, id.replace(/-/g, ''), `${id}x`, id.slice(0, -1), `${id}%00`, `urn:uuid:${id}`, `${id}/`)
      // A booking id has no dashes: dropping them leaves the id itself, which is not another spelling.
      .filter((segment) => segment !== id)
      .map((segment) => ({ segment, sameThing: false })),
  );
}

/** Ids that name nothing here. */
const strangerId = fc.oneof(
  fc.uuid().map((id) => ({ segment: id, sameThing: false })),
  fc.uuid().map((id) => ({ segment: id.toUpperCase(), sameThing: false })),
  oddText.filter((s) => s.length > 0 && s !== '.' && s !== '..').map((s) => ({ segment: encode(s), sameThing: false })),
  hugeText.map((s) => ({ segment: encode(s.slice(0, 3000)), sameThing: false })),
  fc.constantFrom('%2e%2e', '..%2f', '0', '-1', 'null', 'undefined', '%25', '%', '%zz').map((segment) => ({ segment, sameThing: false })),
  fc.stringMatching(/^[0-9a-f]{64}$/).map((segment) => ({ segment, sameThing: false })),
);

function jsonBody(schema: z.ZodType, base: fc.Arbitrary<unknown>, documented: JsonSchema) {
  return fc
    .oneof(
      { weight: 6, arbitrary: fc.tuple(base, mutation(documented), fc.boolean()).map(([valid, first, twice]) => (twice ? applyMutation(applyMutation(valid, first), { kind: 'extra-fields', fields: { extra: 1 } }) : applyMutation(valid, first))).map((value) => ({ text: JSON.stringify(value) })) },
      { weight: 2, arbitrary: malformedJson.map((text) => ({ text })) },
      { weight: 1, arbitrary: fc.integer({ min: 65 * 1024, max: 70 * 1024 }).map((n) => ({ text: JSON.stringify({ padding: 'p'.repeat(n) }) })) },
      { weight: 1, arbitrary: base.map((valid) => ({ text: JSON.stringify(valid) })) },
    )
    .map(({ text }) => {
      let valid = false;
      try {
        valid = schema.safeParse(JSON.parse(text)).success;
      } catch {
        valid = false;
      }
      return { text, valid };
    });
}

function contentType(valid: boolean) {
  // A valid body goes with JSON's content type here; wrong content types carry broken bodies.
  return valid ? jsonContentType : fc.oneof({ weight: 4, arbitrary: jsonContentType }, { weight: 1, arbitrary: wrongContentType });
}

const withContentType = (headers: Record<string, string>, type: string | undefined) => (type === undefined ? headers : { ...headers, 'Content-Type': type });

/** The JSON Schema of an operation's request body in the served document. */
function documentedBody(method: string, path: string): JsonSchema {
  const schema = documentSchemas[`${method} ${path}`];
  if (!schema) throw new Error(`no request body documented for ${method} ${path}`);
  return schema;
}

/** A body from the documented schema, with some fields fixed to valid values of this world. */
function documentedValid(schema: JsonSchema, fixed: Record<string, fc.Arbitrary<unknown>> = {}) {
  return validValue(schema).chain((body) =>
    fc.record(fixed).map((fields) => ({ ...(body as Record<string, unknown>), ...fields })),
  );
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  tally.started = performance.now();
  const document = (await (await api('/api/openapi.json')).json()) as {
    paths: Record<string, Record<string, { requestBody?: { content: { 'application/json': { schema: JsonSchema } } } }>>;
  };
  documentSchemas = {};
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const schema = operation.requestBody?.content['application/json'].schema;
      if (schema) documentSchemas[`${method.toUpperCase()} ${path}`] = schema;
    }
  }

  const adminTokenValue = await adminToken();
  const me = async (token: string) => ((await (await api('/api/me', { token })).json()) as { user: { id: string; email: string } }).user;
  const admin = { ...(await me(adminTokenValue)), token: adminTokenValue };
  const buyerSignup = await signUp('Fuzz Buyer');
  const otherSignup = await signUp('Fuzz Other');
  const buyer = { id: buyerSignup.user.id, email: buyerSignup.user.email, token: buyerSignup.token };
  const other = { id: otherSignup.user.id, email: otherSignup.user.email, token: otherSignup.token };

  const sections = [{ name: 'Floor', rows: 2, seatsPerRow: 6 }];
  const event = await createEvent(admin.token, { sections, prices: { Floor: 2500 } });
  const otherEvent = await createEvent(admin.token, { sections, prices: { Floor: 3000 } });
  const queued = await createEvent(admin.token, {
    sections,
    prices: { Floor: 2500 },
    onSaleAt: new Date(Date.now() - 60_000).toISOString(),
    queue: { enabled: true, admitPerMinute: 60, maxActive: 10 },
  });
  const draft = await createEvent(admin.token, { sections, prices: { Floor: 2500 }, status: 'draft' });
  const ticketsOf = async (eventId: string) => ((await (await api(`/api/events/${eventId}`)).json()) as { tickets: Array<{ id: string }> }).tickets.map((t) => t.id);
  const ticketIds = await ticketsOf(event.eventId);
  const otherTicketIds = await ticketsOf(otherEvent.eventId);

  const hold = async (token: string, ids: string[], paymentMethodId?: string) => {
    const response = await api(`/api/bookings/${event.eventId}`, { method: 'POST', token, json: { ticketIds: ids, ...(paymentMethodId ? { paymentDetails: { paymentMethodId } } : {}) } });
    if (response.status !== 201) throw new Error(`setup hold: ${response.status} ${await response.text()}`);
    return (await response.json()) as { bookingId: string; tickets: Array<{ id: string; code: string | null }> };
  };
  const pending = await hold(buyer.token, ticketIds.slice(0, 2));
  const confirmed = await hold(buyer.token, ticketIds.slice(2, 3), 'pm_card_visa');
  const otherPending = await hold(other.token, ticketIds.slice(3, 4));
  // The waiting room settles whatever its clock had due before the first snapshot, and every
  // TicketLock learns its event from Postgres (a first read does that once, by design).
  await api(`/api/events/${queued.eventId}/queue/fairness`);
  for (const { eventId } of [event, otherEvent, queued, draft]) await api(`/api/events/${eventId}`, { token: admin.token });
  const crowdRows = Array.from({ length: 60 }, (_, i) => ({ email: `${unique(`fuzz-crowd${i}-`)}@example.com`, name: 'Fuzz Crowd', passwordHash: 'unused' }));
  const crowdUsers = await withDb(env, (db) => db.insert(users).values(crowdRows).returning({ id: users.id, role: users.role }));
  const crowd = await issueSessionTokens(env, crowdUsers);

  world = {
    admin,
    buyer,
    other,
    eventId: event.eventId,
    ticketIds,
    otherEventId: otherEvent.eventId,
    otherTicketIds,
    queuedEventId: queued.eventId,
    draftEventId: draft.eventId,
    pendingBookingId: pending.bookingId,
    confirmedBookingId: confirmed.bookingId,
    confirmedTicketId: confirmed.tickets[0]!.id,
    confirmedCode: confirmed.tickets[0]!.code!,
    otherBookingId: otherPending.bookingId,
    takenTicketIds: ticketIds.slice(0, 4),
    // The admin's real session, signed with its key, an hour past its expiry (tokens are <key id>.<payload>.<signature>).
    expiredAdminToken: await signSessionToken(env, {
      sessionId: String((JSON.parse(atob(admin.token.split('.').at(-2)!.replace(/-/g, '+').replace(/_/g, '/'))) as { sid: string }).sid),
      userId: admin.id,
      expiresAt: new Date(Date.now() - 3_600_000),
    }),
    queuePurposeToken: await signToken(env.SESSION_SECRET, 'queue', { sub: admin.id, role: 'admin', exp: Math.floor(Date.now() / 1000) + 3600 }),
    crowd,
  };
  actors = {
    userIds: [admin.id, buyer.id, other.id, ...crowdUsers.map((u) => u.id)],
    eventIds: [event.eventId, otherEvent.eventId, queued.eventId, draft.eventId],
    performerIds: [event.performerId, otherEvent.performerId, queued.performerId, draft.performerId],
    venueIds: [event.venueId, otherEvent.venueId, queued.venueId, draft.venueId],
  };
  await settled(actors);
});

afterAll(() => {
  const seconds = (performance.now() - tally.started) / 1000;
  const statuses = [...tally.byStatus.entries()].sort(([a], [b]) => a - b).map(([status, n]) => `${status}: ${n}`).join(', ');
  console.log(`endpoint fuzzer: ${tally.cases} cases in ${seconds.toFixed(1)} s (${statuses})\n  ${timings.join('\n  ')}`);
});

// Each group runs its cases one after another; CI's machine is shared, so the limit is generous.
describe('endpoint fuzzer', { timeout: 600_000 }, () => {
  it('accounts: signup, login, logout, me', async () => {
    const signup = documentedBody('POST', '/api/auth/signup');
    const login = documentedBody('POST', '/api/auth/login');
    const signupBase = documentedValid(signup, { email: fc.constant('').map(() => world.buyer.email), password: fc.constant('long-enough-password') });
    await fuzz(
      'signup',
      // Only invalid signups: a valid one costs a password hash (and is 409, the email being
      // taken); the authorization matrix signs up for real.
      jsonBody(signupBody, signupBase, signup)
        .filter(({ valid }) => !valid)
        .chain(({ text }) => contentType(false).map((type) => ({ method: 'POST', path: '/api/auth/signup', headers: withContentType({}, type), body: text, mustRefuse: true }))),
      640,
    );
    // Only invalid logins: a well-formed wrong password is a (recorded) failed login.
    await fuzz(
      'login',
      jsonBody(loginBody, documentedValid(login), login)
        .filter(({ valid }) => !valid)
        .chain(({ text }) => contentType(false).map((type) => ({ method: 'POST', path: '/api/auth/login', headers: withContentType({}, type), body: text, mustRefuse: true }))),
      640,
    );
    // Logging out with a real session would end it; the fuzzer logs out the anonymous and the forged.
    await fuzz(
      'logout',
      fc.tuple(caller([]).filter((c) => c.who === 'anonymous' || c.who === 'forged'), fc.option(anyJson)).map(([who, body]) => ({
        method: 'POST',
        path: '/api/auth/logout',
        headers: withContentType(who.headers, 'application/json'),
        body: body === null ? undefined : JSON.stringify(body),
        mustRefuse: false,
      })),
      240,
    );
    await fuzz(
      'me',
      fc.tuple(caller(['buyer', 'other', 'admin']), fc.constantFrom('/api/me', '/api/me/bookings', '/api/me/', '/api/me/bookings/')).map(([who, path]) => ({
        method: 'GET',
        path,
        headers: who.headers,
        mustRefuse: who.refused,
      })),
      120,
    );
  });

  it('catalog: event pages, search, seat stream', async () => {
    await fuzz(
      'event pages and seat stream',
      fc
        .tuple(
          fc.oneof(
            strangerId,
            fc.constant(null).chain(() => otherSpellings(world.eventId)),
            fc.constant(null).map(() => ({ segment: world.draftEventId, sameThing: false })),
          ),
          caller(['anonymous', 'buyer']),
          fc.constantFrom('', '/seats/stream', '/seats/stream?lastEventId=%00', '/seats', '/seats/stream/x'),
          fc.option(fc.oneof(oddText, fc.constant('*'), fc.constant('W/"x"')).map(headerSafe)),
        )
        .map(([id, who, suffix, ifNoneMatch]) => {
          // Drafts are the admins' only; the upper-case spelling is the event itself.
          const visible = id.sameThing || (id.segment === world.draftEventId && who.who === 'admin');
          return {
            method: 'GET',
            path: `/api/events/${id.segment}${suffix}`,
            headers: { ...who.headers, ...(ifNoneMatch !== null ? { 'If-None-Match': ifNoneMatch, 'Last-Event-ID': ifNoneMatch } : {}) },
            mustRefuse: !visible || !['', '/seats/stream', '/seats/stream?lastEventId=%00'].includes(suffix),
          };
        }),
      800,
    );
    const searchValue = fc.oneof(oddText, oddNumber.map(String), hugeText, fc.constantFrom('2027-02-30', '2027-13-01', '1e3', '0x10', '-1', '0', '101', '1001', '2.5', '', ' ', '2027-03-01T25:00:00Z'));
    await fuzz(
      'search',
      fc
        .tuple(
          fc.dictionary(fc.constantFrom('keyword', 'start', 'end', 'page', 'pageSize', 'sort', '__proto__', 'keyword[]', 'page[0]'), searchValue, { minKeys: 1, maxKeys: 4 }),
          fc.boolean(),
        )
        .map(([query, repeat]) => {
          const params = new URLSearchParams(query as Record<string, string>);
          if (repeat) params.append('page', '2');
          return { method: 'GET', path: `/api/events/search?${params}`, headers: {}, mustRefuse: false };
        }),
      200,
    );
  });

  it('waiting room: socket, status, join, fairness', async () => {
    await fuzz(
      'waiting room',
      fc
        .tuple(
          fc.oneof(
            strangerId,
            fc.constant(null).chain(() => otherSpellings(world.queuedEventId)),
            fc.constant(null).map(() => ({ segment: world.draftEventId, sameThing: false })),
          ),
          fc.constantFrom<Who>('anonymous', 'forged', 'buyer', 'other', 'crowd', 'crowd', 'crowd'),
          forgedToken,
          fc.constantFrom('GET /queue', 'GET /queue/status', 'POST /queue/join', 'POST /queue/ticket', 'GET /queue/fairness', 'GET /queue?ticket=x', 'GET /queue?token=x'),
          fc.option(anyJson),
        )
        // Status and join of the real event by a signed-in buyer would change (or keep) a place in line.
        .filter(([id, who, , route]) => !(id.sameThing && (who === 'buyer' || who === 'other' || who === 'crowd') && /status|join|ticket/.test(route)))
        .map(([id, who, forged, route, body]) => {
          const [method, suffix] = route.split(' ') as [string, string];
          return {
            method,
            path: `/api/events/${id.segment}${suffix}`,
            headers: withContentType(bearer(who, forged), method === 'POST' ? 'application/json' : undefined),
            body: method === 'POST' && body !== null ? JSON.stringify(body) : undefined,
            // Without an upgrade the socket is 426 (401 first for the anonymous).
            mustRefuse: !(id.sameThing && suffix === '/queue/fairness'),
          };
        }),
      720,
    );
  });

  it('waiting list: join, leave, mine', async () => {
    const schema = documentedBody('POST', '/api/events/{eventId}/waitlist');
    // The fuzzed events all have places free, so even a valid join is refused (409 tickets_available),
    // and nobody fuzzed is on a list to leave.
    await fuzz(
      'waiting list',
      fc
        .tuple(
          jsonBody(waitlistBody, documentedValid(schema, { quantity: fc.integer({ min: 1, max: 2 }) }), schema),
          fc.oneof(
            { weight: 4, arbitrary: fc.constant(null).map(() => ({ segment: world.eventId, sameThing: true })) },
            { weight: 1, arbitrary: fc.constant(null).map(() => ({ segment: world.draftEventId, sameThing: false })) },
            { weight: 2, arbitrary: strangerId },
            { weight: 2, arbitrary: fc.constant(null).chain(() => otherSpellings(world.eventId)) },
          ),
          caller(['crowd', 'crowd', 'buyer', 'admin']),
          fc.constantFrom('POST', 'POST', 'POST', 'DELETE', 'GET'),
        )
        .chain(([body, id, who, method]) =>
          contentType(body.valid).map((type) => ({
            method,
            path: method === 'GET' ? '/api/me/waitlist' : `/api/events/${id.segment}/waitlist`,
            headers: withContentType(who.headers, method === 'POST' ? type : undefined),
            body: method === 'POST' ? body.text : undefined,
            mustRefuse: method !== 'GET',
          })),
        ),
      600,
    );
  });

  it('bookings: hold', async () => {
    const schema = documentedBody('POST', '/api/bookings/{id}');
    // Valid bodies name tickets this buyer may not take: taken ones, other events', made-up ones.
    const refusedTickets = fc.oneof(
      fc.constant(null).chain(() => fc.subarray(world.takenTicketIds, { minLength: 1, maxLength: 3 })),
      fc.constant(null).chain(() => fc.subarray(world.takenTicketIds, { minLength: 1, maxLength: 2 }).map((ids) => ids.map((id) => id.toUpperCase()))),
      fc.constant(null).chain(() => fc.subarray(world.otherTicketIds, { minLength: 1, maxLength: 3 })),
      fc.uniqueArray(fc.uuid(), { minLength: 1, maxLength: 10 }),
      fc.constant(null).chain(() => fc.tuple(fc.constantFrom(...world.ticketIds.slice(5)), fc.constantFrom(...world.otherTicketIds)).map(([mine, theirs]) => [mine, theirs])),
    );
    const base = documentedValid(schema, { ticketIds: refusedTickets });
    await fuzz(
      'hold',
      fc
        .tuple(
          jsonBody(holdBody, base, schema),
          fc.oneof(
            { weight: 6, arbitrary: fc.constant(null).map(() => ({ segment: world.eventId, sameThing: true })) },
            { weight: 1, arbitrary: fc.constant(null).map(() => ({ segment: world.queuedEventId, sameThing: true })) },
            { weight: 1, arbitrary: fc.constant(null).map(() => ({ segment: world.draftEventId, sameThing: true })) },
            { weight: 2, arbitrary: strangerId },
            { weight: 2, arbitrary: fc.constant(null).chain(() => otherSpellings(world.eventId)) },
          ),
          caller(['crowd', 'crowd', 'crowd', 'buyer', 'admin']),
          fc.option(fc.oneof(fc.constantFrom('', ' ', 'é', 'x'.repeat(256), 'a b'), oddText.map(headerSafe)), { freq: 5 }),
          fc.option(oddText.map(headerSafe), { freq: 4 }),
        )
        .chain(([body, id, who, idempotencyKey, queueToken]) =>
          contentType(body.valid).map((type) => ({
            method: 'POST',
            path: `/api/bookings/${id.segment}`,
            headers: withContentType(
              {
                ...who.headers,
                // Only broken keys: a valid key would keep this answer for a replay (a change by
                // design). The check is of the value as sent: Headers trims spaces and tabs.
                ...(idempotencyKey !== null && !/^[\x21-\x7e]{1,255}$/.test(idempotencyKey.replace(/^[\t ]+|[\t ]+$/g, '')) ? { 'Idempotency-Key': idempotencyKey } : {}),
                ...(queueToken !== null ? { 'X-Queue-Token': queueToken } : {}),
              },
              type,
            ),
            body: body.text,
            mustRefuse: true,
          })),
        ),
      1400,
    );
  });

  it('bookings: pay, read, rotating code, cancel', async () => {
    const schema = documentedBody('POST', '/api/bookings/{bookingId}/pay');
    type BookingRef = { segment: string; owner: 'buyer' | 'other' | null; state: 'pending' | 'confirmed' | null };
    const ref = (segment: () => string, owner: BookingRef['owner'], state: BookingRef['state']) => fc.constant(null).map((): BookingRef => ({ segment: segment(), owner, state }));
    // Ids of bookings: the two buyers' real ones in any case, and ids that name none.
    const nobodys: fc.Arbitrary<BookingRef> = fc.oneof(
      ref(() => `${world.otherEventId.replace(/-/g, '')}${world.pendingBookingId.slice(32)}`, null, null),
      ref(() => `${world.eventId.replace(/-/g, '')}${crypto.randomUUID().replace(/-/g, '')}`, null, null),
      strangerId.map((id): BookingRef => ({ segment: id.segment, owner: null, state: null })),
      fc.constant(null).chain(() => otherSpellings(world.pendingBookingId)).filter((s) => !s.sameThing).map((id): BookingRef => ({ segment: id.segment, owner: null, state: null })),
    );
    const anyBooking: fc.Arbitrary<BookingRef> = fc.oneof(
      nobodys,
      ref(() => world.otherBookingId, 'other', 'pending'),
      ref(() => world.otherBookingId.toUpperCase(), 'other', 'pending'),
      ref(() => world.pendingBookingId, 'buyer', 'pending'),
      ref(() => world.pendingBookingId.toUpperCase(), 'buyer', 'pending'),
      ref(() => world.confirmedBookingId, 'buyer', 'confirmed'),
      ref(() => world.confirmedBookingId.toUpperCase(), 'buyer', 'confirmed'),
    );
    // Paying: broken bodies for one's own pending booking, any body for bookings not one's own.
    await fuzz(
      'pay',
      fc
        .tuple(jsonBody(payBody, documentedValid(schema), schema), anyBooking, fc.constantFrom<Who>('buyer', 'other', 'admin', 'anonymous', 'forged', 'crowd', 'crowd', 'crowd', 'crowd'), forgedToken)
        .filter(([body, booking, who]) => !(body.valid && booking.owner === who && booking.state === 'pending'))
        .chain(([body, booking, who, forged]) =>
          contentType(body.valid).map((type) => ({
            method: 'POST',
            path: `/api/bookings/${booking.segment}/pay`,
            headers: withContentType(bearer(who, forged), type),
            body: body.text,
            mustRefuse: true,
          })),
        ),
      800,
    );
    // Reading: the owner and admins see a booking (in any case of its id), anyone else gets 404.
    // A rotating code is the owner's alone, for a ticket of a confirmed booking.
    await fuzz(
      'read booking',
      fc
        .tuple(
          anyBooking,
          fc.constantFrom<Who>('buyer', 'other', 'admin', 'anonymous', 'forged'),
          forgedToken,
          fc.constantFrom('', '/tickets/TICKET/rotating', '/tickets/OTHER/rotating', '/tickets/UPPER/rotating', '/tickets/%7BTICKET%7D/rotating', '/tickets/TICKET/rotating/x'),
        )
        .map(([booking, who, forged, suffix]) => {
          const path = suffix
            .replace('UPPER', world.confirmedTicketId.toUpperCase())
            .replace('TICKET', world.confirmedTicketId)
            .replace('OTHER', world.otherTicketIds[0]!);
          const readable =
            suffix === ''
              ? booking.owner !== null && (booking.owner === who || who === 'admin')
              : booking.owner === who && booking.state === 'confirmed' && (suffix.includes('/TICKET/') || suffix.includes('/UPPER/')) && !suffix.endsWith('/x');
          return { method: 'GET', path: `/api/bookings/${booking.segment}${path}`, headers: bearer(who, forged), mustRefuse: !readable };
        }),
      800,
    );
    // Cancelling: anything but one's own pending booking (a confirmed one is 409).
    await fuzz(
      'cancel booking',
      fc
        .tuple(anyBooking, fc.constantFrom<Who>('buyer', 'other', 'admin', 'anonymous', 'forged'), forgedToken, fc.option(anyJson))
        .filter(([booking, who]) => !(booking.owner === who && booking.state === 'pending'))
        .map(([booking, who, forged, body]) => ({
          method: 'DELETE',
          path: `/api/bookings/${booking.segment}`,
          headers: withContentType(bearer(who, forged), 'application/json'),
          body: body === null ? undefined : JSON.stringify(body),
          mustRefuse: true,
        })),
      560,
    );
    // An organizer's refund: everything but an admin's valid refund of the confirmed booking (which
    // would refund it) is refused and changes nothing: pending bookings (409), ids naming none
    // (404), broken bodies (400), buyers (403).
    const refund = documentedBody('POST', '/api/admin/bookings/{bookingId}/refund');
    await fuzz(
      'refund booking',
      fc
        .tuple(jsonBody(refundBody, documentedValid(refund), refund), anyBooking, caller(['admin']))
        .filter(([body, booking, who]) => !(body.valid && booking.state === 'confirmed' && !who.refused))
        .chain(([body, booking, who]) =>
          contentType(body.valid).map((type) => ({
            method: 'POST',
            path: `/api/admin/bookings/${booking.segment}/refund`,
            headers: withContentType(who.headers, type),
            body: body.text,
            mustRefuse: true,
          })),
        ),
      480,
    );
  });

  it('payments webhook', async () => {
    const signature = fc.oneof(
      fc.constant(undefined),
      fc.constantFrom('', 't=1,v1=abc', `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}`, 'v1=', 't=,v1=', 't=9999999999,v1=00'),
      oddText.map(headerSafe),
    );
    const event = fc.oneof(
      anyJson.map((value) => JSON.stringify(value)),
      malformedJson,
      fc.constant(null).map(() =>
        JSON.stringify({ id: 'evt_fuzz', type: 'payment_intent.succeeded', data: { object: { id: 'pi_fuzz', metadata: { bookingId: world.otherBookingId } } } }),
      ),
    );
    await fuzz(
      'webhook',
      fc.tuple(signature, event, fc.oneof(jsonContentType, wrongContentType)).map(([sig, body, type]) => ({
        method: 'POST',
        path: '/api/payments/webhook',
        headers: withContentType(sig === undefined ? {} : { 'Stripe-Signature': sig }, type),
        body,
        mustRefuse: true,
      })),
      800,
    );
  });

  it('organizer: performers, venues, events, sales, scan', async () => {
    const creations: Array<[string, z.ZodType, Record<string, fc.Arbitrary<unknown>>]> = [
      ['/api/admin/performers', performerBody, {}],
      ['/api/admin/venues', venueBody, {}],
      // Valid bodies name a performer and venue that do not exist: 400, nothing created.
      ['/api/admin/events', createEventBody, { performerId: fc.uuid(), venueId: fc.uuid() }],
    ];
    for (const [path, zodSchema, fixed] of creations) {
      const schema = documentedBody('POST', path);
      await fuzz(
      `create ${path}`,
        fc
          .tuple(jsonBody(zodSchema, documentedValid(schema, fixed), schema), caller(['admin']))
          // An admin's valid performer or venue would be created: only non-admins send those.
          .filter(([body, who]) => !(body.valid && who.who === 'admin' && path !== '/api/admin/events'))
          .chain(([body, who]) =>
            contentType(body.valid).map((type) => ({ method: 'POST', path, headers: withContentType(who.headers, type), body: body.text, mustRefuse: true })),
          ),
        480,
      );
    }

    const patch = documentedBody('PATCH', '/api/admin/events/{eventId}');
    await fuzz(
      'patch event',
      fc
        .tuple(
          jsonBody(patchEventBody, documentedValid(patch), patch),
          fc.oneof(
            fc.constant(null).map(() => ({ segment: world.eventId, sameThing: true })),
            strangerId,
            fc.constant(null).chain(() => otherSpellings(world.eventId)),
          ),
          caller(['admin']),
        )
        // Only a refused change: a valid one for the real event (in any spelling) would change it.
        .filter(([body, id, who]) => !(body.valid && id.sameThing && who.who === 'admin'))
        .chain(([body, id, who]) =>
          contentType(body.valid).map((type) => ({
            method: 'PATCH',
            path: `/api/admin/events/${id.segment}`,
            headers: withContentType(who.headers, type),
            body: body.text,
            mustRefuse: true,
          })),
        ),
      640,
    );

    await fuzz(
      'sales',
      fc
        .tuple(fc.oneof(strangerId, fc.constant(null).chain(() => otherSpellings(world.eventId))), caller(['admin']))
        .map(([id, who]) => ({ method: 'GET', path: `/api/admin/events/${id.segment}/sales`, headers: who.headers, mustRefuse: who.refused || !id.sameThing })),
      120,
    );

    await fuzz(
      'cancel event',
      fc
        .tuple(fc.oneof(strangerId, fc.constant(null).chain(() => otherSpellings(world.eventId))), caller(['admin']), fc.option(anyJson))
        // An admin's cancel of the real event (in any spelling) would cancel it.
        .filter(([id, who]) => !(id.sameThing && !who.refused))
        .map(([id, who, body]) => ({
          method: 'POST',
          path: `/api/admin/events/${id.segment}/cancel`,
          headers: withContentType(who.headers, 'application/json'),
          body: body === null ? undefined : JSON.stringify(body),
          mustRefuse: true,
        })),
      240,
    );

    const schema = documentedBody('POST', '/api/admin/scan');
    // Codes that are not valid codes: altered, truncated, another case, junk. Never admitted.
    const alteredCode = fc.constant(null).chain(() =>
      fc.oneof(
        fc.integer({ min: 1, max: world.confirmedCode.length - 2 }).map((i) => {
          const code = world.confirmedCode;
          return `${code.slice(0, i)}${code[i] === 'A' ? 'B' : 'A'}${code.slice(i + 1)}`;
        }),
        fc.integer({ min: 1, max: world.confirmedCode.length - 1 }).map((n) => world.confirmedCode.slice(0, n)),
        fc.constant(world.confirmedCode.toUpperCase()),
        fc.constant(`${world.confirmedCode}.00000000`),
        fc.constant(`${world.confirmedCode}.${'9'.repeat(8)}x`),
      ),
    );
    await fuzz(
      'scan',
      fc
        .tuple(jsonBody(scanBody, documentedValid(schema, { code: fc.oneof(alteredCode, oddText, hugeText) }), schema), caller(['admin']))
        .chain(([body, who]) =>
          contentType(body.valid).map((type) => ({
            method: 'POST',
            path: '/api/admin/scan',
            headers: withContentType(who.headers, type),
            body: body.text,
            mustRefuse: who.refused || !body.valid,
          })),
        ),
      640,
    );
  });

  it('unknown routes and methods under /api', async () => {
    await fuzz(
      'unknown routes',
      fc
        .tuple(
          fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
          fc.oneof(
            fc.array(oddText.map(encode), { minLength: 1, maxLength: 4 }).map((parts) => `/api/${parts.join('/')}`),
            fc.constantFrom('/api/health/x', '/api/me/bookings/x', '/api/admin', '/api/bookings', '/api/events/search/x', '/api/auth', '/api/payments/webhook/x', '/api/openapi.json/x'),
            fc.constant(null).map(() => `/api/events/${world.eventId}/nothing`),
          ),
          caller(['admin']),
        )
        .filter(([, path]) => !/^\/api\/(health|docs|openapi\.json|me|events\/search)\/?$/.test(path))
        .map(([method, path, who]) => ({ method, path, headers: who.headers, mustRefuse: true })),
      560,
    );
    // Methods a real route does not take.
    await fuzz(
      'unsupported methods',
      fc
        .tuple(
          fc.constantFrom(
            'PUT /api/bookings/BOOKING',
            'PATCH /api/bookings/BOOKING',
            'DELETE /api/events/EVENT',
            'POST /api/events/EVENT',
            'DELETE /api/admin/events/EVENT',
            'PUT /api/me',
            'GET /api/auth/login',
            'GET /api/payments/webhook',
            'DELETE /api/health',
          ),
          caller(['admin', 'buyer']),
        )
        .map(([route, who]) => {
          const [method, path] = route.replace('BOOKING', world.pendingBookingId).replace('EVENT', world.eventId).split(' ') as [string, string];
          return { method, path, headers: who.headers, mustRefuse: true };
        }),
      240,
    );
  });

  it('leaves no Durable Object under an id that names nothing, or under another spelling of a real one', async () => {
    const real = new Set(actors.eventIds);
    const candidates = new Set<string>();
    for (const name of namesSent) {
      if (real.has(name)) continue;
      candidates.add(name);
      const eventOfBooking = eventIdOfBooking(name.toLowerCase());
      if (eventOfBooking && !real.has(eventOfBooking)) candidates.add(eventOfBooking);
    }
    expect(candidates.size).toBeGreaterThan(20);
    expect(await existingObjectsNamed(candidates)).toEqual([]);
    expect(tally.cases).toBeGreaterThanOrEqual(10_000 * SCALE);
  });
});

