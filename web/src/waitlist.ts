// The waiting list in the browser (API.md, waiting list): on an event page, join with a quantity
// (and a section) when nothing that fits is left, see the place in line, leave; on My tickets, every
// entry with its offer and a link to pay for it.
import { api } from './api';
import { byId, el, say, when } from './format';

export interface WaitlistEntry {
  id: string;
  eventId: string;
  quantity: number;
  section: string | null;
  position: number | null;
  status: 'waiting' | 'offered' | 'accepted' | 'expired' | 'left';
  offer: { bookingId: string; expiresAt: string } | null;
}

const places = (n: number) => `${n} ${n === 1 ? 'place' : 'places'}`;

/** What an entry means to its person, in words. */
export function entryText(entry: WaitlistEntry): string {
  const what = `${places(entry.quantity)}${entry.section ? ` in ${entry.section}` : ''}`;
  switch (entry.status) {
    case 'waiting':
      return `Waiting for ${what}: number ${entry.position} in line.`;
    case 'offered':
      return `${what[0]!.toUpperCase()}${what.slice(1)} ${entry.quantity === 1 ? 'is' : 'are'} held for you until ${when(entry.offer!.expiresAt)}. Pay before then to keep ${entry.quantity === 1 ? 'it' : 'them'}.`;
    case 'accepted':
      return `You took the ${what} offered to you.`;
    case 'expired':
      return `The offer of ${what} ran out and went to the next person.`;
    default:
      return `You left the waiting list (${what}).`;
  }
}

function entryActions(entry: WaitlistEntry, onLeave: () => void): Array<HTMLElement> {
  const actions: HTMLElement[] = [];
  if (entry.status === 'offered' && entry.offer) actions.push(el('a', { class: 'button primary', href: `/checkout/${encodeURIComponent(entry.offer.bookingId)}`, text: 'Pay for the offered places' }));
  if (entry.status === 'waiting' || entry.status === 'offered') {
    const leave = el('button', { type: 'button', text: 'Leave the waiting list' });
    leave.addEventListener('click', onLeave);
    actions.push(leave);
  }
  return actions;
}

async function leave(eventId: string, message: HTMLElement, after: () => void): Promise<void> {
  const result = await api(`/api/events/${eventId}/waitlist`, { method: 'DELETE' });
  if (!result.ok && result.status !== 404) return say(message, `You could not leave the waiting list: ${result.error.message}`);
  say(message, 'You left the waiting list.', 'ok');
  after();
}

/**
 * The event page's panel: the form to join, or where the signed-in person stands. Joining while
 * places that fit are free is refused by the server with words saying so.
 */
export async function waitlistPanel(eventId: string, sections: string[], signedIn: boolean): Promise<void> {
  const panel = byId('waitlist');
  const status = byId('waitlist-status');
  const message = byId('waitlist-message');
  const form = byId<HTMLFormElement>('waitlist-form');
  const select = byId<HTMLSelectElement>('waitlist-section');
  select.replaceChildren(el('option', { value: '', text: 'Any section' }), ...sections.map((name) => el('option', { value: name, text: name })));
  panel.hidden = false;

  const show = (entry: WaitlistEntry | null) => {
    const active = entry && (entry.status === 'waiting' || entry.status === 'offered');
    form.hidden = Boolean(active);
    status.replaceChildren(...(active ? [el('p', { text: entryText(entry) }), el('p', { class: 'actions' }, ...entryActions(entry, () => void leave(eventId, message, () => show(null))))] : []));
  };
  if (signedIn) {
    const mine = await api<{ entries: WaitlistEntry[] }>('/api/me/waitlist');
    if (mine.ok) show(mine.body.entries.find((entry) => entry.eventId === eventId && (entry.status === 'waiting' || entry.status === 'offered')) ?? null);
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!signedIn) return location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
    const quantity = Number(byId<HTMLInputElement>('waitlist-quantity').value);
    const section = select.value || undefined;
    const result = await api<{ entry: WaitlistEntry }>(`/api/events/${eventId}/waitlist`, { method: 'POST', json: { quantity, ...(section ? { section } : {}) } });
    if (!result.ok) {
      const words =
        result.error.code === 'tickets_available'
          ? 'Places that fit are free right now: choose them on the map instead of waiting.'
          : `You could not join the waiting list: ${result.error.message}`;
      return say(message, words);
    }
    say(message, result.status === 201 ? 'You are on the waiting list. We will hold places for you when they come free and tell you by e-mail.' : 'You were already on the waiting list.', 'ok');
    show(result.body.entry);
  });
}

/** My tickets: the person's waiting-list entries, newest first. */
export async function myWaitlist(): Promise<void> {
  const list = byId('waitlist-entries');
  const message = byId('waitlist-message');
  const result = await api<{ entries: WaitlistEntry[] }>('/api/me/waitlist');
  list.removeAttribute('aria-busy');
  if (!result.ok) return say(message, `Your waiting lists could not be loaded: ${result.error.message}`);
  byId('waitlist-section-of-tickets').hidden = result.body.entries.length === 0;
  const render = (entries: WaitlistEntry[]) =>
    list.replaceChildren(
      ...entries.map((entry) =>
        el(
          'li',
          { class: `waitlist-entry ${entry.status}` },
          el('p', {}, el('a', { href: `/events/${entry.eventId}`, text: 'Event' }), ` · ${entryText(entry)}`),
          el('p', { class: 'actions' }, ...entryActions(entry, () => void leave(entry.eventId, message, () => void myWaitlist()))),
        ),
      ),
    );
  render(result.body.entries);
  // Event names for the links, once per event.
  for (const eventId of new Set(result.body.entries.map((entry) => entry.eventId))) {
    void api<{ event: { name: string; startsAt: string } }>(`/api/events/${eventId}`).then((view) => {
      if (!view.ok) return;
      for (const link of list.querySelectorAll<HTMLAnchorElement>(`a[href="/events/${eventId}"]`)) link.textContent = `${view.body.event.name} · ${when(view.body.event.startsAt)}`;
    });
  }
}
