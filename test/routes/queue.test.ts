import { runDurableObjectAlarm } from 'cloudflare:test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, api, createEvent, env, signUp, TestClock } from '../helpers';

const clock = new TestClock();

describe('GET /api/events/:eventId/queue (WebSocket), POST /queue/join, GET /queue/status, /queue/fairness', () => {
  let admin: string;
  let queued: string;
  beforeAll(async () => {
    clock.install();
    admin = await adminToken();
    queued = (
      await createEvent(admin, {
        onSaleAt: new Date(clock.now - 1000).toISOString(),
        startsAt: new Date(clock.now + 30 * 24 * 3600 * 1000).toISOString(),
        queue: { enabled: true, admitPerMinute: 600, maxActive: 10 },
      })
    ).eventId;
  });
  afterAll(() => clock.uninstall());

  it('asks for a session: 401 without one, on the socket, the join and the status', async () => {
    const socket = await api(`/api/events/${queued}/queue`, { headers: { Upgrade: 'websocket' } });
    expect(socket.status).toBe(401);
    expect(await socket.json()).toMatchObject({ error: { code: 'unauthenticated' } });
    expect((await api(`/api/events/${queued}/queue/join`, { method: 'POST' })).status).toBe(401);
    expect((await api(`/api/events/${queued}/queue/status`)).status).toBe(401);
  });

  it('takes a one-time ?ticket=, since browsers cannot set headers on a WebSocket', async () => {
    const buyer = await signUp();
    const { ticket } = (await (await api(`/api/events/${queued}/queue/ticket`, { method: 'POST', token: buyer.token })).json()) as { ticket: string };
    const response = await api(`/api/events/${queued}/queue?ticket=${encodeURIComponent(ticket)}`, { headers: { Upgrade: 'websocket' } });
    expect(response.status).toBe(101);
    response.webSocket!.accept();
    response.webSocket!.close(1000, 'done');
    const used = await api(`/api/events/${queued}/queue?ticket=${encodeURIComponent(ticket)}`, { headers: { Upgrade: 'websocket' } });
    expect(used.status).toBe(401);
  });

  it("takes API.md's ?token= (the session token) and refuses a forged, altered or logged-out one", async () => {
    const buyer = await signUp();
    const connect = (token: string) => api(`/api/events/${queued}/queue?token=${encodeURIComponent(token)}`, { headers: { Upgrade: 'websocket' } });

    const response = await connect(buyer.token);
    expect(response.status).toBe(101);
    response.webSocket!.accept();
    response.webSocket!.close(1000, 'done');

    expect((await connect('not-a-token')).status).toBe(401);
    expect((await connect(`${buyer.token.slice(0, -2)}xx`)).status).toBe(401);
    await api('/api/auth/logout', { method: 'POST', token: buyer.token });
    expect((await connect(buyer.token)).status).toBe(401);
  });

  it('answers 426 in the error shape to a plain GET of the socket', async () => {
    const buyer = await signUp();
    const response = await api(`/api/events/${queued}/queue`, { token: buyer.token });
    expect(response.status).toBe(426);
    expect(await response.json()).toMatchObject({ error: { code: 'upgrade_required', message: expect.any(String) } });
  });

  it('answers 404 for unknown events, malformed ids and drafts', async () => {
    const buyer = await signUp();
    const draft = await createEvent(admin, { status: 'draft', queue: { enabled: true } });
    for (const id of ['00000000-0000-4000-8000-000000000000', 'nope', draft.eventId]) {
      expect((await api(`/api/events/${id}/queue/status`, { token: buyer.token })).status).toBe(404);
      expect((await api(`/api/events/${id}/queue/join`, { method: 'POST', token: buyer.token })).status).toBe(404);
      expect((await api(`/api/events/${id}/queue`, { token: buyer.token, headers: { Upgrade: 'websocket' } })).status).toBe(404);
    }
  });

  it('says "off", every other field null, for an event without a waiting room', async () => {
    const { eventId } = await createEvent(admin);
    const buyer = await signUp();
    const off = { state: 'off', position: null, ahead: null, etaSeconds: null, token: null, expiresAt: null };
    expect(await (await api(`/api/events/${eventId}/queue/join`, { method: 'POST', token: buyer.token })).json()).toEqual(off);
    expect(await (await api(`/api/events/${eventId}/queue/status`, { token: buyer.token })).json()).toEqual(off);
  });

  it('gives the status in API.md\'s shape while waiting, then the admission and its cookie', async () => {
    const { eventId: queued } = await createEvent(admin, {
      onSaleAt: new Date(clock.now - 1000).toISOString(),
      startsAt: new Date(clock.now + 30 * 24 * 3600 * 1000).toISOString(),
      queue: { enabled: true, admitPerMinute: 600, maxActive: 10 },
    });
    const buyer = await signUp();
    const none = await api(`/api/events/${queued}/queue/status`, { token: buyer.token });
    expect(await none.json()).toEqual({ state: 'none', position: null, ahead: null, etaSeconds: null, token: null, expiresAt: null });
    const joined = await api(`/api/events/${queued}/queue/join`, { method: 'POST', token: buyer.token });
    expect(joined.status).toBe(200);
    expect(joined.headers.get('Cache-Control')).toBe('no-store');
    expect(await joined.json()).toEqual({ state: 'waiting', position: 1, ahead: 0, etaSeconds: expect.any(Number), token: null, expiresAt: null });
    const waiting = await api(`/api/events/${queued}/queue/status`, { token: buyer.token });
    expect(await waiting.json()).toEqual({ state: 'waiting', position: 1, ahead: 0, etaSeconds: expect.any(Number), token: null, expiresAt: null });

    clock.advance(1000);
    await runDurableObjectAlarm(env.WAITING_ROOM.getByName(queued));
    const admitted = await api(`/api/events/${queued}/queue/status`, { token: buyer.token });
    const body = (await admitted.json()) as { state: string; token: string; expiresAt: string };
    expect(body).toMatchObject({ state: 'admitted', position: null, token: expect.any(String), expiresAt: expect.any(String) });
    expect(Date.parse(body.expiresAt) - clock.now).toBe(10 * 60 * 1000);
    expect(admitted.headers.get('Set-Cookie')).toMatch(new RegExp(`^queue_${queued.replace(/-/g, '')}=.+; Max-Age=\\d+; Path=/api/bookings; HttpOnly; Secure; SameSite=Lax$`));

    // Joining again keeps the admission (and sets its cookie too).
    const again = await api(`/api/events/${queued}/queue/join`, { method: 'POST', token: buyer.token });
    expect(await again.json()).toMatchObject({ state: 'admitted', token: body.token, expiresAt: body.expiresAt });
    expect(again.headers.get('Set-Cookie')).toMatch(new RegExp(`^queue_${queued.replace(/-/g, '')}=`));
  });

  it('never joins on GET /queue/status: whoever only polls stays out of line, and the line does not grow', async () => {
    const { eventId } = await createEvent(admin, {
      onSaleAt: new Date(clock.now - 1000).toISOString(),
      startsAt: new Date(clock.now + 30 * 24 * 3600 * 1000).toISOString(),
      queue: { enabled: true, admitPerMinute: 600, maxActive: 10 },
    });
    const [poller, joiner] = await Promise.all([signUp(), signUp()]);
    for (let i = 0; i < 3; i++) {
      expect(await (await api(`/api/events/${eventId}/queue/status`, { token: poller.token })).json()).toMatchObject({ state: 'none', position: null });
    }
    const joined = await api(`/api/events/${eventId}/queue/join`, { method: 'POST', token: joiner.token });
    expect(await joined.json()).toMatchObject({ state: 'waiting', position: 1, ahead: 0 });
    // Nobody was let in at the next tick but the one who joined.
    clock.advance(1000);
    await runDurableObjectAlarm(env.WAITING_ROOM.getByName(eventId));
    expect(await (await api(`/api/events/${eventId}/queue/status`, { token: poller.token })).json()).toMatchObject({ state: 'none', token: null });
    expect(await (await api(`/api/events/${eventId}/queue/status`, { token: joiner.token })).json()).toMatchObject({ state: 'admitted' });
  });

  it('refuses a cross-site join by cookie, and joins from our own pages', async () => {
    const buyer = await signUp();
    const foreign = await api(`/api/events/${queued}/queue/join`, { method: 'POST', headers: { Cookie: `session=${buyer.token}`, Origin: 'https://evil.example' } });
    expect(foreign.status).toBe(403);
    expect(await (await api(`/api/events/${queued}/queue/status`, { token: buyer.token })).json()).toMatchObject({ state: 'none' });
    const own = await api(`/api/events/${queued}/queue/join`, { method: 'POST', headers: { Cookie: `session=${buyer.token}`, Origin: 'http://box-office.test' } });
    expect(await own.json()).toMatchObject({ state: 'waiting' });
  });

  it('publishes the seed hash, and after the draw the seed, for anyone to check', async () => {
    const response = await api(`/api/events/${queued}/queue/fairness`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { seedHash: string; seed: string; draw: string[]; recipe: string };
    expect(body.seedHash).toMatch(/^[0-9a-f]{64}$/);
    expect(body.seed).toMatch(/^[0-9a-f]{64}$/);
    expect(body.draw).toEqual([]); // nobody was in the lobby: the sale opened before anyone came
    expect(body.recipe).toEqual(expect.any(String));
  });
});
