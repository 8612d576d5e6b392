import { beforeAll, describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import { adminToken, api, createEvent, signUp, ticketIdsOf, unique } from '../helpers';

/** The origin test/helpers.ts sends every request to: the Worker's own. */
const OWN_ORIGIN = 'http://box-office.test';
const FOREIGN_ORIGIN = 'https://evil.example';

interface ErrorBody {
  error: { code: string; message: string; details?: Array<{ field: string; message: string }> };
}

async function expectError(response: Response, status: number, code: string): Promise<ErrorBody> {
  expect(response.status).toBe(status);
  const body = (await response.json()) as ErrorBody;
  expect(body.error).toMatchObject({ code, message: expect.any(String) });
  return body;
}

/** What a page on another site can make a browser send: the victim's cookie, that site's Origin. */
const crossSite: Array<{ name: string; headers: Record<string, string> }> = [
  { name: 'a foreign Origin', headers: { Origin: FOREIGN_ORIGIN } },
  { name: 'Sec-Fetch-Site: cross-site', headers: { 'Sec-Fetch-Site': 'cross-site' } },
  { name: 'Sec-Fetch-Site: same-site (a sibling subdomain)', headers: { 'Sec-Fetch-Site': 'same-site' } },
  { name: 'Sec-Fetch-Site: cross-site beside our own Origin', headers: { 'Sec-Fetch-Site': 'cross-site', Origin: OWN_ORIGIN } },
  { name: 'Origin: null (a sandboxed frame, a redirect)', headers: { Origin: 'null' } },
  { name: 'neither Origin nor Sec-Fetch-Site', headers: {} },
];

describe('cookie-authenticated state changes from other sites', () => {
  let admin: string;
  let eventId: string;
  let tickets: string[];
  beforeAll(async () => {
    admin = await adminToken();
    eventId = (await createEvent(admin)).eventId;
    tickets = await ticketIdsOf(eventId);
  });

  for (const { name, headers } of crossSite) {
    it(`refuses a hold with the session cookie and ${name}: 403 forbidden, nothing held`, async () => {
      const buyer = await signUp();
      const response = await api(`/api/bookings/${eventId}`, {
        method: 'POST',
        headers: { Cookie: `session=${buyer.token}`, ...headers },
        json: { ticketIds: [tickets[0]] },
      });
      await expectError(response, 403, 'forbidden');
      // Nothing was held: someone else can hold the seat (and gives it back for the next case).
      const other = await signUp();
      const held = await api(`/api/bookings/${eventId}`, { method: 'POST', token: other.token, json: { ticketIds: [tickets[0]] } });
      expect(held.status).toBe(201);
      const { bookingId } = (await held.json()) as { bookingId: string };
      expect((await api(`/api/bookings/${bookingId}`, { method: 'DELETE', token: other.token })).status).toBe(204);
    });
  }

  it('accepts the cookie from our own pages: Sec-Fetch-Site same-origin or none, or (without it) Origin equal to ours', async () => {
    const buyer = await signUp();
    const own: Array<Record<string, string>> = [
      { Origin: OWN_ORIGIN },
      { 'Sec-Fetch-Site': 'same-origin' },
      { 'Sec-Fetch-Site': 'none' },
      { 'Sec-Fetch-Site': 'same-origin', Origin: OWN_ORIGIN },
      // A page of ours under Referrer-Policy: no-referrer sends its own site Origin: null.
      { 'Sec-Fetch-Site': 'same-origin', Origin: 'null' },
    ];
    for (const [i, headers] of own.entries()) {
      const response = await api(`/api/bookings/${eventId}`, {
        method: 'POST',
        headers: { Cookie: `session=${buyer.token}`, ...headers },
        json: { ticketIds: [tickets[1 + i]] },
      });
      expect(response.status, JSON.stringify(headers)).toBe(201);
    }
  });

  it('lets a Bearer token through from anywhere: a browser never attaches it on its own', async () => {
    const buyer = await signUp();
    const response = await api(`/api/bookings/${eventId}`, {
      method: 'POST',
      token: buyer.token,
      headers: { Origin: FOREIGN_ORIGIN, 'Sec-Fetch-Site': 'cross-site' },
      json: { ticketIds: [tickets[7]] },
    });
    expect(response.status).toBe(201);
  });

  it('does not count the cookie when a Bearer header is sent beside it', async () => {
    const [holder, other] = await Promise.all([signUp(), signUp()]);
    const response = await api(`/api/bookings/${eventId}`, {
      method: 'POST',
      headers: { Cookie: `session=${holder.token}`, Authorization: `Bearer ${other.token}`, Origin: FOREIGN_ORIGIN },
      json: { ticketIds: [tickets[8]] },
    });
    expect(response.status).toBe(201);
    const booking = (await response.json()) as { bookingId: string };
    // The booking is the Bearer's, not the cookie's.
    expect((await api(`/api/bookings/${booking.bookingId}`, { token: holder.token })).status).toBe(404);
    expect((await api(`/api/bookings/${booking.bookingId}`, { token: other.token })).status).toBe(200);
  });

  it('refuses a cross-site DELETE and PATCH by cookie, and changes nothing', async () => {
    const buyer = await signUp();
    const held = await api(`/api/bookings/${eventId}`, { method: 'POST', token: buyer.token, json: { ticketIds: [tickets[9]] } });
    const { bookingId } = (await held.json()) as { bookingId: string };
    await expectError(await api(`/api/bookings/${bookingId}`, { method: 'DELETE', headers: { Cookie: `session=${buyer.token}`, Origin: FOREIGN_ORIGIN } }), 403, 'forbidden');
    expect(((await (await api(`/api/bookings/${bookingId}`, { token: buyer.token })).json()) as { status: string }).status).toBe('pending');

    const renamed = await api(`/api/admin/events/${eventId}`, {
      method: 'PATCH',
      headers: { Cookie: `session=${admin}`, 'Sec-Fetch-Site': 'cross-site' },
      json: { name: 'Defaced' },
    });
    await expectError(renamed, 403, 'forbidden');
    const { event } = (await (await api(`/api/events/${eventId}`)).json()) as { event: { name: string } };
    expect(event.name).not.toBe('Defaced');
  });

  it('refuses a cross-site WebSocket handshake by cookie: a GET, but joining the waiting room is a change', async () => {
    const queued = (await createEvent(admin, { queue: { enabled: true } })).eventId;
    const buyer = await signUp();
    const socket = (origin: string) => api(`/api/events/${queued}/queue`, { headers: { Cookie: `session=${buyer.token}`, Upgrade: 'websocket', Origin: origin } });
    await expectError(await socket(FOREIGN_ORIGIN), 403, 'forbidden');
    expect(await (await api(`/api/events/${queued}/queue/status`, { token: buyer.token })).json()).toMatchObject({ state: 'none' });
    const own = await socket(OWN_ORIGIN);
    expect(own.status).toBe(101);
    own.webSocket!.accept();
    own.webSocket!.close(1000, 'done');
  });

  it('leaves reads alone: a cross-site GET with the cookie still answers', async () => {
    const buyer = await signUp();
    const response = await api('/api/me', { headers: { Cookie: `session=${buyer.token}`, Origin: FOREIGN_ORIGIN, 'Sec-Fetch-Site': 'cross-site' } });
    expect(response.status).toBe(200);
  });

  it('keeps the Stripe webhook working: no cookie, no Origin, a signature', async () => {
    const payload = JSON.stringify({ id: `evt_${unique()}`, object: 'event', api_version: Stripe.API_VERSION, created: Math.floor(Date.now() / 1000), livemode: false, type: 'customer.created', data: { object: {} } });
    const signature = await Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret: 'whsec_test_secret_for_tests', cryptoProvider: Stripe.createSubtleCryptoProvider() });
    const response = await api('/api/payments/webhook', { method: 'POST', body: payload, headers: { 'Content-Type': 'application/json; charset=utf-8', 'Stripe-Signature': signature } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ received: true });
  });
});

