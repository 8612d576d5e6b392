import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, api, createEvent, createQueuedEvent, env, QueueClient, signUp, TestClock, ticketIdsOf, waitFor } from '../helpers';

const MINUTE = 60_000;
const clock = new TestClock();

interface Status {
  state: string;
  position: number | null;
  ahead: number | null;
  etaSeconds: number | null;
  token: string | null;
  expiresAt: string | null;
  lobby?: boolean;
  seedHash?: string;
}

async function status(eventId: string, token: string): Promise<Status> {
  const response = await api(`/api/events/${eventId}/queue/status`, { token });
  expect(response.status).toBe(200);
  return response.json();
}

/** POST …/queue/join: takes a place in line (or keeps the one held), answering like the status. */
async function join(eventId: string, token: string): Promise<Status> {
  const response = await api(`/api/events/${eventId}/queue/join`, { method: 'POST', token });
  expect(response.status).toBe(200);
  return response.json();
}

async function hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Runs the room's tick once `ms` later, as its alarm would. */
async function tick(eventId: string, ms = 1000): Promise<void> {
  clock.advance(ms);
  await runDurableObjectAlarm(env.WAITING_ROOM.getByName(eventId));
}

/** A queued event whose sale opened a second ago. */
function queuedEvent(admin: string, queue: { admitPerMinute: number; maxActive: number; tokenMinutes?: number }, seats = 20) {
  return createQueuedEvent(admin, { now: clock.now, queue, seats });
}

