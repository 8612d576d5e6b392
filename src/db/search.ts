// Event search: Postgres full text over a stored, weighted tsvector, with misspelt words
// corrected against the dictionary of words that exist (`search_terms`, src/db/search-keyword.ts),
// discovery filters, sorts and facets. How matches are found without ranking every one of them
// is src/db/search-retrieval.ts.
import { sql, type SQL } from 'drizzle-orm';
import type { Database } from './client';
import { interpretKeyword, keywordWords, type KeywordQuery } from './search-keyword';
import { retrieve, DEFAULT_TUNING, type Candidate, type Matcher, type SearchScope, type SearchTuning } from './search-retrieval';

/** Anything that can run a drizzle `sql` statement: the Worker's Neon session or a Node `pg` one. */
export interface SqlRunner {
  execute(query: SQL): Promise<unknown>;
}

/**
 * The weighted search document of event `e` with its performer `p` and venue `v` (SQL aliases):
 * names (A), venue and city (B), genre and the start of the description (C), kept small enough
 * for the date-ordered search index to carry (event_search_document(), migration 0008).
 */
export const SEARCH_DOCUMENT = sql.raw('event_search_document(e.name, e.description, p.name, p.genre, v.name, v.city)');

const onlyEvents = (eventIds?: string[]) => (eventIds ? sql`and e.id = any(${`{${eventIds.join(',')}}`}::uuid[])` : sql``);

/**
 * Rebuilds the search document of the given events (all events when `eventIds` is omitted) and
 * adds their words to the dictionary. Call it after anything that changes an event's name,
 * description, performer or venue.
 */
export async function refreshSearchDocuments(db: SqlRunner, eventIds?: string[]): Promise<void> {
  await db.execute(sql`
    update events e set search_vector = ${SEARCH_DOCUMENT}
    from performers p, venues v
    where p.id = e.performer_id and v.id = e.venue_id ${onlyEvents(eventIds)}`);
  await addSearchTerms(db, eventIds);
}

/** Adds the words of the given events (all when omitted) to the dictionary that corrections come from. */
export async function addSearchTerms(db: SqlRunner, eventIds?: string[]): Promise<void> {
  await db.execute(sql`
    insert into search_terms (term)
    select distinct word
    from events e
    join performers p on p.id = e.performer_id
    join venues v on v.id = e.venue_id
    cross join lateral regexp_split_to_table(
      lower(e.name || ' ' || p.name || ' ' || v.name || ' ' || v.city || ' ' || coalesce(p.genre, '') || ' ' || left(coalesce(e.description, ''), 1000)),
      '[^[:alnum:]]+') as word
    where length(word) between 1 and 40 ${onlyEvents(eventIds)}
    on conflict do nothing`);
}


export type SearchSort = 'relevance' | 'date' | 'name' | 'distance';
export const SEARCH_SORTS = ['relevance', 'date', 'name', 'distance'] as const;
export type SearchFacet = 'city' | 'genre';
export const SEARCH_FACETS = ['city', 'genre'] as const;

export interface SearchQuery {
  keyword?: string;
  start?: Date;
  /** Exclusive upper bound. */
  endBefore?: Date;
  /** Venue city, any case. */
  city?: string;
  /** Performer genre, any case. */
  genre?: string;
  venueId?: string;
  performerId?: string;
  near?: { latitude: number; longitude: number; radiusKm: number };
  /** Only events whose sale has opened, that have not started and have unsold tickets. */
  onSale?: boolean;
  /** Default: relevance with a keyword, date without. `distance` needs `near`. */
  sort?: SearchSort;
  facets?: SearchFacet[];
  page: number;
  pageSize: number;
  /** The moment `onSale` is judged at. */
  now?: Date;
}

export interface SearchHit {
  id: string;
  name: string;
  startsAt: string;
  status: string;
  venue: { id: string; name: string; city: string };
  performer: { id: string; name: string };
  minPriceCents: number;
  currency: string;
  /** From `near`, when the query has it. */
  distanceKm?: number;
}

export interface FacetCount {
  value: string;
  count: number;
}

export interface SearchResult {
  events: SearchHit[];
  total: number;
  /** Present (false) when `total` and the facet counts are estimates from a sample of the matches. */
  totalExact?: false;
  /** The keyword with its misspelt words corrected, when it matched only through corrections. */
  didYouMean?: string;
  facets?: Partial<Record<SearchFacet, FacetCount[]>>;
}

const EARTH_RADIUS_KM = 6371;
/** At most this many values per facet, the most frequent first. */
const MAX_FACET_VALUES = 100;

const tsquery = (text: string) => sql`to_tsquery('english', ${text})`;

