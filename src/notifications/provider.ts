// Where notifications go: one interface, chosen in configuration (NOTIFICATION_PROVIDER).
import type { Bindings } from '../env';

export interface OutgoingMessage {
  to: string;
  subject: string;
  body: string;
}

export interface NotificationProvider {
  readonly name: string;
  /** Resolves once the provider has taken the message; throws when it has not (it is tried again later). */
  send(message: OutgoingMessage): Promise<void>;
}

/**
 * The default: nothing leaves the machine. The outbox row is the message, and an admin reads it at
 * GET /api/dev/outbox; sending only marks it sent.
 */
export const outboxOnlyProvider: NotificationProvider = {
  name: 'outbox',
  async send() {},
};

/**
 * An HTTP e-mail API that takes `{ from, to: [address], subject, text }` as JSON with a Bearer key
 * (Resend's POST /emails, and services that copy it). NOTIFICATION_HTTP_URL, NOTIFICATION_HTTP_KEY
 * and NOTIFICATION_FROM configure it; anything but a 2xx is a failure to retry.
 */
export function httpEmailProvider(options: { url: string; apiKey: string; from: string; fetch?: typeof fetch }): NotificationProvider {
  const send = options.fetch ?? fetch;
  return {
    name: 'http',
    async send(message) {
      const response = await send(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${options.apiKey}` },
        body: JSON.stringify({ from: options.from, to: [message.to], subject: message.subject, text: message.body }),
        signal: AbortSignal.timeout(10_000),
      });
      if (!response.ok) throw new Error(`the e-mail API answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
    },
  };
}

export function notificationProviderFor(env: Bindings): NotificationProvider {
  const chosen = env.NOTIFICATION_PROVIDER ?? 'outbox';
  if (chosen === 'outbox') return outboxOnlyProvider;
  if (chosen === 'http') {
    const missing = (['NOTIFICATION_HTTP_URL', 'NOTIFICATION_HTTP_KEY', 'NOTIFICATION_FROM'] as const).filter((name) => !env[name]);
    if (missing.length) throw new Error(`NOTIFICATION_PROVIDER=http needs ${missing.join(', ')}`);
    return httpEmailProvider({ url: env.NOTIFICATION_HTTP_URL!, apiKey: env.NOTIFICATION_HTTP_KEY!, from: env.NOTIFICATION_FROM! });
  }
  throw new Error(`NOTIFICATION_PROVIDER must be "outbox" or "http", got "${chosen}"`);
}
