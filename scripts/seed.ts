// `npm run seed [-- --events N]`: applies the migrations, seeds the demo catalog into an empty
// database and optionally adds N benchmark events. Uses DATABASE_URL when set, else the
// embedded PGlite that `npm run dev` uses.
import { parseArgs } from 'node:util';
import pg from 'pg';
import { drizzle } from 'drizzle-orm/node-postgres';
import { applyMigrations } from './lib/migrate';
import { openLocalDatabase } from './lib/open-database';
import { seedDemoCatalog, seedEvents } from './lib/seed-catalog';

const USAGE = `usage: npm run seed [-- --events N [--without-tickets]]

  Seeds the demo catalog (20 venues, 50 performers, ~220 events) if there are no events yet.
  --events N   then adds N more published events in small venues, for benchmarks (e.g. 100000)
  --without-tickets
               those events get no tickets: a catalog for search alone (1000000 in minutes)

  DATABASE_URL selects a Postgres server; without it the embedded database in .data/pglite is used.`;

function parseOptions(): { count: number; tickets: boolean } {
  let values: { events?: string; 'without-tickets'?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: { events: { type: 'string' }, 'without-tickets': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (error) {
    fail((error as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const tickets = !values['without-tickets'];
  if (values.events === undefined) {
    if (!tickets) fail('--without-tickets goes with --events N');
    return { count: 0, tickets };
  }
  const count = Number(values.events);
  if (!/^\d+$/.test(values.events) || !Number.isSafeInteger(count)) fail(`--events needs a whole number, got "${values.events}"`);
  return { count, tickets };
}

function fail(message: string): never {
  console.error(`seed: ${message}\n\n${USAGE}`);
  process.exit(2);
}

const log = (message: string) => console.log(message);

async function main() {
  const { count, tickets } = parseOptions();
  const database = await openLocalDatabase(process.env.DATABASE_URL || undefined);
  try {
    console.log(`database: ${database.describe}`);
    await applyMigrations(database.nodeConnectionString);
    const client = new pg.Client({ connectionString: database.nodeConnectionString });
    await client.connect();
    try {
      const db = drizzle(client);
      const started = Date.now();
      const demo = await seedDemoCatalog(db, { log });
      if (demo) {
        console.log(
          `demo catalog: ${demo.venues} venues (${demo.seats} seats), ${demo.performers} performers, ` +
            `${demo.events} events (${demo.drafts} drafts), ${demo.tickets} tickets in ${seconds(started)}`,
        );
      } else {
        console.log('demo catalog: already there (the events table is not empty)');
      }
      if (count > 0) {
        const benchStarted = Date.now();
        const added = await seedEvents(db, count, { log, tickets });
        console.log(`added ${added.events} events${tickets ? ` with ${added.tickets} tickets` : ' (no tickets)'} in ${seconds(benchStarted)}`);
      }
    } finally {
      await client.end();
    }
  } finally {
    await database.close();
  }
}

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

main().catch((error: unknown) => {
  console.error(`seed failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
