// Seat-stream relays: how one event serves tens of thousands of live seat maps while its TicketLock,
// the object every booking of the event goes through, does per batch the same work for ten watchers
// as for ten thousand.
//
// Design
// - Each event has RELAYS_PER_EVENT relays, Durable Objects named `<canonical event id>:relay:<k>`.
//   The route picks one at random and opens the stream there; a relay that is full (RELAY_MAX_WATCHERS)
//   answers null and the route tries the next, so the event serves RELAYS_PER_EVENT × RELAY_MAX_WATCHERS
//   watchers before API.md's 503.
// - A relay keeps its own copy of what streams need (seat-relay/seat-copy.ts: epoch, version, the
//   2-bit statuses, ticket ids by seat index, the last 10,000 changes) and serves snapshots and
//   resumes from it, through the same SeatStreamHub the TicketLock used to run (the hub reads any
//   SeatLog). Nothing is durable: watchers live as long as the instance; a new one starts from a snapshot.
// - On its first watcher a relay subscribes: TicketLock.syncSeatRelay records it in SQL
//   (ticket-lock/seat-relays.ts) and returns a snapshot in the same turn, so no batch falls between.
//   Every later stream open syncs too ("what changed since my version", shared by the openers of
//   the moment), so a new stream starts from the TicketLock's present, never from a copy a batch
//   behind what its client already saw.
// - The TicketLock publishes each 100 ms batch (every change after what it last sent) with one RPC per
//   subscribed relay, from a timer, never awaited by a hold. A relay answers whether to keep it; a
//   relay that fails, stalls, or has had no watcher for RELAY_IDLE_MS is dropped from the table.
// - Each batch says which version it follows. A relay whose version is not that one (it missed a
//   batch, batches crossed, the TicketLock restarted) asks syncSeatRelay for what it missed since its
//   version (a snapshot if the log no longer has it or the epoch changed) before applying more;
//   batches that arrive meanwhile wait and are applied after. The relay flushes at once: the batch
//   window was already spent in the TicketLock.
// - Every RELAY_LEASE_MS a relay with watchers syncs again (usually an empty answer). That puts its
//   subscription back if the TicketLock dropped it or lost its storage, and notices a new epoch.
//
// Sizing (bench/seat-stream.ts, bench/RESULTS.md): a frame costs the runtime about 46 µs of native
// work per watcher (stream writes, pipes, sockets; the relay's own JS is under 1 %), so a relay's
// fan-out takes watchers × 46 µs on its thread. Hold → watcher is then the 100 ms batch window, the
// push (~10 ms) and the fan-out: within 250 ms for up to ~3,000 watchers a relay. At 10,000 an
// event's 8 relays serve 1,250 each (measured alone on one thread: p99 164 ms); all 10,000 on this
// machine's one workerd thread take ~700 ms. RELAY_MAX_WATCHERS (2,000) keeps each relay well inside
// that budget; an event takes 16,000 watchers, and a bigger crowd needs RELAYS_PER_EVENT raised.
import { DurableObject } from 'cloudflare:workers';
import type { Bindings } from '../env';
import { assertRelaysEvent, RELAYS_PER_EVENT, seatRelayName } from './object-name';
import { SeatStreamHub, HEARTBEAT_MS, MAX_BACKLOG_BYTES, MAX_WATCHERS, parseEventId, type StreamFormat } from './seat-stream';
import { SeatCopy } from './seat-relay/seat-copy';
import type { RelayBatch, RelayEndpoint } from './ticket-lock/seat-relays';

/** One relay's share: what one TicketLock served alone before relays. */
export const RELAY_MAX_WATCHERS = MAX_WATCHERS;
/**
 * How long a relay the TicketLock dropped (a failed or stalled publish, lost storage) can go
 * without hearing of changes. A renewal is an empty answer when nothing was missed, so a short
 * lease costs the TicketLock little: one small RPC per relay every few seconds.
 */
const RELAY_LEASE_MS = 5_000;
const RELAY_IDLE_MS = 60_000;

