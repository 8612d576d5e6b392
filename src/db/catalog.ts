import { asc, eq } from 'drizzle-orm';
import type { Database } from './client';
import { events, performers, tickets, venues } from './schema';

type EventRow = typeof events.$inferSelect;

/** An event as API.md shows it. */
export function toEventJson(event: EventRow) {
  return {
    id: event.id,
    name: event.name,
    description: event.description,
    startsAt: event.startsAt.toISOString(),
    onSaleAt: event.onSaleAt.toISOString(),
    status: event.status,
    performerId: event.performerId,
    venueId: event.venueId,
    currency: event.currency,
    prices: event.prices,
    queue: {
      enabled: event.queueEnabled,
      admitPerMinute: event.queueAdmitPerMinute,
      maxActive: event.queueMaxActive,
      tokenMinutes: event.queueTokenMinutes,
      lobbyMinutes: event.queueLobbyMinutes,
    },
    waitlistOfferMinutes: event.waitlistOfferMinutes,
  };
}

export type EventJson = ReturnType<typeof toEventJson>;

export interface SeatLayoutTicket {
  id: string;
  section: string;
  /** Null for a place in a standing section. */
  row: string | null;
  seat: number | null;
  priceCents: number;
  currency: string;
}

/**
 * The event without its seats: what holds, queue joins, stream opens and booking look-ups need.
 * A few hundred bytes at any venue size, so those paths never parse a stadium's seat list.
 */
export interface EventHeader {
  /** Changes with every edit of the event. */
  version: number;
  event: EventJson;
  venue: { id: string; name: string; city: string; address: string | null; capacity: number };
  performer: { id: string; name: string; genre: string | null };
}

/** Everything about an event that only an organizer's edit changes: safe to cache at the edge. */
export interface EventDocument extends EventHeader {
  tickets: SeatLayoutTicket[];
}

export async function loadEventHeader(db: Database, eventId: string): Promise<EventHeader | null> {
  const [row] = await db
    .select({ event: events, venue: venues, performer: performers })
    .from(events)
    .innerJoin(venues, eq(venues.id, events.venueId))
    .innerJoin(performers, eq(performers.id, events.performerId))
    .where(eq(events.id, eventId));
  if (!row) return null;
  return {
    version: row.event.updatedAt.getTime(),
    event: toEventJson(row.event),
    venue: { id: row.venue.id, name: row.venue.name, city: row.venue.city, address: row.venue.address, capacity: row.venue.capacity },
    performer: { id: row.performer.id, name: row.performer.name, genre: row.performer.genre },
  };
}

export async function loadEventDocument(db: Database, eventId: string): Promise<EventDocument | null> {
  const header = await loadEventHeader(db, eventId);
  if (!header) return null;
  const seatLayout = await db
    .select({
      id: tickets.id,
      section: tickets.section,
      row: tickets.row,
      seat: tickets.seat,
      priceCents: tickets.priceCents,
      currency: tickets.currency,
    })
    .from(tickets)
    .where(eq(tickets.eventId, eventId))
    .orderBy(asc(tickets.position));
  return { ...header, tickets: seatLayout };
}
