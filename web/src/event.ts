// The event page: details, the seat map (canvas) and beside it a section → row → seat list whose
// buttons a keyboard reaches, both kept live by the compact seat stream; a basket up to the
// per-account limit with its total; "Hold" takes the seats (POST /api/bookings/:eventId with
// `seats`) and goes to the checkout. A standing area (general admission) is one shape on the map
// and one entry in the list, with its free places: the buyer asks for a quantity and the server
// picks the places (`best` with the section).
import { api } from './api';
import { currentUser } from './session';
import { waitlistPanel } from './waitlist';
import { SeatCanvas } from './canvas';
import { byId, el, loginUrl, money, say, when } from './format';
import { AVAILABLE, BOOKED, decodeStatuses, NOT_FOR_SALE, placeName, RESERVED, SeatModel, type AvailabilityAnswer, type SeatmapAnswer, type SectionLayout } from './seats';

interface EventView {
  event: { id: string; name: string; description: string | null; startsAt: string; onSaleAt: string | null; status: string; queue: { enabled: boolean } };
  venue: { id: string; name: string; city: string; address: string | null; capacity: number };
  performer: { id: string; name: string; genre: string | null };
}

const STATUS_WORDS: Record<number, string> = { [AVAILABLE]: 'available', [RESERVED]: 'held', [BOOKED]: 'sold', [NOT_FOR_SALE]: 'not for sale' };

