// A waiting line spread over several WaitingRoom shards with one coordinator (docs/queue-sharding.md),
// simulated in plain Node: no Workers runtime. The coordinator and the shards are objects that talk
// only through `Net.call`, which serializes each request and answer (JSON, as an RPC would carry
// them) and counts the messages and their bytes; joins and leaves reach a shard the same way (from
// "the Worker"). Shards keep their members in the project's own Fenwick tree (src/durable/waiting-
// room/line.ts, imported as is) over local slots; the draw uses the project's draw keys (draw.ts) and
// the coordinator its pacing (pacing.ts: admissionCredit); the merge, cut and position logic is
// src/queue/sharded-admission.ts, which a real sharded room would use too.
//
// Two line sizes run side by side (--small and --members): a lobby (80 % of the members) drawn at the
// sale, the rest joining after it while the ticks run, and 10 % leaving while they wait. One shard
// does not answer for three ticks (--fail-shard, ticks 5–7): its quota is held back. Each tick (one
// simulated second) the coordinator asks every shard for its lowest waiting ranks, cuts the quota, and
// tells each shard to admit its members at or below the cut, with the counts it needs for positions.
//
// Checked (exit 1 otherwise): 0 FIFO violations (after every tick, nobody waits with a rank below
// one admitted), the draw merged in key order, the admission rate within ±5 % of --admit-per-minute
// over the ticks in which the line never ran dry. Printed: messages per tick, messages and bytes
// per admitted shopper, CPU per tick at the coordinator and at a shard, position error.
//
// Usage: npx tsx bench/queue-shards.ts [--members 1000000] [--small 10000] [--shards 16]
//          [--admit-per-minute 60000] [--ticks 120] [--fail-shard 1] [--no-record] [--quick]
//   --quick: 2,000 and 20,000 members over 4 shards, 30 ticks: correctness only.
//   --no-record: print the RESULT line without merging it into bench/results.json.
import { performance } from 'node:perf_hooks';
import { drawKeyOf, participantIdOf } from '../src/durable/waiting-room/draw';
import { Line } from '../src/durable/waiting-room/line';
import { admissionCredit } from '../src/durable/waiting-room/pacing';
import type { QueueSettings } from '../src/queue/settings';
import {
  chooseBoundaries,
  countAtMost,
  cutRank,
  epochStart,
  lowerBound,
  bucketOf,
  othersBelow,
  postSaleRank,
  sampleOffsets,
  shardOf,
  type HeadsReport,
  type OthersView,
} from '../src/queue/sharded-admission';
import { option } from './lib/options';
import { median, quick, recordResult, roundsFigure, type Figure } from './lib/results';

const QUICK = quick();
const LARGE = option('members', QUICK ? 20_000 : 1_000_000);
const SMALL = option('small', QUICK ? 2_000 : 10_000);
const SHARDS = option('shards', QUICK ? 4 : 16);
const ADMIT_PER_MINUTE = option('admit-per-minute', 60_000);
const MAX_TICKS = option('ticks', QUICK ? 30 : 120);
const ROUNDS = option('rounds', QUICK ? 1 : 3);
const FAIL_SHARD = process.argv.includes('--fail-shard') ? option('fail-shard', 1) : Math.min(1, SHARDS - 1);
const FAIL_TICKS = new Set([5, 6, 7]);
const RECORD = !process.argv.includes('--no-record');
const TICK_MS = 1000;
const LOBBY_SHARE = 0.8;
const LEAVE_SHARE = 0.1;
/** Bucket boundaries for positions, and samples each shard sends to choose them. */
const BUCKETS = 128;
/** Sockets a shard tells their position each tick (a fixed number, so the tick's cost is comparable at both sizes). */
const SOCKETS_PER_SHARD = 200;
const DRAW_PAGE = 8192;
const EVENT_ID = '00000000-0000-4000-8000-000000000001';
const SEED = 'a5'.repeat(32);

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const log = (line: string) => console.log(line);

function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------
// The network: every request and answer serialized and counted.

type Kind = 'tick' | 'draw' | 'join';

class Net {
  readonly messages: Record<Kind, number> = { tick: 0, draw: 0, join: 0 };
  readonly bytes: Record<Kind, number> = { tick: 0, draw: 0, join: 0 };
  /** Shards that do not answer now. */
  readonly down = new Set<number>();
  /** Time spent inside calls (serializing, the callee's work): taken off the caller's CPU. */
  inCalls = 0;
  /** The callee's own time per shard, since the last reset. */
  shardCpu: Float64Array;

  constructor(shards: number) {
    this.shardCpu = new Float64Array(shards);
  }

