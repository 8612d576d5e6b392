// The on-sale, end to end: an 80,000-seat event (40 sections × 40 rows × 50 seats, section 1 the
// dearest) with its waiting room on, and --buyers simulated buyers (20,000) on the Workers runtime
// (Miniflare over workerd, scripts/lib/local-runtime.ts) against a fresh database.
//
// Most buyers (100 − --late-percent %) join the lobby before the sale (POST …/queue/join, or the
// WebSocket for --sockets of them); then onSaleAt is moved to now (admin PATCH) and the room draws
// their order. The others arrive during the sale in waves of --late-wave joins (8), one wave after
// another, so the order between waves is known. Each
// polls GET …/queue/status with a backoff that follows its ETA (at least every 45 s, so no place
// lapses; never more than once a second, the per-account queue limit), or hears "admitted" on its
// socket; then takes 1–4 seats, preferring the dearest sections, from GET …/availability (2-bit
// statuses), retrying on 409 with other seats, and pays (pm_card_visa) with probability 0.9, else
// cancels or lets the hold expire (HOLD_TTL_SECONDS is short here, so those seats come back).
// A 429 is waited out (Retry-After) and counted. At most --concurrency requests are in flight.
//
// It reports the time to sell out (or that the buyers' demand, about 2.25 seats each, ran out
// first), the admissions per minute against the configured rate (from the admission tokens, whose
// expiry is the tick's clock plus tokenMinutes: exact, not when a poll noticed), FIFO violations
// (admission order against the published draw, then the join order of later arrivals), oversold
// seats counted in Postgres, and 5xx answers. --quick (2,000 seats, 2,000 buyers) asserts the
// correctness figures only and exits non-zero when one fails.
//
// Usage: npm run bench:onsale -- [--quick] [--buyers 20000] [--admit-per-minute 3000] [--sockets 3000]
//        [--late-percent 25] [--late-wave 8] [--concurrency 48] [--hold-ttl 45] [--max-active <buyers>] [--sections 40] [--rows 40]
import { createHash } from 'node:crypto';
import pg from 'pg';
import WebSocket from 'ws';
import { LOCAL_ADMIN, call, startLocalRuntime, type LocalRuntime } from '../scripts/lib/local-runtime';
import { option } from './lib/options';
import { closeOnSignal } from './lib/signals';
import { median, quick, recordResult, type Figure } from './lib/results';

const QUICK = quick();
const SECTIONS = option('sections', QUICK ? 2 : 40);
const ROWS = option('rows', QUICK ? 20 : 40);
const SEATS_PER_ROW = option('seats-per-row', 50);
const BUYERS = option('buyers', QUICK ? 2000 : 20_000);
const ADMIT_PER_MINUTE = option('admit-per-minute', QUICK ? 2400 : 3000);
const SOCKETS = Math.min(BUYERS, option('sockets', QUICK ? 200 : 3000));
const LATE_PERCENT = option('late-percent', 25);
/** Late arrivals join this many at a time (their order within a wave is the server's to choose). */
const LATE_WAVE = option('late-wave', 8);
// Every request the Worker serves with Postgres opens a connection of its own through the local
// Neon proxy (no pooler, unlike Neon's): more in flight than the server's max_connections (100 by
// default, shared with anything else running) would fail for want of connections, not of capacity.
const CONCURRENCY = option('concurrency', 48);
const HOLD_TTL = option('hold-ttl', QUICK ? 15 : 45);
// Minutes an admission lasts: a shopper who holds and walks away counts as active (an admission
// fewer for the line) until it runs out.
const TOKEN_MINUTES = QUICK ? 1 : 2;
// As many as there are buyers: the configured rate, not maxActive, is what paces admissions here.
const MAX_ACTIVE = option('max-active', BUYERS);
const SEATS = SECTIONS * ROWS * SEATS_PER_ROW;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const random = (n: number) => Math.floor(Math.random() * n);

// ---- HTTP with a bound on requests in flight, counting every answer by status ----

const counts = { requests: 0, fiveHundreds: 0, tooMany: 0, networkErrors: 0, byStatus: new Map<number, number>() };
const fiveHundredSamples: string[] = [];
let inFlight = 0;
let pollsInFlight = 0;
const queued: Array<() => void> = [];
const queuedPolls: Array<{ resolve: () => void; since: number }> = [];
/** A poll that has waited this long for a slot goes before everything else (places lapse after 2 minutes without one). */
const POLL_MAX_WAIT_MS = 15_000;
/** Polls of the line take at most half the requests in flight; buyers who are shopping go first. */
const POLL_SLOTS = Math.max(1, Math.floor(CONCURRENCY / 2));

function release(): void {
  const overdue = queuedPolls.length > 0 && Date.now() - queuedPolls[0]!.since > POLL_MAX_WAIT_MS;
  const next = overdue ? queuedPolls.shift()!.resolve : (queued.shift() ?? (pollsInFlight < POLL_SLOTS ? queuedPolls.shift()?.resolve : undefined));
  next?.();
}

async function slot<T>(work: () => Promise<T>, poll = false): Promise<T> {
  if (inFlight >= CONCURRENCY || (poll && pollsInFlight >= POLL_SLOTS)) {
    await new Promise<void>((resolve) => (poll ? queuedPolls.push({ resolve, since: Date.now() }) : queued.push(resolve)));
  }
  inFlight++;
  if (poll) pollsInFlight++;
  try {
    return await work();
  } finally {
    inFlight--;
    if (poll) pollsInFlight--;
    release();
  }
}

interface Answer<T> {
  status: number;
  body: T;
  retryAfter: number;
}

let base = '';

