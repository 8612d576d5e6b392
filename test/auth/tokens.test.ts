// Forged, altered, expired, revoked and orphaned session tokens are all 401 unauthenticated.
import { describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { base64url } from '../../src/lib/signing';
import { withDb } from '../../src/db/client';
import { api, env, signUp } from '../helpers';

const encode = (value: unknown) => base64url(new TextEncoder().encode(JSON.stringify(value)));

async function expectUnauthenticated(token: string, what: string): Promise<void> {
  for (const headers of [{ Authorization: `Bearer ${token}` }, { Cookie: `session=${token}` }] as Array<Record<string, string>>) {
    const response = await api('/api/me', { headers });
    expect(response.status, what).toBe(401);
    expect(((await response.json()) as { error: { code: string } }).error.code, what).toBe('unauthenticated');
  }
}

async function hmac(secret: string, text: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return base64url(new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(text))));
}

describe('session tokens that are not ours', () => {
  it('refuses "alg: none"-style forgeries: no signature, an empty one, a JWT header claiming none', async () => {
    const buyer = await signUp();
    const [keyId, payload] = buyer.token.split('.') as [string, string, string];
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(payload.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))));
    const admin = encode({ ...claims, role: 'admin' });
    const forgeries = {
      'no signature': `${keyId}.${payload}`,
      'an empty signature': `${keyId}.${payload}.`,
      'claims with no key id': `${payload}.`,
      'a JWT with alg none': `${encode({ alg: 'none', typ: 'JWT' })}.${admin}.`,
      'a JWT with alg none, our key id as header': `${encode({ alg: 'none', kid: keyId })}.${payload}.`,
      'a signature of zeros': `${keyId}.${payload}.${base64url(new Uint8Array(32))}`,
    };
    for (const [what, token] of Object.entries(forgeries)) await expectUnauthenticated(token, what);
  });

  it('refuses a token signed with the right key over other claims, another key id, or another purpose', async () => {
    const buyer = await signUp();
    const [keyId, payload] = buyer.token.split('.') as [string, string, string];
    const other = await signUp();
    const [, otherPayload, otherSignature] = other.token.split('.') as [string, string, string];
    await expectUnauthenticated(`${keyId}.${otherPayload}.${(await hmac('another-secret-that-is-long-enough-0123456789', `session.${keyId}.${otherPayload}`))}`, 'another secret');
    await expectUnauthenticated(`${keyId}.${payload}.${otherSignature}`, 'a signature of other claims');
    await expectUnauthenticated(`AAAAAAAA.${payload}.${(await hmac(env.SESSION_SECRET, `session.AAAAAAAA.${payload}`))}`, 'a key id that is not configured');
    await expectUnauthenticated(`${keyId}.${payload}.${(await hmac(env.SESSION_SECRET, `queue-socket-ticket.${keyId}.${payload}`))}`, 'signed for another purpose');
  });

  it('refuses an expired token, a revoked one and one whose account is gone', async () => {
    const buyer = await signUp();
    const [keyId] = buyer.token.split('.') as [string, string, string];
    const session = await withDb(env, async (db) => (await db.execute<{ id: string }>(sql`select id from sessions where user_id = ${buyer.user.id}`)).rows[0]!.id);
    const expiredPayload = encode({ sid: session, sub: buyer.user.id, exp: Math.floor(Date.now() / 1000) - 1 });
    await expectUnauthenticated(`${keyId}.${expiredPayload}.${await hmac(env.SESSION_SECRET, `session.${keyId}.${expiredPayload}`)}`, 'expired');

    expect((await api('/api/auth/logout', { method: 'POST', token: buyer.token })).status).toBe(204);
    await expectUnauthenticated(buyer.token, 'revoked');

    const gone = await signUp();
    await withDb(env, (db) => db.execute(sql`delete from users where id = ${gone.user.id}`));
    // This isolate made the session a moment ago; the check it remembers lasts at most a minute
    // (test/auth/sessions.test.ts waits that out). A token of the deleted account minted now
    // names a session that no longer exists.
    const orphanPayload = encode({ sid: crypto.randomUUID(), sub: gone.user.id, exp: Math.floor(Date.now() / 1000) + 3600 });
    await expectUnauthenticated(`${keyId}.${orphanPayload}.${await hmac(env.SESSION_SECRET, `session.${keyId}.${orphanPayload}`)}`, 'of a deleted account');
  });
});
