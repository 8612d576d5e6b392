// The organizer's pages: performers, venues (sections × rows × seats with a live preview of the
// map, drawn by the same canvas as the event page), events (prices by section, on-sale time, queue
// settings), and an event's sales (sold, held, available, revenue, and a chart of what this page
// has seen over time: the API gives the figures of now, not a history).
import { refundTools } from './refunds';
import { api, type SearchAnswer, type User } from './api';
import { SeatCanvas } from './canvas';
import { byId, el, loginUrl, money, say, when } from './format';
import { SeatModel, type SeatmapAnswer } from './seats';
import { currentUser } from './session';

interface KnownVenue {
  id: string;
  name: string;
  city: string;
  /** Known when it was created here; else read from the seat map of one of its events. */
  sections?: string[];
  eventId?: string;
}

interface Known {
  performers: Array<{ id: string; name: string }>;
  venues: KnownVenue[];
}

const STORE = 'box-office:organizer';

function remembered(): Known {
  try {
    const known = JSON.parse(localStorage.getItem(STORE) ?? '') as Known;
    if (Array.isArray(known.performers) && Array.isArray(known.venues)) return known;
  } catch {
    // nothing kept yet
  }
  return { performers: [], venues: [] };
}

function remember(known: Known): void {
  localStorage.setItem(STORE, JSON.stringify(known));
}

async function requireOrganizer(): Promise<User | null> {
  const user = await currentUser();
  if (!user) {
    location.assign(loginUrl());
    return null;
  }
  if (user.role !== 'admin') {
    const main = byId('main');
    main.replaceChildren(el('h1', { text: 'Organizers only' }), el('p', { text: 'This page is for the box office’s organizers. Sign in with an organizer account.' }));
    return null;
  }
  return user;
}

function problems(error: { message: string; details?: unknown }): string {
  const details = Array.isArray(error.details) ? (error.details as Array<{ field?: string; message?: string }>) : [];
  return details.length ? `${error.message} ${details.map((d) => `${d.field ?? ''}: ${d.message ?? ''}`).join('; ')}` : error.message;
}

