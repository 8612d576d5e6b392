// Search answers are cached by their normalized query with adaptive lifetimes (SEARCH_CACHE in
// src/routes/events.ts): an organizer's edit still shows within 60 s, and a hot query is
// refreshed in the background instead of waiting. On the Worker's clock (TestClock).
import { describe, expect, it } from 'vitest';
import { SEARCH_CACHE } from '../../src/routes/events';
import { adminToken, api, createEvent, TestClock, unique } from '../helpers';

async function firstName(keyword: string, extra = ''): Promise<{ name: string | undefined; cacheControl: string | null }> {
  const response = await api(`/api/events/search?keyword=${encodeURIComponent(keyword)}${extra}`);
  expect(response.status).toBe(200);
  const body = (await response.json()) as { events: Array<{ name: string }> };
  return { name: body.events[0]?.name, cacheControl: response.headers.get('Cache-Control') };
}

async function rename(admin: string, eventId: string, name: string): Promise<void> {
  const response = await api(`/api/admin/events/${eventId}`, { method: 'PATCH', token: admin, json: { name } });
  expect(response.status).toBe(200);
}

describe('GET /api/events/search caching', () => {
  it('shows an edit once a cold answer is 30 s old, and lets browsers keep an answer only for what is left of its 60 s', async () => {
    const clock = new TestClock();
    await clock.during(async () => {
      const admin = await adminToken();
      const tag = unique('zqcold');
      const { eventId } = await createEvent(admin, { name: `${tag} Before` });

      expect(await firstName(tag)).toEqual({ name: `${tag} Before`, cacheControl: 'public, max-age=60' });
      await rename(admin, eventId, `${tag} After`);
      clock.advance(20_000);
      expect(await firstName(tag)).toEqual({ name: `${tag} Before`, cacheControl: 'public, max-age=40' });
      clock.advance(SEARCH_CACHE.coldSeconds * 1000 - 20_000 + 1);
      expect((await firstName(tag)).name).toBe(`${tag} After`);
    });
  });

  it('answers a hot query from its copy while it is refreshed in the background, and never one older than 60 s', async () => {
    const clock = new TestClock();
    await clock.during(async () => {
      const admin = await adminToken();
      const tag = unique('zqhot');
      const { eventId } = await createEvent(admin, { name: `${tag} Before` });
      for (let i = 0; i < SEARCH_CACHE.hotAfter; i++) expect((await firstName(tag)).name).toBe(`${tag} Before`);

      await rename(admin, eventId, `${tag} After`);
      clock.advance(SEARCH_CACHE.hotFreshSeconds * 1000 + 1000);
      // The copy at once; its refresh, made after the edit, soon after without the clock moving.
      expect((await firstName(tag)).name).toBe(`${tag} Before`);
      let latest = `${tag} Before`;
      for (let tries = 0; tries < 50 && latest !== `${tag} After`; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        latest = (await firstName(tag)).name!;
      }
      expect(latest).toBe(`${tag} After`);

      // Not asked for a minute: the next request waits for Postgres rather than answer an old copy.
      await rename(admin, eventId, `${tag} Again`);
      clock.advance(SEARCH_CACHE.maxAgeSeconds * 1000 + 1000);
      expect((await firstName(tag)).name).toBe(`${tag} Again`);
    });
  });

  it('shares one answer between spellings of the same query', async () => {
    const clock = new TestClock();
    await clock.during(async () => {
      const admin = await adminToken();
      const tag = unique('zqnorm');
      const { eventId } = await createEvent(admin, { name: `${tag} Before`, city: 'Normalton' });
      expect((await firstName(tag, '&city=normalton&facets=genre,city')).name).toBe(`${tag} Before`);
      await rename(admin, eventId, `${tag} After`);
      // Case, spacing and the order of facets do not make another query: the cached answer it is.
      expect((await firstName(`  ${tag.toUpperCase()} `, '&city=NORMALTON&facets=city,genre')).name).toBe(`${tag} Before`);
    });
  });
});
