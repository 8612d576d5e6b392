import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { withDb } from '../../src/db/client';
import { users } from '../../src/db/schema';
import { env, TestClock, unique } from '../helpers';

const clock = new TestClock();
const checker = () => env.SESSION_CHECK.getByName(`test-${crypto.randomUUID()}`);

/** `count` accounts with one session each, written straight to Postgres. */
async function sessions(count: number, role: 'customer' | 'admin' = 'customer'): Promise<Array<{ userId: string; sessionId: string }>> {
  return withDb(env, async (db) => {
    const created = await db
      .insert(users)
      .values(Array.from({ length: count }, () => ({ email: `${unique('check')}@example.com`, name: 'Check', passwordHash: 'unused', role })))
      .returning({ id: users.id });
    const rows = await db.execute<{ id: string; user_id: string }>(sql`
      insert into sessions (user_id, expires_at)
      select id, now() + interval '1 hour' from unnest(${`{${created.map((user) => user.id).join(',')}}`}::uuid[]) as id
      returning id, user_id`);
    return rows.rows.map((row) => ({ userId: row.user_id, sessionId: row.id }));
  });
}

describe('SessionCheck', () => {
  beforeAll(() => clock.install());
  afterAll(() => clock.uninstall());

  it("answers each session's role, and null for an unknown session or another user's", async () => {
    const [customer] = await sessions(1);
    const [admin] = await sessions(1, 'admin');
    const stub = checker();
    expect(await stub.check(customer!.sessionId, customer!.userId)).toEqual({ role: 'customer', checkedAt: clock.now });
    expect((await stub.check(admin!.sessionId, admin!.userId)).role).toBe('admin');
    expect((await stub.check(crypto.randomUUID(), customer!.userId)).role).toBeNull();
    expect((await stub.check(admin!.sessionId, customer!.userId)).role).toBeNull();
    // The right user still gets the answer after a wrong one was asked for, whether or not it was remembered.
    expect((await stub.check(admin!.sessionId, admin!.userId)).role).toBe('admin');
    const [other] = await sessions(1);
    const fresh = checker();
    expect((await fresh.check(other!.sessionId, customer!.userId)).role).toBeNull();
    expect((await fresh.check(other!.sessionId, other!.userId)).role).toBe('customer');
  });

  it('answers a burst of sessions at once, each correctly', async () => {
    const many = await sessions(60);
    const stub = checker();
    const answers = await Promise.all(many.map((session, i) => stub.check(session.sessionId, i % 10 === 0 ? many[(i + 1) % many.length]!.userId : session.userId)));
    expect(answers.map((answer) => answer.role)).toEqual(many.map((_, i) => (i % 10 === 0 ? null : 'customer')));
  });

  it('keeps an answer for a minute from when Postgres gave it, and no longer', async () => {
    const [session] = await sessions(1);
    const stub = checker();
    const first = await stub.check(session!.sessionId, session!.userId);
    await withDb(env, (db) => db.execute(sql`delete from sessions where id = ${session!.sessionId}`));
    clock.advance(59_000);
    expect(await stub.check(session!.sessionId, session!.userId)).toEqual(first);
    clock.advance(2000);
    expect(await stub.check(session!.sessionId, session!.userId)).toEqual({ role: null, checkedAt: clock.now });
  });

  it('answers null for a forgotten (logged out) session at once', async () => {
    const [session] = await sessions(1);
    const stub = checker();
    expect((await stub.check(session!.sessionId, session!.userId)).role).toBe('customer');
    await stub.forget(session!.sessionId);
    expect((await stub.check(session!.sessionId, session!.userId)).role).toBeNull();
  });
});