export async function organizePage(): Promise<void> {
  if (!(await requireOrganizer())) return;
  const known = remembered();
  const performerSelect = byId<HTMLSelectElement>('event-performer');
  const venueSelect = byId<HTMLSelectElement>('event-venue');
  const fillChoices = () => {
    const performer = performerSelect.value;
    const venue = venueSelect.value;
    performerSelect.replaceChildren(el('option', { value: '', text: 'Choose a performer' }), ...known.performers.map((p) => el('option', { value: p.id, text: p.name })));
    venueSelect.replaceChildren(el('option', { value: '', text: 'Choose a venue' }), ...known.venues.map((v) => el('option', { value: v.id, text: `${v.name}, ${v.city}` })));
    performerSelect.value = performer;
    venueSelect.value = venue;
  };
  fillChoices();

  // Performers
  const performerForm = byId<HTMLFormElement>('performer-form');
  performerForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(performerForm);
    const body = { name: String(data.get('name') ?? '').trim(), genre: String(data.get('genre') ?? '').trim() || undefined, bio: String(data.get('bio') ?? '').trim() || undefined };
    const message = byId('performer-message');
    if (!body.name) return say(message, 'Give the performer a name.');
    const result = await api<{ performer: { id: string; name: string } }>('/api/admin/performers', { method: 'POST', json: body });
    if (!result.ok) return say(message, `Not saved: ${problems(result.error)}`);
    known.performers.unshift({ id: result.body.performer.id, name: result.body.performer.name });
    remember({ performers: known.performers.slice(0, 200), venues: known.venues });
    fillChoices();
    performerSelect.value = result.body.performer.id;
    performerForm.reset();
    say(message, `Saved ${result.body.performer.name}.`, 'ok');
  });

  // Venues, with a live preview of the map.
  const sectionRows = byId('venue-sections');
  const venueForm = byId<HTMLFormElement>('venue-form');
  let shownCanvas = byId<HTMLCanvasElement>('venue-preview');
  let preview: SeatCanvas | null = null;
  type SectionInput = { name: string; rows: number; seatsPerRow: number } | { name: string; kind: 'standing'; capacity: number };
  const field = (row: HTMLElement, name: string) => row.querySelector(`[data-field=${name}]`) as HTMLInputElement;
  const sectionsOf = (): SectionInput[] =>
    [...sectionRows.querySelectorAll<HTMLElement>('.section-row')].map((row) => {
      const name = field(row, 'name').value.trim();
      const standing = field(row, 'kind').value === 'standing';
      // Only the fields of the section's kind are shown (and sent).
      field(row, 'rows').closest<HTMLElement>('.field')!.hidden = standing;
      field(row, 'seats').closest<HTMLElement>('.field')!.hidden = standing;
      field(row, 'capacity').closest<HTMLElement>('.field')!.hidden = !standing;
      return standing
        ? { name, kind: 'standing' as const, capacity: Number(field(row, 'capacity').value) }
        : { name, rows: Number(field(row, 'rows').value), seatsPerRow: Number(field(row, 'seats').value) };
    });
  const placesOf = (s: SectionInput) => ('capacity' in s ? s.capacity : s.rows * s.seatsPerRow);
  const redraw = () => {
    const sections = sectionsOf().filter((s) =>
      s.name && ('capacity' in s ? Number.isInteger(s.capacity) && s.capacity >= 1 && s.capacity <= 100_000 : s.rows >= 1 && s.seatsPerRow >= 1 && s.rows <= 200 && s.seatsPerRow <= 500),
    );
    const rowName = (i: number) => (i < 26 ? String.fromCharCode(65 + i) : String.fromCharCode(65 + Math.floor(i / 26) - 1) + String.fromCharCode(65 + (i % 26)));
    const map: SeatmapAnswer = {
      eventId: 'preview',
      version: 'preview',
      currency: 'USD',
      seatCount: sections.reduce((sum, s) => sum + placesOf(s), 0),
      sections: sections.map((s) =>
        'capacity' in s
          ? { name: s.name, kind: 'standing' as const, capacity: s.capacity, priceCents: 0 }
          : { name: s.name, priceCents: 0, rows: Array.from({ length: s.rows }, (_, i) => ({ name: rowName(i), seats: s.seatsPerRow })) },
      ),
    };
    byId('venue-capacity').textContent = `${map.seatCount.toLocaleString('en')} ${sections.some((s) => 'capacity' in s) ? 'places' : 'seats'} in ${sections.length} section${sections.length === 1 ? '' : 's'}`;
    const model = new SeatModel(map);
    model.statuses.fill(0);
    // A new canvas each time: the preview is small and the layout changes with every keystroke.
    const fresh = shownCanvas.cloneNode() as HTMLCanvasElement;
    shownCanvas.replaceWith(fresh);
    shownCanvas = fresh;
    preview = new SeatCanvas(fresh, model, { selected: new Set(), onSeat: () => {}, onSection: (section) => preview?.showSection(section) });
    byId('venue-preview-wrap').dataset.sections = String(sections.length);
  };
  let sectionCount = 0;
  const addSection = (name = '', rows = 10, seats = 20, kind: 'seated' | 'standing' = 'seated', capacity = 500) => {
    sectionCount++;
    const id = `s${sectionCount}`;
    const row = el(
      'div',
      { class: 'section-row', role: 'group', 'aria-label': `Section ${sectionCount}` },
      el('div', { class: 'field' }, el('label', { for: `${id}-name`, text: 'Section name' }), el('input', { id: `${id}-name`, 'data-field': 'name', value: name, required: true })),
      el(
        'div',
        { class: 'field' },
        el('label', { for: `${id}-kind`, text: 'Kind' }),
        el('select', { id: `${id}-kind`, 'data-field': 'kind' }, el('option', { value: 'seated', text: 'Seated (rows × seats)' }), el('option', { value: 'standing', text: 'Standing (general admission)' })),
      ),
      el('div', { class: 'field', hidden: true }, el('label', { for: `${id}-capacity`, text: 'Standing places' }), el('input', { id: `${id}-capacity`, 'data-field': 'capacity', type: 'number', min: '1', max: '100000', value: String(capacity) })),
      el('div', { class: 'field' }, el('label', { for: `${id}-rows`, text: 'Rows' }), el('input', { id: `${id}-rows`, 'data-field': 'rows', type: 'number', min: '1', max: '200', value: String(rows) })),
      el('div', { class: 'field' }, el('label', { for: `${id}-seats`, text: 'Seats per row' }), el('input', { id: `${id}-seats`, 'data-field': 'seats', type: 'number', min: '1', max: '500', value: String(seats) })),
      el('button', { type: 'button', class: 'link', 'data-remove-section': '', text: 'Remove section' }),
    );
    (row.querySelector('[data-field=kind]') as HTMLSelectElement).value = kind;
    sectionRows.append(row);
    redraw();
  };
  sectionRows.addEventListener('input', () => redraw());
  sectionRows.addEventListener('change', () => redraw());
  sectionRows.addEventListener('click', (event) => {
    const button = (event.target as HTMLElement).closest('[data-remove-section]');
    if (button && sectionRows.children.length > 1) {
      button.closest('.section-row')?.remove();
      redraw();
    }
  });
  byId('add-section').addEventListener('click', () => addSection(`Section ${sectionCount + 1}`));
  addSection('Floor', 10, 20);
  venueForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(venueForm);
    const message = byId('venue-message');
    const sections = sectionsOf();
    const body = { name: String(data.get('name') ?? '').trim(), city: String(data.get('city') ?? '').trim(), address: String(data.get('address') ?? '').trim() || undefined, sections };
    if (!body.name || !body.city) return say(message, 'Give the venue a name and a city.');
    const result = await api<{ venue: { id: string; name: string; city: string } }>('/api/admin/venues', { method: 'POST', json: body });
    if (!result.ok) return say(message, `Not saved: ${problems(result.error)}`);
    const venue = result.body.venue;
    known.venues.unshift({ id: venue.id, name: venue.name, city: venue.city, sections: sections.map((s) => s.name) });
    remember({ performers: known.performers, venues: known.venues.filter((v) => v.sections).slice(0, 200) });
    fillChoices();
    venueSelect.value = venue.id;
    void showPrices();
    say(message, `Saved ${venue.name} (${sections.reduce((sum, s) => sum + placesOf(s), 0)} ${sections.some((s) => 'capacity' in s) ? 'places' : 'seats'}).`, 'ok');
  });

  // Events: prices by section of the chosen venue.
  const prices = byId('event-prices');
  async function showPrices(): Promise<void> {
    const venue = known.venues.find((v) => v.id === venueSelect.value);
    if (!venue) return prices.replaceChildren(el('p', { class: 'hint', text: 'Choose a venue to set a price for each of its sections.' }));
    if (!venue.sections && venue.eventId) {
      const map = await api<SeatmapAnswer>(`/api/events/${venue.eventId}/seatmap`);
      if (map.ok) venue.sections = map.body.sections.map((s) => s.name);
    }
    prices.replaceChildren(
      ...(venue.sections ?? []).map((name, i) =>
        el('div', { class: 'field' }, el('label', { for: `price-${i}`, text: `Price in ${name}` }), el('input', { id: `price-${i}`, 'data-section': name, type: 'number', min: '0', step: '0.01', value: '25.00', required: true })),
      ),
    );
  }
  venueSelect.addEventListener('change', () => void showPrices());
  void showPrices();
  const queueBox = byId<HTMLInputElement>('event-queue');
  const queueFields = byId('queue-settings');
  queueBox.addEventListener('change', () => (queueFields.hidden = !queueBox.checked));
  const eventForm = byId<HTMLFormElement>('event-form');
  eventForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(eventForm);
    const message = byId('event-message');
    const iso = (name: string) => {
      const value = String(data.get(name) ?? '');
      return value ? new Date(value).toISOString() : undefined;
    };
    const priceMap: Record<string, number> = {};
    for (const input of prices.querySelectorAll<HTMLInputElement>('input[data-section]')) priceMap[input.dataset.section!] = Math.round(Number(input.value) * 100);
    const number = (name: string) => (data.get(name) ? Number(data.get(name)) : undefined);
    const body = {
      name: String(data.get('name') ?? '').trim(),
      description: String(data.get('description') ?? '').trim() || undefined,
      performerId: performerSelect.value,
      venueId: venueSelect.value,
      startsAt: iso('startsAt'),
      onSaleAt: iso('onSaleAt'),
      status: String(data.get('status') ?? 'published'),
      currency: String(data.get('currency') ?? 'USD').trim() || undefined,
      prices: priceMap,
      queue: queueBox.checked
        ? { enabled: true, admitPerMinute: number('admitPerMinute'), maxActive: number('maxActive'), tokenMinutes: number('tokenMinutes'), lobbyMinutes: number('lobbyMinutes') }
        : undefined,
    };
    if (!body.name || !body.performerId || !body.venueId || !body.startsAt) return say(message, 'Give the event a name, a performer, a venue and a start time.');
    const submit = eventForm.querySelector('button[type=submit]') as HTMLButtonElement;
    submit.disabled = true;
    say(message, 'Creating the event and one ticket per seat…', 'info');
    const result = await api<{ event: { id: string; name: string }; ticketCount: number }>('/api/admin/events', { method: 'POST', json: body });
    submit.disabled = false;
    if (!result.ok) return say(message, `Not saved: ${problems(result.error)}`);
    const { event: created, ticketCount } = result.body;
    message.replaceChildren(
      `Created ${created.name} with ${ticketCount} tickets. `,
      el('a', { href: `/events/${created.id}`, text: 'Event page' }),
      ' · ',
      el('a', { href: `/organize/events/${created.id}`, text: 'Sales' }),
    );
    message.dataset.kind = 'ok';
    message.hidden = false;
  });

  // Performers and venues of published events, so events can be made for them too.
  const found = await api<SearchAnswer>('/api/events/search?pageSize=100');
  if (found.ok) {
    for (const event of found.body.events) {
      if (!known.performers.some((p) => p.id === event.performer.id)) known.performers.push({ id: event.performer.id, name: event.performer.name });
      if (!known.venues.some((v) => v.id === event.venue.id)) known.venues.push({ id: event.venue.id, name: event.venue.name, city: event.venue.city, eventId: event.id });
    }
    fillChoices();
  }
  document.body.dataset.ready = 'true';
}

