// Property-based test of the WaitingRoom Durable Object (src/durable/WaitingRoom.ts): random
// sequences of joins and polls, alarm ticks after the clock moves, finished admissions, organizer
// settings (newer copies and stale ones) and sell-outs, by four to six users, with and without a
// lobby before the sale, checking the rules of README "The waiting room" after every step.
//
// The room is driven through its typed RPC (configure, join, status, shopperFinished, soldOut, fairness)
// and its alarm is run as the runtime would run it, `room.alarm()` inside runInDurableObject, after
// the test moved the clock. Time is `Date.now()` of this isolate (the room's too), driven by the
// test: a year ahead of the real clock, so no alarm ever fires on its own, which makes every run
// replayable from its seed; so does the room's random source, replaced by bytes fast-check draws.
//
// Every run gets a room of its own (`wr-prop-…-<n>`), whose settings name one real event with SEATS
// seats, created once: the tick asks that event's TicketLock for the inventory. Nothing is sold,
// so SEATS seats are unsold throughout; SEATS is below the largest maxActive, so the unsold-seats
// bound and the maxActive bound both bind in some runs.
//
// A small model follows the documented rules: who is in line, in which order (the lobby's draw,
// then first come, first served), who is present (a poll keeps a place for two minutes), who is an
// active shopper, which settings are in force. Admissions themselves are observed (the room alone
// knows its saved-up credit) and checked against bounds the model computes:
//   1. One entry per user; `status` reports the waiting users' positions as exactly 1..n in the
//      order of the line, and the model predicts that order and every other answer of `join` and
//      `status`; `status` never joins (`none` without a place), it only keeps a place that exists.
//   2. Active shoppers (admitted, token unexpired) never exceed the maxActive in force at the last
//      admission, nor the unsold seats; nobody is admitted before onSaleAt.
//   3. Admissions since the draw never exceed admitPerMinute/60 per second of clock time (at the
//      highest rate in force over each stretch between ticks) plus the most that can be saved up,
//      max(1, admitPerMinute/6); one tick admits at most that much; and a tick does admit when it
//      has a whole admission's credit from the time since the last tick alone, a free place and
//      someone waiting (so a room that admits no one does not pass).
//   4. FIFO: every tick admits the head of the line: the lobby in its drawn order, then later
//      arrivals in order of arrival (a place given up goes to the back).
//   5. Fairness: before the draw the seed's hash is published (from when the lobby opens); after
//      it, the seed hashes to what was published and the draw is the lobby's participants sorted
//      by SHA-256(`<seed>:<participantId>`), recomputed here with crypto.subtle.
//   6. A configure older than the settings held changes nothing.
//   7. The alarm run twice at the same clock reading admits no one the second time.
//
// The check calls `status` for every user, on the instance, inside one runInDurableObject,
// and then puts the entries' away_since back as it was: the check's own polls must not count as
// the users being present, or no place would ever lapse. (If the restore were wrong, the model's
// predictions of who lapses would fail at the next tick.)
import { runInDurableObject } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Fairness, QueueView, WaitingRoom } from '../../src/durable/WaitingRoom';
import type { QueueSettings } from '../../src/queue/settings';
import { adminToken, createEvent, env, TestClock, unique } from '../helpers';

const NUM_RUNS = 300;
/** Steps per run: a crowd of up to MAX_USERS joins, then up to MAX_STEPS - MAX_USERS random commands. */
const MAX_STEPS = 18;
const MAX_USERS = 6;
const SEATS = 3;
/** AWAY_GRACE_MS of src/durable/WaitingRoom.ts (private there): a place is kept this long after the last poll. */
const GRACE_MS = 2 * 60 * 1000;
const MINUTE = 60_000;
const FIRST_VERSION = 1000;

type Command =
  /** `join` by a user: joins (or rejoins at the back), and keeps the place for GRACE_MS. */
  | { kind: 'join'; user: number }
  /** `status` by a user: never joins; keeps a place that exists for GRACE_MS. */
  | { kind: 'poll'; user: number }
  /** The clock moves on, then the alarm runs (and, with `twice`, runs again at once). */
  | { kind: 'tick'; seconds: number; twice: boolean }
  /** The clock moves past every token issued so far (tokenMinutes and a second), then the alarm runs. */
  | { kind: 'expire'; twice: boolean }
  /** shopperFinished for an admitted shopper (the `pick`-th), or with a stale/unknown admission id for a user. */
  | { kind: 'finish'; pick: number; stale: boolean }
  /** New settings (the next version), or an older copy with anything in it, which must be ignored. */
  | { kind: 'configure'; admitPerMinute: number; maxActive: number; tokenMinutes: number; older: false }
  | { kind: 'configure'; older: true; back: number; admitPerMinute: number; maxActive: number; tokenMinutes: number; lobbyMinutes: number; onSaleShift: number; enabled: boolean }
  | { kind: 'soldOut' };