  call<P, A>(kind: Kind, shard: Shard, handler: (payload: P) => A, payload: P): A | null {
    const started = performance.now();
    try {
      const request = JSON.stringify(payload);
      this.messages[kind]++;
      this.bytes[kind] += request.length;
      if (this.down.has(shard.id)) return null;
      const received = JSON.parse(request) as P;
      const t0 = performance.now();
      const answer = handler.call(shard, received);
      this.shardCpu[shard.id]! += performance.now() - t0;
      const reply = JSON.stringify(answer ?? null);
      this.messages[kind]++;
      this.bytes[kind] += reply.length;
      return JSON.parse(reply) as A;
    } finally {
      this.inCalls += performance.now() - started;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The world's bookkeeping (what a member is, for the driver and the checks; not shard state).

const NONE = 0;
const LOBBY = 1;
const WAITING = 2;
const ADMITTED = 3;
const LEFT = 4;

class World {
  readonly state: Uint8Array;
  readonly shard: Uint16Array;
  /** The member's local slot in its shard (1-based), once it has one. */
  readonly slot: Int32Array;
  readonly userId = (m: number) => `user-${m}`;
  /** Every admission, in the order shards made them: rank and tick. */
  admittedThisTick = 0;
  maxAdmitted = -Infinity;
  constructor(readonly members: number) {
    this.state = new Uint8Array(members);
    this.shard = new Uint16Array(members);
    this.slot = new Int32Array(members);
  }
}

// ---------------------------------------------------------------------------------------------
// A shard: its members' ranks by local slot, and the Fenwick tree of who still waits.

interface ReportRequest {
  t: number;
  /** Admit everyone waiting at or below (repeats the last cut, in case its admit message was lost). */
  admitThrough: number | null;
  boundaries: number[];
  want: number;
  /** About this shard's share of the quota: the samples for the next boundaries start past it (they would be admitted). */
  skip: number;
}
interface Report extends HeadsReport {
  /** Per boundary in force: my members waiting below it. */
  below: number[];
  /** My ranks at geometrically spaced places from my head: for the next boundaries. */
  samples: number[];
  waiting: number;
  /** My highest rank issued. */
  tail: number;
}
interface AdmitRequest {
  t: number;
  cut: number | null;
  view: OthersView | null;
}

class Shard {
  private ranks = new Float64Array(1024);
  private members = new Int32Array(1024);
  private n = 0;
  private readonly line = new Line();
  private headSlot = 1;
  private lobby: number[] = [];
  private drawKeys: string[] = [];
  private epoch = 0;
  private counter = 0;
  private view: OthersView | null = null;
  /** Modelled SQLite row writes: joins, leaves and the draw; and those of the ticks (admissions, the meta row). */
  rows = 0;
  tickRows = 0;
  positionsPushed = 0;

  constructor(
    readonly id: number,
    private readonly world: World,
  ) {}

  get waiting(): number {
    return this.line.size;
  }

  // --- joins and leaves (from the Worker) ---
  joinLobby(m: number): void {
    this.lobby.push(m);
    this.world.state[m] = LOBBY;
    this.rows++;
  }

  join(m: number): number {
    const rank = postSaleRank(this.epoch, this.counter++, this.id);
    const slot = this.append(m, rank);
    this.line.add(slot);
    this.world.state[m] = WAITING;
    this.rows++;
    return rank;
  }

  leave(m: number): void {
    if (this.world.state[m] !== WAITING) return;
    this.line.remove(this.world.slot[m]!);
    this.world.state[m] = LEFT;
    this.rows++;
  }

  private append(m: number, rank: number): number {
    if (this.n === this.ranks.length) {
      const ranks = new Float64Array(this.n * 2);
      ranks.set(this.ranks);
      this.ranks = ranks;
      const members = new Int32Array(this.n * 2);
      members.set(this.members);
      this.members = members;
    }
    if (this.n > 0 && rank <= this.ranks[this.n - 1]!) throw new Error(`shard ${this.id}: rank ${rank} not above its last`);
    this.ranks[this.n] = rank;
    this.members[this.n] = m;
    this.world.slot[m] = ++this.n;
    return this.n;
  }

  // --- the draw ---
  drawPage({ from }: { from: number }): { keys: string[]; done: boolean } {
    if (from === 0) {
      const keyed = this.lobby.map((m) => ({ m, key: drawKeyOf(SEED, participantIdOf(EVENT_ID, this.world.userId(m))) }));
      keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      this.lobby = keyed.map((k) => k.m);
      this.drawKeys = keyed.map((k) => k.key);
    }
    const keys = this.drawKeys.slice(from, from + DRAW_PAGE);
    return { keys, done: from + keys.length >= this.drawKeys.length };
  }

  /** The global ranks of my lobby members, in my key order, from `from` on. */
  drawRanks({ from, ranks }: { from: number; ranks: number[] }): number {
    if (from !== this.n) throw new Error(`shard ${this.id}: draw ranks out of order`);
    for (let i = 0; i < ranks.length; i++) {
      const m = this.lobby[from + i]!;
      this.append(m, ranks[i]!);
      this.world.state[m] = WAITING;
    }
    this.rows += ranks.length;
    if (this.n === this.lobby.length) {
      this.line.load(Array.from({ length: this.n }, (_, i) => i + 1));
      this.lobby = [];
      this.drawKeys = [];
    }
    return ranks.length;
  }

  // --- the tick ---
  report(req: ReportRequest): Report {
    this.admitThrough(req.admitThrough);
    // The block of this tick: every join from now on ranks above anything reported below.
    this.epoch = req.t;
    this.counter = 0;
    this.tickRows++; // the shard's meta row: epoch, cut
    const { heads, more } = this.headsFrom(this.headSlot, req.want);
    const below = req.boundaries.map((b) => this.waitingBelow(b));
    const samples: number[] = [];
    for (const offset of sampleOffsets(this.waiting, BUCKETS)) {
      const slot = Math.min(this.n, this.headSlot + req.skip + offset);
      samples.push(this.ranks[slot - 1]!);
    }
    return { shard: this.id, heads, more, below, samples, waiting: this.waiting, tail: this.n ? this.ranks[this.n - 1]! : 0 };
  }

  moreHeads({ after, want }: { after: number; want: number }): HeadsReport {
    const { heads, more } = this.headsFrom(lowerBound(this.ranks, after + 1, this.n) + 1, want);
    return { shard: this.id, heads, more };
  }

  admit(req: AdmitRequest): { admitted: number } {
    const admitted = this.admitThrough(req.cut);
    if (req.view) this.view = req.view;
    this.pushPositions();
    return { admitted };
  }

  /** Members waiting here with a rank below `rank`: the tree's prefix sum up to the slot of the first rank ≥ it. */
  waitingBelow(rank: number): number {
    return this.line.ahead(lowerBound(this.ranks, rank, this.n) + 1);
  }

  /** 1 + mine below + the others' below, as told by the coordinator (interpolated between boundaries). */
  positionOf(slot: number): number {
    const rank = this.ranks[slot - 1]!;
    return 1 + this.line.ahead(slot) + (this.view ? othersBelow(rank, this.view) : 0);
  }

  /** The others in the bucket this slot's rank falls in: what its position may be off by (plus rounding). */
  positionBound(slot: number): number {
    if (!this.view) return Infinity;
    const b = bucketOf(this.ranks[slot - 1]!, this.view);
    return b.c1 - b.c0 + 1;
  }

  rankOfSlot(slot: number): number {
    return this.ranks[slot - 1]!;
  }

  /** Up to `count` waiting slots spread over my line (the sockets told their position; the checks' sample). */
  sampleSlots(count: number): number[] {
    const out: number[] = [];
    if (this.n < this.headSlot) return out;
    const span = this.n - this.headSlot + 1;
    const step = Math.max(1, span / count);
    for (let x = this.headSlot; x <= this.n && out.length < count; x += step) {
      const slot = Math.floor(x);
      if (this.line.has(slot)) out.push(slot);
    }
    return out;
  }

  private pushPositions(): void {
    for (const slot of this.sampleSlots(SOCKETS_PER_SHARD)) {
      JSON.stringify({ type: 'position', position: this.positionOf(slot) });
      this.positionsPushed++;
    }
  }

  private admitThrough(cut: number | null): number {
    if (cut === null) return 0;
    let admitted = 0;
    while (this.headSlot <= this.n && this.ranks[this.headSlot - 1]! <= cut) {
      const slot = this.headSlot++;
      const m = this.members[slot - 1]!;
      if (!this.line.has(slot)) continue;
      this.line.remove(slot);
      this.world.state[m] = ADMITTED;
      this.world.admittedThisTick++;
      this.world.maxAdmitted = Math.max(this.world.maxAdmitted, this.ranks[slot - 1]!);
      admitted++;
    }
    this.tickRows += admitted;
    return admitted;
  }

  private headsFrom(start: number, want: number): { heads: number[]; more: boolean } {
    while (this.headSlot <= this.n && !this.line.has(this.headSlot)) this.headSlot++;
    const heads: number[] = [];
    let slot = Math.max(start, this.headSlot);
    for (; slot <= this.n && heads.length < want; slot++) if (this.line.has(slot)) heads.push(this.ranks[slot - 1]!);
    let more = false;
    for (; slot <= this.n; slot++)
      if (this.line.has(slot)) {
        more = true;
        break;
      }
    return { heads, more };
  }
}

// ---------------------------------------------------------------------------------------------
// The coordinator: pacing, the cut, the buckets.

interface TickStats {
  t: number;
  quota: number;
  admitted: number;
  messages: number;
  bytes: number;
  coordinatorMs: number;
  shardMs: number[];
  rounds: number;
  missing: number;
}

class Coordinator {
  private saved = 0;
  private lastTickAt: number;
  private cut: number | null = null;
  private boundaries: number[] = [];
  private readonly last = new Map<number, Report>();
  private readonly ackedEpoch: number[];
  rows = 0;

  constructor(
    private readonly shards: Shard[],
    private readonly net: Net,
    private readonly settings: QueueSettings,
  ) {
    this.lastTickAt = settings.onSaleAt;
    this.ackedEpoch = shards.map(() => 0);
  }

  /** The draw: each shard's lobby sorted by draw key, merged here page by page into global ranks 1..L. */
  draw(): { lobby: number; ordered: boolean } {
    const S = this.shards.length;
    const pages: string[][] = [];
    const at = new Array<number>(S).fill(0);
    const fetched = new Array<number>(S).fill(0);
    const done = new Array<boolean>(S).fill(false);
    const out: number[][] = this.shards.map(() => []);
    const sent = new Array<number>(S).fill(0);
    const fetch = (k: number) => {
      const page = this.net.call('draw', this.shards[k]!, Shard.prototype.drawPage, { from: fetched[k]! })!;
      pages[k] = page.keys;
      at[k] = 0;
      fetched[k]! += page.keys.length;
      done[k] = page.done;
    };
    const flush = (k: number) => {
      this.net.call('draw', this.shards[k]!, Shard.prototype.drawRanks, { from: sent[k]!, ranks: out[k]! });
      sent[k]! += out[k]!.length;
      out[k] = [];
    };
    for (let k = 0; k < S; k++) fetch(k);
    let rank = 0;
    let previous = '';
    let ordered = true;
    for (;;) {
      let best = -1;
      for (let k = 0; k < S; k++) {
        if (at[k]! >= pages[k]!.length) continue;
        if (best < 0 || pages[k]![at[k]!]! < pages[best]![at[best]!]!) best = k;
      }
      if (best < 0) break;
      const key = pages[best]![at[best]!++]!;
      if (key < previous) ordered = false;
      previous = key;
      out[best]!.push(++rank);
      if (out[best]!.length >= DRAW_PAGE) flush(best);
      if (at[best]! >= pages[best]!.length && !done[best]) fetch(best);
    }
    for (let k = 0; k < S; k++) flush(k);
    return { lobby: rank, ordered };
  }

  tick(t: number, now: number): TickStats {
    const started = performance.now();
    const callsBefore = this.net.inCalls;
    const messagesBefore = this.net.messages.tick;
    const bytesBefore = this.net.bytes.tick;
    this.net.shardCpu.fill(0);
    const S = this.shards.length;
    const inventory = { total: Number.MAX_SAFE_INTEGER, sold: 0, held: 0 };
    const { credit, slots: quota } = admissionCredit(this.settings, this.saved, this.lastTickAt, now, 0, inventory);
    const want = Math.max(8, Math.ceil((1.5 * quota) / S) + 8);

    const reports: Report[] = [];
    const bounds: number[] = [];
    let missing = 0;
    for (const shard of this.shards) {
      const req: ReportRequest = { t, admitThrough: this.cut, boundaries: this.boundaries, want, skip: Math.ceil(quota / S) };
      const report = this.net.call('tick', shard, Shard.prototype.report, req);
      if (report) {
        reports.push(report);
        this.last.set(shard.id, report);
        this.ackedEpoch[shard.id] = t;
      } else {
        missing++;
        bounds.push(this.boundOf(shard.id));
      }
    }
    // The cut; a shard whose batch ran out below the quota is asked for more (rarely needed).
    const heads: HeadsReport[] = reports.map((r) => ({ shard: r.shard, heads: [...r.heads], more: r.more }));
    let c = cutRank(heads, quota, bounds);
    let rounds = 1;
    while (c.needMoreFrom !== null && rounds < 6) {
      rounds++;
      const h = heads.find((x) => x.shard === c.needMoreFrom)!;
      const more = this.net.call('tick', this.shards[h.shard]!, Shard.prototype.moreHeads, { after: h.heads[h.heads.length - 1]!, want: Math.max(want, quota - c.admitted) });
      if (!more) {
        heads.splice(heads.indexOf(h), 1);
        bounds.push(h.heads[h.heads.length - 1]! + 1);
      } else {
        (h.heads as number[]).push(...more.heads);
        h.more = more.more;
      }
      c = cutRank(heads, quota, bounds);
    }
    const cut = c.cut === null ? this.cut : Math.max(this.cut ?? -Infinity, c.cut);

    // Positions: per boundary, everyone waiting below it after the cut; each shard is sent the others' share.
    const answered = reports.filter((r) => heads.some((h) => h.shard === r.shard));
    const low = heads.reduce((min, h) => {
      const first = h.heads.find((r) => cut === null || r > cut);
      return first === undefined ? min : Math.min(min, first);
    }, Infinity);
    const high = Math.max(0, ...answered.map((r) => r.tail));
    const afterCut = new Map<number, number[]>();
    const totalAfter = new Map<number, number>();
    for (const r of answered) {
      const h = heads.find((x) => x.shard === r.shard)!;
      const taken = cut === null ? [] : h.heads.slice(0, countAtMost(h.heads, cut));
      afterCut.set(r.shard, r.below.map((b, j) => b - lowerBound(taken, this.boundaries[j]!)));
      totalAfter.set(r.shard, r.waiting - taken.length);
    }
    let grandTotal = 0;
    for (const [k, r] of this.last) grandTotal += totalAfter.get(k) ?? r.waiting;
    const grandBelow = this.boundaries.map((_, j) => answered.reduce((sum, r) => sum + afterCut.get(r.shard)![j]!, 0));

    let admitted = 0;
    for (const r of answered) {
      const mine = afterCut.get(r.shard)!;
      const view: OthersView = {
        boundaries: this.boundaries,
        othersBelow: grandBelow.map((g, j) => g - mine[j]!),
        othersTotal: grandTotal - totalAfter.get(r.shard)!,
        low: Number.isFinite(low) ? low : 0,
        high,
      };
      const ack = this.net.call('tick', this.shards[r.shard]!, Shard.prototype.admit, { t, cut, view });
      admitted += ack ? ack.admitted : c.perShard[heads.findIndex((h) => h.shard === r.shard)] ?? 0;
    }
    this.cut = cut;
    this.saved = credit - admitted;
    this.lastTickAt = now;
    this.boundaries = chooseBoundaries(answered.map((r) => r.samples), BUCKETS);
    this.rows++; // the coordinator's pacing row: credit, cut, epoch, tick time
    const coordinatorMs = performance.now() - started - (this.net.inCalls - callsBefore);
    return {
      t,
      quota,
      admitted,
      messages: this.net.messages.tick - messagesBefore,
      bytes: this.net.bytes.tick - bytesBefore,
      coordinatorMs,
      shardMs: Array.from(this.net.shardCpu),
      rounds,
      missing,
    };
  }

  /**
   * Where the cut must stop for a shard that did not answer: below its lowest waiting rank it last
   * reported above the cut, and below the first rank of the last block it acknowledged (it may be
   * numbering joins from that block). Its members are held back; nobody behind them goes first.
   */
  private boundOf(k: number): number {
    const last = this.last.get(k);
    let bound = epochStart(this.ackedEpoch[k]!);
    if (last) {
      const above = last.heads.find((r) => this.cut === null || r > this.cut);
      if (above !== undefined) bound = Math.min(bound, above);
      else if (last.more) bound = Math.min(bound, last.heads[last.heads.length - 1]! + 1);
    }
    return bound;
  }
}

// ---------------------------------------------------------------------------------------------
// One run at one size.

interface RunResult {
  members: number;
  lobby: number;
  ticks: TickStats[];
  admitted: number;
  violations: number;
  drawOrdered: boolean;
  drawMessages: number;
  drawBytes: number;
  drawMs: number;
  joinMessages: number;
  joinBytes: number;
  /** Ticks in which the line never ran dry (for the rate). */
  rateTicks: number;
  rateAdmitted: number;
  heldBack: { ticks: number; admitted: number };
  positionErrors: number[];
  positionsOutOfBound: number;
  positionRelErrors: number[];
  rows: number;
  setupMs: number;
  runMs: number;
}

function run(members: number, label: string, quiet = false): RunResult {
  const log = (line: string) => quiet || console.log(line);
  const setupStarted = performance.now();
  const world = new World(members);
  const net = new Net(SHARDS);
  const shards = Array.from({ length: SHARDS }, (_, k) => new Shard(k, world));
  const random = mulberry32(members);
  const onSaleAt = Date.UTC(2030, 0, 1);
  const settings: QueueSettings = { eventId: EVENT_ID, enabled: true, admitPerMinute: ADMIT_PER_MINUTE, maxActive: Number.MAX_SAFE_INTEGER, tokenMinutes: 10, lobbyMinutes: 30, onSaleAt, version: 1 };
  const coordinator = new Coordinator(shards, net, settings);
  const perTick = (ADMIT_PER_MINUTE / 60_000) * TICK_MS;

  // Who joins when: the lobby first, the rest spread over the ticks the line takes to serve; some leave.
  const lobby = Math.round(members * LOBBY_SHARE);
  const joinTicks = Math.max(1, Math.min(MAX_TICKS, Math.ceil(members / perTick)));
  const leaveAt = new Map<number, number[]>();
  const leaveOf = (m: number, joined: number) => {
    if (random() >= LEAVE_SHARE) return;
    const at = joined + 1 + Math.floor(random() * 30);
    let list = leaveAt.get(at);
    if (!list) leaveAt.set(at, (list = []));
    list.push(m);
  };
  const joinMessage = (m: number, fn: (m: number) => unknown) => {
    const k = shardOf(world.userId(m), SHARDS);
    world.shard[m] = k;
    net.call('join', shards[k]!, fn, m);
  };
  log(`${label}: ${fmt(lobby)} join the lobby over ${SHARDS} shards`);
  for (let m = 0; m < lobby; m++) {
    joinMessage(m, Shard.prototype.joinLobby);
    leaveOf(m, 0);
    if ((m + 1) % 200_000 === 0) log(`${label}:   ${fmt(m + 1)} in the lobby`);
  }
  log(`${label}: the draw (SHA-256 keys at each shard, merged at the coordinator)`);
  const drawStarted = performance.now();
  const callsBefore = net.inCalls;
  const { lobby: drawn, ordered } = coordinator.draw();
  const drawWall = performance.now() - drawStarted;
  const drawMs = drawWall - (net.inCalls - callsBefore);
  if (drawn !== lobby) throw new Error(`the draw ranked ${drawn} of ${lobby}`);
  log(`${label}: drawn ${fmt(drawn)} in ${fmt(drawWall / 1000, 1)} s (coordinator's merge ${fmt(drawMs)} ms)`);
  const setupMs = performance.now() - setupStarted;

  const runStarted = performance.now();
  const ticks: TickStats[] = [];
  let next = lobby;
  let violations = 0;
  let rateTicks = 0;
  let rateAdmitted = 0;
  let heldTicks = 0;
  let heldAdmitted = 0;
  const positionErrors: number[] = [];
  let positionsOutOfBound = 0;
  const positionRelErrors: number[] = [];
  const waitingNow = () => shards.reduce((sum, s) => sum + s.waiting, 0);
  for (let t = 1; t <= MAX_TICKS; t++) {
    // Between ticks: arrivals (post-sale ranks from the shard's current block) and departures.
    const joinsNow = t <= joinTicks ? Math.round(((members - lobby) * t) / joinTicks) - (next - lobby) : 0;
    for (let i = 0; i < joinsNow && next < members; i++, next++) {
      joinMessage(next, Shard.prototype.join);
      leaveOf(next, t);
    }
    for (const m of leaveAt.get(t) ?? []) net.call('join', shards[world.shard[m]!]!, Shard.prototype.leave, m);
    leaveAt.delete(t);
    if (next >= members && waitingNow() === 0) break;

    net.down.clear();
    if (FAIL_TICKS.has(t)) net.down.add(FAIL_SHARD);
    world.admittedThisTick = 0;
    const stats = coordinator.tick(t, settings.onSaleAt + t * TICK_MS);
    ticks.push(stats);
    if (world.admittedThisTick !== stats.admitted && !FAIL_TICKS.has(t)) throw new Error(`tick ${t}: shards admitted ${world.admittedThisTick}, acknowledged ${stats.admitted}`);

    // The checks (not timed, not counted): nobody waits below a rank already admitted.
    const behind = shards.reduce((sum, s) => sum + s.waitingBelow(world.maxAdmitted), 0);
    violations += behind;
    if (behind > 0) log(`${label}: tick ${t}: ${behind} waiting below the highest rank admitted (${world.maxAdmitted})`);
    const left = waitingNow();
    if (stats.missing > 0) {
      heldTicks++;
      heldAdmitted += stats.admitted;
    }
    if (left > 0 && t < MAX_TICKS) {
      rateTicks++;
      rateAdmitted += stats.admitted;
    }
    if (t % 5 === 4 && !FAIL_TICKS.has(t)) {
      // Positions told against exact ones: 1 + everyone waiting below, counted at every shard.
      for (const s of shards) {
        for (const slot of s.sampleSlots(10)) {
          const rank = s.rankOfSlot(slot);
          const exact = 1 + shards.reduce((sum, o) => sum + o.waitingBelow(rank), 0);
          const told = s.positionOf(slot);
          positionErrors.push(Math.abs(told - exact));
          positionRelErrors.push(Math.abs(told - exact) / exact);
          if (Math.abs(told - exact) > s.positionBound(slot)) positionsOutOfBound++;
        }
      }
    }
    if (t % 10 === 0 || t === 1) {
      log(
        `${label}: tick ${t}: admitted ${fmt(stats.admitted)} (quota ${fmt(stats.quota)}), ${fmt(left)} waiting, ${stats.messages} messages, coordinator ${fmt(stats.coordinatorMs, 2)} ms, ` +
          `slowest shard ${fmt(Math.max(...stats.shardMs), 2)} ms${stats.missing ? `, ${stats.missing} shard silent` : ''}`,
      );
    }
  }
  const admitted = ticks.reduce((sum, s) => sum + s.admitted, 0);
  return {
    members,
    lobby,
    ticks,
    admitted,
    violations,
    drawOrdered: ordered,
    drawMessages: net.messages.draw,
    drawBytes: net.bytes.draw,
    drawMs,
    joinMessages: net.messages.join,
    joinBytes: net.bytes.join,
    rateTicks,
    rateAdmitted,
    heldBack: { ticks: heldTicks, admitted: heldAdmitted },
    positionErrors,
    positionsOutOfBound,
    positionRelErrors,
    rows: coordinator.rows + shards.reduce((sum, s) => sum + s.tickRows, 0),
    setupMs,
    runMs: performance.now() - runStarted,
  };
}

// ---------------------------------------------------------------------------------------------

const perTick = (ADMIT_PER_MINUTE / 60_000) * TICK_MS;
log(`queue shards: ${SHARDS} shards, ${fmt(ADMIT_PER_MINUTE)} admissions a minute (${fmt(perTick)} a tick), up to ${MAX_TICKS} ticks; shard ${FAIL_SHARD} silent at ticks ${[...FAIL_TICKS].join(', ')}`);
// A warm-up run first (not reported), so the first size measured does not pay for the JIT; then the
// two sizes alternate, --rounds times, and each figure is the median of the rounds.
log(`warming up (${fmt(SMALL)}, not reported)`);
run(SMALL, 'warm-up', true);
const rounds: Array<[RunResult, RunResult]> = [];
for (let round = 1; round <= ROUNDS; round++) {
  log(`== round ${round}/${ROUNDS}`);
  rounds.push([run(SMALL, `${fmt(SMALL)} r${round}`), run(LARGE, `${fmt(LARGE)} r${round}`)]);
}

interface Summary {
  members: number;
  ticks: number;
  admitted: number;
  ratePct: number;
  messagesPerTick: number;
  messagesPerAdmitted: number;
  bytesPerAdmitted: number;
  bytesPerTick: number;
  coordinatorMs: number;
  shardMs: number;
  slowestShardMs: number;
  extraRounds: number;
  drawBytesPerLobbyMember: number;
  drawMessages: number;
  drawMs: number;
  positionMeanRelPct: number;
  positionMaxRelPct: number;
  positionMaxAbs: number;
  violations: number;
  rowsPerAdmitted: number;
  held: string;
  positionsOutOfBound: number;
}
function summarize(r: RunResult): Summary {
  // The steady ticks: not the first (no boundaries yet), not those with a silent shard, the line not dry.
  const steady = r.ticks.filter((s) => s.t > 1 && s.missing === 0 && s.admitted > 0);
  const tickMessages = r.ticks.reduce((sum, s) => sum + s.messages, 0);
  const tickBytes = r.ticks.reduce((sum, s) => sum + s.bytes, 0);
  return {
    members: r.members,
    ticks: r.ticks.length,
    admitted: r.admitted,
    ratePct: r.rateTicks ? (100 * r.rateAdmitted) / (r.rateTicks * perTick) : NaN,
    messagesPerTick: median(steady.map((s) => s.messages)),
    messagesPerAdmitted: tickMessages / r.admitted,
    bytesPerAdmitted: tickBytes / r.admitted,
    bytesPerTick: median(steady.map((s) => s.bytes)),
    coordinatorMs: median(steady.map((s) => s.coordinatorMs)),
    shardMs: median(steady.flatMap((s) => s.shardMs)),
    slowestShardMs: median(steady.map((s) => Math.max(...s.shardMs))),
    extraRounds: r.ticks.reduce((sum, s) => sum + s.rounds - 1, 0),
    drawBytesPerLobbyMember: r.drawBytes / r.lobby,
    drawMessages: r.drawMessages,
    drawMs: r.drawMs,
    positionMeanRelPct: r.positionRelErrors.length ? (100 * r.positionRelErrors.reduce((a, b) => a + b, 0)) / r.positionRelErrors.length : NaN,
    positionMaxRelPct: r.positionRelErrors.length ? 100 * Math.max(...r.positionRelErrors.filter((rel, i) => rel > 0 && r.positionErrors[i]! / rel >= 1000), 0) : NaN,
    positionMaxAbs: r.positionErrors.length ? Math.max(...r.positionErrors) : NaN,
    violations: r.violations,
    rowsPerAdmitted: r.rows / r.admitted,
    held: `${r.heldBack.ticks} ticks: ${fmt(r.heldBack.admitted)} admitted of ${fmt(r.ticks.filter((s) => s.missing > 0).reduce((sum, s) => sum + s.quota, 0))} quota`,
    positionsOutOfBound: r.positionsOutOfBound,
  };
}

/** Per size, the round's summaries; shown as their median (violations and out-of-bound positions: summed). */
const bySize = [0, 1].map((i) => rounds.map((pair) => summarize(pair[i]!)));
const combine = (list: Summary[]): Summary => {
  const out = { ...list[0]! } as Record<string, unknown>;
  for (const key of Object.keys(out)) {
    const values = list.map((x) => (x as unknown as Record<string, unknown>)[key]);
    if (typeof values[0] === 'number') out[key] = key === 'violations' || key === 'positionsOutOfBound' ? (values as number[]).reduce((a, b) => a + b, 0) : median(values as number[]);
  }
  return out as unknown as Summary;
};
const [small, large] = bySize.map(combine) as [Summary, Summary];
const rows: Array<[string, (s: Summary) => string]> = [
  ['members in line (80 % lobby)', (s) => fmt(s.members)],
  ['ticks run / admitted', (s) => `${s.ticks} / ${fmt(s.admitted)}`],
  ['admission rate vs configured', (s) => `${fmt(s.ratePct, 1)} %`],
  ['FIFO violations (all rounds)', (s) => String(s.violations)],
  ['messages per tick (steady)', (s) => fmt(s.messagesPerTick)],
  ['bytes per tick (steady)', (s) => fmt(s.bytesPerTick)],
  ['messages per admitted shopper', (s) => fmt(s.messagesPerAdmitted, 3)],
  ['bytes per admitted shopper', (s) => fmt(s.bytesPerAdmitted, 1)],
  ['row writes per admitted (ticks)', (s) => fmt(s.rowsPerAdmitted, 3)],
  ['coordinator CPU per tick', (s) => `${fmt(s.coordinatorMs, 3)} ms`],
  ['shard CPU per tick (median)', (s) => `${fmt(s.shardMs, 3)} ms`],
  ['slowest shard per tick', (s) => `${fmt(s.slowestShardMs, 3)} ms`],
  ['shard silent (held back)', (s) => s.held],
  ['extra head rounds (per run)', (s) => String(s.extraRounds)],
  ['position error mean / max', (s) => `${fmt(s.positionMeanRelPct, 2)} % / ${fmt(s.positionMaxRelPct, 1)} % (max ${fmt(s.positionMaxAbs)} places)`],
  ['positions off by more than bucket', (s) => String(s.positionsOutOfBound)],
  ['draw, once: messages', (s) => fmt(s.drawMessages)],
  ['draw, once: bytes per lobby member', (s) => fmt(s.drawBytesPerLobbyMember, 1)],
  ['draw, once: coordinator merge', (s) => `${fmt(s.drawMs)} ms`],
];
log('');
log(`median of ${ROUNDS} round(s), ${SHARDS} shards${''.padEnd(4)}${fmt(small.members).padStart(26)}${fmt(large.members).padStart(36)}`.replace(/^(.{0,34})/, (m) => m.padEnd(34)));
for (const [name, f] of rows) log(`${name.padEnd(34)}${f(small).padStart(26)}${f(large).padStart(36)}`);
const lastLarge = rounds[rounds.length - 1]![1];
log(`(position error max %: among positions of 1,000 or more; joins and leaves: one Worker → shard RPC each, never the coordinator: ${fmt(lastLarge.joinMessages / 2)} calls at ${fmt(large.members)})`);
log(`(tick CPU ratio ${fmt(large.members)} / ${fmt(small.members)}: coordinator ${fmt(large.coordinatorMs / small.coordinatorMs, 2)}×, shard ${fmt(large.shardMs / small.shardMs, 2)}×; one run at ${fmt(large.members)} took ${fmt((lastLarge.setupMs + lastLarge.runMs) / 1000, 1)} s)`);

const checks = bySize.flat().flatMap((s, i) => [
  { label: `FIFO violations after the draw at ${fmt(s.members)}, round ${(i % ROUNDS) + 1}`, value: s.violations, expected: 0, ok: s.violations === 0 },
  { label: `admission rate within ±5 % at ${fmt(s.members)}, round ${(i % ROUNDS) + 1} (per mille of configured)`, value: Math.round(s.ratePct * 10), expected: 1000, ok: Math.abs(s.ratePct - 100) <= 5 },
]);
checks.push(...rounds.flat().map((r) => ({ label: `draw merged in key order at ${fmt(r.members)}`, value: r.drawOrdered ? 1 : 0, expected: 1, ok: r.drawOrdered })));
checks.push(...[small, large].map((s) => ({ label: `positions within their bucket's bound at ${fmt(s.members)}`, value: s.positionsOutOfBound, expected: 0, ok: s.positionsOutOfBound === 0 })));
const figures: Figure[] = bySize.flatMap((list) => {
  const s = combine(list);
  const at = ` at ${fmt(s.members)}`;
  return [
    { label: `messages per admitted shopper${at}`, value: Number(s.messagesPerAdmitted.toFixed(3)) },
    { label: `bytes per admitted shopper${at}`, value: Math.round(s.bytesPerAdmitted), unit: 'B' },
    { label: `messages per tick${at}`, value: s.messagesPerTick },
    roundsFigure(`coordinator CPU per tick${at}`, list.map((x) => Number(x.coordinatorMs.toFixed(3))), 'ms'),
    roundsFigure(`shard CPU per tick${at}`, list.map((x) => Number(x.shardMs.toFixed(3))), 'ms'),
    { label: `position error, mean${at}`, value: Number(s.positionMeanRelPct.toFixed(2)), unit: '%' },
  ];
});
figures.push({
  label: `coordinator tick CPU ${fmt(large.members)} / ${fmt(small.members)}`,
  value: Number((large.coordinatorMs / small.coordinatorMs).toFixed(2)),
  unit: '×',
  target: '≤ 2 (does not grow with the line)',
  met: large.coordinatorMs / small.coordinatorMs <= 2,
});
const options = { members: LARGE, small: SMALL, shards: SHARDS, admitPerMinute: ADMIT_PER_MINUTE, ticks: MAX_TICKS, rounds: ROUNDS, failShard: FAIL_SHARD, failTicks: [...FAIL_TICKS] };
if (RECORD) recordResult('queue-shards', { options, figures, checks });
else console.log(`RESULT ${JSON.stringify({ bench: 'queue-shards', quick: QUICK, options, figures, checks })}`);
const failed = checks.filter((c) => !c.ok);
for (const c of failed) console.error(`FAILED: ${c.label}: ${c.value}, expected ${c.expected}`);
process.exit(failed.length ? 1 : 0);