/** How the keyword's tiers are told apart: names (A), then names and place (A, B), then anywhere. */
function keywordMatcher(keyword: KeywordQuery | null, ranked: boolean): Matcher {
  if (!keyword) {
    return { tiers: 1, any: () => sql`true`, row: () => sql`true`, indexed: () => sql`true`, tierOf: () => sql`1` };
  }
  const anywhere = tsquery(keyword.anywhere);
  if (!ranked) {
    const match = (a: SQL) => sql`${a}.search_vector @@ ${anywhere}`;
    return { tiers: 1, any: match, row: (_t, a) => match(a), indexed: (_t, a) => match(a), tierOf: () => sql`1` };
  }
  const inNames = tsquery(keyword.inNames);
  const inNamesOrPlace = tsquery(keyword.inNamesOrPlace);
  return {
    tiers: 3,
    any: (a) => sql`${a}.search_vector @@ ${anywhere}`,
    // Weighted tsqueries, for rows at hand.
    row: (t, a) =>
      t === 1 ? sql`${a}.search_vector @@ ${inNames}`
      : t === 2 ? sql`${a}.search_vector @@ ${inNamesOrPlace} and not ${a}.search_vector @@ ${inNames}`
      : sql`${a}.search_vector @@ ${anywhere} and not ${a}.search_vector @@ ${inNamesOrPlace}`,
    // The same through the GIN indexes of the name and place parts of the document.
    indexed: (t, a) =>
      t === 1 ? sql`ts_filter(${a}.search_vector, '{a}') @@ ${anywhere}`
      : t === 2 ? sql`ts_filter(${a}.search_vector, '{a,b}') @@ ${anywhere} and not ${a}.search_vector @@ ${inNames}`
      : sql`${a}.search_vector @@ ${anywhere} and not ${a}.search_vector @@ ${inNamesOrPlace}`,
    tierOf: (a) => sql`case when ${a}.search_vector @@ ${inNames} then 1 when ${a}.search_vector @@ ${inNamesOrPlace} then 2 else 3 end`,
  };
}

/** Great-circle distance in km from `near` to the venue `v` (haversine). */
function distanceKm(v: SQL, near: NonNullable<SearchQuery['near']>): SQL {
  return sql`(2 * ${EARTH_RADIUS_KM} * asin(least(1, sqrt(
    power(sin(radians(${v}.latitude - ${near.latitude}) / 2), 2)
    + cos(radians(${near.latitude})) * cos(radians(${v}.latitude)) * power(sin(radians(${v}.longitude - ${near.longitude}) / 2), 2)))))`;
}

/** Venues within the radius: a latitude/longitude box on the venues' location index, then the exact distance. */
function venuesNear(v: SQL, near: NonNullable<SearchQuery['near']>): SQL {
  const dLat = (near.radiusKm / EARTH_RADIUS_KM) * (180 / Math.PI);
  const latMin = near.latitude - dLat;
  const latMax = near.latitude + dLat;
  const cosLat = Math.cos((near.latitude * Math.PI) / 180);
  // Near a pole, or for a box wider than the world, every longitude is in.
  const dLng = latMin <= -90 || latMax >= 90 || cosLat < 1e-9 ? 180 : Math.min(180, dLat / cosLat);
  const lngMin = near.longitude - dLng;
  const lngMax = near.longitude + dLng;
  const longitude =
    dLng >= 180 ? sql`true`
    : lngMin < -180 ? sql`(${v}.longitude >= ${lngMin + 360} or ${v}.longitude <= ${lngMax})`
    : lngMax > 180 ? sql`(${v}.longitude >= ${lngMin} or ${v}.longitude <= ${lngMax - 360})`
    : sql`${v}.longitude between ${lngMin} and ${lngMax}`;
  return sql`${v}.latitude between ${Math.max(-90, latMin)} and ${Math.min(90, latMax)} and ${longitude}
    and ${distanceKm(v, near)} <= ${near.radiusKm}`;
}

/** The query's filters as conditions on an events row `a` (its id, starts_at, on_sale_at, venue_id and performer_id). */
function scopeOf(query: SearchQuery): SearchScope {
  const now = (query.now ?? new Date()).toISOString();
  return {
    ranged: query.start !== undefined || query.endBefore !== undefined,
    range: (a) => sql`${query.start ? sql`and ${a}.starts_at >= ${query.start.toISOString()}` : sql``}
      ${query.endBefore ? sql`and ${a}.starts_at < ${query.endBefore.toISOString()}` : sql``}`,
    filters: (a) => {
      const venue = [
        query.city !== undefined ? sql`lower(v.city) = lower(${query.city})` : null,
        query.venueId !== undefined ? sql`v.id = ${query.venueId}` : null,
        query.near ? venuesNear(sql`v`, query.near) : null,
      ].filter((c) => c !== null);
      const performer = [
        query.genre !== undefined ? sql`lower(p.genre) = lower(${query.genre})` : null,
        query.performerId !== undefined ? sql`p.id = ${query.performerId}` : null,
      ].filter((c) => c !== null);
      return sql`${venue.length ? sql`and ${a}.venue_id in (select v.id from venues v where ${sql.join(venue, sql` and `)})` : sql``}
        ${performer.length ? sql`and ${a}.performer_id in (select p.id from performers p where ${sql.join(performer, sql` and `)})` : sql``}
        ${query.onSale ? sql`and ${a}.on_sale_at <= ${now} and ${a}.starts_at > ${now}
          and exists (select 1 from tickets t where t.event_id = ${a}.id and t.status = 'available')` : sql``}`;
    },
  };
}

