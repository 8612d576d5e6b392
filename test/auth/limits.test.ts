// Rate limits on bookings and the waiting room, per account and per client IP (src/auth/limits.ts):
// past a limit, 429 rate_limited with Retry-After, and nothing else happens. Most of a bucket is
// spent directly in its RateLimiter object (the same takes a request makes), so that the last
// requests, sent for real, show which bucket each kind of request draws on. The isolate's clock
// (the RateLimiter objects run in it too) stands still, so no token comes back meanwhile.
import { runInDurableObject } from 'cloudflare:test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, api, createEvent, env, signUp, TestClock } from '../helpers';
import { LIMITS, limiterFor } from '../../src/auth/limits';
import type { LimitRule } from '../../src/durable/RateLimiter';

const IP_PREFIX = `10.${100 + Math.floor(Math.random() * 100)}`;
let ipCounter = 0;
const uniqueIp = () => {
  ipCounter += 1;
  return `${IP_PREFIX}.${Math.floor(ipCounter / 256)}.${ipCounter % 256}`;
};

/** Takes all but `leave` tokens of the bucket, as that many requests would. */
async function spend(subject: string, bucket: string, rule: LimitRule, leave = 1): Promise<void> {
  await runInDurableObject(limiterFor(env, subject), (limiter) => {
    for (let i = 0; i < rule.capacity - leave; i++) expect(limiter.take(`${subject}/${bucket}`, rule).ok).toBe(true);
  });
}

async function expectRateLimited(response: Response): Promise<void> {
  expect(response.status).toBe(429);
  expect(await response.json()).toMatchObject({ error: { code: 'rate_limited', message: expect.any(String) } });
  expect(Number(response.headers.get('Retry-After'))).toBeGreaterThan(0);
}

// A malformed hold: answered 400 by the route, so each request costs nothing but its count.
const badHold = (eventId: string, token: string, headers: Record<string, string> = {}) =>
  api(`/api/bookings/${eventId}`, { method: 'POST', token, headers, json: { ticketIds: [] } });

const clock = new TestClock();

