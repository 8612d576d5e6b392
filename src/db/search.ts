// Event search: Postgres full text over a stored, weighted tsvector (GIN index), with misspelt
// words corrected against the dictionary of words that exist (`search_terms`, pg_trgm index).
import { sql, type SQL } from 'drizzle-orm';
import type { Database } from './client';

/** Anything that can run a drizzle `sql` statement: the Worker's Neon session or a Node `pg` one. */
export interface SqlRunner {
  execute(query: SQL): Promise<unknown>;
}

/**
 * Rebuilds the search document of the given events (all events when `eventIds` is omitted) and
 * adds their words to the dictionary. Call it after anything that changes an event's name,
 * description, performer or venue.
 */
export async function refreshSearchDocuments(db: SqlRunner, eventIds?: string[]): Promise<void> {
  const only = eventIds ? sql`and e.id = any(${`{${eventIds.join(',')}}`}::uuid[])` : sql``;
  await db.execute(sql`
    update events e set search_vector =
        setweight(to_tsvector('english', e.name), 'A')
     || setweight(to_tsvector('english', p.name), 'A')
     || setweight(to_tsvector('english', v.name || ' ' || v.city), 'B')
     || setweight(to_tsvector('english', coalesce(p.genre, '') || ' ' || coalesce(e.description, '')), 'C')
    from performers p, venues v
    where p.id = e.performer_id and v.id = e.venue_id ${only}`);
  await db.execute(sql`
    insert into search_terms (term)
    select distinct word
    from events e
    join performers p on p.id = e.performer_id
    join venues v on v.id = e.venue_id
    cross join lateral regexp_split_to_table(
      lower(e.name || ' ' || p.name || ' ' || v.name || ' ' || v.city || ' ' || coalesce(p.genre, '') || ' ' || coalesce(e.description, '')),
      '[^[:alnum:]]+') as word
    where length(word) between 1 and 40 ${only}
    on conflict do nothing`);
}

export interface SearchQuery {
  keyword?: string;
  start?: Date;
  /** Exclusive upper bound. */
  endBefore?: Date;
  page: number;
  pageSize: number;
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
}

export interface SearchResult {
  events: SearchHit[];
  total: number;
}

const MAX_WORDS = 8;
// Low enough that a transposition in a five-letter word ("swfit") still reaches its word by
// trigrams; edit distance below decides which candidates are kept.
const SIMILARITY_THRESHOLD = 0.2;
const CANDIDATES_PER_WORD = 3;

export function keywordWords(keyword: string | undefined): string[] {
  if (!keyword) return [];
  return keyword
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word.length > 0 && word.length <= 40)
    .slice(0, MAX_WORDS);
}

/** Edits allowed to correct a word: none for very short words, where anything is one edit away. */
const allowedEdits = (word: string) => (word.length <= 3 ? 0 : word.length <= 5 ? 1 : 2);

/** Levenshtein distance where swapping two neighbouring letters is one edit (optimal string alignment). */
export function typoDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

const quote = (term: string) => `'${term.replace(/'/g, "''")}'`;

/**
 * The tsquery for the keyword: every word must match, each through itself or the dictionary
 * words closest to it; the last word also matches as a prefix ("tay" finds Taylor). Null when
 * some word matches nothing at all.
 */
async function buildTsQuery(db: Database, words: string[]): Promise<string | null> {
  // Candidates come from the trigram index, plus words within two plain edits (levenshtein
  // counts a swap as two, which trigrams also miss in short words); they are ranked here.
  const rows = (await db.execute(sql`
    select w.i::int as i, t.term, t.similarity
    from unnest(${`{${words.map((w) => `"${w}"`).join(',')}}`}::text[]) with ordinality as w(word, i)
    cross join lateral (
      select term, similarity(term, w.word) as similarity from search_terms
      where term = w.word
         or term % w.word
         or (length(w.word) > 3 and levenshtein_less_equal(term, w.word, 2) <= 2)
      order by term = w.word desc, similarity(term, w.word) desc
      limit 30
    ) t`)).rows as Array<{ i: number; term: string; similarity: number }>;

  const parts: string[] = [];
  for (const [index, word] of words.entries()) {
    const candidates = rows
      .filter((row) => row.i === index + 1)
      .map((row) => ({ term: row.term, distance: typoDistance(word, row.term), similarity: Number(row.similarity) }));
    const exact = candidates.find((c) => c.distance === 0);
    // A word that exists is taken as typed; only unknown words are corrected.
    const terms = exact
      ? [exact.term]
      : candidates
          .filter((c) => c.distance <= allowedEdits(word))
          .sort((a, b) => a.distance - b.distance || b.similarity - a.similarity)
          .slice(0, CANDIDATES_PER_WORD)
          .map((c) => c.term);
    const alternatives = terms.map(quote);
    if (index === words.length - 1 && word.length >= 3) alternatives.push(`${quote(word)}:*`);
    if (alternatives.length === 0) return null;
    parts.push(`(${alternatives.join(' | ')})`);
  }
  return parts.join(' & ');
}

export async function searchEvents(db: Database, query: SearchQuery): Promise<SearchResult> {
  const words = keywordWords(query.keyword);
  return db.transaction(async (tx) => {
    let match = sql``;
    let rank = sql`0::real`;
    if (words.length > 0) {
      await tx.execute(sql.raw(`set local pg_trgm.similarity_threshold = ${SIMILARITY_THRESHOLD}`));
      const tsquery = await buildTsQuery(tx as unknown as Database, words);
      if (!tsquery) return { events: [], total: 0 };
      match = sql`and e.search_vector @@ to_tsquery('english', ${tsquery})`;
      rank = sql`ts_rank_cd(e.search_vector, to_tsquery('english', ${tsquery}))`;
    }
    const range = sql`${query.start ? sql`and e.starts_at >= ${query.start.toISOString()}` : sql``}
      ${query.endBefore ? sql`and e.starts_at < ${query.endBefore.toISOString()}` : sql``}`;
    const offset = (query.page - 1) * query.pageSize;

    const rows = (await tx.execute(sql`
      select e.id, e.name, e.starts_at, e.status, e.min_price_cents, e.currency,
             v.id as venue_id, v.name as venue_name, v.city as venue_city,
             p.id as performer_id, p.name as performer_name,
             count(*) over () as total
      from events e
      join venues v on v.id = e.venue_id
      join performers p on p.id = e.performer_id
      where e.status = 'published' ${match} ${range}
      order by ${rank} desc, e.starts_at asc, e.id asc
      limit ${query.pageSize} offset ${offset}`)).rows as Array<Record<string, unknown>>;

    let total = rows.length > 0 ? Number(rows[0]!.total) : 0;
    if (rows.length === 0 && offset > 0) {
      const counted = (await tx.execute(sql`
        select count(*) as total from events e
        where e.status = 'published' ${match} ${range}`)).rows as Array<{ total: string | number }>;
      total = Number(counted[0]?.total ?? 0);
    }
    return {
      total,
      events: rows.map((row) => ({
        id: String(row.id),
        name: String(row.name),
        startsAt: new Date(row.starts_at as string).toISOString(),
        status: String(row.status),
        venue: { id: String(row.venue_id), name: String(row.venue_name), city: String(row.venue_city) },
        performer: { id: String(row.performer_id), name: String(row.performer_name) },
        minPriceCents: Number(row.min_price_cents),
        currency: String(row.currency),
      })),
    };
  });
}
