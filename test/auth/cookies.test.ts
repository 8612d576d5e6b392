// The cookies that carry authority: the session (signup, login; cleared by logout) and the queue
// admission. Each is HttpOnly (no script reads it), Secure (never over plain HTTP) and
// SameSite=Lax (not sent on other sites' subrequests and form posts).
import { runDurableObjectAlarm } from 'cloudflare:test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, api, createQueuedEvent, env, signUp, TestClock, unique } from '../helpers';

const clock = new TestClock();

function cookieNamed(response: Response, name: string): { value: string; attributes: string[] } {
  const header = response.headers.getSetCookie().find((cookie) => cookie.startsWith(`${name}=`));
  expect(header, `a ${name} cookie is set`).toBeDefined();
  const [pair, ...attributes] = header!.split(';').map((part) => part.trim());
  return { value: pair!.slice(name.length + 1), attributes: attributes.map((attribute) => attribute.toLowerCase()) };
}

function expectProtected(attributes: string[], path: string): void {
  expect(attributes).toEqual(expect.arrayContaining(['httponly', 'secure', 'samesite=lax', `path=${path}`]));
  expect(attributes.some((attribute) => attribute.startsWith('domain='))).toBe(false);
}

describe('cookies', () => {
  beforeAll(() => clock.install());
  afterAll(() => clock.uninstall());

  it('the session cookie of sign-up and login is HttpOnly, Secure, SameSite=Lax for the whole site, and logout clears it the same way', async () => {
    const email = `${unique('cookie')}@example.com`;
    const signup = await api('/api/auth/signup', { method: 'POST', json: { email, password: 'correct-horse-battery', name: 'Cookie' } });
    expectProtected(cookieNamed(signup, 'session').attributes, '/');
    const login = await api('/api/auth/login', { method: 'POST', json: { email, password: 'correct-horse-battery' } });
    const session = cookieNamed(login, 'session');
    expectProtected(session.attributes, '/');
    expect(session.attributes).toContain(`max-age=${7 * 24 * 3600}`);

    const logout = await api('/api/auth/logout', { method: 'POST', headers: { Cookie: `session=${session.value}`, Origin: 'http://box-office.test' } });
    const cleared = cookieNamed(logout, 'session');
    expect(cleared.value).toBe('');
    expectProtected(cleared.attributes, '/');
  });

  it('the queue admission cookie is HttpOnly, Secure, SameSite=Lax, only for /api/bookings, and lasts as long as the admission', async () => {
    const { eventId } = await createQueuedEvent(await adminToken(), { now: clock.now, queue: { admitPerMinute: 600, maxActive: 10 } });
    const buyer = await signUp();
    await api(`/api/events/${eventId}/queue/join`, { method: 'POST', token: buyer.token });
    clock.advance(1000);
    await runDurableObjectAlarm(env.WAITING_ROOM.getByName(eventId));
    const admitted = await api(`/api/events/${eventId}/queue/status`, { token: buyer.token });
    const body = (await admitted.json()) as { state: string; token: string; expiresAt: string };
    expect(body.state).toBe('admitted');
    const cookie = cookieNamed(admitted, `queue_${eventId.replace(/-/g, '')}`);
    expect(cookie.value).toBe(body.token);
    expectProtected(cookie.attributes, '/api/bookings');
    const maxAge = Number(cookie.attributes.find((attribute) => attribute.startsWith('max-age='))!.slice('max-age='.length));
    expect(Math.abs(maxAge - (Date.parse(body.expiresAt) - clock.now) / 1000)).toBeLessThanOrEqual(1);
  });
});
