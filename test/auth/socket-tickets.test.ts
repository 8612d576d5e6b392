// The waiting room's WebSocket never takes a session token in its URL: a page asks
// POST /api/events/:eventId/queue/ticket for a ticket that opens one socket within 60 s.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, api, createEvent, signUp, TestClock } from '../helpers';

const clock = new TestClock();

interface TicketBody {
  ticket: string;
  expiresAt: string;
}

const connect = (eventId: string, query: string, init: { token?: string } = {}) =>
  api(`/api/events/${eventId}/queue?${query}`, { headers: { Upgrade: 'websocket' }, ...init });

async function ticketFor(eventId: string, token: string): Promise<TicketBody> {
  const response = await api(`/api/events/${eventId}/queue/ticket`, { method: 'POST', token });
  expect(response.status).toBe(200);
  expect(response.headers.get('Cache-Control')).toBe('no-store');
  return response.json();
}

/** Opens the socket and waits for the room's first message, which proves whose place it is. */
async function firstMessage(response: Response): Promise<{ type: string }> {
  expect(response.status).toBe(101);
  const socket = response.webSocket!;
  socket.accept();
  const message = await new Promise<{ type: string }>((resolve) => socket.addEventListener('message', (event) => resolve(JSON.parse(event.data as string))));
  socket.close(1000, 'done');
  return message;
}

async function expectUnauthenticated(response: Response): Promise<void> {
  expect(response.status).toBe(401);
  expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unauthenticated');
}

describe('WebSocket tickets for the waiting room', () => {
  let admin: string;
  let eventId: string;
  beforeAll(async () => {
    clock.install();
    admin = await adminToken();
    eventId = (
      await createEvent(admin, {
        onSaleAt: new Date(clock.now - 1000).toISOString(),
        startsAt: new Date(clock.now + 30 * 24 * 3600 * 1000).toISOString(),
        queue: { enabled: true, admitPerMinute: 60, maxActive: 1 },
      })
    ).eventId;
  });
  afterAll(() => clock.uninstall());

  it("refuses a session token in the URL that is not a live session's (API.md's ?token= takes live ones)", async () => {
    const buyer = await signUp();
    await expectUnauthenticated(await connect(eventId, `token=${encodeURIComponent(`${buyer.token}x`)}`));
    await api('/api/auth/logout', { method: 'POST', token: buyer.token });
    await expectUnauthenticated(await connect(eventId, `token=${encodeURIComponent(buyer.token)}`));
  });

  it('issues a ticket valid for 60 seconds that opens the socket once', async () => {
    const buyer = await signUp();
    const { ticket, expiresAt } = await ticketFor(eventId, buyer.token);
    expect(Date.parse(expiresAt) - clock.now).toBe(60_000);
    expect(ticket).not.toContain(buyer.token.split('.')[1]!);

    expect((await firstMessage(await connect(eventId, `ticket=${encodeURIComponent(ticket)}`))).type).toBe('position');
    await expectUnauthenticated(await connect(eventId, `ticket=${encodeURIComponent(ticket)}`));
    // The place it took is the buyer's own.
    const status = (await (await api(`/api/events/${eventId}/queue/status`, { token: buyer.token })).json()) as { state: string };
    expect(status.state).toBe('waiting');
  });

  it('refuses a ticket after its 60 seconds, for another event, altered, or whose session has ended', async () => {
    const buyer = await signUp();
    const late = await ticketFor(eventId, buyer.token);
    clock.advance(60_001);
    await expectUnauthenticated(await connect(eventId, `ticket=${encodeURIComponent(late.ticket)}`));

    const other = await createEvent(admin, { queue: { enabled: true } });
    const elsewhere = await ticketFor(other.eventId, buyer.token);
    await expectUnauthenticated(await connect(eventId, `ticket=${encodeURIComponent(elsewhere.ticket)}`));

    const fresh = await ticketFor(eventId, buyer.token);
    const [payload, signature] = fresh.ticket.split('.') as [string, string];
    await expectUnauthenticated(await connect(eventId, `ticket=${encodeURIComponent(`${payload}.${signature.slice(0, -2)}AA`)}`));
    await expectUnauthenticated(await connect(eventId, 'ticket=garbage'));

    expect((await api('/api/auth/logout', { method: 'POST', token: buyer.token })).status).toBe(204);
    await expectUnauthenticated(await connect(eventId, `ticket=${encodeURIComponent(fresh.ticket)}`));
  });

  it('asks for a session to issue one, and a known event', async () => {
    await expectUnauthenticated(await api(`/api/events/${eventId}/queue/ticket`, { method: 'POST' }));
    const buyer = await signUp();
    const unknown = await api('/api/events/00000000-0000-4000-8000-000000000000/queue/ticket', { method: 'POST', token: buyer.token });
    expect(unknown.status).toBe(404);
  });

  it('still lets a browser connect with its session cookie alone', async () => {
    const buyer = await signUp();
    const response = await api(`/api/events/${eventId}/queue`, { headers: { Upgrade: 'websocket', Cookie: `session=${buyer.token}`, Origin: 'http://box-office.test' } });
    expect((await firstMessage(response)).type).toBe('position');
  });
});
