// Many requests at once on the Workers runtime over HTTP (each its own request context, as in
// production): none may wait on a load another request started, or the runtime cancels it. Runs
// in Node beside the browser tests, against Miniflare (scripts/lib/local-runtime.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, LOCAL_ADMIN, startLocalRuntime, type LocalRuntime } from '../../scripts/lib/local-runtime';

describe('cached loads under many simultaneous requests', () => {
  let runtime: LocalRuntime;
  let eventId: string;
  let performerId: string;
  let venueId: string;

  beforeAll(async () => {
    runtime = await startLocalRuntime('shared-loads', () => {}, { faultControl: true });
    const token = (await call<{ token: string }>(runtime.base, '/api/auth/login', { method: 'POST', json: LOCAL_ADMIN })).body.token;
    const performer = await call<{ performer: { id: string } }>(runtime.base, '/api/admin/performers', { method: 'POST', token, json: { name: 'Crowd' } });
    const venue = await call<{ venue: { id: string } }>(runtime.base, '/api/admin/venues', { method: 'POST', token, json: { name: 'Crowd Hall', city: 'Ghent', sections: [{ name: 'Floor', rows: 4, seatsPerRow: 10 }] } });
    const event = await call<{ event: { id: string } }>(runtime.base, '/api/admin/events', {
      method: 'POST',
      token,
      json: { name: 'Crowd Night', performerId: performer.body.performer.id, venueId: venue.body.venue.id, startsAt: new Date(Date.now() + 864e5).toISOString(), prices: { Floor: 1000 } },
    });
    eventId = event.body.event.id;
    performerId = performer.body.performer.id;
    venueId = venue.body.venue.id;
  }, 180_000);

  afterAll(async () => {
    await runtime?.close();
  });

  it('answers every one of many requests that miss the availability cache together', async () => {
    for (let round = 0; round < 3; round++) {
      // Availability is kept 2 s, and loaded from the event's TicketLock.
      await new Promise((resolve) => setTimeout(resolve, 2100));
      const statuses = await Promise.all(
        Array.from({ length: 60 }, async () => {
          const response = await fetch(`${runtime.base}/api/events/${eventId}/availability`);
          await response.arrayBuffer();
          return response.status;
        }),
      );
      expect(statuses).toEqual(Array(60).fill(200));
    }
  });
  it('answers a request that waited on a load whose own request hung up', async () => {
    const setDelay = async (delayMs: number) => {
      const response = await fetch(`http://${runtime.neonProxy}/__faults`, { method: 'POST', body: JSON.stringify({ delayMs }) });
      expect(response.status).toBe(200);
    };
    const event = await call<{ event: { id: string } }>(runtime.base, '/api/admin/events', {
      method: 'POST',
      token: (await call<{ token: string }>(runtime.base, '/api/auth/login', { method: 'POST', json: LOCAL_ADMIN })).body.token,
      json: { name: 'Hang-up Night', performerId, venueId, startsAt: new Date(Date.now() + 864e5).toISOString(), prices: { Floor: 1000 } },
    });
    const path = `/api/events/${event.body.event.id}?tickets=none`;
    // Postgres slow: the first request's load of the event takes seconds.
    await setDelay(300);
    try {
      const hangingUp = new AbortController();
      const first = fetch(`${runtime.base}${path}`, { signal: hangingUp.signal }).catch(() => 'hung up');
      await new Promise((resolve) => setTimeout(resolve, 100));
      const second = fetch(`${runtime.base}${path}`).then(async (response) => ({ status: response.status, body: await response.text() }));
      await new Promise((resolve) => setTimeout(resolve, 200));
      hangingUp.abort();
      expect(await first).toBe('hung up');

      const answer = await second;

      expect(answer.status, answer.body).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({ event: { id: event.body.event.id } });
    } finally {
      await setDelay(0);
    }
  }, 60_000);
});
