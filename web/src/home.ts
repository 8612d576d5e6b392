// Home: upcoming events (search without a keyword, by date) and the cities that have events (facets=city).
import { api, type SearchAnswer } from './api';
import { byId, el } from './format';
import { resultItem } from './results';

export async function home(): Promise<void> {
  const upcoming = byId('upcoming');
  const cities = byId('cities');
  const result = await api<SearchAnswer>('/api/events/search?pageSize=12&facets=city');
  upcoming.removeAttribute('aria-busy');
  cities.removeAttribute('aria-busy');
  if (!result.ok) {
    upcoming.replaceChildren(el('li', { class: 'message', text: `Events could not be loaded: ${result.error.message}` }));
    return;
  }
  upcoming.replaceChildren(...(result.body.events.length ? result.body.events.map(resultItem) : [el('li', { text: 'No upcoming events yet.' })]));
  const facets = result.body.facets?.city ?? [];
  cities.replaceChildren(
    ...facets.map((city) => el('li', {}, el('a', { href: `/search?city=${encodeURIComponent(city.value)}`, text: `${city.value} (${city.count})` }))),
  );
}
