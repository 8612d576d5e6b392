// Many requests at once on the Workers runtime over HTTP (each its own request context, as in
// production): none may wait on a load another request started, or the runtime cancels it. Runs
// in Node beside the browser tests, against Miniflare (scripts/lib/local-runtime.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, LOCAL_ADMIN, startLocalRuntime, type LocalRuntime } from '../../scripts/lib/local-runtime';

describe('cached loads under many simultaneous requests', () => {
  let runtime: LocalRuntime;
  let eventId: string;

  beforeAll(async () => {
    runtime = await startLocalRuntime('shared-loads', () => {});
    const token = (await call<{ token: string }>(runtime.base, '/api/auth/login', { method: 'POST', json: LOCAL_ADMIN })).body.token;
    const performer = await call<{ performer: { id: string } }>(runtime.base, '/api/admin/performers', { method: 'POST', token, json: { name: 'Crowd' } });
    const venue = await call<{ venue: { id: string } }>(runtime.base, '/api/admin/venues', { method: 'POST', token, json: { name: 'Crowd Hall', city: 'Ghent', sections: [{ name: 'Floor', rows: 4, seatsPerRow: 10 }] } });
    const event = await call<{ event: { id: string } }>(runtime.base, '/api/admin/events', {
      method: 'POST',
      token,
      json: { name: 'Crowd Night', performerId: performer.body.performer.id, venueId: venue.body.venue.id, startsAt: new Date(Date.now() + 864e5).toISOString(), prices: { Floor: 1000 } },
    });
    eventId = event.body.event.id;
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
});
