// The Worker's signing keys, current and previous. Rotating one (README, Deploying): the new key
// becomes SESSION_SECRET (or TICKET_SIGNING_KEY) and the old one moves to SESSION_SECRET_PREVIOUS
// (TICKET_SIGNING_KEY_PREVIOUS), where it still verifies what it signed until it is removed:
// after a session's 7 days, and for ticket codes after every event sold under it is over.
import type { Bindings } from '../env';
import { keyIdOf, type SigningKey } from '../lib/signing';

const MIN_KEY_LENGTH = 32;

function checked(name: string, value: string | undefined, required: boolean): string | null {
  if (value === undefined || value === '') {
    if (required) throw new Error(`${name} must be set to at least ${MIN_KEY_LENGTH} characters`);
    return null;
  }
  if (value.length < MIN_KEY_LENGTH) throw new Error(`${name} must be at least ${MIN_KEY_LENGTH} characters`);
  return value;
}

const keyrings = new Map<string, SigningKey[]>();

function keyring(current: string, previous: string | null): SigningKey[] {
  const cacheKey = `${current}\n${previous ?? ''}`;
  let keys = keyrings.get(cacheKey);
  if (!keys) {
    keys = [current, ...(previous && previous !== current ? [previous] : [])].map((secret) => ({ id: keyIdOf(secret), secret }));
    keyrings.set(cacheKey, keys);
  }
  return keys;
}

export type SessionKeyEnv = Pick<Bindings, 'SESSION_SECRET' | 'SESSION_SECRET_PREVIOUS'>;
export type TicketKeyEnv = Pick<Bindings, 'TICKET_SIGNING_KEY' | 'TICKET_SIGNING_KEY_PREVIOUS'>;

/** Session and socket-ticket keys, the current first. */
export function sessionKeys(env: SessionKeyEnv): SigningKey[] {
  return keyring(checked('SESSION_SECRET', env.SESSION_SECRET, true)!, checked('SESSION_SECRET_PREVIOUS', env.SESSION_SECRET_PREVIOUS, false));
}

/** Ticket-code keys, the current first. */
export function ticketKeys(env: TicketKeyEnv): SigningKey[] {
  return keyring(checked('TICKET_SIGNING_KEY', env.TICKET_SIGNING_KEY, true)!, checked('TICKET_SIGNING_KEY_PREVIOUS', env.TICKET_SIGNING_KEY_PREVIOUS, false));
}