async function request<T>(path: string, init: { method?: string; token?: string; queueToken?: string; json?: unknown; poll?: boolean } = {}): Promise<Answer<T>> {
  for (;;) {
    const answer = await slot(async () => {
      const headers: Record<string, string> = {};
      if (init.json !== undefined) headers['Content-Type'] = 'application/json';
      if (init.token) headers.Authorization = `Bearer ${init.token}`;
      if (init.queueToken) headers['X-Queue-Token'] = init.queueToken;
      let response: Response;
      let text: string;
      try {
        response = await fetch(`${base}${path}`, { method: init.method ?? 'GET', headers, body: init.json === undefined ? undefined : JSON.stringify(init.json) });
        text = await response.text();
      } catch (error) {
        // No answer at all (the connection closed): counted with the 5xx, as status 0.
        counts.requests++;
        counts.networkErrors++;
        counts.byStatus.set(0, (counts.byStatus.get(0) ?? 0) + 1);
        if (fiveHundredSamples.length < 5) fiveHundredSamples.push(`${init.method ?? 'GET'} ${path.replace(/[0-9a-f-]{36}/g, ':id')} → no answer: ${String((error as Error).cause ?? error)}`);
        return { status: 0, body: null as T, retryAfter: 1 };
      }
      counts.requests++;
      counts.byStatus.set(response.status, (counts.byStatus.get(response.status) ?? 0) + 1);
      if (response.status >= 500) {
        counts.fiveHundreds++;
        if (fiveHundredSamples.length < 5) fiveHundredSamples.push(`${init.method ?? 'GET'} ${path.replace(/[0-9a-f-]{36}/g, ':id')} → ${response.status} ${text.slice(0, 200)}`);
      }
      let body: unknown = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = text;
      }
      return { status: response.status, body: body as T, retryAfter: Number(response.headers.get('Retry-After') ?? 1) };
    }, init.poll);
    if (answer.status !== 429) return answer;
    // Over a rate limit: wait as told, then ask again (counted).
    counts.tooMany++;
    await sleep(Math.max(1, answer.retryAfter) * 1000 + random(500));
  }
}

// ---- The seat map and the 2-bit availability ----

interface Row {
  first: number;
  seats: number;
}
interface Section {
  name: string;
  priceCents: number;
  rows: Row[];
}
let sections: Section[] = [];

function decode(statuses: string): Uint8Array {
  const bytes = Buffer.from(statuses, 'base64');
  const out = new Uint8Array(SEATS);
  for (let i = 0; i < SEATS; i++) out[i] = (bytes[i >> 2]! >> (2 * (i & 3))) & 3;
  return out;
}

/** Adjacent free runs a buyer picks among: enough that buyers arriving together rarely reach for the same seats. */
const CANDIDATES = 300;

/**
 * `quantity` seats free in `status` (and not known taken), preferring the dearest sections: one of
 * the first CANDIDATES runs of adjacent free seats in a row, taken in section order (dearest first),
 * at random; without any such run, the first free seats of the dearest section that has enough,
 * else whatever seats are left.
 */
function choose(status: Uint8Array, quantity: number, taken: Set<number>): number[] | null {
  const free = (i: number) => status[i] === 0 && !taken.has(i);
  const runs: number[] = [];
  let loose: number[] | null = null;
  for (const section of sections) {
    const inSection: number[] = [];
    for (const row of section.rows) {
      let run = 0;
      for (let s = 0; s < row.seats; s++) {
        const i = row.first + s;
        if (!free(i)) {
          run = 0;
          continue;
        }
        inSection.push(i);
        // Runs that do not overlap, so the candidates are distinct choices.
        if (++run === quantity) {
          runs.push(i - quantity + 1);
          run = 0;
        }
      }
    }
    if (!loose && inSection.length >= quantity) loose = inSection.slice(0, quantity);
    if (runs.length >= CANDIDATES) break;
  }
  if (runs.length) {
    const start = runs[random(Math.min(runs.length, CANDIDATES))]!;
    return Array.from({ length: quantity }, (_, k) => start + k);
  }
  if (loose) return loose;
  // Fewer seats left than wanted: the buyer takes what there is (rather than walk away holding an
  // admission that the last seats wait for).
  const left: number[] = [];
  for (let i = 0; i < status.length && left.length < quantity; i++) if (free(i)) left.push(i);
  return left.length ? left : null;
}

// ---- The buyers ----

interface Buyer {
  index: number;
  token: string;
  userId: string;
  socket: boolean;
  late: boolean;
  joinedAt?: number;
  /** Server time of the tick that admitted this buyer (from the admission token). */
  admittedAt?: number;
  queueToken?: string;
  lostPlace: number;
  /** When the last poll that found this buyer still waiting was sent (the server answered it later). */
  lastSeenWaiting?: number;
  /** When the room last heard from this buyer (a join or a poll answered): the place lapses 2 minutes after. */
  lastHeard?: number;
  outcome?: 'paid' | 'cancelled' | 'expired' | 'no_seats' | 'sold_out' | 'refused' | 'failed';
  seats?: number[];
  doneAt?: number;
}

const admissionTime = (queueToken: string) => {
  const claims = JSON.parse(Buffer.from(queueToken.split('.')[0]!, 'base64url').toString()) as { x: number };
  return claims.x - TOKEN_MINUTES * 60_000;
};

interface Status {
  state: string;
  position: number | null;
  etaSeconds: number | null;
  token: string | null;
}

let eventId = '';
let soldOutAt: number | null = null;
let markSoldOut!: () => void;
const soldOutSeen = new Promise<void>((resolve) => (markSoldOut = resolve));
/** The sale began (the lobby's page knows onSaleAt): lobby pollers ask within the next few seconds. */
let markSaleStarted!: () => void;
const saleStarted = new Promise<void>((resolve) => (markSaleStarted = resolve));
const stats = { holds: 0, conflicts: 0, paid: 0, seatsPaid: 0, cancelled: 0, expired: 0, refusedHolds: 0, payFailed: 0, noSeats: 0 };
/** Refused holds by answer (`403 queue_required` …), and how many came after the admission's token had run out. */
const refusals = new Map<string, number>();
let refusedAfterTokenRanOut = 0;
/** Per buyer, from admission to the answer of their first hold request: how long shopping waited here. */
const admittedToFirstHoldMs: number[] = [];

