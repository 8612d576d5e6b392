import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { settings, type AppEnv, type Bindings } from '../env';
import { ApiError, forbidden, notFound } from '../errors';
import { isAdmin, requireUser } from '../auth/session';
import { withDb } from '../db/client';
import type { EventDocument } from '../db/catalog';
import { bookingsOfUser } from '../db/bookings';
import { userByEmail } from '../db/transfers';
import { deliverNotificationsSoon } from '../notifications/deliver';
import { eventDocument, eventHeader } from './events';
import { eventIdOfBooking, type BookingState } from '../durable/TicketLock';
import { paymentProviderFor } from '../payments';
import { canonicalId, parseBody, parseId } from '../validation';
import { requireAdmission } from '../queue/admission';
import { rotatingCode, rotationSecondsLeft, ticketCode } from '../tickets/codes';

const paymentDetails = z.object({ paymentMethodId: z.string().trim().min(1).max(200) });

/** The largest seat index taken at all (API.md's venues stop at 100 000 seats); an index the event lacks is refused by its TicketLock. */
const MAX_SEAT_INDEX = 1_000_000;

export const holdBody = z
  .object({
    ticketIds: z
      .array(canonicalId('must be a ticket id'))
      .min(1, 'choose at least one ticket')
      .max(10, 'at most 10 tickets per booking')
      .refine((ids) => new Set(ids).size === ids.length, 'tickets must be distinct')
      .optional(),
    seats: z
      .array(z.number().int('must be a whole number').min(0, 'must not be negative').max(MAX_SEAT_INDEX, 'is not a seat of this event'))
      .min(1, 'choose at least one seat')
      .max(10, 'at most 10 tickets per booking')
      .refine((seats) => new Set(seats).size === seats.length, 'seats must be distinct')
      .optional()
      .describe('Instead of ticketIds: seat indexes of the seat map (GET /api/events/{eventId}/seatmap).'),
    best: z
      .object({
        quantity: z.number().int('must be a whole number').min(1, 'ask for at least one seat').max(10, 'at most 10 tickets per booking'),
        section: z.string().trim().min(1, 'must not be empty').max(200, 'at most 200 characters').optional().describe('Only seats of this section (its name in the seat map).'),
        maxPriceCents: z.number().int('must be a whole number').min(0, 'must not be negative').max(Number.MAX_SAFE_INTEGER).optional().describe('Only sections priced at most this.'),
      })
      .optional()
      .describe('Instead of ticketIds or seats: the server picks the best available seats and holds them (higher price, then rows nearest the stage, then nearest the row\'s centre; adjacent seats in one row that leave no single empty seat first).'),
    paymentDetails: paymentDetails.optional(),
  })
  .superRefine((body, ctx) => {
    const named = (['ticketIds', 'seats', 'best'] as const).filter((field) => body[field] !== undefined);
    if (named.length !== 1) {
      ctx.addIssue({ code: 'custom', path: [named[1] ?? 'ticketIds'], message: 'name the tickets by ticketIds or by seats, or ask for the best available: exactly one of the three' });
    }
  })
  // The rule above, as JSON Schema says it (the OpenAPI document).
  .meta({ oneOf: [{ required: ['ticketIds'] }, { required: ['seats'] }, { required: ['best'] }] });

export const payBody = z.object({ paymentDetails });

export const transferBody = z.object({
  email: z.string().trim().max(254, 'at most 254 characters').pipe(z.email('must be an email address')).describe('The account the tickets go to (any case).'),
  ticketIds: z
    .array(canonicalId('must be a ticket id'))
    .min(1, 'name at least one ticket')
    .max(10, 'at most 10 tickets per transfer')
    .refine((ids) => new Set(ids).size === ids.length, 'tickets must be distinct')
    .optional()
    .describe('Tickets of this booking to move; every ticket it has when left out.'),
});

/**
 * A booking as API.md shows it. Seat names come with the booking from its teller (the TicketLock,
 * Postgres); `document` (the cached seat layout) only for tickets whose names it did not know.
 */
export async function toBookingJson(env: Bindings, booking: BookingState, document: EventDocument | null) {
  const layout = new Map(document?.tickets.map((ticket) => [ticket.id, ticket]));
  const codes =
    booking.status === 'confirmed'
      ? await Promise.all(booking.ticketIds.map((ticketId) => ticketCode(env, { ticketId, eventId: booking.eventId, bookingId: booking.bookingId })))
      : null;
  return {
    bookingId: booking.bookingId,
    status: booking.status,
    eventId: booking.eventId,
    ticketIds: booking.ticketIds,
    tickets: booking.ticketIds.map((id, i) => {
      const seat = booking.ticketSeats?.[i] ?? layout.get(id);
      // The price the ticket was held at, not what the event charges now.
      return { id, section: seat?.section ?? null, row: seat?.row ?? null, seat: seat?.seat ?? null, priceCents: booking.ticketPriceCents[i] ?? layout.get(id)?.priceCents ?? null, code: codes?.[i] ?? null };
    }),
    totalCents: booking.totalCents,
    currency: booking.currency,
    expiresAt: booking.expiresAt,
    confirmedAt: booking.confirmedAt,
    refunded: booking.refunded,
  };
}

