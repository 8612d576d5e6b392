import { describe, expect, it } from 'vitest';
import { base64url, fromBase64url, signToken, verifyToken } from '../../src/lib/signing';

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
