// Chooses and starts the Postgres that local runs use: the server named by DATABASE_URL, or
// the embedded PGlite (persisted in a git-ignored folder) when there is none.
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { fuzzystrmatch } from '@electric-sql/pglite/contrib/fuzzystrmatch';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface LocalDatabase {
  kind: 'postgres' | 'pglite';
  /** For Node clients (`pg`), migrations and seeding. */
  nodeConnectionString: string;
  /** Where the WebSocket proxy sends the Worker's sessions. */
  upstream: { host: string; port: number };
  /** The DATABASE_URL the Worker is given; host and port only matter to the proxy's logs. */
  workerDatabaseUrl: string;
  describe: string;
  close(): Promise<void>;
}

export async function startEmbeddedPostgres(dataDir: string | undefined): Promise<LocalDatabase> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  let db: PGlite;
  try {
    db = await PGlite.create({ dataDir, extensions: { pg_trgm, fuzzystrmatch } });
  } catch (error) {
    throw new Error(
      `could not open the embedded database in ${dataDir ?? 'memory'} (${(error as Error).message}). ` +
        'If another `npm run dev` uses it, stop that one first; to start afresh, delete the folder.',
    );
  }
  // More than one connection may be open for a moment while the previous session is torn
  // down; the WebSocket proxy makes sure only one is ever in use.
  const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: 4 });
  await server.start();
  const port = Number(server.getServerConn().split(':').pop());
  return {
    kind: 'pglite',
    nodeConnectionString: `postgres://postgres@127.0.0.1:${port}/postgres`,
    upstream: { host: '127.0.0.1', port },
    workerDatabaseUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    describe: `embedded PGlite (${dataDir ?? 'in memory'})`,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}

export function usePostgresServer(databaseUrl: string): LocalDatabase {
  const url = new URL(databaseUrl);
  return {
    kind: 'postgres',
    nodeConnectionString: databaseUrl,
    upstream: { host: url.hostname, port: Number(url.port || 5432) },
    workerDatabaseUrl: databaseUrl,
    describe: `Postgres at ${url.hostname}:${url.port || 5432}${url.pathname}`,
    async close() {},
  };
}
