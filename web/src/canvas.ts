// The seat map on a canvas, with level of detail: sections as blocks (shaded by how much is left)
// until a seat is big enough to point at, then only the seats in view. Pan by dragging, zoom with
// the wheel, a pinch or the buttons. Status is never colour alone: free seats are filled squares,
// taken ones hollow with a cross, not-for-sale ones a dash, chosen ones carry a tick. A standing
// area is one shape at every zoom, with its free places counted: choosing it offers a quantity.
import { AVAILABLE, NOT_FOR_SALE, type SeatModel, type SectionLayout } from './seats';

/** Below this many pixels a seat, sections are drawn as blocks. */
const SEAT_DETAIL_PX = 6;

const COLOURS = {
  background: '#f7f7f9',
  stage: '#3a3a48',
  available: '#1b7f3b',
  taken: '#8a8a8a',
  blocked: '#d5d5db',
  selected: '#1747c9',
  label: '#1d1d26',
};

export interface CanvasHandlers {
  selected: ReadonlySet<number>;
  onSeat(index: number): void;
  onSection(section: SectionLayout): void;
}

export class SeatCanvas {
  private scale = 1;
  private ox = 0;
  private oy = 0;
  private pending = false;
  /** Until someone pans or zooms, a resize fits the whole venue again. */
  private moved = false;
  private readonly pointers = new Map<number, { x: number; y: number }>();
  private dragDistance = 0;
  private pinchDistance = 0;
  /** The stage's depth in seat units: shallow for a small hall. */
  private readonly stage: number;
  /** Frames drawn, and when the first was (ms after navigation), for the performance checks. */
  frames = 0;
  firstPaint = 0;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly model: SeatModel,
    private readonly handlers: CanvasHandlers,
  ) {
    this.stage = Math.max(1.5, Math.min(6, model.width * 0.08));
    new ResizeObserver(() => {
      this.resize();
      if (!this.moved) this.fit();
    }).observe(canvas);
    this.resize();
    this.fit();
    canvas.addEventListener('wheel', (event) => {
      event.preventDefault();
      const point = this.local(event);
      this.zoomAt(Math.exp(-event.deltaY * 0.0015), point.x, point.y);
    }, { passive: false });
    canvas.addEventListener('pointerdown', (event) => {
      canvas.setPointerCapture(event.pointerId);
      this.pointers.set(event.pointerId, this.local(event));
      this.dragDistance = 0;
      if (this.pointers.size === 2) this.pinchDistance = this.spread();
    });
    canvas.addEventListener('pointermove', (event) => {
      const previous = this.pointers.get(event.pointerId);
      if (!previous) return;
      const point = this.local(event);
      this.pointers.set(event.pointerId, point);
      if (this.pointers.size === 2) {
        const spread = this.spread();
        const centre = this.centre();
        if (this.pinchDistance > 0) this.zoomAt(spread / this.pinchDistance, centre.x, centre.y);
        this.pinchDistance = spread;
        this.dragDistance += 10;
        return;
      }
      this.dragDistance += Math.abs(point.x - previous.x) + Math.abs(point.y - previous.y);
      this.moved = true;
      this.ox += point.x - previous.x;
      this.oy += point.y - previous.y;
      this.invalidate();
    });
    const release = (event: PointerEvent) => {
      const wasClick = this.pointers.size === 1 && this.dragDistance < 6;
      this.pointers.delete(event.pointerId);
      if (wasClick && event.type === 'pointerup') this.click(this.local(event));
    };
    canvas.addEventListener('pointerup', release);
    canvas.addEventListener('pointercancel', release);
  }

  /** The seat size in CSS pixels. */
  get seatPixels(): number {
    return this.scale;
  }

  fit(): void {
    this.moved = false;
    const { width, height } = this.size();
    const worldHeight = this.model.height + this.stage + 4;
    this.scale = Math.min(width / (this.model.width + 4), height / worldHeight);
    this.ox = (width - this.model.width * this.scale) / 2;
    this.oy = (height - worldHeight * this.scale) / 2 + (this.stage + 4) * this.scale;
    this.invalidate();
  }

  /** Zooms so the section fills the view, seats drawn one by one. */
  showSection(section: SectionLayout): void {
    this.moved = true;
    const { width, height } = this.size();
    const scale = Math.max(SEAT_DETAIL_PX + 2, Math.min((width - 20) / section.w, (height - 20) / section.h, 40));
    this.scale = scale;
    this.ox = width / 2 - (section.x + section.w / 2) * scale;
    this.oy = height / 2 - (section.y + section.h / 2) * scale;
    this.invalidate();
  }

  zoomAt(factor: number, x: number, y: number): void {
    this.moved = true;
    const next = Math.min(60, Math.max(0.02, this.scale * factor));
    const applied = next / this.scale;
    this.ox = x - (x - this.ox) * applied;
    this.oy = y - (y - this.oy) * applied;
    this.scale = next;
    this.invalidate();
  }

  zoomCentre(factor: number): void {
    const { width, height } = this.size();
    this.zoomAt(factor, width / 2, height / 2);
  }

  invalidate(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  private size() {
    return { width: this.canvas.clientWidth || 300, height: this.canvas.clientHeight || 300 };
  }

  private resize(): void {
    const ratio = window.devicePixelRatio || 1;
    const { width, height } = this.size();
    this.canvas.width = Math.round(width * ratio);
    this.canvas.height = Math.round(height * ratio);
    this.invalidate();
  }

  private local(event: MouseEvent): { x: number; y: number } {
    const rect = this.canvas.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top };
  }

  private spread(): number {
    const [a, b] = [...this.pointers.values()];
    return a && b ? Math.hypot(a.x - b.x, a.y - b.y) : 0;
  }

  private centre(): { x: number; y: number } {
    const [a, b] = [...this.pointers.values()];
    return a && b ? { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 } : { x: 0, y: 0 };
  }

  private click(point: { x: number; y: number }): void {
    const wx = (point.x - this.ox) / this.scale;
    const wy = (point.y - this.oy) / this.scale;
    const section = this.model.sections.find((s) => wx >= s.x && wx < s.x + s.w && wy >= s.y && wy < s.y + s.h);
    if (!section) return;
    if (this.scale < SEAT_DETAIL_PX || section.standing) {
      this.handlers.onSection(section);
      return;
    }
    const row = section.rows[Math.floor(wy - section.y)];
    if (!row) return;
    const number = Math.floor(wx - section.x - row.indent);
    if (number < 0 || number >= row.seats) return;
    this.handlers.onSeat(row.first + number);
  }

  draw(): void {
    if (this.frames++ === 0) {
      this.firstPaint = performance.now();
      // A user-timing mark, so a performance trace can find the frame that first shows the map.
      performance.mark('seat-map-first-draw');
    }
    const context = this.canvas.getContext('2d');
    if (!context) return;
    const ratio = this.canvas.width / (this.canvas.clientWidth || 1);
    const { width, height } = this.size();
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.fillStyle = COLOURS.background;
    context.fillRect(0, 0, width, height);
    const s = this.scale;
    // The stage
    context.fillStyle = COLOURS.stage;
    const stageY = this.oy - (this.stage + 2) * s;
    context.fillRect(this.ox + this.model.width * 0.2 * s, stageY, this.model.width * 0.6 * s, this.stage * s);
    if (this.stage * s > 10) {
      context.fillStyle = '#fff';
      context.font = `${Math.min(18, this.stage * s * 0.6)}px system-ui, sans-serif`;
      context.textAlign = 'center';
      context.textBaseline = 'middle';
      context.fillText('STAGE', this.ox + (this.model.width / 2) * s, stageY + (this.stage * s) / 2);
    }
    for (const section of this.model.sections) {
      const x = this.ox + section.x * s;
      const y = this.oy + section.y * s;
      const w = section.w * s;
      const h = section.h * s;
      if (x > width || y > height || x + w < 0 || y + h < 0) continue;
      if (s < SEAT_DETAIL_PX || section.standing) this.drawBlock(context, section, x, y, w, h);
      else this.drawSeats(context, section, width, height);
    }
  }

  private drawBlock(context: CanvasRenderingContext2D, section: SectionLayout, x: number, y: number, w: number, h: number): void {
    const free = this.model.freeIn(section);
    const share = section.count ? free / section.count : 0;
    context.fillStyle = free === 0 ? COLOURS.blocked : COLOURS.available;
    context.globalAlpha = free === 0 ? 1 : 0.3 + 0.7 * share;
    context.fillRect(x, y, w, h);
    context.globalAlpha = 1;
    let chosen = 0;
    for (const index of this.handlers.selected) if (index >= section.first && index < section.first + section.count) chosen++;
    context.lineWidth = chosen ? 3 : 1;
    context.strokeStyle = chosen ? COLOURS.selected : '#555';
    // A standing area's outline is dashed: one shape of places, not a block of seats.
    if (section.standing) context.setLineDash([6, 4]);
    context.strokeRect(x + 0.5, y + 0.5, w - 1, h - 1);
    context.setLineDash([]);
    if (free === 0 && w > 8 && h > 8) {
      // Sold out: hatched, not only grey.
      context.strokeStyle = COLOURS.taken;
      context.lineWidth = 1;
      context.beginPath();
      context.moveTo(x, y);
      context.lineTo(x + w, y + h);
      context.moveTo(x + w, y);
      context.lineTo(x, y + h);
      context.stroke();
    }
    if (w > 40 && h > 18) {
      const size = Math.max(10, Math.min(16, h / 3.2, w / 7));
      context.font = `600 ${size}px system-ui, sans-serif`;
      context.textAlign = 'center';
      context.textBaseline = 'middle';
      context.fillStyle = COLOURS.label;
      const label = section.standing
        ? `${section.name} · standing · ${free === 0 ? 'sold out' : `${free} of ${section.count} free`}`
        : free === 0 ? `${section.name} · sold out` : `${section.name} · ${free} free`;
      context.fillText(label, x + w / 2, y + h / 2 - (chosen && h > 40 ? size * 0.7 : 0), w - 4);
      if (chosen && h > 40) context.fillText(`✓ ${chosen} chosen`, x + w / 2, y + h / 2 + size * 0.7, w - 4);
    }
  }

  private drawSeats(context: CanvasRenderingContext2D, section: SectionLayout, width: number, height: number): void {
    const s = this.scale;
    const statuses = this.model.statuses;
    const selected = this.handlers.selected;
    const pad = Math.max(1, s * 0.12);
    const size = s - 2 * pad;
    const firstRow = Math.max(0, Math.floor((0 - this.oy) / s - section.y));
    const lastRow = Math.min(section.rows.length - 1, Math.floor((height - this.oy) / s - section.y));
    for (let r = firstRow; r <= lastRow; r++) {
      const row = section.rows[r]!;
      const y = this.oy + (section.y + r) * s + pad;
      const left = section.x + row.indent;
      const firstSeat = Math.max(0, Math.floor(-this.ox / s - left));
      const lastSeat = Math.min(row.seats - 1, Math.floor((width - this.ox) / s - left));
      for (let n = firstSeat; n <= lastSeat; n++) {
        const index = row.first + n;
        const status = statuses[index];
        const x = this.ox + (left + n) * s + pad;
        if (selected.has(index)) {
          context.fillStyle = COLOURS.selected;
          context.fillRect(x, y, size, size);
          if (size >= 8) this.tick(context, x, y, size);
        } else if (status === AVAILABLE) {
          context.fillStyle = COLOURS.available;
          context.fillRect(x, y, size, size);
        } else if (status === NOT_FOR_SALE) {
          context.fillStyle = COLOURS.blocked;
          context.fillRect(x + size * 0.2, y + size * 0.42, size * 0.6, Math.max(1, size * 0.16));
        } else {
          context.strokeStyle = COLOURS.taken;
          context.lineWidth = Math.max(1, size * 0.1);
          context.strokeRect(x + 0.5, y + 0.5, size - 1, size - 1);
          if (size >= 6) {
            context.beginPath();
            context.moveTo(x + size * 0.25, y + size * 0.25);
            context.lineTo(x + size * 0.75, y + size * 0.75);
            context.moveTo(x + size * 0.75, y + size * 0.25);
            context.lineTo(x + size * 0.25, y + size * 0.75);
            context.stroke();
          }
        }
      }
      if (s >= 12 && firstSeat === 0) {
        context.fillStyle = COLOURS.label;
        context.font = `${Math.min(12, s * 0.6)}px system-ui, sans-serif`;
        context.textAlign = 'right';
        context.textBaseline = 'middle';
        context.fillText(row.name, this.ox + left * s - 3, y + size / 2);
      }
    }
    if (s >= 8) {
      context.fillStyle = COLOURS.label;
      context.font = `600 ${Math.min(16, s)}px system-ui, sans-serif`;
      context.textAlign = 'left';
      context.textBaseline = 'bottom';
      context.fillText(section.name, this.ox + section.x * s, this.oy + section.y * s - 2);
    }
  }

  private tick(context: CanvasRenderingContext2D, x: number, y: number, size: number): void {
    context.strokeStyle = '#fff';
    context.lineWidth = Math.max(1.5, size * 0.14);
    context.beginPath();
    context.moveTo(x + size * 0.22, y + size * 0.55);
    context.lineTo(x + size * 0.42, y + size * 0.75);
    context.lineTo(x + size * 0.8, y + size * 0.28);
    context.stroke();
  }
}
