import { beforeAll, describe, expect, it } from 'vitest';
import type { SearchHit } from '../../src/db/search';
import { adminToken, api, createEvent, unique } from '../helpers';

// Test files run in parallel against one shared database, and search answers are edge-cached for
// 60 s by their normalized query. So every event here carries a made-up word of its own (`unique`)
// and starts on a far-future day picked at random per run: no other test's events can show up in
// a total, and no query repeats one of an earlier run that might still be cached.

interface SearchBody {
  events: SearchHit[];
  page: number;
  pageSize: number;
  total: number;
}

interface ErrorBody {
  error: { code: string; message: string; details?: Array<{ field: string; message: string }> };
}

const DAY_MS = 24 * 3600 * 1000;
// A random 1 January between 2100 and 6099; each test below takes its own days after it.
const BASE_MS = Date.UTC(2100 + Math.floor(Math.random() * 4000), 0, 1);

/** The ISO date-time `days` days (and `time` into that UTC day) after this run's base date. */
const at = (days: number, time = '19:30:00.000') => `${new Date(BASE_MS + days * DAY_MS).toISOString().slice(0, 10)}T${time}Z`;
/** The bare ISO date `days` days after this run's base date. */
const date = (days: number) => new Date(BASE_MS + days * DAY_MS).toISOString().slice(0, 10);

function search(params: Record<string, string | number>): Promise<Response> {
  const query = new URLSearchParams(Object.entries(params).map(([key, value]) => [key, String(value)]));
  return api(`/api/events/search?${query}`);
}

async function found(params: Record<string, string | number>): Promise<SearchBody> {
  const response = await search(params);
  expect(response.status).toBe(200);
  return (await response.json()) as SearchBody;
}

const ids = (body: SearchBody) => body.events.map((event) => event.id);

