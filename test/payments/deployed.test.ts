// A deployed Worker must never hand out tickets for a payment nobody made. wrangler.toml's
// production vars name the offline `test` provider as the default, so the Worker refuses it unless
// its environment says ALLOW_TEST_PAYMENTS=true, which only `npm run dev`, the tests and the local
// runtime of browser tests and benchmarks set. These requests run the real Worker with the
// environment a `wrangler deploy` without Stripe would give it.
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { app } from '../../src/worker';
import { withDb } from '../../src/db/client';
import { paymentProviderFor } from '../../src/payments';
import { ApiError } from '../../src/errors';
import type { Bindings } from '../../src/env';
import { adminToken, api, createEvent, env, signUp, ticketIdsOf } from '../helpers';

interface Booking {
  bookingId: string;
  status: string;
  expiresAt: string;
}

/** What `wrangler deploy` gives the Worker: wrangler.toml's vars and the secrets, no allow flag. */
const deployedEnv = (overrides: Partial<Bindings> = {}): Bindings => ({ ...env, ALLOW_TEST_PAYMENTS: undefined, ...overrides });

async function deployed(path: string, init: { method?: string; token: string; json?: unknown }, overrides: Partial<Bindings> = {}): Promise<Response> {
  const headers: Record<string, string> = { Authorization: `Bearer ${init.token}` };
  if (init.json !== undefined) headers['Content-Type'] = 'application/json';
  const context = createExecutionContext();
  const response = await app.fetch(
    new Request(`http://box-office.test${path}`, { method: init.method ?? 'GET', headers, body: init.json === undefined ? undefined : JSON.stringify(init.json) }),
    deployedEnv(overrides),
    context,
  );
  await waitOnExecutionContext(context);
  return response;
}

async function soldInPostgres(eventId: string): Promise<number> {
  return withDb(env, async (db) => ((await db.execute(sql`select count(*)::int as n from tickets where event_id = ${eventId} and status = 'sold'`)).rows[0] as { n: number }).n);
}

async function expectUnavailable(response: Response): Promise<void> {
  expect(response.status).toBe(503);
  expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unavailable');
  expect(Number(response.headers.get('Retry-After'))).toBeGreaterThan(0);
}

describe('the test payment provider on a deployed Worker', () => {
  let admin: string;
  beforeAll(async () => {
    admin = await adminToken();
  });

  it('is refused: paying a hold answers 503 unavailable, sells nothing and keeps the hold as it was', async () => {
    const { eventId } = await createEvent(admin);
    const [a] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const held = await deployed(`/api/bookings/${eventId}`, { method: 'POST', token: buyer.token, json: { ticketIds: [a] } });
    expect(held.status).toBe(201);
    const booking = (await held.json()) as Booking;

    for (const paymentMethodId of ['pm_card_visa', 'pm_card_processing']) {
      await expectUnavailable(await deployed(`/api/bookings/${booking.bookingId}/pay`, { method: 'POST', token: buyer.token, json: { paymentDetails: { paymentMethodId } } }));
    }
    // No confirmation, and no 30-minute hold for a "processing" payment either.
    const after = (await (await api(`/api/bookings/${booking.bookingId}`, { token: buyer.token })).json()) as Booking;
    expect(after).toMatchObject({ status: 'pending', expiresAt: booking.expiresAt });
    expect(await soldInPostgres(eventId)).toBe(0);
  });

  it('is refused before any seat is held in the one-call form', async () => {
    const { eventId } = await createEvent(admin);
    const [a] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    for (const paymentMethodId of ['pm_card_visa', 'pm_card_processing']) {
      await expectUnavailable(await deployed(`/api/bookings/${eventId}`, { method: 'POST', token: buyer.token, json: { ticketIds: [a], paymentDetails: { paymentMethodId } } }));
    }
    expect((await env.TICKET_LOCK.getByName(eventId).seatStatus(eventId)).reserved).toEqual([]);
    expect(await soldInPostgres(eventId)).toBe(0);
  });

  it('is refused for any allow value but "true", and Stripe without its key is unavailable too', () => {
    const refusal = (overrides: Partial<Bindings>) => {
      try {
        paymentProviderFor(deployedEnv(overrides));
        return null;
      } catch (error) {
        return error instanceof ApiError ? `${error.status} ${error.code}` : String(error);
      }
    };
    for (const allow of [undefined, '', 'false', '1', 'TRUE', 'yes']) {
      expect(refusal({ PAYMENT_PROVIDER: 'test', ALLOW_TEST_PAYMENTS: allow }), String(allow)).toBe('503 unavailable');
      expect(refusal({ PAYMENT_PROVIDER: undefined, ALLOW_TEST_PAYMENTS: allow }), String(allow)).toBe('503 unavailable');
    }
    expect(refusal({ PAYMENT_PROVIDER: 'stripe', STRIPE_SECRET_KEY: undefined })).toBe('503 unavailable');
    expect(paymentProviderFor(deployedEnv({ PAYMENT_PROVIDER: 'test', ALLOW_TEST_PAYMENTS: 'true' })).name).toBe('test');
    expect(paymentProviderFor(deployedEnv({ PAYMENT_PROVIDER: 'stripe', STRIPE_SECRET_KEY: 'sk_test_x' })).name).toBe('stripe');
  });

  it('still works where the environment allows it (the tests do)', async () => {
    expect(env.ALLOW_TEST_PAYMENTS).toBe('true');
    const { eventId } = await createEvent(admin);
    const [a] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const response = await api(`/api/bookings/${eventId}`, { method: 'POST', token: buyer.token, json: { ticketIds: [a], paymentDetails: { paymentMethodId: 'pm_card_visa' } } });
    expect(response.status).toBe(201);
    expect(await soldInPostgres(eventId)).toBe(1);
  });
});
