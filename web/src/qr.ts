// A ticket's rotating QR code (GET /api/bookings/:bookingId/tickets/:ticketId/rotating), drawn on a
// canvas with qrcode-generator and fetched again at each 30 s step, while it is on the page.
import qrcode from 'qrcode-generator';
import { api } from './api';
import { el } from './format';

export function drawQr(canvas: HTMLCanvasElement, text: string, size = 220): void {
  const qr = qrcode(0, 'M');
  qr.addData(text, 'Byte');
  qr.make();
  const count = qr.getModuleCount();
  const margin = 4;
  const cell = Math.max(2, Math.floor(size / (count + 2 * margin)));
  const pixels = cell * (count + 2 * margin);
  canvas.width = pixels;
  canvas.height = pixels;
  const context = canvas.getContext('2d')!;
  context.fillStyle = '#fff';
  context.fillRect(0, 0, pixels, pixels);
  context.fillStyle = '#000';
  for (let row = 0; row < count; row++) {
    for (let col = 0; col < count; col++) {
      if (qr.isDark(row, col)) context.fillRect((col + margin) * cell, (row + margin) * cell, cell, cell);
    }
  }
  canvas.dataset.code = text;
}

/** A figure with the ticket's QR, refreshed at each step while the figure stays in the document. */
export function rotatingQr(bookingId: string, ticketId: string, label: string): HTMLElement {
  const canvas = el('canvas', { class: 'qr', role: 'img', 'aria-label': `QR code of the ticket for ${label}` });
  const caption = el('figcaption', { class: 'hint', text: 'Loading the code…' });
  const figure = el('figure', { class: 'ticket-qr' }, canvas, caption);
  let nextAt = 0;
  const load = async () => {
    if (!figure.isConnected && nextAt) return; // the page moved on
    const result = await api<{ code: string; rotating: string; validForSeconds: number }>(
      `/api/bookings/${encodeURIComponent(bookingId)}/tickets/${encodeURIComponent(ticketId)}/rotating`,
    );
    if (!result.ok) {
      caption.textContent = `The code could not be loaded: ${result.error.message}`;
      setTimeout(load, 10_000);
      return;
    }
    drawQr(canvas, result.body.rotating);
    nextAt = Date.now() + Math.max(1, result.body.validForSeconds) * 1000;
    caption.textContent = `Show this at the door. It changes every 30 s (next in ${Math.max(1, Math.round(result.body.validForSeconds))} s).`;
    setTimeout(load, Math.max(1, result.body.validForSeconds) * 1000 + 200);
  };
  const tick = () => {
    if (nextAt) caption.textContent = `Show this at the door. It changes every 30 s (next in ${Math.max(0, Math.round((nextAt - Date.now()) / 1000))} s).`;
    if (figure.isConnected || !nextAt) setTimeout(tick, 1000);
  };
  void load();
  tick();
  return figure;
}
