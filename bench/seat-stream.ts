// How long a seat change takes to reach the people watching the seat map: the time from a hold
// request being answered to its `seats` frame arriving on the seat stream, measured with the
// clock of this Node process (inside workerd, time only moves on I/O, so a test cannot see it),
// beside the hold's own round trip measured in the same run.
//
// Runs the Worker on the Workers runtime directly (bench/lib/local-runtime.ts: Miniflare, a fresh
// database, the local Neon proxy), so it can run beside `npm run dev` and the tests.
//
// The streams are held by client processes (bench/lib/seat-stream-client.ts, forked and run with
// tsx), each with its share, so that one Node thread reading 10,000 sockets is not the tail. They
// report each frame's arrival on a clock shared across processes; this process makes the holds.
// Besides hold → frame, it measures where the time goes: per hold the FIRST arrival over all
// watchers (the batch window, the relay's push, one read) and the spread from first to last (the
// fan-out), overall, per relay (the X-Seat-Relay header says which served a stream) and per client
// process; and the CPU time of workerd, the client processes and this one over the holds.
//
// Usage: npx tsx bench/seat-stream.ts [--holds 20] [--watchers 1] [--clients 4 | --clients 1,2,4] [--quick]
//   (issue 9's target is at 10,000 watchers: `npm run bench` passes --watchers 10000; --quick: 5 holds)
//   --clients: client processes (default 4 at 2,000 watchers or more, else 1); a list measures each
//   in turn on the same runtime (a new event each), to tell whether the clients or the server limit the spread.
//   --perf: profile workerd with Linux perf over the holds (the last --clients round) and print its time by layer.
//   --relay-share: one more round at 10,000 / RELAYS_PER_EVENT watchers, standing for each relay of
//   a 10,000-watcher event when every relay has a thread of its own (see RELAY_SHARE below).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LOCAL_ADMIN, call, startLocalRuntime } from '../scripts/lib/local-runtime';
import { option } from './lib/options';
import { closeOnSignal } from './lib/signals';
import { readdirSync, readFileSync } from 'node:fs';
import { quick, recordResult, type Figure } from './lib/results';
import { sharedNow, type ChildMessage, type ParentMessage } from './lib/seat-stream-client';
import { startProfile, type Profile } from './lib/workerd-profile';
import { RELAYS_PER_EVENT } from '../src/durable/object-name';

const HOLDS = option('holds', quick() ? 5 : 20);
const WATCHERS = option('watchers', 1);
const TARGET_WATCHERS = 10_000;
const TARGET_P99_MS = 250;
const CLIENT_COUNTS = (() => {
  const index = process.argv.indexOf('--clients');
  if (index < 0) return [WATCHERS >= 2000 ? 4 : 1];
  const counts = (process.argv[index + 1] ?? '').split(',').map(Number);
  if (!counts.length || counts.some((count) => !Number.isInteger(count) || count < 1 || count > WATCHERS)) throw new Error('--clients must be positive integers (at most --watchers), comma-separated');
  return counts;
})();
const PROFILE = process.argv.includes('--perf');
/**
 * One more round at one relay's share of the target (10,000 / RELAYS_PER_EVENT watchers, spread
 * over the relays as always). Here every relay and the Worker share one workerd thread; deployed,
 * each relay is an object of its own on its own machine, so what one relay's share costs this one
 * thread is what each of the 8 would spend in parallel at 10,000: the scale this machine cannot
 * show, simulated (it still pays all 8 publishes and the Worker's side of every stream).
 */
const RELAY_SHARE = process.argv.includes('--relay-share');
const CLIENT_SCRIPT = fileURLToPath(new URL('./lib/seat-stream-client.ts', import.meta.url));

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
const sortedCopy = (values: number[]) => [...values].sort((a, b) => a - b);
const median = (values: number[]) => percentile(sortedCopy(values), 50);
const round1 = (value: number) => Math.round(value * 10) / 10;
const ms = (value: number) => `${value.toFixed(1)} ms`;

// Streams are opened OPEN_AT_ONCE at a time per client process. A frame's time is taken when its
// chunk arrives, before parsing; a client with thousands of sockets still queues them on its one
// thread, which is why there are several (the tail counts that queueing against the target).
const OPEN_AT_ONCE = 200;

interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  /** utime + stime, in clock ticks */
  cpuTicks: number;
}

function procStat(pid: number | string): ProcStat | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8').trim();
  } catch {
    return null;
  }
  const [, comm, rest] = /^\d+ \((.*)\) (.*)$/.exec(stat) ?? [];
  if (!rest) return null;
  const fields = rest.split(' '); // fields[0] is the state (field 3 of stat)
  return { pid: Number(pid), comm: comm!, ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

/** The workerd processes Miniflare started (children of this process). */
function workerdPids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map((pid) => procStat(pid))
      .filter((stat): stat is ProcStat => stat?.comm === 'workerd' && stat.ppid === process.pid)
      .map((stat) => stat.pid);
  } catch {
    return [];
  }
}

/** Resident memory of the workerd processes, in bytes; null where /proc is missing. */
function workerdRss(): number | null {
  try {
    let total = 0;
    for (const pid of workerdPids()) total += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
    return total || null;
  } catch {
    return null;
  }
}

/** Open files (sockets included) of the workerd processes; null where /proc is missing. */
function workerdOpenFiles(): number | null {
  try {
    const pids = workerdPids();
    return pids.length ? pids.reduce((total, pid) => total + readdirSync(`/proc/${pid}/fd`).length, 0) : null;
  } catch {
    return null;
  }
}

/**
 * After a round's clients went away, until workerd has closed their sockets: a process may open
 * 20,000 files here, so a second round of 10,000 streams opened while the first round's are still
 * open makes workerd fail its accept() (and exit).
 */
async function waitForSocketsClosed(baseline: number | null, timeoutMs = 60_000): Promise<void> {
  if (baseline === null) return;
  const deadline = Date.now() + timeoutMs;
  let open = workerdOpenFiles();
  while (open !== null && open > baseline + 200 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    open = workerdOpenFiles();
  }
  if (open !== null && open > baseline + 200) console.warn(`workerd still has ${open} files open (${baseline} before the round)`);
}

/** The clock ticks a second of /proc/<pid>/stat (sysconf(_SC_CLK_TCK): 100 on Linux). */
const CLOCK_TICKS = 100;

/** CPU seconds (user + system) of the workerd processes, the client processes and this one, so far. */
function cpuSeconds(clients: ClientProcess[]): { workerd: number; clients: number; bench: number } | null {
  const sum = (pids: number[]) => pids.reduce((total, pid) => total + (procStat(pid)?.cpuTicks ?? 0), 0) / CLOCK_TICKS;
  const workerd = workerdPids();
  if (!workerd.length) return null;
  const own = process.cpuUsage();
  return { workerd: sum(workerd), clients: sum(clients.map((client) => client.child.pid!)), bench: (own.user + own.system) / 1e6 };
}

interface Frame {
  times: number[];
  relays: number[];
  statuses: string[];
}

/** One forked client process and the frames it reported. */
class ClientProcess {
  readonly child: ChildProcess;
  private readonly frames = new Map<number, Frame>();
  private waiting: (() => void) | null = null;
  private failure: Error | null = null;
  private opened: ((relays: number[]) => void) | null = null;

  constructor() {
    this.child = fork(CLIENT_SCRIPT, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (message: ChildMessage) => {
      if (message.type === 'opened') this.opened?.(message.relays);
      else if (message.type === 'frame') this.frames.set(message.index, message);
      else this.failure = new Error(`client process: ${message.message}`);
      this.waiting?.();
    });
    this.child.on('exit', (code) => {
      if (!this.closing) this.failure ??= new Error(`client process exited (${code})`);
      this.waiting?.();
    });
  }

  private closing = false;

  private post(message: ParentMessage): void {
    this.child.send(message);
  }

  open(url: string, count: number): Promise<number[]> {
    return new Promise<number[]>((resolve, reject) => {
      this.opened = resolve;
      this.waiting = () => this.failure && reject(this.failure);
      this.post({ type: 'open', url, count, openAtOnce: OPEN_AT_ONCE });
    });
  }

