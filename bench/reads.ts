// The read path at the runtime's ceiling? Requests per second, with the same connections and side
// by side in alternating rounds, of: a trivial route of the same Worker (an unknown path: the
// middleware, the router and the error shape, nothing else), the cached view of a 200-seat event,
// and at 80,000 seats the seat map, the availability and the full view; and, as controls for what
// the bytes of a body cost on this path, the pages' stylesheet and script (served from memory, no
// work but their bytes), and the script and the availability asked for uncompressed (Miniflare's
// stand-in for Cloudflare's edge gzips every other answer on the Worker's thread). Targets (issue 9): the
// cached 200-seat view and the availability at 80k ≥ 0.8 × the trivial route.
//
// Runs the Worker on the Workers runtime directly (scripts/lib/local-runtime.ts: Miniflare, a fresh
// database, the local Neon proxy), so it can run beside `npm run dev` and the tests.
//
// Usage: npx tsx bench/reads.ts [--connections 16] [--seconds 5] [--rounds 3] [--quick]
//   --quick: one round of 1 s, checking only that every path answers as it should.
import { LOCAL_ADMIN, call, startLocalRuntime } from '../scripts/lib/local-runtime';
import { option } from './lib/options';
import { closeOnSignal } from './lib/signals';
import { median as middle, quick, recordResult, roundsFigure, type Figure } from './lib/results';

const QUICK = quick();
const CONNECTIONS = option('connections', 16);
const SECONDS = option('seconds', QUICK ? 1 : 5);
const ROUNDS = option('rounds', QUICK ? 1 : 3);

type Sections = Array<{ name: string; rows: number; seatsPerRow: number }>;

async function createEvent(base: string, admin: string, label: string, sections: Sections): Promise<string> {
  const performer = await call<{ performer: { id: string } }>(base, '/api/admin/performers', { method: 'POST', token: admin, json: { name: `Bench Band ${label}` } });
  const venue = await call<{ venue: { id: string } }>(base, '/api/admin/venues', { method: 'POST', token: admin, json: { name: `Bench ${label}`, city: 'Springfield', sections } });
  if (venue.status !== 201) throw new Error(`venue creation failed: ${venue.status} ${JSON.stringify(venue.body)}`);
  const prices = Object.fromEntries(sections.map((section, i) => [section.name, 5000 + i * 100]));
  const event = await call<{ event: { id: string } }>(base, '/api/admin/events', {
    method: 'POST',
    token: admin,
    json: { name: `Bench reads ${label}`, performerId: performer.body.performer.id, venueId: venue.body.venue.id, startsAt: new Date(Date.now() + 30 * 86400_000).toISOString(), status: 'published', prices },
  });
  if (event.status !== 201) throw new Error(`event creation failed: ${event.status} ${JSON.stringify(event.body)}`);
  return event.body.event.id;
}

