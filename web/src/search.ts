// Results: keyword, dates, city and genre filters, paging; "did you mean" when the API corrected a typo.
import { api, type Facet, type SearchAnswer } from './api';
import { byId, el } from './format';
import { resultItem } from './results';

const PAGE_SIZE = 20;

function fillSelect(select: HTMLSelectElement, facets: Facet[] | undefined, anyLabel: string): void {
  const chosen = select.dataset.value ?? '';
  const options = [el('option', { value: '', text: anyLabel })];
  const values = new Set<string>();
  for (const facet of facets ?? []) {
    values.add(facet.value.toLowerCase());
    options.push(el('option', { value: facet.value, text: `${facet.value} (${facet.count})`, selected: facet.value.toLowerCase() === chosen.toLowerCase() }));
  }
  if (chosen && !values.has(chosen.toLowerCase())) options.push(el('option', { value: chosen, text: chosen, selected: true }));
  select.replaceChildren(...options);
}

export async function search(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const page = Math.max(1, Number(params.get('page')) || 1);
  const query = new URLSearchParams({ pageSize: String(PAGE_SIZE), page: String(page), facets: 'city,genre' });
  const keyword = params.get('keyword')?.trim();
  if (keyword) query.set('keyword', keyword);
  for (const name of ['city', 'genre']) {
    const value = params.get(name);
    if (value) query.set(name, value);
  }
  const start = params.get('start');
  const end = params.get('end');
  if (start) query.set('start', start);
  // A day chosen as "until" includes that whole day.
  if (end) query.set('end', /^\d{4}-\d{2}-\d{2}$/.test(end) ? `${end}T23:59:59.999Z` : end);

  const list = byId('results');
  const summary = byId('summary');
  const result = await api<SearchAnswer>(`/api/events/search?${query}`);
  list.removeAttribute('aria-busy');
  if (!result.ok) {
    summary.textContent = result.status === 400 ? `Please check the filters: ${result.error.message}` : `Search failed: ${result.error.message}`;
    list.replaceChildren();
    return;
  }
  const answer = result.body;
  fillSelect(byId<HTMLSelectElement>('city'), answer.facets?.city, 'Any city');
  fillSelect(byId<HTMLSelectElement>('genre'), answer.facets?.genre, 'Any genre');

  const suggestion = byId('did-you-mean');
  if (answer.didYouMean) {
    const corrected = new URLSearchParams(params);
    corrected.set('keyword', answer.didYouMean);
    corrected.delete('page');
    suggestion.replaceChildren('Did you mean ', el('a', { href: `/search?${corrected}`, text: answer.didYouMean }), '? Showing results for it.');
    suggestion.hidden = false;
  }

  const pages = Math.max(1, Math.ceil(answer.total / answer.pageSize));
  const about = answer.totalExact === false ? 'about ' : '';
  summary.textContent = answer.total
    ? `${about}${answer.total} event${answer.total === 1 ? '' : 's'}${keyword ? ` for “${keyword}”` : ''} · page ${answer.page} of ${about}${pages}`
    : `No events found${keyword ? ` for “${keyword}”` : ''}. Try fewer words or other dates.`;
  list.setAttribute('start', String((answer.page - 1) * answer.pageSize + 1));
  list.replaceChildren(...answer.events.map(resultItem));

  const pager = byId('pager');
  const link = (to: number, text: string, rel: string) => {
    const next = new URLSearchParams(params);
    next.set('page', String(to));
    return el('a', { href: `/search?${next}`, rel, text });
  };
  pager.replaceChildren(
    ...(answer.page > 1 ? [link(answer.page - 1, '← Previous page', 'prev')] : []),
    ...(answer.page < pages && answer.events.length === answer.pageSize ? [link(answer.page + 1, 'Next page →', 'next')] : []),
  );
}