describe('rate limits', () => {
  let admin: string;
  beforeAll(async () => {
    clock.install();
    admin = await adminToken();
  });
  afterAll(() => clock.uninstall());

  it('POST /api/bookings/*: each request takes one of the account\'s tokens; then 429, and other accounts go on', async () => {
    const { eventId, ticketCount } = await createEvent(admin);
    expect(ticketCount).toBeGreaterThan(0);
    const buyer = await signUp();
    const spare = 3;
    await spend(`account:${buyer.user.id}`, 'bookings', LIMITS.bookingsPerAccount, spare);
    for (let i = 0; i < spare; i++) expect((await badHold(eventId, buyer.token)).status).toBe(400);
    await expectRateLimited(await badHold(eventId, buyer.token));
    await expectRateLimited(await api('/api/bookings/nope/pay', { method: 'POST', token: buyer.token, json: {} }));
    const view = (await (await api(`/api/events/${eventId}`)).json()) as { tickets: Array<{ id: string }> };
    await expectRateLimited(await api(`/api/bookings/${eventId}`, { method: 'POST', token: buyer.token, json: { ticketIds: [view.tickets[0]!.id] } }));
    // A refused request did nothing: no hold was taken.
    expect((await env.TICKET_LOCK.getByName(eventId).seatStatus(eventId)).reserved).toEqual([]);
    // Reading is not limited, nor is another account.
    expect((await api(`/api/bookings/nope`, { token: buyer.token })).status).toBe(404);
    expect((await badHold(eventId, (await signUp()).token)).status).toBe(400);
  });

  it('POST /api/bookings/*: the IP\'s tokens are shared by every account behind it; other IPs go on', async () => {
    const { eventId } = await createEvent(admin);
    const ip = uniqueIp();
    const [one, two] = await Promise.all([signUp(), signUp()]);
    await spend(`ip:${ip}`, 'bookings', LIMITS.bookingsPerIp, 2);
    expect((await badHold(eventId, one.token, { 'CF-Connecting-IP': ip })).status).toBe(400);
    expect((await badHold(eventId, two.token, { 'CF-Connecting-IP': ip })).status).toBe(400);
    await expectRateLimited(await badHold(eventId, one.token, { 'CF-Connecting-IP': ip }));
    await expectRateLimited(await badHold(eventId, (await signUp()).token, { 'CF-Connecting-IP': ip }));
    expect((await badHold(eventId, two.token, { 'CF-Connecting-IP': uniqueIp() })).status).toBe(400);
  });

  it('a burst of real holds by one account is cut off at the bucket\'s capacity', async () => {
    const { eventId } = await createEvent(admin);
    const buyer = await signUp();
    const statuses: number[] = [];
    for (let sent = 0; sent < LIMITS.bookingsPerAccount.capacity + 5; sent += 13) {
      const batch = await Promise.all(Array.from({ length: 13 }, () => badHold(eventId, buyer.token)));
      statuses.push(...batch.map((response) => response.status));
    }
    expect(statuses.filter((status) => status === 400)).toHaveLength(LIMITS.bookingsPerAccount.capacity);
    expect(statuses.filter((status) => status === 429)).toHaveLength(statuses.length - LIMITS.bookingsPerAccount.capacity);
    // A token comes back each second.
    clock.advance(1000);
    expect((await badHold(eventId, buyer.token)).status).toBe(400);
    await expectRateLimited(await badHold(eventId, buyer.token));
  });

  it('the waiting room (join, status, socket, ticket) draws on the account\'s queue tokens; fairness is public and not limited', async () => {
    const { eventId } = await createEvent(admin, { queue: { enabled: true } });
    const buyer = await signUp();
    const requests = [
      () => api(`/api/events/${eventId}/queue/status`, { token: buyer.token }),
      () => api(`/api/events/${eventId}/queue/join`, { method: 'POST', token: buyer.token }),
      () => api(`/api/events/${eventId}/queue/ticket`, { method: 'POST', token: buyer.token }),
    ];
    await spend(`account:${buyer.user.id}`, 'queue', LIMITS.queuePerAccount, requests.length);
    for (const send of requests) expect((await send()).status).toBe(200);
    for (const send of requests) await expectRateLimited(await send());
    await expectRateLimited(await api(`/api/events/${eventId}/queue`, { headers: { Upgrade: 'websocket' }, token: buyer.token }));
    expect((await api(`/api/events/${eventId}/queue/fairness`)).status).toBe(200);
    expect((await api(`/api/events/${eventId}/queue/status`, { token: (await signUp()).token })).status).toBe(200);
  });

  it('the waiting room draws on the IP\'s queue tokens across accounts', async () => {
    const { eventId } = await createEvent(admin, { queue: { enabled: true } });
    const ip = uniqueIp();
    const buyer = await signUp();
    await spend(`ip:${ip}`, 'queue', LIMITS.queuePerIp, 1);
    expect((await api(`/api/events/${eventId}/queue/status`, { token: buyer.token, headers: { 'CF-Connecting-IP': ip } })).status).toBe(200);
    await expectRateLimited(await api(`/api/events/${eventId}/queue/status`, { token: (await signUp()).token, headers: { 'CF-Connecting-IP': ip } }));
    expect((await api(`/api/events/${eventId}/queue/status`, { token: buyer.token, headers: { 'CF-Connecting-IP': uniqueIp() } })).status).toBe(200);
  });

  it('sign-ups draw on the IP\'s sign-up tokens', async () => {
    const ip = uniqueIp();
    await spend(`ip:${ip}`, 'signup', LIMITS.signupPerIp, 1);
    const signup = () =>
      api('/api/auth/signup', { method: 'POST', headers: { 'CF-Connecting-IP': ip }, json: { email: `limits-${crypto.randomUUID()}@example.com`, password: 'correct-horse-battery', name: 'Limited' } });
    expect((await signup()).status).toBe(201);
    await expectRateLimited(await signup());
  });

  it('takes a loopback address for no address: local runs (Miniflare sends 127.0.0.1) share no IP bucket', async () => {
    await spend('ip:127.0.0.1', 'signup', LIMITS.signupPerIp, 0);
    for (const ip of ['127.0.0.1', '::1']) {
      const response = await api('/api/auth/signup', {
        method: 'POST',
        headers: { 'CF-Connecting-IP': ip },
        json: { email: `loopback-${crypto.randomUUID()}@example.com`, password: 'correct-horse-battery', name: 'Local' },
      });
      expect(response.status).toBe(201);
    }
  });
});
