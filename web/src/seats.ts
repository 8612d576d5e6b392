// The seat map of API.md (GET /api/events/:id/seatmap) with the statuses of /availability and the
// compact seat stream: seat indexes in the order sections, rows, seats; 2 bits a seat.

export const AVAILABLE = 0;
export const RESERVED = 1;
export const BOOKED = 2;
export const NOT_FOR_SALE = 3;

export interface SeatmapAnswer {
  eventId: string;
  version: string;
  currency: string;
  seatCount: number;
  sections: Array<{ name: string; priceCents: number; rows: Array<{ name: string; seats: number }> }>;
}

export interface AvailabilityAnswer {
  version: number;
  seatCount: number;
  statuses: string;
}

export interface RowLayout {
  name: string;
  seats: number;
  /** Seat index of seat 1. */
  first: number;
  /** Offset of seat 1 from the section's left edge (rows are centred). */
  indent: number;
}

export interface SectionLayout {
  index: number;
  name: string;
  priceCents: number;
  first: number;
  count: number;
  rows: RowLayout[];
  /** In seat units: one seat is 1 × 1. */
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface SeatPlace {
  section: SectionLayout;
  row: RowLayout;
  rowIndex: number;
  number: number;
}

const GAP = 4;

/** Decodes availability's base64 into one status a seat. */
export function decodeStatuses(base64: string, seatCount: number): Uint8Array {
  const bytes = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
  const statuses = new Uint8Array(seatCount);
  for (let i = 0; i < seatCount; i++) statuses[i] = ((bytes[i >> 2] ?? 0) >> (2 * (i & 3))) & 3;
  return statuses;
}

export class SeatModel {
  readonly sections: SectionLayout[] = [];
  readonly statuses: Uint8Array;
  readonly width: number;
  readonly height: number;
  version = 0;

  constructor(readonly map: SeatmapAnswer) {
    let first = 0;
    // Sections flow left to right and wrap, under a stage that spans the venue.
    const areas = map.sections.map((section) => Math.max(1, ...section.rows.map((row) => row.seats)) * Math.max(1, section.rows.length));
    const total = areas.reduce((a, b) => a + b, 0);
    const widest = Math.max(1, ...map.sections.map((section) => Math.max(1, ...section.rows.map((row) => row.seats))));
    const target = Math.max(widest * 2 + GAP, Math.sqrt(total * 3));
    let x = 0;
    let y = 0;
    let lineHeight = 0;
    let width = 0;
    map.sections.forEach((section, index) => {
      const w = Math.max(1, ...section.rows.map((row) => row.seats));
      const h = Math.max(1, section.rows.length);
      if (x > 0 && x + w > target) {
        x = 0;
        y += lineHeight + GAP;
        lineHeight = 0;
      }
      const rows: RowLayout[] = [];
      let count = 0;
      for (const row of section.rows) {
        rows.push({ name: row.name, seats: row.seats, first: first + count, indent: Math.floor((w - row.seats) / 2) });
        count += row.seats;
      }
      this.sections.push({ index, name: section.name, priceCents: section.priceCents, first, count, rows, x, y, w, h });
      first += count;
      x += w + GAP;
      width = Math.max(width, x - GAP);
      lineHeight = Math.max(lineHeight, h);
    });
    this.width = Math.max(1, width);
    this.height = y + lineHeight;
    this.statuses = new Uint8Array(map.seatCount).fill(NOT_FOR_SALE);
  }

  setAll(statuses: Uint8Array, version: number): void {
    this.statuses.set(statuses.subarray(0, this.statuses.length));
    this.version = version;
  }

  place(index: number): SeatPlace | null {
    let low = 0;
    let high = this.sections.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.sections[mid]!.first <= index) low = mid;
      else high = mid - 1;
    }
    const section = this.sections[low];
    if (!section || index < section.first || index >= section.first + section.count) return null;
    for (let r = 0; r < section.rows.length; r++) {
      const row = section.rows[r]!;
      if (index < row.first + row.seats) return { section, row, rowIndex: r, number: index - row.first + 1 };
    }
    return null;
  }

  freeIn(section: SectionLayout): number {
    let free = 0;
    for (let i = section.first; i < section.first + section.count; i++) if (this.statuses[i] === AVAILABLE) free++;
    return free;
  }

  freeInRow(row: RowLayout): number {
    let free = 0;
    for (let i = row.first; i < row.first + row.seats; i++) if (this.statuses[i] === AVAILABLE) free++;
    return free;
  }
}
