import { beforeAll, describe, expect, it } from 'vitest';
import type { FacetCount, SearchHit } from '../../src/db/search';
import { adminToken, api, createEvent, signUp, ticketIdsOf, unique } from '../helpers';

// The discovery additions to GET /api/events/search: filters, sorts, facets and "did you mean".
// As in search.test.ts, every test's events carry a made-up word of their own, so other test
// files' events never count, and no query repeats one that an earlier run may have cached.

interface SearchBody {
  events: Array<SearchHit & { distanceKm?: number }>;
  page: number;
  pageSize: number;
  total: number;
  totalExact?: boolean;
  didYouMean?: string;
  facets?: { city?: FacetCount[]; genre?: FacetCount[] };
}

interface ErrorBody {
  error: { code: string; details?: Array<{ field: string; message: string }> };
}

const DAY_MS = 24 * 3600 * 1000;
const inDays = (days: number) => new Date(Date.now() + days * DAY_MS).toISOString();

function search(params: Record<string, string | number | boolean>): Promise<Response> {
  return api(`/api/events/search?${new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]))}`);
}

async function found(params: Record<string, string | number | boolean>): Promise<SearchBody> {
  const response = await search(params);
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as SearchBody;
}

const ids = (body: SearchBody) => body.events.map((event) => event.id);

