// The event's seat statuses packed 2 bits a seat (API.md, GET /api/events/:eventId/availability):
// seat index i is bits 2*(i%4)…2*(i%4)+1 of byte floor(i/4), low bits first. The TicketLock keeps
// this array in memory: built from SQLite once per wake, then changed one seat at a time by the
// seat log, so serving it never reads the venue's tickets again.
import type { SeatState } from '../seat-stream';

export const SEAT_CODES = { available: 0, reserved: 1, booked: 2 } as const satisfies Record<SeatState, number>;
/** A seat index the event has no ticket for. */
export const NOT_FOR_SALE = 3;
export type SeatCode = 0 | 1 | 2 | 3;

export function setSeatCode(bytes: Uint8Array, seatIndex: number, code: SeatCode): void {
  const shift = 2 * (seatIndex % 4);
  const at = seatIndex >> 2;
  bytes[at] = (bytes[at]! & ~(3 << shift)) | (code << shift);
}

export function seatCodeAt(bytes: Uint8Array, seatIndex: number): SeatCode {
  return ((bytes[seatIndex >> 2]! >> (2 * (seatIndex % 4))) & 3) as SeatCode;
}

/** Standard, padded base64 (what API.md names). btoa takes a binary string: built in chunks, as a spread of 20 000 arguments may overflow the stack. */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let at = 0; at < bytes.length; at += 8192) binary += String.fromCharCode(...bytes.subarray(at, at + 8192));
  return btoa(binary);
}

/** What a client does with `statuses`: one code per seat index. */
export function decodeStatuses(base64: string, seatCount: number): SeatCode[] {
  const binary = atob(base64);
  const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
  return Array.from({ length: seatCount }, (_, i) => seatCodeAt(bytes, i));
}

export interface PackedStatuses {
  seatCount: number;
  /** Base64 of the packed array. */
  statuses: string;
}

/** What is derived from the array (best available's free counts) and kept current with it. */
export interface AvailabilityWatcher {
  /** One seat of the built array changed code. */
  seatChanged(seatIndex: number, before: SeatCode, after: SeatCode): void;
  /** The array was dropped or built anew: what was derived from it must be derived again. */
  invalidated(): void;
}

export class AvailabilityMap {
  /** Null until first asked for after a wake (or after the tickets were relearnt). */
  private bytes: Uint8Array | null = null;
  private seatCount = 0;
  /** The encoding of the array as it is now; dropped by every change. */
  private encoded: string | null = null;

  constructor(
    private readonly sql: SqlStorage,
    private readonly watcher?: AvailabilityWatcher,
  ) {}

  /** A seat changed status. Before the array is built there is nothing to keep current: the build reads SQLite, which has the change. */
  set(seatIndex: number | null, status: SeatState): void {
    if (!this.bytes || seatIndex === null || seatIndex >= this.seatCount) return;
    const before = seatCodeAt(this.bytes, seatIndex);
    const after = SEAT_CODES[status];
    if (before === after) return;
    setSeatCode(this.bytes, seatIndex, after);
    this.encoded = null;
    this.watcher?.seatChanged(seatIndex, before, after);
  }

  /** The tickets' seat indexes were (re)learnt: the next read builds again. */
  reset(): void {
    this.bytes = null;
    this.encoded = null;
    this.watcher?.invalidated();
  }

  /** The packed array itself, built if need be (read only: changes go through set). Holds count as in read. */
  codes(now: number): Uint8Array {
    if (!this.bytes) this.build(now);
    return this.bytes!;
  }

  /**
   * The statuses now. Holds count as the seat log's snapshot counts them: reserved while unexpired
   * (the caller ends the holds that are due first, as the alarm would, so the array agrees).
   */
  read(now: number): PackedStatuses {
    if (!this.bytes) this.build(now);
    this.encoded ??= toBase64(this.bytes!);
    return { seatCount: this.seatCount, statuses: this.encoded };
  }

  private build(now: number): void {
    this.seatCount = this.sql.exec<{ n: number | null }>(`SELECT max(seat_index) + 1 AS n FROM tickets`).one().n ?? 0;
    const bytes = new Uint8Array(Math.ceil(this.seatCount / 4)).fill(0xff); // every seat NOT_FOR_SALE until a ticket says otherwise
    const rows = this.sql.exec<{ seat_index: number; sold: number; held: number }>(
      `SELECT t.seat_index, t.sold_to_booking IS NOT NULL AS sold,
              EXISTS (SELECT 1 FROM holds h WHERE h.ticket_id = t.ticket_id AND h.expires_at > ?) AS held
       FROM tickets t WHERE t.seat_index IS NOT NULL`,
      now,
    );
    for (const row of rows) setSeatCode(bytes, row.seat_index, row.sold ? SEAT_CODES.booked : row.held ? SEAT_CODES.reserved : SEAT_CODES.available);
    this.bytes = bytes;
    this.encoded = null;
    this.watcher?.invalidated();
  }
}