/**
 * The next poll: about when the ETA says the turn comes (never sooner than 3 s), and at least every
 * 54 s (a place lapses after 2 minutes without a poll or a socket); in the lobby every 20–40 s.
 */
function pollDelay(status: Status): number {
  const eta = status.etaSeconds ?? (status.position ?? 0) / (ADMIT_PER_MINUTE / 60);
  if (status.position === null) return 20_000 + random(20_000);
  return Math.round(Math.min(45_000, Math.max(3000, eta * 1000)) * (0.8 + Math.random() * 0.4));
}

async function awaitAdmissionByPolling(buyer: Buyer, first?: Status): Promise<void> {
  let status = first;
  for (;;) {
    if (status) {
      if (status.state === 'admitted' && status.token) {
        buyer.queueToken = status.token;
        return;
      }
      if (status.state === 'sold_out') return;
      if (status.state === 'none') {
        // The place lapsed (it should not: every buyer polls well within the grace): back in line.
        buyer.lostPlace++;
        status = (await request<Status>(`/api/events/${eventId}/queue/join`, { method: 'POST', token: buyer.token })).body;
        continue;
      }
      if (status.state !== 'waiting') throw new Error(`buyer ${buyer.index}: queue state ${JSON.stringify(status)}`);
      // (Once the monitor sees every seat sold, whoever still waits asks at once.)
      const lobby = status.position === null;
      await Promise.race([sleep(pollDelay(status)), soldOutSeen, ...(lobby ? [saleStarted.then(() => sleep(random(5000)))] : [])]);
    }
    const sent = Date.now();
    // A poll that has waited long for its turn goes first: the place lapses 2 minutes after the last.
    const urgent = sent - (buyer.lastHeard ?? buyer.joinedAt ?? sent) > 60_000;
    const answer = await request<Status>(`/api/events/${eventId}/queue/status`, { token: buyer.token, poll: !urgent });
    if (answer.status === 200) buyer.lastHeard = sent;
    if (answer.status === 200 && answer.body.state === 'waiting' && answer.body.position !== null) buyer.lastSeenWaiting = sent;
    if (answer.status !== 200) {
      status = undefined;
      await sleep(2000);
      continue;
    }
    status = answer.body;
  }
}

const openSockets: WebSocket[] = [];

/** A WebSocket buyer: the socket joins; "admitted" brings the token. Falls back to polling if the socket ends otherwise. */
function joinBySocket(buyer: Buyer): Promise<{ admitted: Promise<void> }> {
  const url = `${base.replace(/^http/, 'ws')}/api/events/${eventId}/queue`;
  // (The upgrade is a request like any other until the socket is open: it counts against the bound.)
  return slot(() => new Promise((resolveOpen, rejectOpen) => {
    const socket = new WebSocket(url, { headers: { Authorization: `Bearer ${buyer.token}` } });
    openSockets.push(socket);
    let settle!: () => void;
    const admitted = new Promise<void>((resolve) => (settle = resolve));
    let finished = false;
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; token?: string };
      if (message.type === 'admitted' && message.token) {
        buyer.queueToken = message.token;
        finished = true;
        settle();
      } else if (message.type === 'sold_out') {
        finished = true;
        settle();
      }
    });
    socket.once('open', () => {
      buyer.joinedAt = Date.now();
      resolveOpen({ admitted });
    });
    socket.once('error', (error) => rejectOpen(error));
    socket.once('close', () => {
      if (!finished) {
        finished = true;
        awaitAdmissionByPolling(buyer).then(settle, settle);
      }
    });
  }));
}

async function shop(buyer: Buyer): Promise<void> {
  const quantity = 1 + random(4);
  const taken = new Set<number>();
  const deadline = (buyer.admittedAt ?? Date.now()) + TOKEN_MINUTES * 60_000 - 5000;
  let status: Uint8Array | null = null;
  for (let attempt = 0; attempt < 12 && Date.now() < deadline; attempt++) {
    if (!status || attempt % 3 === 2) {
      const availability = await request<{ statuses: string }>(`/api/events/${eventId}/availability`);
      if (availability.status !== 200) {
        await sleep(1000);
        continue;
      }
      status = decode(availability.body.statuses);
    }
    const seats = choose(status, quantity, taken);
    if (!seats) {
      if (status.every((s) => s === 2 || s === 3)) {
        buyer.outcome = 'sold_out';
        return;
      }
      // Everything left is held: some holds will run out or be cancelled.
      await sleep(2000);
      status = null;
      continue;
    }
    const hold = await request<{ bookingId: string; error?: { code: string; details?: { seats?: number[] } } }>(`/api/bookings/${eventId}`, {
      method: 'POST',
      token: buyer.token,
      queueToken: buyer.queueToken,
      json: { seats },
    });
    if (attempt === 0 && buyer.admittedAt) admittedToFirstHoldMs.push(Date.now() - buyer.admittedAt);
    if (hold.status === 201) {
      stats.holds++;
      await afterHold(buyer, hold.body.bookingId, seats);
      return;
    }
    if (hold.status === 409 && hold.body.error?.code === 'tickets_unavailable') {
      stats.conflicts++;
      for (const seat of hold.body.error.details?.seats ?? seats) taken.add(seat);
      continue;
    }
    // 403 (the admission is used up or expired), 409 ticket_limit: nothing more to try.
    stats.refusedHolds++;
    const refusal = `${hold.status} ${hold.body.error?.code ?? ''}`;
    refusals.set(refusal, (refusals.get(refusal) ?? 0) + 1);
    if (buyer.admittedAt && Date.now() > buyer.admittedAt + TOKEN_MINUTES * 60_000) refusedAfterTokenRanOut++;
    buyer.outcome = 'refused';
    return;
  }
  stats.noSeats++;
  buyer.outcome = 'no_seats';
}

