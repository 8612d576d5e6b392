// What one tick of a WaitingRoom costs with 1,000 and with 100,000 people in line (invariant 8: it
// must not grow with the line; target: the 100k tick takes at most 2 × the 1k tick).
//
// On the Workers runtime directly (Miniflare over workerd, scripts/lib/local-runtime.ts), with
// BENCH_ROUTES=true so the room's bench RPCs answer: two events, one room each; a real member
// joins each (the room takes its settings and draws), then the crowd is put straight into the
// room's storage (benchFill: people without a socket each, present elsewhere), then --sockets real
// WebSockets wait behind it, so every tick tells them their new positions. Each round times
// --ticks ticks in a row in each room (benchTicks: each as if a second had passed, so each admits a
// second's worth), the two sizes alternating; the report is the median over rounds of the time per
// tick, seen from Node around the RPC (it includes the call and the tick's own call to the
// TicketLock, the same at both sizes), and the SQL rows each tick read.
//
// Usage: npx tsx bench/queue-tick.ts [--rounds 7] [--ticks 20] [--sockets 50] [--small 1000] [--large 100000] [--quick]
//   --quick: 3 rounds of 5 ticks at 1,000 and 10,000, checking only that the ticks run and the sockets hear them.
import WebSocket from 'ws';
import { LOCAL_ADMIN, call, startLocalRuntime } from '../scripts/lib/local-runtime';
import { option } from './lib/options';
import { closeOnSignal } from './lib/signals';
import { quick, recordResult, roundsFigure } from './lib/results';

const QUICK = quick();
const ROUNDS = option('rounds', QUICK ? 3 : 7);
const TICKS = option('ticks', QUICK ? 5 : 20);
const SOCKETS = option('sockets', QUICK ? 10 : 50);
const SIZES = [option('small', 1_000), option('large', QUICK ? 10_000 : 100_000)] as const;
const TARGET = 2;
/** Two admissions a tick: the 1,000 room does not run dry over the run (7 × 20 ticks by default). */
const ADMIT_PER_MINUTE = 120;

type RoomStub = { benchFill(count: number): Promise<{ waiting: number }>; benchTicks(count: number): Promise<number[]> };

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

