import { DurableObject } from 'cloudflare:workers';
import { createHash } from 'node:crypto';
import type { Bindings } from '../env';
import type { QueueSettings } from '../queue/settings';
import { issueAdmissionToken } from '../queue/admission';

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

interface EntryRow extends Record<string, SqlStorageValue> {
  user_id: string;
  seq: number | null;
  state: 'waiting' | 'admitted' | 'finished' | 'left';
  away_since: number | null;
  token: string | null;
  token_expires_at: number | null;
}

interface SocketAttachment {
  userId: string;
  /** The last message sent, so an unchanged position is not sent again. */
  last: string | null;
  /** When this socket last asked for its status (asking is limited to once a second). */
  askedAt?: number;
}

/** Admission ticks while anyone waits: positions go out at most this often. */
const TICK_MS = 1000;
/** A place is kept this long for someone whose sockets all closed (and who does not poll). */
const AWAY_GRACE_MS = 2 * 60 * 1000;
/** Admissions are measured over this window for the ETA. */
const RATE_WINDOW_MS = 60 * 1000;
/** Even with a positive position, an ETA is sent again at least this often. */
const ETA_REFRESH_MS = 10 * 1000;
/** Sockets one account may keep open here (tabs, devices); opening another closes the oldest. */
const MAX_SOCKETS_PER_USER = 3;

const sha256hex = (text: string) => createHash('sha256').update(text).digest('hex');

export const participantIdOf = (eventId: string, userId: string) => sha256hex(`${eventId}:${userId}`).slice(0, 24);
export const drawKeyOf = (seed: string, participantId: string) => sha256hex(`${seed}:${participantId}`);

const iso = (ms: number) => new Date(ms).toISOString();
const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/**
 * One per event (reached with `getByName(eventId)`): the virtual waiting room of a hot on-sale.
 * People who join the lobby before `onSaleAt` are drawn into a random order when the sale starts
 * (from a seed whose hash was published first); later arrivals queue first come, first served.
 * The alarm ticks once a second while anyone waits: it admits people at the organizer's rate, never
 * more than `maxActive` shoppers at once nor more than there are seats free to hold, and tells each socket
 * its new position. Everything lives in SQLite, so the object can hibernate between ticks with its
 * sockets open.
 */
