import { describe, expect, it } from 'vitest';
import { base64url, fromBase64url, keyIdOf, signKeyedToken, signToken, verifyKeyedToken, verifyToken } from '../../src/lib/signing';

const SECRET = 'unit-test-secret-that-is-long-enough-0123456789';
const claims = { sub: 'user-1', role: 'customer', exp: 2_000_000_000, note: 'ünïcode ✓' };

/** The token with one character at `index` of the given part (0 payload, 1 signature) changed. */
function tamper(token: string, part: 0 | 1, index: number): string {
  const parts = token.split('.');
  const text = parts[part]!;
  parts[part] = text.slice(0, index) + (text[index] === 'A' ? 'B' : 'A') + text.slice(index + 1);
  return parts.join('.');
}

describe('signToken / verifyToken', () => {
  it('round-trips the claims for the same secret and purpose', async () => {
    const token = await signToken(SECRET, 'session', claims);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(await verifyToken(SECRET, 'session', token)).toEqual(claims);
  });

  it('rejects a token signed for another purpose', async () => {
    const token = await signToken(SECRET, 'session', claims);
    expect(await verifyToken(SECRET, 'queue', token)).toBeNull();
    expect(await verifyToken(SECRET, 'ticket', token)).toBeNull();
  });

  it('rejects a token whose payload or signature was changed', async () => {
    const token = await signToken(SECRET, 'session', claims);
    const [payload, signature] = token.split('.') as [string, string];
    for (let index = 0; index < payload.length; index += 7) {
      expect(await verifyToken(SECRET, 'session', tamper(token, 0, index)), `payload char ${index}`).toBeNull();
    }
    for (let index = 0; index < signature.length; index += 7) {
      expect(await verifyToken(SECRET, 'session', tamper(token, 1, index)), `signature char ${index}`).toBeNull();
    }
    // Other claims with the original signature.
    const forged = base64url(new TextEncoder().encode(JSON.stringify({ ...claims, role: 'admin' })));
    expect(await verifyToken(SECRET, 'session', `${forged}.${signature}`)).toBeNull();
  });

  it('rejects a token signed with another secret', async () => {
    const token = await signToken('another-secret-that-is-long-enough-0123456789', 'session', claims);
    expect(await verifyToken(SECRET, 'session', token)).toBeNull();
  });

  it('rejects malformed tokens', async () => {
    const token = await signToken(SECRET, 'session', claims);
    for (const malformed of ['', '.', 'abc', `${token}.`, `${token}.extra`, `.${token.split('.')[1]}`, `${token.split('.')[0]}.`, 'a+b/c.d=e', `${token}${'A'.repeat(5000)}`]) {
      expect(await verifyToken(SECRET, 'session', malformed), malformed.slice(0, 40)).toBeNull();
    }
  });
});

describe('base64url', () => {
  it('round-trips bytes without padding or URL-unsafe characters', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const text = base64url(bytes);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(fromBase64url(text)).toEqual(bytes);
    expect(fromBase64url('not base64!')).toBeNull();
  });
});

describe('keyed tokens (signKeyedToken / verifyKeyedToken)', () => {
  const current = { id: keyIdOf(SECRET), secret: SECRET };
  const previous = { id: keyIdOf('the-previous-secret-that-is-long-enough-0123'), secret: 'the-previous-secret-that-is-long-enough-0123' };

  it('names the signing key by an id that reveals nothing of it, and is verified under that key only', async () => {
    expect(current.id).toMatch(/^[A-Za-z0-9_-]{8}$/);
    expect(keyIdOf(SECRET)).toBe(current.id);
    expect(previous.id).not.toBe(current.id);
    expect(SECRET).not.toContain(current.id);
    const token = await signKeyedToken([current, previous], 'session', claims);
    expect(token.split('.')[0]).toBe(current.id);
    expect(await verifyKeyedToken([current, previous], 'session', token)).toEqual(claims);
    expect(await verifyKeyedToken([previous, current], 'session', token)).toEqual(claims);
    expect(await verifyKeyedToken([previous], 'session', token)).toBeNull();
    expect(await verifyKeyedToken([current], 'queue', token)).toBeNull();
  });

  it('refuses a token whose key id, payload or signature was changed, or that is not in three parts', async () => {
    const token = await signKeyedToken([current], 'session', claims);
    const [id, payload, signature] = token.split('.') as [string, string, string];
    // The key id is signed: another configured key's id on the same payload and signature fails.
    expect(await verifyKeyedToken([current, { ...current, id: previous.id }], 'session', `${previous.id}.${payload}.${signature}`)).toBeNull();
    for (const broken of [`${id}.${payload}`, `${id}.${payload}.`, `${payload}.${signature}`, `${token}.x`, `${id}.${tamper(`${payload}.${signature}`, 0, 3)}`, `${id}.${tamper(`${payload}.${signature}`, 1, 3)}`]) {
      expect(await verifyKeyedToken([current], 'session', broken), broken.slice(0, 40)).toBeNull();
    }
  });
});
