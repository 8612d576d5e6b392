// `npm run dev`: the whole box office on one machine. Opens the database (DATABASE_URL or the
// embedded PGlite), migrates and seeds it, starts the local stand-in for Neon's WebSocket
// proxy and runs `wrangler dev` with the settings the Worker needs. Ctrl-C stops all of it.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { drizzle } from 'drizzle-orm/node-postgres';
import { startLocalNeonProxy } from './lib/local-neon-proxy';
import { applyMigrations } from './lib/migrate';
import { openLocalDatabase } from './lib/open-database';
import { ensureAdmin, seedDemoCatalog } from './lib/seed-catalog';
import { watchWeb } from './build-web';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DATA_DIR = join(ROOT, '.data');
const SECRETS_FILE = join(DATA_DIR, 'dev-secrets.json');
const WORKER_ENV_FILE = join(DATA_DIR, 'worker.env');
const HEALTH_TIMEOUT_MS = 60_000;

/** Passed to the Worker when set; wrangler.toml has defaults for the first three. */
const WORKER_SETTINGS = [
  'HOLD_TTL_SECONDS',
  'MAX_TICKETS_PER_USER',
  'PAYMENT_PROVIDER',
  'ALLOW_TEST_PAYMENTS',
  'STRIPE_SECRET_KEY',
  'STRIPE_WEBHOOK_SECRET',
  'SESSION_SECRET_PREVIOUS',
  'TICKET_SIGNING_KEY_PREVIOUS',
];
const GENERATED_SECRETS = ['SESSION_SECRET', 'TICKET_SIGNING_KEY'] as const;
/** Read by this script only. */
const DEV_SETTINGS = ['DATABASE_URL', 'DEV_ADMIN_EMAIL', 'DEV_ADMIN_PASSWORD', 'PORT'];
/** Everything the Worker gets from us; the environment must not override these inside wrangler. */
const WORKER_VARIABLES = ['DATABASE_URL', 'LOCAL_NEON_PROXY', ...GENERATED_SECRETS, ...WORKER_SETTINGS];

const say = (message: string) => console.log(`[dev] ${message}`);

// ---------------------------------------------------------------------------------------------
// Settings

