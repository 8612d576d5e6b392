// Invariant 8 for the waiting room: a queue tick costs the same with 100,000 people in line as with
// 1,000. Its work is measured as the SQL rows it reads (the cursors' rowsRead, summed by the room's
// RoomSql), which is deterministic where time is not. The crowd is simulated in the room's own
// storage (no socket each); one real socket waits behind it and must still be told its exact place.
import { runInDurableObject } from 'cloudflare:test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WaitingRoom } from '../../src/durable/WaitingRoom';
import { Line } from '../../src/durable/waiting-room/line';
import { insertSimulatedMembers } from '../../src/durable/waiting-room/simulate';
import { adminToken, api, createQueuedEvent, env, QueueClient, signUp, TestClock, waitFor } from '../helpers';

const clock = new TestClock();
/** Enough for the ETA to come from the measured rate (after five seconds of admissions). */
const TICKS = 8;
/** 120 a minute: two admissions a tick. */
const ADMIT_PER_MINUTE = 120;

/** The room's private parts this test reads (TypeScript's element access reaches them; RPC does not). */
function internals(room: WaitingRoom) {
  return { db: room['db'], line: room['line'] };
}

interface Measure {
  rowsPerTick: number[];
  lastPosition: number;
}

async function measure(admin: string, crowd: number): Promise<Measure> {
  const { eventId } = await createQueuedEvent(admin, { now: clock.now, queue: { admitPerMinute: ADMIT_PER_MINUTE, maxActive: 100 }, seats: 50 });
  const room = env.WAITING_ROOM.getByName(eventId);
  // A real member first: the room takes its settings and draws its (empty) lobby.
  const first = await signUp();
  expect((await api(`/api/events/${eventId}/queue/join`, { method: 'POST', token: first.token })).status).toBe(200);
  await runInDurableObject(room, (instance) => {
    const { db, line } = internals(instance);
    insertSimulatedMembers(db, line, crowd);
  });
  const late = await signUp();
  const client = await QueueClient.connect(eventId, late.token);
  expect((await client.next('position')).position).toBe(crowd + 2);

  const rowsPerTick: number[] = [];
  for (let i = 0; i < TICKS; i++) {
    clock.advance(1000);
    rowsPerTick.push(
      await runInDurableObject(room, async (instance) => {
        const { db } = internals(instance);
        const before = db.rowsRead;
        await instance.alarm();
        return db.rowsRead - before;
      }),
    );
  }
  // Two admitted a tick from the head (the real member, then the crowd): the socket moved up by exactly that.
  const expected = crowd + 2 - (ADMIT_PER_MINUTE / 60) * TICKS;
  await waitFor(() => (client.last('position')?.position === expected ? true : undefined), `the socket at position ${expected}`);
  const status = (await (await api(`/api/events/${eventId}/queue/status`, { token: late.token })).json()) as { position: number; etaSeconds: number };
  expect(status.position).toBe(expected);
  // The rate measured over the seven seconds since the first admission: two a second.
  expect(client.last('position')?.etaSeconds).toBe(Math.ceil(expected / 2));
  expect(status.etaSeconds).toBe(Math.ceil(expected / 2));

  // The tree the ticks kept up to date says what a count over the table says, and so does one rebuilt from it (a wake).
  await runInDurableObject(room, (instance, state) => {
    const { line } = internals(instance);
    const seqs = state.storage.sql.exec<{ seq: number }>(`SELECT seq FROM entries WHERE state = 'waiting' AND seq IS NOT NULL ORDER BY seq`).toArray().map((r) => r.seq);
    const rebuilt = new Line();
    rebuilt.load(seqs);
    expect(line.size).toBe(seqs.length);
    for (const at of [0, 1, Math.floor(seqs.length / 2), seqs.length - 1]) {
      const seq = seqs[at]!;
      expect(line.ahead(seq)).toBe(at);
      expect(rebuilt.ahead(seq)).toBe(at);
    }
  });
  client.close();
  return { rowsPerTick, lastPosition: expected };
}

describe('WaitingRoom tick cost', () => {
  let admin: string;
  beforeAll(async () => {
    clock.install();
    admin = await adminToken();
  });
  afterAll(() => clock.uninstall());

  it('reads no more rows per tick with 100,000 people in line than twice what it reads with 1,000', { timeout: 120_000 }, async () => {
    const small = await measure(admin, 1_000);
    const large = await measure(admin, 100_000);
    console.log(`rows read per tick: 1,000 in line ${small.rowsPerTick.join(' ')}; 100,000 in line ${large.rowsPerTick.join(' ')}`);
    const total = (m: Measure) => m.rowsPerTick.reduce((a, b) => a + b, 0);
    expect(total(large)).toBeLessThanOrEqual(2 * total(small));
    // Each tick on its own too (the first, with the draw's aftermath, included).
    for (let i = 0; i < TICKS; i++) expect(large.rowsPerTick[i]!).toBeLessThanOrEqual(2 * small.rowsPerTick[i]!);
  });

  it('refuses the benchmark RPCs without BENCH_ROUTES (which only bench/queue-tick.ts sets)', async () => {
    const { eventId } = await createQueuedEvent(admin, { now: clock.now, queue: { admitPerMinute: 60, maxActive: 10 } });
    const room = env.WAITING_ROOM.getByName(eventId);
    const first = await signUp();
    await api(`/api/events/${eventId}/queue/join`, { method: 'POST', token: first.token });
    // (Called on the instance: an RPC that throws is reported by the pool as an uncaught error.)
    const refusals = await runInDurableObject(room, async (instance) =>
      Promise.all([instance.benchFill(1000).then(String, (e: Error) => e.message), instance.benchTicks(1).then(String, (e: Error) => e.message)]),
    );
    expect(refusals).toEqual(['benchFill is for the benchmark runtime only', 'benchTicks is for the benchmark runtime only']);
    const entries = await runInDurableObject(room, (_, state) => state.storage.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM entries`).one().n);
    expect(entries).toBe(1);
  });
});
