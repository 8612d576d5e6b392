// The database the local scripts share: the Postgres server named by DATABASE_URL, else the
// embedded PGlite in .data/pglite.
//
// PGlite does not lock its data directory, and two processes writing it at once corrupt it,
// so the embedded database is opened under a lock file that names the process holding it.
//
// PGlite runs in a worker thread. In the main thread, a long statement (seeding) would block
// the event loop, and tsx kills a script that does not take its Ctrl-C within a few dozen
// milliseconds, leaving wrangler, the proxy and the database without a clean shutdown.
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { startEmbeddedPostgres, usePostgresServer, type LocalDatabase } from './local-database';

export const EMBEDDED_DATA_DIR = fileURLToPath(new URL('../../.data/pglite', import.meta.url));

type EmbeddedDescription = Omit<LocalDatabase, 'close'>;
type FromThread = { type: 'ready'; database: EmbeddedDescription } | { type: 'failed'; message: string } | { type: 'closed' };

export async function openLocalDatabase(databaseUrl: string | undefined): Promise<LocalDatabase> {
  if (databaseUrl) return usePostgresServer(databaseUrl);
  const unlock = lockDataDir(EMBEDDED_DATA_DIR);
  // Worker threads do not inherit tsx's loader, so the thread registers it before loading this file.
  const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
    .then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const thread = new Worker(bootstrap, { eval: true, workerData: { embeddedDataDir: EMBEDDED_DATA_DIR } });
  const next = () =>
    new Promise<FromThread>((resolve, reject) => {
      const onExit = (code: number) => reject(new Error(`the embedded database stopped unexpectedly (exit code ${code})`));
      thread.once('exit', onExit);
      thread.once('error', reject);
      thread.once('message', (message: FromThread) => {
        thread.off('exit', onExit);
        thread.off('error', reject);
        resolve(message);
      });
    });
  const started = await next().catch((error: Error) => ({ type: 'failed' as const, message: error.message }));
  if (started.type !== 'ready') {
    await thread.terminate();
    unlock();
    throw new Error(started.type === 'failed' ? started.message : 'the embedded database did not start');
  }
  return {
    ...started.database,
    async close() {
      try {
        const closed = next();
        thread.postMessage('close');
        await closed;
        await thread.terminate();
      } finally {
        unlock();
      }
    },
  };
}

async function serveEmbeddedDatabase(dataDir: string): Promise<void> {
  const port = parentPort!;
  let database: LocalDatabase;
  try {
    database = await startEmbeddedPostgres(dataDir);
  } catch (error) {
    port.postMessage({ type: 'failed', message: (error as Error).message } satisfies FromThread);
    return;
  }
  const { close, ...description } = database;
  port.once('message', async () => {
    await close();
    port.postMessage({ type: 'closed' } satisfies FromThread);
  });
  port.postMessage({ type: 'ready', database: description } satisfies FromThread);
}

if (!isMainThread && (workerData as { embeddedDataDir?: string } | null)?.embeddedDataDir) {
  void serveEmbeddedDatabase((workerData as { embeddedDataDir: string }).embeddedDataDir);
}

interface LockOwner {
  pid: number;
  command: string;
}

function lockDataDir(dataDir: string): () => void {
  const lockPath = `${dataDir}.lock`;
  const me: LockOwner = { pid: process.pid, command: `npm run ${scriptName()}` };
  // Written aside and linked into place, so a lock file is never seen half-written.
  const draft = `${lockPath}.${process.pid}`;
  mkdirSync(dirname(lockPath), { recursive: true });
  writeFileSync(draft, JSON.stringify(me));
  for (;;) {
    try {
      linkSync(draft, lockPath);
      rmSync(draft);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = readOwner(lockPath);
      if (owner && owner.pid !== process.pid && isAlive(owner.pid)) {
        rmSync(draft);
        throw new Error(
          `the embedded database (${dataDir}) is in use by \`${owner.command}\` (process ${owner.pid}). ` +
            'Stop that one first (Ctrl-C in its terminal), or set DATABASE_URL to use a Postgres server.',
        );
      }
      // Left behind by a process that was killed.
      rmSync(lockPath, { force: true });
    }
  }
  let held = true;
  const unlock = () => {
    if (!held) return;
    held = false;
    process.off('exit', unlock);
    rmSync(lockPath, { force: true });
  };
  process.on('exit', unlock);
  return unlock;
}

function readOwner(lockPath: string): LockOwner | null {
  try {
    return JSON.parse(readFileSync(lockPath, 'utf8')) as LockOwner;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `dev`, `seed` or `db:migrate`, for the message another process shows. */
function scriptName(): string {
  const script = basename(process.argv[1] ?? '', '.ts');
  return script === 'migrate' ? 'db:migrate' : script;
}
