// Sessions can be taken back: logging out revokes that token on the server, and a change of role
// or password, or the account's deletion, reaches every token within a minute. Each Worker
// isolate remembers a session's check for at most 60 s, so a booking does not ask Postgres on
// every request; these tests move the isolate's clock (TestClock) past that lifetime.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { withDb } from '../../src/db/client';
import { users } from '../../src/db/schema';
import { hashPassword } from '../../src/auth/passwords';
import { api, env, TestClock, unique } from '../helpers';

const clock = new TestClock();
const PASSWORD = 'correct-horse-battery';
/** Longer than any isolate may remember a session's check. */
const CHECK_LIFETIME_MS = 60_000;

interface SessionBody {
  user: { id: string; email: string; role: string };
  token: string;
}

async function account(role: 'customer' | 'admin' = 'customer'): Promise<{ id: string; email: string }> {
  const email = `${unique('session')}@example.com`;
  const [row] = await withDb(env, async (db) => db.insert(users).values({ email, name: 'Session Test', passwordHash: await hashPassword(PASSWORD), role }).returning({ id: users.id }));
  return { id: row!.id, email };
}

async function login(email: string): Promise<SessionBody> {
  const response = await api('/api/auth/login', { method: 'POST', json: { email, password: PASSWORD } });
  expect(response.status).toBe(200);
  return response.json();
}

const me = (token: string) => api('/api/me', { token });
const createPerformer = (token: string) => api('/api/admin/performers', { method: 'POST', token, json: { name: unique('Performer ') } });
const changeInPostgres = (statement: ReturnType<typeof sql>) => withDb(env, (db) => db.execute(statement));

describe('sessions', () => {
  beforeAll(() => clock.install());
  afterAll(() => clock.uninstall());

  it('logout revokes the token on the server: the same token, by header or cookie, is refused afterwards', async () => {
    const { email } = await account();
    const first = await login(email);
    const second = await login(email);
    expect((await me(first.token)).status).toBe(200);

    const logout = await api('/api/auth/logout', { method: 'POST', token: first.token });
    expect(logout.status).toBe(204);
    expect((await me(first.token)).status).toBe(401);
    expect((await api('/api/me', { headers: { Cookie: `session=${first.token}` } })).status).toBe(401);
    // Only that session: the account's other sign-in goes on.
    expect((await me(second.token)).status).toBe(200);

    // By cookie as well, as a browser logs out.
    const byCookie = await api('/api/auth/logout', { method: 'POST', headers: { Cookie: `session=${second.token}`, Origin: 'http://box-office.test' } });
    expect(byCookie.status).toBe(204);
    expect((await me(second.token)).status).toBe(401);
    clock.advance(CHECK_LIFETIME_MS + 1000);
    expect((await me(first.token)).status).toBe(401);
    expect((await me(second.token)).status).toBe(401);
  });

  it('a demoted admin loses admin rights within a minute, and a promoted customer gains them', async () => {
    const admin = await account('admin');
    const { token } = await login(admin.email);
    expect((await createPerformer(token)).status).toBe(201);

    await changeInPostgres(sql`update users set role = 'customer' where id = ${admin.id}`);
    clock.advance(CHECK_LIFETIME_MS + 1000);
    expect((await createPerformer(token)).status).toBe(403);
    expect(((await (await me(token)).json()) as SessionBody).user.role).toBe('customer');

    await changeInPostgres(sql`update users set role = 'admin' where id = ${admin.id}`);
    clock.advance(CHECK_LIFETIME_MS + 1000);
    expect((await createPerformer(token)).status).toBe(201);
  });

  it('a password change ends every session of the account within a minute', async () => {
    const { id, email } = await account();
    const one = await login(email);
    const two = await login(email);
    expect((await me(one.token)).status).toBe(200);
    await changeInPostgres(sql`update users set password_hash = ${await hashPassword('another-password-456')} where id = ${id}`);
    clock.advance(CHECK_LIFETIME_MS + 1000);
    expect((await me(one.token)).status).toBe(401);
    expect((await me(two.token)).status).toBe(401);
  });

  it('a role or name change that keeps the password keeps the sessions', async () => {
    const { id, email } = await account();
    const { token } = await login(email);
    await changeInPostgres(sql`update users set name = 'Renamed' where id = ${id}`);
    clock.advance(CHECK_LIFETIME_MS + 1000);
    expect((await me(token)).status).toBe(200);
  });

  it('refuses the tokens of a deleted account within a minute', async () => {
    const { id, email } = await account();
    const { token } = await login(email);
    expect((await me(token)).status).toBe(200);

    await changeInPostgres(sql`delete from users where id = ${id}`);
    clock.advance(CHECK_LIFETIME_MS + 1000);
    const refused = await me(token);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('unauthenticated');
  });

  it('checks a session at most once a minute per isolate, and never trusts the check for longer', async () => {
    const { email } = await account();
    const { token } = await login(email);
    expect((await me(token)).status).toBe(200);
    // Revoked behind this isolate's back (as another isolate's logout would): the remembered check
    // still stands for the rest of its minute, so repeated requests need no Postgres round trip ...
    await changeInPostgres(sql`delete from sessions where user_id = (select id from users where email = ${email})`);
    clock.advance(CHECK_LIFETIME_MS - 5000);
    const bookingsPage = await api('/api/me/bookings', { token });
    expect(bookingsPage.status).toBe(200);
    // ... and no longer.
    clock.advance(6000);
    expect((await api('/api/me/bookings', { token })).status).toBe(401);
  });
});
