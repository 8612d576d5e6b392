// One search result: name, date, venue, city and the lowest price, as a link to the event page.
import type { SearchEvent } from './api';
import { el, money, when } from './format';

export function resultItem(event: SearchEvent): HTMLLIElement {
  const price = event.minPriceCents === null || event.minPriceCents === undefined ? 'No seats for sale' : `From ${money(event.minPriceCents, event.currency)}`;
  return el(
    'li',
    { class: 'result' },
    el('a', { href: `/events/${event.id}`, class: 'result-name', text: event.name }),
    el(
      'dl',
      {},
      el('dt', { text: 'Date' }),
      el('dd', {}, el('time', { datetime: event.startsAt, text: when(event.startsAt) })),
      el('dt', { text: 'Venue' }),
      el('dd', { class: 'venue', text: event.venue.name }),
      el('dt', { text: 'City' }),
      el('dd', { class: 'city', text: event.venue.city }),
      el('dt', { text: 'Price' }),
      el('dd', { class: 'price', text: price }),
    ),
  );
}
