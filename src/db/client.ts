import { Client } from '@neondatabase/serverless';
import { drizzle, type NeonDatabase } from 'drizzle-orm/neon-serverless';
import * as schema from './schema';
import type { Bindings } from '../env';

export type Database = NeonDatabase<typeof schema>;

/**
 * Runs `work` on its own database session and always ends the session afterwards.
 *
 * Workers may not share an I/O object between requests, and the embedded local database is a
 * single session, so nothing holds a connection beyond one unit of work. Never call a Durable
 * Object from inside `work`: it may need a session of its own.
 */
export async function withDb<T>(env: Pick<Bindings, 'DATABASE_URL' | 'LOCAL_NEON_PROXY'>, work: (db: Database) => Promise<T>): Promise<T> {
  if (!env.DATABASE_URL) throw new Error('DATABASE_URL is not configured');
  const client = new Client({ connectionString: env.DATABASE_URL });
  const proxy = env.LOCAL_NEON_PROXY;
  if (proxy) {
    // The local stand-in for Neon's proxy: plain ws://, trust authentication, no TLS.
    client.neonConfig.wsProxy = () => `${proxy}/v1`;
    client.neonConfig.useSecureWebSocket = false;
    client.neonConfig.forceDisablePgSSL = true;
    client.neonConfig.pipelineConnect = false;
    client.neonConfig.pipelineTLS = false;
  }
  await client.connect();
  try {
    return await work(drizzle({ client, schema }));
  } finally {
    await client.end().catch(() => {});
  }
}
