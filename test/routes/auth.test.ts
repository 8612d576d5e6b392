import { describe, expect, it } from 'vitest';
import { fromBase64url, signKeyedToken, signToken } from '../../src/lib/signing';
import { sessionKeys } from '../../src/auth/keys';
import { api, env, unique } from '../helpers';

// Login attempts are counted per client IP (CF-Connecting-IP), per account and IP, and per account
// from IPs that never signed into it (src/auth/throttle.ts); sign-ups per IP. Limits by IP apply
// only when the header is there (Cloudflare always sends it), so the other test files, which send
// none, share no bucket. Every failing login here sends an IP of its own.

interface ErrorBody {
  error: { code: string; message: string; details?: Array<{ field: string; message: string }> };
}

interface SessionBody {
  user: { id: string; email: string; name: string; role: string };
  token: string;
}

const PASSWORD = 'correct-horse-battery';

const IP_PREFIX = `10.${Math.floor(Math.random() * 256)}`;
let ipCounter = 0;
/** An IP address no other request of this run uses. */
const uniqueIp = () => {
  ipCounter += 1;
  return `${IP_PREFIX}.${Math.floor(ipCounter / 256)}.${ipCounter % 256}`;
};

const newEmail = () => `${unique('auth')}@example.com`;

function signup(json: unknown, ip?: string): Promise<Response> {
  return api('/api/auth/signup', { method: 'POST', json, headers: ip ? { 'CF-Connecting-IP': ip } : {} });
}

function login(email: string, password: string, ip = uniqueIp()): Promise<Response> {
  return api('/api/auth/login', { method: 'POST', json: { email, password }, headers: { 'CF-Connecting-IP': ip } });
}

async function registered(name = 'Ada Buyer'): Promise<SessionBody & { email: string }> {
  const email = newEmail();
  const response = await signup({ email, password: PASSWORD, name });
  expect(response.status).toBe(201);
  return { ...((await response.json()) as SessionBody), email };
}

function me(init: RequestInit & { token?: string } = {}): Promise<Response> {
  return api('/api/me', init);
}

/** The Set-Cookie header's `session` cookie, split into its attributes. */
function sessionCookie(response: Response): { value: string; attributes: string[] } {
  const header = response.headers.getSetCookie().find((cookie) => cookie.startsWith('session='));
  expect(header, 'a session cookie is set').toBeDefined();
  const [pair, ...attributes] = header!.split(';').map((part) => part.trim());
  return { value: pair!.slice('session='.length), attributes: attributes.map((a) => a.toLowerCase()) };
}

async function expectError(response: Response, status: number, code: string): Promise<ErrorBody> {
  expect(response.status).toBe(status);
  const body = (await response.json()) as ErrorBody;
  expect(body.error).toMatchObject({ code, message: expect.any(String) });
  return body;
}

