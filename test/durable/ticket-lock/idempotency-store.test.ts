// Idempotency-Keys of the booking POSTs, kept in the event's TicketLock (src/lib/idempotency.ts
// claims and settles them): a claim whose request died is taken over once its lease ran out, and
// expired keys are trimmed by the alarm in bounded batches, not by every claim.
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, createEvent, env, TestClock } from '../../helpers';

const LEASE_MS = 60 * 1000;
const LIFETIME_MS = 48 * 3600 * 1000;

describe('Idempotency-Keys in the TicketLock', () => {
  let admin: string;
  const clock = new TestClock();
  beforeAll(async () => {
    admin = await adminToken();
  });
  afterEach(() => clock.uninstall());

  async function freshLock() {
    const { eventId } = await createEvent(admin);
    clock.install();
    return env.TICKET_LOCK.getByName(eventId);
  }

  const storedKeys = (lock: ReturnType<typeof env.TICKET_LOCK.getByName>) =>
    runInDurableObject(lock, (_instance, state) => state.storage.sql.exec<{ key: string }>(`SELECT key FROM idempotency_keys ORDER BY key`).toArray().map((row) => row.key));

  it('lets a retry take over a claim whose request never answered, once the claim is older than its lease', async () => {
    const lock = await freshLock();
    expect(await lock.claimIdempotencyKey('user:k', 'fingerprint')).toMatchObject({ state: 'new' });
    expect(await lock.claimIdempotencyKey('user:k', 'fingerprint')).toEqual({ state: 'in_progress' });
    clock.advance(LEASE_MS - 1000);
    expect(await lock.claimIdempotencyKey('user:k', 'fingerprint')).toEqual({ state: 'in_progress' });
    clock.advance(2000);
    expect(await lock.claimIdempotencyKey('user:k', 'another request')).toEqual({ state: 'mismatch' });
    expect(await lock.claimIdempotencyKey('user:k', 'fingerprint')).toMatchObject({ state: 'new' });
    // The one that took over holds the claim now, with a lease of its own.
    expect(await lock.claimIdempotencyKey('user:k', 'fingerprint')).toEqual({ state: 'in_progress' });
  });

  it('keeps the answer of the request holding the claim, not of one whose claim was taken over', async () => {
    const lock = await freshLock();
    const dead = await lock.claimIdempotencyKey('user:k', 'fingerprint');
    clock.advance(LEASE_MS + 1000);
    const retry = await lock.claimIdempotencyKey('user:k', 'fingerprint');
    if (dead.state !== 'new' || retry.state !== 'new') throw new Error('claims refused');

    await lock.settleIdempotencyKey('user:k', { status: 201, body: '{"from":"the retry"}' }, retry.claim);
    await lock.settleIdempotencyKey('user:k', { status: 201, body: '{"from":"the late one"}' }, dead.claim);
    await lock.settleIdempotencyKey('user:k', null, dead.claim);
    expect(await lock.claimIdempotencyKey('user:k', 'fingerprint')).toEqual({ state: 'done', status: 201, body: '{"from":"the retry"}' });
  });

  it('answers an expired key as new before the alarm has trimmed it', async () => {
    const lock = await freshLock();
    const first = await lock.claimIdempotencyKey('user:k', 'fingerprint');
    if (first.state !== 'new') throw new Error('claim refused');
    await lock.settleIdempotencyKey('user:k', { status: 201, body: '{}' }, first.claim);
    clock.advance(LIFETIME_MS + 1000);
    expect(await lock.claimIdempotencyKey('user:k', 'another request')).toMatchObject({ state: 'new' });
  });

  it('leaves expired keys to the alarm, which deletes them in bounded batches and is armed while keys are kept', async () => {
    const lock = await freshLock();
    expect(await lock.claimIdempotencyKey('user:kept', 'fingerprint')).toMatchObject({ state: 'new' });
    const alarm = () => runInDurableObject(lock, (_instance, state) => state.storage.getAlarm());
    expect(await alarm()).not.toBeNull();

    const expiredCount = 1200;
    await runInDurableObject(lock, (_instance, state) => {
      for (let i = 0; i < expiredCount; i++) {
        state.storage.sql.exec(`INSERT INTO idempotency_keys (key, fingerprint, status, body, created_at) VALUES (?, 'f', 201, '{}', ?)`, `user:old-${i}`, Date.now() - LIFETIME_MS - 60_000);
      }
    });
    // A claim costs the same however many keys are stored: it deletes nothing.
    expect(await lock.claimIdempotencyKey('user:another', 'fingerprint')).toMatchObject({ state: 'new' });
    expect(await storedKeys(lock)).toHaveLength(expiredCount + 2);
    const indexed = await runInDurableObject(lock, (_instance, state) =>
      state.storage.sql.exec<{ detail: string }>(`EXPLAIN QUERY PLAN SELECT min(created_at) FROM idempotency_keys`).toArray().map((row) => row.detail).join(' '),
    );
    expect(indexed).toMatch(/USING (COVERING )?INDEX/);

    clock.advance(20 * 60 * 1000);
    const remaining: number[] = [];
    for (let run = 0; run < 5 && (await storedKeys(lock)).length > 2; run++) {
      expect(await runDurableObjectAlarm(lock)).toBe(true);
      remaining.push((await storedKeys(lock)).length);
    }
    expect(remaining[0]).toBeGreaterThan(2);
    expect(remaining.at(-1)).toBe(2);
    expect(await storedKeys(lock)).toEqual(['user:another', 'user:kept']);
    // Still armed, for the keys left.
    expect(await alarm()).not.toBeNull();
  });
});