export async function eventPage(): Promise<void> {
  const eventId = document.body.dataset.eventId!;
  const limit = Number(document.body.dataset.maxTickets) || 10;
  const selectionKey = `box-office:selection:${eventId}`;

  const [mapResult, availabilityResult] = await Promise.all([
    api<SeatmapAnswer>(`/api/events/${eventId}/seatmap`),
    api<AvailabilityAnswer>(`/api/events/${eventId}/availability`),
  ]);
  if (!mapResult.ok) {
    void loadDetails(eventId);
    say(byId('event-message'), mapResult.status === 404 ? 'This event does not exist or is not on sale.' : `The seat map could not be loaded: ${mapResult.error.message}`);
    return;
  }
  // The details come from the full event view, which at 80,000 seats is 11 MB to build and read:
  // asked for after the map's two small resources, so it never delays the map.
  void loadDetails(eventId);
  const model = new SeatModel(mapResult.body);
  void currentUser().then((user) => waitlistPanel(eventId, model.sections.map((section) => section.name), Boolean(user)));
  if (availabilityResult.ok) model.setAll(decodeStatuses(availabilityResult.body.statuses, model.map.seatCount), availabilityResult.body.version);
  const currency = model.map.currency;
  const selected = new Set<number>();
  const holdMessage = byId('hold-message');

  const sectionSelect = byId<HTMLSelectElement>('section-select');
  const rowSelect = byId<HTMLSelectElement>('row-select');
  const seatButtons = byId('seat-buttons');
  const canvasElement = byId<HTMLCanvasElement>('seat-canvas');

  const seatName = (index: number): string => {
    const place = model.place(index)!;
    const status = selected.has(index) ? 'selected' : STATUS_WORDS[model.statuses[index]!]!;
    return `${placeName(place)}, ${money(place.section.priceCents, currency)}, ${status}`;
  };

  const toggle = (index: number): void => {
    if (selected.has(index)) selected.delete(index);
    else if (model.statuses[index] !== AVAILABLE) return say(holdMessage, 'That seat is not available.', 'info');
    else if (selected.size >= limit) return say(holdMessage, `You can choose up to ${limit} seats for this event.`, 'info');
    else selected.add(index);
    say(holdMessage, null);
    changed();
  };

  const canvas = new SeatCanvas(canvasElement, model, {
    selected,
    onSeat: (index) => {
      toggle(index);
      const place = model.place(index);
      if (place) showRow(place.section, place.rowIndex, false);
    },
    onSection: (section) => {
      canvas.showSection(section);
      showRow(section, 0, false);
    },
  });
  (window as unknown as { seatCanvas: SeatCanvas }).seatCanvas = canvas;
  byId('zoom-in').addEventListener('click', () => canvas.zoomCentre(1.6));
  byId('zoom-out').addEventListener('click', () => canvas.zoomCentre(1 / 1.6));
  byId('zoom-reset').addEventListener('click', () => canvas.fit());

  // Section → row → seat list.
  const sectionLabel = (section: SectionLayout) =>
    section.standing
      ? `${section.name} · standing · ${money(section.priceCents, currency)} · ${model.freeIn(section)} of ${section.count} places free`
      : `${section.name} · ${money(section.priceCents, currency)} · ${model.freeIn(section)} of ${section.count} free`;
  /** What the list says of a standing area (API.md's general admission). */
  const standingText = (section: SectionLayout) => `Section ${section.name}, standing, ${model.freeIn(section)} of ${section.count} places, ${money(section.priceCents, currency)}`;
  sectionSelect.replaceChildren(...model.sections.map((section) => el('option', { value: String(section.index), text: sectionLabel(section) })));
  const currentSection = () => model.sections[Number(sectionSelect.value)] ?? model.sections[0]!;

  const fillRows = (section: SectionLayout) => {
    rowSelect.disabled = section.standing;
    if (section.standing) return rowSelect.replaceChildren(el('option', { value: '0', text: 'Standing: no rows' }));
    const chosen = rowSelect.value;
    rowSelect.replaceChildren(
      ...section.rows.map((row, i) => el('option', { value: String(i), text: `Row ${row.name} · ${model.freeInRow(row)} of ${row.seats} free` })),
    );
    if (chosen && Number(chosen) < section.rows.length) rowSelect.value = chosen;
  };

  let tabStop: number | null = null;
  const fillSeats = () => {
    const section = currentSection();
    if (section.standing) return fillStanding(section);
    const row = section.rows[Number(rowSelect.value)] ?? section.rows[0];
    if (!row) return seatButtons.replaceChildren();
    byId('seats-legend').textContent = `Seats in section ${section.name}, row ${row.name}`;
    const focused = document.activeElement instanceof HTMLElement ? document.activeElement.dataset.seat : undefined;
    // One tab stop for the row (the seat last moved to, else the first); arrow keys move within it.
    if (tabStop === null || tabStop < row.first || tabStop >= row.first + row.seats) tabStop = row.first;
    const buttons: HTMLElement[] = [];
    for (let n = 0; n < row.seats; n++) {
      const index = row.first + n;
      const status = model.statuses[index]!;
      const chosen = selected.has(index);
      const mark = chosen ? '✓' : status === AVAILABLE ? '' : status === NOT_FOR_SALE ? '–' : '×';
      const button = el(
        'button',
        {
          type: 'button',
          class: `seat s${status}${chosen ? ' chosen' : ''}`,
          'data-seat': String(index),
          'aria-label': seatName(index),
          'aria-pressed': chosen ? 'true' : 'false',
          'aria-disabled': status !== AVAILABLE && !chosen ? 'true' : undefined,
          tabindex: index === tabStop ? '0' : '-1',
        },
        el('span', { 'aria-hidden': 'true', text: `${n + 1}${mark ? ' ' + mark : ''}` }),
      );
      buttons.push(el('li', {}, button));
    }
    seatButtons.replaceChildren(...buttons);
    if (focused) (seatButtons.querySelector(`[data-seat="${focused}"]`) as HTMLElement | null)?.focus();
  };

  /** A standing area in the list: its free places and a quantity to take (the server picks the places). */
  function fillStanding(section: SectionLayout): void {
    byId('seats-legend').textContent = `Places in section ${section.name} (standing)`;
    const focused = document.activeElement instanceof HTMLElement ? document.activeElement.dataset.standing : undefined;
    const previous = seatButtons.querySelector<HTMLInputElement>('input[data-quantity]');
    const quantity = previous && previous.dataset.section === String(section.index) ? previous.value : '1';
    const free = model.freeIn(section);
    const id = `standing-quantity-${section.index}`;
    seatButtons.replaceChildren(
      el(
        'li',
        { class: 'standing' },
        el('p', { id: `${id}-text`, 'data-standing-text': '', text: standingText(section) }),
        el('label', { for: id, text: 'Places' }),
        el('input', { id, type: 'number', min: '1', max: String(limit), value: quantity, 'data-quantity': '', 'data-section': String(section.index), 'data-standing': 'quantity', 'aria-describedby': `${id}-text` }),
        el('button', {
          type: 'button',
          'data-take': String(section.index),
          'data-standing': 'take',
          'aria-describedby': `${id}-text`,
          'aria-disabled': free === 0 ? 'true' : undefined,
          text: free === 0 ? 'Sold out' : 'Take places',
        }),
      ),
    );
    if (focused) (seatButtons.querySelector(`[data-standing="${focused}"]`) as HTMLElement | null)?.focus();
  }

  function showRow(section: SectionLayout, rowIndex: number, moveCanvas: boolean): void {
    sectionSelect.value = String(section.index);
    fillRows(section);
    rowSelect.value = String(Math.max(0, rowIndex));
    fillSeats();
    if (moveCanvas) canvas.showSection(section);
  }

  sectionSelect.addEventListener('change', () => {
    rowSelect.value = '0';
    showRow(currentSection(), 0, true);
  });
  rowSelect.addEventListener('change', () => fillSeats());
  seatButtons.addEventListener('keydown', (event) => {
    const current = (event.target as HTMLElement).closest<HTMLElement>('button[data-seat]');
    if (!current) return;
    const all = [...seatButtons.querySelectorAll<HTMLElement>('button[data-seat]')];
    const at = all.indexOf(current);
    const moves: Record<string, number> = { ArrowRight: at + 1, ArrowDown: at + 1, ArrowLeft: at - 1, ArrowUp: at - 1, Home: 0, End: all.length - 1 };
    const next = moves[event.key];
    if (next === undefined) return;
    event.preventDefault();
    const target = all[Math.max(0, Math.min(all.length - 1, next))]!;
    current.tabIndex = -1;
    target.tabIndex = 0;
    tabStop = Number(target.dataset.seat);
    target.focus();
  });
  seatButtons.addEventListener('click', (event) => {
    const button = (event.target as HTMLElement).closest<HTMLElement>('button[data-seat]');
    if (!button) return;
    tabStop = Number(button.dataset.seat);
    toggle(tabStop);
  });

  // The basket.
  const basket = byId('basket-seats');
  const holdButton = byId<HTMLButtonElement>('hold');
  byId('basket-limit').textContent = `Up to ${limit} seats per person.`;
  function renderBasket(): void {
    const indexes = [...selected].sort((a, b) => a - b);
    let total = 0;
    basket.replaceChildren(
      ...indexes.map((index) => {
        const place = model.place(index)!;
        total += place.section.priceCents;
        return el(
          'li',
          {},
          `${placeName(place)} · ${money(place.section.priceCents, currency)} `,
          el('button', { type: 'button', class: 'link', 'data-remove': String(index), 'aria-label': `Remove ${placeName(place).replace(/^S/, 's')}`, text: 'Remove' }),
        );
      }),
    );
    if (!indexes.length) basket.append(el('li', { class: 'hint', text: 'No seats chosen yet: pick them on the map or in the list.' }));
    byId('basket-total').textContent = indexes.length ? `${money(total, currency)} for ${indexes.length} seat${indexes.length === 1 ? '' : 's'}` : '—';
    holdButton.disabled = indexes.length === 0 || holdButton.dataset.closed === 'true';
    sessionStorage.setItem(selectionKey, JSON.stringify(indexes));
  }
  basket.addEventListener('click', (event) => {
    const button = (event.target as HTMLElement).closest<HTMLElement>('button[data-remove]');
    if (button) toggle(Number(button.dataset.remove));
  });

  function changed(): void {
    renderBasket();
    const section = currentSection();
    const option = sectionSelect.selectedOptions[0];
    if (option) option.textContent = sectionLabel(section);
    fillRows(section);
    fillSeats();
    canvas.invalidate();
  }

  // A choice made before signing in comes back.
  try {
    for (const index of JSON.parse(sessionStorage.getItem(selectionKey) ?? '[]') as number[]) {
      if (model.statuses[index] === AVAILABLE && selected.size < limit && model.place(index)?.row) selected.add(index);
    }
  } catch {
    // nothing kept
  }
  const firstFree = model.statuses.indexOf(AVAILABLE);
  const start = model.place(selected.size ? Math.min(...selected) : firstFree >= 0 ? firstFree : 0);
  if (start) showRow(start.section, start.rowIndex, false);
  renderBasket();

  // Live: the compact seat stream. Seats someone else takes turn unavailable at once.
  const applyStatuses = (changes: Array<[number, number]>) => {
    const lost: number[] = [];
    for (const [index, status] of changes) {
      if (index < 0 || index >= model.statuses.length) continue;
      model.statuses[index] = status;
      if (status !== AVAILABLE && selected.has(index) && !holding) {
        selected.delete(index);
        lost.push(index);
      }
    }
    if (lost.length) {
      const names = lost.map((index) => placeName(model.place(index)!).replace(/^S/, 's'));
      say(holdMessage, `Someone else just took ${names.join('; ')}. It was removed from your seats.`, 'info');
    }
    // Update in place where possible; the seat list only shows one row.
    for (const section of model.sections) {
      const option = sectionSelect.options[section.index];
      if (option) option.textContent = sectionLabel(section);
    }
    changed();
  };
  let holding = false;
  const stream = new EventSource(`/api/events/${eventId}/seats/stream?format=compact`);
  stream.addEventListener('snapshot', (event) => {
    const data = JSON.parse((event as MessageEvent).data) as { version: number; seatCount: number; statuses: string };
    const statuses = decodeStatuses(data.statuses, model.map.seatCount);
    const changes: Array<[number, number]> = [];
    for (let i = 0; i < statuses.length; i++) if (statuses[i] !== model.statuses[i]) changes.push([i, statuses[i]!]);
    model.version = data.version;
    applyStatuses(changes);
    document.body.dataset.live = 'true';
  });
  stream.addEventListener('seats', (event) => {
    const data = JSON.parse((event as MessageEvent).data) as { version: number; changes: Array<[number, number]> };
    model.version = data.version;
    applyStatuses(data.changes);
  });
  window.addEventListener('pagehide', () => stream.close());

  // Standing places: a quantity of the area, chosen by the server (`best` with the section).
  seatButtons.addEventListener('click', async (event) => {
    const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-take]');
    if (!button) return;
    const section = model.sections[Number(button.dataset.take)];
    const input = seatButtons.querySelector<HTMLInputElement>('input[data-quantity]');
    const quantity = Number(input?.value);
    if (!section) return;
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > limit) return say(holdMessage, `Choose between 1 and ${limit} places.`, 'info');
    if (model.freeIn(section) < quantity) return say(holdMessage, `Only ${model.freeIn(section)} places are left in section ${section.name}.`, 'info');
    if (!(await currentUser())) {
      say(holdMessage, 'Please log in to take places.', 'info');
      location.assign(loginUrl());
      return;
    }
    say(holdMessage, `Holding ${quantity} place${quantity === 1 ? '' : 's'} in section ${section.name}…`, 'info');
    await reserve({ best: { quantity, section: section.name } }, button);
  });

  // Hold.
  holdButton.addEventListener('click', async () => {
    const seats = [...selected].sort((a, b) => a - b);
    if (!seats.length) return;
    if (!(await currentUser())) {
      say(holdMessage, 'Please log in to hold seats. Your choice is kept.', 'info');
      location.assign(loginUrl());
      return;
    }
    say(holdMessage, 'Holding your seats…', 'info');
    await reserve({ seats }, holdButton);
  });

  // Best available (API.md): the server picks adjacent seats nearest the stage and the row's centre,
  // in the section chosen or every section within the price.
  const bestSection = byId<HTMLSelectElement>('best-section');
  bestSection.replaceChildren(el('option', { value: '', text: 'Any section' }), ...model.sections.map((section) => el('option', { value: section.name, text: `${section.name} (${money(section.priceCents, currency)})` })));
  byId<HTMLFormElement>('best-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const quantity = Number(byId<HTMLInputElement>('best-quantity').value);
    const maxPrice = byId<HTMLInputElement>('best-max').value.trim();
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > limit) return say(holdMessage, `Ask for 1 to ${limit} seats.`, 'info');
    const best = { quantity, ...(bestSection.value ? { section: bestSection.value } : {}), ...(maxPrice ? { maxPriceCents: Math.round(Number(maxPrice) * 100) } : {}) };
    say(holdMessage, 'Finding the best seats…', 'info');
    await reserve({ best }, byId<HTMLButtonElement>('best-hold'));
  });

  /** Holds seats (by index) or places (best) and goes to the checkout; a refusal in words. */
  async function reserve(json: { seats: number[] } | { best: { quantity: number; section?: string; maxPriceCents?: number } }, button: HTMLButtonElement): Promise<void> {
    const bySeat = 'seats' in json;
    button.disabled = true;
    holding = true;
    const result = await api<{ bookingId: string }>(`/api/bookings/${eventId}`, { method: 'POST', json });
    holding = false;
    button.disabled = false;
    if (result.ok) {
      sessionStorage.removeItem(selectionKey);
      stream.close();
      location.assign(`/checkout/${encodeURIComponent(result.body.bookingId)}`);
      return;
    }
    const { code, message, details } = result.error;
    if (result.status === 401) {
      say(holdMessage, 'Please log in to hold seats. Your choice is kept.', 'info');
      location.assign(loginUrl());
    } else if (code === 'tickets_unavailable' && !bySeat) {
      const standing = !bySeat && model.sections.some((section) => section.standing && section.name === json.best.section);
      say(holdMessage, standing || bySeat ? 'There are not that many places left in this area just now. Try fewer.' : `No ${json.best.quantity === 1 ? 'seat is' : `${json.best.quantity} seats are`} free as asked just now. Try fewer seats, another section or a higher price.`);
    } else if (code === 'tickets_unavailable') {
      const taken = (details as { seats?: number[] } | undefined)?.seats ?? [];
      for (const index of taken) {
        selected.delete(index);
        if (model.statuses[index] === AVAILABLE) model.statuses[index] = RESERVED;
      }
      changed();
      say(holdMessage, 'Some of those seats were just taken by someone else and have been removed. Please check your seats and try again.');
    } else if (code === 'ticket_limit') {
      say(holdMessage, `That would be more than ${limit} tickets for this event for your account (counting tickets you already hold or own).`);
    } else if (code === 'queue_required') {
      say(holdMessage, 'This event has a waiting room: taking you to the line. Your choice is kept.', 'info');
      location.assign(`/events/${eventId}/queue`);
    } else {
      say(holdMessage, `The seats could not be held: ${message}`);
    }
  }
}