export class SeatRelay extends DurableObject<Bindings> implements RelayEndpoint {
  private copy: SeatCopy | null = null;
  private subscription: string | null = null;
  private eventId: string | null = null;
  private syncing: Promise<void> | null = null;
  /** Batches that came while a sync was under way, applied after it. */
  private pending: RelayBatch[] = [];
  /** Streams being opened (waiting for their sync): they count against the cap. */
  private opening = 0;
  private lastWatched = 0;
  private lease: ReturnType<typeof setInterval> | null = null;
  /** Moves on at each unsubscribe: a sync that began before one does not bring the copy back. */
  private generation = 0;
  /** Syncs with the TicketLock so far (tests read it). */
  syncs = 0;
  private readonly hub: SeatStreamHub;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    const copy = () => {
      if (!this.copy) throw new Error('seat relay has no copy');
      return this.copy;
    };
    this.hub = new SeatStreamHub(
      {
        epoch: () => copy().epoch(),
        version: () => copy().version(),
        changesAfter: (version) => copy().changesAfter(version),
        snapshot: () => copy().snapshot(),
        compactSnapshot: () => copy().compactSnapshot(),
      },
      { batchMs: 0, heartbeatMs: HEARTBEAT_MS, maxBacklogBytes: MAX_BACKLOG_BYTES, maxWatchers: RELAY_MAX_WATCHERS },
    );
  }

  /** A stream (as TicketLock's used to be), or null when this relay serves as many as it may. */
  async openSeatStream(eventId: string, lastEventId: string | null, format: StreamFormat = 'full'): Promise<ReadableStream<Uint8Array> | null> {
    assertRelaysEvent(this.ctx, eventId, RELAYS_PER_EVENT, 'SeatRelay');
    if (this.hub.size + this.opening >= RELAY_MAX_WATCHERS) return null;
    this.eventId = eventId;
    this.lastWatched = Date.now();
    // Every stream starts from the TicketLock's state as of now, as when it served streams itself:
    // a buyer who opens the map after a hold sees it, and a client that saw a later version
    // through another relay is never sent back in time. Openers share the sync in flight, so a
    // crowd of them costs the TicketLock one small answer ("what changed since") at a time per relay.
    this.opening += 1;
    try {
      await this.sync();
      // The sync it shared may have been asked before what this client saw elsewhere: one more.
      const resume = parseEventId(lastEventId);
      if (resume && this.copy && resume.epoch === this.copy.epoch() && resume.version > this.copy.version()) await this.sync();
    } finally {
      this.opening -= 1;
    }
    return this.hub.open(lastEventId, format);
  }

  /** One batch from the TicketLock. `keep: false` asks it to stop sending (idle, or not this subscription). */
  async publishSeats(subscription: string, batch: RelayBatch): Promise<{ keep: boolean }> {
    if (subscription !== this.subscription || (!this.copy && !this.syncing)) return { keep: false };
    if (this.hub.size) this.lastWatched = Date.now();
    else if (this.idle()) {
      this.unsubscribe();
      return { keep: false };
    }
    this.receive(batch);
    return { keep: true };
  }

  get watchers(): number {
    return this.hub.size;
  }

  private receive(batch: RelayBatch): void {
    const copy = this.copy;
    if (this.syncing || !copy) {
      this.pending.push(batch);
      return;
    }
    if (batch.version <= copy.version() && batch.epoch === copy.epoch()) return; // already had it (crossed with a sync)
    if (batch.epoch !== copy.epoch() || batch.from > copy.version() || !copy.apply(batch.changes, batch.version)) {
      this.pending.push(batch);
      this.sync().catch((error) => console.warn(`seat relay ${this.ctx.id.name} could not catch up; the next batch or lease tries again`, error));
      return;
    }
    this.hub.changed();
  }

  /** Subscribes (again), and takes what this copy is missing, or a snapshot. One at a time. */
  private sync(): Promise<void> {
    this.syncing ??= (async () => {
      const eventId = this.eventId ?? this.ctx.id.name?.replace(/:relay:\d+$/, '');
      if (!eventId || !this.ctx.id.name) throw new Error('a seat relay is reached by its name');
      this.subscription ??= crypto.randomUUID();
      const generation = this.generation;
      const since = this.copy && { epoch: this.copy.epoch(), version: this.copy.version() };
      const answer = await this.env.TICKET_LOCK.getByName(eventId).syncSeatRelay(eventId, this.ctx.id.name, this.subscription, since);
      this.syncs += 1;
      // Unsubscribed while it waited (idle): the TicketLock forgets this subscription, so a copy
      // kept now would never hear of another change. The next watcher syncs afresh.
      if (generation !== this.generation) return;
      if (answer.kind === 'snapshot') this.copy = new SeatCopy(answer);
      else if (!this.copy?.apply(answer.changes, answer.version)) throw new Error('seat relay sync answered changes that do not follow on');
      this.lease ??= setInterval(() => this.renew(), RELAY_LEASE_MS);
      // Watchers of another epoch are closed by the hub's next flush and come back for a snapshot.
      this.hub.changed();
    })().then(
      () => this.replay(true),
      (error) => {
        this.replay(false);
        throw error;
      },
    );
    return this.syncing;
  }

  private replay(synced: boolean): void {
    this.syncing = null;
    const batches = this.pending;
    this.pending = [];
    if (!synced || !this.copy) return;
    // The copy is now the TicketLock's current epoch: a batch of another one is stale (or crossed
    // with a restart the next batch reveals). Replaying it would only ask for the same sync again,
    // for ever, with every later batch queued behind it.
    const epoch = this.copy.epoch();
    for (const batch of batches) if (batch.epoch === epoch) this.receive(batch);
  }

  private renew(): void {
    if (this.idle()) {
      const { eventId, subscription } = this;
      this.unsubscribe();
      if (eventId && subscription) {
        this.env.TICKET_LOCK.getByName(eventId)
          .forgetSeatRelay(eventId, this.ctx.id.name!, subscription)
          .catch(() => {}); // it also forgets a relay that answers keep: false
      }
      return;
    }
    this.sync().catch((error) => console.warn(`seat relay ${this.ctx.id.name} lease renewal failed`, error));
  }

  private idle(): boolean {
    return this.hub.size === 0 && this.opening === 0 && Date.now() - this.lastWatched > RELAY_IDLE_MS;
  }

  private unsubscribe(): void {
    this.generation += 1;
    this.copy = null;
    this.subscription = null;
    if (this.lease) clearInterval(this.lease);
    this.lease = null;
  }
}

export { RELAYS_PER_EVENT, seatRelayName };