interface Scenario {
  users: number;
  /** Seconds from the start of the run to onSaleAt; 0: the sale opened a second before the run began. */
  onSaleIn: number;
  lobbyMinutes: number;
  admitPerMinute: number;
  maxActive: number;
  tokenMinutes: number;
  /** What the room's random source returns: the lobby's seed. */
  seed: Uint8Array;
  commands: Command[];
}

const rate = fc.constantFrom(1, 6, 30, 60, 60, 120, 600);
const maxActive = fc.integer({ min: 1, max: MAX_USERS });
const tokenMinutes = fc.constantFrom(1, 2, 10);
/** Mostly a second or a few (admissions run on those), sometimes long enough for a place to lapse. */
const seconds = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 10 }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 60 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 200 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, 119, 120, 121) },
);
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 16, arbitrary: fc.record({ kind: fc.constant('join' as const), user: fc.nat({ max: MAX_USERS - 1 }) }) },
  { weight: 14, arbitrary: fc.record({ kind: fc.constant('poll' as const), user: fc.nat({ max: MAX_USERS - 1 }) }) },
  { weight: 40, arbitrary: fc.record({ kind: fc.constant('tick' as const), seconds, twice: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('expire' as const), twice: fc.boolean() }) },
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('finish' as const), pick: fc.nat({ max: MAX_USERS - 1 }), stale: fc.boolean() }) },
  {
    weight: 8,
    arbitrary: fc.record({ kind: fc.constant('configure' as const), admitPerMinute: rate, maxActive, tokenMinutes, older: fc.constant(false as const) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('configure' as const),
      older: fc.constant(true as const),
      back: fc.nat({ max: 3 }),
      admitPerMinute: rate,
      maxActive,
      tokenMinutes,
      lobbyMinutes: fc.constantFrom(0, 1, 30),
      onSaleShift: fc.integer({ min: -600, max: 600 }),
      enabled: fc.boolean(),
    }),
  },
  // Rare: it ends the run's interest.
  { weight: 1, arbitrary: fc.constant({ kind: 'soldOut' as const }) },
);

const scenario: fc.Arbitrary<Scenario> = fc.record({
  users: fc.integer({ min: 4, max: MAX_USERS }),
  onSaleIn: fc.oneof(
    { weight: 2, arbitrary: fc.constant(0) },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 60 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 300 }) },
  ),
  lobbyMinutes: fc.constantFrom(0, 1, 5, 30, 30),
  admitPerMinute: rate,
  maxActive,
  tokenMinutes,
  seed: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  // A crowd first (each user at most once, in any order: into the lobby, or the line, or told it
  // is closed), then anything.
  commands: fc
    .tuple(fc.shuffledSubarray([...Array(MAX_USERS).keys()]), fc.array(command, { minLength: 6, maxLength: MAX_STEPS - MAX_USERS }))
    .map(([crowd, rest]) => [...crowd.map((user): Command => ({ kind: 'join', user })), ...rest]),
});

// ---------------------------------------------------------------------------------------------
// The model.

interface Entry {
  state: 'waiting' | 'admitted' | 'finished' | 'left';
  /** Place in line; null in the lobby, before the draw. */
  seq: number | null;
  /** The last poll (or the join): the place lapses at a tick GRACE_MS after it. */
  awaySince: number;
  admittedAt: number | null;
  expiresAt: number | null;
  /** Read from the room's storage when the admission is observed (tokens are signed). */
  admissionId: string | null;
}

interface Run {
  n: number;
  scenario: Scenario;
  room: DurableObjectStub<WaitingRoom>;
  userIds: string[];
  /** The settings in force (the newest configure taken). */
  settings: QueueSettings;
  entries: Map<string, Entry>;
  /** Every admission id a user was ever given (for shopperFinished with a stale one). */
  pastAdmissionIds: Map<string, string[]>;
  nextSeq: number;
  soldOut: boolean;
  /** The seed the room's random source hands out, and its SHA-256 hex. */
  seed: string;
  seedHash: string;
  /** seedHash as first seen published before the draw. */
  publishedSeedHash: string | null;
  drawnAt: number | null;
  /** The lobby's participant ids in drawn order (computed here). */
  drawPids: string[] | null;
  /** When the room last ran its admission step (or drew): its credit accrues from then. */
  lastTickAt: number | null;
  /** The highest admitPerMinute in force since lastTickAt. */
  intervalMaxRate: number;
  /** Invariant 3: admissions that clock time since the draw allows at the rates in force. */
  rateBound: number;
  /** The most credit any settings in force since the run began could save up. */
  maxCap: number;
  admissions: number;
  maxActiveAtLastAdmission: number | null;
  log: string[];
}

