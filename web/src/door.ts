// The door (organizers): a ticket's code, typed, from a keyboard-like scanner, or read by the camera
// through the browser's BarcodeDetector where it exists, checked with POST /api/admin/scan; the
// answer in large colours and words: admitted, already admitted, invalid.
import { api, type User } from './api';
import { byId, el, loginUrl, when } from './format';
import { currentUser } from './session';

interface Scan {
  result: 'admitted' | 'already_admitted' | 'invalid';
  ticket: { id: string; section: string; row: string | null; seat: number | null } | null;
  eventId: string | null;
  admittedAt: string | null;
}

interface Detector {
  detect(source: HTMLVideoElement): Promise<Array<{ rawValue: string }>>;
}

const WORDS = { admitted: 'ADMITTED', already_admitted: 'ALREADY ADMITTED', invalid: 'INVALID' } as const;
const MARKS = { admitted: '✓', already_admitted: '!', invalid: '✗' } as const;

export async function doorPage(): Promise<void> {
  const user: User | null = await currentUser();
  const form = byId<HTMLFormElement>('scan-form');
  const input = byId<HTMLInputElement>('scan-code');
  const result = byId('scan-result');
  if (!user) return location.assign(loginUrl());
  if (user.role !== 'admin') {
    form.hidden = true;
    result.dataset.result = 'invalid';
    result.replaceChildren(el('p', { text: 'Only organizers can check tickets at the door.' }));
    return;
  }

  let busy = false;
  const check = async (code: string) => {
    if (!code.trim() || busy) return;
    busy = true;
    const answer = await api<Scan>('/api/admin/scan', { method: 'POST', json: { code: code.trim() } });
    busy = false;
    input.value = '';
    input.focus();
    if (!answer.ok) {
      result.dataset.result = 'error';
      result.replaceChildren(el('p', { class: 'verdict', text: 'NOT CHECKED' }), el('p', { text: answer.error.message }));
      return;
    }
    const scan = answer.body;
    const seat = scan.ticket ? `Section ${scan.ticket.section}${scan.ticket.row ? `, row ${scan.ticket.row}` : ''}${scan.ticket.seat ? `, seat ${scan.ticket.seat}` : ''}` : '';
    result.dataset.result = scan.result;
    const lines: HTMLElement[] = [el('p', { class: 'verdict' }, el('span', { 'aria-hidden': 'true', text: `${MARKS[scan.result]} ` }), WORDS[scan.result])];
    if (seat) lines.push(el('p', { text: seat }));
    if (scan.result === 'already_admitted' && scan.admittedAt) lines.push(el('p', { text: `First admitted ${when(scan.admittedAt)}` }));
    if (scan.result === 'invalid') lines.push(el('p', { text: 'This code is not a valid ticket (forged, altered, cancelled or expired).' }));
    result.replaceChildren(...lines);
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void check(input.value);
  });

  // The camera, where the browser can read QR codes itself.
  const BarcodeDetectorClass = (window as unknown as { BarcodeDetector?: new (options: { formats: string[] }) => Detector }).BarcodeDetector;
  const cameraButton = byId<HTMLButtonElement>('scan-camera');
  if (!BarcodeDetectorClass || !navigator.mediaDevices?.getUserMedia) {
    byId('camera-note').textContent = 'This browser cannot read codes with the camera: type or scan them into the field.';
    return;
  }
  cameraButton.hidden = false;
  cameraButton.addEventListener('click', async () => {
    const video = byId<HTMLVideoElement>('scan-video');
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
      video.srcObject = stream;
      video.hidden = false;
      await video.play();
      cameraButton.hidden = true;
      const detector = new BarcodeDetectorClass({ formats: ['qr_code'] });
      let last = '';
      const look = async () => {
        const codes = await detector.detect(video).catch(() => []);
        const code = codes[0]?.rawValue;
        if (code && code !== last) {
          last = code;
          await check(code);
          setTimeout(() => (last = ''), 3000);
        }
        requestAnimationFrame(() => void look());
      };
      void look();
    } catch {
      byId('camera-note').textContent = 'The camera could not be used: type or scan codes into the field.';
    }
  });
}
