import type { TestProject } from 'vitest/node';
import pg from 'pg';
import { startLocalNeonProxy } from '../scripts/lib/local-neon-proxy';
import { startEmbeddedPostgres, usePostgresServer, type LocalDatabase } from '../scripts/lib/local-database';
import { applyMigrations } from '../scripts/lib/migrate';

export default async function setup(project: TestProject) {
  const plan = JSON.parse(process.env.BOX_OFFICE_TEST_PLAN!) as { kind: 'postgres' | 'pglite'; adminUrl?: string; databaseName?: string; proxyPort: number };
  let database: LocalDatabase;
  if (plan.kind === 'postgres') {
    const admin = new pg.Client({ connectionString: plan.adminUrl });
    await admin.connect();
    await admin.query(`create database "${plan.databaseName}"`);
    await admin.end();
    const url = new URL(plan.adminUrl!);
    url.pathname = `/${plan.databaseName}`;
    database = usePostgresServer(url.toString());
  } else {
    database = await startEmbeddedPostgres(undefined);
  }
  await applyMigrations(database.nodeConnectionString);
  const proxy = await startLocalNeonProxy({ upstream: database.upstream, serializeSessions: database.kind === 'pglite', port: plan.proxyPort, log: (m) => console.warn(`[db proxy] ${m}`) });
  console.log(`tests use ${database.describe}`);
  return async () => {
    await proxy.close();
    await database.close();
    if (plan.kind === 'postgres') {
      const admin = new pg.Client({ connectionString: plan.adminUrl });
      await admin.connect();
      await admin.query(`drop database if exists "${plan.databaseName}" with (force)`);
      await admin.end();
    }
  };
}