export class WaitingRoom extends DurableObject<Bindings> {
  private readonly sql: SqlStorage;
  /** The random source of the lobby's seed; tests replace it with a seeded one. */
  random: (bytes: Uint8Array) => Uint8Array = (bytes) => crypto.getRandomValues(bytes);

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    ctx.blockConcurrencyWhile(async () => {
      this.sql.exec(`
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS entries (
          user_id TEXT PRIMARY KEY,
          -- The place in line; NULL for the lobby until the draw.
          seq INTEGER,
          state TEXT NOT NULL CHECK (state IN ('waiting', 'admitted', 'finished', 'left')),
          -- No open socket since then; the place is dropped after AWAY_GRACE_MS.
          away_since INTEGER,
          admitted_at INTEGER,
          admission_id TEXT,
          token TEXT,
          token_expires_at INTEGER
        );
        CREATE INDEX IF NOT EXISTS entries_line ON entries(state, seq);
        CREATE INDEX IF NOT EXISTS entries_admitted ON entries(admitted_at);
        CREATE TABLE IF NOT EXISTS draw (rank INTEGER PRIMARY KEY, participant_id TEXT NOT NULL);
      `);
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
    this.setMeta('settings', JSON.stringify(settings));
    const now = Date.now();
    if (!settings.enabled) {
      this.broadcast({ type: 'off' }, true);
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
    if ((view.state === 'waiting' || view.state === 'lobby') && this.openSocketsOf(userId).length === 0) {
      this.sql.exec(`UPDATE entries SET away_since = ? WHERE user_id = ?`, now, userId);
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
    const older = this.openSocketsOf(userId);
    for (const ws of older.slice(0, Math.max(0, older.length - MAX_SOCKETS_PER_USER + 1))) ws.close(4001, 'replaced by a newer connection of this account');
    this.ctx.acceptWebSocket(server, [userId]);
    const attachment: SocketAttachment = { userId, last: null };
    server.serializeAttachment(attachment);
    const now = Date.now();
    const view = this.takePlace(userId, now);
    this.sql.exec(`UPDATE entries SET away_since = NULL WHERE user_id = ?`, userId);
    this.send(server, this.messageOf(view), now);
    if (view.state !== 'waiting' && view.state !== 'lobby') server.close(1000, view.state);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    // The only thing a client may ask is where it stands.
    if (message !== 'status') return;
    const attachment = ws.deserializeAttachment() as SocketAttachment;
    const now = Date.now();
    if (attachment.askedAt !== undefined && now - attachment.askedAt < TICK_MS) return;
    ws.serializeAttachment({ ...attachment, askedAt: now } satisfies SocketAttachment);
    ws.send(JSON.stringify(this.messageOf(this.viewOf(attachment.userId, now))));
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
    this.sql.exec(`UPDATE entries SET state = 'finished' WHERE user_id = ? AND state = 'admitted' AND admission_id = ?`, userId, admissionId);
    this.armAlarm(Date.now());
  }

  /** TicketLock: the last seat was sold. Everyone waiting is told at once. */
  async soldOut(): Promise<void> {
    this.declareSoldOut(false);
    // The sockets are told just after this returns: the sale of the last seat need not wait while
    // thousands of messages go out. (Anyone who reconnects or polls is told by join and status.)
    setTimeout(() => this.broadcast({ type: 'sold_out' }, true), 0);
  }

  /** What anyone needs to check the lobby's draw: see `Fairness`. */
  async fairness(catalogSettings?: QueueSettings): Promise<Fairness | null> {
    this.adopt(catalogSettings);
    const settings = this.settings();
    if (!settings) return null;
    const now = Date.now();
    this.openLobbyIfDue(now);
    this.drawIfDue(now);
    const drawn = this.meta('drawn') === '1';
    return {
      eventId: settings.eventId,
      lobbyOpensAt: iso(lobbyOpensAt(settings)),
      onSaleAt: iso(settings.onSaleAt),
      seedHash: this.meta('seed_hash'),
      seed: drawn ? this.meta('seed') : null,
      draw: drawn ? this.sql.exec<{ participant_id: string }>(`SELECT participant_id FROM draw ORDER BY rank`).toArray().map((r) => r.participant_id) : null,
    };
  }

  /**
   * The tick: draws the lobby at `onSaleAt`, drops places abandoned for longer than the grace,
   * admits the next people within the rate, `maxActive` and the seats free to hold, and sends positions.
   * Safe to run twice: the second run at the same moment has no admission credit left.
   */
  override async alarm(): Promise<void> {
    this.sql.exec(`DELETE FROM meta WHERE key = 'alarm_at'`);
    const eventId = this.settings()?.eventId;
    if (!eventId) return;
    const inventory = await this.inventory(eventId);
    // No await from here on: what is decided below, on settings read after the wait, commits as one.
    const settings = this.settings();
    if (!settings?.enabled || this.meta('sold_out') === '1') return;
    const now = Date.now();
    if (inventory && inventory.total > 0 && inventory.sold >= inventory.total) {
      this.declareSoldOut(true);
      return;
    }
    this.openLobbyIfDue(now);
    this.drawIfDue(now);
    this.noticeLostSockets(now);
    this.sql.exec(`UPDATE entries SET state = 'left' WHERE state = 'waiting' AND away_since IS NOT NULL AND away_since <= ?`, now - AWAY_GRACE_MS);
    // (An organizer may move onSaleAt later after the draw: nobody is let in before the sale.)
    if (this.meta('drawn') === '1' && now >= settings.onSaleAt) this.admit(settings, inventory, now);
    this.sendPositions(now);
    this.armAlarm(now);
  }

  private admit(settings: QueueSettings, inventory: Inventory | null, now: number): void {
    const lastTick = Number(this.meta('last_tick_at') ?? now);
    const perMs = settings.admitPerMinute / 60_000;
    // Credit accrues with time at the configured rate; at most ten seconds' worth is saved up.
    const cap = Math.max(1, settings.admitPerMinute / 6);
    let credit = Math.min(cap, Number(this.meta('admit_credit') ?? 0) + Math.max(0, now - lastTick) * perMs);
    this.setMeta('last_tick_at', String(now));

    const waiting = this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM entries WHERE state = 'waiting' AND seq IS NOT NULL`).one().n;
    const active = this.activeShoppers(now);
    // A held seat is no more for sale than a sold one: never more shoppers than seats free to hold.
    // Not knowing the inventory yet (its TicketLock could not load), nobody could book anyway.
    const free = inventory ? inventory.total - inventory.sold - inventory.held : 0;
    const slots = Math.max(0, Math.min(Math.floor(credit), settings.maxActive - active, free - active, waiting));
    if (waiting === 0) credit = Math.min(credit, 1);

    const next = this.sql
      .exec<{ user_id: string }>(`SELECT user_id FROM entries WHERE state = 'waiting' AND seq IS NOT NULL ORDER BY seq LIMIT ?`, slots)
      .toArray();
    const expiresAt = now + settings.tokenMinutes * 60_000;
    for (const { user_id } of next) {
      const admissionId = crypto.randomUUID();
      const token = issueAdmissionToken(this.env, { userId: user_id, eventId: settings.eventId, expiresAt, admissionId });
      this.sql.exec(
        `UPDATE entries SET state = 'admitted', admitted_at = ?, admission_id = ?, token = ?, token_expires_at = ?, away_since = NULL WHERE user_id = ?`,
        now, admissionId, token, expiresAt, user_id,
      );
      for (const ws of this.openSocketsOf(user_id)) {
        this.send(ws, { type: 'admitted', token, expiresAt: iso(expiresAt) }, now);
        ws.close(1000, 'admitted');
      }
    }
    this.setMeta('admit_credit', String(credit - next.length));
  }

  /** What everyone is told while there is no line to be in (off, sold out, not open yet); null while there is one. */
  private gate(now: number): QueueView | null {
    const settings = this.settings();
    if (!settings?.enabled) return { state: 'off' };
    if (this.meta('sold_out') === '1') return { state: 'sold_out' };
    // Once the line is drawn it stays open, even if the organizer postpones the sale afterwards.
    if (this.meta('drawn') !== '1' && now < lobbyOpensAt(settings)) return { state: 'closed', opensAt: iso(lobbyOpensAt(settings)) };
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
      const seq = this.meta('drawn') === '1' ? this.nextSeq() : null;
      this.sql.exec(
        `INSERT OR REPLACE INTO entries (user_id, seq, state, away_since) VALUES (?, ?, 'waiting', ?)`,
        userId, seq, now,
      );
      this.armAlarm(now);
    }
    return this.viewOf(userId, now);
  }

  private viewOf(userId: string, now: number): QueueView {
    const settings = this.settings();
    if (!settings?.enabled) return { state: 'off' };
    if (this.meta('sold_out') === '1') return { state: 'sold_out' };
    const entry = this.entry(userId);
    if (entry?.state === 'admitted' && entry.token_expires_at! > now) {
      return { state: 'admitted', token: entry.token!, expiresAt: iso(entry.token_expires_at!) };
    }
    if (entry?.state === 'waiting' && entry.seq === null) {
      return { state: 'lobby', onSaleAt: iso(settings.onSaleAt), seedHash: this.meta('seed_hash') ?? '' };
    }
    if (entry?.state === 'waiting') {
      const ahead = this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM entries WHERE state = 'waiting' AND seq < ?`, entry.seq).one().n;
      return { state: 'waiting', position: ahead + 1, ahead, etaSeconds: etaSeconds(ahead + 1, this.admissionRate(settings, now)) };
    }
    return { state: 'closed', opensAt: iso(lobbyOpensAt(settings)) };
  }

  /** Admissions per second, measured over the last minute (the configured rate until there is a measure). */
  private admissionRate(settings: QueueSettings, now: number): number {
    const firstAdmission = this.sql.exec<{ at: number | null }>(`SELECT min(admitted_at) AS at FROM entries`).one().at;
    if (firstAdmission === null || now - firstAdmission < 5000) return settings.admitPerMinute / 60;
    const window = Math.min(RATE_WINDOW_MS, now - firstAdmission);
    const admitted = this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM entries WHERE admitted_at > ?`, now - window).one().n;
    return (admitted * 1000) / window;
  }

  /** The seed is made, and its hash published, when the lobby opens. */
  private openLobbyIfDue(now: number): void {
    const settings = this.settings();
    if (!settings || this.meta('seed') !== null || now < lobbyOpensAt(settings)) return;
    const seed = hex(this.random(new Uint8Array(32)));
    this.setMeta('seed', seed);
    this.setMeta('seed_hash', sha256hex(seed));
  }

  /** At `onSaleAt`, everyone in the lobby is put in the order of their draw keys; later arrivals follow. */
  private drawIfDue(now: number): void {
    const settings = this.settings();
    if (!settings || this.meta('drawn') === '1' || now < settings.onSaleAt) return;
    this.openLobbyIfDue(now);
    const seed = this.meta('seed')!;
    const lobby = this.sql
      .exec<{ user_id: string }>(`SELECT user_id FROM entries WHERE state = 'waiting' AND seq IS NULL`)
      .toArray()
      .map(({ user_id }) => {
        const participantId = participantIdOf(settings.eventId, user_id);
        return { userId: user_id, participantId, key: drawKeyOf(seed, participantId) };
      })
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    lobby.forEach(({ userId, participantId }, i) => {
      this.sql.exec(`UPDATE entries SET seq = ? WHERE user_id = ?`, i + 1, userId);
      this.sql.exec(`INSERT OR REPLACE INTO draw (rank, participant_id) VALUES (?, ?)`, i + 1, participantId);
    });
    this.setMeta('next_seq', String(lobby.length + 1));
    this.setMeta('drawn', '1');
    this.setMeta('last_tick_at', String(now));
  }

  private declareSoldOut(tellSockets: boolean): void {
    this.setMeta('sold_out', '1');
    this.sql.exec(`UPDATE entries SET state = 'left' WHERE state = 'waiting'`);
    if (tellSockets) this.broadcast({ type: 'sold_out' }, true);
    this.armAlarm(Date.now());
  }

  /** Sends each waiting socket its position when it changed (or its ETA went stale). */
  private sendPositions(now: number): void {
    const settings = this.settings()!;
    const line = this.sql
      .exec<{ user_id: string }>(`SELECT user_id FROM entries WHERE state = 'waiting' AND seq IS NOT NULL ORDER BY seq`)
      .toArray();
    const positions = new Map(line.map(({ user_id }, i) => [user_id, i + 1]));
    const rate = this.admissionRate(settings, now);
    for (const ws of this.ctx.getWebSockets()) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      const { userId } = ws.deserializeAttachment() as SocketAttachment;
      const position = positions.get(userId);
      if (position === undefined) continue;
      this.send(ws, { type: 'position', position, ahead: position - 1, etaSeconds: etaSeconds(position, rate) }, now);
    }
  }

  /** Sends a message unless it would only repeat the last one (a position is repeated for its ETA every ETA_REFRESH_MS). */
  private send(ws: WebSocket, message: Record<string, unknown>, now: number): void {
    const attachment = ws.deserializeAttachment() as SocketAttachment;
    const key = message.type === 'position' ? `position:${message.position}:${Math.floor(now / ETA_REFRESH_MS)}` : JSON.stringify(message);
    if (attachment.last === key) return;
    try {
      ws.send(JSON.stringify(message));
    } catch {
      return; // closing; its close handler tidies up
    }
    ws.serializeAttachment({ ...attachment, last: key } satisfies SocketAttachment);
  }

  /** One message to every open socket, serialized once. */
  private broadcast(message: Record<string, unknown>, close: boolean): void {
    const text = JSON.stringify(message);
    for (const ws of this.ctx.getWebSockets()) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      try {
        ws.send(text);
        if (close) ws.close(1000, String(message.type));
      } catch {
        // closing already; its close handler tidies up
      }
    }
  }

  private messageOf(view: QueueView): Record<string, unknown> {
    const { state, ...fields } = view;
    return { type: state === 'waiting' ? 'position' : state, ...fields };
  }

  /**
   * A socket can vanish without a close event reaching this object (a restart, a deploy): whoever
   * is waiting with no socket open and no away time yet starts their grace period now.
   */
  private noticeLostSockets(now: number): void {
    const connected = new Set<string>();
    for (const ws of this.ctx.getWebSockets()) {
      if (ws.readyState === WebSocket.OPEN) connected.add((ws.deserializeAttachment() as SocketAttachment).userId);
    }
    const present = this.sql.exec<{ user_id: string }>(`SELECT user_id FROM entries WHERE state = 'waiting' AND away_since IS NULL`).toArray();
    for (const { user_id } of present) {
      if (!connected.has(user_id)) this.sql.exec(`UPDATE entries SET away_since = ? WHERE user_id = ?`, now, user_id);
    }
  }

  private socketGone(ws: WebSocket): void {
    const { userId } = ws.deserializeAttachment() as SocketAttachment;
    if (this.openSocketsOf(userId).some((other) => other !== ws)) return;
    this.sql.exec(`UPDATE entries SET away_since = ? WHERE user_id = ? AND state = 'waiting'`, Date.now(), userId);
  }

  private openSocketsOf(userId: string): WebSocket[] {
    return this.ctx.getWebSockets(userId).filter((ws) => ws.readyState === WebSocket.OPEN);
  }

  private activeShoppers(now: number): number {
    return this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM entries WHERE state = 'admitted' AND token_expires_at > ?`, now).one().n;
  }

