import type { EventJson } from '../db/catalog';

/** An event's waiting-room settings, as the organizer set them (API.md, organizer section). */
export interface QueueSettings {
  eventId: string;
  enabled: boolean;
  admitPerMinute: number;
  maxActive: number;
  /** Lifetime of an admission token. */
  tokenMinutes: number;
  /** How long before `onSaleAt` the lobby opens. */
  lobbyMinutes: number;
  /** ms since the epoch */
  onSaleAt: number;
  /** The catalog version they come from (the event's `updated_at`): an older copy never overwrites a newer one. */
  version: number;
}

export function queueSettingsOf(event: EventJson, version: number): QueueSettings {
  return {
    eventId: event.id,
    enabled: event.queue.enabled,
    admitPerMinute: event.queue.admitPerMinute,
    maxActive: event.queue.maxActive,
    tokenMinutes: event.queue.tokenMinutes,
    lobbyMinutes: event.queue.lobbyMinutes,
    onSaleAt: Date.parse(event.onSaleAt),
    version,
  };
}
