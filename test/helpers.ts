import { env, exports } from 'cloudflare:workers';
import { withDb } from '../src/db/client';
import { users } from '../src/db/schema';
import { hashPassword } from '../src/auth/passwords';

export { env };

const ORIGIN = 'http://box-office.test';

/** A request to the Worker under test, inside the Workers runtime. */
export function api(path: string, init: RequestInit & { json?: unknown; token?: string } = {}): Promise<Response> {
  const { json, token, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (json !== undefined) headers.set('Content-Type', 'application/json');
  if (token) headers.set('Authorization', `Bearer ${token}`);
  return exports.default.fetch(
    new Request(`${ORIGIN}${path}`, { ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body }),
  );
}

export const unique = (prefix = 'x') => `${prefix}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

export async function signUp(name = 'Test Buyer'): Promise<{ token: string; user: { id: string; email: string } }> {
  const response = await api('/api/auth/signup', {
    method: 'POST',
    json: { email: `${unique('buyer')}@example.com`, password: 'correct-horse-battery', name },
  });
  if (response.status !== 201) throw new Error(`signup failed: ${response.status} ${await response.text()}`);
  return response.json();
}

export async function adminToken(): Promise<string> {
  const email = `${unique('admin')}@example.com`;
  const passwordHash = await hashPassword('admin-password-123');
  await withDb(env, (db) => db.insert(users).values({ email, name: 'Organizer', passwordHash, role: 'admin' }));
  const response = await api('/api/auth/login', { method: 'POST', json: { email, password: 'admin-password-123' } });
  if (response.status !== 200) throw new Error(`admin login failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

export interface CreatedEvent {
  eventId: string;
  venueId: string;
  performerId: string;
  ticketCount: number;
}

/** A performer, a small venue and an event there, created through the organizer API. */
export async function createEvent(
  admin: string,
  overrides: {
    name?: string;
    performerName?: string;
    genre?: string;
    city?: string;
    /** The venue's coordinates (both or neither). */
    latitude?: number;
    longitude?: number;
    venueName?: string;
    description?: string;
    startsAt?: string;
    onSaleAt?: string;
    status?: string;
    sections?: Array<{ name: string; rows: number; seatsPerRow: number } | { name: string; kind: 'standing'; capacity: number }>;
    prices?: Record<string, number>;
    queue?: { enabled: boolean; admitPerMinute?: number; maxActive?: number; tokenMinutes?: number; lobbyMinutes?: number };
  } = {},
): Promise<CreatedEvent> {
  const performer = await api('/api/admin/performers', { method: 'POST', token: admin, json: { name: overrides.performerName ?? unique('Performer '), genre: overrides.genre ?? 'rock' } });
  const { performer: p } = (await performer.json()) as { performer: { id: string } };
  const sections = overrides.sections ?? [{ name: 'Floor', rows: 2, seatsPerRow: 5 }, { name: 'Balcony', rows: 1, seatsPerRow: 4 }];
  const venue = await api('/api/admin/venues', {
    method: 'POST',
    token: admin,
    json: {
      name: overrides.venueName ?? unique('Hall '),
      city: overrides.city ?? 'Springfield',
      address: '1 Main St',
      sections,
      ...(overrides.latitude !== undefined ? { latitude: overrides.latitude, longitude: overrides.longitude } : {}),
    },
  });
  const { venue: v } = (await venue.json()) as { venue: { id: string } };
  const prices = overrides.prices ?? Object.fromEntries(sections.map((s, i) => [s.name, 5000 + i * 1000]));
  const event = await api('/api/admin/events', {
    method: 'POST',
    token: admin,
    json: {
      name: overrides.name ?? unique('Event '),
      description: overrides.description ?? 'An evening of live music.',
      performerId: p.id,
      venueId: v.id,
      startsAt: overrides.startsAt ?? new Date(Date.now() + 30 * 24 * 3600 * 1000).toISOString(),
      status: overrides.status ?? 'published',
      prices,
      ...(overrides.onSaleAt ? { onSaleAt: overrides.onSaleAt } : {}),
      ...(overrides.queue ? { queue: overrides.queue } : {}),
    },
  });
  if (event.status !== 201) throw new Error(`event creation failed: ${event.status} ${await event.text()}`);
  const body = (await event.json()) as { event: { id: string }; ticketCount: number };
  return { eventId: body.event.id, venueId: v.id, performerId: p.id, ticketCount: body.ticketCount };
}

/** The event's tickets in seat-map order, as its page lists them. */
export async function ticketIdsOf(eventId: string): Promise<string[]> {
  const view = (await (await api(`/api/events/${eventId}`)).json()) as { tickets: Array<{ id: string }> };
  return view.tickets.map((t) => t.id);
}

/** A published event of one section of `seats` seats whose sale opened a second before `now`, with its waiting room on. */
export async function createQueuedEvent(
  admin: string,
  options: { now: number; queue: { admitPerMinute: number; maxActive: number; tokenMinutes?: number }; seats?: number },
): Promise<{ eventId: string; ticketIds: string[] }> {
  const { eventId } = await createEvent(admin, {
    onSaleAt: new Date(options.now - 1000).toISOString(),
    startsAt: new Date(options.now + 30 * 24 * 3600 * 1000).toISOString(),
    sections: [{ name: 'Floor', rows: 1, seatsPerRow: options.seats ?? 20 }],
    prices: { Floor: 4000 },
    queue: { enabled: true, ...options.queue },
  });
  return { eventId, ticketIds: await ticketIdsOf(eventId) };
}

/** Polls until `probe` returns something other than undefined (real time; the fake clocks below do not touch timers). */
export async function waitFor<T>(probe: () => T | undefined, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface QueueMessage {
  type: string;
  [field: string]: unknown;
}

/** A client of an event's waiting room (`GET /api/events/:eventId/queue`), recording what it is sent. */
export class QueueClient {
  readonly messages: QueueMessage[] = [];
  closed = false;

  private constructor(readonly socket: WebSocket) {
    socket.addEventListener('message', (event) => {
      this.messages.push(JSON.parse(event.data as string) as QueueMessage);
    });
    socket.addEventListener('close', () => {
      this.closed = true;
    });
  }

  static async connect(eventId: string, token: string): Promise<QueueClient> {
    const response = await api(`/api/events/${eventId}/queue`, { headers: { Upgrade: 'websocket' }, token });
    if (response.status !== 101 || !response.webSocket) throw new Error(`queue connect failed: ${response.status} ${await response.text()}`);
    response.webSocket.accept();
    return new QueueClient(response.webSocket);
  }

  /** The first message of this type received after the first `skip` of them. */
  next(type: string, skip = 0): Promise<QueueMessage> {
    return waitFor(() => this.messages.filter((m) => m.type === type)[skip], `a "${type}" message`);
  }

  last(type: string): QueueMessage | undefined {
    return this.messages.filter((m) => m.type === type).at(-1);
  }

  close(): void {
    if (!this.closed) this.socket.close(1000, 'done');
  }
}

/**
 * A clock for the Worker and its Durable Objects (they share this isolate), a year ahead so no
 * real alarm fires on its own, moved only by the test. Set it before signing anyone in: session
 * tokens expire by this clock.
 */
export class TestClock {
  private realNow = Date.now;
  now = Date.now() + 365 * 24 * 3600 * 1000;

  install(): void {
    this.realNow = Date.now;
    Date.now = () => this.now;
  }

  advance(ms: number): void {
    this.now += ms;
  }

  uninstall(): void {
    Date.now = this.realNow;
  }

  /** Runs `work` on this clock, then gives the real one back. */
  async during<T>(work: () => Promise<T>): Promise<T> {
    this.install();
    try {
      return await work();
    } finally {
      this.uninstall();
    }
  }
}
