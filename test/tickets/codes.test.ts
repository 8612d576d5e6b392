import { describe, expect, it } from 'vitest';
import {
  readScannedCode,
  readTicketCode,
  rotatingCode,
  rotatingPart,
  rotatingSecret,
  rotationSecondsLeft,
  rotationStep,
  ticketCode,
  type TicketClaims,
} from '../../src/tickets/codes';

const env = { TICKET_SIGNING_KEY: 'unit-test-ticket-key-that-is-long-enough-0123' };
const otherEnv = { TICKET_SIGNING_KEY: 'another-ticket-key-that-is-long-enough-456789' };

const eventId = '0f8e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5b';
const ids: TicketClaims = {
  ticketId: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
  eventId,
  bookingId: `${eventId.replace(/-/g, '')}9b2f4c1e0d3a4b5c8e7f6a5b4c3d2e1f`,
};

const STEP_MS = 30_000;
const NOW = Date.UTC(2031, 5, 1, 19, 0, 10);

/** `text` with the character at `index` replaced by another base64url character. */
function changeChar(text: string, index: number): string {
  return text.slice(0, index) + (text[index] === 'A' ? 'B' : 'A') + text.slice(index + 1);
}

describe('ticketCode / readTicketCode', () => {
  it('round-trips ticket, event and booking in a short QR-friendly text', async () => {
    const code = await ticketCode(env, ids);
    expect(code).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(code.length).toBeLessThanOrEqual(90);
    expect(await readTicketCode(env, code)).toEqual(ids);
    expect(await ticketCode(env, ids)).toBe(code);
  });

  it('rejects a code with any one character changed', async () => {
    const code = await ticketCode(env, ids);
    for (let index = 0; index < code.length; index++) {
      expect(await readTicketCode(env, changeChar(code, index)), `char ${index}`).toBeNull();
    }
  });

  it('rejects another spelling of the same bytes (the unused low bits of the last character)', async () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const code = await ticketCode(env, ids);
    const respelt = code.slice(0, -1) + alphabet[alphabet.indexOf(code.at(-1)!) | 1];
    expect(respelt).not.toBe(code);
    expect(await readTicketCode(env, respelt)).toBeNull();
  });

  it('rejects a code signed with another key', async () => {
    expect(await readTicketCode(env, await ticketCode(otherEnv, ids))).toBeNull();
  });

  it('rejects malformed text', async () => {
    const code = await ticketCode(env, ids);
    for (const text of ['', 'abc', code.slice(0, -1), `${code}A`, `${code}=`, code.replace(/[-_]/g, '+'), 'not base64 at all!']) {
      expect(await readTicketCode(env, text), text).toBeNull();
    }
  });

  it('refuses to sign ids that do not belong together', async () => {
    await expect(ticketCode(env, { ...ids, eventId: '11111111-2222-4333-8444-555555555555' })).rejects.toThrow();
    await expect(ticketCode(env, { ...ids, ticketId: 'not-a-uuid' })).rejects.toThrow();
  });

  it('fails loudly without a signing key', async () => {
    await expect(ticketCode({ TICKET_SIGNING_KEY: undefined }, ids)).rejects.toThrow(/TICKET_SIGNING_KEY/);
    await expect(readTicketCode({ TICKET_SIGNING_KEY: 'short' }, 'x')).rejects.toThrow(/TICKET_SIGNING_KEY/);
    await expect(readTicketCode({ TICKET_SIGNING_KEY: 'short' }, await ticketCode(env, ids))).rejects.toThrow(/TICKET_SIGNING_KEY/);
  });
});

describe('rotating part', () => {
  it('is RFC 6238 TOTP with HMAC-SHA-256 (the RFC test vectors, 8 digits, 30 s steps)', async () => {
    const seed = new TextEncoder().encode('12345678901234567890123456789012');
    const vectors: Array<[number, string]> = [
      [59, '46119246'],
      [1111111109, '68084774'],
      [1111111111, '67062674'],
      [1234567890, '91819424'],
      [2000000000, '90698825'],
      [20000000000, '77737706'],
    ];
    for (const [seconds, expected] of vectors) {
      expect(await rotatingPart(seed, rotationStep(seconds * 1000)), String(seconds)).toBe(expected);
    }
  });

  it('has a secret of its own per ticket and per key', async () => {
    const secret = await rotatingSecret(env, ids.ticketId);
    expect(secret).toEqual(await rotatingSecret(env, ids.ticketId));
    expect(secret).not.toEqual(await rotatingSecret(env, '00000000-0000-4000-8000-000000000000'));
    expect(secret).not.toEqual(await rotatingSecret(otherEnv, ids.ticketId));
  });

  it('is accepted in its own step and the next one only', async () => {
    const rotating = await rotatingCode(env, ids, NOW);
    expect(rotating).toMatch(/^[A-Za-z0-9_-]+\.[0-9]{8}$/);
    expect(rotating.startsWith(`${await ticketCode(env, ids)}.`)).toBe(true);
    expect(await readScannedCode(env, rotating, NOW)).toEqual(ids);
    expect(await readScannedCode(env, rotating, NOW + STEP_MS)).toEqual(ids);
    expect(await readScannedCode(env, rotating, NOW + 2 * STEP_MS)).toBeNull();
    expect(await readScannedCode(env, rotating, NOW - STEP_MS)).toBeNull();
  });

  it('rejects a part for another ticket, with a changed digit, or of the wrong shape', async () => {
    const code = await ticketCode(env, ids);
    const other = await rotatingCode(env, { ...ids, ticketId: '00000000-0000-4000-8000-000000000000' }, NOW);
    expect(await readScannedCode(env, `${code}.${other.split('.')[1]}`, NOW)).toBeNull();
    const part = (await rotatingCode(env, ids, NOW)).split('.')[1]!;
    const changed = part.slice(0, -1) + String((Number(part.at(-1)) + 1) % 10);
    for (const text of [`${code}.${changed}`, `${code}.`, `${code}.${part.slice(1)}`, `${code}.${part}0`, `${code}.${part}.${part}`, `${code}.abcdefgh`]) {
      expect(await readScannedCode(env, text, NOW), text).toBeNull();
    }
  });

  it('passes a plain code through unchanged, and no forged one', async () => {
    const code = await ticketCode(env, ids);
    expect(await readScannedCode(env, code, NOW)).toEqual(ids);
    expect(await readScannedCode(env, changeChar(code, 10), NOW)).toBeNull();
    expect(await readScannedCode(env, await rotatingCode(otherEnv, ids, NOW), NOW)).toBeNull();
  });

  it('tells the page how long the current part is shown', () => {
    const stepStart = rotationStep(NOW) * STEP_MS;
    expect(rotationSecondsLeft(stepStart)).toBe(30);
    expect(rotationSecondsLeft(stepStart + 29_500)).toBe(1);
    expect(rotationSecondsLeft(stepStart + 10_000)).toBe(20);
  });
});
