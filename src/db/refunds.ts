// Organizer refunds in Postgres (API.md, "Cancellation and refunds"): Postgres is where a refund is
// owed (bookings.refund_pending_cents > 0) until the payment provider has given the money back, so
// the event's TicketLock can pay them in batches, retrying, from any instance. The decision that a
// booking is refunded and the buyer's notification commit together.
import { sql } from 'drizzle-orm';
import type { Database } from './client';
import { enqueueNotification } from '../notifications/outbox';
import { bookingRefundedMessage } from '../notifications/messages';

/** Anything that runs statements: a transaction or a plain session. */
type Runner = Pick<Database, 'execute'>;

/**
 * What a cancelled event's booking owes back: what its buyer paid and has not had back, every
 * ticket (those given away by a transfer are cancelled too). A booking made by a transfer
 * (transferred_from) cost its owner nothing; its payer's booking carries the money.
 */
const OWED_ALL = sql.raw(`case when transferred_from is null then greatest(total_cents - refunded_cents - refund_pending_cents, 0) else 0 end`);
/**
 * What one refunded booking owes back: the price of the tickets it still has (tickets it gave away
 * by a transfer still admit their new owners, so their money is not returned), at most what is left.
 */
const OWED_LIVE = sql.raw(`case when transferred_from is null then greatest(least(total_cents - refunded_cents - refund_pending_cents,
  (select coalesce(sum(bt.price_cents), 0) from booking_tickets bt where bt.booking_id = bookings.id and bt.released_at is null)), 0) else 0 end`);

/** The notification keys: one per booking and cause, so a cause that runs twice tells once. */
export const eventCancelledKey = (bookingId: string) => `event_cancelled:${bookingId}`;
export const bookingRefundedKey = (bookingId: string) => `booking_refunded:${bookingId}`;

export type BookingRefundOutcome =
  | { status: 'refunded'; eventId: string; amountCents: number; releasedTicketIds: string[] }
  | { status: 'not_found' }
  | { status: 'not_confirmed' };

/**
 * Refunds one confirmed booking: the conditional update is the decision (of two refunds at once,
 * one finds the booking refunded already). With `releaseSeats` its tickets go back on sale (their
 * booking_tickets rows are released, so their codes scan invalid either way).
 */
export async function refundBookingInPostgres(db: Database, input: { bookingId: string; releaseSeats: boolean }): Promise<BookingRefundOutcome> {
  return db.transaction(async (tx) => {
    const refunded = (
      await tx.execute(sql`
        update bookings set status = 'refunded', refund_pending_cents = refund_pending_cents + ${OWED_LIVE}
        where id = ${input.bookingId} and status = 'confirmed'
        returning event_id, user_id, refund_pending_cents, currency`)
    ).rows[0] as { event_id: string; user_id: string; refund_pending_cents: number; currency: string } | undefined;
    if (!refunded) {
      const existing = await tx.execute(sql`select 1 from bookings where id = ${input.bookingId}`);
      return { status: existing.rows.length ? 'not_confirmed' : 'not_found' } as const;
    }
    let releasedTicketIds: string[] = [];
    if (input.releaseSeats) {
      const released = await tx.execute(sql`
        with released as (
          update booking_tickets set released_at = now()
          where booking_id = ${input.bookingId} and released_at is null
          returning ticket_id)
        update tickets set status = 'available', booking_id = null
        where booking_id = ${input.bookingId} and id in (select ticket_id from released)
        returning id::text`);
      releasedTicketIds = (released.rows as Array<{ id: string }>).map((row) => row.id);
    }
    const [event] = (await tx.execute(sql`select name from events where id = ${refunded.event_id}`)).rows as Array<{ name: string }>;
    const amountCents = Number(refunded.refund_pending_cents);
    await enqueueNotification(tx, {
      dedupeKey: bookingRefundedKey(input.bookingId),
      userId: refunded.user_id,
      message: bookingRefundedMessage({ eventId: refunded.event_id, eventName: event?.name ?? 'your event', bookingId: input.bookingId, refundCents: amountCents, currency: refunded.currency }),
    });
    return { status: 'refunded' as const, eventId: refunded.event_id, amountCents, releasedTicketIds };
  });
}

/**
 * Every booking of a cancelled event that still stands (confirmed, or transferred: its payer's
 * money; or refunded only in part) becomes refunded with its money owed, and its buyer gets the event_cancelled notice, in
 * one transaction and one statement each (set-based: cheap at 80,000 bookings; paying them back
 * is what goes in batches). Running it again finds nothing to do. The notice's words are those of
 * eventCancelledMessage (src/notifications/messages.ts), written here in SQL; a test compares the two.
 */
