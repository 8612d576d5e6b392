import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { sql } from 'drizzle-orm';
import { withDb } from '../../src/db/client';
import { decodeStatuses } from '../../src/durable/ticket-lock/availability';
import { RELAYS_PER_EVENT, seatRelayName } from '../../src/durable/SeatRelay';
import { adminToken, api, createEvent, env, signUp } from '../helpers';

type Status = 'available' | 'reserved' | 'booked';
interface Snapshot {
  version: number;
  tickets: Array<{ id: string; status: Status }>;
}
interface Delta {
  version: number;
  changes: Array<{ id: string; status: Status }>;
}
interface Frame<T = unknown> {
  id: string;
  event: string;
  data: T;
}

const decoder = new TextDecoder();

/** Reads server-sent events off a response body, the way a browser's EventSource would. */
class EventStream {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;
  private buffer = '';

  constructor(readonly response: Response) {
    this.reader = response.body!.getReader();
    onTestFinished(() => this.reader.cancel().catch(() => {}));
  }

  /** The client goes away. */
  close(): Promise<void> {
    return this.reader.cancel();
  }

  /** The next event (comment lines are skipped); fails when none comes within `timeoutMs`. */
  async next<T>(timeoutMs = 5000): Promise<Frame<T>> {
    const frame = await this.nextWithin<T>(timeoutMs);
    if (!frame) throw new Error(`no event within ${timeoutMs} ms`);
    return frame;
  }

  /** The next event, or null if none comes within `ms`. */
  async nextWithin<T>(ms: number): Promise<Frame<T> | null> {
    const deadline = Date.now() + ms;
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        const fields = new Map<string, string>();
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          fields.set(line.slice(0, colon), line.slice(colon + 1).replace(/^ /, ''));
        }
        if (!fields.has('data')) continue;
        return { id: fields.get('id')!, event: fields.get('event')!, data: JSON.parse(fields.get('data')!) as T };
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

  /** Every change that arrives until `done` holds for what has arrived, as one map of latest statuses. */
  async collectUntil(done: (seen: Map<string, Status>) => boolean, timeoutMs = 5000): Promise<{ seen: Map<string, Status>; frames: Array<Frame<Delta>> }> {
    const seen = new Map<string, Status>();
    const frames: Array<Frame<Delta>> = [];
    const deadline = Date.now() + timeoutMs;
    while (!done(seen)) {
      const frame = await this.next<Delta>(Math.max(1, deadline - Date.now()));
      frames.push(frame);
      for (const change of frame.data.changes) seen.set(change.id, change.status);
    }
    return { seen, frames };
  }
}

async function watch(eventId: string, init: { lastEventId?: string; query?: string; token?: string } = {}): Promise<EventStream> {
  const headers: Record<string, string> = init.lastEventId === undefined ? {} : { 'Last-Event-ID': init.lastEventId };
  const response = await api(`/api/events/${eventId}/seats/stream${init.query ?? ''}`, { headers, token: init.token });
  expect(response.status).toBe(200);
  return new EventStream(response);
}

async function ticketIdsOf(eventId: string): Promise<string[]> {
  return withDb(env, async (db) =>
    ((await db.execute(sql`select id from tickets where event_id = ${eventId} order by position`)).rows as Array<{ id: string }>).map((r) => r.id),
  );
}

interface Booking {
  bookingId: string;
  status: string;
}

async function hold(token: string, eventId: string, ticketIds: string[], paymentMethodId?: string): Promise<Booking> {
  const response = await api(`/api/bookings/${eventId}`, {
    method: 'POST',
    token,
    json: { ticketIds, ...(paymentMethodId ? { paymentDetails: { paymentMethodId } } : {}) },
  });
  if (response.status !== 201) throw new Error(`hold failed: ${response.status} ${await response.text()}`);
  return response.json();
}

async function release(token: string, bookingId: string): Promise<void> {
  const response = await api(`/api/bookings/${bookingId}`, { method: 'DELETE', token });
  expect(response.status).toBe(204);
}

