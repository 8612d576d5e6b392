import { beforeAll, describe, expect, it } from 'vitest';
import { adminToken, api, createEvent, signUp } from './helpers';

/** What every response carries, whatever answered it. */
const REQUIRED = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'strict-origin-when-cross-origin',
  'X-Frame-Options': 'DENY',
};

interface Case {
  name: string;
  status: number;
  request: () => Promise<Response>;
}

describe('security headers on every response', () => {
  const ctx = { admin: '', buyer: '', eventId: '', queuedEventId: '', etag: '' };
  beforeAll(async () => {
    ctx.admin = await adminToken();
    ctx.buyer = (await signUp()).token;
    ctx.eventId = (await createEvent(ctx.admin)).eventId;
    ctx.queuedEventId = (await createEvent(ctx.admin, { queue: { enabled: true } })).eventId;
    ctx.etag = (await api(`/api/events/${ctx.eventId}`)).headers.get('ETag')!;
  });

  const cases: Case[] = [
    { name: 'the health check', status: 200, request: () => api('/api/health') },
    { name: 'an event page', status: 200, request: () => api(`/api/events/${ctx.eventId}`) },
    { name: 'an event page not modified (304)', status: 304, request: () => api(`/api/events/${ctx.eventId}`, { headers: { 'If-None-Match': ctx.etag } }) },
    { name: 'search, from the edge cache or not', status: 200, request: () => api('/api/events/search?keyword=evening') },
    { name: 'a signup (201, with a cookie)', status: 201, request: () => api('/api/auth/signup', { method: 'POST', json: { email: `h${crypto.randomUUID()}@example.com`, password: 'correct-horse-battery', name: 'H' } }) },
    { name: 'an unknown event (404)', status: 404, request: () => api('/api/events/00000000-0000-4000-8000-000000000000') },
    { name: 'an unknown API route (404)', status: 404, request: () => api('/api/nothing-here') },
    { name: 'a path outside the API and the pages (404)', status: 404, request: () => api('/no-such-page') },
    { name: 'the home page', status: 200, request: () => api('/') },
    { name: 'an event page', status: 200, request: () => api(`/events/${ctx.eventId}`) },
    { name: 'a malformed body (400)', status: 400, request: () => api('/api/auth/signup', { method: 'POST', body: '{', headers: { 'Content-Type': 'application/json' } }) },
    { name: 'a wrong password (401)', status: 401, request: () => api('/api/auth/login', { method: 'POST', json: { email: 'nobody@example.com', password: 'wrong-password-1' } }) },
    { name: 'no session (401)', status: 401, request: () => api('/api/me') },
    { name: 'a non-admin on an admin route (403)', status: 403, request: () => api('/api/admin/performers', { method: 'POST', token: ctx.buyer, json: { name: 'X' } }) },
    { name: 'a cross-site write by cookie (403)', status: 403, request: () => api('/api/auth/logout', { method: 'POST', headers: { Cookie: `session=${ctx.buyer}`, Origin: 'https://evil.example' } }) },
    { name: 'a body over the limit (413)', status: 413, request: () => api('/api/auth/signup', { method: 'POST', body: 'x'.repeat(65 * 1024), headers: { 'Content-Type': 'application/json' } }) },
    { name: 'an unsigned webhook (400)', status: 400, request: () => api('/api/payments/webhook', { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } }) },
    { name: 'the seat stream (SSE)', status: 200, request: () => api(`/api/events/${ctx.eventId}/seats/stream`) },
    { name: 'the queue socket without an upgrade (426)', status: 426, request: () => api(`/api/events/${ctx.queuedEventId}/queue`, { token: ctx.buyer }) },
    { name: 'a WebSocket upgrade refused for want of a session (401)', status: 401, request: () => api(`/api/events/${ctx.queuedEventId}/queue`, { headers: { Upgrade: 'websocket' } }) },
    { name: 'a WebSocket upgrade to an unknown event (404)', status: 404, request: () => api(`/api/events/00000000-0000-4000-8000-000000000000/queue`, { token: ctx.buyer, headers: { Upgrade: 'websocket' } }) },
    { name: 'the queue status', status: 200, request: () => api(`/api/events/${ctx.queuedEventId}/queue/status`, { token: ctx.buyer }) },
    { name: 'the OpenAPI document', status: 200, request: () => api('/api/openapi.json') },
  ];

  for (const { name, status, request } of cases) {
    it(`${name}: ${status} with nosniff, a referrer policy and no framing`, async () => {
      const response = await request();
      expect(response.status).toBe(status);
      for (const [header, value] of Object.entries(REQUIRED)) expect(response.headers.get(header), header).toBe(value);
      expect(response.headers.get('Content-Security-Policy')).toMatch(/(^|;)\s*frame-ancestors 'none'\s*(;|$)/);
      await response.body?.cancel();
    });
  }

  it('keeps a page\'s own Content-Security-Policy, with framing refused', async () => {
    const response = await api('/api/docs');
    expect(response.status).toBe(200);
    const policy = response.headers.get('Content-Security-Policy')!;
    expect(policy).toContain("script-src 'self'");
    expect(policy.match(/frame-ancestors/g)).toHaveLength(1);
    expect(policy).toContain("frame-ancestors 'none'");
    await response.body?.cancel();
  });

  it('pages allow scripts, styles and connections from this origin only, and their hashed assets are immutable', async () => {
    const response = await api('/search?keyword=x');
    expect(response.status).toBe(200);
    const policy = response.headers.get('Content-Security-Policy')!;
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toContain('unsafe-inline');
    expect(policy).not.toContain('unsafe-eval');
    expect(policy.match(/frame-ancestors/g)).toHaveLength(1);
    const page = await response.text();
    // No inline script: every <script> names a file of ours.
    for (const tag of page.match(/<script[^>]*>/g) ?? []) expect(tag).toMatch(/src="\/assets\/app\.[0-9a-f]{12}\.js"/);
    for (const path of page.match(/\/assets\/app\.[0-9a-f]{12}\.(js|css)/g)!) {
      const asset = await api(path);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('Cache-Control')).toBe('public, max-age=31536000, immutable');
      expect(asset.headers.get('X-Content-Type-Options')).toBe('nosniff');
      await asset.body?.cancel();
    }
  });

  it('the accepted WebSocket upgrade (101) carries them too', async () => {
    const response = await api(`/api/events/${ctx.queuedEventId}/queue`, { token: ctx.buyer, headers: { Upgrade: 'websocket' } });
    expect(response.status).toBe(101);
    response.webSocket!.accept();
    for (const [header, value] of Object.entries(REQUIRED)) expect(response.headers.get(header), header).toBe(value);
    response.webSocket!.close(1000, 'done');
  });
});
