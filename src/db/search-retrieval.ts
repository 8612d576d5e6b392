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
//    share of matches; with one or two matches in it, the planner's estimate decides too), the
//    GIN indexes find them all: exact total and facets.
// 3. Dense (a common word, a short prefix): tier by tier, a tier's first matches in order are
//    the first ones met walking the order; a tier the sample says is rare is enumerated by the
//    GIN index of its part of the document; else the walk goes on from the sample, stopping as
//    soon as the page is full, and gives up after twice the entries the sample's rate needs (at
//    least `walkBudget`): that tier is then rarer than it looked, and its GIN index finds it.
//    The total and the facets are then estimated from the sample.
// Relevance survives: the order within the results is exact (every event of a better tier
// comes before every event of a worse one, each tier by date), only the count is estimated.
import { sql, type SQL } from 'drizzle-orm';
import type { SqlRunner } from './search';

export interface SearchTuning {
  /** Index entries read for the sample. */
  sampleSize: number;
  /** Index entries a walk beyond the sample reads at least before it gives up for the GIN index. */
  walkBudget: number;
  /** Matches (estimated) up to which the GIN index enumerates them all. */
  sparseLimit: number;
}

export const DEFAULT_TUNING: SearchTuning = { sampleSize: 1000, walkBudget: 5000, sparseLimit: 1000 };
/** Matches in the sample too few to estimate from alone. */
const FEW_MATCHES = 2;

