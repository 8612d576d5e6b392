// Server-side cost of keyword search: the stored tsvector with its GIN index (what
// src/db/search.ts runs) against ILIKE over the same text, side by side on one catalog.
// Usage: DATABASE_URL=postgres://… npm run bench -- [--runs 5]
// (seed a large catalog first: DATABASE_URL=… npm run seed -- --events 100000)
import pg from 'pg';

const KEYWORDS = ['sienna vale', 'mozart candlelight', 'lighthouse'];

const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/boxoffice_bench';
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;

const fullText = `
  select e.id from events e
  where e.status = 'published' and e.search_vector @@ plainto_tsquery('english', $1)
  order by ts_rank_cd(e.search_vector, plainto_tsquery('english', $1)) desc, e.starts_at
  limit 20`;
// The same question asked with ILIKE: every word somewhere in the event's text.
const ilike = `
  select e.id from events e
  join performers p on p.id = e.performer_id
  join venues v on v.id = e.venue_id
  where e.status = 'published'
    and (select bool_and((e.name || ' ' || p.name || ' ' || v.name || ' ' || v.city || ' ' || coalesce(e.description, '')) ilike '%' || w || '%')
         from unnest(string_to_array($1, ' ')) as w)
  order by e.starts_at
  limit 20`;

async function executionMs(client: pg.Client, query: string, keyword: string): Promise<number> {
  const result = await client.query(`explain (analyze, format json) ${query}`, [keyword]);
  return (result.rows[0]['QUERY PLAN'][0] as { 'Execution Time': number })['Execution Time'];
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const client = new pg.Client({ connectionString: databaseUrl });
try {
  await client.connect();
} catch (error) {
  console.error(`cannot reach ${databaseUrl}: ${(error as Error).message}. Set DATABASE_URL to a seeded database.`);
  process.exit(1);
}
const { rows } = await client.query('select count(*)::int as n from events');
console.log(`search benchmark on ${rows[0].n} events, median of ${runs} runs each (EXPLAIN ANALYZE execution time)`);
for (const keyword of KEYWORDS) {
  const indexed: number[] = [];
  const scanned: number[] = [];
  for (let run = 0; run < runs; run++) {
    indexed.push(await executionMs(client, fullText, keyword));
    scanned.push(await executionMs(client, ilike, keyword));
    process.stdout.write('.');
  }
  const [fts, like] = [median(indexed), median(scanned)];
  console.log(`\n  "${keyword}": full-text ${fts.toFixed(2)} ms, ILIKE ${like.toFixed(2)} ms → ILIKE takes ${(like / fts).toFixed(0)}× as long`);
}
await client.end();