describe('POST /api/auth/signup', () => {
  it('creates a customer and answers 201 with the user and a session token', async () => {
    const email = newEmail();
    const response = await signup({ email, password: PASSWORD, name: 'Grace Buyer' });
    expect(response.status).toBe(201);
    const body = (await response.json()) as SessionBody;
    expect(body).toEqual({ user: { id: expect.any(String), email, name: 'Grace Buyer', role: 'customer' }, token: expect.any(String) });
    expect(body.token.length).toBeGreaterThan(20);
  });

  it('sets the token as an HttpOnly, Secure, SameSite=Lax session cookie', async () => {
    const response = await signup({ email: newEmail(), password: PASSWORD, name: 'Cookie Buyer' });
    const { token } = (await response.json()) as SessionBody;
    const cookie = sessionCookie(response);
    expect(cookie.value).toBe(token);
    expect(cookie.attributes).toEqual(expect.arrayContaining(['httponly', 'secure', 'samesite=lax', 'path=/']));
  });

  it('refuses an email that is already taken, whatever its case, with 409 email_taken', async () => {
    const { email } = await registered();
    for (const taken of [email, email.toUpperCase(), `  ${email.replace(/^a/, 'A')}  `]) {
      const response = await signup({ email: taken, password: PASSWORD, name: 'Second Try' });
      await expectError(response, 409, 'email_taken');
    }
  });

  const invalid: Array<[string, Record<string, unknown>, string]> = [
    ['a password shorter than 8 characters', { password: 'seven77' }, 'password'],
    ['a password longer than 200 characters', { password: 'p'.repeat(201) }, 'password'],
    ['an email that is not an email', { email: 'not-an-email' }, 'email'],
    ['a missing name', { name: undefined }, 'name'],
    ['an empty name', { name: '   ' }, 'name'],
    ['a missing email', { email: undefined }, 'email'],
  ];
  for (const [what, change, field] of invalid) {
    it(`answers 400 validation_failed naming ${field} for ${what}`, async () => {
      const email = newEmail();
      const response = await signup({ email, password: PASSWORD, name: 'Val Buyer', ...change });
      const body = await expectError(response, 400, 'validation_failed');
      expect(body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field, message: expect.any(String) })]));
      // Nothing was created: the account cannot sign in.
      await expectError(await login(email, PASSWORD), 401, 'invalid_credentials');
    });
  }

  it('takes 5 sign-ups an hour from one IP; the 6th is 429 rate_limited with Retry-After and creates nothing', async () => {
    const ip = uniqueIp();
    for (let i = 0; i < 5; i++) expect((await signup({ email: newEmail(), password: PASSWORD, name: 'Busy Signer' }, ip)).status).toBe(201);
    const email = newEmail();
    const refused = await signup({ email, password: PASSWORD, name: 'Busy Signer' }, ip);
    await expectError(refused, 429, 'rate_limited');
    expect(Number(refused.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect(Number(refused.headers.get('Retry-After'))).toBeLessThanOrEqual(3600);
    await expectError(await login(email, PASSWORD), 401, 'invalid_credentials');
    // Another address is not held back.
    expect((await signup({ email: newEmail(), password: PASSWORD, name: 'Other Signer' }, uniqueIp())).status).toBe(201);
  });

  it('accepts passwords of exactly 8 and exactly 200 characters', async () => {
    for (const password of ['12345678', 'p'.repeat(200)]) {
      const email = newEmail();
      expect((await signup({ email, password, name: 'Edge Buyer' })).status).toBe(201);
      expect((await login(email, password)).status).toBe(200);
    }
  });
});

