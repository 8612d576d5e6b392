// Compact HMAC-SHA-256 signed tokens: `<base64url payload>.<base64url signature>`. The purpose
// is signed with the payload, so a token made for one job (a session) never passes for another
// (a queue admission, a ticket code).
//
// Keyed tokens, `<key id>.<base64url payload>.<base64url signature>`, name the key that signed
// them, so keys can rotate: a verifier holds the current key and the previous one and picks by id
// (an unknown id is refused at once). The id is signed with the payload.
import { createHash, createHmac } from 'node:crypto';
import { constantTimeEqual } from '../auth/passwords';

const encoder = new TextEncoder();

export function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromBase64url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  try {
    return Uint8Array.from(atob(padded), (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}

const keys = new Map<string, Promise<CryptoKey>>();
function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    keys.set(secret, key);
  }
  return key;
}

async function signature(secret: string, purpose: string, payload: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign('HMAC', await hmacKey(secret), encoder.encode(`${purpose}.${payload}`)));
}

export async function signToken(secret: string, purpose: string, claims: object): Promise<string> {
  const payload = base64url(encoder.encode(JSON.stringify(claims)));
  return `${payload}.${base64url(await signature(secret, purpose, payload))}`;
}

/**
 * The same token as `signToken`, computed synchronously: a Durable Object issues it in the same
 * step as the write that records it, with no await between them.
 */
export function signTokenNow(secret: string, purpose: string, claims: object): string {
  const payload = base64url(encoder.encode(JSON.stringify(claims)));
  return `${payload}.${base64url(createHmac('sha256', secret).update(`${purpose}.${payload}`).digest())}`;
}

/** The claims of a token this server signed for `purpose` with `secret` or one of `more`, or null for anything else. */
export async function verifyTokenWithAny<T>(secrets: readonly string[], purpose: string, token: string): Promise<T | null> {
  for (const secret of secrets) {
    const claims = await verifyToken<T>(secret, purpose, token);
    if (claims) return claims;
  }
  return null;
}

export interface SigningKey {
  id: string;
  secret: string;
}

/** Names a key without revealing it: 48 bits of SHA-256("key-id." + secret), base64url (8 characters). */
export function keyIdOf(secret: string): string {
  return base64url(createHash('sha256').update(`key-id.${secret}`).digest().subarray(0, 6));
}

/** A token signed with the first key of `keys` (the current one), naming it. */
export async function signKeyedToken(keys: readonly SigningKey[], purpose: string, claims: object): Promise<string> {
  const key = keys[0];
  if (!key) throw new Error('no signing key');
  const signed = `${key.id}.${base64url(encoder.encode(JSON.stringify(claims)))}`;
  return `${signed}.${base64url(await signature(key.secret, purpose, signed))}`;
}

/** The claims of a keyed token signed for `purpose` by one of `keys`, or null for anything else. */
export async function verifyKeyedToken<T>(keys: readonly SigningKey[], purpose: string, token: string): Promise<T | null> {
  if (token.length > 4096) return null;
  const [id, payload, sig, extra] = token.split('.');
  if (!id || !payload || !sig || extra !== undefined) return null;
  const key = keys.find((candidate) => candidate.id === id);
  if (!key) return null;
  const given = fromBase64url(sig);
  if (!given || !constantTimeEqual(given, await signature(key.secret, purpose, `${id}.${payload}`))) return null;
  const bytes = fromBase64url(payload);
  if (!bytes) return null;
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch {
    return null;
  }
}

/** The claims of a token this server signed for `purpose`, or null for anything else. */
export async function verifyToken<T>(secret: string, purpose: string, token: string): Promise<T | null> {
  if (token.length > 4096) return null;
  const [payload, sig, extra] = token.split('.');
  if (!payload || !sig || extra !== undefined) return null;
  const given = fromBase64url(sig);
  if (!given || !constantTimeEqual(given, await signature(secret, purpose, payload))) return null;
  const bytes = fromBase64url(payload);
  if (!bytes) return null;
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch {
    return null;
  }
}
