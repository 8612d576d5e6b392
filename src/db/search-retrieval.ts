// Finding a page of matches without touching every match.
//
// Results come in tiers (relevance: the words all in names, then all in names or place, then
// anywhere; other sorts: one tier), each in a precomputed order: the date-ordered index
// `events_search_walk_idx` (starts_at, id, carrying the search document and the columns filters
// need, so a walk along it reads index pages only), or `events_search_name_idx` for sort=name.
//
// 1. A sample: the first `sampleSize` published events of the date range, in that order, are
//    checked against the keyword and filters. If that is the whole range, it has every match
//    and everything is exact.
// 2. Sparse: if the sample says few events match (under `sparseLimit` in the range, by its
//    share of matches), the GIN indexes find them all: exact total and facets.
// 3. Dense (a common word, a short prefix): tier by tier, a tier's first matches in order are
//    the first ones met walking the order; the walk goes on from the sample, stopping as soon
//    as the page is full, and gives up after `walkBudget` index entries (that tier is then
//    sparse after all, and its GIN index finds all of it). The total and the facets are then
//    estimated from the sample.
// Relevance survives: the order within the results is exact (every event of a better tier
// comes before every event of a worse one, each tier by date), only the count is estimated.
import { sql, type SQL } from 'drizzle-orm';
import type { SqlRunner } from './search';

export interface SearchTuning {
  /** Index entries read for the sample. */
  sampleSize: number;
  /** Index entries a walk reads at most, beyond the sample, before asking the GIN index. */
  walkBudget: number;
  /** Matches (estimated) up to which the GIN index enumerates them all. */
  sparseLimit: number;
}

export const DEFAULT_TUNING: SearchTuning = { sampleSize: 1000, walkBudget: 20_000, sparseLimit: 1000 };

/** Conditions on an events row `a`, besides `status = 'published'`. */
export interface SearchScope {
  /** The date range (in the date walk, a range of the index). */
  range(a: SQL): SQL;
  /** Filters on the columns the walk index carries (id, starts_at, on_sale_at, venue_id, performer_id). */
  filters(a: SQL): SQL;
}

/** Which events match, and in which tier (1 best). */
export interface Matcher {
  tiers: number;
  /** Row `a` matches at all (in a form both a row and the GIN index answer). */
  any(a: SQL): SQL;
  /** Row `a` is in tier `t`, checked on the row's own document. */
  row(t: number, a: SQL): SQL;
  /** The same condition in the form the GIN indexes answer. */
  indexed(t: number, a: SQL): SQL;
  /** Row `a`'s tier, for a row known to match. */
  tierOf(a: SQL): SQL;
}

export interface Candidate {
  id: string;
  venueId: string;
  performerId: string;
}

export interface Retrieval {
  /** The first `need` matches in result order (all of them when there are fewer). */
  ordered: Candidate[];
  /** Every match was enumerated: `total` and the facets are exact. */
  exact: boolean;
  total: number;
  /** The matches facets are counted over, and the factor their counts are scaled by. */
  facetSample: Candidate[];
  facetScale: number;
}

interface RetrievalRequest {
  matcher: Matcher;
  scope: SearchScope;
  order: 'date' | 'name';
  /** For sort=distance: the distance from a venue `v`; every match is then found and sorted by it. */
  distance: ((v: SQL) => SQL) | null;
  need: number;
  tuning: SearchTuning;
}

interface Row extends Candidate {
  key: string;
  tier: number;
}

const e = sql`e`;
const w = sql`w`;

const keyOf = (order: RetrievalRequest['order'], a: SQL) => (order === 'date' ? sql`${a}.starts_at` : sql`lower(${a}.name)`);
const keyType = (order: RetrievalRequest['order']) => (order === 'date' ? sql`timestamptz` : sql`text`);

