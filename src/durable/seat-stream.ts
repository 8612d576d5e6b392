// The live seat stream (API.md, "Live seats and the waiting room"): server-sent events fanned out
// by the event's seat relays (src/durable/SeatRelay.ts). The hub reads a SeatLog (a relay's copy of
// the TicketLock's change log, version and epoch); it owns the open streams, their framing, batching
// and keep-alive. Everything here runs synchronously inside the object that holds the hub, so a
// subscription and the version it starts from are always read in the same turn.

export type SeatState = 'available' | 'reserved' | 'booked';

export interface SeatChange {
  id: string;
  status: SeatState;
}

export interface LoggedChange extends SeatChange {
  version: number;
  /** The seat's index in the seat map; null (or absent) when the change was logged before it was known. */
  seatIndex?: number | null;
}

/**
 * `full`: API.md's frames, seats named by ticket id. `compact` (`?format=compact`): the snapshot is the
 * availability encoding and changes are `[seatIndex, status code]` pairs, a few bytes a seat.
 */
export type StreamFormat = 'full' | 'compact';

/** The status codes of the availability encoding (src/durable/ticket-lock/availability.ts). */
const STATUS_CODES: Record<SeatState, number> = { available: 0, reserved: 1, booked: 2 };

/** What the hub needs from the data it serves; every call is synchronous. */
export interface SeatLog {
  /** Random, created with the object's storage: versions of another epoch mean nothing here. */
  epoch(): string;
  /** The version of the latest change (or of the load from Postgres, if nothing changed since). */
  version(): number;
  /** Every change after `version`, oldest first; null when they are not all kept any more. */
  changesAfter(version: number): LoggedChange[] | null;
  /** Every ticket of the event with its status now. */
  snapshot(): SeatChange[];
  /** Every seat's status now, packed as the availability resource packs it (for compact streams). */
  compactSnapshot?(): { seatCount: number; statuses: string };
}

/** A burst of changes (many seats, many concurrent holds) goes out as one frame per watcher. */
export const SEAT_BATCH_MS = 100;
/** API.md promises a line at least every 25 s. */
export const HEARTBEAT_MS = 20_000;
/** A watcher that has not taken this many bytes (beyond its first frame) is closed; it reconnects with Last-Event-ID. */
export const MAX_BACKLOG_BYTES = 1024 * 1024;
/**
 * Streams one hub (one seat relay) serves at once: an event serves this many times its relays;
 * past that, viewers are told to come back shortly (and the event page's 2-second status still
 * works for them).
 */
export const MAX_WATCHERS = 2000;
/** Longest Last-Event-ID taken at all; anything longer is treated as absent. */
export const MAX_LAST_EVENT_ID_LENGTH = 100;

const EVENT_ID = /^([0-9a-f]{12})-(\d{1,15})$/;

export function newEpoch(): string {
  return crypto.randomUUID().replace(/-/g, '').slice(0, 12);
}

export function formatEventId(epoch: string, version: number): string {
  return `${epoch}-${version}`;
}

/** `<epoch>-<version>`, or null for anything else (which earns a fresh snapshot). */
export function parseEventId(raw: string | null | undefined): { epoch: string; version: number } | null {
  if (!raw || raw.length > MAX_LAST_EVENT_ID_LENGTH) return null;
  const match = EVENT_ID.exec(raw.trim());
  if (!match) return null;
  const version = Number(match[2]);
  return Number.isSafeInteger(version) ? { epoch: match[1]!, version } : null;
}

/** The latest status of each seat that changed, by seat index, as `[seatIndex, code]` pairs. */
export function coalesceCompact(changes: Iterable<LoggedChange>): Array<[number, number]> {
  const latest = new Map<number, number>();
  for (const change of changes) {
    if (change.seatIndex === null || change.seatIndex === undefined) continue;
    latest.delete(change.seatIndex);
    latest.set(change.seatIndex, STATUS_CODES[change.status]);
  }
  return [...latest];
}

function changesData(format: StreamFormat, version: number, changes: LoggedChange[]) {
  return { version, changes: format === 'compact' ? coalesceCompact(changes) : coalesce(changes) };
}

/** The latest status of each ticket that changed, in the order of their latest changes. */
export function coalesce(changes: Iterable<LoggedChange>): SeatChange[] {
  const latest = new Map<string, SeatState>();
  for (const change of changes) {
    latest.delete(change.id);
    latest.set(change.id, change.status);
  }
  return [...latest].map(([id, status]) => ({ id, status }));
}

const encoder = new TextEncoder();