describe('GET /api/events/search', () => {
  let admin: string;

  beforeAll(async () => {
    admin = await adminToken();
  });

  describe('keyword', () => {
    it('matches a word of the event name, performer name, venue name, city or description', async () => {
      const word = {
        name: unique('zqname'),
        performer: unique('zqperf'),
        venue: unique('zqvenue'),
        city: unique('zqcity'),
        description: unique('zqdesc'),
      };
      const inName = await createEvent(admin, { name: `${word.name} Live` });
      const inPerformer = await createEvent(admin, { performerName: `The ${word.performer} Band` });
      const inVenue = await createEvent(admin, { venueName: `${word.venue} Arena` });
      const inCity = await createEvent(admin, { city: `Port ${word.city}` });
      const inDescription = await createEvent(admin, { description: `A night with ${word.description} and friends.` });

      const expected: Array<[string, string]> = [
        [word.name, inName.eventId],
        [word.performer, inPerformer.eventId],
        [word.venue, inVenue.eventId],
        [word.city, inCity.eventId],
        [word.description, inDescription.eventId],
      ];
      for (const [keyword, eventId] of expected) {
        const body = await found({ keyword });
        expect(ids(body), keyword).toEqual([eventId]);
        expect(body.total).toBe(1);
      }
    });

    it('ignores case and word order', async () => {
      const tag = unique('zq');
      const event = await createEvent(admin, { performerName: `Marlowe Quintessa ${tag}`, startsAt: at(10) });

      for (const keyword of [`QUINTESSA ${tag.toUpperCase()} marlowe`, `${tag} Marlowe`, `quintessa MARLOWE ${tag}`]) {
        const body = await found({ keyword });
        expect(ids(body), keyword).toEqual([event.eventId]);
      }
    });

    // Typo correction (src/db/search.ts): a word that is not in the dictionary of known words is
    // replaced by up to three known words that pg_trgm finds similar (similarity >= 0.2) or that
    // are within two plain edits, kept only within an edit budget that counts a swap of
    // neighbouring letters as one edit: 1 edit for words of 4-5 letters, 2 for longer ones. The
    // made-up words below share little with any other word in the shared dictionary, and each
    // misspelling is one edit from its word with ample similarity, so the right word always
    // survives: marlow~marlowe (1 edit, similarity 0.67), quintesa~quintessa (1, 0.73),
    // marlwoe~marlowe (1 swap, 0.33), qiuntessa~quintessa (1 swap, 0.43), and the short
    // orvki~orvik (1 swap, 0.33). The date range keeps each answer
    // to this test's own events.
    it('finds a performer from misspelt words: dropped letters and transposed letters', async () => {
      const event = await createEvent(admin, { performerName: `Marlowe Quintessa ${unique('zq')}`, startsAt: at(20) });

      for (const keyword of ['marlow quintesa', 'qiuntessa', 'Qiuntessa Marlwoe']) {
        const body = await found({ keyword, start: date(20), end: date(20) });
        expect(ids(body), keyword).toEqual([event.eventId]);
        expect(body.total).toBe(1);
      }
    });

    it('corrects a swap of neighbouring letters in a short word', async () => {
      const event = await createEvent(admin, { performerName: `Sabre Orvik ${unique('zq')}`, startsAt: at(21) });

      const body = await found({ keyword: 'orvki', start: date(21), end: date(21) });
      expect(ids(body)).toEqual([event.eventId]);
    });

    it('finds a name with a one-letter word, typed exactly', async () => {
      const tag = unique('zq');
      const event = await createEvent(admin, { performerName: `Kembrax-Q ${tag}` });
      for (const keyword of [`Kembrax-Q ${tag}`, `${tag} kembrax q`]) {
        expect(ids(await found({ keyword }))).toEqual([event.eventId]);
      }
    });

    it('ranks an event with the word in its name above one with it only in its description', async () => {
      const tag = unique('zqrank');
      // The weaker match starts first, so only the ranking can put the name match on top.
      const inDescription = await createEvent(admin, { name: 'Autumn Gala', description: `Featuring ${tag} all night.`, startsAt: at(30) });
      const inCity = await createEvent(admin, { name: 'Winter Gala', city: `${tag} City`, startsAt: at(31) });
      const inName = await createEvent(admin, { name: `${tag} Gala`, startsAt: at(32) });

      const body = await found({ keyword: tag });
      expect(ids(body)).toEqual([inName.eventId, inCity.eventId, inDescription.eventId]);
    });

    it('orders equally good matches by startsAt', async () => {
      const tag = unique('zqtie');
      const third = await createEvent(admin, { name: `${tag} Night`, startsAt: at(42) });
      const first = await createEvent(admin, { name: `${tag} Night`, startsAt: at(40) });
      const second = await createEvent(admin, { name: `${tag} Night`, startsAt: at(41) });

      const body = await found({ keyword: tag });
      expect(ids(body)).toEqual([first.eventId, second.eventId, third.eventId]);
    });

    it('finds only published events: not drafts, not cancelled ones', async () => {
      const tag = unique('zqpub');
      await createEvent(admin, { name: `${tag} Draft`, status: 'draft' });
      await createEvent(admin, { name: `${tag} Cancelled`, status: 'cancelled' });
      const published = await createEvent(admin, { name: `${tag} Published`, status: 'published' });

      const body = await found({ keyword: tag });
      expect(ids(body)).toEqual([published.eventId]);
      expect(body.total).toBe(1);
      expect(body.events[0]!.status).toBe('published');
    });

    it('answers 200 with no events and total 0 when nothing matches', async () => {
      // Only "v"s: no word in the dictionary is similar enough to be taken as a correction.
      const body = await found({ keyword: 'vvvvvvvvvvvvvvvv' });
      expect(body).toEqual({ events: [], page: 1, pageSize: 20, total: 0 });
    });
  });

  describe('date range', () => {
    it('without a keyword returns the published events of the range by startsAt', async () => {
      const middle = await createEvent(admin, { startsAt: at(71) });
      const last = await createEvent(admin, { startsAt: at(72, '08:00:00.000') });
      const first = await createEvent(admin, { startsAt: at(70) });
      await createEvent(admin, { startsAt: at(71, '12:00:00.000'), status: 'draft' });

      const body = await found({ start: date(70), end: date(72) });
      expect(ids(body)).toEqual([first.eventId, middle.eventId, last.eventId]);
      expect(body.total).toBe(3);
    });

    it('takes a start later on the same day as a bare end date', async () => {
      const tag = unique('zqsameday');
      const event = await createEvent(admin, { name: `${tag} Late Show`, startsAt: at(5, '18:00:00.000') });
      expect(ids(await found({ keyword: tag, start: at(5, '12:00:00.000'), end: date(5) }))).toEqual([event.eventId]);
    });

    it('includes both ends, a bare date covering its whole UTC day', async () => {
      const tag = unique('zqday');
      await createEvent(admin, { name: `${tag} Before`, startsAt: at(49, '23:59:59.999') });
      const firstInstant = await createEvent(admin, { name: `${tag} First`, startsAt: at(50, '00:00:00.000') });
      const lastInstant = await createEvent(admin, { name: `${tag} Last`, startsAt: at(52, '23:59:59.999') });
      await createEvent(admin, { name: `${tag} After`, startsAt: at(53, '00:00:00.000') });

      const body = await found({ keyword: tag, start: date(50), end: date(52) });
      expect(ids(body)).toEqual([firstInstant.eventId, lastInstant.eventId]);
      expect(body.total).toBe(2);
    });

    it('takes a date-time bound as that exact instant, inclusive', async () => {
      const tag = unique('zqinstant');
      const early = await createEvent(admin, { name: `${tag} Early`, startsAt: at(60, '10:00:00.000') });
      const late = await createEvent(admin, { name: `${tag} Late`, startsAt: at(60, '20:00:00.000') });

      const between = (start: string, end: string) => found({ keyword: tag, start, end }).then(ids);
      expect(await between(at(60, '10:00:00.000'), at(60, '20:00:00.000'))).toEqual([early.eventId, late.eventId]);
      expect(await between(at(60, '10:00:00.001'), at(60, '20:00:00.000'))).toEqual([late.eventId]);
      expect(await between(at(60, '10:00:00.000'), at(60, '19:59:59.999'))).toEqual([early.eventId]);
      // The same instants written with an offset.
      expect(await between(`${date(60)}T12:00:00+02:00`, `${date(60)}T21:00:00+01:00`)).toEqual([early.eventId, late.eventId]);
    });

    it('accepts either bound alone', async () => {
      const tag = unique('zqbound');
      const first = await createEvent(admin, { name: `${tag} One`, startsAt: at(110) });
      const second = await createEvent(admin, { name: `${tag} Two`, startsAt: at(111) });
      const third = await createEvent(admin, { name: `${tag} Three`, startsAt: at(112) });

      expect(ids(await found({ keyword: tag, start: date(111) }))).toEqual([second.eventId, third.eventId]);
      expect(ids(await found({ keyword: tag, end: date(111) }))).toEqual([first.eventId, second.eventId]);
    });

    it('combines a keyword with a range', async () => {
      const tag = unique('zqboth');
      const inside = await createEvent(admin, { name: `${tag} Matinee`, startsAt: at(80) });
      await createEvent(admin, { name: `${tag} Encore`, startsAt: at(81) });
      await createEvent(admin, { name: 'Unrelated Matinee', startsAt: at(80, '10:00:00.000') });

      const body = await found({ keyword: tag, start: date(80), end: date(80) });
      expect(ids(body)).toEqual([inside.eventId]);
      expect(body.total).toBe(1);
    });
  });

  describe('paging', () => {
    const tag = unique('zqpage');
    const eventIds: string[] = [];

    beforeAll(async () => {
      // Five equally good matches, so they come back by startsAt.
      for (let i = 0; i < 5; i++) eventIds.push((await createEvent(admin, { name: `${tag} Show`, startsAt: at(90 + i) })).eventId);
    });

    it('returns the page asked for, with the total count of all matches', async () => {
      const pages = [await found({ keyword: tag, pageSize: 2, page: 1 }), await found({ keyword: tag, pageSize: 2, page: 2 }), await found({ keyword: tag, pageSize: 2, page: 3 })];
      expect(pages.map(ids)).toEqual([eventIds.slice(0, 2), eventIds.slice(2, 4), eventIds.slice(4)]);
      for (const [index, page] of pages.entries()) {
        expect(page).toMatchObject({ page: index + 1, pageSize: 2, total: 5 });
      }
    });

    it('answers a page beyond the end with no events and the right total', async () => {
      const body = await found({ keyword: tag, pageSize: 2, page: 4 });
      expect(body).toEqual({ events: [], page: 4, pageSize: 2, total: 5 });
    });

    it('defaults to page 1 of 20', async () => {
      const body = await found({ keyword: tag });
      expect(body).toMatchObject({ page: 1, pageSize: 20, total: 5 });
      expect(ids(body)).toEqual(eventIds);
    });

    it('accepts the smallest and largest page sizes', async () => {
      expect(ids(await found({ keyword: tag, pageSize: 1, page: 5 }))).toEqual([eventIds[4]]);
      expect(ids(await found({ keyword: tag, pageSize: 100 }))).toEqual(eventIds);
    });
  });

  it('returns each event in exactly the documented shape', async () => {
    const tag = unique('zqshape');
    const performerName = `${tag} Orchestra`;
    const venueName = unique('Shape Hall ');
    const city = unique('Shapeton');
    const startsAt = at(100);
    const event = await createEvent(admin, {
      name: `${tag} Premiere`,
      performerName,
      venueName,
      city,
      startsAt,
      prices: { Floor: 7500, Balcony: 4200 },
    });

    const response = await search({ keyword: tag });
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({
      events: [
        {
          id: event.eventId,
          name: `${tag} Premiere`,
          startsAt,
          status: 'published',
          venue: { id: event.venueId, name: venueName, city },
          performer: { id: event.performerId, name: performerName },
          minPriceCents: 4200,
          currency: 'USD',
        },
      ],
      page: 1,
      pageSize: 20,
      total: 1,
    });
  });

  describe('validation', () => {
    const cases: Array<[string, Record<string, string | number>, string]> = [
      ['start after end', { start: '2031-03-02', end: '2031-03-01' }, 'start'],
      ['a date-time start after a date-time end', { start: '2031-03-01T10:00:00Z', end: '2031-03-01T09:59:59Z' }, 'start'],
      ['page 0', { page: 0 }, 'page'],
      ['a negative page', { page: -1 }, 'page'],
      ['a fractional page', { page: 1.5 }, 'page'],
      ['pageSize 0', { pageSize: 0 }, 'pageSize'],
      ['pageSize 1000', { pageSize: 1000 }, 'pageSize'],
      ['pageSize 101', { pageSize: 101 }, 'pageSize'],
      ['pageSize abc', { pageSize: 'abc' }, 'pageSize'],
      ['start that is not a date', { start: 'not-a-date' }, 'start'],
      ['start 2027-13-45', { start: '2027-13-45' }, 'start'],
      ['a day that the month does not have', { start: '2027-02-30' }, 'start'],
      ['29 February of a common year', { end: '2027-02-29' }, 'end'],
      ['a date-time on a day that does not exist', { start: '2027-04-31T10:00:00Z' }, 'start'],
      ['an hour past 23', { start: '2027-04-01T24:30:00Z' }, 'start'],
      ['end that is not a date', { end: 'tomorrow' }, 'end'],
    ];

    for (const [what, params, field] of cases) {
      it(`answers 400 validation_failed naming ${field} for ${what}`, async () => {
        const response = await search(params);
        expect(response.status).toBe(400);
        const body = (await response.json()) as ErrorBody;
        expect(body.error).toMatchObject({ code: 'validation_failed', message: expect.any(String) });
        expect(body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field, message: expect.any(String) })]));
      });
    }
  });
});
