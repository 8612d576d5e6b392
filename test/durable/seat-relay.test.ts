// Seat-stream relays (src/durable/SeatRelay.ts) opened directly, so each test knows which relay
// serves which watcher. Counts, never timings: the TicketLock's publish work is counted in calls.
import { runInDurableObject } from 'cloudflare:test';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { RELAYS_PER_EVENT, seatRelayName } from '../../src/durable/SeatRelay';
import { decodeStatuses } from '../../src/durable/ticket-lock/availability';
import { adminToken, api, createEvent, env, signUp, ticketIdsOf } from '../helpers';

interface Frame {
  id: string;
  event: string;
  data: { version: number; changes?: unknown[]; tickets?: Array<{ id: string; status: string }>; seatCount?: number; statuses?: string };
}

const decoder = new TextDecoder();

class Reader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;
  private buffer = '';

  constructor(stream: ReadableStream<Uint8Array>) {
    this.reader = stream.getReader();
    onTestFinished(() => this.reader.cancel().catch(() => {}));
  }

  close(): Promise<void> {
    return this.reader.cancel();
  }

  /** The next event, or null when none comes within `ms`. */
  async next(ms = 5000): Promise<Frame | null> {
    const deadline = Date.now() + ms;
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        const fields = new Map(block.split('\n').filter((line) => !line.startsWith(':')).map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]));
        if (!fields.has('data')) continue;
        return { id: fields.get('id')!, event: fields.get('event')!, data: JSON.parse(fields.get('data')!) };
      }
      const left = deadline - Date.now();
      if (left <= 0) return null;
      this.pending ??= this.reader.read();
      const result = await Promise.race([this.pending, new Promise<null>((resolve) => setTimeout(() => resolve(null), left))]);
      if (!result) return null;
      this.pending = null;
      if (result.done) throw new Error('the stream ended');
      this.buffer += decoder.decode(result.value, { stream: true });
    }
  }

  async frame(): Promise<Frame> {
    const frame = await this.next();
    if (!frame) throw new Error('no frame within 5 s');
    return frame;
  }
}

const relay = (eventId: string, k: number) => env.SEAT_RELAY.getByName(seatRelayName(eventId, k));

async function watch(eventId: string, k: number, lastEventId: string | null = null, format: 'full' | 'compact' = 'full'): Promise<Reader> {
  const stream = await relay(eventId, k).openSeatStream(eventId, lastEventId, format);
  if (!stream) throw new Error(`relay ${k} refused a stream`);
  return new Reader(stream);
}

