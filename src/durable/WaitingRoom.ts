import { DurableObject } from 'cloudflare:workers';
import type { Bindings } from '../env';
import type { QueueSettings } from '../queue/settings';
import { issueAdmissionToken } from '../queue/admission';
import { drawOrder, hex, sha256hex } from './waiting-room/draw';
import { Line } from './waiting-room/line';
import { admissionCredit, admissionRate, etaSeconds, lobbyOpensAt, recordAdmissions, TICK_MS } from './waiting-room/pacing';
import { RoomSql } from './waiting-room/room-sql';
import { createSchema } from './waiting-room/schema';
import { benchAllowed, insertSimulatedMembers } from './waiting-room/simulate';
import { MAX_SOCKETS_PER_USER, messageOf, Sockets, userOf } from './waiting-room/sockets';
import type { EntryRow, Fairness, Inventory, QueueView } from './waiting-room/types';

export type { Fairness, Inventory, QueueView } from './waiting-room/types';
export { drawKeyOf, participantIdOf } from './waiting-room/draw';

/** A place is kept this long for someone whose sockets all closed (and who does not poll). */
const AWAY_GRACE_MS = 2 * 60 * 1000;

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * One per event (reached with `getByName(eventId)`): the virtual waiting room of a hot on-sale.
 * People who join the lobby before `onSaleAt` are drawn into a random order when the sale starts
 * (from a seed whose hash was published first); later arrivals queue first come, first served.
 * The alarm ticks once a second while anyone waits: it admits people at the organizer's rate, never
 * more than `maxActive` shoppers at once nor more than there are seats free to hold, and tells each socket
 * its new position. Everything lives in SQLite, so the object can hibernate between ticks with its
 * sockets open; the only state in memory is the line's tree of places (waiting-room/line.ts), rebuilt
 * from SQLite when the object wakes.
 *
 * A tick's work is bounded by the sockets, the admissions and what changed, never by the line
 * (invariant 8): positions come from the tree, counts from index ranges over the few rows they count,
 * lapsed places from an index on `away_since`; only a wake reads the whole line, once.
 */
