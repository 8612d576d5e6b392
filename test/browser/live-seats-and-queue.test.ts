// A real browser (Chromium through playwright-core, scripts/lib/browser.ts) against the Worker on the Workers
// runtime: its EventSource follows the seat stream and its WebSocket waits in the queue, as a
// page of the box office would. Runs in Node, not in workerd: see the `browser` project in
// vitest.config.ts. (The callbacks of page.evaluate run in the page; they use only what the
// Workers types also declare: fetch, EventSource, WebSocket.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../scripts/lib/browser';
import { LOCAL_ADMIN, startLocalRuntime, type LocalRuntime } from '../../scripts/lib/local-runtime';

describe('in a browser', () => {
  let runtime: LocalRuntime;
  let browser: Browser;
  let page: Page;
  let eventId: string;
  /** The booking the first test makes, which the second cancels. */
  let bookingId: string;

  beforeAll(async () => {
    runtime = await startLocalRuntime('browser', () => {});
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(`${runtime.base}/api/health`);
    // Signed in as the organizer by cookie, as the site's pages would be; an event with its waiting room on.
    eventId = await page.evaluate(async (admin) => {
      const post = async (path: string, body: unknown): Promise<Record<string, { id: string }>> => {
        const response = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
        if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
        return response.json();
      };
      await post('/api/auth/login', admin);
      const { performer } = await post('/api/admin/performers', { name: 'Browser Band' });
      const { venue } = await post('/api/admin/venues', { name: 'Browser Hall', city: 'Porto', sections: [{ name: 'Floor', rows: 1, seatsPerRow: 5 }] });
      const { event } = await post('/api/admin/events', {
        name: 'Browser Night',
        performerId: performer!.id,
        venueId: venue!.id,
        startsAt: new Date(Date.now() + 30 * 864e5).toISOString(),
        status: 'published',
        prices: { Floor: 2500 },
        queue: { enabled: true, admitPerMinute: 600, maxActive: 10 },
      });
      return event!.id;
    }, LOCAL_ADMIN);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await runtime?.close();
  });

  it('waits in the queue over a WebSocket, books with the admission, and its EventSource sees the hold', { timeout: 60_000 }, async () => {
    const outcome = await page.evaluate(async ({ id, base }) => {
      const source = new EventSource(`/api/events/${id}/seats/stream`);
      const snapshot = await new Promise<{ version: number; tickets: Array<{ id: string; status: string }> }>((resolve, reject) => {
        source.addEventListener('snapshot', (event) => resolve(JSON.parse((event as MessageEvent).data)));
        source.onerror = () => reject(new Error('the EventSource failed'));
      });
      const deltas: Array<{ lastEventId: string; data: { version: number; changes: Array<{ id: string; status: string }> } }> = [];
      source.addEventListener('seats', (event) => deltas.push({ lastEventId: (event as MessageEvent).lastEventId, data: JSON.parse((event as MessageEvent).data) }));

      const wanted = snapshot.tickets.slice(0, 2).map((t) => t.id);
      const book = (headers: Record<string, string>) =>
        fetch(`/api/bookings/${id}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify({ ticketIds: wanted }) });
      const withoutAdmission = await book({});

      const messages: Array<{ type: string; token?: string }> = [];
      const admission = await new Promise<{ token: string }>((resolve, reject) => {
        const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/api/events/${id}/queue`);
        socket.addEventListener('message', (event) => {
          const message = JSON.parse(event.data as string) as { type: string; token?: string };
          messages.push(message);
          if (message.type === 'admitted') resolve(message as { token: string });
        });
        socket.addEventListener('error', () => reject(new Error('the WebSocket failed')));
        setTimeout(() => reject(new Error(`not admitted within 15 s: ${JSON.stringify(messages)}`)), 15_000);
      });
      const held = await book({ 'X-Queue-Token': admission.token });
      const heldBody = (await held.json()) as { bookingId: string };
      const deadline = Date.now() + 5000;
      while (!deltas.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      source.close();
      return {
        snapshotStatuses: [...new Set(snapshot.tickets.map((t) => t.status))],
        ticketCount: snapshot.tickets.length,
        withoutAdmission: { status: withoutAdmission.status, body: await withoutAdmission.json() },
        messageTypes: messages.map((m) => m.type),
        held: held.status,
        bookingId: heldBody.bookingId as string,
        wanted,
        delta: deltas[0] ?? null,
      };
    }, { id: eventId, base: runtime.base });

    expect(outcome.ticketCount).toBe(5);
    expect(outcome.snapshotStatuses).toEqual(['available']);
    expect(outcome.withoutAdmission).toMatchObject({ status: 403, body: { error: { code: 'queue_required' } } });
    expect(outcome.messageTypes[0]).toBe('position');
    expect(outcome.messageTypes.at(-1)).toBe('admitted');
    expect(outcome.held).toBe(201);
    bookingId = outcome.bookingId;
    expect(outcome.delta?.lastEventId).toMatch(/^[0-9a-f]{12}-\d+$/);
    expect(outcome.delta?.data.changes).toEqual(outcome.wanted.map((id) => ({ id, status: 'reserved' })));
  });

  it('resumes with the last event id it saw and gets only what it missed, not a new snapshot', { timeout: 30_000 }, async () => {
    expect(bookingId).toBeTruthy();
    const outcome = await page.evaluate(
      async ({ id, booking }) => {
        const firstEvent = (url: string) =>
          new Promise<{ type: string; lastEventId: string; data: { changes?: Array<{ id: string; status: string }> } }>((resolve, reject) => {
            const source = new EventSource(url);
            for (const type of ['snapshot', 'seats']) {
              source.addEventListener(type, (event) => {
                source.close();
                resolve({ type, lastEventId: (event as MessageEvent).lastEventId, data: JSON.parse((event as MessageEvent).data) });
              });
            }
            source.onerror = () => reject(new Error('the EventSource failed'));
          });
        const before = await firstEvent(`/api/events/${id}/seats/stream`);
        // While this page is away, the booking is cancelled: two seats come free.
        const cancelled = await fetch(`/api/bookings/${booking}`, { method: 'DELETE' });
        const resumed = await firstEvent(`/api/events/${id}/seats/stream?lastEventId=${encodeURIComponent(before.lastEventId)}`);
        return { before: before.type, cancelled: cancelled.status, resumed };
      },
      { id: eventId, booking: bookingId },
    );
    expect(outcome.before).toBe('snapshot');
    expect(outcome.cancelled).toBe(204);
    expect(outcome.resumed.type).toBe('seats');
    expect(outcome.resumed.data.changes?.map((c) => c.status)).toEqual(['available', 'available']);
  });
});