async function hold(token: string, eventId: string, ticketIds: string[]): Promise<string> {
  const response = await api(`/api/bookings/${eventId}`, { method: 'POST', token, json: { ticketIds } });
  if (response.status !== 201) throw new Error(`hold failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { bookingId: string }).bookingId;
}

async function release(token: string, bookingId: string): Promise<void> {
  expect((await api(`/api/bookings/${bookingId}`, { method: 'DELETE', token })).status).toBe(204);
}

const publishCalls = (eventId: string) => runInDurableObject(env.TICKET_LOCK.getByName(eventId), (lock) => lock['relays'].calls);
const versionOf = (id: string) => Number(id.split('-')[1]);

describe('SeatRelay', () => {
  let admin: string;
  beforeAll(async () => {
    admin = await adminToken();
  });

  it('gives watchers on two different relays the same hold in the same frame', async () => {
    const { eventId } = await createEvent(admin);
    const [a] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const [first, second] = await Promise.all([watch(eventId, 0), watch(eventId, 1)]);
    const [one, two] = await Promise.all([first.frame(), second.frame()]);
    expect(one.event).toBe('snapshot');
    expect(two.id).toBe(one.id);

    await hold(buyer.token, eventId, [a!]);

    const [seenByFirst, seenBySecond] = await Promise.all([first.frame(), second.frame()]);
    expect(seenByFirst.data.changes).toEqual([{ id: a, status: 'reserved' }]);
    expect(seenBySecond).toEqual(seenByFirst);
  });

  it('resumes a Last-Event-ID with what was missed, on the relay that served it and on one that never had a watcher', async () => {
    const { eventId } = await createEvent(admin);
    const [a, b, c] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const first = await watch(eventId, 0);
    await first.frame();
    await hold(buyer.token, eventId, [a!]);
    const lastSeen = (await first.frame()).id;
    await first.close();

    const away = await hold(buyer.token, eventId, [b!, c!]);
    await release(buyer.token, away);
    await hold(buyer.token, eventId, [c!]);

    for (const k of [0, 5]) {
      const missed = await (await watch(eventId, k, lastSeen)).frame();
      expect(missed.event, `relay ${k}`).toBe('seats');
      expect(new Map((missed.data.changes as Array<{ id: string; status: string }>).map((x) => [x.id, x.status]))).toEqual(
        new Map([[b, 'available'], [c, 'reserved']]),
      );
    }
  });

  it('serves the compact format: the availability encoding, then [seatIndex, status] pairs', async () => {
    const { eventId, ticketCount } = await createEvent(admin);
    const tickets = await ticketIdsOf(eventId);
    const buyer = await signUp();
    await hold(buyer.token, eventId, [tickets[1]!]);
    const stream = await watch(eventId, 2, null, 'compact');

    const snapshot = await stream.frame();
    expect(Object.keys(snapshot.data).sort()).toEqual(['seatCount', 'statuses', 'version']);
    expect(decodeStatuses(snapshot.data.statuses!, ticketCount).slice(0, 3)).toEqual([0, 1, 0]);
    await hold(buyer.token, eventId, [tickets[4]!]);
    expect((await stream.frame()).data.changes).toEqual([[4, 1]]);
  });

  it('catches up from the TicketLock when it missed a batch, without dropping its watchers', async () => {
    const { eventId } = await createEvent(admin);
    const [a, b, c] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const stream = await watch(eventId, 3);
    await stream.frame();
    await hold(buyer.token, eventId, [a!]);
    expect((await stream.frame()).data.changes).toEqual([{ id: a, status: 'reserved' }]);

    // The TicketLock forgets the relay for one batch: the relay never gets b's.
    const lock = env.TICKET_LOCK.getByName(eventId);
    const subscribed = await runInDurableObject(lock, (_instance, state) => {
      const rows = state.storage.sql.exec<{ name: string; subscription: string; since: number }>(`SELECT * FROM seat_relays`).toArray();
      state.storage.sql.exec(`DELETE FROM seat_relays`);
      return rows;
    });
    expect(subscribed.map((row) => row.name)).toEqual([seatRelayName(eventId, 3)]);
    await hold(buyer.token, eventId, [b!]);
    expect(await stream.next(400)).toBeNull();
    await runInDurableObject(lock, (_instance, state) => {
      for (const row of subscribed) state.storage.sql.exec(`INSERT INTO seat_relays (name, subscription, since) VALUES (?, ?, ?)`, row.name, row.subscription, row.since);
    });
    const syncsBefore = await runInDurableObject(relay(eventId, 3), (instance) => instance.syncs);

    await hold(buyer.token, eventId, [c!]);

    const seen = new Map<string, string>();
    let last = '';
    while (seen.get(b!) !== 'reserved' || seen.get(c!) !== 'reserved') {
      const frame = await stream.frame();
      expect(frame.event).toBe('seats');
      for (const change of frame.data.changes as Array<{ id: string; status: string }>) seen.set(change.id, change.status);
      last = frame.id;
    }
    expect(await runInDurableObject(relay(eventId, 3), (instance) => instance.syncs)).toBe(syncsBefore + 1);
    expect(versionOf(last)).toBe(await runInDurableObject(lock, (instance) => instance['seatLog'].version()));
  });

  it('never sends a client back in time: a Last-Event-ID newer than its copy makes the relay catch up first', async () => {
    const { eventId } = await createEvent(admin);
    const [a, b] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const lagging = await watch(eventId, 5);
    const first = await lagging.frame();
    // The TicketLock stops publishing to relay 5 for a moment, as when its batch is still on the way.
    const lock = env.TICKET_LOCK.getByName(eventId);
    const subscribed = await runInDurableObject(lock, (_instance, state) => {
      const rows = state.storage.sql.exec<{ name: string; subscription: string; since: number }>(`SELECT * FROM seat_relays`).toArray();
      state.storage.sql.exec(`DELETE FROM seat_relays`);
      return rows;
    });
    await hold(buyer.token, eventId, [a!]);
    const current = await runInDurableObject(lock, (instance) => `${instance['seatLog'].epoch()}-${instance['seatLog'].version()}`);
    expect(versionOf(current)).toBeGreaterThan(versionOf(first.id));
    await runInDurableObject(lock, (_instance, state) => {
      for (const row of subscribed) state.storage.sql.exec(`INSERT INTO seat_relays (name, subscription, since) VALUES (?, ?, ?)`, row.name, row.subscription, row.since);
    });

    // A client that saw `current` through another relay reconnects to relay 5.
    const resumed = await watch(eventId, 5, current);

    expect(await resumed.next(400)).toBeNull();
    await hold(buyer.token, eventId, [b!]);
    expect((await resumed.frame()).data.changes).toEqual([{ id: b, status: 'reserved' }]);
  });

  it('drops a batch of another epoch once a sync has brought it up to date, instead of syncing for ever', async () => {
    const { eventId } = await createEvent(admin);
    const stream = await watch(eventId, 4);
    await stream.frame();
    const target = relay(eventId, 4);
    const before = await runInDurableObject(target, (instance) => instance.syncs);

    // A batch of an epoch the TicketLock has left behind, arriving late.
    await runInDurableObject(target, (instance) => {
      const copy = instance['copy']!;
      return instance.publishSeats(instance['subscription']!, { epoch: 'stale0000000', from: copy.version() + 5, version: copy.version() + 6, changes: [] });
    });
    await new Promise((resolve) => setTimeout(resolve, 500));

    expect(await runInDurableObject(target, (instance) => instance.syncs)).toBe(before + 1);
    expect(await runInDurableObject(target, (instance) => instance['pending'].length)).toBe(0);
  });

  it('costs the TicketLock one publish call per relay per batch, however many watch', async () => {
    const { eventId } = await createEvent(admin);
    const [a, b] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const few = [await watch(eventId, 0), await watch(eventId, 1)];
    await Promise.all(few.map((reader) => reader.frame()));

    const before = await publishCalls(eventId);
    await hold(buyer.token, eventId, [a!]);
    await Promise.all(few.map((reader) => reader.frame()));
    const withTwo = (await publishCalls(eventId)) - before;

    const many = [...few];
    for (let i = 0; i < 20; i += 1) many.push(await watch(eventId, 0), await watch(eventId, 1));
    await Promise.all(many.slice(2).map((reader) => reader.frame()));
    const middle = await publishCalls(eventId);
    await hold(buyer.token, eventId, [b!]);
    const frames = await Promise.all(many.map((reader) => reader.frame()));
    const withForty = (await publishCalls(eventId)) - middle;

    expect(frames.every((frame) => JSON.stringify(frame.data.changes) === JSON.stringify([{ id: b, status: 'reserved' }]))).toBe(true);
    expect(withTwo).toBe(2);
    expect(withForty).toBe(2);
  });

  it('serves only the relay names of the event it is asked about', async () => {
    const eventId = crypto.randomUUID();
    const asked = (name: string, about: string) => runInDurableObject(env.SEAT_RELAY.getByName(name), (instance) => instance.openSeatStream(about, null, 'full'));

    await expect(asked(seatRelayName(eventId, 0), crypto.randomUUID())).rejects.toThrow(/relays are named/);
    await expect(asked(`${eventId}:relay:${RELAYS_PER_EVENT}`, eventId)).rejects.toThrow(/relays are named/);
    await expect(asked(seatRelayName(eventId.toUpperCase(), 0), eventId.toUpperCase())).rejects.toThrow(/relays are named/);
  });
});
