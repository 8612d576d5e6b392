// The box office's pages (src/pages, web/src) in Chromium against the Worker on the Workers runtime:
// search with a typo → the event → a seat chosen by keyboard → sign up → hold → a declined card,
// then a good one → my tickets; and two browsers on one event, where a hold in one greys the seat
// in the other within 2 s. Screenshots of each page go to test/browser/screenshots/ (git-ignored).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../scripts/lib/browser';
import { buildWeb } from '../../scripts/build-web';
import { call, LOCAL_ADMIN, startLocalRuntime, type LocalRuntime } from '../../scripts/lib/local-runtime';

const SHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));

describe('the box office in a browser', () => {
  let runtime: LocalRuntime;
  let browser: Browser;
  let eventId: string;
  let adminToken: string;
  /** The rotating code the first test's ticket page shows, which the door test scans. */
  let shownCode = '';

  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  /** Page errors fail the test: a CSP refusal, a script error, an error answer or a request to another site. */
  const watch = (page: Page, errors: string[]) => {
    page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      // Answers are checked below, by address.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) errors.push(`console: ${message.text()}`);
    });
    // Nothing is loaded from another site.
    page.on('request', (request) => {
      if (!request.url().startsWith(`${runtime.base}/`) && !request.url().startsWith('data:')) errors.push(`off-site request: ${request.url()}`);
    });
    page.on('response', (response) => {
      const path = new URL(response.url()).pathname;
      const expected = (response.status() === 401 && path === '/api/me') || (response.status() === 402 && path.endsWith('/pay'));
      if (response.status() >= 400 && !expected) errors.push(`${response.status()} ${path}`);
    });
  };

  const signUp = async (page: Page, name: string) => {
    await page.goto(`${runtime.base}/signup`);
    await page.getByLabel('Name').fill(name);
    await page.getByLabel('Email').fill(`${name.toLowerCase()}-${Date.now()}@example.com`);
    await page.getByLabel(/^Password/).fill('a-long-password-3');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(`${runtime.base}/`);
  };

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await buildWeb({ quiet: true });
    runtime = await startLocalRuntime('pages', () => {});
    browser = await launchChromium();
    const login = await call<{ token: string }>(runtime.base, '/api/auth/login', { method: 'POST', json: LOCAL_ADMIN });
    const token = login.body.token;
    adminToken = token;
    const performer = await call<{ performer: { id: string } }>(runtime.base, '/api/admin/performers', { method: 'POST', token, json: { name: 'Kingfisher Orchestra', genre: 'classical' } });
    const venue = await call<{ venue: { id: string } }>(runtime.base, '/api/admin/venues', {
      method: 'POST',
      token,
      json: { name: 'Harbour Hall', city: 'Porto', sections: [{ name: 'Floor', rows: 2, seatsPerRow: 6 }, { name: 'Balcony', rows: 1, seatsPerRow: 4 }] },
    });
    const event = await call<{ event: { id: string } }>(runtime.base, '/api/admin/events', {
      method: 'POST',
      token,
      json: {
        name: 'Kingfisher Orchestra: Summer Night',
        description: 'An evening of strings by the river.',
        performerId: performer.body.performer.id,
        venueId: venue.body.venue.id,
        startsAt: new Date(Date.now() + 20 * 864e5).toISOString(),
        status: 'published',
        prices: { Floor: 4500, Balcony: 2500 },
        currency: 'EUR',
      },
    });
    expect(event.status).toBe(201);
    eventId = event.body.event.id;
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await runtime?.close();
  });

  it('search with a typo → event → a seat by keyboard → sign up → hold → declined, then paid → my tickets', { timeout: 90_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    watch(page, errors);

    await page.goto(`${runtime.base}/`);
    await expect.poll(() => page.locator('#upcoming li').count()).toBeGreaterThan(0);
    await expect.poll(() => page.locator('#cities a').allTextContents()).toContain('Porto (1)');
    await shot(page, 'home');

    await page.getByLabel('Search events, artists, venues and cities').fill('kingfsher orchestra');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/search\?keyword=kingfsher/);
    const result = page.getByRole('link', { name: 'Kingfisher Orchestra: Summer Night' });
    await result.waitFor();
    const card = page.locator('.result', { has: result });
    expect(await card.locator('.venue').textContent()).toBe('Harbour Hall');
    expect(await card.locator('.city').textContent()).toBe('Porto');
    expect(await card.locator('.price').textContent()).toBe('From €25.00');
    expect(await page.locator('#did-you-mean').textContent()).toContain('Did you mean kingfisher orchestra');
    await shot(page, 'search-results');

    await result.click();
    await page.waitForURL(`**/events/${eventId}`);
    await page.locator('body[data-live="true"]').waitFor();
    await expect.poll(() => page.locator('#event-name').textContent()).toBe('Kingfisher Orchestra: Summer Night');

    // By keyboard: the section list, the row list, the row's seats (one tab stop, arrow keys
    // within), a seat chosen with Enter; Tab then leaves the seats for the basket.
    await page.getByLabel('Section', { exact: true }).focus();
    await page.keyboard.press('Tab'); // the row list
    await page.keyboard.press('Tab'); // the first seat
    expect(await page.locator(':focus').getAttribute('aria-label')).toBe('Section Floor, row A, seat 1, €45.00, available');
    await page.keyboard.press('End');
    expect(await page.locator(':focus').getAttribute('aria-label')).toBe('Section Floor, row A, seat 6, €45.00, available');
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowRight');
    expect(await page.locator(':focus').getAttribute('aria-label')).toBe('Section Floor, row A, seat 2, €45.00, available');
    await page.keyboard.press('Enter');
    const chosen = page.getByRole('button', { name: 'Section Floor, row A, seat 2, €45.00, selected' });
    await chosen.waitFor();
    expect(await chosen.getAttribute('aria-pressed')).toBe('true');
    expect(await page.locator('#basket-total').textContent()).toBe('€45.00 for 1 seat');
    // Focus stays on the chosen seat, and Tab goes on to the basket.
    expect(await page.locator(':focus').getAttribute('aria-label')).toBe('Section Floor, row A, seat 2, €45.00, selected');
    await page.keyboard.press('Tab');
    expect(await page.locator(':focus').getAttribute('aria-label')).toBe('Remove section Floor, row A, seat 2');
    await shot(page, 'event');

    // Holding needs an account: to the login page, on to sign up, and back with the choice kept.
    await page.getByRole('button', { name: 'Hold these seats' }).click();
    await page.waitForURL(/\/login\?next=/);
    await shot(page, 'login');
    await page.getByRole('link', { name: 'Sign up' }).last().click();
    await page.waitForURL(/\/signup\?next=/);
    await page.getByLabel('Name').fill('Ada Buyer');
    await page.getByLabel('Email').fill(`ada-${Date.now()}@example.com`);
    await page.getByLabel(/^Password/).fill('a-long-password-1');
    await shot(page, 'signup');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(`**/events/${eventId}`);
    await page.getByRole('button', { name: 'Section Floor, row A, seat 2, €45.00, selected' }).waitFor();
    await expect.poll(() => page.locator('#who').textContent()).toBe('Signed in as Ada Buyer');

    await page.getByRole('button', { name: 'Hold these seats' }).click();
    await page.waitForURL(/\/checkout\//);
    await expect.poll(() => page.locator('#countdown').textContent()).toMatch(/held for (9|10):\d\d more/);
    expect(await page.locator('#order-seats').textContent()).toContain('Section Floor, row A, seat 2');
    expect(await page.locator('#order-total').textContent()).toBe('€45.00');
    await shot(page, 'checkout');

    await page.getByLabel('Card that is declined').check();
    await page.getByRole('button', { name: 'Pay' }).click();
    await expect.poll(() => page.locator('#checkout-message').textContent()).toContain('declined');
    expect(await page.locator('#checkout-message').textContent()).toContain('No money was taken. Your seats are still held');
    await shot(page, 'checkout-declined');

    await page.getByLabel('Visa ending 4242 (succeeds)').check();
    await page.getByRole('button', { name: 'Pay' }).click();
    await page.getByRole('heading', { name: 'Your tickets are booked' }).waitFor();
    expect(await page.locator('#confirmed-tickets').textContent()).toContain('Section Floor, row A, seat 2');
    // Each ticket with its rotating QR code: <87 characters of code>.<8 digits>.
    await expect.poll(() => page.locator('#confirmed-tickets canvas.qr').getAttribute('data-code')).toMatch(/^[A-Za-z0-9_-]{87}\.\d{8}$/);
    expect(await page.getByRole('img', { name: 'QR code of the ticket for Section Floor, row A, seat 2' }).count()).toBe(1);
    await shot(page, 'confirmation');

    await page.getByRole('link', { name: 'See all my tickets' }).click();
    await page.waitForURL('**/my/tickets');
    await expect.poll(() => page.locator('.booking.confirmed').count()).toBe(1);
    expect(await page.locator('.booking.confirmed').textContent()).toContain('Section Floor, row A, seat 2');
    await expect.poll(() => page.locator('.booking.confirmed h2').textContent()).toContain('Kingfisher Orchestra: Summer Night');
    await expect.poll(() => page.locator('.booking.confirmed canvas.qr').getAttribute('data-code')).toMatch(/^[A-Za-z0-9_-]{87}\.\d{8}$/);
    shownCode = (await page.locator('.booking.confirmed canvas.qr').getAttribute('data-code'))!;
    await shot(page, 'my-tickets');

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${runtime.base}/`);
    await page.getByRole('link', { name: 'Log in' }).waitFor();
    expect(errors).toEqual([]);
    await context.close();
  });

  it('the door page admits a ticket once, then says already admitted, and refuses a forged code', { timeout: 60_000 }, async () => {
    expect(shownCode).toBeTruthy();
    const context = await browser.newContext({ viewport: { width: 800, height: 700 } });
    const page = await context.newPage();
    const errors: string[] = [];
    watch(page, errors);
    await page.goto(`${runtime.base}/login?next=/door`);
    await page.getByLabel('Email').fill(LOCAL_ADMIN.email);
    await page.getByLabel('Password').fill(LOCAL_ADMIN.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL((url) => url.pathname === '/door');
    const code = page.getByLabel('Ticket code');
    const verdict = page.locator('#scan-result .verdict');

    await code.fill(shownCode);
    await page.keyboard.press('Enter');
    await expect.poll(() => verdict.textContent()).toBe('✓ ADMITTED');
    expect(await page.locator('#scan-result').getAttribute('data-result')).toBe('admitted');
    expect(await page.locator('#scan-result').textContent()).toContain('Section Floor, row A, seat 2');
    await shot(page, 'door-admitted');

    await code.fill(shownCode);
    await page.getByRole('button', { name: 'Check' }).click();
    await expect.poll(() => verdict.textContent()).toBe('! ALREADY ADMITTED');
    expect(await page.locator('#scan-result').textContent()).toContain('First admitted');
    await shot(page, 'door-already-admitted');

    await code.fill(shownCode.replace(/^(.{10})./, (_, head: string) => head + (shownCode[10] === 'A' ? 'B' : 'A')));
    await page.keyboard.press('Enter');
    await expect.poll(() => verdict.textContent()).toBe('✗ INVALID');
    await shot(page, 'door-invalid');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('an organizer creates a performer, a venue (with its map previewed) and an event that then appears in search, then changes and cancels it', { timeout: 60_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const page = await context.newPage();
    const errors: string[] = [];
    watch(page, errors);
    await page.goto(`${runtime.base}/login?next=/organize`);
    await page.getByLabel('Email').fill(LOCAL_ADMIN.email);
    await page.getByLabel('Password').fill(LOCAL_ADMIN.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL((url) => url.pathname === '/organize');
    await page.locator('body[data-ready="true"]').waitFor();

    const performer = page.locator('#performer-form');
    await performer.getByLabel('Name', { exact: true }).fill('Velvet Comets');
    await performer.getByLabel('Genre').fill('indie');
    await performer.getByRole('button', { name: 'Save performer' }).click();
    await expect.poll(() => page.locator('#performer-message').textContent()).toBe('Saved Velvet Comets.');

    const venue = page.locator('#venue-form');
    await venue.getByLabel('Name', { exact: true }).fill('Riverside Arena');
    await venue.getByLabel('City').fill('Coimbra');
    await venue.getByLabel('Section name').fill('Stalls');
    await venue.getByLabel('Rows').fill('3');
    await venue.getByLabel('Seats per row').fill('8');
    await venue.getByRole('button', { name: 'Add a section' }).click();
    await venue.getByLabel('Section name').nth(1).fill('Circle');
    await venue.getByLabel('Rows').nth(1).fill('2');
    await venue.getByLabel('Seats per row').nth(1).fill('5');
    await expect.poll(() => page.locator('#venue-capacity').textContent()).toBe('34 seats in 2 sections');
    await venue.getByRole('button', { name: 'Save venue' }).click();
    await expect.poll(() => page.locator('#venue-message').textContent()).toBe('Saved Riverside Arena (34 seats).');

    const form = page.locator('#event-form');
    await form.getByLabel('Name', { exact: true }).fill('Velvet Comets Live');
    expect(await form.getByLabel('Performer').inputValue()).not.toBe('');
    expect(await form.getByLabel('Venue').locator('option:checked').textContent()).toBe('Riverside Arena, Coimbra');
    await form.getByLabel('Starts').fill('2027-03-14T20:30');
    await form.getByLabel('Price in Stalls').fill('30');
    await form.getByLabel('Price in Circle').fill('20');
    await form.getByLabel('Currency').fill('EUR');
    await shot(page, 'organize');
    await form.getByRole('button', { name: 'Create event' }).click();
    await expect.poll(() => page.locator('#event-message').textContent(), { timeout: 20_000 }).toContain('Created Velvet Comets Live with 34 tickets.');

    await page.getByRole('link', { name: 'Sales' }).click();
    await page.waitForURL('**/organize/events/*');
    await expect.poll(() => page.locator('#sales-available').textContent()).toBe('34');
    expect(await page.locator('#sales-sold').textContent()).toBe('0');
    expect(await page.locator('#sales-revenue').textContent()).toBe('€0.00');
    await shot(page, 'sales');

    const salesUrl = page.url();
    await page.goto(`${runtime.base}/search?keyword=${encodeURIComponent('velvet')}`);
    const result = page.getByRole('link', { name: 'Velvet Comets Live' });
    await result.waitFor();
    const card = page.locator('.result', { has: result });
    expect(await card.locator('.city').textContent()).toBe('Coimbra');
    expect(await card.locator('.price').textContent()).toBe('From €20.00');
    await page.goto(salesUrl);

    // Changed from the sales page: a price, and the sale cancelled.
    const edit = page.locator('#edit-form');
    await edit.getByLabel('Price in Stalls').fill('35');
    await edit.getByLabel('Status').selectOption('cancelled');
    await edit.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => page.locator('#edit-message').textContent()).toBe('Saved. Velvet Comets Live is cancelled.');
    // (The event's own pages show such a change within 60 s, API.md: its cached view is not asked here.)
    // Cancelled events leave search (within the search cache's 60 s: asked here for the first time).
    await page.goto(`${runtime.base}/search?keyword=${encodeURIComponent('velvet comets')}`);
    await expect.poll(() => page.locator('#summary').textContent()).toContain('No events found');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('every page fits a 375 px wide screen', { timeout: 60_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 800 }, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    const errors: string[] = [];
    watch(page, errors);
    const overflow = async (path: string, ready: string) => {
      await page.goto(`${runtime.base}${path}`);
      await page.locator(ready).first().waitFor({ state: 'attached', timeout: 10_000 }).catch((error: Error) => {
        throw new Error(`${path}: ${error.message} (at ${page.url()}; ${errors.join(" / ")})`);
      });
      const width = (await page.evaluate('document.documentElement.scrollWidth')) as number;
      return { path, width };
    };
    const widths = [
      await overflow('/', '#upcoming li'),
      await overflow('/search?keyword=kingfisher', '#results li'),
      await overflow(`/events/${eventId}`, '#seat-buttons button'),
      await overflow('/signup', '#auth-form'),
    ];
    await shot(page, 'signup-375');
    await page.goto(`${runtime.base}/login?next=/organize`);
    await page.getByLabel('Email').fill(LOCAL_ADMIN.email);
    await page.getByLabel('Password').fill(LOCAL_ADMIN.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL((url) => url.pathname === '/organize');
    widths.push(await overflow('/organize', 'body[data-ready="true"]'));
    widths.push(await overflow('/door', '#scan-form'));
    widths.push(await overflow('/my/tickets', '#bookings:not([aria-busy])'));
    widths.push(await overflow(`/events/${eventId}`, '#seat-buttons button'));
    await shot(page, 'event-375');
    expect(widths.filter((w) => w.width > 375)).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('an 80,000-seat stadium: the map is painted quickly and pans and zooms at 30 frames/s or more', { timeout: 120_000 }, async () => {
    const performer = await call<{ performer: { id: string } }>(runtime.base, '/api/admin/performers', { method: 'POST', token: adminToken, json: { name: 'Stadium Band' } });
    const sections = Array.from({ length: 40 }, (_, i) => ({ name: `S${101 + i}`, rows: 40, seatsPerRow: 50 }));
    const venue = await call<{ venue: { id: string } }>(runtime.base, '/api/admin/venues', { method: 'POST', token: adminToken, json: { name: 'Test Stadium', city: 'Lisbon', sections } });
    const created = await call<{ event: { id: string }; ticketCount: number }>(runtime.base, '/api/admin/events', {
      method: 'POST',
      token: adminToken,
      json: {
        name: 'Stadium Night',
        performerId: performer.body.performer.id,
        venueId: venue.body.venue.id,
        startsAt: new Date(Date.now() + 40 * 864e5).toISOString(),
        status: 'published',
        prices: Object.fromEntries(sections.map((section, i) => [section.name, 3000 + (i % 8) * 1000])),
      },
    });
    expect(created.body.ticketCount).toBe(80_000);
    // bypassCSP only so the test's own measuring code may run in the page.
    const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    // Measured with Chromium's performance trace over CDP (what DevTools' Performance panel
    // records): frames are the compositor's DrawFrame events, and the map's first paint is the
    // first DrawFrame after the canvas's first draw (its 'seat-map-first-draw' user-timing mark),
    // counted from the document's navigationStart. All three come from the same trace clock.
    type TraceEvent = { name: string; ts: number; ph: string; cat: string; pid: number };
    const cdp = await context.newCDPSession(page);
    const trace = async (run: () => Promise<unknown>): Promise<TraceEvent[]> => {
      const events: TraceEvent[] = [];
      // CDP types trace events as string maps; they carry numbers (ts, pid) too.
      const collect = (data: { value: Array<Record<string, unknown>> }) => void events.push(...(data.value as unknown as TraceEvent[]));
      cdp.on('Tracing.dataCollected', collect);
      const complete = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
      await cdp.send('Tracing.start', {
        categories: 'devtools.timeline,disabled-by-default-devtools.timeline.frame,blink.user_timing,loading',
        transferMode: 'ReportEvents',
      });
      await run();
      await cdp.send('Tracing.end');
      await complete;
      cdp.off('Tracing.dataCollected', collect);
      return events;
    };
    const mark = (events: TraceEvent[], name: string) => events.filter((e) => e.name === name).map((e) => e.ts);
    const draws = (events: TraceEvent[]) => mark(events, 'DrawFrame').sort((a, b) => a - b);
    /** Milliseconds from navigationStart to the first frame drawn after the map's first draw. */
    const paintFrom = (events: TraceEvent[]) => {
      const drawn = mark(events, 'seat-map-first-draw').at(-1);
      expect(drawn, 'the map was drawn while tracing').toBeDefined();
      const navigation = Math.max(...mark(events, 'navigationStart').filter((ts) => ts <= drawn!));
      const frame = draws(events).find((ts) => ts >= drawn!);
      expect(frame, 'a frame was drawn after the map').toBeDefined();
      return (frame! - navigation) / 1000;
    };
    const mapPainted = async () => {
      await page.waitForFunction('window.seatCanvas && window.seatCanvas.frames > 0', undefined, { timeout: 30_000 });
      await page.waitForTimeout(300); // the frame that shows it
    };
    await page.goto(`${runtime.base}/`); // warm the assets, as a visitor arriving from the home page
    const cold = await trace(async () => {
      await page.goto(`${runtime.base}/events/${created.body.event.id}`);
      await mapPainted();
    });
    const coldPaint = paintFrom(cold);
    // Again, as the next visitor: the event's TicketLock and the caches are warm.
    const warm = await trace(async () => {
      await page.reload();
      await mapPainted();
    });
    const firstPaint = paintFrom(warm);
    const ownFirstPaint = (await page.evaluate('window.seatCanvas.firstPaint')) as number;
    /** Runs `step` on every animation frame for 2 s and counts the frames the trace saw drawn in that time. */
    const measure = async (step: string) => {
      const events = await trace(() =>
        page.evaluate(`(async () => {
          const c = window.seatCanvas; let i = 0; const start = performance.now();
          performance.mark('measure-start');
          await new Promise((resolve) => {
            const frame = (now) => { i++; ${step}; if (now - start < 2000) requestAnimationFrame(frame); else resolve(); };
            requestAnimationFrame(frame);
          });
          performance.mark('measure-end');
        })()`),
      );
      const [from] = mark(events, 'measure-start');
      const [to] = mark(events, 'measure-end');
      const frames = draws(events).filter((ts) => ts >= from! && ts <= to!);
      const gaps = frames.slice(1).map((ts, k) => (ts - frames[k]!) / 1000);
      return {
        fps: (frames.length - 1) / ((frames.at(-1)! - frames[0]!) / 1e6),
        frames: frames.length,
        seconds: (to! - from!) / 1e6,
        longestGap: Math.max(...gaps),
        seatPixels: (await page.evaluate('window.seatCanvas.seatPixels')) as number,
      };
    };
    await page.evaluate('window.seatCanvas.fit()');
    const zoom = await measure('c.zoomCentre(1.03)');
    // The most seats drawn one by one: just past the level where sections turn into seats.
    await page.evaluate('window.seatCanvas.fit(); window.seatCanvas.zoomCentre(6.2 / window.seatCanvas.seatPixels)');
    const pan = await measure('c.ox += (i % 120 < 60 ? 8 : -8); c.invalidate()');
    await shot(page, 'event-stadium-seats');
    await page.evaluate('window.seatCanvas.fit()');
    await shot(page, 'event-stadium');
    const figures = (m: typeof zoom) => `${m.fps.toFixed(1)} frames/s (${m.frames} DrawFrame events in ${m.seconds.toFixed(2)} s, longest gap ${m.longestGap.toFixed(0)} ms)`;
    console.log(
      `80,000 seats, from a performance trace: map first painted ${Math.round(firstPaint)} ms after navigationStart (the page's own clock: ${Math.round(ownFirstPaint)} ms); ` +
        `${Math.round(coldPaint)} ms for the first visitor of a new event; zoom ${figures(zoom)}; pan with every seat in view drawn (${pan.seatPixels.toFixed(1)} px a seat) ${figures(pan)}`,
    );
    // Loose bound on a shared machine; the README gives the measured numbers.
    expect(coldPaint).toBeLessThan(8000);
    expect(firstPaint).toBeLessThan(3000);
    expect(zoom.frames).toBeGreaterThan(30);
    expect(zoom.fps).toBeGreaterThanOrEqual(30);
    expect(pan.fps).toBeGreaterThanOrEqual(30);
    await context.close();
  });

  it('the queue page admits in order and moves on to the seats by itself', { timeout: 90_000 }, async () => {
    const created = await call<{ event: { id: string } }>(runtime.base, '/api/admin/events', {
      method: 'POST',
      token: adminToken,
      json: {
        name: 'Queued Night',
        performerId: (await call<{ performer: { id: string } }>(runtime.base, '/api/admin/performers', { method: 'POST', token: adminToken, json: { name: 'Queue Band' } })).body.performer.id,
        venueId: (await call<{ venue: { id: string } }>(runtime.base, '/api/admin/venues', { method: 'POST', token: adminToken, json: { name: 'Queue Hall', city: 'Braga', sections: [{ name: 'Floor', rows: 1, seatsPerRow: 6 }] } })).body.venue.id,
        startsAt: new Date(Date.now() + 10 * 864e5).toISOString(),
        status: 'published',
        prices: { Floor: 2000 },
        currency: 'EUR',
        // One shopper at a time: the second waits until the first has paid.
        queue: { enabled: true, admitPerMinute: 600, maxActive: 1 },
      },
    });
    const queued = created.body.event.id;
    const [first, second] = await Promise.all([browser.newContext(), browser.newContext()]);
    const [a, b] = await Promise.all([first.newPage(), second.newPage()]);
    const errors: string[] = [];
    watch(a, errors);
    watch(b, errors);
    await signUp(a, 'First');
    await signUp(b, 'Second');

    // The event page says there is a line and links to it.
    await a.goto(`${runtime.base}/events/${queued}`);
    await a.getByRole('link', { name: 'Join the line' }).click();
    await a.waitForURL(`**/events/${queued}/queue`);
    // Admitted, the page moves on by itself, and the event page says so.
    await a.waitForURL(`**/events/${queued}`, { timeout: 15_000 });
    await expect.poll(() => a.locator('#event-message').textContent(), { timeout: 10_000 }).toContain('It is your turn');

    await b.goto(`${runtime.base}/events/${queued}/queue`);
    await expect.poll(() => b.locator('#queue-state').textContent(), { timeout: 10_000 }).toMatch(/You are (number 1 in line|next)/);
    expect(await b.locator('#queue-ahead').textContent()).toBe('0');
    expect(await b.locator('#queue-position').textContent()).toBe('1');
    await shot(b, 'queue');

    await a.getByRole('button', { name: 'Section Floor, row A, seat 1, €20.00, available' }).click();
    await a.getByRole('button', { name: 'Hold these seats' }).click();
    await a.waitForURL(/\/checkout\//);
    expect(b.url()).toContain('/queue'); // still waiting while the first shopper pays
    await a.getByRole('button', { name: 'Pay' }).click();
    await a.getByRole('heading', { name: 'Your tickets are booked' }).waitFor();

    // The first admission ended with the payment: the second is let in and taken to the seats.
    await b.waitForURL(`**/events/${queued}`, { timeout: 20_000 });
    await b.getByRole('button', { name: 'Section Floor, row A, seat 2, €20.00, available' }).click();
    await b.getByRole('button', { name: 'Hold these seats' }).click();
    await b.waitForURL(/\/checkout\//);
    expect(errors).toEqual([]);
    await Promise.all([first.close(), second.close()]);
  });

  /** An event with its waiting room on, through the API. */
  const queuedEvent = async (name: string, seats: number, fields: Record<string, unknown>) => {
    const performer = await call<{ performer: { id: string } }>(runtime.base, '/api/admin/performers', { method: 'POST', token: adminToken, json: { name: `${name} Band` } });
    const venue = await call<{ venue: { id: string } }>(runtime.base, '/api/admin/venues', { method: 'POST', token: adminToken, json: { name: `${name} Hall`, city: 'Faro', sections: [{ name: 'Floor', rows: 1, seatsPerRow: seats }] } });
    const created = await call<{ event: { id: string } }>(runtime.base, '/api/admin/events', {
      method: 'POST',
      token: adminToken,
      json: { name, performerId: performer.body.performer.id, venueId: venue.body.venue.id, startsAt: new Date(Date.now() + 10 * 864e5).toISOString(), status: 'published', prices: { Floor: 2000 }, currency: 'EUR', ...fields },
    });
    expect(created.status).toBe(201);
    return created.body.event.id;
  };

  it('the queue page in the lobby: a countdown to the sale, the published seed hash and the fairness proof', { timeout: 60_000 }, async () => {
    const onSaleAt = new Date(Date.now() + 3 * 60_000);
    const lobbyEvent = await queuedEvent('Lobby Night', 4, { onSaleAt: onSaleAt.toISOString(), queue: { enabled: true, admitPerMinute: 60, maxActive: 10, lobbyMinutes: 15 } });
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    watch(page, errors);
    await signUp(page, 'Early');
    await page.goto(`${runtime.base}/events/${lobbyEvent}/queue`);
    await expect.poll(() => page.locator('#queue-state').textContent(), { timeout: 10_000 }).toContain('You are in the lobby');
    expect(await page.locator('#lobby').isVisible()).toBe(true);
    expect(await page.locator('#line').isVisible()).toBe(false);

    // The countdown: minutes and seconds to onSaleAt, and it counts down by itself.
    const countdown = page.locator('#lobby-countdown');
    const secondsLeft = async () => {
      const [minutes, seconds] = (await countdown.textContent())!.split(':').map(Number);
      return minutes! * 60 + seconds!;
    };
    expect(await countdown.textContent()).toMatch(/^[0-3]:[0-5]\d$/);
    const first = await secondsLeft();
    expect(Math.abs(first - (onSaleAt.getTime() - Date.now()) / 1000)).toBeLessThanOrEqual(3);
    await expect.poll(secondsLeft, { timeout: 4000 }).toBeLessThan(first);

    // The seed hash on the page is the one the fairness proof publishes, and the link leads to it.
    const fairness = await call<{ seedHash: string; seed: string | null; onSaleAt: string; draw: unknown }>(runtime.base, `/api/events/${lobbyEvent}/queue/fairness`);
    expect(fairness.status).toBe(200);
    expect(fairness.body.seedHash).toMatch(/^[0-9a-f]{64}$/);
    expect(fairness.body.seed).toBeNull(); // not revealed before the draw
    expect(await page.locator('#lobby-seed').textContent()).toBe(fairness.body.seedHash);
    expect(new Date(fairness.body.onSaleAt).getTime()).toBe(onSaleAt.getTime());
    const link = page.getByRole('link', { name: /fairness proof/ });
    expect(await link.getAttribute('href')).toBe(`/api/events/${lobbyEvent}/queue/fairness`);
    await shot(page, 'queue-lobby');
    const proof = await context.newPage();
    const response = await proof.goto(new URL((await link.getAttribute('href'))!, runtime.base).toString());
    expect(response?.status()).toBe(200);
    expect(((await response!.json()) as { seedHash: string }).seedHash).toBe(fairness.body.seedHash);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('the queue page says sold out by itself when the last seat sells while someone waits', { timeout: 90_000 }, async () => {
    const lastSeat = await queuedEvent('Last Seat Night', 1, { queue: { enabled: true, admitPerMinute: 600, maxActive: 1 } });
    const [first, second] = await Promise.all([browser.newContext(), browser.newContext()]);
    const [a, b] = await Promise.all([first.newPage(), second.newPage()]);
    const errors: string[] = [];
    watch(a, errors);
    watch(b, errors);
    await signUp(a, 'Buyer');
    await signUp(b, 'Waiter');
    await a.goto(`${runtime.base}/events/${lastSeat}/queue`);
    await a.waitForURL(`**/events/${lastSeat}`, { timeout: 15_000 });
    await b.goto(`${runtime.base}/events/${lastSeat}/queue`);
    await expect.poll(() => b.locator('#queue-state').textContent(), { timeout: 10_000 }).toMatch(/You are (number 1 in line|next)/);

    await a.getByRole('button', { name: 'Section Floor, row A, seat 1, €20.00, available' }).click();
    await a.getByRole('button', { name: 'Hold these seats' }).click();
    await a.waitForURL(/\/checkout\//);
    await a.getByRole('button', { name: 'Pay' }).click();
    await a.getByRole('heading', { name: 'Your tickets are booked' }).waitFor();
    const paid = Date.now();

    // Nobody touches the waiting page: it changes by itself.
    await expect.poll(() => b.locator('#queue-state').textContent(), { timeout: 5000 }).toContain('Sold out');
    const told = Date.now() - paid;
    expect(await b.locator('#line').isVisible()).toBe(false);
    expect(await b.locator('#queue-message').textContent()).toContain('no tickets left');
    expect(b.url()).toContain('/queue');
    await shot(b, 'queue-sold-out');
    // It leads to the event's waiting list.
    await b.getByRole('link', { name: 'Join the waiting list for places that come back' }).click();
    await b.waitForURL(`**/events/${lastSeat}#waitlist`);
    await b.getByRole('heading', { name: 'Sold out? Join the waiting list' }).waitFor();
    console.log(`queue page: sold out shown ${told} ms after the last seat was paid`);
    expect(errors).toEqual([]);
    await Promise.all([first.close(), second.close()]);
  });

  it('a standing area: the organizer adds one with its preview; a buyer takes places by quantity from the list', { timeout: 90_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const page = await context.newPage();
    const errors: string[] = [];
    watch(page, errors);
    await page.goto(`${runtime.base}/login?next=/organize`);
    await page.getByLabel('Email').fill(LOCAL_ADMIN.email);
    await page.getByLabel('Password').fill(LOCAL_ADMIN.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL((url) => url.pathname === '/organize');
    await page.locator('body[data-ready="true"]').waitFor();

    const venue = page.locator('#venue-form');
    await venue.getByLabel('Name', { exact: true }).fill('Warehouse Club');
    await venue.getByLabel('City').fill('Braga');
    await venue.getByLabel('Section name').fill('Pit');
    await venue.getByLabel('Kind').selectOption('standing');
    await venue.getByLabel('Standing places').fill('300');
    expect(await venue.getByLabel('Rows').isVisible()).toBe(false);
    await venue.getByRole('button', { name: 'Add a section' }).click();
    await venue.getByLabel('Section name').nth(1).fill('Gallery');
    await venue.getByLabel('Rows').nth(1).fill('2');
    await venue.getByLabel('Seats per row').nth(1).fill('5');
    await expect.poll(() => page.locator('#venue-capacity').textContent()).toBe('310 places in 2 sections');
    await venue.getByRole('button', { name: 'Save venue' }).click();
    await expect.poll(() => page.locator('#venue-message').textContent()).toBe('Saved Warehouse Club (310 places).');
    await shot(page, 'organize-standing');

    // The event, through the API; then a buyer on its page.
    const created = await call<{ venue: { id: string } }>(runtime.base, '/api/admin/venues', {
      method: 'POST',
      token: adminToken,
      json: { name: 'Dock Shed', city: 'Braga', sections: [{ name: 'Pit', kind: 'standing', capacity: 40 }, { name: 'Gallery', rows: 1, seatsPerRow: 4 }] },
    });
    const performers = await call<{ performer: { id: string } }>(runtime.base, '/api/admin/performers', { method: 'POST', token: adminToken, json: { name: 'Low Tide Drums' } });
    const event = await call<{ event: { id: string } }>(runtime.base, '/api/admin/events', {
      method: 'POST',
      token: adminToken,
      json: { name: 'Low Tide Drums in the Shed', performerId: performers.body.performer.id, venueId: created.body.venue.id, startsAt: new Date(Date.now() + 10 * 864e5).toISOString(), prices: { Pit: 3000, Gallery: 4000 }, currency: 'EUR' },
    });
    expect(event.status).toBe(201);
    await context.clearCookies();
    await signUp(page, 'Stander');
    await page.goto(`${runtime.base}/events/${event.body.event.id}`);
    await page.locator('body[data-live="true"]').waitFor();

    // The list starts at the first free place: the standing area, offered as a quantity.
    const text = page.locator('[data-standing-text]');
    await expect.poll(() => text.textContent()).toBe('Section Pit, standing, 40 of 40 places, €30.00');
    expect(await page.getByLabel('Row').isDisabled()).toBe(true);
    await page.getByLabel('Places', { exact: true }).fill('3');
    await shot(page, 'event-standing');
    await page.getByRole('button', { name: 'Take places' }).click();
    await page.waitForURL(/\/checkout\//);
    await expect.poll(() => page.locator('#order-seats li').allTextContents()).toEqual(Array(3).fill('Section Pit, standing · €30.00'));

    // Back on the event page, the area counts the places held.
    await page.goto(`${runtime.base}/events/${event.body.event.id}`);
    await page.locator('body[data-live="true"]').waitFor();
    await expect.poll(() => text.textContent()).toBe('Section Pit, standing, 37 of 40 places, €30.00');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('two browsers on one event: a hold in one greys the seat in the other within 2 s', { timeout: 60_000 }, async () => {
    const [holder, watcher] = await Promise.all([browser.newContext(), browser.newContext()]);
    const [a, b] = await Promise.all([holder.newPage(), watcher.newPage()]);
    const errors: string[] = [];
    watch(a, errors);
    watch(b, errors);
    await a.goto(`${runtime.base}/signup`);
    await a.getByLabel('Name').fill('Holder');
    await a.getByLabel('Email').fill(`holder-${Date.now()}@example.com`);
    await a.getByLabel(/^Password/).fill('a-long-password-2');
    await a.getByRole('button', { name: 'Create account' }).click();
    await a.waitForURL(`${runtime.base}/`);

    await Promise.all([a.goto(`${runtime.base}/events/${eventId}`), b.goto(`${runtime.base}/events/${eventId}`)]);
    await Promise.all([a.locator('body[data-live="true"]').waitFor(), b.locator('body[data-live="true"]').waitFor()]);
    const seat = 'Section Floor, row A, seat 5, €45.00';
    await b.getByRole('button', { name: `${seat}, available` }).waitFor();

    await a.getByRole('button', { name: `${seat}, available` }).click();
    await a.getByRole('button', { name: 'Hold these seats' }).click();
    await a.waitForURL(/\/checkout\//);
    const held = Date.now();
    const greyed = b.getByRole('button', { name: `${seat}, held` });
    await greyed.waitFor({ timeout: 2000 });
    const delay = Date.now() - held;
    expect(await greyed.getAttribute('aria-disabled')).toBe('true');
    expect(delay).toBeLessThan(2000);
    // The map shows it too: zoomed to seats, the other page's canvas is redrawn.
    expect(await b.evaluate(() => (globalThis as unknown as { seatCanvas: { frames: number } }).seatCanvas.frames)).toBeGreaterThan(0);
    await shot(b, 'event-seat-held-elsewhere');
    expect(errors).toEqual([]);
    await Promise.all([holder.close(), watcher.close()]);
  });
});