async function pay(token: string, bookingId: string): Promise<void> {
  const response = await api(`/api/bookings/${bookingId}/pay`, { method: 'POST', token, json: { paymentDetails: { paymentMethodId: 'pm_card_visa' } } });
  expect(response.status).toBe(200);
}

const versionOf = (id: string) => Number(id.split('-')[1]);
const epochOf = (id: string) => id.split('-')[0];
const all = (ids: string[], status: Status) => (seen: Map<string, Status>) => ids.every((id) => seen.get(id) === status);

describe('GET /api/events/:eventId/seats/stream', () => {
  let admin: string;
  beforeAll(async () => {
    admin = await adminToken();
  });

  it('opens with a snapshot of every ticket: booked, reserved and available', async () => {
    const { eventId, ticketCount } = await createEvent(admin);
    const [sold, held] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    expect((await hold(buyer.token, eventId, [sold!], 'pm_card_visa')).status).toBe('confirmed');
    await hold(buyer.token, eventId, [held!]);

    const stream = await watch(eventId);
    expect(stream.response.headers.get('Content-Type')).toMatch(/^text\/event-stream/);
    expect(stream.response.headers.get('Cache-Control')).toContain('no-cache');
    const snapshot = await stream.next<Snapshot>();

    expect(snapshot.event).toBe('snapshot');
    expect(snapshot.id).toMatch(/^[0-9a-f]{12}-\d+$/);
    expect(snapshot.data.version).toBe(versionOf(snapshot.id));
    expect(snapshot.data.tickets).toHaveLength(ticketCount);
    const status = new Map(snapshot.data.tickets.map((t) => [t.id, t.status]));
    expect(status.get(sold!)).toBe('booked');
    expect(status.get(held!)).toBe('reserved');
    expect([...status.values()].filter((s) => s === 'available')).toHaveLength(ticketCount - 2);
  });

  it('pushes a hold as reserved, its release as available and a sale as booked, each with a newer id', async () => {
    const { eventId } = await createEvent(admin);
    const [a, b] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const stream = await watch(eventId);
    const snapshot = await stream.next<Snapshot>();

    const held = await hold(buyer.token, eventId, [a!]);
    const reserved = await stream.next<Delta>();
    expect(reserved.event).toBe('seats');
    expect(reserved.data.changes).toEqual([{ id: a, status: 'reserved' }]);

    await release(buyer.token, held.bookingId);
    const released = await stream.next<Delta>();
    expect(released.data.changes).toEqual([{ id: a, status: 'available' }]);

    const bought = await hold(buyer.token, eventId, [b!]);
    expect((await stream.next<Delta>()).data.changes).toEqual([{ id: b, status: 'reserved' }]);
    await pay(buyer.token, bought.bookingId);
    const sale = await stream.next<Delta>();
    expect(sale.data.changes).toEqual([{ id: b, status: 'booked' }]);

    const ids = [snapshot, reserved, released, sale].map((frame) => frame.id);
    expect(new Set(ids.map(epochOf)).size).toBe(1);
    const versions = ids.map(versionOf);
    expect(versions).toEqual([...versions].sort((x, y) => x - y));
    expect(new Set(versions).size).toBe(4);
    expect(sale.data.version).toBe(versionOf(sale.id));
  });

  it('pushes seats freed when the alarm expires their hold', async () => {
    const { eventId } = await createEvent(admin);
    const [a, b] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const held = await hold(buyer.token, eventId, [a!, b!]);
    const stream = await watch(eventId);
    const snapshot = await stream.next<Snapshot>();
    expect(snapshot.data.tickets.filter((t) => t.status === 'reserved').map((t) => t.id).sort()).toEqual([a, b].sort());

    const lock = env.TICKET_LOCK.getByName(eventId);
    await runInDurableObject(lock, (_instance, state) => {
      const past = Date.now() - 1;
      state.storage.sql.exec(`UPDATE bookings SET expires_at = ? WHERE booking_id = ?`, past, held.bookingId);
      state.storage.sql.exec(`UPDATE holds SET expires_at = ? WHERE booking_id = ?`, past, held.bookingId);
    });
    expect(await runDurableObjectAlarm(lock)).toBe(true);

    const expired = await stream.next<Delta>();
    expect(expired.event).toBe('seats');
    expect(new Map(expired.data.changes.map((c) => [c.id, c.status]))).toEqual(new Map([[a, 'available'], [b, 'available']]));
  });

  it('sends a burst of concurrent holds as one frame', async () => {
    const { eventId } = await createEvent(admin);
    const ids = await ticketIdsOf(eventId);
    const [first, second] = await Promise.all([signUp(), signUp()]);
    const stream = await watch(eventId);
    await stream.next<Snapshot>();

    // Two buyers' holds inside one batch window, however slow this machine is today.
    await runInDurableObject(env.TICKET_LOCK.getByName(eventId), (lock) =>
      Promise.all([
        lock.holdSeats({ eventId, userId: first.user.id, ticketIds: ids.slice(0, 5), ttlSeconds: 600, maxTicketsPerUser: 10 }),
        lock.holdSeats({ eventId, userId: second.user.id, ticketIds: ids.slice(5, 8), ttlSeconds: 600, maxTicketsPerUser: 10 }),
      ]),
    );

    const frame = await stream.next<Delta>();
    expect(frame.data.changes).toHaveLength(8);
    expect(new Set(frame.data.changes.map((c) => c.id))).toEqual(new Set(ids.slice(0, 8)));
    expect(frame.data.changes.every((c) => c.status === 'reserved')).toBe(true);
    expect(await stream.nextWithin(400)).toBeNull();
  });

  it('gives every watcher only what it has not seen, whenever it joined', async () => {
    const { eventId } = await createEvent(admin);
    const [x, y] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const early = await watch(eventId);
    await early.next<Snapshot>();

    await hold(buyer.token, eventId, [x!]);
    const late = await watch(eventId);
    const lateSnapshot = await late.next<Snapshot>();
    expect(lateSnapshot.data.tickets.find((t) => t.id === x)?.status).toBe('reserved');
    await hold(buyer.token, eventId, [y!]);

    const earlyView = await early.collectUntil(all([x!, y!], 'reserved'));
    const lateView = await late.collectUntil(all([y!], 'reserved'));
    expect(lateView.frames.flatMap((f) => f.data.changes)).toEqual([{ id: y, status: 'reserved' }]);
    expect(earlyView.frames.at(-1)!.id).toBe(lateView.frames.at(-1)!.id);
  });

  it('resumes from Last-Event-ID with exactly what was missed, and nothing when nothing was', async () => {
    const { eventId } = await createEvent(admin);
    const [a, b, c, d] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const first = await watch(eventId);
    const snapshot = await first.next<Snapshot>();
    const kept = await hold(buyer.token, eventId, [a!]);
    const seenBeforeLeaving = await first.next<Delta>();

    // Away: b and c are held, b is let go again, a is bought.
    const gone = await hold(buyer.token, eventId, [b!, c!]);
    await release(buyer.token, gone.bookingId);
    await hold(buyer.token, eventId, [c!]);
    await pay(buyer.token, kept.bookingId);

    const resumed = await watch(eventId, { lastEventId: seenBeforeLeaving.id });
    const missed = await resumed.next<Delta>();
    expect(missed.event).toBe('seats');
    expect(epochOf(missed.id)).toBe(epochOf(snapshot.id));
    expect(new Map(missed.data.changes.map((change) => [change.id, change.status]))).toEqual(
      new Map<string, Status>([[b!, 'available'], [c!, 'reserved'], [a!, 'booked']]),
    );

    // Caught up: nothing is repeated; the next change comes as usual. The query form works too.
    const again = await watch(eventId, { query: `?lastEventId=${encodeURIComponent(missed.id)}` });
    expect(await again.nextWithin(300)).toBeNull();
    await hold(buyer.token, eventId, [d!]);
    expect((await again.next<Delta>()).data.changes).toEqual([{ id: d, status: 'reserved' }]);
  });

  it('sends a fresh snapshot for a Last-Event-ID of another epoch, from the future, or malformed', async () => {
    const { eventId } = await createEvent(admin);
    const [a] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    await hold(buyer.token, eventId, [a!]);
    const current = (await (await watch(eventId)).next<Snapshot>()).id;

    const otherEpoch = `${epochOf(current) === 'aaaaaaaaaaaa' ? 'bbbbbbbbbbbb' : 'aaaaaaaaaaaa'}-${versionOf(current) - 1}`;
    const future = `${epochOf(current)}-${versionOf(current) + 1000}`;
    for (const lastEventId of [otherEpoch, future, 'garbage', `${epochOf(current)}-`, `${current}${'0'.repeat(120)}`]) {
      const frame = await (await watch(eventId, { lastEventId })).next<Snapshot>();
      expect(frame.event, lastEventId).toBe('snapshot');
      expect(frame.id).toBe(current);
      expect(frame.data.tickets.find((t) => t.id === a)?.status).toBe('reserved');
    }
  });

  it('starts a new epoch when the TicketLock relearns its storage, so an old Last-Event-ID gets a snapshot', async () => {
    const { eventId } = await createEvent(admin);
    const [a] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const watcher = await watch(eventId);
    const before = (await watcher.next<Snapshot>()).id;
    const sale = await hold(buyer.token, eventId, [a!], 'pm_card_visa');
    expect(sale.status).toBe('confirmed');
    // Storage goes only once the sale's frame is out: a flush still pending would itself find no
    // epoch and start one, a loss of storage in the middle of a frame that this test is not about.
    await watcher.collectUntil((seen) => seen.get(a!) === 'booked');

    await runInDurableObject(env.TICKET_LOCK.getByName(eventId), (_instance, state) => {
      state.storage.sql.exec(`DELETE FROM tickets; DELETE FROM holds; DELETE FROM meta;`);
    });
    // The TicketLock relearns when next asked (here for the availability); the relays learn the new
    // epoch from the batch it then publishes (or from their lease) and close the old epoch's streams.
    expect((await api(`/api/events/${eventId}/availability`)).status).toBe(200);
    await expect(watcher.next()).rejects.toThrow();
    const after = await (await watch(eventId, { lastEventId: before })).next<Snapshot>();

    expect(after.event).toBe('snapshot');
    expect(epochOf(after.id)).not.toBe(epochOf(before));
    expect(after.data.version).toBeGreaterThan(versionOf(before));
    expect(after.data.tickets.find((t) => t.id === a)?.status).toBe('booked');
  });

  // The disconnect is seen when a write fails; the first write after it can still land in the
  // RPC pipe, so it takes a second one (a change or the keep-alive).
  it('lets go of a watcher whose client disconnected', async () => {
    const { eventId } = await createEvent(admin);
    const [a, b] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    // Streams are served by the event's relays, whichever the route picked.
    const relays = Array.from({ length: RELAYS_PER_EVENT }, (_, k) => env.SEAT_RELAY.getByName(seatRelayName(eventId, k)));
    const watchers = async () => (await Promise.all(relays.map((relay) => runInDurableObject(relay, (instance) => instance.watchers)))).reduce((a, b) => a + b, 0);
    const leaving = await watch(eventId);
    const staying = await watch(eventId);
    await Promise.all([leaving.next<Snapshot>(), staying.next<Snapshot>()]);
    expect(await watchers()).toBe(2);

    await leaving.close();
    await hold(buyer.token, eventId, [a!]);
    expect((await staying.next<Delta>()).data.changes).toEqual([{ id: a, status: 'reserved' }]);
    await hold(buyer.token, eventId, [b!]);
    expect((await staying.next<Delta>()).data.changes).toEqual([{ id: b, status: 'reserved' }]);

    await expect.poll(watchers, { timeout: 2000 }).toBe(1);
  });

  it('answers 404 in the error shape for unknown and malformed events, and for drafts unless admin', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-an-id']) {
      const response = await api(`/api/events/${id}/seats/stream`);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
    }
    const draft = await createEvent(admin, { status: 'draft' });
    const customer = await signUp();
    expect((await api(`/api/events/${draft.eventId}/seats/stream`)).status).toBe(404);
    expect((await api(`/api/events/${draft.eventId}/seats/stream`, { token: customer.token })).status).toBe(404);
    const asAdmin = await watch(draft.eventId, { token: admin });
    expect((await asAdmin.next<Snapshot>()).data.tickets).toHaveLength(draft.ticketCount);
  });
});

