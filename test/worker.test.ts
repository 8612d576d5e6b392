import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { api, unique } from './helpers';

interface ErrorBody {
  error: { code: string; message: string; details?: Array<{ field: string; message: string }> };
}

const LIMIT = 64 * 1024;

/** API.md: errors never show internals such as stack frames, exception names or SQL. */
function expectNoInternals(text: string) {
  expect(text).not.toMatch(/\bat .*:\d+:\d+/);
  expect(text).not.toMatch(/\n\s+at /);
  expect(text).not.toMatch(/\b\w*Error:/);
  expect(text).not.toMatch(/\b(select|insert into|update \w+ set|delete from)\b/i);
  expect(text).not.toMatch(/node_modules|\.ts\b|drizzle|postgres|neon/i);
}

async function expectError(response: Response, status: number, code: string): Promise<ErrorBody> {
  expect(response.status).toBe(status);
  expect(response.headers.get('Content-Type')).toMatch(/^application\/json/);
  const text = await response.text();
  expectNoInternals(text);
  const body = JSON.parse(text) as ErrorBody;
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error).toMatchObject({ code, message: expect.any(String) });
  expect(body.error.message.length).toBeGreaterThan(0);
  return body;
}

/** A signup body padded with trailing JSON whitespace to exactly `bytes` bytes. */
function signupOfSize(email: string, bytes: number): string {
  const json = JSON.stringify({ email, password: 'correct-horse-battery', name: 'Big Body' });
  return json + ' '.repeat(bytes - new TextEncoder().encode(json).length);
}

/** The text as a stream of 1 KiB chunks: a request body without Content-Length. */
function streamOf(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + 1024));
      offset += 1024;
    },
  });
}

function streamedSignup(body: string): Promise<Response> {
  const request = new Request('http://box-office.test/api/auth/signup', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: streamOf(body),
    duplex: 'half',
  } as RequestInit);
  expect(request.headers.has('Content-Length')).toBe(false);
  return exports.default.fetch(request);
}

function login(email: string): Promise<Response> {
  // An IP of its own, so this failure counts against no shared bucket.
  const ip = `10.250.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`;
  return api('/api/auth/login', { method: 'POST', json: { email, password: 'correct-horse-battery' }, headers: { 'CF-Connecting-IP': ip } });
}

describe('unknown routes', () => {
  it('answers 404 not_found in the error shape for an unknown path under /api', async () => {
    for (const path of ['/api/nope', '/api/events/search/extra/deep', '/api']) {
      const response = await api(path);
      const body = await expectError(response, 404, 'not_found');
      expect(body).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
    }
  });

  it('answers 404 not_found for a known path with a method it does not take', async () => {
    await expectError(await api('/api/auth/signup', { method: 'DELETE' }), 404, 'not_found');
    await expectError(await api('/api/me', { method: 'POST', json: {} }), 404, 'not_found');
  });
});

describe('request bodies', () => {
  it('answers 400 validation_failed to malformed JSON', async () => {
    for (const body of ['{"email": "a@example.com",', 'not json at all', '']) {
      const response = await api('/api/auth/signup', { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
      const error = await expectError(response, 400, 'validation_failed');
      expect(error.error.details).toEqual([{ field: 'body', message: expect.any(String) }]);
    }
  });

  it('answers 400 validation_failed naming each field of the wrong type', async () => {
    const response = await api('/api/auth/signup', { method: 'POST', json: { email: 42, password: ['x'], name: { first: 'A' } } });
    const body = await expectError(response, 400, 'validation_failed');
    const fields = body.error.details!.map((d) => d.field);
    expect(fields).toEqual(expect.arrayContaining(['email', 'password', 'name']));
    for (const detail of body.error.details!) expect(detail.message).toEqual(expect.any(String));
  });

  it('answers 400 validation_failed to JSON that is not an object', async () => {
    for (const json of [null, [], 'text', 7]) {
      await expectError(await api('/api/auth/signup', { method: 'POST', json }), 400, 'validation_failed');
    }
  });

  it('answers 413 payload_too_large to a body over 64 KiB with a Content-Length, and creates nothing', async () => {
    const email = `${unique('huge')}@example.com`;
    const body = signupOfSize(email, LIMIT + 1);
    const response = await api('/api/auth/signup', {
      method: 'POST',
      body,
      headers: { 'Content-Type': 'application/json', 'Content-Length': String(LIMIT + 1) },
    });
    await expectError(response, 413, 'payload_too_large');
    await expectError(await login(email), 401, 'invalid_credentials');
  });

  it('answers 413 payload_too_large to a streamed body over 64 KiB without a Content-Length, and creates nothing', async () => {
    const email = `${unique('stream')}@example.com`;
    await expectError(await streamedSignup(signupOfSize(email, LIMIT + 1)), 413, 'payload_too_large');
    await expectError(await login(email), 401, 'invalid_credentials');
  });

  it('reads a body of exactly 64 KiB, streamed or not', async () => {
    const sent = `${unique('edge')}@example.com`;
    const withLength = await api('/api/auth/signup', {
      method: 'POST',
      body: signupOfSize(sent, LIMIT),
      headers: { 'Content-Type': 'application/json', 'Content-Length': String(LIMIT) },
    });
    expect(withLength.status).toBe(201);

    const streamed = await streamedSignup(signupOfSize(`${unique('edge')}@example.com`, LIMIT));
    expect(streamed.status).toBe(201);
  });
});

describe('error responses', () => {
  it('keep the documented shape and show no internals on every 4xx', async () => {
    const responses = [
      await api('/api/does-not-exist'),
      await api('/api/me'),
      await api('/api/me', { token: 'forged.token' }),
      await api('/api/admin/performers', { method: 'POST', json: { name: 'x' } }),
      await api('/api/events/not-a-uuid'),
      await api('/api/events/search?start=2031-02-02&end=2031-01-01'),
      await api('/api/auth/signup', { method: 'POST', body: '{', headers: { 'Content-Type': 'application/json' } }),
      await api('/api/auth/signup', { method: 'POST', json: { email: "'; drop table users; --", password: 'x', name: '' } }),
    ];
    for (const response of responses) {
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      const text = await response.text();
      expectNoInternals(text);
      const body = JSON.parse(text) as ErrorBody;
      expect(body.error.code).toMatch(/^[a-z]+(_[a-z]+)*$/);
      expect(body.error.message).toEqual(expect.any(String));
    }
  });
});
