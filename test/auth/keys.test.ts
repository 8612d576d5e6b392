// Signing keys rotate: tokens and ticket codes name or are tried against the current key and the
// previous one (SESSION_SECRET_PREVIOUS, TICKET_SIGNING_KEY_PREVIOUS), and nothing else.
// A rotated Worker is the real one, given the environment a rotation deploys.
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { app } from '../../src/worker';
import type { Bindings } from '../../src/env';
import { readScannedCode, readTicketCode, rotatingCode, ticketCode, type TicketClaims } from '../../src/tickets/codes';
import { fromBase64url } from '../../src/lib/signing';
import { adminToken, createQueuedEvent, env, signUp } from '../helpers';
import { issueAdmissionToken } from '../../src/queue/admission';
import { signSessionToken } from '../../src/auth/session';

const NEXT_SESSION_SECRET = 'the-next-session-secret-that-is-long-enough-987654';
const NEXT_TICKET_KEY = 'the-next-ticket-signing-key-that-is-long-enough-321';

async function asWorker(environment: Bindings, path: string, token: string, init: { method?: string; headers?: Record<string, string>; json?: unknown } = {}): Promise<Response> {
  const context = createExecutionContext();
  const headers = { Authorization: `Bearer ${token}`, ...(init.json === undefined ? {} : { 'Content-Type': 'application/json' }), ...init.headers };
  const request = new Request(`http://box-office.test${path}`, { method: init.method ?? 'GET', headers, body: init.json === undefined ? undefined : JSON.stringify(init.json) });
  const response = await app.fetch(request, environment, context);
  await waitOnExecutionContext(context);
  return response;
}

describe('session keys', () => {
  let token: string;
  beforeAll(async () => {
    token = (await signUp()).token;
  });

  it('accept a token of the previous key after a rotation, and refuse it once that key is gone', async () => {
    const rotated = { ...env, SESSION_SECRET: NEXT_SESSION_SECRET, SESSION_SECRET_PREVIOUS: env.SESSION_SECRET };
    expect((await asWorker(rotated, '/api/me', token)).status).toBe(200);
    const retired = { ...env, SESSION_SECRET: NEXT_SESSION_SECRET, SESSION_SECRET_PREVIOUS: undefined };
    expect((await asWorker(retired, '/api/me', token)).status).toBe(401);
  });

  it('also sign waiting-room admissions: one given out just before a rotation still books', async () => {
    const { eventId, ticketIds } = await createQueuedEvent(await adminToken(), { now: Date.now(), queue: { admitPerMinute: 600, maxActive: 100 } });
    const buyer = await signUp();
    const admission = issueAdmissionToken(env, { userId: buyer.user.id, eventId, expiresAt: Date.now() + 60_000, admissionId: crypto.randomUUID() });
    const book = (environment: Bindings, ticketId: string) =>
      asWorker(environment, `/api/bookings/${eventId}`, buyer.token, { method: 'POST', headers: { 'X-Queue-Token': admission }, json: { ticketIds: [ticketId] } });
    expect((await book({ ...env, SESSION_SECRET: NEXT_SESSION_SECRET, SESSION_SECRET_PREVIOUS: env.SESSION_SECRET }, ticketIds[0]!)).status).toBe(201);
    // Once the old key is retired, the same session under the new key cannot book with it.
    const { sid } = JSON.parse(new TextDecoder().decode(fromBase64url(buyer.token.split('.')[1]!)!)) as { sid: string };
    const retired = { ...env, SESSION_SECRET: NEXT_SESSION_SECRET, SESSION_SECRET_PREVIOUS: undefined };
    const session = await signSessionToken(retired, { sessionId: sid, userId: buyer.user.id, expiresAt: new Date(Date.now() + 3600_000) });
    const refused = await asWorker(retired, `/api/bookings/${eventId}`, session, { method: 'POST', headers: { 'X-Queue-Token': admission }, json: { ticketIds: [ticketIds[1]] } });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { code: 'queue_required' } });
  });

  it('name their key in the token, so a token of a key never configured is refused whatever it claims', async () => {
    const [keyId, payload, signature] = token.split('.');
    expect(keyId).toMatch(/^[A-Za-z0-9_-]{8}$/);
    expect(payload && signature).toBeTruthy();
    const unknown = { ...env, SESSION_SECRET: NEXT_SESSION_SECRET, SESSION_SECRET_PREVIOUS: 'a-key-that-signed-nothing-here-0123456789abcdef' };
    expect((await asWorker(unknown, '/api/me', token)).status).toBe(401);
  });
});

describe('ticket-signing keys', () => {
  const eventId = '0f8e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5b';
  const ids: TicketClaims = {
    ticketId: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
    eventId,
    bookingId: `${eventId.replace(/-/g, '')}9b2f4c1e0d3a4b5c8e7f6a5b4c3d2e1f`,
  };
  const before = { TICKET_SIGNING_KEY: env.TICKET_SIGNING_KEY };
  const rotated = { TICKET_SIGNING_KEY: NEXT_TICKET_KEY, TICKET_SIGNING_KEY_PREVIOUS: env.TICKET_SIGNING_KEY };

  it('keep format 1 under the current key, and read codes of the previous key during the grace period', async () => {
    const old = await ticketCode(before, ids);
    const current = await ticketCode(rotated, ids);
    for (const code of [old, current]) {
      expect(code).toHaveLength(87);
      expect(fromBase64url(code)![0]).toBe(1);
    }
    expect(current).not.toBe(old);
    expect(await readTicketCode(rotated, current)).toEqual(ids);
    expect(await readTicketCode(rotated, old)).toEqual(ids);
    // Without the previous key, or under a key never used, the old code is nothing.
    expect(await readTicketCode({ TICKET_SIGNING_KEY: NEXT_TICKET_KEY }, old)).toBeNull();
    expect(await readTicketCode({ TICKET_SIGNING_KEY: NEXT_TICKET_KEY, TICKET_SIGNING_KEY_PREVIOUS: 'a-key-that-signed-nothing-here-0123456789abcdef' }, old)).toBeNull();
  });

  it('accept a rotating code shown just before the rotation', async () => {
    const now = Date.UTC(2031, 5, 1, 19, 0, 10);
    const shown = await rotatingCode(before, ids, now);
    expect(await readScannedCode(rotated, shown, now + 5000)).toEqual(ids);
    expect(await readScannedCode({ TICKET_SIGNING_KEY: NEXT_TICKET_KEY }, shown, now + 5000)).toBeNull();
  });

  it('refuse a previous key shorter than 32 characters', async () => {
    await expect(readTicketCode({ TICKET_SIGNING_KEY: NEXT_TICKET_KEY, TICKET_SIGNING_KEY_PREVIOUS: 'short' }, await ticketCode(before, ids))).rejects.toThrow(/TICKET_SIGNING_KEY_PREVIOUS/);
  });
});