async function loadDetails(eventId: string): Promise<void> {
  const box = byId('event-details');
  const result = await api<EventView>(`/api/events/${eventId}?tickets=none`);
  box.removeAttribute('aria-busy');
  if (!result.ok) {
    if (result.status === 404) byId('event-name').textContent = 'Event not found';
    return;
  }
  const { event, venue, performer } = result.body;
  document.title = `${event.name} · Box office`;
  byId('event-name').textContent = event.name;
  box.append(
    el(
      'dl',
      { class: 'details' },
      el('dt', { text: 'Who' }),
      el('dd', { text: `${performer.name}${performer.genre ? ` (${performer.genre})` : ''}` }),
      el('dt', { text: 'When' }),
      el('dd', {}, el('time', { datetime: event.startsAt, text: when(event.startsAt) })),
      el('dt', { text: 'Where' }),
      el('dd', { text: `${venue.name}, ${venue.address ? `${venue.address}, ` : ''}${venue.city}` }),
    ),
  );
  if (event.description) box.append(el('p', { class: 'description', text: event.description }));
  if (event.status === 'cancelled') {
    say(byId('event-message'), 'This event has been cancelled: its tickets are not on sale.');
    const hold = byId<HTMLButtonElement>('hold');
    hold.disabled = true;
    hold.dataset.closed = 'true';
  }
  else if (event.onSaleAt && new Date(event.onSaleAt) > new Date()) say(byId('event-message'), `Tickets go on sale ${when(event.onSaleAt)}.`, 'info');
  else if (event.queue.enabled) void showQueue(eventId);
}

/** An event with its waiting room on: the way in, or how long the admission lasts. */
async function showQueue(eventId: string): Promise<void> {
  const box = byId('event-message');
  const status = (await currentUser()) ? await api<{ state: string; expiresAt: string | null }>(`/api/events/${eventId}/queue/status`) : null;
  if (status?.ok && status.body.state === 'admitted') {
    say(box, `It is your turn: hold your seats before ${when(status.body.expiresAt!)}.`, 'ok');
    return;
  }
  box.replaceChildren('This event has a waiting room for its sale. ', el('a', { href: `/events/${eventId}/queue`, text: 'Join the line' }), ' to choose seats.');
  box.dataset.kind = 'info';
  box.hidden = false;
}
