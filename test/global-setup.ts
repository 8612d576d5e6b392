import { runOnServer } from '../scripts/lib/postgres-server';
import { startLocalNeonProxy } from '../scripts/lib/local-neon-proxy';
import { startEmbeddedPostgres, usePostgresServer, type LocalDatabase } from '../scripts/lib/local-database';
import { applyMigrations } from '../scripts/lib/migrate';

export type TestDatabasePlan =
  | { kind: 'postgres'; adminUrl: string; databaseName: string; proxyPort: number }
  | { kind: 'pglite'; proxyPort: number };

/** A fresh database for this run, migrated, behind the local Neon proxy; dropped afterwards. */
export default async function setup() {
  const plan = JSON.parse(process.env.BOX_OFFICE_TEST_PLAN!) as TestDatabasePlan;
  let database: LocalDatabase;
  if (plan.kind === 'postgres') {
    await runOnServer(plan.adminUrl, `create database "${plan.databaseName}"`);
    database = usePostgresServer(Object.assign(new URL(plan.adminUrl), { pathname: `/${plan.databaseName}` }).toString());
  } else {
    database = await startEmbeddedPostgres(undefined);
  }
  await applyMigrations(database.nodeConnectionString);
  const proxy = await startLocalNeonProxy({
    upstream: database.upstream,
    serializeSessions: database.kind === 'pglite',
    port: plan.proxyPort,
    // test/durable/confirm-retry.test.ts takes the database away from its own Worker (see vitest.config.ts).
    faultControl: true,
    log: (message) => console.warn(`[db proxy] ${message}`),
  });
  console.log(`tests use ${database.describe}`);

  return async () => {
    await proxy.close();
    await database.close();
    if (plan.kind === 'postgres') await runOnServer(plan.adminUrl, `drop database if exists "${plan.databaseName}" with (force)`);
  };
}
