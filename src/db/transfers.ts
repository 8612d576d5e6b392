// Ticket transfers as Postgres records them (API.md, Transfer): one transaction moves the tickets
// out of the sender's booking into a new booking of the recipient's and queues both notifications.
import { sql, TransactionRollbackError } from 'drizzle-orm';
import type { Database } from './client';
import { enqueueNotification } from '../notifications/outbox';
import { ticketsReceivedMessage, ticketsTransferredMessage } from '../notifications/messages';

/** What a transfer booking records as its payment: nothing was charged. */
export const TRANSFER_PAYMENT_PROVIDER = 'transfer';

export interface TransferRecord {
  eventId: string;
  fromBookingId: string;
  fromUserId: string;
  toBookingId: string;
  toUserId: string;
  ticketIds: string[];
  currency: string;
  transferredAt: Date;
}

export type TransferWriteOutcome =
  | { status: 'written'; fromStatus: 'confirmed' | 'transferred' }
  /** Nothing was written: Postgres does not have these tickets live in that confirmed booking of the sender's. */
  | { status: 'conflict' };

/**
 * In one transaction: the sender's rows for the tickets are released (their codes scan invalid),
 * the recipient's booking is inserted (price 0, `transferred_from` the sender's booking) with a
 * live row per ticket, the tickets name it, the sender's booking becomes `transferred` when it has
 * no ticket left, and the sender and the recipient are each told (outbox). The tickets stay sold:
 * no seat is freed or taken.
 *
 * The sender's booking row is locked first, so two transfers of it (or a transfer and a refund
 * that locks it too) run one after the other; the second finds the rows released and writes nothing.
 */
export async function writeTransfer(db: Database, transfer: TransferRecord): Promise<TransferWriteOutcome> {
  const ids = `{${transfer.ticketIds.join(',')}}`;
  return db.transaction(async (tx) => {
    const from = (
      await tx.execute(sql`
        select b.status, b.user_id, e.name as event_name, u.name as sender_name
        from bookings b join events e on e.id = b.event_id join users u on u.id = b.user_id
        where b.id = ${transfer.fromBookingId} and b.event_id = ${transfer.eventId}
        for update of b`)
    ).rows as Array<{ status: string; user_id: string; event_name: string; sender_name: string }>;
    const sender = from[0];
    if (!sender || sender.status !== 'confirmed' || sender.user_id !== transfer.fromUserId) return { status: 'conflict' as const };
    const released = await tx.execute(sql`
      update booking_tickets set released_at = ${transfer.transferredAt.toISOString()}
      where booking_id = ${transfer.fromBookingId} and ticket_id = any(${ids}::uuid[]) and released_at is null
        -- A ticket already used at the door is not handed on with a fresh code.
        and admitted_at is null
      returning ticket_id`);
    if ((released.rowCount ?? released.rows.length) !== transfer.ticketIds.length) {
      tx.rollback();
    }
    const recipient = (await tx.execute(sql`select email from users where id = ${transfer.toUserId}`)).rows as Array<{ email: string }>;
    if (!recipient[0]) tx.rollback();
    await tx.execute(sql`
      insert into bookings (id, user_id, event_id, status, total_cents, currency, payment_provider, payment_reference, confirmed_at, transferred_from)
      values (${transfer.toBookingId}, ${transfer.toUserId}, ${transfer.eventId}, 'confirmed', 0, ${transfer.currency},
              ${TRANSFER_PAYMENT_PROVIDER}, null, ${transfer.transferredAt.toISOString()}, ${transfer.fromBookingId})`);
    await tx.execute(sql`
      insert into booking_tickets (booking_id, ticket_id, price_cents)
      select ${transfer.toBookingId}, moved, 0 from unnest(${ids}::uuid[]) as moved`);
    const moved = await tx.execute(sql`
      update tickets set booking_id = ${transfer.toBookingId}
      where event_id = ${transfer.eventId} and id = any(${ids}::uuid[]) and booking_id = ${transfer.fromBookingId} and status = 'sold'`);
    if ((moved.rowCount ?? 0) !== transfer.ticketIds.length) tx.rollback();
    const left = (
      await tx.execute(sql`
        update bookings set status = 'transferred'
        where id = ${transfer.fromBookingId}
          and not exists (select 1 from booking_tickets where booking_id = ${transfer.fromBookingId} and released_at is null)
        returning id`)
    ).rows;
    const ticketCount = transfer.ticketIds.length;
    await enqueueNotification(tx, {
      dedupeKey: `tickets_transferred:${transfer.toBookingId}`,
      userId: transfer.fromUserId,
      message: ticketsTransferredMessage({
        eventId: transfer.eventId,
        eventName: sender.event_name,
        fromBookingId: transfer.fromBookingId,
        toBookingId: transfer.toBookingId,
        ticketCount,
        recipientEmail: recipient[0]!.email,
      }),
    });
    await enqueueNotification(tx, {
      dedupeKey: `tickets_received:${transfer.toBookingId}`,
      userId: transfer.toUserId,
      message: ticketsReceivedMessage({ eventId: transfer.eventId, eventName: sender.event_name, bookingId: transfer.toBookingId, ticketCount, senderName: sender.sender_name }),
    });
    return { status: 'written' as const, fromStatus: left.length > 0 ? ('transferred' as const) : ('confirmed' as const) };
  }).catch((error: unknown): TransferWriteOutcome => {
    if (error instanceof TransactionRollbackError) return { status: 'conflict' };
    throw error;
  });
}

/** The account with this email, whatever its case. */
export async function userByEmail(db: Database, email: string): Promise<{ id: string; email: string } | null> {
  const rows = (await db.execute(sql`select id, email from users where lower(email) = lower(${email})`)).rows as Array<{ id: string; email: string }>;
  return rows[0] ?? null;
}