function frame(event: 'snapshot' | 'seats', id: string, data: unknown): Uint8Array {
  return encoder.encode(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

const KEEP_ALIVE = encoder.encode(': keep-alive\n\n');

interface Watcher {
  writer: WritableStreamDefaultWriter<ArrayBuffer | ArrayBufferView>;
  epoch: string;
  format: StreamFormat;
  /** The version this watcher has been sent everything up to. */
  seen: number;
  /** Bytes written that the client has not taken yet. */
  backlog: number;
  backlogLimit: number;
}

export class SeatStreamHub {
  private readonly watchers = new Set<Watcher>();
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  /** The last snapshot frame of each format (see snapshotFrame). */
  private readonly snapshots = new Map<StreamFormat, { key: string; bytes: Uint8Array }>();

  constructor(
    private readonly log: SeatLog,
    private readonly timing: { batchMs: number; heartbeatMs: number; maxBacklogBytes: number; maxWatchers?: number } = {
      batchMs: SEAT_BATCH_MS,
      heartbeatMs: HEARTBEAT_MS,
      maxBacklogBytes: MAX_BACKLOG_BYTES,
      maxWatchers: MAX_WATCHERS,
    },
  ) {}

  get size(): number {
    return this.watchers.size;
  }

  /**
   * A new stream: a snapshot, or what a reconnecting client missed since its Last-Event-ID (nothing
   * at all when it missed nothing), then every later change. Null when it serves as many as it may.
   */
  open(lastEventId: string | null, format: StreamFormat = 'full'): ReadableStream<Uint8Array> | null {
    if (this.watchers.size >= (this.timing.maxWatchers ?? MAX_WATCHERS)) return null;
    const epoch = this.log.epoch();
    const version = this.log.version();
    const resume = parseEventId(lastEventId);
    const missed = resume && resume.epoch === epoch ? this.log.changesAfter(resume.version) : null;
    const id = formatEventId(epoch, version);
    let first: Uint8Array | null = null;
    if (missed === null) first = this.snapshotFrame(format, id, version); else if (missed.length) first = frame('seats', id, changesData(format, version, missed));

    // Workers RPC carries byte streams only: an IdentityTransformStream is one.
    const { readable, writable } = new IdentityTransformStream();
    const watcher: Watcher = {
      writer: writable.getWriter(),
      epoch,
      format,
      seen: version,
      backlog: 0,
      backlogLimit: this.timing.maxBacklogBytes + (first?.byteLength ?? 0),
    };
    this.watchers.add(watcher);
    // The client went away (the Worker cancelled the body): forget it at once.
    watcher.writer.closed.catch(() => this.drop(watcher));
    if (first) this.send(watcher, first);
    this.heartbeat ??= setInterval(() => this.beat(), this.timing.heartbeatMs);
    return readable;
  }

  /**
   * The snapshot frame at this version, encoded once and shared: after a new epoch every watcher
   * comes back at once, and at 80,000 seats each full snapshot is megabytes to build.
   */
  private snapshotFrame(format: StreamFormat, id: string, version: number): Uint8Array {
    const key = `${format}:${id}`;
    const cached = this.snapshots.get(format);
    if (cached?.key === key) return cached.bytes;
    const snapshot = format === 'compact' ? { version, ...this.log.compactSnapshot!() } : { version, tickets: this.log.snapshot() };
    const bytes = frame('snapshot', id, snapshot);
    this.snapshots.set(format, { key, bytes });
    return bytes;
  }

  /** A seat changed: one flush a batch period from now carries it and whatever follows. */
  changed(): void {
    if (this.watchers.size && !this.flushTimer) this.flushTimer = setTimeout(() => this.flush(), this.timing.batchMs);
  }

  private flush(): void {
    this.flushTimer = null;
    if (!this.watchers.size) return;
    const epoch = this.log.epoch();
    const version = this.log.version();
    const id = formatEventId(epoch, version);
    const bySeen = new Map<number, Watcher[]>();
    for (const watcher of this.watchers) {
      if (watcher.epoch !== epoch || watcher.seen > version) this.drop(watcher); // storage was lost and reloaded
      else if (watcher.backlog > watcher.backlogLimit) this.drop(watcher); // not reading: let it resume later
      else if (watcher.seen < version) {
        const group = bySeen.get(watcher.seen);
        if (group) group.push(watcher);
        else bySeen.set(watcher.seen, [watcher]);
      }
    }
    if (!bySeen.size) return;
    // Usually one group (everyone was sent the previous flush); one read serves them all.
    const all = this.log.changesAfter(Math.min(...bySeen.keys()));
    for (const [seen, watchers] of bySeen) {
      const changes = all ? all.filter((change) => change.version > seen) : this.log.changesAfter(seen);
      if (!changes) {
        // What it needs was trimmed away: closing makes it come back for a snapshot.
        for (const watcher of watchers) this.drop(watcher);
        continue;
      }
      // One encoding per format, shared by every watcher of the group.
      const bytes = new Map<StreamFormat, Uint8Array>();
      for (const watcher of watchers) {
        let encoded = bytes.get(watcher.format);
        if (!encoded) bytes.set(watcher.format, (encoded = frame('seats', id, changesData(watcher.format, version, changes))));
        watcher.seen = version;
        this.send(watcher, encoded);
      }
    }
  }

  private beat(): void {
    for (const watcher of this.watchers) this.send(watcher, KEEP_ALIVE);
  }

  private send(watcher: Watcher, bytes: Uint8Array): void {
    watcher.backlog += bytes.byteLength;
    watcher.writer.write(bytes).then(
      () => {
        watcher.backlog -= bytes.byteLength;
      },
      () => this.drop(watcher),
    );
  }

  private drop(watcher: Watcher): void {
    if (!this.watchers.delete(watcher)) return;
    watcher.writer.abort('seat stream closed').catch(() => {});
    if (!this.watchers.size) {
      if (this.heartbeat) clearInterval(this.heartbeat);
      if (this.flushTimer) clearTimeout(this.flushTimer);
      this.heartbeat = null;
      this.flushTimer = null;
    }
  }
}
