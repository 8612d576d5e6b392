import { beforeAll, describe, expect, it } from 'vitest';
import { withDb } from '../../src/db/client';
import { searchEvents, type SearchQuery, type SearchResult } from '../../src/db/search';
import { DEFAULT_TUNING, type SearchTuning } from '../../src/db/search-retrieval';
import { adminToken, createEvent, env, unique } from '../helpers';

// The ways src/db/search-retrieval.ts finds a page (the sample alone, the GIN indexes, walks on
// from the sample, a walk that gives up) must all give the answer of the plain one: every match
// ranked. With the default tuning the sample covers this test's whole date range, which has
// only its own events, so that answer is the reference; tiny tunings force each other way.

const DAY_MS = 24 * 3600 * 1000;
// A random 1 January between 6100 and 8099, its days for this file alone.
const BASE_MS = Date.UTC(6100 + Math.floor(Math.random() * 2000), 0, 1);
const at = (days: number) => new Date(BASE_MS + days * DAY_MS + 19.5 * 3600 * 1000).toISOString();

const TUNINGS: Array<[string, SearchTuning]> = [
  ['a sample of 2, walks on', { sampleSize: 2, walkBudget: 3, sparseLimit: 0 }],
  ['a sample of 1, walks that give up at once', { sampleSize: 1, walkBudget: 1, sparseLimit: 0 }],
  ['a sample of 2, the GIN indexes for everything', { sampleSize: 2, walkBudget: 3, sparseLimit: 1_000_000 }],
  ['a sample of 3, long walks', { sampleSize: 3, walkBudget: 100, sparseLimit: 0 }],
];

const run = (query: Partial<SearchQuery>, tuning: SearchTuning = DEFAULT_TUNING): Promise<SearchResult> =>
  withDb(env, (db) => searchEvents(db, { page: 1, pageSize: 20, start: new Date(BASE_MS), endBefore: new Date(BASE_MS + 365 * DAY_MS), ...query }, tuning));

describe('search retrieval', () => {
  const tag = unique('zqtier');
  const city = unique('Cityretr');
  const byName = new Map<string, string>();

  beforeAll(async () => {
    const admin = await adminToken();
    // Tiers and dates disagree: the best matches are not the earliest.
    const plan: Array<[string, Parameters<typeof createEvent>[1]]> = [
      ['description early', { name: 'Kilo Evening', description: `Featuring ${tag}.`, startsAt: at(1) }],
      ['city early', { name: 'Lima Evening', city: `${tag} Harbor`, startsAt: at(2) }],
      ['name late', { name: `Mike ${tag}`, startsAt: at(9) }],
      ['description late', { name: 'November Evening', description: `With ${tag} live.`, startsAt: at(8) }],
      ['name early', { name: `Oscar ${tag}`, startsAt: at(3), city }],
      ['city late', { name: 'Papa Evening', city: `${tag} Harbor`, startsAt: at(7) }],
      ['name middle', { name: `alpha ${tag}`, startsAt: at(5), city }],
      ['unrelated', { name: 'Quebec Evening', startsAt: at(4), city }],
    ];
    for (const [label, overrides] of plan) byName.set(label, (await createEvent(admin, overrides)).eventId);
  });

  it('ranks by tier, each tier by date, when the sample covers the whole range', async () => {
    const result = await run({ keyword: tag });
    expect(result.events.map((e) => e.id)).toEqual(
      ['name early', 'name middle', 'name late', 'city early', 'city late', 'description early', 'description late'].map((l) => byName.get(l)),
    );
    expect(result.total).toBe(7);
    expect(result.totalExact).toBeUndefined();
  });

  const queries: Array<[string, Partial<SearchQuery>]> = [
    ['relevance', { keyword: tag }],
    ['date', { keyword: tag, sort: 'date' }],
    ['name', { keyword: tag, sort: 'name' }],
    ['relevance in one city', { keyword: tag, city: city.toLowerCase() }],
    ['no keyword, by date', {}],
    ['no keyword, by name', { sort: 'name' }],
  ];

  for (const [tuningName, tuning] of TUNINGS) {
    for (const [queryName, query] of queries) {
      it(`finds the same pages with ${tuningName}: ${queryName}`, async () => {
        const reference = await run({ ...query, pageSize: 100 });
        const expected = reference.events.map((e) => e.id);
        for (const pageSize of [1, 3]) {
          for (let page = 1; (page - 1) * pageSize <= expected.length; page++) {
            const result = await run({ ...query, page, pageSize }, tuning);
            expect(result.events.map((e) => e.id), `page ${page} of ${pageSize}`).toEqual(expected.slice((page - 1) * pageSize, page * pageSize));
            if (result.totalExact === false) expect(result.total).toBeGreaterThanOrEqual(Math.min(expected.length, page * pageSize));
            else expect(result.total).toBe(expected.length);
          }
        }
      });
    }
  }

  it('says when the total is an estimate, and scales the facet counts of its sample', async () => {
    const result = await run({ keyword: tag, pageSize: 1, facets: ['city'] }, { sampleSize: 2, walkBudget: 3, sparseLimit: 0 });
    expect(result.totalExact).toBe(false);
    expect(result.total).toBeGreaterThanOrEqual(1);
    const counted = result.facets!.city!.reduce((sum, facet) => sum + facet.count, 0);
    // Rounding each value may move the sum by one per value.
    expect(Math.abs(counted - result.total)).toBeLessThanOrEqual(result.facets!.city!.length);
  });

  it('counts exactly once every match was enumerated', async () => {
    const result = await run({ keyword: tag, pageSize: 100, facets: ['city'] }, { sampleSize: 1, walkBudget: 1, sparseLimit: 0 });
    expect(result.totalExact).toBeUndefined();
    expect(result.total).toBe(7);
    expect(result.facets!.city!.find((facet) => facet.value === city)).toEqual({ value: city, count: 2 });
  });
});
