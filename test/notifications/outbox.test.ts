import { describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { adminToken, api, env, signUp, unique } from '../helpers';
import { withDb } from '../../src/db/client';
import { enqueueNotification } from '../../src/notifications/outbox';
import { bookingConfirmedMessage } from '../../src/notifications/messages';
import { deliverDueNotifications, retryDelaySeconds } from '../../src/notifications/deliver';
import { httpEmailProvider, notificationProviderFor, type NotificationProvider, type OutgoingMessage } from '../../src/notifications/provider';

const message = (bookingId: string) => bookingConfirmedMessage({ bookingId, eventId: 'e', eventName: 'Outbox Night', ticketCount: 2, totalCents: 5000, currency: 'USD' });

async function outbox(admin: string, query = ''): Promise<Array<{ id: string; kind: string; to: string; subject: string; sentAt: string | null; attempts: number; lastError: string | null; data: Record<string, unknown> }>> {
  const response = await api(`/api/dev/outbox${query}`, { token: admin });
  expect(response.status).toBe(200);
  return ((await response.json()) as { notifications: never[] }).notifications;
}

describe('the notifications outbox', () => {
  it('queues a message once per dedupe key, to the address the account has', async () => {
    const [admin, buyer] = await Promise.all([adminToken(), signUp()]);
    const key = unique('confirmed:');

    const first = await withDb(env, (db) => enqueueNotification(db, { dedupeKey: key, userId: buyer.user.id, message: message(key) }));
    const second = await withDb(env, (db) => enqueueNotification(db, { dedupeKey: key, userId: buyer.user.id, message: message(key) }));

    expect([first, second]).toEqual([true, false]);
    const listed = await outbox(admin, `?email=${encodeURIComponent(buyer.user.email.toUpperCase())}`);
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ kind: 'booking_confirmed', to: buyer.user.email, subject: 'Your tickets for Outbox Night' });
    expect(listed[0]!.data).toMatchObject({ bookingId: key, ticketCount: 2 });
  });

  it('is for admins only', async () => {
    const buyer = await signUp();
    expect((await api('/api/dev/outbox', { token: buyer.token })).status).toBe(403);
    expect((await api('/api/dev/outbox')).status).toBe(401);
    const admin = await adminToken();
    const bad = await api('/api/dev/outbox?kind=postcard', { token: admin });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('validation_failed');
  });

  it('retries a message the provider refused, later, and sends it once it takes it', async () => {
    const [admin, buyer] = await Promise.all([adminToken(), signUp()]);
    const key = unique('confirmed:');
    await withDb(env, (db) => enqueueNotification(db, { dedupeKey: key, userId: buyer.user.id, message: message(key) }));
    const taken: OutgoingMessage[] = [];
    let refuse = true;
    const provider: NotificationProvider = {
      name: 'flaky',
      async send(outgoing) {
        if (refuse && outgoing.to === buyer.user.email) throw new Error('mail server busy');
        taken.push(outgoing);
      },
    };

    await withDb(env, (db) => deliverDueNotifications(db, provider));
    const [afterRefusal] = await outbox(admin, `?email=${encodeURIComponent(buyer.user.email)}`);
    expect(afterRefusal).toMatchObject({ sentAt: null, attempts: 1, lastError: 'mail server busy' });
    // Not due again yet: a second delivery right away leaves it alone.
    refuse = false;
    await withDb(env, (db) => deliverDueNotifications(db, provider));
    expect(taken.filter((m) => m.to === buyer.user.email)).toHaveLength(0);

    await withDb(env, (db) => db.execute(sql`update notifications set next_attempt_at = now() where dedupe_key = ${key}`));
    await withDb(env, (db) => deliverDueNotifications(db, provider));
    const [delivered] = await outbox(admin, `?email=${encodeURIComponent(buyer.user.email)}`);
    expect(delivered!.sentAt).not.toBeNull();
    expect(delivered!.attempts).toBe(2);
    expect(taken.filter((m) => m.to === buyer.user.email)).toHaveLength(1);
  });

  it('waits longer after each failed try, at most an hour', () => {
    expect([1, 2, 3, 20].map(retryDelaySeconds)).toEqual([30, 60, 120, 3600]);
  });

  it('sends through an HTTP e-mail API as JSON with its key, and counts a non-2xx answer as a failure', async () => {
    const requests: Request[] = [];
    const provider = httpEmailProvider({
      url: 'https://mail.example/emails',
      apiKey: 'key-123',
      from: 'Box Office <tickets@example.com>',
      fetch: async (input, init) => {
        const request = new Request(input, init);
        requests.push(request.clone());
        return new Response('busy', { status: requests.length === 1 ? 503 : 200 });
      },
    });
    const outgoing = { to: 'fan@example.com', subject: 'Hi', body: 'Your tickets' };

    await expect(provider.send(outgoing)).rejects.toThrow(/503/);
    await provider.send(outgoing);

    expect(requests[1]!.headers.get('authorization')).toBe('Bearer key-123');
    expect(await requests[1]!.json()).toEqual({ from: 'Box Office <tickets@example.com>', to: ['fan@example.com'], subject: 'Hi', text: 'Your tickets' });
  });

  it('refuses a provider setting it does not know, and an HTTP provider without its settings', () => {
    expect(() => notificationProviderFor({ ...env, NOTIFICATION_PROVIDER: 'pigeon' })).toThrow(/outbox.*http/);
    expect(() => notificationProviderFor({ ...env, NOTIFICATION_PROVIDER: 'http' })).toThrow(/NOTIFICATION_HTTP_URL/);
    expect(notificationProviderFor(env).name).toBe('outbox');
  });
});
