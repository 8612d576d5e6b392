// A small local stand-in for Neon's WebSocket proxy. The Worker's Neon driver speaks the
// Postgres wire protocol over a WebSocket exactly as it does against Neon in production; this
// proxy unwraps the frames onto a TCP connection to a real Postgres server or to the embedded
// PGlite socket server.
//
// PGlite is a single session: when `serializeSessions` is on, each WebSocket waits its turn
// and holds the upstream alone until it closes, so transactions never interleave.
//
// With `faultControl` on, tests and local drills can make the database unreachable or slow on demand:
//   POST /__faults {"databaseDown": true}          every new session is refused
//   POST /<scope>/__faults {"databaseDown": true}  only sessions opened at /<scope>/... are
//   POST /<scope>/__faults {"delayMs": 300}        slow mode: each message a client of the scope sends
//                                                  (startup, each statement, Sync, COMMIT…) is held
//                                                  300 ms before it goes on to the database, in order
//                                                  per connection; answers are not delayed. A change
//                                                  applies to messages already waiting, so a long delay
//                                                  stalls a write until it is lowered again. 0 turns it off.
//   GET  /__faults, GET /<scope>/__faults          {"scope", "databaseDown", "delayMs", "heldMessages"}
//                                                  (+ "downScopes", "delayedScopes"); heldMessages counts
//                                                  the scope's messages slow mode holds right now, so a
//                                                  test can tell when a request has reached Postgres
// Both fields may be sent together; each is optional. The switches of `/__faults` itself apply to
// every scope (the larger delay wins). A scope is whatever path precedes the driver's own last
// segment (`/v1`), so a Worker whose LOCAL_NEON_PROXY is `host:port/<scope>` lands in it; that lets
// one test run cut off or slow down its own Worker while others keep using the same proxy (and, for
// PGlite, the same session queue: a delayed session takes its turn only once its first message goes,
// so a stalled one does not hold up the others before it has started).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createConnection, type Socket } from 'node:net';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';

export interface LocalNeonProxyOptions {
  /** Where Postgres (or the PGlite socket server) listens. The client's `address` is ignored. */
  upstream: { host: string; port: number };
  /** One session at a time (PGlite). */
  serializeSessions: boolean;
  /** Port to listen on; 0 picks a free one. */
  port?: number;
  host?: string;
  log?: (message: string) => void;
  /** Serve `/__faults` (see above). For tests and drills only: anyone who can reach the port can use it. */
  faultControl?: boolean;
}

export interface LocalNeonProxy {
  port: number;
  /** `host:port`, the value for the Worker's LOCAL_NEON_PROXY setting. */
  address: string;
  close(): Promise<void>;
  stats(): { sessions: number; waiting: number };
}

// A session held longer than this in serialized mode is almost certainly a leaked connection;
// closing it keeps the rest of the system from waiting forever.
const SERIALIZED_SESSION_LIMIT_MS = 60_000;

const FAULTS_PATH = '__faults';

