// What a search keyword means: its words, each taken as typed when the dictionary of known words
// (`search_terms`) has it, else replaced by the known words closest to it (pg_trgm similarity and
// edit distance), the last word also as a prefix; and the tsqueries that find it anywhere in an
// event's search document, in its names only (weight A) or in its names, venue and city (A, B).
import { sql } from 'drizzle-orm';
import type { SqlRunner } from './search';

const MAX_WORDS = 8;
// Low enough that a transposition in a five-letter word ("swfit") still reaches its word by
// trigrams; edit distance below decides which candidates are kept.
const SIMILARITY_THRESHOLD = 0.2;
const CANDIDATES_PER_WORD = 3;
/** Prefix matching starts at three letters: "st" would match half the dictionary. */
const MIN_PREFIX = 3;
/**
 * A last word begins at most this many known words: it is rewritten as those words, which the
 * GIN index looks up one by one; a prefix that begins more stays a prefix match (`:*`), for
 * which the index gathers every word that begins with it.
 */
const MAX_COMPLETIONS = 10;

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

/** One word of the keyword: the dictionary words it stands for, and the prefix it also matches as. */
interface WordMatch {
  terms: string[];
  /** A prefix match (`:*`), when the word begins too many known words to name them. */
  prefix: string | null;
  /** The word is not in the dictionary and matches only through `terms` (its corrections). */
  corrected: boolean;
}

export interface KeywordQuery {
  /** tsquery text: every word somewhere in the document. */
  anywhere: string;
  /** The same, every word in an event or performer name (weight A). */
  inNames: string;
  /** The same, every word in a name, the venue's name or the city (weights A and B). */
  inNamesOrPlace: string;
  /** The keyword with its corrections, when some word was not known and was corrected. */
  didYouMean: string | null;
}

const quote = (term: string) => `'${term.replace(/'/g, "''")}'`;

function tsquery(matches: WordMatch[], weights: '' | 'A' | 'AB'): string {
  return matches
    .map(({ terms, prefix }) => {
      const alternatives = terms.map((term) => `${quote(term)}${weights ? `:${weights}` : ''}`);
      if (prefix) alternatives.push(`${quote(prefix)}:*${weights}`);
      return `(${alternatives.join(' | ')})`;
    })
    .join(' & ');
}

/**
 * The tsqueries for the keyword's words (at most eight, lower case, as `keywordWords` splits
 * them). Null when some word matches nothing at all, so no event can match.
 */
export async function interpretKeyword(db: SqlRunner, words: string[]): Promise<KeywordQuery | null> {
  if (words.length === 0) return null;
  await db.execute(sql`select set_config('pg_trgm.similarity_threshold', ${String(SIMILARITY_THRESHOLD)}, true)`);
  // Candidates come from the trigram index, plus words within two plain edits (levenshtein
  // counts a swap as two, which trigrams also miss in short words); they are ranked here. The
  // last word is also asked which known words begin with it.
  const last = words.length;
  const rows = (await db.execute(sql`
    select w.i::int as i, t.term, t.similarity,
           case when w.i = ${last} and length(w.word) >= ${MIN_PREFIX} then array(
             select s.term from search_terms s where s.term like w.word || '%' order by s.term limit ${MAX_COMPLETIONS + 1}
           ) end as completions
    from unnest(${`{${words.map((w) => `"${w}"`).join(',')}}`}::text[]) with ordinality as w(word, i)
    left join lateral (
      select term, 1 as similarity from search_terms where term = w.word
      union all
      -- Only for a word that is not known (most are): this reads the whole dictionary.
      (select term, similarity(term, w.word) from search_terms
       where not exists (select 1 from search_terms known where known.term = w.word)
         and (term % w.word
              or (length(w.word) > 3 and abs(length(term) - length(w.word)) <= 2 and levenshtein_less_equal(term, w.word, 2) <= 2))
       order by similarity(term, w.word) desc
       limit 30)
    ) t on true`)) as unknown as { rows: Array<{ i: number; term: string | null; similarity: number; completions: string[] | null }> };

  const matches: WordMatch[] = [];
  for (const [index, word] of words.entries()) {
    const mine = rows.rows.filter((row) => row.i === index + 1);
    const candidates = mine
      .filter((row) => row.term !== null)
      .map((row) => ({ term: row.term!, distance: typoDistance(word, row.term!), similarity: Number(row.similarity) }));
    const exact = candidates.find((c) => c.distance === 0);
    // A word that exists is taken as typed; only unknown words are corrected.
    const terms = exact
      ? [exact.term]
      : candidates
          .filter((c) => c.distance <= allowedEdits(word))
          .sort((a, b) => a.distance - b.distance || b.similarity - a.similarity)
          .slice(0, CANDIDATES_PER_WORD)
          .map((c) => c.term);
    const completions = mine[0]?.completions ?? [];
    const extendsKnownWord = completions.some((term) => term !== word);
    if (terms.length === 0 && !extendsKnownWord) return null;
    // Rewritten against the dictionary: the known words it begins, or a prefix match if too many.
    const named = completions.length <= MAX_COMPLETIONS;
    matches.push({
      terms: named ? [...new Set([...terms, ...completions])] : terms,
      prefix: named ? null : word,
      corrected: !exact && !extendsKnownWord,
    });
  }
  const corrected = matches.some((m) => m.corrected);
  return {
    anywhere: tsquery(matches, ''),
    inNames: tsquery(matches, 'A'),
    inNamesOrPlace: tsquery(matches, 'AB'),
    didYouMean: corrected ? matches.map((m, i) => (m.corrected ? m.terms[0]! : words[i]!)).join(' ') : null,
  };
}
