// The waiting room: position, people ahead, an ETA and a progress bar over the queue's WebSocket;
// in the lobby a countdown to the sale with the published seed hash and the fairness proof; on
// admission the status call sets the HttpOnly queue cookie that bookings accept, and the page
// moves on to the seats by itself; "sold out" when it is.
import { api } from './api';
import { byId, el, loginUrl, say, when } from './format';
import { currentUser } from './session';

type QueueMessage =
  | { type: 'position'; position: number; ahead: number; etaSeconds: number | null }
  | { type: 'admitted'; token: string; expiresAt: string }
  | { type: 'closed'; opensAt: string }
  | { type: 'lobby'; onSaleAt: string; seedHash: string }
  | { type: 'sold_out' }
  | { type: 'off' };

function duration(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} second${Math.round(seconds) === 1 ? '' : 's'}`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export async function queuePage(): Promise<void> {
  const eventId = document.body.dataset.eventId!;
  const state = byId('queue-state');
  const message = byId('queue-message');
  const progress = byId<HTMLProgressElement>('queue-progress');
  const eventUrl = `/events/${eventId}`;
  if (!(await currentUser())) return location.assign(loginUrl());

  void api<{ event: { name: string } }>(`/api/events/${eventId}?tickets=none`).then((result) => {
    if (result.ok) byId('queue-event').replaceChildren(el('a', { href: eventUrl, text: result.body.event.name }));
  });

  let firstAhead: number | null = null;
  let lobbyTimer = 0;
  let done = false;
  const show = (fields: Record<string, string>) => {
    for (const [id, text] of Object.entries(fields)) {
      const item = document.getElementById(id);
      if (item) item.textContent = text;
    }
  };

  const admitted = async () => {
    done = true;
    clearInterval(lobbyTimer);
    state.textContent = 'It is your turn. Taking you to the seats…';
    progress.value = 1;
    // The status call sets the queue cookie (HttpOnly, path /api/bookings) that holds carry.
    await api(`/api/events/${eventId}/queue/status`);
    location.assign(eventUrl);
  };

  const handle = (data: QueueMessage) => {
    switch (data.type) {
      case 'position': {
        clearInterval(lobbyTimer);
        byId('lobby').hidden = true;
        byId('line').hidden = false;
        firstAhead ??= Math.max(data.ahead, 1);
        progress.max = 1;
        progress.value = Math.min(1, Math.max(0, 1 - data.ahead / firstAhead));
        show({
          'queue-position': String(data.position),
          'queue-ahead': String(data.ahead),
          'queue-eta': data.etaSeconds === null ? 'Waiting for the line to move' : `About ${duration(data.etaSeconds)}`,
        });
        state.textContent = data.ahead === 0 ? 'You are next.' : `You are number ${data.position} in line.`;
        return;
      }
      case 'lobby': {
        byId('lobby').hidden = false;
        byId('line').hidden = true;
        show({ 'lobby-sale': when(data.onSaleAt), 'lobby-seed': data.seedHash });
        const tick = () => {
          const left = Math.max(0, Math.round((new Date(data.onSaleAt).getTime() - Date.now()) / 1000));
          const minutes = Math.floor(left / 60);
          byId('lobby-countdown').textContent = left > 0 ? `${minutes}:${String(left % 60).padStart(2, '0')}` : 'Drawing the order…';
        };
        clearInterval(lobbyTimer);
        tick();
        lobbyTimer = window.setInterval(tick, 1000);
        state.textContent = 'You are in the lobby. When the sale opens, everyone here is put in a random order.';
        return;
      }
      case 'admitted':
        void admitted();
        return;
      case 'closed':
        done = true;
        state.textContent = `The waiting room opens ${when(data.opensAt)}. Come back then.`;
        return;
      case 'sold_out':
        // Also in the lobby: the countdown stops, and the page points to the event's waiting list,
        // which offers places that come back (refunds, holds let go).
        done = true;
        clearInterval(lobbyTimer);
        byId('line').hidden = true;
        byId('lobby').hidden = true;
        state.textContent = 'Sold out: every ticket for this event has been sold.';
        say(message, 'Sold out. Sorry: there are no tickets left.', 'info');
        message.append(' ', el('a', { href: `${eventUrl}#waitlist`, text: 'Join the waiting list for places that come back' }));
        return;
      case 'off':
        done = true;
        state.textContent = 'The waiting room is off: you can choose seats now.';
        location.assign(eventUrl);
        return;
    }
  };

  let failures = 0;
  const connect = () => {
    const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/events/${eventId}/queue`);
    socket.addEventListener('open', () => {
      failures = 0;
      say(message, null);
    });
    socket.addEventListener('message', (event) => {
      if (event.data === 'pong') return;
      try {
        handle(JSON.parse(String(event.data)) as QueueMessage);
      } catch {
        // not ours
      }
    });
    socket.addEventListener('close', () => {
      if (done) return;
      // The place is kept for 2 minutes: reconnect, a little later each time.
      failures++;
      say(message, 'Connection lost; reconnecting. You keep your place.', 'info');
      setTimeout(connect, Math.min(10_000, 500 * 2 ** failures));
    });
  };
  byId('fairness').setAttribute('href', `/api/events/${eventId}/queue/fairness`);
  connect();
}
