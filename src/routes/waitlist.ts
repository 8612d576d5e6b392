// The waiting list of a sold-out event (API.md, waiting list). The event's TicketLock keeps the line
// and makes the offers; Postgres keeps which events a user waits for, so GET /api/me/waitlist can
// list them across events.
import { Hono } from 'hono';
import { z } from 'zod';
import { desc, eq } from 'drizzle-orm';
import { settings, type AppEnv } from '../env';
import { ApiError, notFound } from '../errors';
import { requireUser } from '../auth/session';
import { withDb } from '../db/client';
import { waitlistEntries } from '../db/schema';
import { eventHeader } from './events';
import { parseBody, parseId } from '../validation';
import type { WaitlistEntryState } from '../durable/ticket-lock/waitlist';

export const waitlistBody = z.object({
  quantity: z.number().int('must be a whole number').min(1, 'ask for at least one place').max(10, 'at most 10 tickets per booking'),
  section: z.string().trim().min(1, 'must not be empty').max(200, 'at most 200 characters').optional().describe('Only places of this section (its name in the seat map).'),
});

const MY_ENTRIES_LIMIT = 100;

const entryJson = (eventId: string, entry: WaitlistEntryState) => ({ id: entry.id, eventId, quantity: entry.quantity, section: entry.section, position: entry.position, status: entry.status, offer: entry.offer });

export const waitlistRoutes = new Hono<AppEnv>()
  .post('/', async (c) => {
    const user = requireUser(c);
    const eventId = parseId(c.req.param('eventId'), 'event');
    const body = await parseBody(c, waitlistBody);
    const header = await eventHeader(c, eventId);
    if (!header || header.event.status === 'draft') throw notFound('event');
    if (header.event.status === 'cancelled') throw new ApiError(409, 'tickets_unavailable', 'This event was cancelled.', { ticketIds: [] });
    if (body.section !== undefined && !Object.hasOwn(header.event.prices, body.section)) {
      throw new ApiError(400, 'validation_failed', 'The event has no such section.', [{ field: 'section', message: `${body.section} is not a section of this event` }]);
    }
    const entryId = crypto.randomUUID();
    const section = body.section ?? null;
    // Listed for the user first: an entry the TicketLock then refuses (or already had) is removed again.
    await withDb(c.env, (db) => db.insert(waitlistEntries).values({ id: entryId, eventId, userId: user.id, quantity: body.quantity, section }));
    const forget = () => withDb(c.env, (db) => db.delete(waitlistEntries).where(eq(waitlistEntries.id, entryId))).catch(() => {});
    const joined = await c.env.TICKET_LOCK.getByName(eventId)
      .joinWaitlist(eventId, { entryId, userId: user.id, quantity: body.quantity, section, offerMinutes: header.event.waitlistOfferMinutes ?? 120, maxTicketsPerUser: settings(c.env).maxTicketsPerUser })
      .catch(async (error: unknown) => {
        await forget();
        throw error;
      });
    if (!joined.ok || !joined.created) await forget();
    if (!joined.ok) {
      switch (joined.reason) {
        case 'tickets_available':
          throw new ApiError(409, 'tickets_available', `${body.quantity === 1 ? 'A place is' : `${body.quantity} places are`} available now: hold them instead of waiting.`);
        case 'event_cancelled':
          throw new ApiError(409, 'tickets_unavailable', 'This event was cancelled.', { ticketIds: [] });
        case 'ticket_limit':
          throw new ApiError(409, 'ticket_limit', `One account may hold or own at most ${joined.limit} tickets for this event; you have ${joined.owned}.`);
      }
    }
    return c.json({ entry: entryJson(eventId, joined.entry) }, joined.created ? 201 : 200);
  })
  .delete('/', async (c) => {
    const user = requireUser(c);
    const eventId = parseId(c.req.param('eventId'), 'event');
    const header = await eventHeader(c, eventId);
    if (!header || header.event.status === 'draft') throw notFound('event');
    const left = await c.env.TICKET_LOCK.getByName(eventId).leaveWaitlist(eventId, user.id);
    if (!left) throw new ApiError(404, 'not_found', 'You are not on the waiting list of this event.');
    return c.body(null, 204);
  });

/** GET /api/me/waitlist: the user's entries, newest first, as each event's TicketLock has them now. */
export const myWaitlistRoutes = new Hono<AppEnv>().get('/', async (c) => {
  const user = requireUser(c);
  const rows = await withDb(c.env, (db) =>
    db.select({ id: waitlistEntries.id, eventId: waitlistEntries.eventId }).from(waitlistEntries).where(eq(waitlistEntries.userId, user.id)).orderBy(desc(waitlistEntries.createdAt), desc(waitlistEntries.id)).limit(MY_ENTRIES_LIMIT),
  );
  const byEvent = new Map<string, string[]>();
  for (const row of rows) byEvent.set(row.eventId, [...(byEvent.get(row.eventId) ?? []), row.id]);
  const states = new Map<string, { eventId: string; entry: WaitlistEntryState }>();
  await Promise.all(
    [...byEvent].map(async ([eventId, ids]) => {
      for (const entry of await c.env.TICKET_LOCK.getByName(eventId).waitlistEntries(eventId, user.id, ids)) states.set(entry.id, { eventId, entry });
    }),
  );
  const entries = rows.flatMap((row) => {
    const state = states.get(row.id);
    return state ? [entryJson(state.eventId, state.entry)] : [];
  });
  return c.json({ entries });
});