function toRows(result: unknown): Row[] {
  return (result as { rows: Array<Record<string, unknown>> }).rows
    .filter((row) => row.id !== null)
    .map((row) => ({ id: String(row.id), key: String(row.key), venueId: String(row.venue_id), performerId: String(row.performer_id), tier: Number(row.tier ?? 1) }));
}

/** The columns every walk reads; filters and tiers use nothing else. */
const walkColumns = (order: RetrievalRequest['order']) =>
  sql`e.id, ${keyOf(order, e)} as key, e.search_vector, e.venue_id, e.performer_id, e.on_sale_at, e.starts_at`;

export async function retrieve(db: SqlRunner, request: RetrievalRequest): Promise<Retrieval> {
  const { matcher, scope, order, tuning, need } = request;
  if (request.distance) return everyMatchByDistance(db, request);

  // 1. The sample: every match among the first entries of the range, and where it ended.
  const sample = (await db.execute(sql`
    with w as materialized (
      select ${walkColumns(order)} from events e
      where e.status = 'published' ${scope.range(e)}
      order by ${keyOf(order, e)}, e.id
      limit ${tuning.sampleSize}
    ), last as (
      select w.key::text as last_key, w.id as last_id from w order by w.key desc, w.id desc limit 1
    )
    select s.seen, l.last_key, l.last_id, m.id, m.key, m.venue_id, m.performer_id, m.tier
    from (select count(*)::int as seen from w) s
    left join last l on true
    left join lateral (
      select w.id, w.key::text as key, w.venue_id, w.performer_id, ${matcher.tierOf(w)} as tier
      from w where ${matcher.any(w)} ${scope.filters(w)}
      order by w.key, w.id
    ) m on true`)) as { rows: Array<Record<string, unknown>> };
  const first = sample.rows[0]!;
  const seen = Number(first.seen);
  const matches = toRows(sample);
  const byTier = (rows: Row[]) => (t: number) => rows.filter((row) => row.tier === t);
  const inSample = byTier(matches);
  if (seen < tuning.sampleSize) {
    const ordered = Array.from({ length: matcher.tiers }, (_, i) => inSample(i + 1)).flat();
    return { ordered, exact: true, total: ordered.length, facetSample: ordered, facetScale: 1 };
  }

  const scopeSize = await estimatedScope(db, scope);
  const perEntry = scopeSize / seen;
  const estimatedTotal = matches.length * perEntry;
  // 2. Sparse: the GIN indexes enumerate every match.
  if (estimatedTotal <= tuning.sparseLimit) {
    const all = toRows(await db.execute(sql`
      select e.id, ${keyOf(order, e)}::text as key, e.venue_id, e.performer_id, ${matcher.tierOf(e)} as tier
      from events e
      where e.status = 'published' ${scope.range(e)} and ${matcher.any(e)} ${scope.filters(e)}
      order by tier, ${keyOf(order, e)}, e.id`));
    return { ordered: all, exact: true, total: all.length, facetSample: all, facetScale: 1 };
  }

  // 3. Dense: tier by tier, walking on from the sample.
  const cursor = { key: String(first.last_key), id: String(first.last_id) };
  const ordered: Row[] = [];
  let tiersEnumerated = 0;
  for (let t = 1; t <= matcher.tiers && ordered.length < need; t++) {
    const wanted = need - ordered.length;
    const sampled = inSample(t);
    if (sampled.length >= wanted) {
      ordered.push(...sampled.slice(0, wanted));
      break;
    }
    if (sampled.length * perEntry <= tuning.sparseLimit) {
      ordered.push(...(await wholeTier(db, request, t)));
      tiersEnumerated = t;
      continue;
    }
    // Enough entries to find what is still wanted at the sample's rate, and at least the budget.
    const missing = wanted - sampled.length;
    const budget = Math.max(tuning.walkBudget, Math.ceil((4 * missing * seen) / sampled.length));
    const walked = await walkOn(db, request, t, cursor, missing, budget);
    if (walked.length === missing) {
      ordered.push(...sampled, ...walked);
      break;
    }
    ordered.push(...((await walkReachedEnd(db, request, cursor, budget)) ? [...sampled, ...walked] : await wholeTier(db, request, t)));
    tiersEnumerated = t;
  }
  if (tiersEnumerated === matcher.tiers) {
    return { ordered, exact: true, total: ordered.length, facetSample: ordered, facetScale: 1 };
  }
  const total = Math.max(Math.round(estimatedTotal), ordered.length);
  return { ordered, exact: false, total, facetSample: matches, facetScale: matches.length > 0 ? total / matches.length : 0 };
}

