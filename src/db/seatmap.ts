// The seat map (API.md, GET /api/events/:eventId/seatmap): sections, their rows and how many seats
// each has, from one grouped query (a row of result per venue row, not per seat). A standing
// section (general admission) is its capacity instead of rows: its tickets have no row name, so
// they are one group of their own.
import { sql } from 'drizzle-orm';
import type { Database } from './client';

export interface Seatmap {
  eventId: string;
  /** A hash of the layout and prices: it changes exactly when either does. */
  version: string;
  currency: string;
  seatCount: number;
  /** In seat-index order: each section takes the next `capacity` (standing) or sum of its rows' seats (seated) indexes. */
  sections: SeatmapSection[];
}

export type SeatmapSection =
  | { name: string; kind: 'seated'; priceCents: number; rows: Array<{ name: string; seats: number }> }
  | { name: string; kind: 'standing'; capacity: number; priceCents: number };

/** What is cached: the seat map and who may see it. */
export interface StoredSeatmap {
  status: 'draft' | 'published' | 'cancelled';
  seatmap: Seatmap;
}

interface RowGroup extends Record<string, unknown> {
  status: StoredSeatmap['status'];
  currency: string;
  section: string | null;
  row: string | null;
  seats: number | null;
  price_cents: number | null;
}

export async function loadSeatmap(db: Database, eventId: string): Promise<StoredSeatmap | null> {
  // Seat indexes follow tickets.position (section, row, seat), so rows come in order of their first
  // position. A section's price is the event's (sold tickets keep the price they sold at).
  const { rows } = await db.execute<RowGroup>(sql`
    select e.status, e.currency, t.section, t.row, count(t.id)::int as seats,
           coalesce((e.prices ->> t.section)::int, min(t.price_cents)) as price_cents
    from events e left join tickets t on t.event_id = e.id
    where e.id = ${eventId}
    group by e.id, t.section, t.row
    order by min(t.position)`);
  const first = rows[0];
  if (!first) return null;
  const sections: Seatmap['sections'] = [];
  let seatCount = 0;
  for (const row of rows) {
    if (row.section === null) continue;
    const seats = Number(row.seats);
    seatCount += seats;
    const priceCents = Number(row.price_cents);
    if (row.row === null) {
      sections.push({ name: row.section, kind: 'standing', capacity: seats, priceCents });
      continue;
    }
    let section = sections.at(-1);
    if (section?.name !== row.section || section.kind !== 'seated') sections.push((section = { name: row.section, kind: 'seated', priceCents, rows: [] }));
    section.rows.push({ name: row.row, seats });
  }
  const layout = { currency: first.currency, seatCount, sections };
  return { status: first.status, seatmap: { eventId, version: await contentHash(layout), ...layout } };
}

/** 16 hex digits of SHA-256 of the JSON: short enough for a URL, far from colliding between versions of one event. */
async function contentHash(value: unknown): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(JSON.stringify(value))));
  return Array.from(digest.subarray(0, 8), (byte) => byte.toString(16).padStart(2, '0')).join('');
}