/** The isolate's clock (the Worker's and the Durable Objects'), a year ahead and moved only by the steps. */
const clock = new TestClock();
let runStartedAt = 0;
let eventId = '';
let runCounter = 0;
/** Rooms of this test process (`<prefix><run number>`); shrinking replays a scenario in a fresh room too. */
const ROOM_PREFIX = unique('wr-prop-') + '-';

const cap = (admitPerMinute: number) => Math.max(1, admitPerMinute / 6);
const iso = (ms: number) => new Date(ms).toISOString();
const lobbyOpensAt = (s: QueueSettings) => s.onSaleAt - s.lobbyMinutes * MINUTE;
const hexOf = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

async function sha256hex(text: string): Promise<string> {
  return hexOf(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))));
}

const participantIds = new Map<string, string>();
async function participantIdOf(userId: string): Promise<string> {
  let pid = participantIds.get(userId);
  if (pid === undefined) {
    pid = (await sha256hex(`${eventId}:${userId}`)).slice(0, 24);
    participantIds.set(userId, pid);
  }
  return pid;
}

/** Waiting users with a place, in the order of the line. */
function lineOf(run: Run): string[] {
  return [...run.entries]
    .filter(([, e]) => e.state === 'waiting' && e.seq !== null)
    .sort(([, a], [, b]) => a.seq! - b.seq!)
    .map(([userId]) => userId);
}

function activeShoppers(run: Run): string[] {
  return [...run.entries].filter(([, e]) => e.state === 'admitted' && e.expiresAt! > clock.now).map(([userId]) => userId);
}

const name = (run: Run, userId: string) => `u${run.userIds.indexOf(userId)}`;

function fail(run: Run, message: string): never {
  throw new Error(
    `${message}\n  run ${run.n} at +${Math.round((clock.now - runStartedAt) / 1000)}s (onSaleAt +${run.scenario.onSaleIn}s, lobby ${run.scenario.lobbyMinutes} min) after:\n    ${run.log.join('\n    ')}`,
  );
}

