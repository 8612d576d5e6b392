// `npm run db:migrate`: applies the committed migrations to DATABASE_URL, or to the embedded
// PGlite in .data/pglite when it is unset. `npm run deploy` passes --require-database-url so a
// missing production URL stops the deploy instead of migrating the local database.
import { parseArgs } from 'node:util';
import { applyMigrations } from './lib/migrate';
import { openLocalDatabase } from './lib/open-database';

async function main() {
  const { values } = parseArgs({ options: { 'require-database-url': { type: 'boolean' } } });
  const databaseUrl = process.env.DATABASE_URL || undefined;
  if (values['require-database-url'] && !databaseUrl) {
    throw new Error(
      'DATABASE_URL is not set. Set it to the Neon connection string (with ?sslmode=require), e.g.\n' +
        '  DATABASE_URL="postgresql://user:password@ep-….neon.tech/neondb?sslmode=require" npm run deploy',
    );
  }
  const database = await openLocalDatabase(databaseUrl);
  try {
    console.log(`migrating ${database.describe}…`);
    await applyMigrations(database.nodeConnectionString);
    console.log('migrations applied');
  } finally {
    await database.close();
  }
}

main().catch((error: unknown) => {
  console.error(`db:migrate failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