  /** The index-th seats frame at every stream of this process. */
  async frame(index: number, timeoutMs = 10_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.failure) throw this.failure;
      const frame = this.frames.get(index);
      if (frame) {
        this.frames.delete(index);
        return frame;
      }
      if (Date.now() > deadline) throw new Error(`no seats frame ${index} at every stream within ${timeoutMs / 1000} s`);
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
        setTimeout(resolve, 50);
      });
    }
  }

  close(): Promise<void> {
    this.closing = true;
    if (this.child.exitCode !== null || !this.child.connected) return Promise.resolve();
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.post({ type: 'close' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    return exited.finally(() => clearTimeout(timer));
  }
}

/** Per hold: when the first and the last watcher of a group had the frame, after the hold was answered. */
interface Span {
  first: number;
  spread: number;
}

function span(times: number[], answered: number): Span {
  let min = Infinity;
  let max = -Infinity;
  for (const time of times) {
    if (time < min) min = time;
    if (time > max) max = time;
  }
  return { first: min - answered, spread: max - min };
}

interface Round {
  clients: number;
  watchers: number;
  /** The round that stands for one of RELAYS_PER_EVENT relays at the target (see --relay-share). */
  relayShare: boolean;
  afterAnswer: number[];
  afterRequest: number[];
  roundTrips: number[];
  /** Per hold, over every watcher. */
  spans: Span[];
  /** Per relay, per hold. */
  relaySpans: Map<number, Span[]>;
  /** Watchers each relay served. */
  relayWatchers: Map<number, number>;
  /** Per client process, per hold. */
  clientSpans: Span[][];
  openSeconds: number;
  holdSeconds: number;
  cpu: { workerd: number; clients: number; bench: number } | null;
  rss: { before: number | null; after: number | null };
  profile: Profile | null;
}

async function setUpEvent(base: string, admin: string, n: number): Promise<{ eventId: string; seat: string }> {
  const performer = await call<{ performer: { id: string } }>(base, '/api/admin/performers', { method: 'POST', token: admin, json: { name: `Bench Band ${n}` } });
  const venue = await call<{ venue: { id: string } }>(base, '/api/admin/venues', {
    method: 'POST',
    token: admin,
    json: { name: `Bench Hall ${n}`, city: 'Springfield', sections: [{ name: 'Floor', rows: 2, seatsPerRow: 10 }] },
  });
  const event = await call<{ event: { id: string } }>(base, '/api/admin/events', {
    method: 'POST',
    token: admin,
    json: { name: `Bench Night ${n}`, performerId: performer.body.performer.id, venueId: venue.body.venue.id, startsAt: new Date(Date.now() + 30 * 86400_000).toISOString(), status: 'published', prices: { Floor: 5000 } },
  });
  if (event.status !== 201) throw new Error(`event creation failed: ${event.status} ${JSON.stringify(event.body)}`);
  const eventId = event.body.event.id;
  const view = await call<{ tickets: Array<{ id: string }> }>(base, `/api/events/${eventId}`);
  return { eventId, seat: view.body.tickets[0]!.id };
}

async function measureRound(base: string, admin: string, buyer: string, clientCount: number, profile: boolean, watchers = WATCHERS, relayShare = false): Promise<Round> {
  const { eventId, seat } = await setUpEvent(base, admin, clientCount + (relayShare ? 100 : 0));
  const filesBefore = workerdOpenFiles();
  const clients = Array.from({ length: clientCount }, () => new ClientProcess());
  try {
    const rssBefore = workerdRss();
    const opening = performance.now();
    const shares = clients.map((_, k) => Math.floor(watchers / clientCount) + (k < watchers % clientCount ? 1 : 0));
    const relaysByClient = await Promise.all(clients.map((client, k) => client.open(`${base}/api/events/${eventId}/seats/stream`, shares[k]!)));
    const openSeconds = (performance.now() - opening) / 1000;
    const rssAfter = workerdRss();
    const relayWatchers = new Map<number, number>();
    for (const relay of relaysByClient.flat()) relayWatchers.set(relay, (relayWatchers.get(relay) ?? 0) + 1);
    console.log(`[${clientCount} client process${clientCount > 1 ? 'es' : ''}] ${watchers} streams open, each with its snapshot, in ${openSeconds.toFixed(1)} s; per relay: ${[...relayWatchers].sort(([a], [b]) => a - b).map(([relay, count]) => `${relay}: ${count}`).join(', ')}`);

    const round: Round = {
      clients: clientCount,
      watchers,
      relayShare,
      afterAnswer: [],
      afterRequest: [],
      roundTrips: [],
      spans: [],
      relaySpans: new Map(),
      relayWatchers,
      clientSpans: clients.map(() => []),
      openSeconds,
      holdSeconds: 0,
      cpu: null,
      rss: { before: rssBefore, after: rssAfter },
      profile: null,
    };
    let profiler: ReturnType<typeof startProfile> = null;
    let frameIndex = 0;
    const frames = async (expected: string): Promise<Frame[]> => {
      const index = frameIndex++;
      const all = await Promise.all(clients.map((client) => client.frame(index)));
      const wrong = all.flatMap((frame) => frame.statuses).filter((status) => status !== expected).length;
      if (wrong) throw new Error(`${wrong} watcher(s) got a frame whose change is not '${expected}'`);
      return all;
    };
    let cpuStart = null as ReturnType<typeof cpuSeconds>;
    let holdsStart = 0;
    for (let i = -3; i < HOLDS; i += 1) {
      if (i === 0) {
        cpuStart = cpuSeconds(clients);
        holdsStart = performance.now();
        const [workerd] = workerdPids();
        if (profile && workerd) profiler = startProfile(workerd);
      }
      const sent = sharedNow();
      const held = await call<{ bookingId: string }>(base, `/api/bookings/${eventId}`, { method: 'POST', token: buyer, json: { ticketIds: [seat] } });
      const answered = sharedNow();
      if (held.status !== 201) throw new Error(`hold failed: ${held.status} ${JSON.stringify(held.body)}`);
      const reserved = await frames('reserved');
      if (i >= 0) {
        const everyTime: number[] = [];
        const byRelay = new Map<number, number[]>();
        reserved.forEach((frame, k) => {
          round.clientSpans[k]!.push(span(frame.times, answered));
          frame.times.forEach((time, w) => {
            everyTime.push(time);
            round.afterAnswer.push(time - answered);
            round.afterRequest.push(time - sent);
            const relay = frame.relays[w]!;
            const list = byRelay.get(relay);
            if (list) list.push(time);
            else byRelay.set(relay, [time]);
          });
        });
        round.roundTrips.push(answered - sent);
        round.spans.push(span(everyTime, answered));
        for (const [relay, times] of byRelay) {
          const list = round.relaySpans.get(relay) ?? [];
          list.push(span(times, answered));
          round.relaySpans.set(relay, list);
        }
      }
      await call(base, `/api/bookings/${held.body.bookingId}`, { method: 'DELETE', token: buyer });
      await frames('available');
    }
    round.holdSeconds = (performance.now() - holdsStart) / 1000;
    const cpuEnd = cpuSeconds(clients);
    if (cpuStart && cpuEnd) round.cpu = { workerd: cpuEnd.workerd - cpuStart.workerd, clients: cpuEnd.clients - cpuStart.clients, bench: cpuEnd.bench - cpuStart.bench };
    round.profile = (await profiler?.stop()) ?? null;
    return round;
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await waitForSocketsClosed(filesBefore);
  }
}

function report(round: Round): Figure[] {
  const tag = `${round.clients} client process${round.clients > 1 ? 'es' : ''}`;
  const sorted = sortedCopy(round.afterAnswer);
  const p50 = percentile(sorted, 50);
  const p99 = percentile(sorted, 99);
  const firsts = round.spans.map((s) => s.first);
  const spreads = round.spans.map((s) => s.spread);
  console.log(`[${tag}] hold answered → watcher frame over ${sorted.length} frames (${round.watchers} watchers): p50 ${ms(p50)}, p99 ${ms(p99)}, max ${ms(sorted.at(-1)!)}`);
  console.log(`[${tag}] per hold, first watcher's frame after the answer (batch window + relay push + one read): median ${ms(median(firsts))}, min ${ms(Math.min(...firsts))}, max ${ms(Math.max(...firsts))}`);
  console.log(`[${tag}] per hold, first → last watcher (the fan-out): median ${ms(median(spreads))}, min ${ms(Math.min(...spreads))}, max ${ms(Math.max(...spreads))}`);
  const relayLines = [...round.relaySpans].sort(([a], [b]) => a - b);
  for (const [relay, spans] of relayLines) {
    console.log(
      `[${tag}]   relay ${relay} (${round.relayWatchers.get(relay)} watchers): first after the answer median ${ms(median(spans.map((s) => s.first)))}, first → last median ${ms(median(spans.map((s) => s.spread)))}, max ${ms(Math.max(...spans.map((s) => s.spread)))}`,
    );
  }
  round.clientSpans.forEach((spans, k) => {
    console.log(`[${tag}]   client ${k}: first after the answer median ${ms(median(spans.map((s) => s.first)))}, first → last median ${ms(median(spans.map((s) => s.spread)))}`);
  });
  const relayMedianSpread = median(relayLines.map(([, spans]) => median(spans.map((s) => s.spread))));
  const clientMedianSpread = median(round.clientSpans.map((spans) => median(spans.map((s) => s.spread))));
  if (round.cpu) {
    const wall = round.holdSeconds;
    const share = (seconds: number) => `${seconds.toFixed(2)} s (${((seconds / wall) * 100).toFixed(0)}% of one core)`;
    console.log(`[${tag}] CPU over the ${HOLDS} holds (${wall.toFixed(1)} s): workerd ${share(round.cpu.workerd)}, client processes ${share(round.cpu.clients)}, this process ${share(round.cpu.bench)}`);
    // Each hold is two frames at every watcher (reserved, then available again).
    const perFrame = (seconds: number) => `${((seconds / (HOLDS * 2 * round.watchers)) * 1e6).toFixed(0)} µs`;
    console.log(`[${tag}] CPU per frame per watcher: workerd ${perFrame(round.cpu.workerd)}, client processes ${perFrame(round.cpu.clients)} (× ${round.watchers} watchers on one workerd thread is the fan-out's floor)`);
  }
  if (round.profile) {
    console.log(`[${tag}] workerd profile over the holds (perf, ${round.profile.samples} samples), by layer: ${round.profile.layers.map(({ layer, percent }) => `${layer} ${percent}%`).join('; ')}`);
    console.log(`[${tag}] top symbols: ${round.profile.top.map(({ symbol, percent }) => `${percent}% ${symbol}`).join('\n    ')}`);
  }
  if (round.rss.before !== null && round.rss.after !== null) {
    const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
    console.log(`[${tag}] workerd resident memory: ${mb(round.rss.before)} MB before the streams, ${mb(round.rss.after)} MB with them open: ${((round.rss.after - round.rss.before) / round.watchers / 1024).toFixed(1)} KB a watcher`);
  }
  for (const [label, values] of [['hold answered → frame', round.afterAnswer], ['hold sent → frame', round.afterRequest], ['hold round trip', round.roundTrips]] as const) {
    const s = sortedCopy(values);
    console.log(`[${tag}] ${label.padEnd(22)} ${HOLDS} holds × ${round.watchers} watcher(s): median ${ms(percentile(s, 50))}, p90 ${ms(percentile(s, 90))}, min ${ms(s[0]!)}, max ${ms(s.at(-1)!)}`);
  }
  const atTarget = round.watchers >= TARGET_WATCHERS || round.relayShare;
  const suffix = round.relayShare
    ? ` (one relay's share of ${TARGET_WATCHERS.toLocaleString('en')}: ${round.watchers.toLocaleString('en')} watchers, ${tag})`
    : ` (${round.watchers.toLocaleString('en')} watchers, ${tag})`;
  const figures: Figure[] = [
    {
      label: `hold answered → watcher frame, p99${suffix}`,
      value: round1(p99),
      unit: 'ms',
      target: round.relayShare
        ? `≤ ${TARGET_P99_MS} ms at ${TARGET_WATCHERS.toLocaleString('en')} on ${RELAYS_PER_EVENT} relays in parallel (simulated)`
        : atTarget
          ? `≤ ${TARGET_P99_MS} ms`
          : `≤ ${TARGET_P99_MS} ms at ${TARGET_WATCHERS.toLocaleString('en')} watchers (not measured here)`,
      ...(atTarget ? { met: p99 <= TARGET_P99_MS } : {}),
    },
    { label: `hold answered → watcher frame, median${suffix}`, value: round1(p50), unit: 'ms' },
    { label: `first watcher's frame after the answer, median over holds (batch window + relay push + read)${suffix}`, value: round1(median(firsts)), unit: 'ms', min: round1(Math.min(...firsts)), max: round1(Math.max(...firsts)), rounds: firsts.length },
    { label: `first → last watcher's frame (the fan-out), median over holds${suffix}`, value: round1(median(spreads)), unit: 'ms', min: round1(Math.min(...spreads)), max: round1(Math.max(...spreads)), rounds: spreads.length },
    { label: `first → last within one relay, median of the relays' medians${suffix}`, value: round1(relayMedianSpread), unit: 'ms' },
    { label: `first → last within one client process, median of the processes' medians${suffix}`, value: round1(clientMedianSpread), unit: 'ms' },
    { label: `hold round trip, median${suffix}`, value: round1(median(round.roundTrips)), unit: 'ms' },
  ];
  for (const { layer, percent } of round.profile?.layers ?? []) figures.push({ label: `workerd time in ${layer} (perf samples over the holds)${suffix}`, value: percent, unit: '%' });
  if (round.cpu) {
    figures.push(
      { label: `workerd CPU over the holds, share of one core${suffix}`, value: Math.round((round.cpu.workerd / round.holdSeconds) * 100), unit: '%' },
      { label: `client processes' CPU over the holds, share of one core${suffix}`, value: Math.round((round.cpu.clients / round.holdSeconds) * 100), unit: '%' },
      { label: `workerd CPU per frame per watcher${suffix}`, value: Math.round((round.cpu.workerd / (HOLDS * 2 * round.watchers)) * 1e6), unit: 'µs' },
      { label: `client processes' CPU per frame per watcher${suffix}`, value: Math.round((round.cpu.clients / (HOLDS * 2 * round.watchers)) * 1e6), unit: 'µs' },
    );
  }
  return figures;
}

async function measure(base: string): Promise<void> {
  const admin = (await call<{ token: string }>(base, '/api/auth/login', { method: 'POST', json: LOCAL_ADMIN })).body.token;
  const buyer = (await call<{ token: string }>(base, '/api/auth/signup', { method: 'POST', json: { email: `bench-${Date.now()}@example.com`, password: 'correct-horse-battery', name: 'Bench Buyer' } })).body.token;
  const rounds: Round[] = [];
  const figures: Figure[] = [];
  for (const clientCount of CLIENT_COUNTS) {
    const round = await measureRound(base, admin, buyer, clientCount, PROFILE && clientCount === CLIENT_COUNTS.at(-1));
    rounds.push(round);
    figures.push(...report(round));
  }
  if (rounds.length > 1) {
    console.log('fan-out (first → last watcher, median over holds) by client processes:');
    for (const round of rounds) {
      console.log(`  ${round.clients}: ${ms(median(round.spans.map((s) => s.spread)))} (p99 ${ms(percentile(sortedCopy(round.afterAnswer), 99))}, first ${ms(median(round.spans.map((s) => s.first)))})`);
    }
  }
  if (RELAY_SHARE) {
    const share = Math.ceil(TARGET_WATCHERS / RELAYS_PER_EVENT);
    console.log(`one relay's share of ${TARGET_WATCHERS.toLocaleString('en')} watchers: ${share} (simulating ${RELAYS_PER_EVENT} relays, each on its own thread) …`);
    const round = await measureRound(base, admin, buyer, 1, false, share, true);
    rounds.push(round);
    figures.push(...report(round));
  }
  const main = rounds.filter((round) => !round.relayShare).at(-1)!;
  console.log(`a watcher sees a hold ${(median(main.afterRequest) / median(main.roundTrips)).toFixed(1)}× the hold's own round trip after it was sent (the batch window is 100 ms)`);
  recordResult('seat-stream', {
    options: { holds: HOLDS, watchers: WATCHERS, clients: CLIENT_COUNTS.join(','), ...(RELAY_SHARE ? { relayShare: Math.ceil(TARGET_WATCHERS / RELAYS_PER_EVENT) } : {}) },
    figures,
    checks: [{ label: 'every hold reached every watcher', value: 0, expected: 0, ok: true }],
  });
}

const runtime = await startLocalRuntime('seat_stream');
closeOnSignal(runtime);
let failed = false;
try {
  await measure(runtime.base);
} catch (error) {
  failed = true;
  console.error(error);
  console.error('The seat-stream benchmark failed; see the message above.');
} finally {
  await runtime.close();
}
process.exit(failed ? 1 : 0);