export async function markEventRefundsOwed(db: Database, eventId: string): Promise<{ bookings: number; amountCents: number }> {
  return db.transaction(async (tx) => {
    const [row] = (
      await tx.execute(sql`
        with owed as (
          update bookings set status = 'refunded', refund_pending_cents = refund_pending_cents + ${OWED_ALL}
          where event_id = ${eventId}
            and (status in ('confirmed', 'transferred')
              -- Refunded before for the tickets it still had: what it paid for tickets it gave away is owed now.
              or (status = 'refunded' and transferred_from is null and total_cents > refunded_cents + refund_pending_cents))
          returning id, user_id, refund_pending_cents, currency
        ), event as (select name from events where id = ${eventId}
        ), noticed as (
          insert into notifications (dedupe_key, user_id, to_email, kind, subject, body, data)
          select 'event_cancelled:' || owed.id, u.id, u.email, 'event_cancelled',
                 'Cancelled: ' || event.name,
                 event.name || ' has been cancelled. Your tickets of booking ' || owed.id || ' are no longer valid and '
                   || to_char(owed.refund_pending_cents / 100.0, 'FM999999999990.00') || ' ' || owed.currency || ' is being refunded to you.',
                 jsonb_build_object('eventId', ${eventId}::text, 'eventName', event.name, 'bookingId', owed.id, 'refundCents', owed.refund_pending_cents, 'currency', owed.currency)
          from owed join users u on u.id = owed.user_id cross join event
          on conflict (dedupe_key) do nothing
          returning 1
        )
        select count(*)::int as bookings, coalesce(sum(refund_pending_cents), 0)::bigint as amount from owed`)
    ).rows as Array<{ bookings: number; amount: string | number }>;
    return { bookings: Number(row?.bookings ?? 0), amountCents: Number(row?.amount ?? 0) };
  });
}

/** The event's status as Postgres has it (null: no such event). */
export async function eventStatus(db: Runner, eventId: string): Promise<string | null> {
  const [row] = (await db.execute(sql`select status from events where id = ${eventId}`)).rows as Array<{ status: string }>;
  return row?.status ?? null;
}

export interface OwedRefundRow {
  bookingId: string;
  amountCents: number;
  paymentProvider: string;
  paymentReference: string | null;
  /** Whether the booking's tickets went back on sale (its TicketLock frees them too). */
  seatsReleased: boolean;
}

/** The next `limit` bookings of the event whose refund is owed, after `afterId` (by the partial index of owed refunds). */
export async function owedRefunds(db: Runner, eventId: string, afterId: string, limit: number): Promise<OwedRefundRow[]> {
  const rows = (
    await db.execute(sql`
      select b.id, b.refund_pending_cents, b.payment_provider, b.payment_reference,
             exists (select 1 from booking_tickets bt where bt.booking_id = b.id and bt.released_at is not null)
               and not exists (select 1 from booking_tickets bt where bt.booking_id = b.id and bt.released_at is null) as released
      from bookings b
      where b.event_id = ${eventId} and b.refund_pending_cents > 0 and b.id > ${afterId}
      order by b.id
      limit ${limit}`)
  ).rows as Array<{ id: string; refund_pending_cents: number; payment_provider: string; payment_reference: string | null; released: boolean }>;
  return rows.map((row) => ({
    bookingId: row.id,
    amountCents: Number(row.refund_pending_cents),
    paymentProvider: row.payment_provider,
    paymentReference: row.payment_reference,
    seatsReleased: row.released,
  }));
}

/** The provider gave `amountCents` back: no longer owed. A second report of the same refund changes nothing. */
export async function settleRefund(db: Runner, bookingId: string, amountCents: number): Promise<void> {
  await db.execute(sql`
    update bookings set refunded_cents = refunded_cents + refund_pending_cents, refund_pending_cents = 0, refunded_at = now()
    where id = ${bookingId} and refund_pending_cents = ${amountCents}`);
}

/** The refund side of the sales figures: money given back, and bookings whose money is still owed. */
export async function refundFigures(db: Runner, eventId: string): Promise<{ netRevenueCents: number; refundedCents: number; refundPendingCents: number; refundsPending: number }> {
  const [row] = (
    await db.execute(sql`
      select coalesce(sum(total_cents - refunded_cents - refund_pending_cents) filter (where transferred_from is null), 0)::bigint as net,
             coalesce(sum(refunded_cents), 0)::bigint as refunded,
             coalesce(sum(refund_pending_cents), 0)::bigint as pending_cents,
             (count(*) filter (where refund_pending_cents > 0))::int as pending
      from bookings
      where event_id = ${eventId} and status in ('confirmed', 'refunded', 'transferred')`)
  ).rows as Array<{ net: string | number; refunded: string | number; pending_cents: string | number; pending: number }>;
  return {
    netRevenueCents: Number(row?.net ?? 0),
    refundedCents: Number(row?.refunded ?? 0),
    refundPendingCents: Number(row?.pending_cents ?? 0),
    refundsPending: Number(row?.pending ?? 0),
  };
}