export async function startLocalNeonProxy(options: LocalNeonProxyOptions): Promise<LocalNeonProxy> {
  const log = options.log ?? (() => {});
  const faults = createFaults();
  const http = createServer((request, response) => {
    if (options.faultControl && lastSegment(request.url) === FAULTS_PATH) {
      faults.serve(request, response, log);
      return;
    }
    response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
  });
  const server = new WebSocketServer({ server: http });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      http.off('error', reject);
      resolve();
    });
  });

  let active = 0;
  const waiting: Array<() => void> = [];

  function acquire(): Promise<void> {
    if (!options.serializeSessions || active === 0) {
      active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => waiting.push(() => { active++; resolve(); }));
  }

  function release(): void {
    active--;
    if (options.serializeSessions) waiting.shift()?.();
  }

  server.on('connection', (ws: WebSocket, request: IncomingMessage) => {
    const scope = scopeOf(request.url);
    if (options.faultControl && faults.isDown(scope)) {
      // What the driver sees when the proxy cannot reach the database: the socket opens, then drops.
      ws.terminate();
      return;
    }
    // The driver writes its startup message right away; keep it until the upstream is ours.
    const pending: Buffer[] = [];
    let upstream: Socket | null = null;
    let closed = false;
    let released = false;
    let watchdog: NodeJS.Timeout | undefined;

    const finish = () => {
      if (closed) return;
      closed = true;
      clearTimeout(watchdog);
      // Messages still held by slow mode die with their client, as they would on a slow network.
      delayed?.close();
      upstream?.destroy();
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.terminate();
      if (!released && upstream) {
        released = true;
        // Let the upstream see the disconnect (PGlite rolls back an open transaction) before
        // the next session starts.
        setTimeout(release, 5);
      }
    };

    // PGlite answers a Terminate message with silence where a server would hang up, so the
    // proxy ends the session itself when it sees one.
    const terminates = options.serializeSessions ? watchForTerminate(() => setImmediate(finish)) : undefined;
    let opened = false;
    const forward = (chunk: Buffer) => {
      if (upstream) upstream.write(chunk);
      else pending.push(chunk);
      terminates?.(chunk);
      if (!opened) {
        opened = true;
        openUpstream();
      }
    };
    const delayed = options.faultControl ? faults.delayLine(scope, forward) : null;
    ws.on('message', (data: RawData) => {
      const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      if (delayed) delayed.push(chunk);
      else forward(chunk);
    });
    ws.on('close', finish);
    ws.on('error', finish);

    // The upstream is taken with the first message the client lets through (its startup message).
    function openUpstream(): void {
      const waitStarted = Date.now();
      acquire().then(() => {
        if (closed) { release(); return; }
        const waited = Date.now() - waitStarted;
        if (waited > 5_000) log(`a database session waited ${waited} ms for its turn`);
        const socket = createConnection(options.upstream);
        upstream = socket;
        socket.setNoDelay(true);
        socket.on('connect', () => {
          for (const chunk of pending.splice(0)) socket.write(chunk);
        });
        socket.on('data', (chunk) => {
          if (ws.readyState === ws.OPEN) ws.send(chunk);
        });
        socket.on('close', finish);
        socket.on('error', (error) => {
          log(`upstream database connection failed: ${error.message}`);
          finish();
        });
        if (options.serializeSessions) {
          watchdog = setTimeout(() => {
            log(`closed a database session held for over ${SERIALIZED_SESSION_LIMIT_MS / 1000} s (a connection that was never ended?)`);
            finish();
          }, SERIALIZED_SESSION_LIMIT_MS);
        }
      });
    }
  });

  const address = http.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no TCP address');
  return {
    port: address.port,
    address: `${options.host ?? '127.0.0.1'}:${address.port}`,
    stats: () => ({ sessions: active, waiting: waiting.length }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => {
          // Keep-alive connections left by fault requests would otherwise hold the port open.
          http.closeAllConnections();
          http.close(() => resolve());
        });
      }),
  };
}

function pathOf(url: string | undefined): string {
  return new URL(url ?? '/', 'http://proxy').pathname;
}

function lastSegment(url: string | undefined): string {
  return pathOf(url).split('/').pop() ?? '';
}

/** `/v1` → '', `/drill/v1` → 'drill', `/drill/__faults` → 'drill'. */
function scopeOf(url: string | undefined): string {
  return pathOf(url).split('/').slice(1, -1).join('/');
}

/** Slow mode holds no message longer than this (a stall is a long delay that is lowered again). */
const MAX_DELAY_MS = 10 * 60 * 1000;

