// The waiting room's domain types: what clients are told, what anyone may check of the draw, and
// the rows and socket attachments the room keeps. A leaf module: it imports nothing of the room.

/** What a client is told, over its socket (`type`) or by `POST …/queue/join` and `GET …/queue/status` (`state`). */
export type QueueView =
  | { state: 'off' }
  /** No place in line (status only: it never joins). */
  | { state: 'none' }
  /** The lobby is not open yet. */
  | { state: 'closed'; opensAt: string }
  /** In the lobby before the sale: everyone in it is put in random order at `onSaleAt`. */
  | { state: 'lobby'; onSaleAt: string; seedHash: string }
  | { state: 'waiting'; position: number; ahead: number; etaSeconds: number | null }
  | { state: 'admitted'; token: string; expiresAt: string }
  | { state: 'sold_out' };

export interface Fairness {
  eventId: string;
  lobbyOpensAt: string;
  onSaleAt: string;
  /** SHA-256 (hex) of the seed, published when the lobby opens. */
  seedHash: string | null;
  /** Published when the sale starts; null before. */
  seed: string | null;
  /**
   * The lobby's participants (`participantId` = first 24 hex digits of SHA-256 of `<eventId>:<userId>`)
   * in the order drawn: ascending SHA-256 hex of `<seed>:<participantId>`. Null before the draw.
   */
  draw: string[] | null;
}

export interface Inventory {
  total: number;
  sold: number;
  /** Seats held (unexpired) and not yet sold. */
  held: number;
}

export type EntryState = 'waiting' | 'admitted' | 'finished' | 'left';

export interface EntryRow extends Record<string, SqlStorageValue> {
  user_id: string;
  seq: number | null;
  state: EntryState;
  away_since: number | null;
  token: string | null;
  token_expires_at: number | null;
}

export interface SocketAttachment {
  userId: string;
  /** The last message sent, so an unchanged position is not sent again. */
  last: string | null;
  /** When this socket's current second of `status` requests began, and how many it made in it. */
  askedAt?: number;
  askedCount?: number;
}