export class WaitingRoom extends DurableObject<Bindings> {
  private readonly db: RoomSql;
  private readonly line = new Line();
  private readonly sockets: Sockets;
  /** The random source of the lobby's seed; tests replace it with a seeded one. */
  random: (bytes: Uint8Array) => Uint8Array = (bytes) => crypto.getRandomValues(bytes);

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    this.db = new RoomSql(ctx.storage.sql);
    this.sockets = new Sockets(ctx);
    ctx.blockConcurrencyWhile(async () => {
      createSchema(ctx.storage.sql);
      // Once per wake, the only reads of the whole line: the tree of places, and anyone counted
      // present whose socket vanished while the object was away (a restart or a deploy drops sockets
      // without a close event reaching it; while it is up, every close arrives).
      this.line.load(this.db.all<{ seq: number }>(`SELECT seq FROM entries WHERE state = 'waiting' AND seq IS NOT NULL ORDER BY seq`).map((r) => r.seq));
      this.noticeLostSockets(Date.now());
    });
    // Clients' keep-alives are answered without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('ping', 'pong'));
  }

  /** Takes the organizer's settings when they are newer than the ones held (PATCH sends them at once). */
  async configure(settings: QueueSettings): Promise<void> {
    this.adopt(settings);
  }

  /**
   * Every join, status and fairness call brings the catalog's copy of the settings along, so the
   * room works for events it was never told about, at no extra call.
   */
  private adopt(settings: QueueSettings | undefined): void {
    if (!settings) return;
    const current = this.settings();
    if (current && current.version >= settings.version) return;
    this.db.setMeta('settings', JSON.stringify(settings));
    const now = Date.now();
    if (!settings.enabled) {
      this.sockets.broadcast({ type: 'off' }, true);
    } else {
      this.openLobbyIfDue(now);
      this.drawIfDue(now);
    }
    this.armAlarm(now);
  }

  /** Joins (or rejoins, keeping the place) and says where the user stands: the HTTP fallback's `POST …/join`. */
  async join(userId: string, settings?: QueueSettings): Promise<QueueView> {
    this.adopt(settings);
    const now = Date.now();
    return this.polled(userId, this.takePlace(userId, now), now);
  }

  /** Where the user stands, never joining (`none` without a place): `GET …/status`, polled. */
  async status(userId: string, settings?: QueueSettings): Promise<QueueView> {
    this.adopt(settings);
    const now = Date.now();
    const view = this.gate(now) ?? (this.holdsPlace(this.entry(userId), now) ? this.viewOf(userId, now) : { state: 'none' as const });
    return this.polled(userId, view, now);
  }

  /** Polling counts as being here: a place is kept for AWAY_GRACE_MS after the last poll. */
  private polled(userId: string, view: QueueView, now: number): QueueView {
    if ((view.state === 'waiting' || view.state === 'lobby') && this.sockets.openOf(userId).length === 0) {
      this.db.run(`UPDATE entries SET away_since = ? WHERE user_id = ?`, now, userId);
    }
    return view;
  }

  /** `GET /api/events/:eventId/queue` upgrades here; the Worker has authenticated the user. */
  override async fetch(request: Request): Promise<Response> {
    const params = new URL(request.url).searchParams;
    const userId = params.get('userId');
    if (request.headers.get('Upgrade')?.toLowerCase() !== 'websocket' || !userId) {
      return new Response('expected a WebSocket upgrade from the Worker', { status: 400 });
    }
    const settings = params.get('settings');
    this.adopt(settings ? (JSON.parse(settings) as QueueSettings) : undefined);
    const { 0: client, 1: server } = new WebSocketPair();
    const older = this.sockets.openOf(userId);
    for (const ws of older.slice(0, Math.max(0, older.length - MAX_SOCKETS_PER_USER + 1))) ws.close(4001, 'replaced by a newer connection of this account');
    this.sockets.accept(server, userId);
    const now = Date.now();
    const view = this.takePlace(userId, now);
    this.db.run(`UPDATE entries SET away_since = NULL WHERE user_id = ?`, userId);
    this.sockets.send(server, messageOf(view), now);
    if (view.state !== 'waiting' && view.state !== 'lobby') server.close(1000, view.state);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    // The only thing a client may ask is where it stands.
    if (message !== 'status') return;
    const now = Date.now();
    if (this.sockets.asksTooOften(ws, now)) {
      ws.close(1008, 'too many status requests');
      return;
    }
    ws.send(JSON.stringify(messageOf(this.viewOf(userOf(ws), now))));
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    // 1005/1006 name the absence of a code and may not be sent back; a close this object began
    // itself (admitted, replaced) needs no answer.
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // already closing
    }
    this.socketGone(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.socketGone(ws);
  }

  /** TicketLock: an admitted shopper's booking was completed or cancelled, so they no longer count as active. */
  async shopperFinished(userId: string, admissionId: string): Promise<void> {
    this.db.run(`UPDATE entries SET state = 'finished' WHERE user_id = ? AND state = 'admitted' AND admission_id = ?`, userId, admissionId);
    this.armAlarm(Date.now());
  }

  /** TicketLock: the last seat was sold. Everyone waiting is told at once. */
  async soldOut(): Promise<void> {
    this.declareSoldOut(false);
    // The sockets are told just after this returns: the sale of the last seat need not wait while
    // thousands of messages go out. (Anyone who reconnects or polls is told by join and status.)
    setTimeout(() => this.sockets.broadcast({ type: 'sold_out' }, true), 0);
  }

  /** What anyone needs to check the lobby's draw: see `Fairness`. */
  async fairness(catalogSettings?: QueueSettings): Promise<Fairness | null> {
    this.adopt(catalogSettings);
    const settings = this.settings();
    if (!settings) return null;
    const now = Date.now();
    this.openLobbyIfDue(now);
    this.drawIfDue(now);
    const drawn = this.db.meta('drawn') === '1';
    return {
      eventId: settings.eventId,
      lobbyOpensAt: iso(lobbyOpensAt(settings)),
      onSaleAt: iso(settings.onSaleAt),
      seedHash: this.db.meta('seed_hash'),
      seed: drawn ? this.db.meta('seed') : null,
      draw: drawn ? this.db.all<{ participant_id: string }>(`SELECT participant_id FROM draw ORDER BY rank`).map((r) => r.participant_id) : null,
    };
  }

  /**
   * The tick: draws the lobby at `onSaleAt`, drops places abandoned for longer than the grace,
   * admits the next people within the rate, `maxActive` and the seats free to hold, and sends positions.
   * Safe to run twice, and beside joins: its one `await` (the inventory) comes before anything is
   * decided, and the second run at the same moment has no admission credit left.
   */
  override async alarm(): Promise<void> {
    this.db.deleteMeta('alarm_at');
    const eventId = this.settings()?.eventId;
    if (!eventId) return;
    const inventory = await this.inventory(eventId);
    // No await from here on: what is decided below, on settings read after the wait, commits as one.
    const settings = this.settings();
    if (!settings?.enabled || this.db.meta('sold_out') === '1') return;
    const now = Date.now();
    if (inventory && inventory.total > 0 && inventory.sold >= inventory.total) {
      this.declareSoldOut(true);
      return;
    }
    this.openLobbyIfDue(now);
    this.drawIfDue(now);
    this.dropLapsedPlaces(now);
    // (An organizer may move onSaleAt later after the draw: nobody is let in before the sale.)
    if (this.db.meta('drawn') === '1' && now >= settings.onSaleAt) this.admit(settings, inventory, now);
    this.sendPositions(settings, now);
    this.armAlarm(now);
  }

  /** Places whose grace ran out go to the people behind: read by the index on away_since, only those. */
  private dropLapsedPlaces(now: number): void {
    const lapsed = this.db.all<{ seq: number | null }>(
      `UPDATE entries INDEXED BY entries_away SET state = 'left' WHERE state = 'waiting' AND away_since <= ? RETURNING seq`,
      now - AWAY_GRACE_MS,
    );
    for (const { seq } of lapsed) if (seq !== null) this.line.remove(seq);
  }

  private admit(settings: QueueSettings, inventory: Inventory | null, now: number): void {
    const lastTick = Number(this.db.meta('last_tick_at') ?? now);
    const saved = Number(this.db.meta('admit_credit') ?? 0);
    let { credit, slots } = admissionCredit(settings, saved, lastTick, now, this.activeShoppers(now), inventory);
    this.db.setMeta('last_tick_at', String(now));
    // Nobody to let in: credit is not saved up beyond one admission for whoever comes next.
    if (this.line.size === 0) credit = Math.min(credit, 1);

    // The head of the line (LIMIT bounds the read by the admissions, and by who is waiting).
    const next = slots > 0
      ? this.db.all<{ user_id: string; seq: number }>(`SELECT user_id, seq FROM entries WHERE state = 'waiting' AND seq IS NOT NULL ORDER BY seq LIMIT ?`, slots)
      : [];
    const expiresAt = now + settings.tokenMinutes * 60_000;
    for (const { user_id, seq } of next) {
      const admissionId = crypto.randomUUID();
      const token = issueAdmissionToken(this.env, { userId: user_id, eventId: settings.eventId, expiresAt, admissionId });
      this.db.run(
        `UPDATE entries SET state = 'admitted', admitted_at = ?, admission_id = ?, token = ?, token_expires_at = ?, away_since = NULL WHERE user_id = ?`,
        now, admissionId, token, expiresAt, user_id,
      );
      this.line.remove(seq);
      for (const ws of this.sockets.openOf(user_id)) {
        this.sockets.send(ws, { type: 'admitted', token, expiresAt: iso(expiresAt) }, now);
        ws.close(1000, 'admitted');
      }
    }
    recordAdmissions(this.db, now, next.length);
    this.db.setMeta('admit_credit', String(credit - next.length));
  }

  /** What everyone is told while there is no line to be in (off, sold out, not open yet); null while there is one. */
  private gate(now: number): QueueView | null {
    const settings = this.settings();
    if (!settings?.enabled) return { state: 'off' };
    if (this.db.meta('sold_out') === '1') return { state: 'sold_out' };
    // Once the line is drawn it stays open, even if the organizer postpones the sale afterwards.
    if (this.db.meta('drawn') !== '1' && now < lobbyOpensAt(settings)) return { state: 'closed', opensAt: iso(lobbyOpensAt(settings)) };
    this.openLobbyIfDue(now);
    this.drawIfDue(now);
    return null;
  }

  private holdsPlace(entry: EntryRow | undefined, now: number): boolean {
    return !!entry && (entry.state === 'waiting' || (entry.state === 'admitted' && entry.token_expires_at! > now));
  }

  /** Where the user stands, joining them if they are not in line. One place per account. */
  private takePlace(userId: string, now: number): QueueView {
    const gate = this.gate(now);
    if (gate) return gate;
    if (!this.holdsPlace(this.entry(userId), now)) {
      // A first visit, or a return after the place was given up, used or let expire: the back of the line.
      // (The row replaced is not waiting, so it has no place in the tree to give back.)
      const seq = this.db.meta('drawn') === '1' ? this.nextSeq() : null;
      this.db.run(`INSERT OR REPLACE INTO entries (user_id, seq, state, away_since) VALUES (?, ?, 'waiting', ?)`, userId, seq, now);
      if (seq !== null) this.line.add(seq);
      this.armAlarm(now);
    }
    return this.viewOf(userId, now);
  }

  private viewOf(userId: string, now: number): QueueView {
    const settings = this.settings();
    if (!settings?.enabled) return { state: 'off' };
    if (this.db.meta('sold_out') === '1') return { state: 'sold_out' };
    const entry = this.entry(userId);
    if (entry?.state === 'admitted' && entry.token_expires_at! > now) {
      return { state: 'admitted', token: entry.token!, expiresAt: iso(entry.token_expires_at!) };
    }
    if (entry?.state === 'waiting' && entry.seq === null) {
      return { state: 'lobby', onSaleAt: iso(settings.onSaleAt), seedHash: this.db.meta('seed_hash') ?? '' };
    }
    if (entry?.state === 'waiting') {
      const ahead = this.line.ahead(entry.seq!);
      return { state: 'waiting', position: ahead + 1, ahead, etaSeconds: etaSeconds(ahead + 1, admissionRate(this.db, settings, now)) };
    }
    return { state: 'closed', opensAt: iso(lobbyOpensAt(settings)) };
  }

  /** The seed is made, and its hash published, when the lobby opens. */
  private openLobbyIfDue(now: number): void {
    const settings = this.settings();
    if (!settings || this.db.meta('seed') !== null || now < lobbyOpensAt(settings)) return;
    const seed = hex(this.random(new Uint8Array(32)));
    this.db.setMeta('seed', seed);
    this.db.setMeta('seed_hash', sha256hex(seed));
  }

  /** At `onSaleAt`, everyone in the lobby is put in the order of their draw keys; later arrivals follow. */
  private drawIfDue(now: number): void {
    const settings = this.settings();
    if (!settings || this.db.meta('drawn') === '1' || now < settings.onSaleAt) return;
    this.openLobbyIfDue(now);
    const lobby = this.db.all<{ user_id: string }>(`SELECT user_id FROM entries WHERE state = 'waiting' AND seq IS NULL`).map((r) => r.user_id);
    drawOrder(settings.eventId, this.db.meta('seed')!, lobby).forEach(({ userId, participantId }, i) => {
      this.db.run(`UPDATE entries SET seq = ? WHERE user_id = ?`, i + 1, userId);
      this.db.run(`INSERT OR REPLACE INTO draw (rank, participant_id) VALUES (?, ?)`, i + 1, participantId);
      this.line.add(i + 1);
    });
    this.db.setMeta('next_seq', String(lobby.length + 1));
    this.db.setMeta('drawn', '1');
    this.db.setMeta('last_tick_at', String(now));
  }

  private declareSoldOut(tellSockets: boolean): void {
    this.db.setMeta('sold_out', '1');
    this.db.run(`UPDATE entries SET state = 'left' WHERE state = 'waiting'`);
    this.line.clear();
    if (tellSockets) this.sockets.broadcast({ type: 'sold_out' }, true);
    this.armAlarm(Date.now());
  }

  /**
   * Sends each waiting socket its position when it changed (or its ETA went stale): one row by
   * primary key and one walk of the tree per socket, whoever else waits without one.
   */
  private sendPositions(settings: QueueSettings, now: number): void {
    let rate: number | undefined;
    for (const [ws, userId] of this.sockets.open()) {
      const entry = this.db.first<{ seq: number | null; state: string }>(`SELECT seq, state FROM entries WHERE user_id = ?`, userId);
      if (entry?.state !== 'waiting' || entry.seq === null) continue;
      rate ??= admissionRate(this.db, settings, now);
      const position = this.line.ahead(entry.seq) + 1;
      this.sockets.send(ws, { type: 'position', position, ahead: position - 1, etaSeconds: etaSeconds(position, rate) }, now);
    }
  }

  /**
   * A socket can vanish without a close event reaching this object (a restart, a deploy): whoever
   * is waiting with no socket open and no away time yet starts their grace period now. Run when
   * the object wakes, reading the people counted present by the index on away_since.
   */
  private noticeLostSockets(now: number): void {
    const connected = new Set<string>();
    for (const [, userId] of this.sockets.open()) connected.add(userId);
    const present = this.db.all<{ user_id: string }>(`SELECT user_id FROM entries INDEXED BY entries_away WHERE state = 'waiting' AND away_since IS NULL`);
    for (const { user_id } of present) {
      if (!connected.has(user_id)) this.db.run(`UPDATE entries SET away_since = ? WHERE user_id = ?`, now, user_id);
    }
  }

  private socketGone(ws: WebSocket): void {
    const userId = userOf(ws);
    if (this.sockets.openOf(userId).some((other) => other !== ws)) return;
    this.db.run(`UPDATE entries SET away_since = ? WHERE user_id = ? AND state = 'waiting'`, Date.now(), userId);
  }

  /** Admitted shoppers whose tokens have not expired: a range of the partial index over admitted rows. */
  private activeShoppers(now: number): number {
    return this.db.first<{ n: number }>(`SELECT count(*) AS n FROM entries INDEXED BY entries_active WHERE state = 'admitted' AND token_expires_at > ?`, now)!.n;
  }

  /** The event's seats and sales, from its TicketLock; the last known figures when it cannot answer. */
  private async inventory(eventId: string): Promise<Inventory | null> {
    try {
      const counts = await this.env.TICKET_LOCK.getByName(eventId).holdCounts(eventId);
      const inventory: Inventory = { total: counts.total, sold: counts.sold, held: counts.held };
      this.db.setMeta('inventory', JSON.stringify(inventory));
      return inventory;
    } catch (error) {
      console.warn(`waiting room ${eventId}: inventory unavailable, using the last known`, error);
      const known = this.db.meta('inventory');
      // (A copy stored before holds were counted has no `held`.)
      return known ? { held: 0, ...(JSON.parse(known) as Partial<Inventory>) } as Inventory : null;
    }
  }

  /** One alarm: the draw at `onSaleAt` while the lobby fills, then a tick a second while anyone waits. */
  private armAlarm(now: number): void {
    const settings = this.settings();
    // Anyone waiting, lobby included: the first row of the line's index answers it.
    const waiting = this.db.first(`SELECT 1 AS one FROM entries WHERE state = 'waiting' LIMIT 1`) !== undefined;
    if (!settings?.enabled || this.db.meta('sold_out') === '1' || !waiting) {
      this.db.deleteMeta('alarm_at');
      void this.ctx.storage.deleteAlarm();
      return;
    }
    const at = this.db.meta('drawn') === '1' ? now + TICK_MS : settings.onSaleAt;
    // Only ever brought forward: a stream of joins must not keep pushing the next tick back.
    const scheduled = Number(this.db.meta('alarm_at') ?? Number.POSITIVE_INFINITY);
    if (scheduled > at || scheduled < now) {
      this.db.setMeta('alarm_at', String(at));
      void this.ctx.storage.setAlarm(at);
    }
  }

  /** Benchmark only (BENCH_ROUTES, bench/queue-tick.ts): `count` simulated people without sockets at the back of the line. */
  async benchFill(count: number): Promise<{ waiting: number }> {
    if (!benchAllowed(this.env)) throw new Error('benchFill is for the benchmark runtime only');
    insertSimulatedMembers(this.db, this.line, count);
    this.armAlarm(Date.now());
    return { waiting: this.line.size };
  }

  /**
   * Benchmark only: runs the tick `count` times in a row, each as if a second had passed since the
   * last (so each admits a second's worth); answers the rows each tick read.
   */
  async benchTicks(count: number): Promise<number[]> {
    if (!benchAllowed(this.env)) throw new Error('benchTicks is for the benchmark runtime only');
    const rows: number[] = [];
    for (let i = 0; i < count; i++) {
      this.db.setMeta('last_tick_at', String(Date.now() - TICK_MS));
      const before = this.db.rowsRead;
      await this.alarm();
      rows.push(this.db.rowsRead - before);
    }
    return rows;
  }

  private nextSeq(): number {
    const seq = Number(this.db.meta('next_seq') ?? 1);
    this.db.setMeta('next_seq', String(seq + 1));
    return seq;
  }

  private entry(userId: string): EntryRow | undefined {
    return this.db.first<EntryRow>(`SELECT * FROM entries WHERE user_id = ?`, userId);
  }

  private settings(): QueueSettings | null {
    const raw = this.db.meta('settings');
    return raw ? (JSON.parse(raw) as QueueSettings) : null;
  }
}