const paidSeats = new Map<number, number>(); // seat index → buyer index, from 200 answers to /pay
let doubleSoldByAnswers = 0;

async function afterHold(buyer: Buyer, bookingId: string, seats: number[]): Promise<void> {
  const roll = Math.random();
  if (roll < 0.9) {
    const paid = await request(`/api/bookings/${bookingId}/pay`, { method: 'POST', token: buyer.token, json: { paymentDetails: { paymentMethodId: 'pm_card_visa' } } });
    if (paid.status !== 200) {
      stats.payFailed++;
      buyer.outcome = 'failed';
      return;
    }
    stats.paid++;
    stats.seatsPaid += seats.length;
    for (const seat of seats) {
      if (paidSeats.has(seat)) doubleSoldByAnswers++;
      paidSeats.set(seat, buyer.index);
    }
    buyer.outcome = 'paid';
    buyer.seats = seats;
  } else if (roll < 0.95) {
    const cancelled = await request(`/api/bookings/${bookingId}`, { method: 'DELETE', token: buyer.token });
    if (cancelled.status !== 204) throw new Error(`cancel answered ${cancelled.status}`);
    stats.cancelled++;
    buyer.outcome = 'cancelled';
  } else {
    stats.expired++;
    buyer.outcome = 'expired';
  }
}

async function runBuyer(buyer: Buyer, admitted: Promise<void>): Promise<void> {
  await admitted;
  if (!buyer.queueToken) {
    buyer.outcome = 'sold_out';
  } else {
    buyer.admittedAt = admissionTime(buyer.queueToken);
    await shop(buyer);
  }
  buyer.doneAt = Date.now();
}

// ---- The run ----

interface Sample {
  t: number;
  available: number;
  reserved: number;
  booked: number;
}

async function createEvent(runtime: LocalRuntime, admin: string): Promise<void> {
  const performer = await call<{ performer: { id: string } }>(runtime.base, '/api/admin/performers', { method: 'POST', token: admin, json: { name: 'On-sale Band' } });
  const layout = Array.from({ length: SECTIONS }, (_, i) => ({ name: `Section ${i + 1}`, rows: ROWS, seatsPerRow: SEATS_PER_ROW }));
  const venue = await call<{ venue: { id: string } }>(runtime.base, '/api/admin/venues', { method: 'POST', token: admin, json: { name: 'On-sale Stadium', city: 'Springfield', sections: layout } });
  if (venue.status !== 201) throw new Error(`venue creation failed: ${venue.status} ${JSON.stringify(venue.body)}`);
  // Section 1 the dearest, each next one cheaper.
  const prices = Object.fromEntries(layout.map((section, i) => [section.name, 20_000 - i * 300]));
  const event = await call<{ event: { id: string } }>(runtime.base, '/api/admin/events', {
    method: 'POST',
    token: admin,
    json: {
      name: 'The On-sale',
      performerId: performer.body.performer.id,
      venueId: venue.body.venue.id,
      startsAt: new Date(Date.now() + 30 * 86400_000).toISOString(),
      // In an hour for now (the lobby, open 30 minutes before, takes the early joins); moved to
      // now once they are in.
      onSaleAt: new Date(Date.now() + 20 * 60_000).toISOString(),
      status: 'published',
      prices,
      queue: { enabled: true, admitPerMinute: ADMIT_PER_MINUTE, maxActive: MAX_ACTIVE, tokenMinutes: TOKEN_MINUTES, lobbyMinutes: 30 },
    },
  });
  if (event.status !== 201) throw new Error(`event creation failed: ${event.status} ${JSON.stringify(event.body)}`);
  eventId = event.body.event.id;
  const seatmap = await call<{ seatCount: number; sections: Array<{ name: string; priceCents: number; rows: Array<{ name: string; seats: number }> }> }>(runtime.base, `/api/events/${eventId}/seatmap`);
  if (seatmap.status !== 200 || seatmap.body.seatCount !== SEATS) throw new Error(`seat map: ${seatmap.status} ${seatmap.body.seatCount}`);
  let next = 0;
  sections = seatmap.body.sections.map((section) => ({
    name: section.name,
    priceCents: section.priceCents,
    rows: section.rows.map((row) => {
      const out = { first: next, seats: row.seats };
      next += row.seats;
      return out;
    }),
  }));
  sections.sort((a, b) => b.priceCents - a.priceCents);
}