describe('GET /api/events/search: discovery', () => {
  let admin: string;

  beforeAll(async () => {
    admin = await adminToken();
  });

  describe('filters', () => {
    it('city: only events in that city, whatever its case', async () => {
      const tag = unique('zqcity');
      const city = unique('Port Cityx');
      const there = await createEvent(admin, { name: `${tag} Night`, city });
      await createEvent(admin, { name: `${tag} Night`, city: unique('Elsewhere') });

      expect(ids(await found({ keyword: tag, city }))).toEqual([there.eventId]);
      expect(ids(await found({ keyword: tag, city: city.toUpperCase() }))).toEqual([there.eventId]);
      expect((await found({ keyword: tag, city: 'Nowhere At All' })).total).toBe(0);
    });

    it("genre: only events whose performer has that genre, whatever its case", async () => {
      const tag = unique('zqgenre');
      const genre = unique('Zydeco');
      const match = await createEvent(admin, { name: `${tag} Show`, genre });
      await createEvent(admin, { name: `${tag} Show`, genre: 'rock' });

      expect(ids(await found({ keyword: tag, genre: genre.toLowerCase() }))).toEqual([match.eventId]);
    });

    it('venueId and performerId: only that venue\'s or performer\'s events, also without a keyword', async () => {
      const tag = unique('zqids');
      const first = await createEvent(admin, { name: `${tag} One` });
      const second = await createEvent(admin, { name: `${tag} Two` });

      expect(ids(await found({ keyword: tag, venueId: first.venueId }))).toEqual([first.eventId]);
      expect(ids(await found({ keyword: tag, performerId: second.performerId }))).toEqual([second.eventId]);
      expect(ids(await found({ venueId: second.venueId }))).toEqual([second.eventId]);
      expect(ids(await found({ keyword: tag, venueId: first.venueId, performerId: second.performerId }))).toEqual([]);
      // Another spelling of the same id names the same venue.
      expect(ids(await found({ keyword: tag, venueId: first.venueId.toUpperCase() }))).toEqual([first.eventId]);
    });

    it('near and radiusKm: events at venues within the radius (50 km by default), each with its distance', async () => {
      const tag = unique('zqnear');
      // On the equator a degree of longitude is 111.19 km.
      const here = await createEvent(admin, { name: `${tag} Here`, latitude: 0, longitude: 120 });
      const close = await createEvent(admin, { name: `${tag} Close`, latitude: 0, longitude: 120.6 });
      const far = await createEvent(admin, { name: `${tag} Far`, latitude: 0, longitude: 122 });
      await createEvent(admin, { name: `${tag} Unplaced` });

      const wide = await found({ keyword: tag, near: '0,120', radiusKm: 100, sort: 'date' });
      expect(ids(wide).sort()).toEqual([here.eventId, close.eventId].sort());
      const distances = Object.fromEntries(wide.events.map((event) => [event.id, event.distanceKm]));
      expect(distances[here.eventId]).toBe(0);
      expect(distances[close.eventId]).toBeCloseTo(66.72, 1);
      expect(ids(await found({ keyword: tag, near: '0,120' }))).toEqual([here.eventId]);
      expect(ids(await found({ keyword: tag, near: '0,121', radiusKm: 500 })).sort()).toEqual([here.eventId, close.eventId, far.eventId].sort());
      // Without near, no distances.
      expect((await found({ keyword: tag })).events.every((event) => event.distanceKm === undefined)).toBe(true);
    });

    it('near works across the antimeridian', async () => {
      const tag = unique('zqdateline');
      const west = await createEvent(admin, { name: `${tag} West`, latitude: -17, longitude: 179.9 });
      const east = await createEvent(admin, { name: `${tag} East`, latitude: -17, longitude: -179.9 });

      const body = await found({ keyword: tag, near: '-17,-179.95', radiusKm: 20, sort: 'distance' });
      expect(ids(body).sort()).toEqual([west.eventId, east.eventId].sort());
    });

    it('onSale=true: sale open, not started, tickets left to buy', async () => {
      const tag = unique('zqonsale');
      const onSale = await createEvent(admin, { name: `${tag} Open`, onSaleAt: inDays(-1), startsAt: inDays(10) });
      await createEvent(admin, { name: `${tag} Later`, onSaleAt: inDays(5), startsAt: inDays(10) });
      await createEvent(admin, { name: `${tag} Past`, onSaleAt: inDays(-10), startsAt: inDays(-1) });
      const soldOut = await createEvent(admin, {
        name: `${tag} Sold Out`,
        onSaleAt: inDays(-1),
        startsAt: inDays(10),
        sections: [{ name: 'Floor', rows: 1, seatsPerRow: 1 }],
        prices: { Floor: 2000 },
      });
      const buyer = await signUp();
      const bought = await api(`/api/bookings/${soldOut.eventId}`, {
        method: 'POST',
        token: buyer.token,
        json: { ticketIds: await ticketIdsOf(soldOut.eventId), paymentDetails: { paymentMethodId: 'pm_card_visa' } },
      });
      expect(bought.status).toBe(201);

      expect(ids(await found({ keyword: tag, onSale: true }))).toEqual([onSale.eventId]);
      expect((await found({ keyword: tag, onSale: false })).total).toBe(4);
      expect((await found({ keyword: tag })).total).toBe(4);
    });

    it('combines filters with a date range', async () => {
      const tag = unique('zqcombo');
      const city = unique('Combo City');
      const inside = await createEvent(admin, { name: `${tag} In`, city, startsAt: inDays(40) });
      await createEvent(admin, { name: `${tag} Later`, city, startsAt: inDays(80) });
      await createEvent(admin, { name: `${tag} Other`, startsAt: inDays(40) });

      expect(ids(await found({ keyword: tag, city, end: inDays(50).slice(0, 10) }))).toEqual([inside.eventId]);
    });
  });

  describe('venue coordinates', () => {
    const venue = (extra: Record<string, unknown>) =>
      api('/api/admin/venues', {
        method: 'POST',
        token: admin,
        json: { name: unique('Placed Hall '), city: 'Placeton', sections: [{ name: 'Floor', rows: 1, seatsPerRow: 2 }], ...extra },
      });

    it('are taken on POST /api/admin/venues, both or neither, and answered (null when unknown)', async () => {
      const placed = await venue({ latitude: 41.8781, longitude: -87.6298 });
      expect(placed.status).toBe(201);
      expect(((await placed.json()) as { venue: object }).venue).toMatchObject({ latitude: 41.8781, longitude: -87.6298 });
      const unplaced = await venue({});
      expect(((await unplaced.json()) as { venue: object }).venue).toMatchObject({ latitude: null, longitude: null });

      const bad: Array<[Record<string, unknown>, string]> = [
        [{ latitude: 41 }, 'longitude'],
        [{ longitude: -87 }, 'latitude'],
        [{ latitude: 90.5, longitude: 0 }, 'latitude'],
        [{ latitude: 0, longitude: -180.5 }, 'longitude'],
        [{ latitude: '41', longitude: '-87' }, 'latitude'],
      ];
      for (const [extra, field] of bad) {
        const response = await venue(extra);
        expect(response.status, JSON.stringify(extra)).toBe(400);
        expect(((await response.json()) as ErrorBody).error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
      }
    });
  });

  describe('sort', () => {
    it('relevance puts name matches first; date ignores where the word is; name is alphabetical in any case', async () => {
      const tag = unique('zqsort');
      const inDescription = await createEvent(admin, { name: 'Charlie Evening', description: `With ${tag}.`, startsAt: inDays(20) });
      const inName = await createEvent(admin, { name: `bravo ${tag}`, startsAt: inDays(22) });
      const inNameToo = await createEvent(admin, { name: `Alpha ${tag}`, startsAt: inDays(21) });

      expect(ids(await found({ keyword: tag }))).toEqual([inNameToo.eventId, inName.eventId, inDescription.eventId]);
      expect(ids(await found({ keyword: tag, sort: 'relevance' }))).toEqual([inNameToo.eventId, inName.eventId, inDescription.eventId]);
      expect(ids(await found({ keyword: tag, sort: 'date' }))).toEqual([inDescription.eventId, inNameToo.eventId, inName.eventId]);
      expect(ids(await found({ keyword: tag, sort: 'name' }))).toEqual([inNameToo.eventId, inName.eventId, inDescription.eventId]);
    });

    it('distance: nearest first, ties by date', async () => {
      const tag = unique('zqdist');
      const farEarly = await createEvent(admin, { name: `${tag} A`, latitude: 10, longitude: 10.3, startsAt: inDays(10) });
      const nearLate = await createEvent(admin, { name: `${tag} B`, latitude: 10, longitude: 10, startsAt: inDays(30) });
      const nearEarly = await createEvent(admin, { name: `${tag} C`, venueName: unique('Twin '), latitude: 10, longitude: 10, startsAt: inDays(20) });

      const body = await found({ keyword: tag, near: '10,10', sort: 'distance' });
      expect(ids(body)).toEqual([nearEarly.eventId, nearLate.eventId, farEarly.eventId]);
      expect(body.events.map((event) => event.distanceKm)).toEqual([0, 0, expect.closeTo(32.8, 0)]);
    });

    it('pages a sort the same way', async () => {
      const tag = unique('zqsortpage');
      const names = ['delta', 'Alpha', 'charlie', 'Bravo'];
      const created = new Map<string, string>();
      for (const name of names) created.set(name, (await createEvent(admin, { name: `${name} ${tag}` })).eventId);

      const pages = [await found({ keyword: tag, sort: 'name', pageSize: 2 }), await found({ keyword: tag, sort: 'name', pageSize: 2, page: 2 })];
      expect(pages.flatMap(ids)).toEqual(['Alpha', 'Bravo', 'charlie', 'delta'].map((name) => created.get(name)));
      expect(pages.map((page) => page.total)).toEqual([4, 4]);
    });
  });

  describe('facets', () => {
    it('counts the matching events by city and by genre, the most frequent first', async () => {
      const tag = unique('zqfacet');
      const [north, south] = [unique('Northton'), unique('Southton')];
      const [jazz, folk] = [unique('jazzy'), unique('folky')];
      await createEvent(admin, { name: `${tag} 1`, city: north, genre: jazz });
      await createEvent(admin, { name: `${tag} 2`, city: north, genre: folk });
      await createEvent(admin, { name: `${tag} 3`, city: south, genre: folk });
      await createEvent(admin, { name: `${tag} 4`, city: north, genre: folk });

      const body = await found({ keyword: tag, facets: 'city,genre' });
      expect(body.facets).toEqual({
        city: [{ value: north, count: 3 }, { value: south, count: 1 }],
        genre: [{ value: folk, count: 3 }, { value: jazz, count: 1 }],
      });
      expect(body.totalExact).toBeUndefined();
      // Facets count what the filters leave, not the page.
      const filtered = await found({ keyword: tag, facets: 'genre', city: north, pageSize: 1 });
      expect(filtered.facets).toEqual({ genre: [{ value: folk, count: 2 }, { value: jazz, count: 1 }] });
      expect(filtered.events).toHaveLength(1);
    });

    it('are empty lists when nothing matches', async () => {
      const body = await found({ keyword: `${unique('zqnothing')} vvvvvvvvvvvvvvvv`, facets: 'genre,city' });
      expect(body).toMatchObject({ total: 0, facets: { city: [], genre: [] } });
      const filtered = await found({ keyword: 'evening', city: unique('Nowhere'), facets: 'city' });
      expect(filtered).toMatchObject({ total: 0, facets: { city: [] } });
    });

    it('are absent unless asked for', async () => {
      const tag = unique('zqnofacet');
      await createEvent(admin, { name: `${tag} Show` });
      expect(await found({ keyword: tag })).not.toHaveProperty('facets');
    });
  });

  describe('did you mean', () => {
    it('is the corrected keyword when the keyword matched only through corrections', async () => {
      const word = unique('quabble').toLowerCase();
      const misspelt = word.slice(0, 3) + word.slice(4);
      const tag = unique('zqdym');
      const event = await createEvent(admin, { performerName: `Zorba ${word}`, name: `${tag} Night` });

      const body = await found({ keyword: `${misspelt} ${tag}` });
      expect(ids(body)).toEqual([event.eventId]);
      expect(body.didYouMean).toBe(`${word} ${tag}`);
    });

    it('is absent when the words are known, when a prefix extends a known word, and when nothing matched', async () => {
      const word = unique('quibble').toLowerCase();
      await createEvent(admin, { performerName: `Zorba ${word}` });

      expect(await found({ keyword: word })).not.toHaveProperty('didYouMean');
      expect(await found({ keyword: word.slice(0, 8) })).not.toHaveProperty('didYouMean');
      const nothing = await found({ keyword: `${word.slice(0, 3)}${word.slice(4)} vvvvvvvvvvvvvv` });
      expect(nothing).toEqual({ events: [], page: 1, pageSize: 20, total: 0 });
    });
  });

  describe('validation', () => {
    const cases: Array<[string, Record<string, string | number>, string]> = [
      ['near that is not two numbers', { near: 'chicago' }, 'near'],
      ['a latitude beyond 90', { near: '91,10' }, 'near'],
      ['a longitude beyond 180', { near: '10,181' }, 'near'],
      ['radiusKm without near', { radiusKm: 10 }, 'radiusKm'],
      ['radiusKm 0', { near: '1,1', radiusKm: 0 }, 'radiusKm'],
      ['radiusKm beyond 500', { near: '1,1', radiusKm: 501 }, 'radiusKm'],
      ['sort=distance without near', { sort: 'distance' }, 'sort'],
      ['an unknown sort', { sort: 'price' }, 'sort'],
      ['an unknown facet', { facets: 'city,price' }, 'facets.1'],
      ['an empty facet list', { facets: ',' }, 'facets'],
      ['onSale that is not true or false', { onSale: 'yes' }, 'onSale'],
      ['a venueId that is not an id', { venueId: 'nope' }, 'venueId'],
      ['a performerId that is not an id', { performerId: '123' }, 'performerId'],
      ['an empty city', { city: '' }, 'city'],
      ['a genre of 101 characters', { genre: 'g'.repeat(101) }, 'genre'],
    ];

    for (const [what, params, field] of cases) {
      it(`answers 400 validation_failed naming ${field} for ${what}`, async () => {
        const response = await search(params);
        expect(response.status).toBe(400);
        const body = (await response.json()) as ErrorBody;
        expect(body.error.code).toBe('validation_failed');
        expect(body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
      });
    }
  });
});
