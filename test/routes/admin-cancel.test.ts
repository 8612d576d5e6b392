import { beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { withDb } from '../../src/db/client';
import { eventCancelledMessage } from '../../src/notifications/messages';
import { testPaymentRecord } from '../../src/payments/test-provider';
import { REFUND_BATCH } from '../../src/durable/ticket-lock/organizer-refunds';
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { adminToken, api, createEvent, env, signUp, ticketIdsOf, waitFor } from '../helpers';
import { buy, outbox, payOwedRefunds, refundsOfBooking, sales, scan, type Booking } from './refund-helpers';

const cancel = (token: string | undefined, eventId: string) => api(`/api/admin/events/${eventId}/cancel`, { method: 'POST', token });

describe('POST /api/admin/events/:eventId/cancel', () => {
  let admin: string;
  beforeAll(async () => {
    admin = await adminToken();
  });

  it('cancels the event, refunds every confirmed booking once, releases holds, and its codes scan invalid', async () => {
    const { eventId, ticketCount } = await createEvent(admin, { name: 'Cancelled Gala' });
    const tickets = await ticketIdsOf(eventId);
    const [alice, bob, carol] = [await signUp(), await signUp(), await signUp()];
    const first = await buy(alice.token, eventId, [tickets[0]!, tickets[1]!]);
    const second = await buy(bob.token, eventId, [tickets[2]!]);
    const held = await api(`/api/bookings/${eventId}`, { method: 'POST', token: carol.token, json: { ticketIds: [tickets[3]!] } });
    expect(held.status).toBe(201);
    const hold = (await held.json()) as Booking;

    const response = await cancel(admin, eventId);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { event: { id: string; status: string }; refunds: { bookings: number; amountCents: number } };
    expect(body.event).toMatchObject({ id: eventId, status: 'cancelled' });
    expect(body.refunds).toEqual({ bookings: 2, amountCents: first.totalCents + second.totalCents });

    // Owed at once, paid by the alarm.
    await payOwedRefunds(admin, eventId);
    expect(refundsOfBooking(first.bookingId)).toEqual([expect.objectContaining({ amountCents: first.totalCents })]);
    expect(refundsOfBooking(second.bookingId)).toEqual([expect.objectContaining({ amountCents: second.totalCents })]);
    expect(await sales(admin, eventId)).toMatchObject({
      held: 0,
      revenueCents: 0,
      refundedCents: first.totalCents + second.totalCents,
      refundsPending: 0,
    });

    // The buyers see it; the hold is gone, and no new hold is taken.
    const seen = (await (await api(`/api/bookings/${first.bookingId}`, { token: alice.token })).json()) as Booking;
    expect(seen).toMatchObject({ status: 'refunded', refunded: true });
    const mine = (await (await api('/api/me/bookings', { token: bob.token })).json()) as { bookings: Booking[] };
    expect(mine.bookings.find((b) => b.bookingId === second.bookingId)).toMatchObject({ status: 'refunded', refunded: true });
    expect(((await (await api(`/api/bookings/${hold.bookingId}`, { token: carol.token })).json()) as Booking).status).toBe('cancelled');
    const again = await api(`/api/bookings/${eventId}`, { method: 'POST', token: carol.token, json: { ticketIds: [tickets[5]!] } });
    expect(again.status).toBeGreaterThanOrEqual(400);
    expect(again.status).toBeLessThan(500);
    expect(((await api(`/api/events/${eventId}`)).status)).toBe(200);
    expect(((await (await api(`/api/events/${eventId}`)).json()) as { event: { status: string } }).event.status).toBe('cancelled');

    // Every code of the refunded bookings is invalid at the door.
    for (const ticket of first.tickets) expect(await scan(admin, ticket.code!)).toBe('invalid');
    expect(await scan(admin, second.tickets[0]!.code!)).toBe('invalid');
    expect(ticketCount).toBeGreaterThan(4);

    // Each buyer is told once, in the words of the cancellation notice.
    const told = await outbox(admin, 'event_cancelled', alice.user.email);
    expect(told).toHaveLength(1);
    expect(told[0]!.body).toBe(
      eventCancelledMessage({ eventId, eventName: 'Cancelled Gala', bookingId: first.bookingId, refundCents: first.totalCents, currency: 'USD' }).body,
    );
    expect(told[0]!.data).toMatchObject({ bookingId: first.bookingId, refundCents: first.totalCents, eventId });
    expect(await outbox(admin, 'event_cancelled', bob.user.email)).toHaveLength(1);
    expect(await outbox(admin, 'event_cancelled', carol.user.email)).toHaveLength(0);
  });

  it('cancelling twice refunds nothing twice and answers the same kind of body', async () => {
    const { eventId } = await createEvent(admin);
    const [ticket] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const booking = await buy(buyer.token, eventId, [ticket!]);
    expect((await cancel(admin, eventId)).status).toBe(200);
    await payOwedRefunds(admin, eventId);

    const second = await cancel(admin, eventId);
    expect(second.status).toBe(200);
    expect(await second.json()).toMatchObject({ event: { id: eventId, status: 'cancelled' }, refunds: { bookings: 0, amountCents: 0 } });
    await payOwedRefunds(admin, eventId);
    expect(refundsOfBooking(booking.bookingId)).toHaveLength(1);
    expect(await outbox(admin, 'event_cancelled', buyer.user.email)).toHaveLength(1);
    expect(await sales(admin, eventId)).toMatchObject({ refundedCents: booking.totalCents, refundsPending: 0 });
  });

  it('pays a list of refunds longer than one batch, each booking once', async () => {
    const { eventId } = await createEvent(admin, { sections: [{ name: 'Floor', rows: 4, seatsPerRow: 10 }], prices: { Floor: 1000 } });
    const tickets = await ticketIdsOf(eventId);
    const count = REFUND_BATCH + 5;
    const buyers = await Promise.all(Array.from({ length: Math.ceil(count / 10) }, () => signUp()));
    const bookings: Booking[] = [];
    for (let i = 0; i < count; i++) bookings.push(await buy(buyers[Math.floor(i / 10)]!.token, eventId, [tickets[i]!]));

    expect(await (await cancel(admin, eventId)).json()).toMatchObject({ refunds: { bookings: count, amountCents: count * 1000 } });
    // The sweep pays REFUND_BATCH a run and makes the next batch due at once, so the runtime's own
    // alarm may pay some or all before these forced runs (how many depends on timing: not asserted).
    await payOwedRefunds(admin, eventId);
    for (const booking of bookings) expect(refundsOfBooking(booking.bookingId)).toHaveLength(1);
    expect(await sales(admin, eventId)).toMatchObject({ refundedCents: count * 1000, refundsPending: 0, revenueCents: 0 });
  });

  it('a refund the provider refuses at first stays owed and the alarm retries it until done', async () => {
    const { eventId } = await createEvent(admin);
    const [ticket] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const booking = await buy(buyer.token, eventId, [ticket!], 'pm_card_refundFailsOnce');
    const [charge] = testPaymentRecord.charges.filter((entry) => entry.bookingId === booking.bookingId);
    const refused = () => testPaymentRecord.refusedRefunds.filter((refund) => refund.reference === charge!.reference);
    await cancel(admin, eventId);
    // The first attempt (the alarm, at once) is refused: the refund stays owed, and is not said to be paid.
    await waitFor(() => (refused().length ? true : undefined), 'the refused refund');
    expect(await sales(admin, eventId)).toMatchObject({ refundsPending: 1, refundedCents: 0 });
    expect(refundsOfBooking(booking.bookingId)).toEqual([]);
    await payOwedRefunds(admin, eventId);
    expect(refused()).toHaveLength(1);
    expect(refundsOfBooking(booking.bookingId)).toEqual([expect.objectContaining({ amountCents: booking.totalCents })]);
    const refunded = await withDb(env, async (db) => (await db.execute(sql`select refunded_cents, refund_pending_cents, refunded_at from bookings where id = ${booking.bookingId}`)).rows[0]);
    expect(refunded).toMatchObject({ refunded_cents: booking.totalCents, refund_pending_cents: 0 });
    expect(refunded!.refunded_at).not.toBeNull();
  });

  it('cancelling by PATCH status "cancelled" refunds as POST …/cancel does', async () => {
    const { eventId } = await createEvent(admin);
    const [ticket] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const booking = await buy(buyer.token, eventId, [ticket!]);
    const patched = await api(`/api/admin/events/${eventId}`, { method: 'PATCH', token: admin, json: { status: 'cancelled' } });
    expect(patched.status).toBe(200);
    await payOwedRefunds(admin, eventId);
    expect(refundsOfBooking(booking.bookingId)).toHaveLength(1);
    expect(await (await api(`/api/bookings/${booking.bookingId}`, { token: buyer.token })).json()).toMatchObject({ status: 'refunded', refunded: true });
    expect(await outbox(admin, 'event_cancelled', buyer.user.email)).toHaveLength(1);
    // POST …/cancel afterwards finds nothing more to refund.
    expect(await (await cancel(admin, eventId)).json()).toMatchObject({ refunds: { bookings: 0, amountCents: 0 } });
  });

  it('a sweep finishes a cancellation whose answer was lost: Postgres says cancelled, the TicketLock did not hear', async () => {
    const { eventId } = await createEvent(admin);
    const tickets = await ticketIdsOf(eventId);
    const [buyer, late] = [await signUp(), await signUp()];
    const booking = await buy(buyer.token, eventId, [tickets[0]!]);
    // As if the cancel's event update committed and nothing after it happened (its sweep was set beforehand).
    await withDb(env, (db) => db.execute(sql`update events set status = 'cancelled' where id = ${eventId}`));
    await runInDurableObject(env.TICKET_LOCK.getByName(eventId), (_instance, state) => {
      state.storage.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('refund_sweep_at', ?)`, String(Date.now() - 1));
    });
    await runDurableObjectAlarm(env.TICKET_LOCK.getByName(eventId));
    await payOwedRefunds(admin, eventId);
    expect(refundsOfBooking(booking.bookingId)).toEqual([expect.objectContaining({ amountCents: booking.totalCents })]);
    expect(await (await api(`/api/bookings/${booking.bookingId}`, { token: buyer.token })).json()).toMatchObject({ status: 'refunded', refunded: true });
    expect(await outbox(admin, 'event_cancelled', buyer.user.email)).toHaveLength(1);
    const refused = await api(`/api/bookings/${eventId}`, { method: 'POST', token: late.token, json: { ticketIds: [tickets[1]!] } });
    expect(refused.status).toBe(409);
  });

  it('answers 404 for an unknown event and 403 to a buyer, changing nothing', async () => {
    expect((await cancel(admin, crypto.randomUUID())).status).toBe(404);
    expect((await cancel(admin, 'not-an-id')).status).toBe(404);
    const { eventId } = await createEvent(admin);
    const buyer = await signUp();
    const refused = await cancel(buyer.token, eventId);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    expect((await cancel(undefined, eventId)).status).toBe(401);
    expect(((await (await api(`/api/events/${eventId}`)).json()) as { event: { status: string } }).event.status).toBe('published');
  });

  it('names the event in any spelling of its id', async () => {
    const { eventId } = await createEvent(admin);
    const response = await cancel(admin, eventId.toUpperCase());
    expect(response.status).toBe(200);
    expect(((await response.json()) as { event: { id: string } }).event.id).toBe(eventId);
  });
});