/** The planner's estimate of the published events in the range: the sample's matches are scaled by it. */
async function estimatedScope(db: SqlRunner, scope: SearchScope): Promise<number> {
  const result = (await db.execute(sql`explain (format json) select 1 from events e where e.status = 'published' ${scope.range(e)}`)) as {
    rows: Array<Record<string, unknown>>;
  };
  const cell = Object.values(result.rows[0]!)[0];
  const plan = (typeof cell === 'string' ? JSON.parse(cell) : cell) as Array<{ Plan: { 'Plan Rows': number } }>;
  return plan[0]!.Plan['Plan Rows'];
}

/** Every match of tier `t`, in order, through the GIN indexes. */
async function wholeTier(db: SqlRunner, { matcher, scope, order }: RetrievalRequest, t: number): Promise<Row[]> {
  return toRows(await db.execute(sql`
    select e.id, ${keyOf(order, e)}::text as key, e.venue_id, e.performer_id, ${t} as tier
    from events e
    where e.status = 'published' ${scope.range(e)} and ${matcher.indexed(t, e)} ${scope.filters(e)}
    order by ${keyOf(order, e)}, e.id`));
}

const after = (order: RetrievalRequest['order'], cursor: { key: string; id: string }) =>
  sql`(${keyOf(order, e)}, e.id) > (${cursor.key}::${keyType(order)}, ${cursor.id}::uuid)`;

/** Up to `wanted` more matches of tier `t` after the cursor, reading at most `budget` index entries. */
async function walkOn(db: SqlRunner, { matcher, scope, order }: RetrievalRequest, t: number, cursor: { key: string; id: string }, wanted: number, budget: number): Promise<Row[]> {
  return toRows(await db.execute(sql`
    select w.id, w.key::text as key, w.venue_id, w.performer_id, ${t} as tier
    from (
      select ${walkColumns(order)} from events e
      where e.status = 'published' ${scope.range(e)} and ${after(order, cursor)}
      order by ${keyOf(order, e)}, e.id
      limit ${budget}
    ) w
    where ${matcher.row(t, w)} ${scope.filters(w)}
    limit ${wanted}`));
}

/** Whether fewer than `budget` entries follow the cursor: a walk that found too little then saw them all. */
async function walkReachedEnd(db: SqlRunner, { scope, order }: RetrievalRequest, cursor: { key: string; id: string }, budget: number): Promise<boolean> {
  const result = (await db.execute(sql`
    select count(*)::int as n from (
      select 1 from events e
      where e.status = 'published' ${scope.range(e)} and ${after(order, cursor)}
      order by ${keyOf(order, e)}, e.id
      limit ${budget}
    ) c`)) as { rows: Array<{ n: number }> };
  return Number(result.rows[0]!.n) < budget;
}

/** sort=distance: every match within the radius, nearest first (ties by date). */
async function everyMatchByDistance(db: SqlRunner, { matcher, scope, distance }: RetrievalRequest): Promise<Retrieval> {
  const all = toRows(await db.execute(sql`
    select e.id, e.starts_at::text as key, e.venue_id, e.performer_id, 1 as tier
    from events e join venues v on v.id = e.venue_id
    where e.status = 'published' ${scope.range(e)} and ${matcher.any(e)} ${scope.filters(e)}
    order by ${distance!(sql`v`)}, e.starts_at, e.id`));
  return { ordered: all, exact: true, total: all.length, facetSample: all, facetScale: 1 };
}
