// The TicketLock's side of the seat-stream relays (src/durable/SeatRelay.ts, where the design is
// described): which relays are subscribed, and the publisher that sends each batch of changes once
// per relay. The TicketLock never holds a watcher: its work per batch is one change-log read and
// one RPC per subscribed relay, whether the relays serve ten people or ten thousand.
import { SEAT_BATCH_MS, type LoggedChange } from '../seat-stream';
import type { PackedStatuses } from './availability';
import type { SeatLog } from './seat-log';

/** One batch as a relay gets it: every change after `from`, up to and including `version`. */
export interface RelayBatch {
  epoch: string;
  from: number;
  version: number;
  changes: LoggedChange[];
}

/** What a relay is sent when it (re)subscribes: what it missed, or everything it needs to serve on its own. */
export type RelaySync =
  | { kind: 'changes'; epoch: string; version: number; changes: LoggedChange[] }
  | {
      kind: 'snapshot';
      epoch: string;
      version: number;
      seatCount: number;
      /** The availability encoding (2 bits a seat, base64). */
      statuses: string;
      /** The ticket at each seat index (null where the event has none), for full-format frames. */
      ticketIds: Array<string | null>;
      /** The latest changes of the log, oldest first, ending at `version` (or none), so the relay can serve resumes. */
      recent: LoggedChange[];
    };

export interface RelayEndpoint {
  publishSeats(subscription: string, batch: RelayBatch): Promise<{ keep: boolean }>;
}

/** A publish still unanswered after this long means the relay stopped answering: it is dropped (its lease puts it back when it is alive). */
const RELAY_STALL_MS = 10_000;
/** Changes a (re)subscribing relay is given for resumes: as many as the TicketLock keeps (seat-log.ts). */
export const RELAY_RECENT_CHANGES = 10_000;

export function createSeatRelaySchema(sql: SqlStorage): void {
  // In SQL so that a TicketLock woken by a hold after an eviction still publishes to the relays
  // whose watchers stayed connected.
  sql.exec(`CREATE TABLE IF NOT EXISTS seat_relays (name TEXT PRIMARY KEY, subscription TEXT NOT NULL, since INTEGER NOT NULL)`);
}

export class SeatRelays {
  /** Publish RPCs started by this instance (tests count them: one per relay per batch). */
  calls = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** What the relays were last sent; null when there is no relay (nobody needs older changes then). */
  private last: { epoch: string; version: number } | null = null;
  private readonly inFlight = new Map<string, number>();
  /** Reused so that calls to one relay arrive in the order they were made (gaps would resync otherwise). */
  private readonly stubs = new Map<string, RelayEndpoint>();

  constructor(
    private readonly sql: SqlStorage,
    private readonly log: SeatLog,
    private readonly relay: (name: string) => RelayEndpoint,
    private readonly batchMs = SEAT_BATCH_MS,
  ) {}

  register(name: string, subscription: string, now: number): void {
    this.sql.exec(`INSERT OR REPLACE INTO seat_relays (name, subscription, since) VALUES (?, ?, ?)`, name, subscription, now);
  }

  /** Only that subscription: a relay that has subscribed again since keeps its row. */
  forget(name: string, subscription: string): void {
    this.sql.exec(`DELETE FROM seat_relays WHERE name = ? AND subscription = ?`, name, subscription);
  }

  /** A change was logged (the log's version is already its version). */
  changed(): void {
    if (this.timer) return;
    if (!this.any()) {
      this.last = null;
      return;
    }
    // The first change since there were relays, or since this instance woke: what came before it
    // went out already, or the relay sees a gap and catches up.
    this.last ??= { epoch: this.log.epoch(), version: this.log.version() - 1 };
    this.timer = setTimeout(() => this.flush(), this.batchMs);
  }

  /** The log started a new epoch: relays learn it from the next batch and take a snapshot. */
  restarted(): void {
    if (!this.any()) return;
    this.last = { epoch: '', version: 0 };
    this.timer ??= setTimeout(() => this.flush(), this.batchMs);
  }

  /** Everything a relay needs to serve snapshots and resumes without this object. */
  snapshot(packed: PackedStatuses): RelaySync {
    const ticketIds: Array<string | null> = new Array(packed.seatCount).fill(null);
    for (const row of this.sql.exec<{ ticket_id: string; seat_index: number }>(`SELECT ticket_id, seat_index FROM tickets WHERE seat_index IS NOT NULL`)) {
      ticketIds[row.seat_index] = row.ticket_id;
    }
    return { kind: 'snapshot', epoch: this.log.epoch(), version: this.log.version(), ...packed, ticketIds, recent: this.log.recent(RELAY_RECENT_CHANGES) };
  }

  private any(): boolean {
    return this.sql.exec(`SELECT 1 FROM seat_relays LIMIT 1`).toArray().length > 0;
  }

  /**
   * One RPC per relay, none awaited: holds go on while batches travel, and a relay that fails is
   * forgotten without anyone waiting on it.
   */
  private flush(): void {
    this.timer = null;
    const relays = this.sql.exec<{ name: string; subscription: string }>(`SELECT name, subscription FROM seat_relays`).toArray();
    const epoch = this.log.epoch();
    const version = this.log.version();
    if (!relays.length) {
      this.last = null;
      return;
    }
    const last = this.last;
    // A new epoch, or changes no longer kept: an empty batch at the current version tells every
    // relay that is not there to catch up by itself.
    const changes = last && last.epoch === epoch ? this.log.changesAfter(last.version) : null;
    const batch: RelayBatch = changes ? { epoch, from: last!.version, version, changes } : { epoch, from: version, version, changes: [] };
    this.last = { epoch, version };
    const now = Date.now();
    for (const { name, subscription } of relays) {
      const since = this.inFlight.get(name);
      if (since !== undefined && now - since > RELAY_STALL_MS) {
        this.inFlight.delete(name);
        this.forget(name, subscription);
        continue;
      }
      let stub = this.stubs.get(name);
      if (!stub) this.stubs.set(name, (stub = this.relay(name)));
      this.calls += 1;
      if (since === undefined) this.inFlight.set(name, now);
      stub.publishSeats(subscription, batch).then(
        (answer) => {
          this.inFlight.delete(name);
          if (!answer.keep) this.forget(name, subscription);
        },
        (error) => {
          this.inFlight.delete(name);
          this.stubs.delete(name);
          this.forget(name, subscription);
          console.warn(`seat relay ${name} dropped: publish failed`, error);
        },
      );
    }
  }
}