interface Sales {
  sold: number;
  held: number;
  available: number;
  revenueCents: number;
  refundedCents?: number;
  refundsPending?: number;
  currency: string;
  /** Cumulative sales by hour or day from the bookings' confirmation times (oldest first). */
  history?: Array<{ at: string; sold: number; revenueCents: number }>;
}

type ChartPoint = { at: number; sold: number; held?: number };

export async function salesPage(): Promise<void> {
  if (!(await requireOrganizer())) return;
  const eventId = document.body.dataset.eventId!;
  void api<{ event: { name: string } }>(`/api/events/${eventId}`).then((view) => {
    if (view.ok) byId('sales-event').replaceChildren(el('a', { href: `/events/${eventId}`, text: view.body.event.name }));
  });
  void editEvent(eventId);
  void refundTools(eventId, () => void load());
  // Samples taken while the page is open, drawn after the server's history of the sale.
  const samples: Array<{ at: number; sold: number; held: number }> = [];
  const chart = byId<HTMLCanvasElement>('sales-chart');
  const load = async () => {
    const result = await api<Sales>(`/api/admin/events/${eventId}/sales`);
    if (!result.ok) return say(byId('sales-message'), `The figures could not be loaded: ${result.error.message}`);
    const sales = result.body;
    byId('sales-sold').textContent = sales.sold.toLocaleString('en');
    byId('sales-held').textContent = sales.held.toLocaleString('en');
    byId('sales-available').textContent = sales.available.toLocaleString('en');
    byId('sales-revenue').textContent = money(sales.revenueCents, sales.currency);
    byId('sales-refunded').textContent = `${money(sales.refundedCents ?? 0, sales.currency)}${sales.refundsPending ? ` (${sales.refundsPending} still being paid back)` : ''}`;
    samples.push({ at: Date.now(), sold: sales.sold, held: sales.held });
    if (samples.length > 720) samples.shift();
    const history: ChartPoint[] = (sales.history ?? []).map((point) => ({ at: Date.parse(point.at), sold: point.sold })).filter((point) => point.at < samples[0]!.at);
    drawChart(chart, [...history, ...samples], sales.sold + sales.held + sales.available);
    chart.dataset.historyPoints = String(history.length);
    const since = history.length ? `since ${when(new Date(history[0]!.at).toISOString())}` : `over the last ${Math.max(1, Math.round((Date.now() - samples[0]!.at) / 60000))} minutes`;
    chart.setAttribute('aria-label', `Tickets sold ${since}: now ${sales.sold} sold and ${sales.held} held`);
  };
  await load();
  setInterval(() => void load(), 5000);
}