function same<T>(run: Run, actual: T, expected: T, what: string): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    fail(run, `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

/** Opens the lobby (nothing to model: the seed is known) and draws it once onSaleAt has come. */
async function drawIfDue(run: Run): Promise<void> {
  if (run.drawnAt !== null || clock.now < run.settings.onSaleAt) return;
  const lobby = [...run.entries].filter(([, e]) => e.state === 'waiting' && e.seq === null).map(([userId]) => userId);
  const keyed = await Promise.all(
    lobby.map(async (userId) => {
      const pid = await participantIdOf(userId);
      return { userId, pid, key: await sha256hex(`${run.seed}:${pid}`) };
    }),
  );
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  keyed.forEach(({ userId }, i) => (run.entries.get(userId)!.seq = i + 1));
  run.nextSeq = keyed.length + 1;
  run.drawnAt = clock.now;
  run.drawPids = keyed.map((k) => k.pid);
  run.lastTickAt = clock.now;
  run.intervalMaxRate = run.settings.admitPerMinute;
  run.log.push(`  (drawn: ${keyed.map((k) => name(run, k.userId)).join(', ') || 'nobody'})`);
  if (keyed.length >= 2) coverage.lobbyDraws++;
}

/** What `join` must answer, the model's join applied. */
async function join(run: Run, userId: string): Promise<Expected> {
  if (run.soldOut) return { state: 'sold_out' };
  if (clock.now < lobbyOpensAt(run.settings)) return { state: 'closed', opensAt: iso(lobbyOpensAt(run.settings)) };
  await drawIfDue(run);
  const entry = run.entries.get(userId);
  const keeps = entry && (entry.state === 'waiting' || (entry.state === 'admitted' && entry.expiresAt! > clock.now));
  if (!keeps) {
    if (entry) coverage.rejoins++;
    run.entries.set(userId, { state: 'waiting', seq: run.drawnAt !== null ? run.nextSeq++ : null, awaySince: clock.now, admittedAt: null, expiresAt: null, admissionId: null });
  }
  const kept = run.entries.get(userId)!;
  if (kept.state === 'waiting') kept.awaySince = clock.now;
  return expectedView(run, userId);
}

/** What `status` must answer: it joins nobody, and a poll keeps a place that exists. */
async function poll(run: Run, userId: string): Promise<Expected> {
  if (run.soldOut) return { state: 'sold_out' };
  if (clock.now < lobbyOpensAt(run.settings)) return { state: 'closed', opensAt: iso(lobbyOpensAt(run.settings)) };
  await drawIfDue(run);
  const expected = statusOf(run, userId);
  const entry = run.entries.get(userId);
  if (entry?.state === 'waiting') entry.awaySince = clock.now;
  return expected;
}

/** What `status` says to a user now (the sale drawn if due), without the poll's effect. */
function statusOf(run: Run, userId: string): Expected {
  if (run.soldOut) return { state: 'sold_out' };
  if (clock.now < lobbyOpensAt(run.settings)) return { state: 'closed', opensAt: iso(lobbyOpensAt(run.settings)) };
  const entry = run.entries.get(userId);
  const keeps = entry && (entry.state === 'waiting' || (entry.state === 'admitted' && entry.expiresAt! > clock.now));
  return keeps ? expectedView(run, userId) : { state: 'none' };
}

type Expected = { state: string; position?: number; ahead?: number; expiresAt?: string; onSaleAt?: string; seedHash?: string; opensAt?: string };

function expectedView(run: Run, userId: string): Expected {
  if (run.soldOut) return { state: 'sold_out' };
  const entry = run.entries.get(userId)!;
  if (entry.state === 'admitted') return { state: 'admitted', expiresAt: iso(entry.expiresAt!) };
  if (entry.seq === null) return { state: 'lobby', onSaleAt: iso(run.settings.onSaleAt), seedHash: run.seedHash };
  const ahead = lineOf(run).indexOf(userId);
  return { state: 'waiting', position: ahead + 1, ahead };
}

/** The parts of a view the model predicts (the token is signed; the ETA is an estimate). */
function observed(view: QueueView): Expected {
  const { state } = view;
  switch (view.state) {
    case 'waiting':
      return { state, position: view.position, ahead: view.ahead };
    case 'admitted':
      return { state, expiresAt: view.expiresAt };
    case 'lobby':
      return { state, onSaleAt: view.onSaleAt, seedHash: view.seedHash };
    case 'closed':
      return { state, opensAt: view.opensAt };
    default:
      return { state };
  }
}

function describeView(view: QueueView): string {
  const o = observed(view);
  return o.state === 'waiting' ? `position ${o.position}` : o.state;
}

// ---------------------------------------------------------------------------------------------
// The room's storage, as the check and the tick read it.

type Row = {
  user_id: string;
  seq: number | null;
  state: string;
  away_since: number | null;
  admitted_at: number | null;
  admission_id: string | null;
  token: string | null;
  token_expires_at: number | null;
};

function readEntries(storage: DurableObjectStorage): Row[] {
  return storage.sql
    .exec<Row>(`SELECT user_id, seq, state, away_since, admitted_at, admission_id, token, token_expires_at FROM entries`)
    .toArray();
}

// ---------------------------------------------------------------------------------------------
// Steps.

/** The model's tick at `clock`, given the entries as the alarm left them. */
async function tickModel(run: Run, rows: Row[], again: boolean): Promise<void> {
  const newlyAdmitted = rows.filter((r) => r.state === 'admitted' && run.entries.get(r.user_id)?.admissionId !== r.admission_id);
  if (again && newlyAdmitted.length) {
    fail(run, `invariant 7: the alarm run again at the same moment admitted ${newlyAdmitted.map((r) => name(run, r.user_id)).join(', ')}`);
  }
  if (run.soldOut) {
    if (newlyAdmitted.length) fail(run, `admitted ${newlyAdmitted.map((r) => name(run, r.user_id))} after the sell-out`);
    return;
  }
  await drawIfDue(run);
  // A place lapses at a tick GRACE_MS or more after the last poll (the room drops `away_since <= now - grace`).
  const lapsed: string[] = [];
  for (const [userId, e] of run.entries) {
    if (e.state === 'waiting' && e.awaySince <= clock.now - GRACE_MS) {
      e.state = 'left';
      lapsed.push(name(run, userId));
    }
  }
  if (lapsed.length) {
    run.log.push(`  (lapsed: ${lapsed.join(', ')})`);
    coverage.lapses++;
  }
  const admits = run.drawnAt !== null && clock.now >= run.settings.onSaleAt;
  if (!admits) {
    if (newlyAdmitted.length) fail(run, `invariant 2: admitted ${newlyAdmitted.map((r) => name(run, r.user_id))} before the sale opened (onSaleAt +${run.scenario.onSaleIn}s)`);
    return;
  }
  const s = run.settings;
  const line = lineOf(run);
  const active = activeShoppers(run).length;
  const k = newlyAdmitted.length;
  // Invariant 4: the head of the line, nobody else.
  same(run, newlyAdmitted.map((r) => name(run, r.user_id)).sort(), line.slice(0, k).map((u) => name(run, u)).sort(), `invariant 4: admitted at this tick (line ${line.map((u) => name(run, u))})`);
  // Invariants 2 and 3 for the tick: within maxActive, the unsold seats, the saved-up cap.
  const places = Math.max(0, Math.min(s.maxActive - active, SEATS - active, line.length));
  const upper = Math.min(places, Math.floor(cap(s.admitPerMinute)));
  if (k > upper) {
    fail(run, `invariant ${k > places ? 2 : 3}: admitted ${k} at once with ${active} active, maxActive ${s.maxActive}, ${SEATS} unsold, ${line.length} waiting, at most ${cap(s.admitPerMinute)} saved up (${s.admitPerMinute}/min)`);
  }
  // And it does admit what the time since the last tick alone pays for (the credit saved before is never negative).
  const dt = clock.now - run.lastTickAt!;
  const earned = Math.floor(Math.min(cap(s.admitPerMinute), dt * (s.admitPerMinute / MINUTE) * (1 - 1e-9)));
  const lower = Math.min(earned, places);
  if (k < lower) fail(run, `invariant 3: admitted only ${k} though ${dt / 1000}s at ${s.admitPerMinute}/min earned ${earned}, with room for ${places} (${active} active, maxActive ${s.maxActive}, ${line.length} waiting)`);
  if (!again && line.length > k) {
    // What kept the rest waiting.
    if (SEATS - active === k && SEATS < s.maxActive) coverage.unsoldBound++;
    else if (s.maxActive - active === k) coverage.maxActiveBound++;
    else coverage.creditBound++;
  }
  for (const r of newlyAdmitted) {
    const e = run.entries.get(r.user_id)!;
    Object.assign(e, { state: 'admitted', admittedAt: clock.now, expiresAt: clock.now + s.tokenMinutes * MINUTE, admissionId: r.admission_id });
    run.pastAdmissionIds.set(r.user_id, [...(run.pastAdmissionIds.get(r.user_id) ?? []), r.admission_id!]);
  }
  run.admissions += k;
  coverage.admissions += k;
  if (k > 0) run.maxActiveAtLastAdmission = s.maxActive;
  run.rateBound += (dt * run.intervalMaxRate) / MINUTE;
  run.intervalMaxRate = s.admitPerMinute;
  run.lastTickAt = clock.now;
  if (k) run.log.push(`  (admitted: ${newlyAdmitted.map((r) => name(run, r.user_id)).join(', ')})`);
}

async function tick(run: Run, ms: number, twice: boolean, label: string): Promise<void> {
  clock.now += ms;
  run.log.push(`${label}${twice ? ', alarm twice' : ''}`);
  const [first, second] = await runInDurableObject(run.room, async (room, state) => {
    await room.alarm();
    const first = readEntries(state.storage);
    if (!twice) return [first, null] as const;
    await room.alarm();
    return [first, readEntries(state.storage)] as const;
  });
  await tickModel(run, first, false);
  if (second) {
    coverage.twice++;
    await tickModel(run, second, true);
  }
}

/** Runs one command; false when it had nothing to act on (so nothing changed). */
async function step(run: Run, cmd: Command): Promise<boolean> {
  const users = run.userIds;
  switch (cmd.kind) {
    case 'join': {
      const userId = users[cmd.user % users.length]!;
      const view = await run.room.join(userId);
      run.log.push(`join ${name(run, userId)} → ${describeView(view)}`);
      same(run, observed(view), await join(run, userId), `invariant 1: join of ${name(run, userId)}`);
      if (view.state === 'closed') coverage.closed++;
      return true;
    }
    case 'poll': {
      const userId = users[cmd.user % users.length]!;
      const view = await run.room.status(userId);
      run.log.push(`poll ${name(run, userId)} → ${describeView(view)}`);
      same(run, observed(view), await poll(run, userId), `invariant 1: status of ${name(run, userId)}`);
      if (view.state === 'none') coverage.noPlace++;
      return true;
    }
    case 'tick':
      await tick(run, cmd.seconds * 1000, cmd.twice, `tick +${cmd.seconds}s`);
      return true;
    case 'expire': {
      const seconds = run.settings.tokenMinutes * 60 + 1;
      if (activeShoppers(run).length) coverage.expiries++;
      await tick(run, seconds * 1000, cmd.twice, `tick +${seconds}s (past every token)`);
      return true;
    }
    case 'finish': {
      if (!cmd.stale) {
        const admitted = [...run.entries].filter(([, e]) => e.state === 'admitted');
        if (!admitted.length) return false;
        const [userId, entry] = admitted[cmd.pick % admitted.length]!;
        await run.room.shopperFinished(userId, entry.admissionId!);
        run.log.push(`finish ${name(run, userId)}'s admission`);
        entry.state = 'finished';
        coverage.finishes++;
        return true;
      }
      // A stale admission id (an earlier admission of this user, or one never issued) ends nothing.
      const userId = users[cmd.pick % users.length]!;
      const current = run.entries.get(userId)?.admissionId;
      const stale = (run.pastAdmissionIds.get(userId) ?? []).filter((id) => id !== current).at(-1) ?? crypto.randomUUID();
      await run.room.shopperFinished(userId, stale);
      run.log.push(`finish ${name(run, userId)} with a stale admission id`);
      return true;
    }
    case 'configure': {
      const current = run.settings;
      if (cmd.older) {
        // Another data centre's cached copy from before: anything may differ, only the event is the same.
        const older: QueueSettings = {
          eventId,
          enabled: cmd.enabled,
          admitPerMinute: cmd.admitPerMinute,
          maxActive: cmd.maxActive,
          tokenMinutes: cmd.tokenMinutes,
          lobbyMinutes: cmd.lobbyMinutes,
          onSaleAt: current.onSaleAt + cmd.onSaleShift * 1000,
          version: current.version - 1 - cmd.back,
        };
        await run.room.configure(older);
        run.log.push(`configure an older copy ${JSON.stringify({ ...older, eventId: undefined })}`);
        coverage.olderConfigures++;
        return true;
      }
      const newer: QueueSettings = { ...current, admitPerMinute: cmd.admitPerMinute, maxActive: cmd.maxActive, tokenMinutes: cmd.tokenMinutes, version: current.version + 1 };
      await run.room.configure(newer);
      run.log.push(`configure ${cmd.admitPerMinute}/min, maxActive ${cmd.maxActive}, tokens ${cmd.tokenMinutes} min`);
      run.settings = newer;
      run.intervalMaxRate = Math.max(run.intervalMaxRate, newer.admitPerMinute);
      run.maxCap = Math.max(run.maxCap, cap(newer.admitPerMinute));
      await drawIfDue(run);
      return true;
    }
    case 'soldOut': {
      await run.room.soldOut();
      run.log.push('sold out');
      run.soldOut = true;
      for (const e of run.entries.values()) if (e.state === 'waiting') e.state = 'left';
      coverage.soldOut++;
      return true;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The check after every step.

async function checkInvariants(run: Run): Promise<void> {
  const opensAt = lobbyOpensAt(run.settings);
  // `status` joins nobody: everyone is asked (and the entries compared below show it added none).
  const ask = run.userIds;
  const snapshot = await runInDurableObject(run.room, async (room, state) => {
    const fairness = await room.fairness();
    const rows = readEntries(state.storage);
    const settings = state.storage.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'settings'`).one().value;
    const drawTable = state.storage.sql.exec<{ participant_id: string }>(`SELECT participant_id FROM draw ORDER BY rank`).toArray().map((r) => r.participant_id);
    const views: Array<[string, QueueView]> = [];
    for (const userId of ask) views.push([userId, await room.status(userId)]);
    // The check's polls are not the users': put their presence back as it was.
    for (const r of rows) if (r.state === 'waiting') state.storage.sql.exec(`UPDATE entries SET away_since = ? WHERE user_id = ?`, r.away_since, r.user_id);
    return { fairness, rows, settings: JSON.parse(settings) as QueueSettings, drawTable, views };
  });
  // fairness() draws when the sale has opened (whatever else happened).
  await drawIfDue(run);

  // Invariant 6: the settings in force are the newest taken.
  same(run, snapshot.settings, run.settings, 'invariant 6: settings in force');

  // Invariant 1: one entry per user, in the state and the order the model says.
  const rows = new Map(snapshot.rows.map((r) => [r.user_id, r]));
  same(run, snapshot.rows.length, rows.size, 'invariant 1: one entry per user');
  same(run, [...rows.keys()].map((u) => name(run, u)).sort(), [...run.entries.keys()].map((u) => name(run, u)).sort(), 'invariant 1: users with an entry');
  for (const [userId, e] of run.entries) {
    const r = rows.get(userId)!;
    const actual = { state: r.state, lobby: r.seq === null, admittedAt: r.admitted_at, expiresAt: r.token_expires_at };
    const expected = { state: e.state, lobby: e.seq === null, admittedAt: e.admittedAt, expiresAt: e.expiresAt };
    same(run, actual, expected, `invariant 1: entry of ${name(run, userId)}`);
  }
  const storedLine = snapshot.rows.filter((r) => r.state === 'waiting' && r.seq !== null).sort((a, b) => a.seq! - b.seq!);
  same(run, new Set(storedLine.map((r) => r.seq)).size, storedLine.length, 'invariant 1: places in line are distinct');
  const line = lineOf(run);
  same(run, storedLine.map((r) => name(run, r.user_id)), line.map((u) => name(run, u)), 'invariant 1/4: the line in order');
  const views = new Map(snapshot.views);
  for (const userId of ask) same(run, observed(views.get(userId)!), statusOf(run, userId), `invariant 1: status of ${name(run, userId)}`);
  const positions = storedLine.map((r) => views.get(r.user_id)).map((v) => (v?.state === 'waiting' ? v.position : null));
  if (!run.soldOut) same(run, positions, storedLine.map((_, i) => i + 1), 'invariant 1: positions reported for the line, in the order of its places');
  for (const [userId, view] of views) {
    if (view.state === 'admitted') same(run, view.token, rows.get(userId)!.token, `the token status hands ${name(run, userId)}`);
  }

  // Invariant 2: active shoppers within maxActive (as of the last admission) and the unsold seats; nobody in before the sale.
  const active = snapshot.rows.filter((r) => r.state === 'admitted' && r.token_expires_at! > clock.now).length;
  if (run.maxActiveAtLastAdmission !== null && active > run.maxActiveAtLastAdmission) fail(run, `invariant 2: ${active} active shoppers, maxActive ${run.maxActiveAtLastAdmission}`);
  if (active > SEATS) fail(run, `invariant 2: ${active} active shoppers for ${SEATS} unsold seats`);
  const early = snapshot.rows.filter((r) => r.admitted_at !== null && r.admitted_at < run.settings.onSaleAt);
  if (early.length) fail(run, `invariant 2: ${early.map((r) => name(run, r.user_id))} admitted before onSaleAt`);

  // Invariant 3: admissions within the rate over clock time since the draw, plus what can be saved up.
  if (run.admissions > run.rateBound + run.maxCap + 1e-6) {
    fail(run, `invariant 3: ${run.admissions} admitted since the draw ${(clock.now - run.drawnAt!) / 1000}s ago; the rates in force allow ${run.rateBound.toFixed(3)} + ${run.maxCap} saved up`);
  }

  // Invariant 5: the seed's hash is published when the lobby opens; the seed and the draw at the sale.
  const f = snapshot.fairness!;
  const drawn = run.drawnAt !== null;
  same(
    run,
    { eventId: f.eventId, lobbyOpensAt: f.lobbyOpensAt, onSaleAt: f.onSaleAt, published: f.seedHash !== null, seed: f.seed !== null, draw: f.draw !== null },
    { eventId, lobbyOpensAt: iso(opensAt), onSaleAt: iso(run.settings.onSaleAt), published: clock.now >= opensAt, seed: drawn, draw: drawn },
    'invariant 5: what fairness() publishes',
  );
  if (f.seedHash !== null) {
    if (!drawn && run.publishedSeedHash === null) run.publishedSeedHash = f.seedHash;
    if (run.publishedSeedHash !== null) same(run, f.seedHash, run.publishedSeedHash, 'invariant 5: the published seed hash never changes');
  }
  if (drawn) await checkDraw(run, f, snapshot.drawTable);
}

async function checkDraw(run: Run, f: Fairness, drawTable: string[]): Promise<void> {
  // The seed is the room's random bytes; its hash is what was published before the draw (when
  // the lobby was open at some check before the sale; else what is published now).
  same(run, f.seed, run.seed, 'invariant 5: the seed is the one the room drew');
  same(run, await sha256hex(f.seed!), run.publishedSeedHash ?? f.seedHash, 'invariant 5: SHA-256 of the seed is the published hash');
  // The draw: the lobby's participants (as the model knows them) sorted by SHA-256 of `<seed>:<participantId>`,
  // recomputed from the published seed (drawIfDue computed run.drawPids that way from run.seed).
  same(run, f.draw, run.drawPids, 'invariant 5: the draw is the participants sorted by SHA-256(seed:participantId)');
  same(run, drawTable, run.drawPids, 'invariant 5: the stored draw');
}

// ---------------------------------------------------------------------------------------------
// Runs.

const coverage = {
  runs: 0,
  runsWithAdmissions: 0,
  lobbyDraws: 0,
  admissions: 0,
  unsoldBound: 0,
  maxActiveBound: 0,
  creditBound: 0,
  lapses: 0,
  rejoins: 0,
  finishes: 0,
  expiries: 0,
  olderConfigures: 0,
  twice: 0,
  closed: 0,
  noPlace: 0,
  soldOut: 0,
};

async function playRun(sc: Scenario): Promise<void> {
  clock.now += 24 * 3600 * 1000;
  runStartedAt = clock.now;
  const n = ++runCounter;
  const room = env.WAITING_ROOM.getByName(`${ROOM_PREFIX}${n}`);
  const seed = hexOf(sc.seed);
  const settings: QueueSettings = {
    eventId,
    enabled: true,
    admitPerMinute: sc.admitPerMinute,
    maxActive: sc.maxActive,
    tokenMinutes: sc.tokenMinutes,
    lobbyMinutes: sc.lobbyMinutes,
    onSaleAt: sc.onSaleIn === 0 ? clock.now - 1000 : clock.now + sc.onSaleIn * 1000,
    version: FIRST_VERSION,
  };
  const run: Run = {
    n,
    scenario: sc,
    room,
    userIds: Array.from({ length: sc.users }, (_, i) => `prop-user-${i}`),
    settings,
    entries: new Map(),
    pastAdmissionIds: new Map(),
    nextSeq: 1,
    soldOut: false,
    seed,
    seedHash: await sha256hex(seed),
    publishedSeedHash: null,
    drawnAt: null,
    drawPids: null,
    lastTickAt: null,
    intervalMaxRate: settings.admitPerMinute,
    rateBound: 0,
    maxCap: cap(settings.admitPerMinute),
    admissions: 0,
    maxActiveAtLastAdmission: null,
    log: [`start: ${sc.users} users, ${sc.admitPerMinute}/min, maxActive ${sc.maxActive}, tokens ${sc.tokenMinutes} min`],
  };
  // The room's random source returns the scenario's bytes, so its seed (and draw) replay.
  await runInDurableObject(room, (instance) => {
    instance.random = (bytes) => {
      bytes.set(sc.seed.subarray(0, bytes.length));
      return bytes;
    };
  });
  await room.configure(settings);
  await drawIfDue(run);
  await checkInvariants(run);
  for (const cmd of sc.commands) {
    if (await step(run, cmd)) await checkInvariants(run);
  }
  coverage.runs++;
  if (run.admissions > 0) coverage.runsWithAdmissions++;
}

describe('WaitingRoom under random sequences of joins, ticks, settings and finishes (fast-check)', () => {
  beforeAll(async () => {
    const admin = await adminToken();
    const event = await createEvent(admin, {
      sections: [{ name: 'Floor', rows: 1, seatsPerRow: SEATS }],
      prices: { Floor: 4000 },
      queue: { enabled: true, admitPerMinute: 60, maxActive: 3 },
    });
    eventId = event.eventId;
    expect(event.ticketCount).toBe(SEATS);
  });

  it(
    `keeps its line, its admission bounds and its published draw after every step (${NUM_RUNS} runs of up to ${MAX_STEPS} steps)`,
    { timeout: 120_000 },
    async () => {
      await clock.during(() =>
        fc.assert(fc.asyncProperty(scenario, playRun), {
          numRuns: NUM_RUNS,
          // Shrinking a failure is stopped in time to report the smallest counterexample found so far.
          interruptAfterTimeLimit: 100_000,
          markInterruptAsFailure: true,
          examples: [[LOBBY_THEN_SALE]],
        }),
      );
      // The generator reaches what the invariants are about.
      expect(coverage.runs).toBeGreaterThanOrEqual(NUM_RUNS);
      for (const [what, count] of Object.entries(coverage)) expect(count, what).toBeGreaterThan(0);
    },
  );
});

/** Always played first: a lobby of four drawn at the sale, admitted in drawn order one a second, a late arrival behind them. */
const LOBBY_THEN_SALE: Scenario = {
  users: 5,
  onSaleIn: 60,
  lobbyMinutes: 30,
  admitPerMinute: 60,
  maxActive: 2,
  tokenMinutes: 1,
  seed: new Uint8Array(32).fill(7),
  commands: [
    { kind: 'join', user: 0 },
    { kind: 'join', user: 1 },
    { kind: 'join', user: 2 },
    { kind: 'join', user: 3 },
    { kind: 'poll', user: 4 }, // not in line, and status does not put them there
    { kind: 'tick', seconds: 60, twice: false }, // the draw, and its first tick
    { kind: 'join', user: 4 },
    { kind: 'tick', seconds: 1, twice: true },
    { kind: 'tick', seconds: 1, twice: false },
    { kind: 'tick', seconds: 1, twice: false }, // maxActive 2: nobody more
    { kind: 'finish', pick: 0, stale: false },
    { kind: 'configure', older: true, back: 0, admitPerMinute: 600, maxActive: 6, tokenMinutes: 10, lobbyMinutes: 0, onSaleShift: 0, enabled: false },
    { kind: 'tick', seconds: 1, twice: false },
    { kind: 'expire', twice: false },
    { kind: 'poll', user: 4 },
  ],
};