/** Requests/s of one path with CONNECTIONS callers for SECONDS, with latency percentiles and bytes per answer. */
async function run(url: string, expect: number, headers: Record<string, string> = {}): Promise<{ perSecond: number; p50: number; p99: number; bytes: number; encoding: string }> {
  const latencies: number[] = [];
  let bytes = 0;
  let encoding = 'identity';
  const deadline = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < deadline) {
        const sent = performance.now();
        const response = await fetch(url, { headers });
        const body = await response.arrayBuffer();
        if (response.status !== expect) throw new Error(`${url}: answered ${response.status}, expected ${expect}`);
        bytes = body.byteLength;
        encoding = response.headers.get('content-encoding') ?? 'identity';
        latencies.push(performance.now() - sent);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))]!;
  return { perSecond: latencies.length / SECONDS, p50: at(50), p99: at(99), bytes, encoding };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function measure(base: string): Promise<void> {
  const admin = (await call<{ token: string }>(base, '/api/auth/login', { method: 'POST', json: LOCAL_ADMIN })).body.token;
  console.log('creating a 200-seat and an 80,000-seat event …');
  const club = await createEvent(base, admin, '200 seats', [{ name: 'Floor', rows: 10, seatsPerRow: 20 }]);
  const stadium = await createEvent(base, admin, '80,000 seats', Array.from({ length: 40 }, (_, i) => ({ name: `Section ${i + 1}`, rows: 40, seatsPerRow: 50 })));
  // Controls for what a body's size costs on this path (Miniflare's HTTP proxy, Node's fetch): the
  // pages' stylesheet and script, served from the Worker's memory with no work but their bytes.
  const home = await (await fetch(`${base}/`)).text();
  const asset = (ext: string) => home.match(new RegExp(`/assets/app\\.[0-9a-f]+\\.${ext}`))?.[0];
  const [css, js] = [asset('css'), asset('js')];
  if (!css || !js) throw new Error('the home page names no /assets/app.<hash>.css|js');
  // Miniflare's entry worker stands in for Cloudflare's edge, which compresses answers outside the
  // Worker; here it asks workerd to gzip each one, on the same thread. Asking for identity shows
  // what a body costs without that compression.
  const identity = { 'Accept-Encoding': 'identity' };
  const paths: Array<[label: string, path: string, status: number, headers?: Record<string, string>]> = [
    ['trivial route (404)', '/api/no-such-route', 404],
    ['static CSS (control)', css, 200],
    ['static JS (control)', js, 200],
    ['static JS, not compressed (control)', js, 200, identity],
    ['view, 200 seats', `/api/events/${club}`, 200],
    ['seat map, 80k seats', `/api/events/${stadium}/seatmap`, 200],
    ['availability, 80k', `/api/events/${stadium}/availability`, 200],
    ['availability, 80k, not compressed (control)', `/api/events/${stadium}/availability`, 200, identity],
    ['full view, 80k', `/api/events/${stadium}`, 200],
  ];
  // Warm every cache once: what is measured is the cached path.
  for (const [, path, status, headers] of paths) {
    const warm = await fetch(`${base}${path}`, { headers });
    await warm.arrayBuffer();
    if (warm.status !== status) throw new Error(`${path}: ${warm.status}`);
  }
  const results = new Map(paths.map(([label]) => [label, [] as Array<{ perSecond: number; p50: number; p99: number; bytes: number; encoding: string }>]));
  for (let round = 1; round <= ROUNDS; round += 1) {
    for (const [label, path, status, headers] of paths) {
      const measured = await run(`${base}${path}`, status, headers);
      results.get(label)!.push(measured);
      console.log(`round ${round}/${ROUNDS} ${label.padEnd(44)} ${measured.perSecond.toFixed(0).padStart(6)}/s  p50 ${measured.p50.toFixed(1)} ms  p99 ${measured.p99.toFixed(1)} ms  ${measured.bytes} bytes (${measured.encoding})`);
    }
  }
  console.log(`\nmedians of ${ROUNDS} rounds, ${CONNECTIONS} connections, ${SECONDS} s each:`);
  const trivial = median(results.get(paths[0]![0])!.map((r) => r.perSecond));
  for (const [label] of paths) {
    const runs = results.get(label)!;
    const perSecond = median(runs.map((r) => r.perSecond));
    console.log(
      `  ${label.padEnd(44)} ${perSecond.toFixed(0).padStart(6)}/s  ${(perSecond / trivial).toFixed(2)} × trivial  p50 ${median(runs.map((r) => r.p50)).toFixed(1)} ms  p99 ${median(runs.map((r) => r.p99)).toFixed(1)} ms  ${runs[0]!.bytes} bytes`,
    );
  }
  console.log('  targets: view at 200 seats ≥ 0.8 × trivial; availability at 80k ≥ 0.8 × trivial');
  const targets: Record<string, number> = { 'view, 200 seats': 0.8, 'availability, 80k': 0.8 };
  const figures: Figure[] = [];
  const trivialRuns = results.get(paths[0]![0])!.map((r) => r.perSecond);
  for (const [label] of paths) {
    const runs = results.get(label)!;
    figures.push(roundsFigure(`${label}: requests/s`, runs.map((r) => r.perSecond), '/s'));
    if (label === paths[0]![0]) continue;
    // Per round against the trivial route of the same round.
    const ratios = runs.map((r, i) => r.perSecond / trivialRuns[i]!);
    const target = targets[label];
    figures.push(roundsFigure(`${label} ÷ trivial`, ratios, '×', target ? { target: `≥ ${target}`, met: middle(ratios) >= target } : {}));
  }
  recordResult('reads', {
    options: { connections: CONNECTIONS, seconds: SECONDS, rounds: ROUNDS },
    figures,
    checks: [{ label: 'every path answered its status', value: 0, expected: 0, ok: true }],
  });
}

const runtime = await startLocalRuntime('reads');
closeOnSignal(runtime);
let failed = false;
try {
  await measure(runtime.base);
} catch (error) {
  failed = true;
  console.error(error);
  console.error('The read-path benchmark failed; see the message above.');
} finally {
  await runtime.close();
}
process.exit(failed ? 1 : 0);
