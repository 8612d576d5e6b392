// Server-side cost of one search: `searchEvents` (every round trip it makes, on one warm
// connection) for 50 distinct keywords — exact names, misspellings, prefixes, several words, a
// performer with a city — beside the same question asked with ILIKE (every word somewhere in
// the event's text, the page by date and the total), on a catalog of N published events.
// Reports p50/p95/max over the keywords and the plans of the slowest keyword's statements.
//
// Usage: npm run bench:search -- [--events 100000] [--runs 5] [--ilike-runs 1]
//   --events N  the catalog: DATABASE_URL when set, else the database boxoffice_bench (100000)
//               or boxoffice_bench_<N> (boxoffice_bench_1m for 1000000) on 127.0.0.1:5432. Events
//               that are missing are seeded first (events only, no tickets: a million in minutes).
//   --runs R    searches per keyword; a keyword's time is the median of its runs (the machine is
//               shared, so one run measures the scheduler as much as the query).
// Besides the wall-clock time of each search (all its round trips, on one warm connection), it
// reports the time the Postgres backend spent on a CPU for it (/proc/<pid>/schedstat, when the
// server runs on this machine): on a machine whose cores are shared, the wall clock also counts
// the time the query waited for a core.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { drizzle } from 'drizzle-orm/node-postgres';
import type { Database } from '../src/db/client';
import { searchEvents } from '../src/db/search';
import { applyMigrations } from '../scripts/lib/migrate';
import { seedDemoCatalog, seedEvents } from '../scripts/lib/seed-catalog';
import { option } from './lib/options';
import { quick, recordResult } from './lib/results';

const KEYWORDS: Array<[category: string, keyword: string]> = [
  ...[
    'sienna vale', 'the velvet meridian', 'mozart by candlelight', 'the lighthouse keeper', 'kairo reese',
    'harborview symphony orchestra', 'neon tide', 'ruby lane quartet', 'nina patel', 'moonlight opera company',
    "beethoven's ninth", 'copper canyon',
  ].map((k) => ['exact', k] as [string, string]),
  ...[
    'seinna vale', 'velvet meridan', 'mozzart candlelight', 'lighthuose keeper', 'kiaro reese', 'harborveiw symphony',
    'neon tyde', 'rubby lane', 'nina patell', 'moonlite opera', 'cody ray whittaker', 'elena novikva',
  ].map((k) => ['misspelt', k] as [string, string]),
  ...['sien', 'stag', 'harb', 'midn', 'mozar', 'lanter', 'elec', 'gol', 'tchaik'].map((k) => ['prefix', k] as [string, string]),
  ...[
    'golden hearts tour', 'electric dreams world tour', 'live jazz', 'farewell tour', 'acoustic tour', 'symphony orchestra',
    'stand-up comedy', 'string quartet',
  ].map((k) => ['words', k] as [string, string]),
  ...[
    'sienna vale chicago', 'neon tide las vegas', 'kairo reese atlanta', 'jazz new orleans', 'comedy austin', 'nina patel boston',
    'velvet meridian denver', 'pulsewave miami', 'theo marsh portland',
  ].map((k) => ['city+performer', k] as [string, string]),
];

const QUICK = quick();
// --quick: 2,000 events (boxoffice_bench_2000, seeded once), one run per keyword.
const EVENTS = option('events', QUICK ? 2000 : 100_000);
const RUNS = option('runs', QUICK ? 1 : 5);
const ILIKE_RUNS = option('ilike-runs', 1);

function databaseUrl(): string {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const name = EVENTS === 100_000 ? 'boxoffice_bench' : `boxoffice_bench_${EVENTS % 1_000_000 === 0 ? `${EVENTS / 1_000_000}m` : EVENTS}`;
  return `postgres://postgres@127.0.0.1:5432/${name}`;
}

