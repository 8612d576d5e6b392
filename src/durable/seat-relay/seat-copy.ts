// A relay's copy of its event's seat status (src/durable/SeatRelay.ts): what the seat stream hub
// reads in place of the TicketLock's storage. Kept in memory only: a relay's watchers live as long
// as its instance, and a new instance starts from a snapshot.
import { seatCodeAt, setSeatCode, toBase64, SEAT_CODES, type PackedStatuses } from '../ticket-lock/availability';
import type { RelaySync } from '../ticket-lock/seat-relays';
import type { LoggedChange, SeatChange, SeatLog, SeatState } from '../seat-stream';

/** Kept for resumes: as many as the TicketLock keeps, so a resume through a relay gets what it would have got there. */
const CHANGES_KEPT = 10_000;
const STATES: SeatState[] = ['available', 'reserved', 'booked'];

export class SeatCopy implements SeatLog {
  private readonly bytes: Uint8Array;
  private readonly seatCount: number;
  private readonly ticketIds: Array<string | null>;
  private readonly epochValue: string;
  private current: number;
  /** Contiguous versions ending at `current` (or empty): changesAfter indexes into it. */
  private changes: LoggedChange[];
  /** The encoding as it is now, built at most once per version. */
  private encoded: string | null = null;

  constructor(snapshot: Extract<RelaySync, { kind: 'snapshot' }>) {
    this.epochValue = snapshot.epoch;
    this.current = snapshot.version;
    this.seatCount = snapshot.seatCount;
    this.ticketIds = snapshot.ticketIds;
    this.encoded = snapshot.statuses;
    this.bytes = Uint8Array.from(atob(snapshot.statuses), (char) => char.charCodeAt(0));
    const recent = snapshot.recent;
    const contiguous = recent.length > 0 && recent.at(-1)!.version === snapshot.version && recent.every((change, i) => change.version === recent[0]!.version + i);
    this.changes = contiguous ? recent : [];
  }

  epoch(): string {
    return this.epochValue;
  }

  version(): number {
    return this.current;
  }

  changesAfter(version: number): LoggedChange[] | null {
    if (version >= this.current) return version === this.current ? [] : null;
    const first = this.changes[0]?.version;
    if (first === undefined || version + 1 < first) return null;
    return this.changes.slice(version + 1 - first);
  }

  /**
   * Applies the changes after this copy's version, up to `version`. False when they do not follow on
   * from it (a change is missing): the copy is left as it was and the relay must catch up.
   */
  apply(changes: LoggedChange[], version: number): boolean {
    const fresh = changes.filter((change) => change.version > this.current);
    if (fresh.some((change, i) => change.version !== this.current + 1 + i)) return false;
    if ((fresh.at(-1)?.version ?? this.current) !== version) return false;
    for (const change of fresh) {
      if (change.seatIndex !== null && change.seatIndex !== undefined && change.seatIndex < this.seatCount) {
        setSeatCode(this.bytes, change.seatIndex, SEAT_CODES[change.status]);
      }
      this.changes.push(change);
    }
    if (fresh.length) this.encoded = null;
    this.current = version;
    // Trimmed in chunks, not one change at a time.
    if (this.changes.length > 2 * CHANGES_KEPT) this.changes = this.changes.slice(-CHANGES_KEPT);
    return true;
  }

  /** By seat index. O(seats) per new full-format watcher, as the TicketLock's snapshot was. */
  snapshot(): SeatChange[] {
    const tickets: SeatChange[] = [];
    for (let i = 0; i < this.seatCount; i += 1) {
      const id = this.ticketIds[i];
      if (id) tickets.push({ id, status: STATES[seatCodeAt(this.bytes, i)] ?? 'available' });
    }
    return tickets;
  }

  compactSnapshot(): PackedStatuses {
    this.encoded ??= toBase64(this.bytes);
    return { seatCount: this.seatCount, statuses: this.encoded };
  }
}
