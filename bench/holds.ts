// Does a hold cost the same at a club and at a stadium? Holds per second through
// `POST /api/bookings/:eventId` on a 2,000-seat event and on an 80,000-seat one (40 sections × 40
// rows × 50 seats), beside the same route refused by the TicketLock (every seat asked for is held
// already: the same request, session check, event header and RPC, without the writes), measured
// side by side in one run with the same connections. Targets (issue 9): holds/s at 80k ≥ 0.9 ×
// holds/s at 2k, and ≥ 0.5 × the refused requests/s. Beside them (issue 12), best available at
// 80,000 seats (`best: { quantity: 1 }`, the TicketLock choosing the seat) against the holds of one
// named seat at 80,000: target ≥ 0.9 ×. And best available in a standing area (general admission:
// `best: { quantity: 1, section: 'Floor' }` on an 80,000-place event whose floor is 20,000 standing
// places beside 30 seated sections), which must cost what a hold by index does (≥ 0.9 ×).
//
// Runs the Worker on the Workers runtime directly (scripts/lib/local-runtime.ts: Miniflare, a fresh
// database, the local Neon proxy), so it can run beside `npm run dev` and the tests.
//
// Usage: npx tsx bench/holds.ts [--connections 16] [--seconds 8] [--rounds 3] [--quick]
//   --quick: one round of 1 s on fewer events, checking only that every hold and refusal answers as it should.
import { LOCAL_ADMIN, call, startLocalRuntime } from '../scripts/lib/local-runtime';
import { option } from './lib/options';
import { closeOnSignal } from './lib/signals';
import { median as middle, quick, recordResult, roundsFigure } from './lib/results';

const QUICK = quick();
const CONNECTIONS = option('connections', 16);
const SECONDS = option('seconds', QUICK ? 1 : 8);
const ROUNDS = option('rounds', QUICK ? 1 : 3);
const CLUB_EVENTS = QUICK ? 3 : 12;

interface Venue {
  label: string;
  sections: Array<{ name: string; rows: number; seatsPerRow: number } | { name: string; kind: 'standing'; capacity: number }>;
}

const CLUB: Venue = { label: '2,000 seats', sections: [{ name: 'Floor', rows: 40, seatsPerRow: 50 }] };
const STADIUM: Venue = {
  label: '80,000 seats',
  sections: Array.from({ length: 40 }, (_, i) => ({ name: `Section ${i + 1}`, rows: 40, seatsPerRow: 50 })),
};

const STANDING: Venue = {
  label: '80,000 places (20,000 standing)',
  sections: [{ name: 'Floor', kind: 'standing', capacity: 20_000 }, ...Array.from({ length: 30 }, (_, i) => ({ name: `Section ${i + 1}`, rows: 40, seatsPerRow: 50 }))],
};

async function createEvent(base: string, admin: string, venue: Venue): Promise<{ eventId: string; ticketIds: string[] }> {
  const performer = await call<{ performer: { id: string } }>(base, '/api/admin/performers', { method: 'POST', token: admin, json: { name: `Bench Band ${venue.label}` } });
  const created = await call<{ venue: { id: string } }>(base, '/api/admin/venues', {
    method: 'POST',
    token: admin,
    json: { name: `Bench ${venue.label}`, city: 'Springfield', sections: venue.sections },
  });
  if (created.status !== 201) throw new Error(`venue creation failed: ${created.status} ${JSON.stringify(created.body)}`);
  const prices = Object.fromEntries(venue.sections.map((section, i) => [section.name, 5000 + i * 100]));
  const event = await call<{ event: { id: string } }>(base, '/api/admin/events', {
    method: 'POST',
    token: admin,
    json: { name: `Bench on-sale ${venue.label}`, performerId: performer.body.performer.id, venueId: created.body.venue.id, startsAt: new Date(Date.now() + 30 * 86400_000).toISOString(), status: 'published', prices },
  });
  if (event.status !== 201) throw new Error(`event creation failed: ${event.status} ${JSON.stringify(event.body)}`);
  const eventId = event.body.event.id;
  // The full view, once, for the ticket ids (and to warm the TicketLock: its first load is not what is measured).
  const view = await call<{ tickets: Array<{ id: string }> }>(base, `/api/events/${eventId}`);
  return { eventId, ticketIds: view.body.tickets.map((ticket) => ticket.id) };
}

interface Load {
  label: string;
  /** The request of one call; `i` counts the calls of the whole run. */
  request: () => { eventId: string; token: string; ticketIds?: string[]; best?: { quantity: number } };
  expect: number;
}

