// Sessions while Postgres cannot be reached (a `database-faults` file, test/faults.ts): a session
// this isolate checked within the last 10 minutes still counts, so buyers keep holding seats;
// one it has not checked (or not for longer) gets 503 unavailable with Retry-After, never a 401
// that would sign the buyer out, and public answers do not depend on the check at all. A Postgres
// that does not answer within 5 s is treated the same way, so nobody waits longer for the check.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { withDb } from '../../src/db/client';
import { signSessionToken } from '../../src/auth/session';
import { api, env, signUp, TestClock } from '../helpers';
import { browsingBuyer, clearFaults, faults, observer, setDatabaseDown, setDelay, STALL_MS } from '../faults';

const clock = new TestClock();

/** A route that needs a signed-in user and nothing from Postgres: a booking id that names no event. */
const signedIn = (token: string) => api('/api/bookings/not-a-booking', { token });

/** A session made behind this isolate's back, so it has never checked it. */
async function uncheckedSession(): Promise<string> {
  const { user } = await signUp();
  const expiresAt = new Date(Date.now() + 3600_000);
  const sessionId = await withDb(observer, async (db) =>
    (await db.execute<{ id: string }>(sql`insert into sessions (user_id, expires_at) values (${user.id}, ${expiresAt}) returning id`)).rows[0]!.id,
  );
  return signSessionToken(env, { sessionId, userId: user.id, expiresAt });
}

describe('sessions while Postgres is down', () => {
  beforeAll(async () => {
    expect(await faults()).toMatchObject({ databaseDown: false });
  });

  afterEach(async () => {
    await clearFaults();
    clock.uninstall();
  });

  it('keep a session checked in the last 10 minutes, answer 503 for others, and check again once Postgres is back', async () => {
    clock.install();
    const buyer = await browsingBuyer();
    const unchecked = await uncheckedSession();
    await setDatabaseDown(true);

    expect((await signedIn(buyer.token)).status).toBe(404);
    // Past the minute a check normally lasts, but within the outage grace.
    clock.advance(5 * 60_000);
    expect((await signedIn(buyer.token)).status).toBe(404);

    const refused = await signedIn(unchecked);
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: { code: 'unavailable' } });
    expect(Number(refused.headers.get('Retry-After'))).toBeGreaterThan(0);
    // A request that needs no user is not held up by the check it could not make.
    expect((await api('/api/nope', { token: unchecked })).status).toBe(404);

    // Nothing older than 10 minutes counts.
    clock.advance(6 * 60_000);
    expect((await signedIn(buyer.token)).status).toBe(503);

    await setDatabaseDown(false);
    expect((await signedIn(buyer.token)).status).toBe(404);
    expect((await signedIn(unchecked)).status).toBe(404);
  });

  it('wait at most about 5 s for a Postgres that has stalled, then treat it as down', async () => {
    clock.install();
    const buyer = await browsingBuyer();
    const unchecked = await uncheckedSession();
    clock.advance(2 * 60_000);
    await setDelay(STALL_MS);

    // Each would wait the stall out (10 minutes, far past this test's timeout) if the check did.
    expect((await signedIn(buyer.token)).status).toBe(404);
    expect((await signedIn(unchecked)).status).toBe(503);
  });
});