/** Makes sure the catalog has at least EVENTS published events, seeding (events only) what is missing. */
async function prepare(url: string): Promise<void> {
  const target = new URL(url);
  const admin = new pg.Client({ connectionString: Object.assign(new URL(url), { pathname: '/postgres' }).toString() });
  await admin.connect();
  const name = decodeURIComponent(target.pathname.slice(1));
  const exists = await admin.query('select 1 from pg_database where datname = $1', [name]);
  if (exists.rowCount === 0) {
    console.log(`creating the database ${name}…`);
    await admin.query(`create database "${name.replace(/"/g, '""')}"`);
  }
  await admin.end();
  await applyMigrations(url);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const db = drizzle(client);
    await seedDemoCatalog(db, { log: console.log });
    const { rows } = await client.query("select count(*)::int as n from events where status = 'published'");
    const missing = EVENTS - rows[0].n;
    if (missing > 0) {
      console.log(`seeding ${missing} events (no tickets) so the catalog has ${EVENTS}…`);
      let last = 0;
      await seedEvents(db, missing, {
        tickets: false,
        log: (line) => {
          if (Date.now() - last > 10_000 || !line.startsWith('seeded')) console.log(`  ${line}`);
          last = Date.now();
        },
      });
      await client.query('vacuum analyze events');
    }
  } finally {
    await client.end();
  }
}

/** Every statement a search sends, with its parameters and how long it took. */
interface Statement {
  text: string;
  values: unknown[];
  ms: number;
}

/** Records what goes through `client.query`, without changing it. */
function record(client: pg.Client): { statements: Statement[]; stop(): void } {
  const statements: Statement[] = [];
  const original = client.query;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  (client as any).query = async function (this: pg.Client, config: any, values?: any) {
    const text = typeof config === 'string' ? config : config.text;
    const params = values ?? (typeof config === 'string' ? undefined : config.values) ?? [];
    const started = performance.now();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const result = await (original as any).call(this, config, values);
    statements.push({ text, values: params, ms: performance.now() - started });
    return result;
  };
  return { statements, stop: () => void (client.query = original) };
}

// The same question asked with ILIKE: every word somewhere in the event's text, the page by
// date and the total (what the search answers), without typo tolerance.
function ilikeQuery(words: string[]): string {
  const text = `(e.name || ' ' || p.name || ' ' || v.name || ' ' || v.city || ' ' || coalesce(p.genre, '') || ' ' || coalesce(e.description, ''))`;
  return `
    select e.id, count(*) over () as total from events e
    join performers p on p.id = e.performer_id
    join venues v on v.id = e.venue_id
    where e.status = 'published' and ${words.map((_, i) => `${text} ilike $${i + 1}`).join(' and ')}
    order by e.starts_at, e.id
    limit 20`;
}

/** Nanoseconds the backend has spent on a CPU so far, or null when it is not a process of this machine. */
function cpuNanos(pid: number): number | null {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return null;
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.ceil((p / 100) * values.length) - 1)]!;
const ms = (value: number) => `${value.toFixed(1)} ms`;