/** Calls/s of one load with CONNECTIONS callers for SECONDS, with latency percentiles. */
async function run(base: string, load: Load): Promise<{ perSecond: number; p50: number; p99: number }> {
  const latencies: number[] = [];
  const deadline = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < deadline) {
        const { eventId, token, ticketIds, best } = load.request();
        const sent = performance.now();
        const response = await fetch(`${base}/api/bookings/${eventId}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
          body: JSON.stringify(best ? { best } : { ticketIds }),
        });
        const body = await response.text();
        if (response.status !== load.expect) throw new Error(`${load.label}: answered ${response.status} ${body.slice(0, 200)}, expected ${load.expect}`);
        latencies.push(performance.now() - sent);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))]!;
  return { perSecond: latencies.length / SECONDS, p50: at(50), p99: at(99) };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Seats handed out one per hold, over as many events of a size as it takes. */
class SeatSupply {
  private taken = 0;
  constructor(
    private readonly label: string,
    private readonly events: Array<{ eventId: string; ticketIds: string[] }>,
  ) {}

  next(): { eventId: string; ticketId: string } {
    const perEvent = this.events[0]!.ticketIds.length;
    const event = this.events[Math.floor(this.taken / perEvent)];
    if (!event) throw new Error(`all ${this.events.length * perEvent} seats at ${this.label} are held: run with fewer --seconds`);
    return { eventId: event.eventId, ticketId: event.ticketIds[this.taken++ % perEvent]! };
  }
}

async function measure(base: string, signIn: (count: number) => Promise<string[]>): Promise<void> {
  const admin = (await call<{ token: string }>(base, '/api/auth/login', { method: 'POST', json: LOCAL_ADMIN })).body.token;
  console.log(`creating the events: ${CLUB_EVENTS} of 2,000 seats and one of 80,000 …`);
  const clubs = [];
  for (let i = 0; i < CLUB_EVENTS; i += 1) clubs.push(await createEvent(base, admin, CLUB));
  const stadium = await createEvent(base, admin, STADIUM);
  const standing = await createEvent(base, admin, STANDING);
  console.log('signing in buyers …');
  // One seat per hold, buyers taken in turn: nobody nears the ticket limit of 10 per event.
  const buyers = await signIn(CLUB_EVENTS * 1000);
  const blocker = buyers.pop()!;
  // A seat held before the measuring starts: every refused request asks for it.
  const blocked = stadium.ticketIds.at(-1)!;
  const blockedHold = await call(base, `/api/bookings/${stadium.eventId}`, { method: 'POST', token: blocker, json: { ticketIds: [blocked] } });
  if (blockedHold.status !== 201) throw new Error(`could not hold the blocked seat: ${blockedHold.status}`);
  const clubSeats = new SeatSupply(CLUB.label, clubs);
  const stadiumSeats = new SeatSupply(STADIUM.label, [{ eventId: stadium.eventId, ticketIds: stadium.ticketIds.slice(0, -1) }]);
  let buyer = 0;
  const nextBuyer = () => buyers[buyer++ % buyers.length]!;

  const loads: Record<'club' | 'stadium' | 'refused' | 'best' | 'standing', Load> = {
    club: { label: `holds at ${CLUB.label}`, expect: 201, request: () => { const seat = clubSeats.next(); return { eventId: seat.eventId, token: nextBuyer(), ticketIds: [seat.ticketId] }; } },
    stadium: { label: `holds at ${STADIUM.label}`, expect: 201, request: () => { const seat = stadiumSeats.next(); return { eventId: seat.eventId, token: nextBuyer(), ticketIds: [seat.ticketId] }; } },
    refused: { label: 'refused at 80,000 seats', expect: 409, request: () => ({ eventId: stadium.eventId, token: nextBuyer(), ticketIds: [blocked] }) },
    // From the dearest section (the last): the named-seat holds take the first sections' seats.
    best: { label: `best available at ${STADIUM.label}`, expect: 201, request: () => ({ eventId: stadium.eventId, token: nextBuyer(), best: { quantity: 1 } }) },
    standing: { label: 'best in a 20,000-place standing area', expect: 201, request: () => ({ eventId: standing.eventId, token: nextBuyer(), best: { quantity: 1, section: 'Floor' } }) },
  };
  const results = { club: [] as Array<{ perSecond: number; p50: number; p99: number }>, stadium: [] as Array<{ perSecond: number; p50: number; p99: number }>, refused: [] as Array<{ perSecond: number; p50: number; p99: number }>, best: [] as Array<{ perSecond: number; p50: number; p99: number }>, standing: [] as Array<{ perSecond: number; p50: number; p99: number }> };
  for (let round = 1; round <= ROUNDS; round += 1) {
    // Alternated within each round, so a noisy neighbour slows all four alike.
    for (const key of ['club', 'stadium', 'refused', 'best', 'standing'] as const) {
      const measured = await run(base, loads[key]);
      results[key].push(measured);
      console.log(`round ${round}/${ROUNDS} ${loads[key].label.padEnd(24)} ${measured.perSecond.toFixed(0).padStart(6)}/s  p50 ${measured.p50.toFixed(1)} ms  p99 ${measured.p99.toFixed(1)} ms`);
    }
  }
  const summary = (key: keyof typeof results) => ({
    perSecond: median(results[key].map((r) => r.perSecond)),
    p50: median(results[key].map((r) => r.p50)),
    p99: median(results[key].map((r) => r.p99)),
  });
  const club = summary('club');
  const big = summary('stadium');
  const refused = summary('refused');
  const best = summary('best');
  const standingBest = summary('standing');
  console.log(`\nmedians of ${ROUNDS} rounds, ${CONNECTIONS} connections, ${SECONDS} s each:`);
  for (const [label, figure] of [['holds at 2,000 seats', club], ['holds at 80,000 seats', big], ['refused by the lock', refused], ['best available at 80k', best], ['best standing at 80k', standingBest]] as const) {
    console.log(`  ${label.padEnd(22)} ${figure.perSecond.toFixed(0).padStart(6)}/s  p50 ${figure.p50.toFixed(1)} ms  p99 ${figure.p99.toFixed(1)} ms`);
  }
  console.log(`  80k ÷ 2k = ${(big.perSecond / club.perSecond).toFixed(2)} (target ≥ 0.9); 80k ÷ refused = ${(big.perSecond / refused.perSecond).toFixed(2)} (target ≥ 0.5)`);
  console.log(`  best available ÷ holds of a named seat, both at 80k = ${(best.perSecond / big.perSecond).toFixed(2)} (target ≥ 0.9)`);
  const ratios = (a: keyof typeof results, b: keyof typeof results) => results[a].map((r, i) => r.perSecond / results[b][i]!.perSecond);
  const vsClub = ratios('stadium', 'club');
  const vsRefused = ratios('stadium', 'refused');
  const bestVsNamed = ratios('best', 'stadium');
  const standingVsNamed = ratios('standing', 'stadium');
  console.log(`  best in a 20,000-place standing area ÷ holds of a named seat at 80k = ${(standingBest.perSecond / big.perSecond).toFixed(2)} (target ≥ 0.9)`);
  recordResult('holds', {
    options: { connections: CONNECTIONS, seconds: SECONDS, rounds: ROUNDS },
    figures: [
      roundsFigure('holds at 2,000 seats', results.club.map((r) => r.perSecond), '/s'),
      roundsFigure('holds at 80,000 seats', results.stadium.map((r) => r.perSecond), '/s'),
      roundsFigure('refused by the lock (80,000 seats)', results.refused.map((r) => r.perSecond), '/s'),
      roundsFigure('hold p99 at 80,000 seats', results.stadium.map((r) => r.p99), 'ms'),
      // Ratios per round (the rounds alternate the loads), their median, min and max.
      roundsFigure('holds/s at 80k ÷ at 2k', vsClub, '×', { target: '≥ 0.9', met: middle(vsClub) >= 0.9 }),
      roundsFigure('holds/s at 80k ÷ refused', vsRefused, '×', { target: '≥ 0.5', met: middle(vsRefused) >= 0.5 }),
      roundsFigure('best available at 80,000 seats', results.best.map((r) => r.perSecond), '/s'),
      roundsFigure('best available ÷ holds of a named seat at 80k', bestVsNamed, '×', { target: '≥ 0.9', met: middle(bestVsNamed) >= 0.9 }),
      roundsFigure('best in a 20,000-place standing area (80,000 places)', results.standing.map((r) => r.perSecond), '/s'),
      roundsFigure('best standing ÷ holds of a named seat at 80k', standingVsNamed, '×', { target: '≥ 0.9', met: middle(standingVsNamed) >= 0.9 }),
    ],
    // Every call answered as expected, or the run stopped (run() throws on any other status).
    checks: [{ label: 'holds and refusals answered 201 / 409', value: 0, expected: 0, ok: true }],
  });
}

const runtime = await startLocalRuntime('holds');
closeOnSignal(runtime);
let failed = false;
try {
  await measure(runtime.base, runtime.signIn);
} catch (error) {
  failed = true;
  console.error(error);
  console.error('The holds benchmark failed; see the message above.');
} finally {
  await runtime.close();
}
process.exit(failed ? 1 : 0);