/** KEY=VALUE lines with # comments and optional quotes, the way wrangler reads .dev.vars. */
function readDevVars(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const vars: Record<string, string> = {};
  for (const [index, raw] of readFileSync(path, 'utf8').split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) {
      say(`.dev.vars line ${index + 1} is not KEY=VALUE; ignored`);
      continue;
    }
    const value = match[2]!;
    const quoted = /^(['"`])(.*)\1\s*(?:#.*)?$/.exec(value);
    vars[match[1]!] = quoted ? quoted[2]! : value.replace(/\s+#.*$/, '');
  }
  return vars;
}

/** .dev.vars, overridden by the environment (an empty variable unsets a .dev.vars value). */
function loadSettings() {
  const fromFile = readDevVars(join(ROOT, '.dev.vars'));
  const settings: Record<string, string> = { ...fromFile };
  for (const key of [...DEV_SETTINGS, ...WORKER_SETTINGS, ...GENERATED_SECRETS]) {
    const value = process.env[key];
    if (value !== undefined) settings[key] = value;
  }
  for (const [key, value] of Object.entries(settings)) if (value === '') delete settings[key];

  const port = Number(settings.PORT ?? 8787);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`PORT must be a port number, got "${settings.PORT}"`);
  // Other keys in .dev.vars reach the Worker, as they would under plain `wrangler dev`.
  const extra = Object.fromEntries(
    Object.entries(fromFile).filter(([key]) => !DEV_SETTINGS.includes(key) && !WORKER_VARIABLES.includes(key)),
  );
  return {
    databaseUrl: settings.DATABASE_URL,
    adminEmail: settings.DEV_ADMIN_EMAIL ?? 'admin@example.com',
    adminPassword: settings.DEV_ADMIN_PASSWORD ?? 'admin-password-123',
    port,
    secrets: withPersistedSecrets(settings),
    worker: { ...extra, ...Object.fromEntries(WORKER_SETTINGS.filter((key) => settings[key]).map((key) => [key, settings[key]!])) },
  };
}

/** Secrets not configured are generated once and kept, so sessions and tickets survive restarts. */
function withPersistedSecrets(settings: Record<string, string>): Record<(typeof GENERATED_SECRETS)[number], string> {
  const stored: Record<string, string> = existsSync(SECRETS_FILE) ? JSON.parse(readFileSync(SECRETS_FILE, 'utf8')) : {};
  let changed = false;
  const secrets = Object.fromEntries(
    GENERATED_SECRETS.map((key) => {
      if (settings[key]) return [key, settings[key]];
      if (!stored[key]) {
        stored[key] = randomBytes(32).toString('hex');
        changed = true;
      }
      return [key, stored[key]];
    }),
  ) as Record<(typeof GENERATED_SECRETS)[number], string>;
  if (changed) {
    mkdirSync(DATA_DIR, { recursive: true });
    writeFileSync(SECRETS_FILE, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
  }
  return secrets;
}

/**
 * One line of the file given to `wrangler dev --env-file`. Wrangler parses it with dotenv and
 * then expands `$NAME`, so dollars are escaped and the value is quoted with a quote it lacks.
 */
function envLine(key: string, value: string): string {
  if (/[\r\n]/.test(value)) throw new Error(`${key} must be a single line`);
  const escaped = value.replace(/\$/g, '\\$');
  const quote = ["'", '"', '`'].find((q) => !value.includes(q));
  if (!quote) throw new Error(`${key} contains all three kinds of quotes, which an env file cannot hold`);
  return `${key}=${quote}${escaped}${quote}`;
}

function assertPortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new Error(`port ${port} is in use (another \`npm run dev\`?); set PORT to use another one`) : error),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

// ---------------------------------------------------------------------------------------------
// Processes

/** Closed in reverse order on the way out. */
const cleanups: Array<{ name: string; run: () => Promise<void> }> = [];
let wrangler: ChildProcess | null = null;
let stopping: Promise<never> | null = null;

/** Stops everything once, whoever asks first (a signal, wrangler exiting, a startup error). */
function stop(code: number): Promise<never> {
  stopping ??= shutDown(code);
  return stopping;
}

async function shutDown(code: number): Promise<never> {
  if (wrangler) await stopWrangler(wrangler);
  for (const { name, run } of [...cleanups].reverse()) {
    try {
      await run();
    } catch (error) {
      console.error(`[dev] could not close the ${name}: ${(error as Error).message}`);
    }
  }
  process.exit(code);
}

/** wrangler runs in its own process group with the workerd it starts, so the group is signalled. */
function signalWrangler(signal: NodeJS.Signals): void {
  if (!wrangler?.pid) return;
  try {
    process.kill(-wrangler.pid, signal);
  } catch {
    // Already gone.
  }
}

async function stopWrangler(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    signalWrangler('SIGTERM');
    const timer = setTimeout(() => signalWrangler('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
  // workerd may outlive wrangler for a moment.
  signalWrangler('SIGKILL');
}

let firstSignalAt = 0;

function onSignal(signal: NodeJS.Signals) {
  // One Ctrl-C often arrives twice (from the terminal and relayed by tsx), so only a later
  // one means "stop waiting".
  if (stopping) {
    if (Date.now() - firstSignalAt < 1_000) return;
    say(`${signal} again: killing everything now`);
    signalWrangler('SIGKILL');
    process.exit(130);
  }
  firstSignalAt = Date.now();
  say('stopping…');
  void stop(0);
}

async function waitForHealth(port: number): Promise<number | null> {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  let lastStatus: number | null = null;
  while (Date.now() < deadline && !stopping) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/api/health`, { signal: AbortSignal.timeout(5_000) });
      lastStatus = response.status;
      await response.body?.cancel();
      if (response.ok) return response.status;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return lastStatus;
}

// ---------------------------------------------------------------------------------------------

async function main() {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  const settings = loadSettings();
  await assertPortFree(settings.port);

  const database = await openLocalDatabase(settings.databaseUrl);
  cleanups.push({ name: 'database', run: () => database.close() });
  say(`database: ${database.describe}`);
  await applyMigrations(database.nodeConnectionString);

  const client = new pg.Client({ connectionString: database.nodeConnectionString });
  await client.connect();
  // Closed before the Worker starts, but also if Ctrl-C comes while seeding.
  const closeClient = { name: 'seeding connection', run: () => client.end() };
  cleanups.push(closeClient);
  const db = drizzle(client);
  const admin = await ensureAdmin(db, settings.adminEmail, settings.adminPassword);
  if (admin === 'created') say(`created the admin account ${settings.adminEmail}`);
  if (admin === 'updated') say(`gave ${settings.adminEmail} the admin role and the configured password`);
  const demo = await seedDemoCatalog(db, { log: (message) => say(`seeding: ${message}`) });
  if (demo) say(`seeded ${demo.venues} venues, ${demo.performers} performers, ${demo.events} events and ${demo.tickets} tickets`);
  cleanups.splice(cleanups.indexOf(closeClient), 1);
  await client.end();

  const proxy = await startLocalNeonProxy({
    upstream: database.upstream,
    serializeSessions: database.kind === 'pglite',
    port: 0,
    log: (message) => say(`database proxy: ${message}`),
  });
  cleanups.push({ name: 'database proxy', run: () => proxy.close() });

  const workerVars: Record<string, string> = {
    // A deployed Worker refuses the offline payment provider; this local one allows it.
    ALLOW_TEST_PAYMENTS: 'true',
    ...settings.worker,
    ...settings.secrets,
    DATABASE_URL: database.workerDatabaseUrl,
    LOCAL_NEON_PROXY: proxy.address,
  };
  mkdirSync(DATA_DIR, { recursive: true });
  writeFileSync(WORKER_ENV_FILE, `${Object.entries(workerVars).map(([key, value]) => envLine(key, value)).join('\n')}\n`, { mode: 0o600 });
  chmodSync(WORKER_ENV_FILE, 0o600);

  // With --env-file, wrangler reads neither .dev.vars nor .env, so these values win.
  const childEnv = { ...process.env };
  for (const key of WORKER_VARIABLES) delete childEnv[key];
  // A Ctrl-C during the steps above has already shut down; a wrangler started now would be orphaned.
  if (stopping) return;
  // The pages' script and stylesheet (web/src), built by predev, are rebuilt on every change.
  const stopWatchingWeb = watchWeb(say);
  cleanups.push({ name: 'web/src watcher', run: async () => stopWatchingWeb() });
  say('starting wrangler…');
  const child = spawn(
    join(ROOT, 'node_modules/.bin/wrangler'),
    [
      'dev',
      '--port', String(settings.port),
      '--ip', '127.0.0.1',
      '--env-file', WORKER_ENV_FILE,
      '--persist-to', join(DATA_DIR, 'wrangler'),
      '--show-interactive-dev-session=false',
    ],
    { cwd: ROOT, env: childEnv, stdio: ['ignore', 'inherit', 'inherit'], detached: true },
  );
  wrangler = child;
  child.once('error', (error) => {
    console.error(`[dev] could not start wrangler: ${error.message}`);
    void stop(1);
  });
  child.once('exit', (code, signal) => {
    if (stopping) return;
    say(`wrangler exited (${signal ?? `code ${code}`}); stopping`);
    void stop(code ?? 1);
  });

  const status = await waitForHealth(settings.port);
  if (stopping) return;
  const url = `http://localhost:${settings.port}`;
  if (status !== 200) {
    say(`${url}/api/health did not answer 200 within ${HEALTH_TIMEOUT_MS / 1000} s (last: ${status ?? 'no answer'}); see wrangler's output above`);
  }
  console.log(
    [
      '',
      `  Box office: ${url}`,
      `  Database:   ${database.describe}`,
      `  Admin:      ${settings.adminEmail} / ${settings.adminPassword}`,
      '  Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}

main().catch((error: unknown) => {
  // Errors from connections closed by a shutdown already under way say nothing new.
  if (stopping) return;
  console.error(`[dev] ${error instanceof Error ? error.message : String(error)}`);
  void stop(1);
});