/** The catalog document, only when the booking does not name every ticket's seat itself (it is 11 MB at 80,000 seats). */
export function seatNamesFallback(c: Context<AppEnv>, booking: BookingState): Promise<EventDocument | null> {
  const named = booking.ticketSeats?.length === booking.ticketIds.length && booking.ticketSeats.every((seat) => seat !== null);
  return named ? Promise.resolve(null) : eventDocument(c, booking.eventId);
}

/** The booking, if it exists and the caller may see it; anything else is simply not found. */
async function findBooking(c: Context<AppEnv>, bookingId: string, allowAdmin: boolean): Promise<BookingState> {
  const user = requireUser(c);
  const canonicalBookingId = bookingId.toLowerCase();
  const eventId = eventIdOfBooking(canonicalBookingId);
  if (!eventId) throw notFound('booking');
  // Only an event the catalog knows has a TicketLock: a made-up booking id must not create one.
  // A catalog that cannot be read (Postgres down, no edge copy) does not stop a buyer paying for
  // a hold: the TicketLock knows its own bookings, and one that never loaded cannot load either.
  const header = await eventHeader(c, eventId).catch((error: unknown) => {
    console.warn(`catalog unreadable while finding booking ${canonicalBookingId}`, error);
    return undefined;
  });
  if (header === null) throw notFound('booking');
  const booking = await c.env.TICKET_LOCK.getByName(eventId)
    .getBooking(eventId, canonicalBookingId)
    .catch((error: unknown) => {
      if (header !== undefined) throw error;
      console.warn(`booking ${canonicalBookingId} unreadable while Postgres is unreachable`, error);
      throw new ApiError(503, 'unavailable', 'The box office cannot reach its database just now. Try again in a minute.', undefined, { 'Retry-After': '5' });
    });
  if (!booking || (booking.userId !== user.id && !(allowAdmin && isAdmin(c)))) throw notFound('booking');
  return booking;
}

/**
 * Charges the booking's hold. A decline keeps the hold (or releases it, for the one-call form);
 * a success confirms; a payment whose seats were lost meanwhile is refunded. A payment still
 * processing leaves the booking pending, its hold extended, for the webhook to settle.
 */
async function payForBooking(c: Context<AppEnv>, booking: BookingState, paymentMethodId: string, releaseOnDecline: boolean): Promise<BookingState> {
  // A server that cannot take payments refuses before the hold changes (503 unavailable).
  const provider = paymentProviderFor(c.env);
  const lock = c.env.TICKET_LOCK.getByName(booking.eventId);
  const started = await lock.beginPayment(booking.eventId, booking.bookingId);
  if (!started.ok) {
    if (started.reason === 'hold_expired') throw new ApiError(410, 'hold_expired', 'Your hold ran out and some of the seats went to someone else. Choose seats again.');
    if (started.reason === 'booking_not_pending') throw new ApiError(409, 'booking_not_pending', 'This booking is not waiting for payment.');
    // Its hold ended with the event: the booking is cancelled, so not pending (API.md lists no other answer of /pay for it).
    if (started.reason === 'event_cancelled') throw new ApiError(409, 'booking_not_pending', 'This event was cancelled: nothing was charged and the booking is cancelled.');
    // Taking the seats of a hold that ran out is a new hold, refused the way POST /api/bookings/:eventId would.
    if (started.reason === 'ticket_limit') {
      throw new ApiError(409, 'ticket_limit', `Your hold ran out, and taking its seats again would give you more than ${started.limit} tickets for this event; you hold or own ${started.owned}.`);
    }
    if (started.reason === 'admission_used') {
      throw new ApiError(403, 'queue_required', 'Your hold ran out and the waiting-room admission it was made with has been used for a completed booking: join the queue again.');
    }
    throw notFound('booking');
  }
  const { attemptId } = started;
  const charge = await provider.charge({
    bookingId: booking.bookingId,
    attemptId,
    amountCents: started.booking.totalCents,
    currency: started.booking.currency,
    paymentMethodId,
  });
  if (charge.status === 'declined') {
    await lock.paymentFailed(booking.eventId, booking.bookingId, releaseOnDecline, { attemptId, reference: charge.reference });
    throw new ApiError(402, 'payment_declined', `${charge.message} ${releaseOnDecline ? 'No seats were kept.' : 'Your seats are still held: try another card.'}`);
  }
  if (charge.status === 'processing') return lock.holdWhileProcessing(booking.eventId, booking.bookingId, { attemptId, reference: charge.reference });
  const confirmed = await lock.confirm(booking.eventId, booking.bookingId, { provider: provider.name, reference: charge.reference, attemptId });
  if (!confirmed.ok) {
    // The TicketLock owes the payment back and asks the provider itself (its alarm retries a refund that fails).
    if (confirmed.reason === 'seats_gone') {
      const refund = confirmed.booking.refunded ? 'your payment was refunded' : 'your payment will be refunded';
      throw new ApiError(410, 'hold_expired', `The seats went to someone else before your payment completed; ${refund}.`);
    }
    throw notFound('booking');
  }
  return confirmed.booking;
}