function createFaults() {
  let everythingDown = false;
  const downScopes = new Set<string>();
  const isDown = (scope: string) => everythingDown || downScopes.has(scope);
  /** Slow mode, by scope ('' for every scope). */
  const delays = new Map<string, number>();
  const delayOf = (scope: string) => Math.max(delays.get('') ?? 0, delays.get(scope) ?? 0);
  /** Wakes every connection's delay line: a changed delay applies to messages already waiting. */
  const delayLines = new Set<() => void>();
  /** Messages held right now, by scope. */
  const held = new Map<string, number>();
  const countHeld = (scope: string, change: number) => held.set(scope, (held.get(scope) ?? 0) + change);

  /**
   * A connection's client-to-server messages, each let through `delayOf(scope)` ms after it
   * arrived, in arrival order.
   */
  function delayLine(scope: string, forward: (chunk: Buffer) => void): { push(chunk: Buffer): void; close(): void } {
    const queue: Array<{ chunk: Buffer; arrivedAt: number }> = [];
    let timer: NodeJS.Timeout | undefined;
    const pump = () => {
      clearTimeout(timer);
      timer = undefined;
      while (queue.length > 0) {
        const wait = queue[0]!.arrivedAt + delayOf(scope) - Date.now();
        if (wait > 0) {
          timer = setTimeout(pump, wait);
          return;
        }
        countHeld(scope, -1);
        forward(queue.shift()!.chunk);
      }
    };
    delayLines.add(pump);
    return {
      push(chunk) {
        queue.push({ chunk, arrivedAt: Date.now() });
        countHeld(scope, 1);
        if (queue.length === 1) pump();
      },
      close() {
        countHeld(scope, -queue.length);
        queue.length = 0;
        clearTimeout(timer);
        delayLines.delete(pump);
      },
    };
  }

  const state = (scope: string) => ({
    scope,
    databaseDown: isDown(scope),
    delayMs: delayOf(scope),
    heldMessages: held.get(scope) ?? 0,
    ...(scope === '' ? { downScopes: [...downScopes], delayedScopes: Object.fromEntries([...delays].filter(([s]) => s !== '')) } : {}),
  });

  function answer(response: ServerResponse, status: number, body: unknown): void {
    response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  }

  function serve(request: IncomingMessage, response: ServerResponse, log: (message: string) => void): void {
    const scope = scopeOf(request.url);
    if (request.method === 'GET') {
      answer(response, 200, state(scope));
      return;
    }
    if (request.method !== 'POST') {
      response.setHeader('Allow', 'GET, POST');
      answer(response, 405, { error: 'use GET or POST' });
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      let body: { databaseDown?: unknown; delayMs?: unknown } | null;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
      } catch {
        body = null;
      }
      const down = body?.databaseDown;
      const delayMs = body?.delayMs;
      const validDelay = typeof delayMs === 'number' && Number.isInteger(delayMs) && delayMs >= 0 && delayMs <= MAX_DELAY_MS;
      if (
        typeof body !== 'object' || body === null || (down === undefined && delayMs === undefined) ||
        (down !== undefined && typeof down !== 'boolean') || (delayMs !== undefined && !validDelay)
      ) {
        answer(response, 400, { error: `send {"databaseDown": true|false} and/or {"delayMs": 0..${MAX_DELAY_MS}}` });
        return;
      }
      if (typeof down === 'boolean') {
        if (scope === '') everythingDown = down;
        else if (down) downScopes.add(scope);
        else downScopes.delete(scope);
        log(`database ${down ? 'down' : 'up'} for ${scope === '' ? 'every session' : `sessions in scope "${scope}"`}`);
      }
      if (typeof delayMs === 'number') {
        if (delayMs === 0) delays.delete(scope);
        else delays.set(scope, delayMs);
        // Not logged: tests switch it hundreds of times a run (GET shows it).
        for (const pump of delayLines) pump();
      }
      answer(response, 200, state(scope));
    });
  }

  return { isDown, delayLine, serve };
}

const SSL_REQUEST_CODE = 80877103;
const TERMINATE = 0x58; // 'X'

/**
 * Follows the frames a client sends (startup or SSL request first, then typed messages) and
 * calls `onTerminate` when the client says goodbye.
 */
function watchForTerminate(onTerminate: () => void): (chunk: Buffer) => void {
  let buffered = Buffer.alloc(0);
  let startedUp = false;
  return (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    for (;;) {
      if (!startedUp) {
        if (buffered.length < 8) return;
        const length = buffered.readInt32BE(0);
        if (buffered.length < length) return;
        if (buffered.readInt32BE(4) !== SSL_REQUEST_CODE) startedUp = true;
        buffered = buffered.subarray(length);
        continue;
      }
      if (buffered.length < 5) return;
      const type = buffered[0];
      const length = 1 + buffered.readInt32BE(1);
      if (buffered.length < length) return;
      buffered = buffered.subarray(length);
      if (type === TERMINATE) {
        onTerminate();
        return;
      }
    }
  };
}