export function effectiveSort(query: Pick<SearchQuery, 'sort' | 'keyword'>): SearchSort {
  return query.sort ?? (keywordWords(query.keyword).length > 0 ? 'relevance' : 'date');
}

/** Search, as GET /api/events/search answers it (`page`, `pageSize` aside). */
export async function searchEvents(db: Database, query: SearchQuery, tuning: SearchTuning = DEFAULT_TUNING): Promise<SearchResult> {
  const words = keywordWords(query.keyword);
  const sort = effectiveSort(query);
  return db.transaction(async (tx) => {
    const keyword = words.length > 0 ? await interpretKeyword(tx, words) : null;
    if (words.length > 0 && !keyword) {
      return query.facets?.length ? { events: [], total: 0, facets: Object.fromEntries(query.facets.map((f) => [f, []])) } : { events: [], total: 0 };
    }
    const offset = (query.page - 1) * query.pageSize;
    const found = await retrieve(tx, {
      matcher: keywordMatcher(keyword, sort === 'relevance'),
      scope: scopeOf(query),
      order: sort === 'name' ? 'name' : 'date',
      distance: sort === 'distance' && query.near ? (v) => distanceKm(v, query.near!) : null,
      need: offset + query.pageSize,
      tuning,
    });
    const page = found.ordered.slice(offset, offset + query.pageSize);
    const result: SearchResult = { events: await pageDetails(tx, page, query.near), total: found.total };
    if (!found.exact) result.totalExact = false;
    if (keyword?.didYouMean && found.total > 0) result.didYouMean = keyword.didYouMean;
    if (query.facets?.length) result.facets = await facetCounts(tx, query.facets, found.facetSample, found.facetScale);
    return result;
  });
}

type Row = Record<string, unknown>;
const rowsOf = (result: unknown) => (result as { rows: Row[] }).rows;

async function pageDetails(db: SqlRunner, page: Candidate[], near: SearchQuery['near']): Promise<SearchHit[]> {
  if (page.length === 0) return [];
  const rows = rowsOf(await db.execute(sql`
    select e.id, e.name, e.starts_at, e.status, e.min_price_cents, e.currency,
           v.id as venue_id, v.name as venue_name, v.city as venue_city,
           p.id as performer_id, p.name as performer_name
           ${near ? sql`, case when v.latitude is null then null else ${distanceKm(sql`v`, near)} end as distance_km` : sql``}
    from events e
    join venues v on v.id = e.venue_id
    join performers p on p.id = e.performer_id
    where e.id = any(${`{${page.map((c) => c.id).join(',')}}`}::uuid[])`));
  const byId = new Map(rows.map((row) => [String(row.id), row]));
  return page.map((candidate) => {
    const row = byId.get(candidate.id)!;
    const hit: SearchHit = {
      id: String(row.id),
      name: String(row.name),
      startsAt: new Date(row.starts_at as string).toISOString(),
      status: String(row.status),
      venue: { id: String(row.venue_id), name: String(row.venue_name), city: String(row.venue_city) },
      performer: { id: String(row.performer_id), name: String(row.performer_name) },
      minPriceCents: Number(row.min_price_cents),
      currency: String(row.currency),
    };
    if (near && row.distance_km !== null && row.distance_km !== undefined) hit.distanceKm = Math.round(Number(row.distance_km) * 100) / 100;
    return hit;
  });
}

/** Matches counted by city and by genre: over all matches, or over a sample scaled up to the estimated total. */
async function facetCounts(db: SqlRunner, facets: SearchFacet[], sample: Candidate[], scale: number): Promise<Partial<Record<SearchFacet, FacetCount[]>>> {
  const result: Partial<Record<SearchFacet, FacetCount[]>> = {};
  for (const facet of facets) {
    const counts = new Map<string, number>();
    for (const candidate of sample) {
      const id = facet === 'city' ? candidate.venueId : candidate.performerId;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const ids = [...counts.keys()];
    const values = ids.length === 0 ? [] : rowsOf(await db.execute(
      facet === 'city'
        ? sql`select id, city as value from venues where id = any(${`{${ids.join(',')}}`}::uuid[])`
        : sql`select id, genre as value from performers where id = any(${`{${ids.join(',')}}`}::uuid[]) and genre is not null`,
    ));
    const byValue = new Map<string, number>();
    for (const row of values) byValue.set(String(row.value), (byValue.get(String(row.value)) ?? 0) + counts.get(String(row.id))!);
    result[facet] = [...byValue]
      .map(([value, count]) => ({ value, count: Math.round(count * scale) }))
      .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
      .slice(0, MAX_FACET_VALUES);
  }
  return result;
}