describe('JSON bodies', () => {
  const signup = (contentType: string | null) => {
    const email = `${unique('ctype')}@example.com`;
    const headers: Record<string, string> = contentType === null ? {} : { 'Content-Type': contentType };
    const request = api('/api/auth/signup', { method: 'POST', headers, body: JSON.stringify({ email, password: 'correct-horse-battery', name: 'Typed' }) });
    return { email, request };
  };
  const login = (email: string) => api('/api/auth/login', { method: 'POST', json: { email, password: 'correct-horse-battery' } });

  for (const contentType of [null, 'text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp', 'application/json-seq', 'text/json']) {
    it(`refuses a JSON body sent as ${contentType ?? 'no Content-Type'}: 400 validation_failed naming Content-Type, creates nothing`, async () => {
      const { email, request } = signup(contentType);
      const body = await expectError(await request, 400, 'validation_failed');
      expect(body.error.details).toEqual([expect.objectContaining({ field: 'Content-Type' })]);
      await expectError(await login(email), 401, 'invalid_credentials');
    });
  }

  for (const contentType of ['application/json', 'application/json; charset=utf-8', 'Application/JSON;charset=UTF-8', 'application/vnd.api+json']) {
    it(`reads a JSON body sent as ${contentType}`, async () => {
      const { request } = signup(contentType);
      expect((await request).status).toBe(201);
    });
  }
});
