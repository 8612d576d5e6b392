// The codes shown at the door.
//
// A ticket code is the base64url text of 65 bytes:
//   1  (format) ‖ booking id (32 bytes) ‖ ticket id (16 bytes) ‖ tag (16 bytes)
// A booking id is its event's uuid followed by a random uuid (src/durable/TicketLock.ts), so the
// first 16 bytes of it are the event: the code names ticket, event and booking without repeating
// one. The tag is HMAC-SHA-256 under TICKET_SIGNING_KEY over "ticket." and the 49 bytes before it,
// cut to 128 bits, which keeps forgery out of reach while the text (87 characters) stays a small QR.
// Anyone holding the key, the server or a door device, can check a code without a network.
//
// The rotating form, shown on the ticket page so that a screenshot goes stale, is
// `<code>.<8 digits>`: TOTP (RFC 6238 with HMAC-SHA-256, 30 s steps) under the ticket's rotating
// secret, HMAC-SHA-256(TICKET_SIGNING_KEY, "rotating:" + ticket id), which door devices can be
// given per ticket. It is accepted in the step it was made for and the next one.
//
// Keys rotate without a new format: codes are made under the current key, and read under it or
// TICKET_SIGNING_KEY_PREVIOUS (src/auth/keys.ts), so codes already sent keep scanning while the
// previous key is configured. A rotating code is checked under the key its code verified with.
import { base64url, fromBase64url } from '../lib/signing';
import { constantTimeEqual } from '../auth/passwords';
import { ticketKeys, type TicketKeyEnv } from '../auth/keys';

export interface TicketClaims {
  ticketId: string;
  eventId: string;
  bookingId: string;
}

type SigningEnv = TicketKeyEnv;

const FORMAT = 1;
const TAG_BYTES = 16;
const CODE_BYTES = 1 + 32 + 16 + TAG_BYTES;
const ROTATION_STEP_SECONDS = 30;
const ROTATING_DIGITS = 8;
const ROTATING_PART = new RegExp(`^[0-9]{${ROTATING_DIGITS}}$`);

const encoder = new TextEncoder();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BOOKING_ID = /^[0-9a-f]{64}$/;

/** The key new codes are made under. */
function signingKey(env: SigningEnv): string {
  return ticketKeys(env)[0]!.secret;
}

const keys = new Map<string, Promise<CryptoKey>>();
function importHmacKey(secret: string | Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', typeof secret === 'string' ? encoder.encode(secret) : secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
}

async function hmac(secret: string, message: Uint8Array): Promise<Uint8Array> {
  let key = keys.get(secret);
  if (!key) {
    key = importHmacKey(secret);
    keys.set(secret, key);
  }
  return new Uint8Array(await crypto.subtle.sign('HMAC', await key, message));
}

function hexToBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g)!, (pair) => parseInt(pair, 16));
}

function bytesToHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function uuidOf(bytes: Uint8Array): string {
  const hex = bytesToHex(bytes);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const TAG_CONTEXT = encoder.encode('ticket.');

async function tagOf(key: string, body: Uint8Array): Promise<Uint8Array> {
  const message = new Uint8Array(TAG_CONTEXT.length + body.length);
  message.set(TAG_CONTEXT);
  message.set(body, TAG_CONTEXT.length);
  return (await hmac(key, message)).slice(0, TAG_BYTES);
}

export async function ticketCode(env: SigningEnv, ids: TicketClaims): Promise<string> {
  const key = signingKey(env);
  const eventHex = ids.eventId.replace(/-/g, '');
  if (!UUID.test(ids.ticketId) || !UUID.test(ids.eventId) || !BOOKING_ID.test(ids.bookingId) || !ids.bookingId.startsWith(eventHex)) {
    throw new Error(`cannot make a ticket code for ticket ${ids.ticketId} of booking ${ids.bookingId} (event ${ids.eventId})`);
  }
  const body = new Uint8Array(CODE_BYTES - TAG_BYTES);
  body[0] = FORMAT;
  body.set(hexToBytes(ids.bookingId), 1);
  body.set(hexToBytes(ids.ticketId.replace(/-/g, '')), 33);
  const code = new Uint8Array(CODE_BYTES);
  code.set(body);
  code.set(await tagOf(key, body), body.length);
  return base64url(code);
}

/** What a code names and the key that made it, or null for anything else. */
async function verifiedCode(env: SigningEnv, code: string): Promise<{ claims: TicketClaims; key: string } | null> {
  const keys = ticketKeys(env);
  const bytes = fromBase64url(code);
  // Only the one canonical spelling: otherwise unused low bits of the last character would let
  // an altered text pass as the same code.
  if (!bytes || bytes.length !== CODE_BYTES || bytes[0] !== FORMAT || base64url(bytes) !== code) return null;
  const body = bytes.subarray(0, CODE_BYTES - TAG_BYTES);
  for (const { secret } of keys) {
    if (!constantTimeEqual(bytes.subarray(body.length), await tagOf(secret, body))) continue;
    const bookingId = bytesToHex(body.subarray(1, 33));
    return { claims: { ticketId: uuidOf(body.subarray(33, 49)), eventId: uuidOf(body.subarray(1, 17)), bookingId }, key: secret };
  }
  return null;
}

/** What a code this server made names, or null for anything else (altered, forged, a key not configured). */
export async function readTicketCode(env: SigningEnv, code: string): Promise<TicketClaims | null> {
  return (await verifiedCode(env, code))?.claims ?? null;
}

function rotatingSecretUnder(key: string, ticketId: string): Promise<Uint8Array> {
  return hmac(key, encoder.encode(`rotating:${ticketId}`));
}

/** The per-ticket secret of the rotating part (under the current key); what a door device is provisioned with. */
export async function rotatingSecret(env: SigningEnv, ticketId: string): Promise<Uint8Array> {
  return rotatingSecretUnder(signingKey(env), ticketId);
}

export function rotationStep(now: number): number {
  return Math.floor(now / (ROTATION_STEP_SECONDS * 1000));
}

/** Seconds until the rotating part of `now` is replaced by the next one. */
export function rotationSecondsLeft(now: number): number {
  const stepMs = ROTATION_STEP_SECONDS * 1000;
  return Math.ceil((stepMs - (now % stepMs)) / 1000);
}

/** RFC 6238 TOTP (HMAC-SHA-256, RFC 4226 dynamic truncation) for one time step. */
export async function rotatingPart(secret: Uint8Array, timeStep: number): Promise<string> {
  const counter = new DataView(new ArrayBuffer(8));
  counter.setUint32(0, Math.floor(timeStep / 2 ** 32));
  counter.setUint32(4, timeStep >>> 0);
  const key = await importHmacKey(secret);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, counter.buffer));
  const offset = mac[mac.length - 1]! & 0x0f;
  const value = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(value % 10 ** ROTATING_DIGITS).padStart(ROTATING_DIGITS, '0');
}

export async function rotatingCode(env: SigningEnv, ids: TicketClaims, now: number): Promise<string> {
  const part = await rotatingPart(await rotatingSecret(env, ids.ticketId), rotationStep(now));
  return `${await ticketCode(env, ids)}.${part}`;
}

/**
 * What a scanned text names: a plain code, or a rotating one whose part belongs to the step of
 * `now` or the one before (it was on screen a moment ago). Anything else is null.
 */
export async function readScannedCode(env: SigningEnv, text: string, now: number): Promise<TicketClaims | null> {
  const [code, part, extra] = text.split('.');
  if (code === undefined || extra !== undefined) return null;
  const verified = await verifiedCode(env, code);
  if (!verified || part === undefined) return verified?.claims ?? null;
  const { claims, key } = verified;
  if (!ROTATING_PART.test(part)) return null;
  const secret = await rotatingSecretUnder(key, claims.ticketId);
  const step = rotationStep(now);
  for (const candidate of [step, step - 1]) {
    if (constantTimeEqual(encoder.encode(part), encoder.encode(await rotatingPart(secret, candidate)))) return claims;
  }
  return null;
}
