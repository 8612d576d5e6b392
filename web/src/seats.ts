// The seat map of API.md (GET /api/events/:id/seatmap) with the statuses of /availability and the
// compact seat stream: seat indexes in the order sections, rows, seats; 2 bits a seat. A standing
// section (general admission) is `capacity` places: the next `capacity` indexes, no rows.

export const AVAILABLE = 0;
export const RESERVED = 1;
export const BOOKED = 2;
export const NOT_FOR_SALE = 3;

export interface SeatmapAnswer {
  eventId: string;
  version: string;
  currency: string;
  seatCount: number;
  sections: SeatmapSection[];
}

export type SeatmapSection =
  | { name: string; kind?: 'seated'; priceCents: number; rows: Array<{ name: string; seats: number }> }
  | { name: string; kind: 'standing'; capacity: number; priceCents: number };

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
  /** A standing area: `count` places, no rows (drawn and offered as one shape). */
  standing: boolean;
  rows: RowLayout[];
  /** In seat units: one seat is 1 × 1. */
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface SeatPlace {
  section: SectionLayout;
  /** Null for a place in a standing area (rowIndex −1; number counts the area's places). */
  row: RowLayout | null;
  rowIndex: number;
  number: number;
}

const GAP = 4;

/** How a standing area of `capacity` places is drawn, in seat units (its area about the places'). */
function standingShape(capacity: number): { w: number; h: number } {
  const w = Math.max(4, Math.ceil(Math.sqrt(capacity * 2)));
  return { w, h: Math.max(2, Math.ceil(capacity / w)) };
}

/** A seat or place in words: "Section Floor, row A, seat 2" or "Section Pit, standing". */
export function placeName(place: SeatPlace): string {
  return place.row ? `Section ${place.section.name}, row ${place.row.name}, seat ${place.number}` : `Section ${place.section.name}, standing`;
}

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
    const shapes = map.sections.map((section) =>
      section.kind === 'standing' ? standingShape(section.capacity) : { w: Math.max(1, ...section.rows.map((row) => row.seats)), h: Math.max(1, section.rows.length) },
    );
    const total = shapes.reduce((sum, shape) => sum + shape.w * shape.h, 0);
    const widest = Math.max(1, ...shapes.map((shape) => shape.w));
    const target = Math.max(widest * 2 + GAP, Math.sqrt(total * 3));
    let x = 0;
    let y = 0;
    let lineHeight = 0;
    let width = 0;
    map.sections.forEach((section, index) => {
      const { w, h } = shapes[index]!;
      if (x > 0 && x + w > target) {
        x = 0;
        y += lineHeight + GAP;
        lineHeight = 0;
      }
      const rows: RowLayout[] = [];
      let count = 0;
      if (section.kind === 'standing') count = section.capacity;
      else {
        for (const row of section.rows) {
          rows.push({ name: row.name, seats: row.seats, first: first + count, indent: Math.floor((w - row.seats) / 2) });
          count += row.seats;
        }
      }
      this.sections.push({ index, name: section.name, priceCents: section.priceCents, first, count, standing: section.kind === 'standing', rows, x, y, w, h });
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
    if (section.standing) return { section, row: null, rowIndex: -1, number: index - section.first + 1 };
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