/** Sold over the whole span (history, then live samples); held only where the page sampled it. */
function drawChart(canvas: HTMLCanvasElement, samples: ChartPoint[], capacity: number): void {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 600;
  const height = canvas.clientHeight || 220;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  const context = canvas.getContext('2d')!;
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.fillStyle = '#fff';
  context.fillRect(0, 0, width, height);
  const pad = 30;
  const top = Math.max(1, capacity);
  const first = samples[0]!.at;
  const span = Math.max(60_000, samples[samples.length - 1]!.at - first);
  const x = (at: number) => pad + ((at - first) / span) * (width - 2 * pad);
  const y = (value: number) => height - pad - (value / top) * (height - 2 * pad);
  context.strokeStyle = '#999';
  context.strokeRect(pad, pad, width - 2 * pad, height - 2 * pad);
  context.fillStyle = '#555';
  context.font = '12px system-ui, sans-serif';
  context.fillText(`${top} seats`, pad + 4, pad + 14);
  context.fillText('now', width - pad - 24, height - pad + 16);
  if (span > 3_600_000) context.fillText(when(new Date(first).toISOString()), pad, height - pad + 16);
  const line = (key: 'sold' | 'held', colour: string, dash: number[]) => {
    const points = samples.filter((sample) => sample[key] !== undefined);
    if (!points.length) return;
    context.strokeStyle = colour;
    context.lineWidth = 2.5;
    context.setLineDash(dash);
    context.beginPath();
    points.forEach((sample, i) => (i ? context.lineTo(x(sample.at), y(sample[key]!)) : context.moveTo(x(sample.at), y(sample[key]!))));
    if (points.length === 1) context.lineTo(width - pad, y(points[0]![key]!));
    context.stroke();
    context.setLineDash([]);
  };
  line('held', '#f0a800', [6, 4]);
  line('sold', '#1b7f3b', []);
}

