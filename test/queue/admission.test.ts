import { runDurableObjectAlarm } from 'cloudflare:test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, api, createQueuedEvent, env, signUp, TestClock } from '../helpers';
import { admissionCookieName, issueAdmissionToken } from '../../src/queue/admission';

const clock = new TestClock();

function queuedEvent(admin: string) {
  return createQueuedEvent(admin, { now: clock.now, queue: { admitPerMinute: 600, maxActive: 100 } });
}

/** Joins and is admitted at the next tick; returns the admission token. */
async function admit(eventId: string, sessionToken: string): Promise<string> {
  await api(`/api/events/${eventId}/queue/join`, { method: 'POST', token: sessionToken });
  clock.advance(1000);
  await runDurableObjectAlarm(env.WAITING_ROOM.getByName(eventId));
  const status = (await (await api(`/api/events/${eventId}/queue/status`, { token: sessionToken })).json()) as { state: string; token: string };
  expect(status.state).toBe('admitted');
  return status.token;
}

function hold(eventId: string, sessionToken: string, ticketId: string, headers: Record<string, string> = {}) {
  return api(`/api/bookings/${eventId}`, { method: 'POST', token: sessionToken, headers, json: { ticketIds: [ticketId] } });
}

describe('admission tokens on POST /api/bookings/:eventId', () => {
  let admin: string;
  beforeAll(async () => {
    clock.install();
    admin = await adminToken();
  });
  afterAll(() => clock.uninstall());

  it('refuses a booking without a token with 403 queue_required, and holds nothing', async () => {
    const { eventId, ticketIds } = await queuedEvent(admin);
    const buyer = await signUp();
    const refused = await hold(eventId, buyer.token, ticketIds[0]!);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { code: 'queue_required', message: expect.any(String) } });
    const view = (await (await api(`/api/events/${eventId}`)).json()) as { tickets: Array<{ status: string }> };
    expect(view.tickets.every((t) => t.status === 'available')).toBe(true);
  });

  it('accepts the holder\'s own admission, in the header or in the queue cookie', async () => {
    const { eventId, ticketIds } = await queuedEvent(admin);
    const buyer = await signUp();
    const token = await admit(eventId, buyer.token);
    expect((await hold(eventId, buyer.token, ticketIds[0]!, { 'X-Queue-Token': token })).status).toBe(201);
    expect((await hold(eventId, buyer.token, ticketIds[1]!, { Cookie: `${admissionCookieName(eventId)}=${token}` })).status).toBe(201);
  });

  it('refuses another user\'s token, another event\'s token, an expired token and a forged one', async () => {
    const first = await queuedEvent(admin);
    const second = await queuedEvent(admin);
    const [owner, other] = await Promise.all([signUp(), signUp()]);
    const ownersToken = await admit(first.eventId, owner.token);
    const otherEventToken = await admit(second.eventId, other.token);

    const attempts = [
      { who: other.token, token: ownersToken },
      { who: other.token, token: otherEventToken },
      { who: owner.token, token: ownersToken.slice(0, -2) + (ownersToken.endsWith('AA') ? 'BB' : 'AA') },
      { who: owner.token, token: issueAdmissionToken({ ...env, SESSION_SECRET: 'another-secret-that-is-long-enough-0123456789' }, { userId: owner.user.id, eventId: first.eventId, expiresAt: clock.now + 60_000, admissionId: crypto.randomUUID() }) },
    ];
    for (const attempt of attempts) {
      const response = await hold(first.eventId, attempt.who, first.ticketIds[0]!, { 'X-Queue-Token': attempt.token });
      expect(response.status).toBe(403);
      expect(await response.json()).toMatchObject({ error: { code: 'queue_required' } });
    }

    clock.advance(10 * 60 * 1000 + 1);
    const expired = await hold(first.eventId, owner.token, first.ticketIds[0]!, { 'X-Queue-Token': ownersToken });
    expect(expired.status).toBe(403);
    expect(await expired.json()).toMatchObject({ error: { code: 'queue_required', message: expect.stringMatching(/expired/) } });
  });

  it('refuses the token again once the booking made with it is paid, and lets the next shopper in', async () => {
    const { eventId, ticketIds } = await queuedEvent(admin);
    const buyer = await signUp();
    const token = await admit(eventId, buyer.token);
    const paid = await api(`/api/bookings/${eventId}`, {
      method: 'POST',
      token: buyer.token,
      headers: { 'X-Queue-Token': token },
      json: { ticketIds: [ticketIds[0]], paymentDetails: { paymentMethodId: 'pm_card_visa' } },
    });
    expect(paid.status).toBe(201);
    const again = await hold(eventId, buyer.token, ticketIds[1]!, { 'X-Queue-Token': token });
    expect(again.status).toBe(403);
    expect(await again.json()).toMatchObject({ error: { code: 'queue_required', message: expect.stringMatching(/join the queue again/) } });
  });

  it('keeps the token good while another booking made with it is still open', async () => {
    const { eventId, ticketIds } = await queuedEvent(admin);
    const buyer = await signUp();
    const token = await admit(eventId, buyer.token);
    const first = (await (await hold(eventId, buyer.token, ticketIds[0]!, { 'X-Queue-Token': token })).json()) as { bookingId: string };
    const second = (await (await hold(eventId, buyer.token, ticketIds[1]!, { 'X-Queue-Token': token })).json()) as { bookingId: string };
    expect((await api(`/api/bookings/${first.bookingId}`, { method: 'DELETE', token: buyer.token })).status).toBe(204);
    expect((await hold(eventId, buyer.token, ticketIds[2]!, { 'X-Queue-Token': token })).status).toBe(201);
    expect(second.bookingId).toEqual(expect.any(String));
  });

  it('does not replay a 403 for a retry under the same Idempotency-Key once the buyer is admitted', async () => {
    const { eventId, ticketIds } = await queuedEvent(admin);
    const buyer = await signUp();
    const key = crypto.randomUUID();
    expect((await hold(eventId, buyer.token, ticketIds[0]!, { 'Idempotency-Key': key })).status).toBe(403);
    const token = await admit(eventId, buyer.token);
    expect((await hold(eventId, buyer.token, ticketIds[0]!, { 'Idempotency-Key': key, 'X-Queue-Token': token })).status).toBe(201);
  });
});