const notInBooking = (ticketIds: string[]) =>
  new ApiError(400, 'validation_failed', 'Some tickets are not tickets of this booking.', ticketIds.map((id) => ({ field: 'ticketIds', message: `${id} is not a ticket of this booking` })));

const databaseUnavailable = (more = '') =>
  new ApiError(503, 'unavailable', `The box office cannot reach its database just now. ${more} Try again in a minute.`.replace('  ', ' '), undefined, { 'Retry-After': '5' });

/** A cancelled event refuses every seat asked for, named the way the request named them. */
function cancelledDetails(body: z.output<typeof holdBody>) {
  return body.seats ? { ticketIds: [], seats: body.seats } : { ticketIds: body.ticketIds ?? [] };
}

export const bookingRoutes = new Hono<AppEnv>()
  .post('/:eventId', async (c) => {
    const user = requireUser(c);
    const eventId = parseId(c.req.param('eventId'), 'event');
    const body = await parseBody(c, holdBody);
    const header = await eventHeader(c, eventId);
    if (!header || header.event.status === 'draft') throw notFound('event');
    if (header.event.status === 'cancelled') {
      throw new ApiError(409, 'tickets_unavailable', 'This event was cancelled.', cancelledDetails(body));
    }
    if (Date.parse(header.event.onSaleAt) > Date.now()) throw forbidden(`Tickets go on sale at ${header.event.onSaleAt}.`);

    const { holdTtlSeconds, maxTicketsPerUser } = settings(c.env);
    // Paying in the same call: no seat is held on a server that cannot take the payment.
    if (body.paymentDetails) paymentProviderFor(c.env);
    const lock = c.env.TICKET_LOCK.getByName(eventId);
    const admissionId = header.event.queue.enabled ? await requireAdmission(c, user.id, eventId) : undefined;
    const held = await lock.holdSeats({ eventId, userId: user.id, ticketIds: body.ticketIds, seats: body.seats, best: body.best, ttlSeconds: holdTtlSeconds, maxTicketsPerUser, admissionId });
    if (!held.ok) {
      switch (held.reason) {
        case 'unknown_tickets':
          throw new ApiError(400, 'validation_failed', 'Some tickets are not tickets of this event.', held.ticketIds.map((id) => ({ field: 'ticketIds', message: `${id} is not a ticket of this event` })));
        case 'unknown_seats':
          throw new ApiError(400, 'validation_failed', 'Some seats are not seats of this event.', held.seats.map((seat) => ({ field: 'seats', message: `${seat} is not a seat index of this event` })));
        case 'tickets_unavailable':
          if (body.best) throw new ApiError(409, 'tickets_unavailable', `No ${body.best.quantity === 1 ? 'seat is' : `${body.best.quantity} seats are`} available as asked.`, { ticketIds: held.ticketIds });
          throw new ApiError(409, 'tickets_unavailable', 'Some of those seats are held or sold by someone else.', { ticketIds: held.ticketIds, ...(held.seats ? { seats: held.seats } : {}) });
        case 'admission_used':
          throw new ApiError(403, 'queue_required', 'Your admission from the waiting room was used for a completed booking: join the queue again to buy more.');
        case 'ticket_limit':
          throw new ApiError(409, 'ticket_limit', `One account may hold or own at most ${held.limit} tickets for this event; you have ${held.owned}.`);
        case 'event_cancelled':
          throw new ApiError(409, 'tickets_unavailable', 'This event was cancelled.', cancelledDetails(body));
      }
    }
    const booking = body.paymentDetails
      ? await payForBooking(c, held.booking, body.paymentDetails.paymentMethodId, true)
      : held.booking;
    const json = await toBookingJson(c.env, booking, await seatNamesFallback(c, booking));
    // The booking's tickets are in the order of the seats named (or chosen: best available).
    const seats = body.seats ?? (held.ok ? held.seats : undefined);
    return c.json(seats ? { ...json, seats } : json, body.paymentDetails && booking.status === 'pending' ? 202 : 201);
  })
  .post('/:bookingId/pay', async (c) => {
    const body = await parseBody(c, payBody);
    const booking = await findBooking(c, c.req.param('bookingId'), false);
    const paid = await payForBooking(c, booking, body.paymentDetails.paymentMethodId, false);
    // The money is taken and the TicketLock has decided by now, so a catalog that cannot be read
    // (Postgres down with the edge copy expired) costs the answer its seat names, not a 500 that
    // tells the buyer to pay again.
    const document = await seatNamesFallback(c, paid).catch((error: unknown) => {
      console.warn(`seat names for booking ${paid.bookingId} unavailable`, error);
      return null;
    });
    return c.json(await toBookingJson(c.env, paid, document), paid.status === 'pending' ? 202 : 200);
  })
  .get('/:bookingId', async (c) => {
    const booking = await findBooking(c, c.req.param('bookingId'), true);
    return c.json(await toBookingJson(c.env, booking, await seatNamesFallback(c, booking)));
  })
  .get('/:bookingId/tickets/:ticketId/rotating', async (c) => {
    const booking = await findBooking(c, c.req.param('bookingId'), false);
    const ticketId = parseId(c.req.param('ticketId'), 'ticket');
    if (booking.status !== 'confirmed' || !booking.ticketIds.includes(ticketId)) throw notFound('ticket');
    const ids = { ticketId, eventId: booking.eventId, bookingId: booking.bookingId };
    const now = Date.now();
    // A rotating code must never be served from a cache: it goes stale on purpose.
    c.header('Cache-Control', 'no-store');
    return c.json({ code: await ticketCode(c.env, ids), rotating: await rotatingCode(c.env, ids, now), validForSeconds: rotationSecondsLeft(now) });
  })
  .post('/:bookingId/transfer', async (c) => {
    const user = requireUser(c);
    const body = await parseBody(c, transferBody);
    const booking = await findBooking(c, c.req.param('bookingId'), false);
    if (booking.status !== 'confirmed' || booking.confirmationPending) {
      throw new ApiError(409, 'booking_not_pending', 'Only a confirmed booking (its confirmation recorded) can be transferred.');
    }
    const strangers = (body.ticketIds ?? []).filter((id) => !booking.ticketIds.includes(id));
    if (strangers.length) throw notInBooking(strangers);
    const recipient = await withDb(c.env, (db) => userByEmail(db, body.email)).catch((error: unknown) => {
      console.warn(`recipient of a transfer of ${booking.bookingId} not looked up`, error);
      throw databaseUnavailable();
    });
    if (!recipient) throw new ApiError(404, 'not_found', 'No account has that email address.');
    if (recipient.id === user.id) {
      throw new ApiError(400, 'validation_failed', 'These tickets are yours already: transfer them to someone else.', [{ field: 'email', message: 'is your own account' }]);
    }
    const moved = await c.env.TICKET_LOCK.getByName(booking.eventId).transferTickets({
      eventId: booking.eventId,
      bookingId: booking.bookingId,
      userId: user.id,
      toUserId: recipient.id,
      ticketIds: body.ticketIds,
    });
    if (!moved.ok) {
      switch (moved.reason) {
        case 'not_found':
          throw notFound('booking');
        case 'unknown_tickets':
          throw notInBooking(moved.ticketIds);
        case 'booking_not_pending':
          throw new ApiError(409, 'booking_not_pending', 'This booking cannot be transferred now: it is not confirmed, or its tickets are being moved or were moved already.');
        case 'unavailable':
          throw databaseUnavailable('Nothing was transferred.');
      }
    }
    c.executionCtx.waitUntil(deliverNotificationsSoon(c.env));
    // Seat names come with the booking from its TicketLock; the catalog only where it did not know them.
    const document = await seatNamesFallback(c, moved.booking).catch(() => null);
    return c.json({ booking: await toBookingJson(c.env, moved.booking, document) });
  })
  .delete('/:bookingId', async (c) => {
    const booking = await findBooking(c, c.req.param('bookingId'), false);
    const released = await c.env.TICKET_LOCK.getByName(booking.eventId).releaseHold(booking.eventId, booking.bookingId);
    if (!released.ok) {
      if (released.reason === 'booking_not_pending') throw new ApiError(409, 'booking_not_pending', 'A confirmed booking cannot be cancelled here.');
      throw notFound('booking');
    }
    return c.body(null, 204);
  });

/** `GET /api/me/bookings`: the caller's bookings that reached Postgres, newest first. */
export const myBookingRoutes = new Hono<AppEnv>().get('/', async (c) => {
  const user = requireUser(c);
  const rows = await withDb(c.env, (db) => bookingsOfUser(db, user.id));
  const bookings = await Promise.all(
    rows.map(async (booking) => toBookingJson(c.env, booking, await seatNamesFallback(c, booking))),
  );
  return c.json({ bookings });
});
