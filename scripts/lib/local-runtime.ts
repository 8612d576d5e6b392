// The whole system for a benchmark or a browser test, run on the Workers runtime directly
// (Miniflare's API over workerd, not `wrangler dev`, whose proxy adds its own delay): a fresh
// database (on DATABASE_URL's server, else the machine's Postgres at 127.0.0.1:5432, else PGlite;
// TEST_DATABASE=pglite forces PGlite), the local Neon proxy, and the Worker as `wrangler deploy`
// would bundle it. Everything is removed on close.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';
import pg from 'pg';
import { drizzle } from 'drizzle-orm/node-postgres';
import { startLocalNeonProxy } from './local-neon-proxy';
import { startEmbeddedPostgres, usePostgresServer, type LocalDatabase } from './local-database';
import { applyMigrations } from './migrate';
import { ensureAdmin } from './seed-catalog';
import { signSessionToken } from '../../src/auth/session';
import { isReachable, runOnServer } from './postgres-server';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const LOCAL_ADMIN = { email: 'local-admin@example.com', password: 'local-admin-password-123' };

export interface LocalRuntime {
  /** http://127.0.0.1:<port> of the Worker */
  base: string;
  /**
   * Session tokens for `count` new accounts, written straight to the database (users and their
   * sessions rows), so a benchmark signs in thousands without a sign-up and a password hash each.
   */
  signIn(count: number): Promise<string[]>;
  /** The Miniflare instance, for a benchmark that calls a Durable Object's RPC directly. */
  miniflare: Miniflare;
  /** A node-postgres connection string of the fresh database (a benchmark's checks read it directly). */
  databaseUrl: string;
  /** `host:port` of the Worker's local Neon proxy. */
  neonProxy: string;
  close(): Promise<void>;
}

export interface LocalRuntimeOptions {
  /** Bindings added to the Worker's (e.g. BENCH_ROUTES: 'true', which only benchmarks set). */
  bindings?: Record<string, string>;
  /** Serve the Neon proxy's fault switch (scripts/lib/local-neon-proxy.ts) at `neonProxy`/__faults: tests only. */
  faultControl?: boolean;
}



export async function startLocalRuntime(name: string, log: (line: string) => void = console.log, options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const cleanups: Array<() => Promise<void> | void> = [];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    const adminUrl =
      process.env.TEST_DATABASE === 'pglite'
        ? null
        : (process.env.DATABASE_URL ?? ((await isReachable('127.0.0.1', 5432)) ? 'postgres://postgres@127.0.0.1:5432/postgres' : null));
    let database: LocalDatabase;
    if (adminUrl) {
      const databaseName = `box_office_${name}_${Date.now()}_${process.pid}`;
      await runOnServer(adminUrl, `create database "${databaseName}"`);
      cleanups.push(() => runOnServer(adminUrl, `drop database if exists "${databaseName}" with (force)`));
      database = usePostgresServer(Object.assign(new URL(adminUrl), { pathname: `/${databaseName}` }).toString());
    } else {
      database = await startEmbeddedPostgres(undefined);
      cleanups.push(() => database.close());
    }
    log(`database: ${database.describe}`);
    await applyMigrations(database.nodeConnectionString);
    const client = new pg.Client({ connectionString: database.nodeConnectionString });
    await client.connect();
    await ensureAdmin(drizzle(client), LOCAL_ADMIN.email, LOCAL_ADMIN.password);
    await client.end();

    const proxy = await startLocalNeonProxy({ upstream: database.upstream, serializeSessions: database.kind === 'pglite', faultControl: options.faultControl });
    cleanups.push(() => proxy.close());

    log('bundling the Worker (wrangler deploy --dry-run) …');
    const out = mkdtempSync(join(tmpdir(), `${name}-worker-`));
    cleanups.push(() => rmSync(out, { recursive: true, force: true }));
    execFileSync(join(ROOT, 'node_modules/.bin/wrangler'), ['deploy', '--dry-run', '--outdir', out], { cwd: ROOT, stdio: 'ignore' });

    const sessionSecret = randomBytes(32).toString('hex');
    const mf = new Miniflare({
      // wrangler writes the modules its [[rules]] make (all of them Text in wrangler.toml) beside worker.js.
      modules: [
        { type: 'ESModule', path: join(out, 'worker.js') },
        ...readdirSync(out)
          .filter((file) => file !== 'worker.js' && !file.endsWith('.map') && file !== 'README.md')
          .map((file) => ({ type: 'Text' as const, path: join(out, file) })),
      ],
      modulesRoot: out,
      compatibilityDate: '2026-04-20',
      compatibilityFlags: ['nodejs_compat'],
      durableObjects: {
        TICKET_LOCK: { className: 'TicketLock', useSQLite: true },
        WAITING_ROOM: { className: 'WaitingRoom', useSQLite: true },
        RATE_LIMITER: { className: 'RateLimiter', useSQLite: true },
        SESSION_CHECK: { className: 'SessionCheck', useSQLite: true },
        SEAT_RELAY: { className: 'SeatRelay', useSQLite: true },
      },
      bindings: {
        DATABASE_URL: database.workerDatabaseUrl,
        LOCAL_NEON_PROXY: proxy.address,
        SESSION_SECRET: sessionSecret,
        TICKET_SIGNING_KEY: randomBytes(32).toString('hex'),
        HOLD_TTL_SECONDS: '600',
        MAX_TICKETS_PER_USER: '10',
        PAYMENT_PROVIDER: 'test',
        ALLOW_TEST_PAYMENTS: 'true',
        ...options.bindings,
      },
      host: '127.0.0.1',
      port: 0,
    });
    cleanups.push(() => mf.dispose());
    const url = await mf.ready;
    const signIn = async (count: number): Promise<string[]> => {
      const db = new pg.Client({ connectionString: database.nodeConnectionString });
      await db.connect();
      try {
        const expiresAt = new Date(Date.now() + 3600_000);
        const tokens: string[] = [];
        for (let done = 0; done < count; done += 1000) {
          const { rows } = await db.query<{ user_id: string; session_id: string }>(
            `with created as (
               insert into users (email, name, password_hash)
               select 'bench-' || gen_random_uuid() || '@example.com', 'Bench', 'no-password' from generate_series(1, $1)
               returning id)
             insert into sessions (user_id, expires_at) select id, $2 from created returning user_id, id as session_id`,
            [Math.min(1000, count - done), expiresAt],
          );
          for (const row of rows) tokens.push(await signSessionToken({ SESSION_SECRET: sessionSecret }, { sessionId: row.session_id, userId: row.user_id, expiresAt }));
        }
        return tokens;
      } finally {
        await db.end();
      }
    };
    return { base: url.origin, signIn, miniflare: mf, databaseUrl: database.nodeConnectionString, neonProxy: proxy.address, close };
  } catch (error) {
    await close();
    throw error;
  }
}

export async function call<T>(base: string, path: string, init: { method?: string; token?: string; json?: unknown } = {}): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = {};
  if (init.json !== undefined) headers['Content-Type'] = 'application/json';
  if (init.token) headers.Authorization = `Bearer ${init.token}`;
  const response = await fetch(`${base}${path}`, { method: init.method ?? 'GET', headers, body: init.json === undefined ? undefined : JSON.stringify(init.json) });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
}
