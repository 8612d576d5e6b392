// An event's sales over time for the organizer's chart (GET /api/admin/events/:id/sales, `history`):
// every sale counted at its bookings.confirmed_at, cumulative, in buckets of an hour, or of one or
// more days when the sale has gone on too long for at most HISTORY_POINTS hourly points.
import { sql } from 'drizzle-orm';
import type { Database } from './client';

type Runner = Pick<Database, 'execute'>;

export const HISTORY_POINTS = 200;
const HOUR = 3600;
const DAY = 24 * HOUR;

export interface SalesPoint {
  /** The bucket's start (UTC, whole hours or days). */
  at: string;
  /** Tickets sold up to the end of the bucket. */
  sold: number;
  /** What those sales were paid, up to the end of the bucket (refunds not taken off). */
  revenueCents: number;
}

/**
 * The bucket width in seconds for sales spread over `spanSeconds`: an hour while that touches at
 * most HISTORY_POINTS buckets, else the fewest whole days that do.
 */
export function bucketSeconds(spanSeconds: number): number {
  // A span of s seconds touches at most ceil(s / w) + 1 buckets of w seconds: kept to
  // HISTORY_POINTS by s / w <= HISTORY_POINTS - 1.
  if (spanSeconds <= (HISTORY_POINTS - 1) * HOUR) return HOUR;
  return DAY * Math.ceil(spanSeconds / ((HISTORY_POINTS - 1) * DAY));
}

/**
 * Buckets with sales only (an empty bucket adds nothing to a cumulative line). Sales are the
 * event's paid bookings (confirmed, later refunded or transferred); the bookings a transfer makes
 * are not sales (their tickets were counted when first bought). Read by the index bookings(event_id).
 */
export async function salesHistory(db: Runner, eventId: string): Promise<SalesPoint[]> {
  const sales = sql`select id, confirmed_at, total_cents from bookings
    where event_id = ${eventId} and transferred_from is null and status in ('confirmed', 'refunded', 'transferred')`;
  const [span] = (
    await db.execute(sql`select extract(epoch from min(confirmed_at))::float8 as first, extract(epoch from max(confirmed_at))::float8 as last from (${sales}) s`)
  ).rows as Array<{ first: number | string | null; last: number | string | null }>;
  if (span?.first === null || span?.first === undefined || span.last === null) return [];
  const width = bucketSeconds(Number(span.last) - Number(span.first));
  const rows = (
    await db.execute(sql`
      select floor(extract(epoch from confirmed_at) / ${width})::bigint as bucket, sum(n)::int as sold, sum(total_cents)::bigint as revenue
      from (select b.confirmed_at, b.total_cents, (select count(*) from booking_tickets t where t.booking_id = b.id) as n from (${sales}) b) sales
      group by 1 order by 1`)
  ).rows as Array<{ bucket: number | string; sold: number | string; revenue: number | string }>;
  let sold = 0;
  let revenueCents = 0;
  return rows.map((row) => {
    sold += Number(row.sold);
    revenueCents += Number(row.revenue);
    return { at: new Date(Number(row.bucket) * width * 1000).toISOString(), sold, revenueCents };
  });
}
