// What an event's TicketLock learns from Postgres: its tickets, their prices and sales, and
// whether the event is still on sale.
import { eq, sql } from 'drizzle-orm';
import type { Database } from './client';
import { bookings, events, tickets } from './schema';

export interface EventInventory {
  /** Null when Postgres has no such event. */
  status: 'draft' | 'published' | 'cancelled' | null;
  tickets: Array<{ id: string; priceCents: number; currency: string; bookingId: string | null; userId: string | null } & TicketPlace>;
}

/** Where a ticket is: its seat index in the seat map (position − 1) and its seat's name. */
export interface TicketPlace {
  seatIndex: number;
  section: string;
  /** Null for a place in a standing section. */
  row: string | null;
  seat: number | null;
}

/** Every ticket of the event with the booking and buyer it is sold to, if any (one query: a load waits on it). */
export async function eventInventory(db: Database, eventId: string): Promise<EventInventory> {
  const rows = await db
    .select({
      status: events.status,
      id: tickets.id,
      priceCents: tickets.priceCents,
      currency: tickets.currency,
      bookingId: tickets.bookingId,
      // Whose purchase it is (what the ticket limit counts): a ticket moved by a transfer still counts for its buyer.
      userId: sql<string | null>`case when ${bookings.transferredFrom} is null then ${bookings.userId} else (
        select b2.user_id from booking_tickets bt2 join bookings b2 on b2.id = bt2.booking_id
        where bt2.ticket_id = ${tickets.id} and b2.transferred_from is null order by b2.created_at desc limit 1) end`,
      position: tickets.position,
      section: tickets.section,
      row: tickets.row,
      seat: tickets.seat,
    })
    .from(events)
    .leftJoin(tickets, eq(tickets.eventId, events.id))
    .leftJoin(bookings, eq(bookings.id, tickets.bookingId))
    .where(eq(events.id, eventId));
  return {
    status: rows[0]?.status ?? null,
    tickets: rows.flatMap(({ id, priceCents, currency, bookingId, userId, position, section, row, seat }) =>
      id !== null && priceCents !== null && currency !== null && position !== null && section !== null
        ? [{ id, priceCents, currency, bookingId, userId, seatIndex: position - 1, section, row, seat }]
        : [],
    ),
  };
}

/** Where each ticket of the event is, for a TicketLock that loaded before it kept seat indexes. */
export async function eventTicketPlaces(db: Database, eventId: string): Promise<Array<{ id: string } & TicketPlace>> {
  const rows = await db
    .select({ id: tickets.id, position: tickets.position, section: tickets.section, row: tickets.row, seat: tickets.seat })
    .from(tickets)
    .where(eq(tickets.eventId, eventId));
  return rows.map(({ id, position, section, row, seat }) => ({ id, seatIndex: position - 1, section, row, seat }));
}

/** The event's current prices and status, after an organizer changed them. */
export async function eventPrices(db: Database, eventId: string): Promise<Pick<EventInventory, 'status'> & { tickets: Array<{ id: string; priceCents: number; currency: string }> }> {
  const [event] = await db.select({ status: events.status }).from(events).where(eq(events.id, eventId));
  const rows = await db.select({ id: tickets.id, priceCents: tickets.priceCents, currency: tickets.currency }).from(tickets).where(eq(tickets.eventId, eventId));
  return { status: event?.status ?? null, tickets: rows };
}