/** Conditions on an events row `a`, besides `status = 'published'`. */
export interface SearchScope {
  /** Whether there is a date range. */
  ranged: boolean;
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

interface Walk {
  /** The matches met, in order. */
  matches: Row[];
  /** The last entry read, when the walk read all it was allowed to (else the range ended). */
  stoppedAt: { key: string; id: string } | null;
  /** The walk index's own count of entries (pg_class.reltuples: 0 or less before it was counted). */
  indexed: number;
}

/**
 * Reads up to `entries` published events of the range in order, after `cursor`, stopping early
 * once `enough` matches of `match` were met. The `entries`-th entry comes back too (a sentinel,
 * whether it matches or not), so the caller knows the walk used its allowance and where it ended.
 */
async function walk(db: SqlRunner, request: RetrievalRequest, match: (a: SQL) => SQL, tier: (a: SQL) => SQL, options: {
  cursor: { key: string; id: string } | null;
  entries: number;
  enough: number;
}): Promise<Walk> {
  const { order, scope } = request;
  const after = options.cursor ? sql`and (${keyOf(order, e)}, e.id) > (${options.cursor.key}::${keyType(order)}, ${options.cursor.id}::uuid)` : sql``;
  const result = (await db.execute(sql`
    select m.id, m.key::text as key, m.venue_id, m.performer_id, m.pos, m.matched,
           case when m.matched then ${tier(sql`m`)} end as tier,
           (select reltuples from pg_class where oid = 'events_search_walk_idx'::regclass) as indexed
    from (
      select w.*, (${match(w)} ${scope.filters(w)}) as matched
      from (
        select ${walkColumns(order)}, row_number() over (order by ${keyOf(order, e)}, e.id) as pos
        from events e
        where e.status = 'published' ${scope.range(e)} ${after}
        order by ${keyOf(order, e)}, e.id
        limit ${options.entries}
      ) w
      offset 0
    ) m
    where m.matched or m.pos = ${options.entries}
    limit ${options.enough}`)) as { rows: Array<Record<string, unknown>> };
  const sentinel = result.rows.find((row) => Number(row.pos) === options.entries);
  return {
    matches: toRows({ rows: result.rows.filter((row) => row.matched === true) }),
    stoppedAt: sentinel ? { key: String(sentinel.key), id: String(sentinel.id) } : null,
    indexed: Number(result.rows[0]?.indexed ?? 0),
  };
}

export async function retrieve(db: SqlRunner, request: RetrievalRequest): Promise<Retrieval> {
  const { matcher, scope, tuning, need } = request;
  if (request.distance) return everyMatchByDistance(db, request);

  // 1. The sample: every match among the first entries of the range.
  const sample = await walk(db, request, matcher.any, matcher.tierOf, { cursor: null, entries: tuning.sampleSize, enough: tuning.sampleSize });
  const matches = sample.matches;
  const inSample = (t: number) => matches.filter((row) => row.tier === t);
  if (!sample.stoppedAt) {
    const ordered = Array.from({ length: matcher.tiers }, (_, i) => inSample(i + 1)).flat();
    return { ordered, exact: true, total: ordered.length, facetSample: ordered, facetScale: 1 };
  }

  // The published events of the range scale the sample's matches up: without a range, the walk
  // index's own count (kept by VACUUM and ANALYZE); else, or before it was ever counted, the
  // planner's estimate.
  const seen = tuning.sampleSize;
  const scopeSize = async () => (!scope.ranged && sample.indexed > 0 ? sample.indexed : estimatedRows(db, sql`e.status = 'published' ${scope.range(e)}`));
  const perEntry = matches.length === 0 ? 0 : (await scopeSize()) / seen;
  const estimatedTotal = matches.length * perEntry;
  /**
   * Whether `inSample` matches in the sample stand for few enough events to enumerate with the
   * GIN indexes. One or two say little (one match in 1000 entries is as likely from 300 events
   * as from 3000), so then the planner's estimate decides too; it errs on words that go
   * together (a performer's two names), and those come in many matches, never in one or two.
   */
  const sparse = async (inSampleCount: number, condition: SQL) =>
    inSampleCount * perEntry <= tuning.sparseLimit ||
    (inSampleCount <= FEW_MATCHES && (await estimatedRows(db, sql`e.status = 'published' ${scope.range(e)} and ${condition} ${scope.filters(e)}`)) <= tuning.sparseLimit);

  // 2. Sparse: the GIN indexes enumerate every match (unless there are many after all).
  const cap = 2 * tuning.sparseLimit;
  // When that turned out wrong, the estimates that misled it (a sample with a match or two,
  // the planner) are not asked about the tiers either: they are walked.
  let estimatesFailed = false;
  if (await sparse(matches.length, matcher.any(e))) {
    const all = await enumerate(db, request, matcher.any(e), matcher.tierOf(e), cap);
    if (all) return { ordered: all, exact: true, total: all.length, facetSample: all, facetScale: 1 };
    estimatesFailed = true;
  }

  // 3. Dense: tier by tier, walking on from the sample.
  const ordered: Row[] = [];
  let tiersEnumerated = 0;
  for (let t = 1; t <= matcher.tiers && ordered.length < need; t++) {
    const wanted = need - ordered.length;
    const sampled = inSample(t);
    if (sampled.length >= wanted) {
      ordered.push(...sampled.slice(0, wanted));
      break;
    }
    const trusted = !estimatesFailed || sampled.length > FEW_MATCHES;
    const rare = trusted && (await sparse(sampled.length, matcher.indexed(t, e))) ? await enumerate(db, request, matcher.indexed(t, e), sql`${t}`, cap) : null;
    if (rare) {
      ordered.push(...rare);
      tiersEnumerated = t;
      continue;
    }
    // Twice the entries that should hold what is still wanted at the sample's rate, at least the budget.
    const missing = wanted - sampled.length;
    const entries = Math.max(tuning.walkBudget, Math.ceil((2 * missing * seen) / Math.max(1, sampled.length)));
    const tierOnly = (a: SQL) => matcher.row(t, a);
    const walked = await walk(db, request, tierOnly, () => sql`${t}`, { cursor: sample.stoppedAt, entries, enough: missing });
    if (walked.matches.length >= missing) {
      ordered.push(...sampled, ...walked.matches.slice(0, missing));
      break;
    }
    // The range ended: the tier is complete. Else the tier is rarer than the sample said.
    ordered.push(...(walked.stoppedAt ? (await enumerate(db, request, matcher.indexed(t, e), sql`${t}`, null))! : [...sampled, ...walked.matches]));
    tiersEnumerated = t;
  }
  if (tiersEnumerated === matcher.tiers) {
    return { ordered, exact: true, total: ordered.length, facetSample: ordered, facetScale: 1 };
  }
  const total = Math.max(Math.round(estimatedTotal), ordered.length);
  return { ordered, exact: false, total, facetSample: matches, facetScale: matches.length > 0 ? total / matches.length : 0 };
}

/** The planner's estimate of the events rows `e` that meet `condition`. */
async function estimatedRows(db: SqlRunner, condition: SQL): Promise<number> {
  const result = (await db.execute(sql`explain (format json) select 1 from events e where ${condition}`)) as {
    rows: Array<Record<string, unknown>>;
  };
  const cell = Object.values(result.rows[0]!)[0];
  const plan = (typeof cell === 'string' ? JSON.parse(cell) : cell) as Array<{ Plan: { 'Plan Rows': number } }>;
  return plan[0]!.Plan['Plan Rows'];
}

/**
 * Every event meeting `condition` (in the form the GIN indexes answer), by tier and in order;
 * null when there are more than `cap`, found after reading only `cap` + 1 of them.
 */
async function enumerate(db: SqlRunner, { scope, order }: RetrievalRequest, condition: SQL, tier: SQL, cap: number | null): Promise<Row[] | null> {
  const rows = toRows(await db.execute(sql`
    select x.id, x.key::text as key, x.venue_id, x.performer_id, x.tier
    from (
      select e.id, ${keyOf(order, e)} as key, e.venue_id, e.performer_id, ${tier} as tier
      from events e
      where e.status = 'published' ${scope.range(e)} and ${condition} ${scope.filters(e)}
      ${cap === null ? sql`` : sql`limit ${cap + 1}`}
    ) x
    order by x.tier, x.key, x.id`));
  return cap !== null && rows.length > cap ? null : rows;
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