describe('WaitingRoom', () => {
  let admin: string;
  beforeAll(async () => {
    clock.install();
    admin = await adminToken();
  });
  afterAll(() => clock.uninstall());

  it('draws the lobby into the order its published seed dictates, and anyone can recompute it', async () => {
    const onSaleAt = clock.now + 10 * MINUTE;
    const { eventId } = await createEvent(admin, {
      onSaleAt: new Date(onSaleAt).toISOString(),
      startsAt: new Date(clock.now + 30 * 24 * 60 * MINUTE).toISOString(),
      queue: { enabled: true, admitPerMinute: 60, maxActive: 100, lobbyMinutes: 30 },
    });
    // A seeded random source, so the draw is the same on every run.
    await runInDurableObject(env.WAITING_ROOM.getByName(eventId), (room) => {
      room.random = (bytes) => bytes.fill(7);
    });
    const buyers = await Promise.all(Array.from({ length: 6 }, () => signUp()));
    for (const buyer of buyers) {
      const s = await join(eventId, buyer.token);
      expect(s).toMatchObject({ state: 'waiting', lobby: true, position: null });
    }
    const seed = '07'.repeat(32);
    const before = (await (await api(`/api/events/${eventId}/queue/fairness`)).json()) as { seedHash: string; seed: string | null; draw: string[] | null };
    expect(before).toMatchObject({ seedHash: await hex(seed), seed: null, draw: null });

    // They poll while they wait (a place without a socket lasts two minutes after the last poll).
    clock.now = onSaleAt - MINUTE;
    for (const buyer of buyers) expect(await status(eventId, buyer.token)).toMatchObject({ state: 'waiting', lobby: true });
    clock.now = onSaleAt + 1;
    await runDurableObjectAlarm(env.WAITING_ROOM.getByName(eventId));

    const after = (await (await api(`/api/events/${eventId}/queue/fairness`)).json()) as { seedHash: string; seed: string; draw: string[] };
    expect(after.seed).toBe(seed);
    expect(await hex(after.seed)).toBe(after.seedHash);
    // Recompute the draw from the published seed and the buyers' own ids, independently of the server's code.
    const participants = await Promise.all(buyers.map(async (b) => ({ buyer: b, pid: (await hex(`${eventId}:${b.user.id}`)).slice(0, 24) })));
    const keyed = await Promise.all(participants.map(async (p) => ({ ...p, key: await hex(`${seed}:${p.pid}`) })));
    keyed.sort((a, b) => (a.key < b.key ? -1 : 1));
    expect(after.draw).toEqual(keyed.map((k) => k.pid));
    for (const [i, { buyer }] of keyed.entries()) {
      expect(await status(eventId, buyer.token)).toMatchObject({ state: 'waiting', position: i + 1, ahead: i });
    }
    // The draw is not simply the order of arrival (with this seed it differs).
    expect(keyed.map((k) => k.buyer.user.id)).not.toEqual(buyers.map((b) => b.user.id));
  });

  it('queues first come, first served once the sale is open, behind everyone drawn from the lobby', async () => {
    const onSaleAt = clock.now + 5 * MINUTE;
    const { eventId } = await createEvent(admin, {
      onSaleAt: new Date(onSaleAt).toISOString(),
      startsAt: new Date(clock.now + 30 * 24 * 60 * MINUTE).toISOString(),
      queue: { enabled: true, admitPerMinute: 60, maxActive: 100 },
    });
    const early = await Promise.all(Array.from({ length: 3 }, () => signUp()));
    for (const buyer of early) expect((await join(eventId, buyer.token)).lobby).toBe(true);
    clock.now = onSaleAt + 1;
    const late = await Promise.all(Array.from({ length: 3 }, () => signUp()));
    for (const buyer of late) await join(eventId, buyer.token);
    const earlyPositions = await Promise.all(early.map(async (b) => (await status(eventId, b.token)).position!));
    const latePositions = await Promise.all(late.map(async (b) => (await status(eventId, b.token)).position));
    expect(earlyPositions.sort()).toEqual([1, 2, 3]);
    expect(latePositions).toEqual([4, 5, 6]);
  });

  it('admits at the configured rate, one tick of the alarm at a time, first in line first', async () => {
    const { eventId } = await queuedEvent(admin, { admitPerMinute: 60, maxActive: 100 });
    const buyers = await Promise.all(Array.from({ length: 6 }, () => signUp()));
    const clients: QueueClient[] = [];
    for (const buyer of buyers) clients.push(await QueueClient.connect(eventId, buyer.token));
    await Promise.all(clients.map((client) => client.next('position')));
    await runDurableObjectAlarm(env.WAITING_ROOM.getByName(eventId)); // starts measuring

    await tick(eventId, 1000); // 60 a minute: one a second
    expect((await clients[0]!.next('admitted')).token).toEqual(expect.any(String));
    // Everyone behind moved up by one, and was told (and was not admitted).
    await waitFor(() => (clients[5]!.last('position')?.position === 5 ? true : undefined), 'the last client at position 5');
    expect(clients.slice(1).map((c) => c.last('position')?.position)).toEqual([1, 2, 3, 4, 5]);
    expect(clients.slice(1).every((c) => c.last('admitted') === undefined)).toBe(true);

    await tick(eventId, 3000);
    for (const client of clients.slice(1, 4)) await client.next('admitted');
    await waitFor(() => (clients[5]!.last('position')?.position === 2 ? true : undefined), 'the last client at position 2');
    expect(clients.slice(4).every((c) => c.last('admitted') === undefined)).toBe(true);

    // Running the alarm again at the same moment admits no one more.
    await runInDurableObject(env.WAITING_ROOM.getByName(eventId), (room) => room.alarm());
    expect((await status(eventId, buyers[4]!.token)).state).toBe('waiting');
    clients.forEach((c) => c.close());
  });

  it('never lets more than maxActive shoppers in at once; a finished booking frees a place', async () => {
    const { eventId } = await queuedEvent(admin, { admitPerMinute: 600, maxActive: 2, tokenMinutes: 1 });
    const [ticketA] = await ticketIdsOf(eventId);
    const buyers = await Promise.all(Array.from({ length: 4 }, () => signUp()));
    for (const buyer of buyers) await join(eventId, buyer.token);
    await runDurableObjectAlarm(env.WAITING_ROOM.getByName(eventId));
    await tick(eventId, 10_000);
    const states = await Promise.all(buyers.map(async (b) => status(eventId, b.token)));
    expect(states.map((s) => s.state)).toEqual(['admitted', 'admitted', 'waiting', 'waiting']);

    // The first shopper buys: TicketLock tells the room, and the next tick admits the third.
    const bought = await api(`/api/bookings/${eventId}`, {
      method: 'POST',
      token: buyers[0]!.token,
      headers: { 'X-Queue-Token': states[0]!.token! },
      json: { ticketIds: [ticketA], paymentDetails: { paymentMethodId: 'pm_card_visa' } },
    });
    expect(bought.status).toBe(201);
    await tick(eventId, 1000);
    expect((await status(eventId, buyers[2]!.token)).state).toBe('admitted');
    expect((await status(eventId, buyers[3]!.token)).state).toBe('waiting');

    // An admission that expires unused frees its place too (these last a minute).
    await tick(eventId, MINUTE + 1000);
    expect((await status(eventId, buyers[3]!.token)).state).toBe('admitted');
  });

  it('admits no more shoppers than there are seats left to sell', async () => {
    const { eventId } = await queuedEvent(admin, { admitPerMinute: 600, maxActive: 100 }, 3);
    const buyers = await Promise.all(Array.from({ length: 5 }, () => signUp()));
    for (const buyer of buyers) await join(eventId, buyer.token);
    await runDurableObjectAlarm(env.WAITING_ROOM.getByName(eventId));
    await tick(eventId, 10_000);
    const states = (await Promise.all(buyers.map(async (b) => status(eventId, b.token)))).map((s) => s.state);
    expect(states).toEqual(['admitted', 'admitted', 'admitted', 'waiting', 'waiting']);
  });

  it('admits no more shoppers than there are seats free to hold: a held seat is not free', async () => {
    // Tokens last a minute, holds ten: a hold can outlive the admission it was made with.
    const { eventId, ticketIds } = await queuedEvent(admin, { admitPerMinute: 600, maxActive: 100, tokenMinutes: 1 }, 3);
    const buyers = await Promise.all(Array.from({ length: 4 }, () => signUp()));
    const [holder, others] = [buyers[0]!, buyers.slice(1)];
    await join(eventId, holder.token);
    await tick(eventId, 1000);
    const admission = await status(eventId, holder.token);
    expect(admission.state).toBe('admitted');
    const held = await api(`/api/bookings/${eventId}`, {
      method: 'POST',
      token: holder.token,
      headers: { 'X-Queue-Token': admission.token! },
      json: { ticketIds: ticketIds.slice(0, 2) },
    });
    expect(held.status).toBe(201);
    for (const other of others) await join(eventId, other.token);

    // The holder's admission lapses; two of the three seats stay held: one is free, so one shopper is let in.
    await tick(eventId, MINUTE + 1000);
    expect((await Promise.all(others.map(async (o) => (await status(eventId, o.token)).state)))).toEqual(['admitted', 'waiting', 'waiting']);
    await tick(eventId, 1000);
    expect((await Promise.all(others.map(async (o) => (await status(eventId, o.token)).state)))).toEqual(['admitted', 'waiting', 'waiting']);

    // The hold is given up: three seats free, one active shopper, so two more.
    const { bookingId } = (await held.json()) as { bookingId: string };
    expect((await api(`/api/bookings/${bookingId}`, { method: 'DELETE', token: holder.token })).status).toBe(204);
    await tick(eventId, 1000);
    expect((await Promise.all(others.map(async (o) => (await status(eventId, o.token)).state)))).toEqual(['admitted', 'admitted', 'admitted']);
  });

  it('tells everyone waiting at once when the event sells out', async () => {
    const { eventId } = await queuedEvent(admin, { admitPerMinute: 600, maxActive: 1 }, 2);
    const tickets = await ticketIdsOf(eventId);
    const [shopper, ...others] = await Promise.all(Array.from({ length: 4 }, () => signUp()));
    await join(eventId, shopper!.token);
    const waiting: QueueClient[] = [];
    for (const other of others) waiting.push(await QueueClient.connect(eventId, other.token));
    await runDurableObjectAlarm(env.WAITING_ROOM.getByName(eventId));
    await tick(eventId, 1000);
    const admission = await status(eventId, shopper!.token);
    expect(admission.state).toBe('admitted');

    const bought = await api(`/api/bookings/${eventId}`, {
      method: 'POST',
      token: shopper!.token,
      headers: { 'X-Queue-Token': admission.token! },
      json: { ticketIds: tickets, paymentDetails: { paymentMethodId: 'pm_card_visa' } },
    });
    expect(bought.status).toBe(201);
    // No tick needed: the sale itself tells the room.
    for (const client of waiting) {
      await client.next('sold_out');
      await waitFor(() => (client.closed ? true : undefined), 'the socket to close');
    }
    expect((await status(eventId, others[0]!.token)).state).toBe('sold_out');
    const late = await signUp();
    expect((await join(eventId, late.token)).state).toBe('sold_out');
    expect((await status(eventId, late.token)).state).toBe('sold_out');
  });

  it('keeps the place of someone who reconnects, or comes back within two minutes, and only then', async () => {
    // One shopper at a time, admitted for ten minutes: the first tick lets in the first in line, and no one after.
    const { eventId } = await queuedEvent(admin, { admitPerMinute: 60, maxActive: 1 });
    const [first, second, third] = await Promise.all(Array.from({ length: 3 }, () => signUp()));
    const a = await QueueClient.connect(eventId, first!.token);
    const b = await QueueClient.connect(eventId, second!.token);
    const c = await QueueClient.connect(eventId, third!.token);
    expect((await b.next('position')).position).toBe(2);

    b.close();
    await waitFor(() => (b.closed ? true : undefined), 'b to close');
    const again = await QueueClient.connect(eventId, second!.token);
    expect((await again.next('position')).position).toBe(2);
    again.close();
    await waitFor(() => (again.closed ? true : undefined), 'the second socket to close');

    await tick(eventId, 2 * MINUTE - 5000);
    await a.next('admitted');
    const withinGrace = await QueueClient.connect(eventId, second!.token);
    expect((await withinGrace.next('position')).position).toBe(1);
    withinGrace.close();
    await waitFor(() => (withinGrace.closed ? true : undefined), 'the third socket to close');

    await tick(eventId, 2 * MINUTE + 1000);
    // Gone for longer than the grace: the place went to the people behind.
    await waitFor(() => (c.last('position')?.position === 1 ? true : undefined), 'c to move up to position 1');
    const tooLate = await QueueClient.connect(eventId, second!.token);
    expect((await tooLate.next('position')).position).toBe(2);
    for (const client of [a, c, tooLate]) client.close();
  });

  it('keeps a place for whoever polls the status, drops it two minutes after the last poll, and never joins by status', async () => {
    // One shopper at a time, for ten minutes: the first is let in, the poller stays in line behind.
    const { eventId } = await queuedEvent(admin, { admitPerMinute: 60, maxActive: 1 });
    const [first, poller, bystander] = await Promise.all([signUp(), signUp(), signUp()]);
    await join(eventId, first.token);
    expect(await join(eventId, poller.token)).toMatchObject({ state: 'waiting', position: 2 });
    // Polling every 90 s for six minutes keeps the place (each poll restarts the two minutes).
    for (let i = 0; i < 4; i++) {
      await tick(eventId, 90_000);
      expect(await status(eventId, poller.token)).toMatchObject({ state: 'waiting' });
    }
    expect(await status(eventId, bystander.token)).toEqual({ state: 'none', position: null, ahead: null, etaSeconds: null, token: null, expiresAt: null });
    // Without polls the place lapses after two minutes, and a status then says so without joining.
    await tick(eventId, 2 * MINUTE + 1000);
    expect(await status(eventId, poller.token)).toMatchObject({ state: 'none', position: null });
    expect(await status(eventId, poller.token)).toMatchObject({ state: 'none' });
    expect(await status(eventId, bystander.token)).toMatchObject({ state: 'none' });
    const lines = await runInDurableObject(env.WAITING_ROOM.getByName(eventId), (_, state) =>
      state.storage.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM entries WHERE state = 'waiting'`).one().n,
    );
    expect(lines).toBe(0);
    // Joining again is at the back.
    expect(await join(eventId, poller.token)).toMatchObject({ state: 'waiting', position: 1 });
  });

  it('gives one place per account, and keeps at most three of its sockets open', async () => {
    const { eventId } = await queuedEvent(admin, { admitPerMinute: 1, maxActive: 100 });
    const [buyer, other] = await Promise.all([signUp(), signUp()]);
    const tabs: QueueClient[] = [];
    for (let i = 0; i < 4; i++) {
      tabs.push(await QueueClient.connect(eventId, buyer.token));
      expect((await tabs[i]!.next('position')).position).toBe(1);
    }
    expect((await join(eventId, other.token)).position).toBe(2);
    // The fourth connection closed the oldest; the place stays.
    await waitFor(() => (tabs[0]!.closed ? true : undefined), 'the oldest socket to close');
    expect(tabs.slice(1).every((tab) => !tab.closed)).toBe(true);
    expect((await status(eventId, buyer.token)).position).toBe(1);
    tabs.forEach((tab) => tab.close());
  });

  it('takes newer settings live and ignores an older copy of them', async () => {
    const { eventId } = await queuedEvent(admin, { admitPerMinute: 600, maxActive: 1 });
    const buyers = await Promise.all(Array.from({ length: 3 }, () => signUp()));
    for (const buyer of buyers) await join(eventId, buyer.token);
    await runDurableObjectAlarm(env.WAITING_ROOM.getByName(eventId));
    await tick(eventId, 1000);
    expect((await Promise.all(buyers.map(async (b) => (await status(eventId, b.token)).state)))).toEqual(['admitted', 'waiting', 'waiting']);

    const patched = await api(`/api/admin/events/${eventId}`, { method: 'PATCH', token: admin, json: { queue: { maxActive: 3 } } });
    expect(((await patched.json()) as { event: { queue: { enabled: boolean; maxActive: number } } }).event.queue).toMatchObject({ enabled: true, maxActive: 3 });
    // A copy of the settings from before the edit (another data centre's cache) changes nothing.
    const room = env.WAITING_ROOM.getByName(eventId);
    await room.configure({ eventId, enabled: true, admitPerMinute: 600, maxActive: 1, tokenMinutes: 10, lobbyMinutes: 30, onSaleAt: clock.now - 1000, version: 1 });
    await tick(eventId, 1000);
    expect((await Promise.all(buyers.map(async (b) => (await status(eventId, b.token)).state)))).toEqual(['admitted', 'admitted', 'admitted']);
  });

  it('keeps the queue and its sockets when the idle object is evicted while they hibernate', { timeout: 60_000 }, async () => {
    const { eventId } = await queuedEvent(admin, { admitPerMinute: 60, maxActive: 100 });
    const room = env.WAITING_ROOM.getByName(eventId);
    const buyers = await Promise.all(Array.from({ length: 3 }, () => signUp()));
    const clients: QueueClient[] = [];
    for (const buyer of buyers) clients.push(await QueueClient.connect(eventId, buyer.token));
    await Promise.all(clients.map((c) => c.next('position')));
    await runDurableObjectAlarm(room);
    // A mark that only this instance carries in memory.
    await runInDurableObject(room, (instance) => Object.assign(instance, { mark: 'before hibernation' }));
    expect(await runInDurableObject(room, (instance) => 'mark' in instance)).toBe(true);

    // workerd evicts a Durable Object after about ten idle seconds; hibernatable sockets stay open.
    // (evictDurableObject would say it faster, but it arrived in vitest-pool-workers 0.16, which
    // needs a wrangler that needs Node 22; this machine runs Node 20.)
    let evicted = false;
    for (let attempt = 0; attempt < 3 && !evicted; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 12_000));
      evicted = await runInDurableObject(room, (instance) => !('mark' in instance));
    }
    expect(evicted).toBe(true);
    expect(clients.every((c) => !c.closed)).toBe(true);

    await tick(eventId, 1000);
    await clients[0]!.next('admitted');
    expect((await clients[1]!.next('position', 1)).position).toBe(1);
    expect((await clients[2]!.next('position', 1)).position).toBe(2);
    clients.forEach((c) => c.close());
  });

  it('keeps the line, places and all, when the organizer postpones the sale after the draw, and admits nobody before it', async () => {
    const { eventId } = await queuedEvent(admin, { admitPerMinute: 60, maxActive: 100 });
    const [first, second] = await Promise.all([signUp(), signUp()]);
    await join(eventId, first.token);
    expect((await join(eventId, second.token)).position).toBe(2);

    const later = new Date(clock.now + 60 * MINUTE).toISOString();
    const patched = await api(`/api/admin/events/${eventId}`, { method: 'PATCH', token: admin, json: { onSaleAt: later } });
    expect(patched.status).toBe(200);
    for (let i = 0; i < 6; i++) {
      await tick(eventId, 30_000);
      expect(await status(eventId, first.token)).toMatchObject({ state: 'waiting', position: 1 });
      expect(await status(eventId, second.token)).toMatchObject({ state: 'waiting', position: 2 });
    }
  });

  it('tells everyone when the organizer turns the queue off, and bookings stop asking for a token', async () => {
    const { eventId } = await queuedEvent(admin, { admitPerMinute: 1, maxActive: 100 });
    const [ticket] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const client = await QueueClient.connect(eventId, buyer.token);
    await client.next('position');
    const patched = await api(`/api/admin/events/${eventId}`, { method: 'PATCH', token: admin, json: { queue: { enabled: false } } });
    expect(patched.status).toBe(200);
    await client.next('off');
    const booked = await api(`/api/bookings/${eventId}`, { method: 'POST', token: buyer.token, json: { ticketIds: [ticket] } });
    expect(booked.status).toBe(201);
  });
});