interface EventSettings {
  event: {
    name: string;
    status: string;
    onSaleAt: string | null;
    queue: { enabled: boolean; admitPerMinute?: number; maxActive?: number; tokenMinutes?: number; lobbyMinutes?: number };
  };
}

/** A datetime-local value (the browser's own time zone) for an ISO time. */
function localInput(iso: string | null): string {
  if (!iso) return '';
  const date = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** Status, on-sale time, prices and the waiting room, changed with PATCH /api/admin/events/:id. */
async function editEvent(eventId: string): Promise<void> {
  const [view, map] = await Promise.all([api<EventSettings>(`/api/events/${eventId}`), api<SeatmapAnswer>(`/api/events/${eventId}/seatmap`)]);
  if (!view.ok || !map.ok) return;
  const form = byId<HTMLFormElement>('edit-form');
  const { event } = view.body;
  const field = <T extends HTMLInputElement | HTMLSelectElement>(id: string) => byId<T>(id);
  field<HTMLSelectElement>('edit-status').value = event.status;
  field<HTMLInputElement>('edit-onsale').value = localInput(event.onSaleAt);
  const queue = field<HTMLInputElement>('edit-queue');
  queue.checked = event.queue.enabled;
  const settings = byId('edit-queue-settings');
  settings.hidden = !queue.checked;
  queue.addEventListener('change', () => (settings.hidden = !queue.checked));
  const numbers: Array<[string, number | undefined]> = [
    ['edit-rate', event.queue.admitPerMinute],
    ['edit-active', event.queue.maxActive],
    ['edit-token', event.queue.tokenMinutes],
    ['edit-lobby', event.queue.lobbyMinutes],
  ];
  for (const [id, value] of numbers) field<HTMLInputElement>(id).value = value === undefined ? '' : String(value);
  const prices = byId('edit-prices');
  prices.replaceChildren(
    ...map.body.sections.map((section, i) =>
      el('div', { class: 'field' }, el('label', { for: `edit-price-${i}`, text: `Price in ${section.name}` }), el('input', { id: `edit-price-${i}`, 'data-section': section.name, type: 'number', min: '0', step: '0.01', value: (section.priceCents / 100).toFixed(2) })),
    ),
  );
  form.hidden = false;
  form.addEventListener('submit', async (submitted) => {
    submitted.preventDefault();
    const message = byId('edit-message');
    const priceMap: Record<string, number> = {};
    for (const input of prices.querySelectorAll<HTMLInputElement>('input[data-section]')) priceMap[input.dataset.section!] = Math.round(Number(input.value) * 100);
    const onSale = field<HTMLInputElement>('edit-onsale').value;
    const number = (id: string) => (field<HTMLInputElement>(id).value ? Number(field<HTMLInputElement>(id).value) : undefined);
    const body = {
      status: field<HTMLSelectElement>('edit-status').value,
      onSaleAt: onSale ? new Date(onSale).toISOString() : undefined,
      prices: priceMap,
      queue: queue.checked
        ? { enabled: true, admitPerMinute: number('edit-rate'), maxActive: number('edit-active'), tokenMinutes: number('edit-token'), lobbyMinutes: number('edit-lobby') }
        : { enabled: false },
    };
    const result = await api<EventSettings>(`/api/admin/events/${eventId}`, { method: 'PATCH', json: body });
    if (!result.ok) return say(message, `Not saved: ${problems(result.error)}`);
    say(message, `Saved. ${result.body.event.name} is ${result.body.event.status}.`, 'ok');
  });
}