describe('POST /api/auth/login', () => {
  it('answers 200 with the user and a token that works as a Bearer token', async () => {
    const account = await registered('Lin Buyer');
    const response = await login(account.email, PASSWORD);
    expect(response.status).toBe(200);
    const body = (await response.json()) as SessionBody;
    expect(body).toEqual({ user: { id: account.user.id, email: account.email, name: 'Lin Buyer', role: 'customer' }, token: expect.any(String) });

    const whoAmI = await me({ token: body.token });
    expect(whoAmI.status).toBe(200);
    expect(await whoAmI.json()).toEqual({ user: account.user });
  });

  it('sets the session cookie, which alone authenticates', async () => {
    const account = await registered();
    const response = await login(account.email, PASSWORD);
    const cookie = sessionCookie(response);
    expect(cookie.attributes).toEqual(expect.arrayContaining(['httponly', 'secure', 'samesite=lax']));

    const whoAmI = await me({ headers: { Cookie: `session=${cookie.value}` } });
    expect(whoAmI.status).toBe(200);
    expect(((await whoAmI.json()) as { user: { id: string } }).user.id).toBe(account.user.id);
  });

  it('accepts the email in another case', async () => {
    const account = await registered();
    const response = await login(account.email.toUpperCase(), PASSWORD);
    expect(response.status).toBe(200);
    expect(((await response.json()) as SessionBody).user.id).toBe(account.user.id);
  });

  it('answers a wrong password and an unknown email alike: 401 invalid_credentials, same body', async () => {
    const account = await registered();
    const wrongPassword = await login(account.email, 'not-the-password');
    const unknownEmail = await login(newEmail(), PASSWORD);
    const first = await expectError(wrongPassword, 401, 'invalid_credentials');
    const second = await expectError(unknownEmail, 401, 'invalid_credentials');
    expect(second).toEqual(first);
    expect(wrongPassword.headers.getSetCookie()).toEqual([]);
  });

  it('after 5 failures at one account from one IP refuses that IP there, even with the right password, with 429 and Retry-After', async () => {
    const account = await registered();
    const ip = uniqueIp();
    for (let i = 0; i < 5; i++) {
      await expectError(await login(account.email, `wrong-password-${i}`, ip), 401, 'invalid_credentials');
    }
    const refused = await login(account.email, PASSWORD, ip);
    await expectError(refused, 429, 'rate_limited');
    const retryAfter = refused.headers.get('Retry-After');
    expect(retryAfter).toMatch(/^\d+$/);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    expect(Number(retryAfter)).toBeLessThanOrEqual(15 * 60);
    // Another case of the same email is the same account.
    await expectError(await login(account.email.toUpperCase(), PASSWORD, ip), 429, 'rate_limited');
    // The account is not locked for everyone, nor the IP for every account.
    expect((await login(account.email, PASSWORD, uniqueIp())).status).toBe(200);
    const other = await registered();
    expect((await login(other.email, PASSWORD, ip)).status).toBe(200);
  });

  it('counts each attempt before checking its password: of 40 guesses at once from one IP, only 5 are checked', async () => {
    const account = await registered();
    const ip = uniqueIp();
    const responses = await Promise.all(Array.from({ length: 40 }, (_, i) => login(account.email, `guess-${i}`, ip)));
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 401)).toHaveLength(5);
    expect(statuses.filter((status) => status === 429)).toHaveLength(35);
  });

  it('lets no stranger lock the owner out: failures from many IPs close the account to new IPs, not to one the owner signed in from', async () => {
    const account = await registered();
    const home = uniqueIp();
    expect((await login(account.email, PASSWORD, home)).status).toBe(200);
    // Guesses from 25 addresses, each below its own per-IP limit.
    const guesses = [];
    for (let i = 0; i < 25; i++) guesses.push((await login(account.email, `wrong-password-${i}`, uniqueIp())).status);
    expect(guesses.slice(0, 20)).toEqual(Array(20).fill(401));
    expect(guesses.slice(20)).toEqual(Array(5).fill(429));
    // A new address is refused even with the right password ...
    await expectError(await login(account.email, PASSWORD, uniqueIp()), 429, 'rate_limited');
    // ... but the owner, from where they signed in before, is not.
    expect((await login(account.email, PASSWORD, home)).status).toBe(200);
  });

  it('forgets an account\'s earlier failures after a successful login', async () => {
    const account = await registered();
    for (let i = 0; i < 4; i++) await login(account.email, 'wrong-password');
    expect((await login(account.email, PASSWORD)).status).toBe(200);
    for (let i = 0; i < 4; i++) await expectError(await login(account.email, 'wrong-password'), 401, 'invalid_credentials');
    expect((await login(account.email, PASSWORD)).status).toBe(200);
  });

  it('after 30 failures from one IP refuses that IP with 429, while other IPs still get answers', async () => {
    const ip = uniqueIp();
    // Each failure with a different unknown email, so no account limit is reached.
    for (let i = 0; i < 30; i++) {
      await expectError(await login(newEmail(), PASSWORD, ip), 401, 'invalid_credentials');
    }
    const refused = await login(newEmail(), PASSWORD, ip);
    await expectError(refused, 429, 'rate_limited');
    expect(Number(refused.headers.get('Retry-After'))).toBeGreaterThan(0);

    await expectError(await login(newEmail(), PASSWORD, uniqueIp()), 401, 'invalid_credentials');
  });

  it('answers 400 validation_failed for a body without a password', async () => {
    const response = await api('/api/auth/login', { method: 'POST', json: { email: newEmail() }, headers: { 'CF-Connecting-IP': uniqueIp() } });
    const body = await expectError(response, 400, 'validation_failed');
    expect(body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'password' })]));
  });
});