  /** The event's seats and sales, from its TicketLock; the last known figures when it cannot answer. */
  private async inventory(eventId: string): Promise<Inventory | null> {
    try {
      const counts = await this.env.TICKET_LOCK.getByName(eventId).holdCounts(eventId);
      const inventory: Inventory = { total: counts.total, sold: counts.sold, held: counts.held };
      this.setMeta('inventory', JSON.stringify(inventory));
      return inventory;
    } catch (error) {
      console.warn(`waiting room ${eventId}: inventory unavailable, using the last known`, error);
      const known = this.meta('inventory');
      // (A copy stored before holds were counted has no `held`.)
      return known ? { held: 0, ...(JSON.parse(known) as Partial<Inventory>) } as Inventory : null;
    }
  }

  /** One alarm: the draw at `onSaleAt` while the lobby fills, then a tick a second while anyone waits. */
  private armAlarm(now: number): void {
    const settings = this.settings();
    const waiting = this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM entries WHERE state = 'waiting'`).one().n;
    if (!settings?.enabled || this.meta('sold_out') === '1' || waiting === 0) {
      this.sql.exec(`DELETE FROM meta WHERE key = 'alarm_at'`);
      void this.ctx.storage.deleteAlarm();
      return;
    }
    const at = this.meta('drawn') === '1' ? now + TICK_MS : settings.onSaleAt;
    // Only ever brought forward: a stream of joins must not keep pushing the next tick back.
    const scheduled = Number(this.meta('alarm_at') ?? Number.POSITIVE_INFINITY);
    if (scheduled > at || scheduled < now) {
      this.setMeta('alarm_at', String(at));
      void this.ctx.storage.setAlarm(at);
    }
  }

  private nextSeq(): number {
    const seq = Number(this.meta('next_seq') ?? 1);
    this.setMeta('next_seq', String(seq + 1));
    return seq;
  }

  private entry(userId: string): EntryRow | undefined {
    return this.sql.exec<EntryRow>(`SELECT * FROM entries WHERE user_id = ?`, userId).toArray()[0];
  }

  private settings(): QueueSettings | null {
    const raw = this.meta('settings');
    return raw ? (JSON.parse(raw) as QueueSettings) : null;
  }

  private meta(key: string): string | null {
    return this.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = ?`, key).toArray()[0]?.value ?? null;
  }

  private setMeta(key: string, value: string): void {
    this.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)`, key, value);
  }
}

function etaSeconds(position: number, perSecond: number): number | null {
  return perSecond > 0 ? Math.ceil(position / perSecond) : null;
}

function lobbyOpensAt(settings: QueueSettings): number {
  return settings.onSaleAt - settings.lobbyMinutes * 60_000;
}