async function main() {
  const url = databaseUrl();
  await prepare(url);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const db = drizzle(client) as unknown as Database;
  const { rows } = await client.query("select count(*)::int as n from events where status = 'published'");
  console.log(`\nsearch on ${rows[0].n} published events (${url.replace(/\/\/[^@]*@/, '//')}): median of ${RUNS} runs per keyword, ILIKE ${ILIKE_RUNS}`);

  const pid = (await client.query('select pg_backend_pid() as pid')).rows[0].pid as number;
  const onCpu = cpuNanos(pid) !== null;
  /** Wall-clock and backend CPU milliseconds of `work`. */
  const timed = async (work: () => Promise<unknown>) => {
    const cpu = cpuNanos(pid);
    const started = performance.now();
    await work();
    return { wall: performance.now() - started, cpu: onCpu ? (cpuNanos(pid)! - cpu!) / 1e6 : NaN };
  };

  // One search first, so the connection and the caches are warm for all keywords alike.
  await searchEvents(db, { keyword: 'warm up', page: 1, pageSize: 20 });
  type Measure = { wall: number; cpu: number };
  const results: Array<{ category: string; keyword: string; search: Measure; ilike: Measure; total: number; exact: boolean; statements: number }> = [];
  const medianOf = (measures: Measure[]): Measure => ({ wall: median(measures.map((m) => m.wall)), cpu: median(measures.map((m) => m.cpu)) });
  for (const [category, keyword] of KEYWORDS) {
    let answer = await searchEvents(db, { keyword, page: 1, pageSize: 20 });
    const searches: Measure[] = [];
    let statements = 0;
    for (let run = 0; run < RUNS; run++) {
      const recorder = record(client);
      searches.push(await timed(async () => (answer = await searchEvents(db, { keyword, page: 1, pageSize: 20 }))));
      recorder.stop();
      statements = recorder.statements.length;
    }
    const words = keyword.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
    const scans: Measure[] = [];
    for (let run = 0; run < ILIKE_RUNS; run++) scans.push(await timed(() => client.query(ilikeQuery(words), words.map((w) => `%${w}%`))));
    const row = { category, keyword, search: medianOf(searches), ilike: medianOf(scans), total: answer.total, exact: answer.totalExact !== false, statements };
    results.push(row);
    console.log(
      `  ${category.padEnd(15)} ${JSON.stringify(keyword).padEnd(32)} ${ms(row.search.wall).padStart(9)} (cpu ${ms(row.search.cpu).padStart(8)})` +
        `   ILIKE ${ms(row.ilike.wall).padStart(10)} (cpu ${ms(row.ilike.cpu).padStart(10)})   ${row.exact ? '' : '~'}${row.total} events, ${row.statements} statements`,
    );
  }

  const report = (label: string, pick: (m: Measure) => number) => {
    const search = results.map((r) => pick(r.search));
    const ilike = results.map((r) => pick(r.ilike));
    console.log(`\n  ${label.padEnd(22)} p50          p95          max`);
    console.log(`  search                 ${ms(percentile(search, 50)).padEnd(12)} ${ms(percentile(search, 95)).padEnd(12)} ${ms(Math.max(...search))}`);
    console.log(`  ILIKE                  ${ms(percentile(ilike, 50)).padEnd(12)} ${ms(percentile(ilike, 95)).padEnd(12)} ${ms(Math.max(...ilike))}`);
    console.log(`  ILIKE takes ${(percentile(ilike, 95) / percentile(search, 95)).toFixed(0)}× as long at p95, ${(percentile(ilike, 50) / percentile(search, 50)).toFixed(0)}× at p50`);
  };
  report(`${KEYWORDS.length} keywords, wall`, (m) => m.wall);
  if (onCpu) report(`${KEYWORDS.length} keywords, cpu`, (m) => m.cpu);
  const walls = results.map((r) => r.search.wall);
  const ilikes = results.map((r) => r.ilike.wall);
  recordResult('search', {
    options: { events: rows[0].n, runs: RUNS, ilikeRuns: ILIKE_RUNS },
    figures: [
      { label: `search p50 over ${KEYWORDS.length} keywords (${rows[0].n.toLocaleString('en')} events)`, value: Math.round(percentile(walls, 50) * 10) / 10, unit: 'ms' },
      { label: 'search p95', value: Math.round(percentile(walls, 95) * 10) / 10, unit: 'ms' },
      { label: 'search max', value: Math.round(Math.max(...walls) * 10) / 10, unit: 'ms' },
      { label: 'keywords that found events', value: results.filter((r) => r.total > 0).length, unit: `of ${KEYWORDS.length}` },
      { label: 'ILIKE p95', value: Math.round(percentile(ilikes, 95) * 10) / 10, unit: 'ms' },
      ...(onCpu ? [{ label: 'search p95, backend CPU', value: Math.round(percentile(results.map((r) => r.search.cpu), 95) * 10) / 10, unit: 'ms' }] : []),
    ],
  });

  const slowest = results.reduce((a, b) => (b.search.wall > a.search.wall ? b : a));
  console.log(`\nthe slowest keyword, ${JSON.stringify(slowest.keyword)} (${slowest.category}): its statements, explained`);
  await explainSearch(client, db, slowest.keyword);
  await client.end();
}

/** Runs the search once more, recording its statements, then EXPLAIN ANALYZE of each in the same order, in a transaction rolled back. */
async function explainSearch(client: pg.Client, db: Database, keyword: string): Promise<void> {
  const recorder = record(client);
  await searchEvents(db, { keyword, page: 1, pageSize: 20 });
  recorder.stop();
  await client.query('begin');
  try {
    for (const statement of recorder.statements) {
      const text = statement.text.trim();
      if (/^(begin|commit|rollback)$/i.test(text)) continue;
      if (/^(select set_config|explain)/i.test(text)) {
        await client.query(text, statement.values);
        continue;
      }
      const plan = await client.query(`explain (analyze, buffers) ${text}`, statement.values);
      console.log(`\n-- ${ms(statement.ms)} in the search: ${text.replace(/\s+/g, ' ').slice(0, 160)}…`);
      for (const row of plan.rows) console.log(`   ${row['QUERY PLAN']}`);
    }
  } finally {
    await client.query('rollback');
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