describe('GET /api/me', () => {
  it('answers 401 unauthenticated without a token', async () => {
    const response = await me();
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: { code: 'unauthenticated', message: expect.any(String) } });
  });

  it('answers 401 to a garbage, forged or tampered token', async () => {
    const account = await registered();
    const [keyId, payload, signature] = account.token.split('.') as [string, string, string];
    const flip = (text: string, index: number) => text.slice(0, index) + (text[index] === 'A' ? 'B' : 'A') + text.slice(index + 1);
    const { sid } = JSON.parse(new TextDecoder().decode(fromBase64url(payload)!)) as { sid: string };
    const claims = { sid, sub: account.user.id, exp: Math.floor(Date.now() / 1000) + 3600 };
    const tokens = {
      garbage: 'not-a-token',
      empty: '',
      'payload only': payload,
      'key id and payload only': `${keyId}.${payload}`,
      'a fourth part': `${account.token}.extra`,
      'one payload character changed': `${keyId}.${flip(payload, 5)}.${signature}`,
      'one signature character changed': `${keyId}.${payload}.${flip(signature, 5)}`,
      'one key id character changed': `${flip(keyId, 2)}.${payload}.${signature}`,
      'signed with another secret under our key id': await signKeyedToken([{ id: keyId, secret: 'another-secret-that-is-long-enough-0123456789' }], 'session', claims),
      'signed for another purpose': await signKeyedToken(sessionKeys(env), 'queue', claims),
      'the old unkeyed format': await signToken(env.SESSION_SECRET, 'session', claims),
    };
    for (const [what, token] of Object.entries(tokens)) {
      const response = await me({ headers: { Authorization: `Bearer ${token}` } });
      expect(response.status, what).toBe(401);
      expect(((await response.json()) as ErrorBody).error.code, what).toBe('unauthenticated');
    }
    const tamperedCookie = await me({ headers: { Cookie: `session=${keyId}.${flip(payload, 5)}.${signature}` } });
    expect(tamperedCookie.status).toBe(401);
  });

  it('answers 401 to a correctly signed session token that has expired or names no session of its user', async () => {
    const account = await registered();
    const keys = sessionKeys(env);
    const [, payload] = account.token.split('.') as [string, string, string];
    const { sid } = JSON.parse(new TextDecoder().decode(fromBase64url(payload)!)) as { sid: string };
    const now = Math.floor(Date.now() / 1000);
    const expired = await signKeyedToken(keys, 'session', { sid, sub: account.user.id, exp: now - 1 });
    const noSuchSession = await signKeyedToken(keys, 'session', { sid: crypto.randomUUID(), sub: account.user.id, exp: now + 3600 });
    const anotherUsersSession = await signKeyedToken(keys, 'session', { sid, sub: (await registered()).user.id, exp: now + 3600 });
    const sameClaims = await signKeyedToken(keys, 'session', { sid, sub: account.user.id, exp: now + 3600 });
    expect((await me({ token: expired })).status).toBe(401);
    expect((await me({ token: noSuchSession })).status).toBe(401);
    expect((await me({ token: anotherUsersSession })).status).toBe(401);
    // The same claims, unexpired, are the session itself.
    expect((await me({ token: sameClaims })).status).toBe(200);
  });
});

describe('POST /api/auth/logout', () => {
  it('answers 204 and clears the session cookie', async () => {
    const account = await registered();
    const response = await api('/api/auth/logout', { method: 'POST', headers: { Cookie: `session=${account.token}`, Origin: 'http://box-office.test' } });
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
    const cookie = sessionCookie(response);
    expect(cookie.value).toBe('');
    const maxAgeZero = cookie.attributes.includes('max-age=0');
    const expiry = cookie.attributes.find((a) => a.startsWith('expires='));
    const expiredDate = expiry !== undefined && Date.parse(expiry.slice('expires='.length)) <= Date.now();
    expect(maxAgeZero || expiredDate).toBe(true);
    expect(cookie.attributes).toEqual(expect.arrayContaining(['path=/']));
  });
});