describe('GET /api/events/:eventId/seats/stream?format=compact', () => {
  let admin: string;
  beforeAll(async () => {
    admin = await adminToken();
  });

  interface CompactSnapshot {
    version: number;
    seatCount: number;
    statuses: string;
  }
  interface CompactDelta {
    version: number;
    changes: Array<[number, number]>;
  }

  it('opens with the availability encoding of every seat: { version, seatCount, statuses }', async () => {
    const { eventId, ticketCount } = await createEvent(admin);
    const tickets = await ticketIdsOf(eventId);
    const buyer = await signUp();
    await hold(buyer.token, eventId, [tickets[0]!], 'pm_card_visa');
    await hold(buyer.token, eventId, [tickets[2]!]);

    const stream = await watch(eventId, { query: '?format=compact' });
    const snapshot = await stream.next<CompactSnapshot>();

    expect(snapshot.event).toBe('snapshot');
    expect(snapshot.data.seatCount).toBe(ticketCount);
    expect(Object.keys(snapshot.data).sort()).toEqual(['seatCount', 'statuses', 'version']);
    expect(decodeStatuses(snapshot.data.statuses, ticketCount).slice(0, 4)).toEqual([2, 0, 1, 0]);
  });

  it('sends changes as [seatIndex, status] pairs with the numeric statuses, the latest per seat', async () => {
    const { eventId } = await createEvent(admin);
    const tickets = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const stream = await watch(eventId, { query: '?format=compact' });
    await stream.next<CompactSnapshot>();

    const { bookingId } = await hold(buyer.token, eventId, [tickets[3]!, tickets[12]!]);
    const held = await stream.next<CompactDelta>();
    await pay(buyer.token, bookingId);
    const sold = await stream.next<CompactDelta>();

    expect(held.event).toBe('seats');
    expect(new Map(held.data.changes)).toEqual(new Map([[3, 1], [12, 1]]));
    expect(new Map(sold.data.changes)).toEqual(new Map([[3, 2], [12, 2]]));
    expect(sold.data.version).toBeGreaterThan(held.data.version);
  });

  it('gives a compact client that reconnects what it missed, compact too', async () => {
    const { eventId } = await createEvent(admin);
    const tickets = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const first = await watch(eventId, { query: '?format=compact' });
    const snapshot = await first.next<CompactSnapshot>();
    await first.close();

    const { bookingId } = await hold(buyer.token, eventId, [tickets[5]!]);
    await release(buyer.token, bookingId);
    const again = await watch(eventId, { query: '?format=compact', lastEventId: snapshot.id });
    const missed = await again.next<CompactDelta>();

    expect(missed.event).toBe('seats');
    expect(missed.data.changes).toEqual([[5, 0]]);
  });

  it.each(['full', 'COMPACT', 'json', ''])('refuses format=%s with 400 validation_failed', async (format) => {
    const { eventId } = await createEvent(admin);

    const response = await api(`/api/events/${eventId}/seats/stream?format=${format}`);

    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'validation_failed', details: [{ field: 'format' }] } });
  });
});
