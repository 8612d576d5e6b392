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
  overrides: { name?: string; performerName?: string; city?: string; venueName?: string; description?: string; startsAt?: string; status?: string; sections?: Array<{ name: string; rows: number; seatsPerRow: number }>; prices?: Record<string, number> } = {},
): Promise<CreatedEvent> {
  const performer = await api('/api/admin/performers', { method: 'POST', token: admin, json: { name: overrides.performerName ?? unique('Performer '), genre: 'rock' } });
  const { performer: p } = (await performer.json()) as { performer: { id: string } };
  const sections = overrides.sections ?? [{ name: 'Floor', rows: 2, seatsPerRow: 5 }, { name: 'Balcony', rows: 1, seatsPerRow: 4 }];
  const venue = await api('/api/admin/venues', {
    method: 'POST',
    token: admin,
    json: { name: overrides.venueName ?? unique('Hall '), city: overrides.city ?? 'Springfield', address: '1 Main St', sections },
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
    },
  });
  if (event.status !== 201) throw new Error(`event creation failed: ${event.status} ${await event.text()}`);
  const body = (await event.json()) as { event: { id: string }; ticketCount: number };
  return { eventId: body.event.id, venueId: v.id, performerId: p.id, ticketCount: body.ticketCount };
}
