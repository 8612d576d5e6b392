import { describe, expect, it } from 'vitest';
import { DUMMY_PASSWORD_HASH, constantTimeEqual, hashPassword, verifyPassword } from '../../src/auth/passwords';

describe('hashPassword', () => {
  it('stores scheme, iterations, salt and hash, with at least 100 000 PBKDF2 iterations', async () => {
    const stored = await hashPassword('correct-horse-battery');
    const [scheme, iterations, salt, hash, ...rest] = stored.split('$');
    expect(scheme).toBe('pbkdf2-sha256');
    expect(Number(iterations)).toBeGreaterThanOrEqual(100_000);
    expect(atob(salt!).length).toBeGreaterThanOrEqual(16);
    expect(atob(hash!).length).toBe(32);
    expect(rest).toEqual([]);
  });

  it('salts every hash: the same password hashes differently each time', async () => {
    const first = await hashPassword('correct-horse-battery');
    const second = await hashPassword('correct-horse-battery');
    expect(first).not.toBe(second);
    expect(first.split('$')[2]).not.toBe(second.split('$')[2]);
    expect(await verifyPassword('correct-horse-battery', first)).toBe(true);
    expect(await verifyPassword('correct-horse-battery', second)).toBe(true);
  });

  it('does not contain the password', async () => {
    const stored = await hashPassword('correct-horse-battery');
    expect(stored).not.toContain('correct-horse-battery');
    expect(stored).not.toContain(btoa('correct-horse-battery'));
  });
});

describe('verifyPassword', () => {
  it('accepts the right password and rejects a wrong one', async () => {
    const stored = await hashPassword('correct-horse-battery');
    expect(await verifyPassword('correct-horse-battery', stored)).toBe(true);
    expect(await verifyPassword('correct-horse-batterY', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
  });

  it('handles passwords beyond ASCII', async () => {
    const stored = await hashPassword('pässwörd-密码-🔑');
    expect(await verifyPassword('pässwörd-密码-🔑', stored)).toBe(true);
    expect(await verifyPassword('passwörd-密码-🔑', stored)).toBe(false);
  });

  it('rejects anything against a stored value in another format', async () => {
    const stored = await hashPassword('correct-horse-battery');
    const [, iterations, salt, hash] = stored.split('$');
    for (const malformed of ['', 'correct-horse-battery', `md5$${iterations}$${salt}$${hash}`, `pbkdf2-sha256$${iterations}$${salt}`]) {
      expect(await verifyPassword('correct-horse-battery', malformed), malformed).toBe(false);
    }
  });

  it('matches no password against the dummy hash used for unknown emails', async () => {
    expect(await verifyPassword('', DUMMY_PASSWORD_HASH)).toBe(false);
    expect(await verifyPassword('correct-horse-battery', DUMMY_PASSWORD_HASH)).toBe(false);
  });
});

describe('constantTimeEqual', () => {
  it('is true only for equal bytes of equal length', () => {
    expect(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]))).toBe(true);
    expect(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4]))).toBe(false);
    expect(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2]))).toBe(false);
  });
});