function open(url: string, token: string): Promise<{ socket: WebSocket; positions: number[] }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` } });
    const positions: number[] = [];
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; position?: number };
      if (message.type === 'position') positions.push(message.position!);
    });
    socket.once('open', () => resolve({ socket, positions }));
    socket.once('error', reject);
  });
}

async function main(): Promise<void> {
  const runtime = await startLocalRuntime('queue_tick', console.log, { bindings: { BENCH_ROUTES: 'true' } });
  closeOnSignal(runtime);
  const sockets: WebSocket[] = [];
  try {
    const { base } = runtime;
    const admin = (await call<{ token: string }>(base, '/api/auth/login', { method: 'POST', json: LOCAL_ADMIN })).body.token;
    const performer = await call<{ performer: { id: string } }>(base, '/api/admin/performers', { method: 'POST', token: admin, json: { name: 'Tick Band' } });
    // Seats enough for every admission of the run: the seats free to hold never stop them.
    const seats = Math.ceil((ROUNDS + 1) * TICKS * (ADMIT_PER_MINUTE / 60) * 1.5 / 100) * 100;
    const venue = await call<{ venue: { id: string } }>(base, '/api/admin/venues', {
      method: 'POST',
      token: admin,
      json: { name: 'Tick Hall', city: 'Springfield', sections: [{ name: 'Floor', rows: seats / 100, seatsPerRow: 100 }] },
    });
    // (Miniflare's own typing of the namespace does not carry the room's methods.)
    const namespace = (await runtime.miniflare.getDurableObjectNamespace('WAITING_ROOM')) as unknown as {
      idFromName(name: string): unknown;
      get(id: unknown): RoomStub;
    };
    const [member, ...socketTokens] = await runtime.signIn(1 + SOCKETS * SIZES.length);
    const wsBase = base.replace(/^http/, 'ws');

    const rooms: Array<{ size: number; room: RoomStub; positions: number[][] }> = [];
    for (const [i, size] of SIZES.entries()) {
      const event = await call<{ event: { id: string } }>(base, '/api/admin/events', {
        method: 'POST',
        token: admin,
        json: {
          name: `Tick On-sale ${size}`,
          performerId: performer.body.performer.id,
          venueId: venue.body.venue.id,
          startsAt: new Date(Date.now() + 30 * 86400_000).toISOString(),
          onSaleAt: new Date(Date.now() - 60_000).toISOString(),
          status: 'published',
          prices: { Floor: 5000 },
          queue: { enabled: true, admitPerMinute: ADMIT_PER_MINUTE, maxActive: seats },
        },
      });
      if (event.status !== 201) throw new Error(`event creation failed: ${event.status} ${JSON.stringify(event.body)}`);
      const eventId = event.body.event.id;
      const joined = await call<{ state: string }>(base, `/api/events/${eventId}/queue/join`, { method: 'POST', token: member });
      if (joined.body.state !== 'waiting') throw new Error(`the first join answered ${JSON.stringify(joined.body)}`);
      const room = namespace.get(namespace.idFromName(eventId));
      const started = performance.now();
      const { waiting } = await room.benchFill(size);
      console.log(`room of ${size.toLocaleString('en')}: ${waiting.toLocaleString('en')} in line, filled in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      const clients = await Promise.all(socketTokens.slice(i * SOCKETS, (i + 1) * SOCKETS).map((token) => open(`${wsBase}/api/events/${eventId}/queue`, token)));
      sockets.push(...clients.map((c) => c.socket));
      rooms.push({ size, room, positions: clients.map((c) => c.positions) });
    }

    // One round first, untimed: the rooms' first ticks after their fill.
    for (const { room } of rooms) await room.benchTicks(2);
    const times = new Map<number, number[]>(SIZES.map((s) => [s, []]));
    const rows = new Map<number, number[]>(SIZES.map((s) => [s, []]));
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which size goes first, so neither always runs on the warmer machine.
      for (const { size, room } of round % 2 ? [...rooms].reverse() : rooms) {
        const started = performance.now();
        const read = await room.benchTicks(TICKS);
        times.get(size)!.push((performance.now() - started) / TICKS);
        rows.get(size)!.push(...read);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const { size, positions } of rooms) {
      const last = positions.map((p) => p.at(-1) ?? NaN);
      console.log(`  ${size.toLocaleString('en')}: sockets last told positions ${Math.min(...last).toLocaleString('en')}–${Math.max(...last).toLocaleString('en')}`);
    }
    const [small, large] = SIZES;
    const [tSmall, tLarge] = [median(times.get(small)!), median(times.get(large)!)];
    for (const size of SIZES) {
      console.log(
        `${size.toLocaleString('en').padStart(8)} in line: ${median(times.get(size)!).toFixed(2)} ms per tick (median of ${ROUNDS} rounds of ${TICKS}; rounds ${times.get(size)!.map((t) => t.toFixed(2)).join(' ')}), ` +
          `rows read per tick median ${median(rows.get(size)!)}, max ${Math.max(...rows.get(size)!)}`,
      );
    }
    const ratio = tLarge / tSmall;
    console.log(`tick at ${large.toLocaleString('en')} ÷ tick at ${small.toLocaleString('en')} = ${ratio.toFixed(2)} (target ≤ ${TARGET}): ${ratio <= TARGET ? 'met' : 'NOT met'}`);
    console.log(`rows read per tick, ${large.toLocaleString('en')} ÷ ${small.toLocaleString('en')} = ${(median(rows.get(large)!) / median(rows.get(small)!)).toFixed(2)}`);
    // Ratios per round (the sizes alternate within a round).
    const ratios = times.get(large)!.map((t, i) => t / times.get(small)!.at(i)!);
    const heard = rooms.every(({ positions }) => positions.every((p) => p.length > 0));
    recordResult('queue-tick', {
      options: { rounds: ROUNDS, ticks: TICKS, sockets: SOCKETS, small, large },
      figures: [
        roundsFigure(`tick at ${small.toLocaleString('en')} in line`, times.get(small)!, 'ms'),
        roundsFigure(`tick at ${large.toLocaleString('en')} in line`, times.get(large)!, 'ms'),
        roundsFigure(`tick at ${large.toLocaleString('en')} ÷ at ${small.toLocaleString('en')}`, ratios, '×', {
          target: large >= 100_000 ? `≤ ${TARGET} (at 100,000 against 1,000)` : `≤ ${TARGET} at 100,000 (not measured here)`,
          ...(large >= 100_000 ? { met: median(ratios) <= TARGET } : {}),
        }),
        { label: `rows read per tick at ${large.toLocaleString('en')}, median`, value: median(rows.get(large)!) },
      ],
      checks: [{ label: 'sockets behind each crowd told their positions', value: heard ? 0 : 1, expected: 0, ok: heard }],
    });
    if (!heard) throw new Error('a socket behind a crowd was never told its position');
  } finally {
    for (const socket of sockets) socket.terminate();
    await runtime.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  console.error('The queue-tick benchmark failed; see the message above. It needs nothing but this checkout (and optionally DATABASE_URL).');
  process.exit(1);
});