async function main(): Promise<boolean> {
  console.log(
    `on-sale${QUICK ? ' --quick' : ''}: ${SEATS.toLocaleString('en')} seats (${SECTIONS} sections × ${ROWS} rows × ${SEATS_PER_ROW}), ${BUYERS.toLocaleString('en')} buyers ` +
      `(${SOCKETS} on WebSockets, ${LATE_PERCENT} % arriving after the draw), admitPerMinute ${ADMIT_PER_MINUTE}, maxActive ${MAX_ACTIVE}, tokens ${TOKEN_MINUTES} min, holds ${HOLD_TTL} s, ≤ ${CONCURRENCY} requests in flight`,
  );
  const runtime = await startLocalRuntime('onsale', console.log, { bindings: { HOLD_TTL_SECONDS: String(HOLD_TTL) } });
  closeOnSignal(runtime);
  try {
    base = runtime.base;
    const admin = (await call<{ token: string }>(base, '/api/auth/login', { method: 'POST', json: LOCAL_ADMIN })).body.token;
    await createEvent(runtime, admin);
    console.log(`event ${eventId} created; signing in ${BUYERS.toLocaleString('en')} buyers …`);
    const tokens = await runtime.signIn(BUYERS);
    const late = Math.round((BUYERS * LATE_PERCENT) / 100);
    const stride = Math.max(1, Math.floor((BUYERS - late) / SOCKETS));
    const buyers: Buyer[] = tokens.map((token, index) => ({
      index,
      token,
      userId: (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sub: string }).sub,
      // The sockets are spread over the lobby joiners.
      socket: index < BUYERS - late && index % stride === 0 && index / stride < SOCKETS,
      late: index >= BUYERS - late,
      lostPlace: 0,
    }));

    // -- The lobby: everyone but the late arrivals joins before the sale.
    const started = Date.now();
    const running: Array<Promise<void>> = [];
    const lobby = buyers.filter((b) => !b.late);
    let joined = 0;
    for (let i = 0; i < lobby.length; i += 200) {
      await Promise.all(
        lobby.slice(i, i + 200).map(async (buyer) => {
          if (buyer.socket) {
            const { admitted } = await joinBySocket(buyer);
            running.push(runBuyer(buyer, admitted));
          } else {
            const answer = await request<Status & { lobby?: boolean }>(`/api/events/${eventId}/queue/join`, { method: 'POST', token: buyer.token });
            if (answer.status !== 200 || !answer.body.lobby) throw new Error(`lobby join answered ${answer.status} ${JSON.stringify(answer.body)}`);
            buyer.joinedAt = Date.now();
            running.push(runBuyer(buyer, awaitAdmissionByPolling(buyer, answer.body)));
          }
          joined++;
        }),
      );
      if (joined % 2000 === 0 || joined === lobby.length) console.log(`  ${joined.toLocaleString('en')} in the lobby (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    }

    // -- The sale starts: onSaleAt moves to now, and the room draws the lobby's order.
    const patched = await call(base, `/api/admin/events/${eventId}`, { method: 'PATCH', token: admin, json: { onSaleAt: new Date(Date.now() + 1000).toISOString() } });
    if (patched.status !== 200) throw new Error(`PATCH onSaleAt: ${patched.status} ${JSON.stringify(patched.body)}`);
    let draw: string[] | null = null;
    for (let i = 0; i < 100 && !draw; i++) {
      await sleep(200);
      draw = (await call<{ draw: string[] | null }>(base, `/api/events/${eventId}/queue/fairness`)).body.draw;
    }
    if (!draw) throw new Error('the lobby was not drawn within 20 s of onSaleAt');
    const saleStart = Date.now();
    markSaleStarted();
    console.log(`the sale is on: ${draw.length.toLocaleString('en')} drawn from the lobby; ${late.toLocaleString('en')} more arrive, ${LATE_WAVE} at a time`);

    // -- Progress, and the availability once a second for the chart.
    const samples: Sample[] = [];
    let monitoring = true;
    let lastLine = 0;
    const monitor = (async () => {
      while (monitoring) {
        const answer = await request<{ statuses: string }>(`/api/events/${eventId}/availability`);
        if (answer.status === 200) {
          const status = decode(answer.body.statuses);
          const sample: Sample = { t: Date.now() - saleStart, available: 0, reserved: 0, booked: 0 };
          for (const s of status) {
            if (s === 0) sample.available++;
            else if (s === 1) sample.reserved++;
            else if (s === 2) sample.booked++;
          }
          samples.push(sample);
          if (sample.booked === SEATS && soldOutAt === null) {
            soldOutAt = Date.now();
            markSoldOut();
          }
          if (Date.now() - lastLine >= 5000) {
            lastLine = Date.now();
            const admitted = buyers.filter((b) => b.queueToken).length;
            const finished = buyers.filter((b) => b.doneAt).length;
            console.log(
              `  ${((Date.now() - saleStart) / 1000).toFixed(0).padStart(4)} s: admitted ${admitted.toLocaleString('en')} (noticed), done ${finished.toLocaleString('en')}/${BUYERS.toLocaleString('en')}, ` +
                `seats booked ${sample.booked.toLocaleString('en')} held ${sample.reserved.toLocaleString('en')} free ${sample.available.toLocaleString('en')}; ` +
                `${counts.requests.toLocaleString('en')} requests, ${inFlight} in flight, 5xx ${counts.fiveHundreds}, 429 ${counts.tooMany}, 409 ${stats.conflicts}`,
            );
          }
        }
        await sleep(1000);
      }
    })();

    // -- The late arrivals: one join at a time, spread over about the first half of the sale.
    // They come in waves of LATE_WAVE joins at once, one wave after the other: the order between
    // waves is known (a wave's joins are all answered before the next is sent), within one it is not.
    const lateWaves: Buyer[][] = [];
    const lateBuyers = buyers.filter((b) => b.late);
    const expectedMinutes = BUYERS / ADMIT_PER_MINUTE;
    const spacing = late ? (expectedMinutes * 60_000 * 0.5 * LATE_WAVE) / late : 0;
    for (let i = 0; i < lateBuyers.length; i += LATE_WAVE) {
      const wave = lateBuyers.slice(i, i + LATE_WAVE);
      const answers = await Promise.all(
        wave.map(async (buyer) => {
          const answer = await request<Status>(`/api/events/${eventId}/queue/join`, { method: 'POST', token: buyer.token });
          if (answer.status !== 200) throw new Error(`join answered ${answer.status} ${JSON.stringify(answer.body)}`);
          buyer.joinedAt = Date.now();
          running.push(runBuyer(buyer, awaitAdmissionByPolling(buyer, answer.body)));
          return answer.body.state;
        }),
      );
      lateWaves.push(wave);
      if (answers.includes('sold_out')) break;
      await sleep(spacing);
    }
    const lateOrder = lateWaves.flat();
    for (const buyer of buyers) if (buyer.late && !buyer.joinedAt) buyer.outcome = 'sold_out';

    await Promise.all(running);
    // Holds left to expire come back within HOLD_TTL; the last samples show them freed.
    const lastDone = Math.max(...buyers.map((b) => b.doneAt ?? 0));
    monitoring = false;
    await monitor;
    const elapsed = (lastDone - saleStart) / 1000;
    console.log(`all ${BUYERS.toLocaleString('en')} buyers done ${elapsed.toFixed(0)} s after the sale began`);

    // -- FIFO: admission ticks against the expected order (the draw, then the late joins in order).
    const byParticipant = new Map(buyers.map((b) => [sha256(`${eventId}:${b.userId}`).slice(0, 24), b]));
    const expected = [...draw.map((p) => byParticipant.get(p)!), ...lateOrder];
    if (expected.some((b) => !b)) throw new Error('the draw names a participant who is not a buyer');
    // Places in the expected order: one each in the draw, one per wave of late joins (any order within it).
    const groupOf = new Map<Buyer, number>();
    draw.forEach((p, i) => groupOf.set(byParticipant.get(p)!, i));
    lateWaves.forEach((wave, i) => wave.forEach((b) => groupOf.set(b, draw!.length + i)));
    // A buyer who was admitted just before the last seat sold and had not polled since is told
    // sold_out (an admitted place says so once the event is sold out): whether the room admitted
    // them is unknown, so they are left out, unless a poll sent after someone behind them was
    // admitted still found them waiting (that is a violation, and counted).
    let fifoViolations = 0;
    let latest: Buyer | null = null;
    const unknown = expected.filter((b) => b.admittedAt === undefined && !b.socket && b.joinedAt !== undefined && b.outcome === 'sold_out');
    const unknownSet = new Set(unknown);
    // The earliest admission of anyone in a later place.
    const earliestBehind = new Array<number>(expected.length).fill(Infinity);
    {
      let laterGroups = Infinity;
      let thisGroup = Infinity;
      for (let i = expected.length - 1; i >= 0; i--) {
        if (i < expected.length - 1 && groupOf.get(expected[i]!) !== groupOf.get(expected[i + 1]!)) {
          laterGroups = Math.min(laterGroups, thisGroup);
          thisGroup = Infinity;
        }
        earliestBehind[i] = laterGroups;
        thisGroup = Math.min(thisGroup, expected[i]!.admittedAt ?? Infinity);
      }
    }
    expected.forEach((b, i) => {
      if (!unknownSet.has(b) || earliestBehind[i]! >= (b.lastSeenWaiting ?? -Infinity)) return;
      fifoViolations++;
      if (fifoViolations <= 5) console.log(`  FIFO violation: #${i + 1} was still waiting after someone behind was admitted (+${((earliestBehind[i]! - saleStart) / 1000).toFixed(1)} s)`);
    });
    const checked = expected.filter((b) => b.lostPlace === 0 && !unknownSet.has(b));
    const describe = (b: Buyer) =>
      `#${checked.indexOf(b) + 1} (${b.late ? 'late' : 'lobby'}${b.socket ? ', socket' : ''}) ${b.admittedAt === undefined ? 'never admitted' : `admitted at +${((b.admittedAt - saleStart) / 1000).toFixed(1)} s`}, ${b.outcome}`;
    // `latest`: the latest admitted (never admitted counts as latest of all) of the earlier places;
    // `inGroup`: the same within the current place (a wave), folded in when the place changes.
    let inGroup: Buyer | null = null;
    const later = (a: Buyer | null, b: Buyer) => (!a || (b.admittedAt ?? Infinity) > (a.admittedAt ?? Infinity) ? b : a);
    checked.forEach((buyer, i) => {
      if (i > 0 && groupOf.get(buyer) !== groupOf.get(checked[i - 1]!)) {
        if (inGroup) latest = later(latest, inGroup);
        inGroup = null;
      }
      const at = buyer.admittedAt ?? Infinity;
      if (latest && at < (latest.admittedAt ?? Infinity)) {
        fifoViolations++;
        if (fifoViolations <= 5) console.log(`  FIFO violation: ${describe(buyer)}, behind ${describe(latest)}`);
      }
      inGroup = later(inGroup, buyer);
    });
    const lostPlaces = buyers.filter((b) => b.lostPlace > 0).length;

    // -- Admissions per minute, from the tokens' ticks: between the first tick and the last one
    // while people still waited and seats were not the limit (not the tail, where the line ran
    // out or the free seats held back admissions).
    const ticks = new Map<number, number>();
    for (const b of buyers) if (b.admittedAt !== undefined) ticks.set(b.admittedAt, (ticks.get(b.admittedAt) ?? 0) + 1);
    const tickTimes = [...ticks.keys()].sort((a, b) => a - b);
    const lastJoin = Math.max(...buyers.map((b) => b.joinedAt ?? 0));
    // Seats were the limit once the free ones came near the active shoppers (admitted, token
    // unexpired, not paid or cancelled) plus a tick's credit (at most ten seconds' worth).
    const activeAt = (t: number) =>
      buyers.filter((b) => b.admittedAt !== undefined && b.admittedAt <= t && b.admittedAt + TOKEN_MINUTES * 60_000 > t && !((b.outcome === 'paid' || b.outcome === 'cancelled') && b.doneAt! <= t)).length;
    const scarce = samples.find((s) => s.available < activeAt(saleStart + s.t) + 2 * (ADMIT_PER_MINUTE / 6));
    const admittedTotal = buyers.filter((b) => b.admittedAt !== undefined).length;
    // The first tick that left nobody waiting (everyone who had joined by then admitted: late
    // arrivals may come slower than the rate lets people in): the window stops a tick before it.
    const joinedSorted = buyers.map((b) => b.joinedAt ?? Infinity).sort((a, b) => a - b);
    let lineEmptyAt = Math.max(lastJoin, ...buyers.map((b) => b.admittedAt ?? 0));
    let admittedSoFar = 0;
    for (const [i, t] of tickTimes.entries()) {
      admittedSoFar += ticks.get(t)!;
      let joinedByThen = 0;
      for (let lo = 0, hi = joinedSorted.length; lo < hi; ) {
        const mid = (lo + hi) >> 1;
        if (joinedSorted[mid]! <= t) lo = joinedByThen = mid + 1;
        else hi = mid;
      }
      if (i > 0 && admittedSoFar >= joinedByThen) {
        lineEmptyAt = t;
        break;
      }
    }
    const cutoff = Math.min(lineEmptyAt, scarce ? saleStart + scarce.t : Infinity);
    const window = tickTimes.filter((t) => t < cutoff);
    let rate = NaN;
    if (window.length >= 3) {
      const inWindow = window.slice(1, -1).reduce((sum, t) => sum + ticks.get(t)!, 0) + ticks.get(window.at(-1)!)!;
      rate = (inWindow / (window.at(-1)! - window[0]!)) * 60_000;
    }
    const perMinute: number[] = [];
    if (tickTimes.length) for (let m = tickTimes[0]!; m + 60_000 <= cutoff; m += 60_000) perMinute.push(tickTimes.filter((t) => t >= m && t < m + 60_000).reduce((sum, t) => sum + ticks.get(t)!, 0));
    const rateError = (rate - ADMIT_PER_MINUTE) / ADMIT_PER_MINUTE;

    // -- Postgres: every sale once, and what the buyers were told they paid for.
    await sleep(1000);
    const db = new pg.Client({ connectionString: runtime.databaseUrl });
    await db.connect();
    let pgSold = 0;
    let soldTwice = 0;
    let ticketsDisagree = 0;
    try {
      for (let i = 0; i < 30; i++) {
        pgSold = (await db.query<{ n: number }>(`select count(*)::int as n from booking_tickets bt join bookings b on b.id = bt.booking_id where b.event_id = $1 and b.status = 'confirmed'`, [eventId])).rows[0]!.n;
        if (pgSold >= stats.seatsPaid) break;
        await sleep(1000);
      }
      soldTwice = (await db.query<{ n: number }>(
        `select count(*)::int as n from (select bt.ticket_id from booking_tickets bt join bookings b on b.id = bt.booking_id
           where b.event_id = $1 and b.status = 'confirmed' group by bt.ticket_id having count(*) > 1) twice`,
        [eventId],
      )).rows[0]!.n;
      ticketsDisagree = (await db.query<{ n: number }>(
        `select count(*)::int as n from tickets t
           left join (select bt.ticket_id, b.id from booking_tickets bt join bookings b on b.id = bt.booking_id and b.status = 'confirmed') c on c.ticket_id = t.id
         where t.event_id = $1 and ((t.status = 'sold') <> (c.id is not null) or (t.status = 'sold' and t.booking_id <> c.id))`,
        [eventId],
      )).rows[0]!.n;
    } finally {
      await db.end();
    }
    const oversold = soldTwice + Math.max(0, pgSold - SEATS) + doubleSoldByAnswers;
    const lostSales = Math.max(0, stats.seatsPaid - pgSold);

    // -- Report.
    const outcomes = new Map<string, number>();
    for (const b of buyers) outcomes.set(b.outcome ?? 'unfinished', (outcomes.get(b.outcome ?? 'unfinished') ?? 0) + 1);
    const soldOutSeconds = soldOutAt === null ? null : (soldOutAt - saleStart) / 1000;
    console.log(`\non-sale${QUICK ? ' --quick' : ''}, ${SEATS.toLocaleString('en')} seats, ${BUYERS.toLocaleString('en')} buyers:`);
    console.log(
      soldOutSeconds === null
        ? `  not sold out: ${pgSold.toLocaleString('en')} of ${SEATS.toLocaleString('en')} seats sold when the last buyer was done (${elapsed.toFixed(0)} s); the buyers wanted about ${Math.round(BUYERS * 2.5 * 0.9).toLocaleString('en')} (2.5 seats each, 90 % paying)`
        : `  sold out ${soldOutSeconds.toFixed(0)} s after the sale began`,
    );
    console.log(`  buyers: ${[...outcomes].map(([k, v]) => `${k} ${v}`).join(', ')}; holds ${stats.holds}, 409 conflicts ${stats.conflicts}, payments ${stats.paid} (${stats.seatsPaid} seats)`);
    const waits = [...admittedToFirstHoldMs].sort((a, b) => a - b);
    const waitAt = (p: number) => (waits.length ? waits[Math.min(waits.length - 1, Math.floor((waits.length * p) / 100))]! / 1000 : 0);
    console.log(
      `  refused holds: ${[...refusals].map(([k, v]) => `${k} × ${v}`).join(', ') || 'none'}; ${refusedAfterTokenRanOut} of them after the buyer's ${TOKEN_MINUTES}-minute admission had run out. ` +
        `Admission → first hold answered: median ${waitAt(50).toFixed(1)} s, p90 ${waitAt(90).toFixed(1)} s (the simulated buyers share ${CONCURRENCY} requests in flight)`,
    );
    console.log(`  admissions: ${admittedTotal.toLocaleString('en')} over ${tickTimes.length} ticks; ${rate.toFixed(0)}/min between the first tick and ${((cutoff - (tickTimes[0] ?? cutoff)) / 1000).toFixed(0)} s later (configured ${ADMIT_PER_MINUTE}: ${(rateError * 100).toFixed(1)} %); whole minutes: ${perMinute.join(', ') || 'none'}`);
    console.log(
      `  FIFO violations: ${fifoViolations} (of ${checked.length} in the expected order: the draw of ${draw.length}, then ${lateOrder.length} later joins in ${lateWaves.length} waves; ` +
        `${unknown.length} never seen admitted before the sell-out checked by their polls alone); places lost: ${lostPlaces}`,
    );
    console.log(`  Postgres: ${pgSold.toLocaleString('en')} seats in confirmed bookings, paid for by answers ${stats.seatsPaid.toLocaleString('en')}; sold twice ${soldTwice}, tickets rows disagreeing ${ticketsDisagree}, oversold ${oversold}, paid but missing ${lostSales}`);
    console.log(`  requests ${counts.requests.toLocaleString('en')}: ${[...counts.byStatus].sort(([a], [b]) => a - b).map(([s, n]) => `${s} × ${n}`).join(', ')}; 429 waited out ${counts.tooMany}`);
    for (const sample of fiveHundredSamples) console.log(`  5xx: ${sample}`);

    const checks = [
      { label: 'oversold seats (Postgres and answers)', value: oversold, expected: 0, ok: oversold === 0 },
      { label: 'tickets rows disagreeing with confirmed bookings', value: ticketsDisagree, expected: 0, ok: ticketsDisagree === 0 },
      { label: 'seats paid but not in Postgres', value: lostSales, expected: 0, ok: lostSales === 0 },
      { label: '5xx answers', value: counts.fiveHundreds, expected: 0, ok: counts.fiveHundreds === 0 },
      { label: 'requests without an answer (connection closed)', value: counts.networkErrors, expected: 0, ok: counts.networkErrors === 0 },
      { label: 'FIFO violations after the draw', value: fifoViolations, expected: 0, ok: fifoViolations === 0 },
      { label: 'places lost while polling', value: lostPlaces, expected: 0, ok: lostPlaces === 0 },
    ];
    const rateOk = Number.isFinite(rate) && Math.abs(rateError) <= 0.05;
    const figures: Figure[] = [
      { label: soldOutSeconds === null ? 'sold out: no (demand ran out first); last buyer done after' : 'time to sell out', value: Math.round(soldOutSeconds ?? elapsed), unit: 's' },
      { label: 'seats sold', value: pgSold, unit: `of ${SEATS}` },
      { label: 'admissions per minute', value: Math.round(rate), unit: `/min (configured ${ADMIT_PER_MINUTE})`, target: `${ADMIT_PER_MINUTE} ± 5 %`, met: rateOk },
      { label: 'oversold seats', value: oversold, target: '0', met: oversold === 0 },
      { label: '5xx answers', value: counts.fiveHundreds, target: '0', met: counts.fiveHundreds === 0 },
      { label: 'FIFO violations after the draw', value: fifoViolations, target: '0', met: fifoViolations === 0 },
      { label: '429 answers waited out', value: counts.tooMany },
      { label: 'buyers refused a hold', value: stats.refusedHolds, unit: `of ${BUYERS}` },
      { label: 'of them after their admission ran out', value: refusedAfterTokenRanOut },
      { label: 'admission → first hold answered, median', value: Math.round(waitAt(50) * 10) / 10, unit: 's' },
      { label: 'admission → first hold answered, p90', value: Math.round(waitAt(90) * 10) / 10, unit: 's' },
      { label: 'requests', value: counts.requests },
    ];
    // The chart's series: seats sold (booked) from the availability each second; admitted and in
    // line from the admission ticks and the join times. At most ~300 points.
    const step = Math.max(1, Math.ceil(samples.length / 300));
    const joinTimes = buyers.map((b) => b.joinedAt ?? Infinity).sort((a, b) => a - b);
    const admitTimes = buyers.map((b) => b.admittedAt ?? Infinity).sort((a, b) => a - b);
    const countBefore = (sorted: number[], t: number) => {
      let lo = 0;
      let hi = sorted.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (sorted[mid]! <= t) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    const points = samples.filter((_, i) => i % step === 0 || i === samples.length - 1).map((s) => {
      const at = saleStart + s.t;
      const admitted = countBefore(admitTimes, at);
      return { t: Math.round(s.t / 100) / 10, sold: s.booked, held: s.reserved, admitted, inLine: soldOutAt !== null && at >= soldOutAt ? 0 : Math.max(0, countBefore(joinTimes, at) - admitted) };
    });
    recordResult('onsale', {
      options: { seats: SEATS, sections: SECTIONS, rows: ROWS, seatsPerRow: SEATS_PER_ROW, buyers: BUYERS, admitPerMinute: ADMIT_PER_MINUTE, maxActive: MAX_ACTIVE, tokenMinutes: TOKEN_MINUTES, holdTtlSeconds: HOLD_TTL, sockets: SOCKETS, latePercent: LATE_PERCENT, concurrency: CONCURRENCY },
      figures,
      checks,
      series: { onsale: points, perMinute, medianTickAdmissions: median([...ticks.values()]) },
    });
    const failed = checks.filter((c) => !c.ok);
    for (const c of failed) console.log(`FAILED: ${c.label}: ${c.value} (expected ${c.expected})`);
    if (!QUICK && !rateOk) console.log(`admissions per minute ${rate.toFixed(0)} are not within 5 % of ${ADMIT_PER_MINUTE}`);
    return failed.length === 0;
  } finally {
    for (const socket of openSockets) socket.terminate();
    await runtime.close();
  }
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (error: unknown) => {
    console.error(error);
    console.error('The on-sale benchmark failed; see the message above.');
    process.exit(1);
  },
);
