// Inventory pages (issue 12) in Chromium against the Worker on the Workers runtime: joining a sold-out
// event's waiting list from its page, the offer on My tickets paid at the checkout; giving a ticket to
// someone; an organizer refunding one booking and cancelling the event. Screenshots go to
// test/browser/screenshots/ (git-ignored).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../scripts/lib/browser';
import { buildWeb } from '../../scripts/build-web';
import { call, LOCAL_ADMIN, startLocalRuntime, type LocalRuntime } from '../../scripts/lib/local-runtime';

const SHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
const PASSWORD = 'a-long-password-9';

describe('inventory pages in a browser', () => {
  let runtime: LocalRuntime;
  let browser: Browser;
  let adminToken: string;
  let eventId: string;

  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const watch = (page: Page, errors: string[]) => {
    page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) errors.push(`console: ${message.text()}`);
    });
    page.on('response', (response) => {
      const path = new URL(response.url()).pathname;
      if (response.status() >= 400 && !(response.status() === 401 && path === '/api/me')) errors.push(`${response.status()} ${path}`);
    });
  };
  const account = async (name: string) => {
    const email = `${name.toLowerCase()}-${Date.now()}@example.com`;
    const signup = await call<{ token: string }>(runtime.base, '/api/auth/signup', { method: 'POST', json: { email, password: PASSWORD, name } });
    expect(signup.status).toBe(201);
    return { email, token: signup.body.token };
  };
  const logIn = async (page: Page, email: string, password: string, next: string) => {
    await page.goto(`${runtime.base}/login?next=${encodeURIComponent(next)}`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL((url) => url.pathname === next);
  };

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await buildWeb({ quiet: true });
    runtime = await startLocalRuntime('inventory-pages', () => {});
    browser = await launchChromium();
    adminToken = (await call<{ token: string }>(runtime.base, '/api/auth/login', { method: 'POST', json: LOCAL_ADMIN })).body.token;
    const token = adminToken;
    const performer = await call<{ performer: { id: string } }>(runtime.base, '/api/admin/performers', { method: 'POST', token, json: { name: 'The Waiting Game', genre: 'indie' } });
    const venue = await call<{ venue: { id: string } }>(runtime.base, '/api/admin/venues', { method: 'POST', token, json: { name: 'Tiny Room', city: 'Ghent', sections: [{ name: 'Floor', rows: 1, seatsPerRow: 2 }] } });
    const event = await call<{ event: { id: string } }>(runtime.base, '/api/admin/events', {
      method: 'POST',
      token,
      json: { name: 'The Waiting Game: Last Night', performerId: performer.body.performer.id, venueId: venue.body.venue.id, startsAt: new Date(Date.now() + 10 * 864e5).toISOString(), status: 'published', prices: { Floor: 3000 }, currency: 'EUR' },
    });
    expect(event.status).toBe(201);
    eventId = event.body.event.id;
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await runtime?.close();
  });

  it('a sold-out event: join its waiting list, get the offer on My tickets, pay it; then give the ticket to someone', { timeout: 120_000 }, async () => {
    // Someone holds both seats: the event is sold out.
    const holder = await account('Holder');
    const held = await call<{ bookingId: string }>(runtime.base, `/api/bookings/${eventId}`, { method: 'POST', token: holder.token, json: { seats: [0, 1] } });
    expect(held.status).toBe(201);
    const fan = await account('Fan');
    const friend = await account('Friend');
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    watch(page, errors);

    await logIn(page, fan.email, PASSWORD, `/events/${eventId}`);
    const panel = page.locator('#waitlist');
    await panel.waitFor();
    await page.getByLabel('How many places').fill('1');
    await page.getByRole('button', { name: 'Join the waiting list' }).click();
    await expect.poll(() => page.locator('#waitlist-status').textContent()).toContain('number 1 in line');
    expect(await page.getByRole('button', { name: 'Join the waiting list' }).isVisible()).toBe(false);
    await shot(page, 'waitlist-joined');

    // The holder lets the seats go: one is held for the fan at once.
    expect((await call(runtime.base, `/api/bookings/${held.body.bookingId}`, { method: 'DELETE', token: holder.token })).status).toBe(204);
    await page.goto(`${runtime.base}/my/tickets`);
    const offer = page.getByRole('link', { name: 'Pay for the offered places' });
    await offer.waitFor();
    expect(await page.locator('.waitlist-entry.offered').textContent()).toContain('1 place is held for you until');
    await shot(page, 'waitlist-offer');
    await offer.click();
    await page.waitForURL(/\/checkout\//);
    await page.getByLabel('Visa ending 4242 (succeeds)').check();
    await page.getByRole('button', { name: 'Pay' }).click();
    await page.getByRole('heading', { name: 'Your tickets are booked' }).waitFor();

    // My tickets: the booking, and the entry says the offer was taken. Then the ticket goes to a friend.
    await page.goto(`${runtime.base}/my/tickets`);
    await expect.poll(() => page.locator('.waitlist-entry.accepted').count()).toBe(1);
    await page.getByText('Give tickets to someone').click();
    await page.getByLabel("Recipient's e-mail (their account)").fill(friend.email);
    await shot(page, 'transfer-form');
    await page.getByRole('button', { name: 'Give these tickets' }).click();
    await expect.poll(() => page.locator('.booking.transferred').count()).toBe(1);
    await shot(page, 'transfer-done');
    const theirs = await call<{ bookings: Array<{ status: string; tickets: Array<{ code: string | null }> }> }>(runtime.base, '/api/me/bookings', { token: friend.token });
    expect(theirs.body.bookings.map((b) => b.status)).toEqual(['confirmed']);
    expect(theirs.body.bookings[0]!.tickets[0]!.code).toMatch(/^[A-Za-z0-9_-]{87}$/);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('best available from the event page: the server picks adjacent seats nearest the row centre', { timeout: 60_000 }, async () => {
    const token = adminToken;
    const performer = await call<{ performer: { id: string } }>(runtime.base, '/api/admin/performers', { method: 'POST', token, json: { name: 'Centre Stage' } });
    const venue = await call<{ venue: { id: string } }>(runtime.base, '/api/admin/venues', { method: 'POST', token, json: { name: 'Long Row', city: 'Ghent', sections: [{ name: 'Stalls', rows: 2, seatsPerRow: 8 }, { name: 'Gallery', rows: 1, seatsPerRow: 8 }] } });
    const created = await call<{ event: { id: string } }>(runtime.base, '/api/admin/events', {
      method: 'POST',
      token,
      json: { name: 'Centre Stage Live', performerId: performer.body.performer.id, venueId: venue.body.venue.id, startsAt: new Date(Date.now() + 5 * 864e5).toISOString(), prices: { Stalls: 5000, Gallery: 2000 }, currency: 'EUR' },
    });
    const fan = await account('Picky');
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    watch(page, errors);

    await logIn(page, fan.email, PASSWORD, `/events/${created.body.event.id}`);
    await page.getByLabel('How many seats').fill('2');
    await page.getByLabel('In section').selectOption('Stalls');
    await shot(page, 'best-available');
    await page.getByRole('button', { name: 'Hold the best seats' }).click();
    await page.waitForURL(/\/checkout\//);
    await expect.poll(() => page.locator('#order-seats').textContent()).toContain('row A, seat 4');
    expect(await page.locator('#order-seats').textContent()).toContain('row A, seat 5');
    expect(await page.locator('#order-total').textContent()).toBe('€100.00');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('an organizer refunds one booking, putting its seat back on sale, then cancels the event', { timeout: 90_000 }, async () => {
    const buyer = await account('Buyer');
    const free = await call<{ statuses: string }>(runtime.base, `/api/events/${eventId}/availability`);
    expect(free.status).toBe(200);
    const bought = await call<{ bookingId: string; status: string }>(runtime.base, `/api/bookings/${eventId}`, { method: 'POST', token: buyer.token, json: { best: { quantity: 1 }, paymentDetails: { paymentMethodId: 'pm_card_visa' } } });
    expect(bought.body.status).toBe('confirmed');
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const page = await context.newPage();
    const errors: string[] = [];
    watch(page, errors);
    page.on('dialog', (dialog) => void dialog.accept());

    await logIn(page, LOCAL_ADMIN.email, LOCAL_ADMIN.password, `/organize/events/${eventId}`);
    // The chart starts from the server's history of the sale (the bookings made before the page
    // was opened: the first test's and this one), not only from what the page sampled.
    const sales = await call<{ sold: number; history: Array<{ at: string; sold: number }> }>(runtime.base, `/api/admin/events/${eventId}/sales`, { token: adminToken });
    expect(sales.body.history.at(-1)?.sold).toBe(sales.body.sold);
    const chart = page.locator('#sales-chart');
    await expect.poll(() => chart.getAttribute('data-history-points'), { timeout: 12_000 }).toBe(String(sales.body.history.length));
    expect(await chart.getAttribute('aria-label')).toMatch(new RegExp(`^Tickets sold since .+: now ${sales.body.sold} sold and 0 held$`));
    await page.getByLabel('Booking number').fill(bought.body.bookingId);
    await page.getByLabel('Put its seats back on sale').check();
    await page.getByRole('button', { name: 'Refund this booking' }).click();
    await expect.poll(() => page.locator('#refund-message').textContent()).toContain('its seats are on sale again');
    const refunded = await call<{ status: string }>(runtime.base, `/api/bookings/${bought.body.bookingId}`, { token: buyer.token });
    expect(refunded.body.status).toBe('refunded');
    await expect.poll(() => page.locator('#sales-refunded').textContent(), { timeout: 10_000 }).toContain('30.00');
    await shot(page, 'refund-booking');

    await page.getByRole('button', { name: 'Cancel the event and refund everyone' }).click();
    await expect.poll(() => page.locator('#refund-message').textContent()).toContain('The event is cancelled');
    const view = await call<{ event: { status: string } }>(runtime.base, `/api/events/${eventId}?tickets=none`);
    expect(view.body.event.status).toBe('cancelled');
    await shot(page, 'cancel-event');
    expect(errors).toEqual([]);
    await context.close();
  });
});
