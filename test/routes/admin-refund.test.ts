import { beforeAll, describe, expect, it } from 'vitest';
import { adminToken, api, createEvent, env, signUp, ticketIdsOf } from '../helpers';
import { buy, outbox, payOwedRefunds, refundsOfBooking, sales, scan, type Booking } from './refund-helpers';

const refund = (token: string | undefined, bookingId: string, json?: unknown) =>
  api(`/api/admin/bookings/${bookingId}/refund`, { method: 'POST', token, ...(json !== undefined ? { json } : {}) });

const hold = (token: string, eventId: string, ticketIds: string[]) => api(`/api/bookings/${eventId}`, { method: 'POST', token, json: { ticketIds } });

describe('POST /api/admin/bookings/:bookingId/refund', () => {
  let admin: string;
  beforeAll(async () => {
    admin = await adminToken();
  });

  it('refunds the money once, shows the booking refunded, invalidates its codes and tells the buyer; the seats stay sold', async () => {
    const { eventId } = await createEvent(admin, { name: 'Refund Night' });
    const [ticket] = await ticketIdsOf(eventId);
    const [buyer, other] = [await signUp(), await signUp()];
    const booking = await buy(buyer.token, eventId, [ticket!]);

    const response = await refund(admin, booking.bookingId);
    expect(response.status).toBe(200);
    const refunded = (await response.json()) as Booking;
    expect(refunded).toMatchObject({ bookingId: booking.bookingId, status: 'refunded', refunded: true, eventId, ticketIds: [ticket], totalCents: booking.totalCents });
    expect(refunded.tickets[0]!.code).toBeNull();

    await payOwedRefunds(admin, eventId);
    expect(refundsOfBooking(booking.bookingId)).toEqual([expect.objectContaining({ amountCents: booking.totalCents })]);
    expect(await sales(admin, eventId)).toMatchObject({ sold: 1, revenueCents: 0, refundedCents: booking.totalCents, refundsPending: 0 });
    expect(await scan(admin, booking.tickets[0]!.code!)).toBe('invalid');
    expect(await (await api(`/api/bookings/${booking.bookingId}`, { token: buyer.token })).json()).toMatchObject({ status: 'refunded', refunded: true });
    const mine = (await (await api('/api/me/bookings', { token: buyer.token })).json()) as { bookings: Booking[] };
    expect(mine.bookings.find((b) => b.bookingId === booking.bookingId)).toMatchObject({ status: 'refunded', refunded: true });
    const told = await outbox(admin, 'booking_refunded', buyer.user.email);
    expect(told).toHaveLength(1);
    expect(told[0]!.data).toMatchObject({ bookingId: booking.bookingId, refundCents: booking.totalCents });

    // Without releaseSeats the seat is not on sale again.
    const refused = await hold(other.token, eventId, [ticket!]);
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('tickets_unavailable');

    // The buyer can no longer pay, cancel, give away or show it.
    expect((await api(`/api/bookings/${booking.bookingId}`, { method: 'DELETE', token: buyer.token })).status).toBe(409);
    expect((await api(`/api/bookings/${booking.bookingId}/pay`, { method: 'POST', token: buyer.token, json: { paymentDetails: { paymentMethodId: 'pm_card_visa' } } })).status).toBe(409);
    expect((await api(`/api/bookings/${booking.bookingId}/transfer`, { method: 'POST', token: buyer.token, json: { email: other.user.email } })).status).toBe(409);
    expect((await api(`/api/bookings/${booking.bookingId}/tickets/${ticket}/rotating`, { token: buyer.token })).status).toBe(404);

    // A second refund is refused and pays nothing more.
    const again = await refund(admin, booking.bookingId, { releaseSeats: true });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('booking_not_pending');
    await payOwedRefunds(admin, eventId);
    expect(refundsOfBooking(booking.bookingId)).toHaveLength(1);
    expect(await outbox(admin, 'booking_refunded', buyer.user.email)).toHaveLength(1);
  });

  it('with releaseSeats the seats go back on sale: free in the seat map and availability, and another buyer can buy them', async () => {
    const { eventId } = await createEvent(admin);
    const tickets = await ticketIdsOf(eventId);
    const [buyer, other] = [await signUp(), await signUp()];
    const booking = await buy(buyer.token, eventId, [tickets[0]!, tickets[1]!]);

    const response = await refund(admin, booking.bookingId.toUpperCase(), { releaseSeats: true });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ bookingId: booking.bookingId, status: 'refunded' });

    const status = await env.TICKET_LOCK.getByName(eventId).seatStatus(eventId);
    expect(status.booked).not.toContain(tickets[0]);
    expect(status.booked).not.toContain(tickets[1]);
    const availability = (await (await api(`/api/events/${eventId}/availability`)).json()) as { statuses: string };
    expect(atob(availability.statuses).charCodeAt(0) & 0b1111).toBe(0);
    expect(await sales(admin, eventId)).toMatchObject({ sold: 0 });

    const resold = await buy(other.token, eventId, [tickets[0]!]);
    expect(resold.status).toBe('confirmed');
    expect(await scan(admin, resold.tickets[0]!.code!)).toBe('admitted');
    expect(await scan(admin, booking.tickets[0]!.code!)).toBe('invalid');
    await payOwedRefunds(admin, eventId);
    expect(refundsOfBooking(booking.bookingId)).toHaveLength(1);
    expect(await sales(admin, eventId)).toMatchObject({ sold: 1, revenueCents: resold.totalCents, refundedCents: booking.totalCents, refundsPending: 0 });
  });

  it('refuses a pending booking with 409 booking_not_pending, changing nothing', async () => {
    const { eventId } = await createEvent(admin);
    const [ticket] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const held = (await (await hold(buyer.token, eventId, [ticket!])).json()) as Booking;
    const response = await refund(admin, held.bookingId);
    expect(response.status).toBe(409);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('booking_not_pending');
    expect(await (await api(`/api/bookings/${held.bookingId}`, { token: buyer.token })).json()).toMatchObject({ status: 'pending' });
  });

  it('answers 404 for unknown bookings, 400 for a bad body, 403 to a buyer and 401 to nobody', async () => {
    const { eventId } = await createEvent(admin);
    const [ticket] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const booking = await buy(buyer.token, eventId, [ticket!]);
    expect((await refund(admin, 'nope')).status).toBe(404);
    expect((await refund(admin, `${eventId.replace(/-/g, '')}${'0'.repeat(32)}`)).status).toBe(404);
    expect((await refund(admin, `${crypto.randomUUID().replace(/-/g, '')}${'0'.repeat(32)}`)).status).toBe(404);
    const bad = await refund(admin, booking.bookingId, { releaseSeats: 'yes' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('validation_failed');
    expect((await refund(admin, booking.bookingId, { releaseSeats: true, extra: 1 })).status).toBe(400);
    expect((await refund(buyer.token, booking.bookingId)).status).toBe(403);
    expect((await refund(undefined, booking.bookingId)).status).toBe(401);
    expect(await (await api(`/api/bookings/${booking.bookingId}`, { token: buyer.token })).json()).toMatchObject({ status: 'confirmed', refunded: false });
  });

  it('parallel refunds of one booking refund it once', async () => {
    const { eventId } = await createEvent(admin);
    const [ticket] = await ticketIdsOf(eventId);
    const buyer = await signUp();
    const booking = await buy(buyer.token, eventId, [ticket!]);
    const answers = await Promise.all([refund(admin, booking.bookingId), refund(admin, booking.bookingId, { releaseSeats: true }), refund(admin, booking.bookingId)]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 409, 409]);
    await payOwedRefunds(admin, eventId);
    expect(refundsOfBooking(booking.bookingId)).toHaveLength(1);
    expect(await sales(admin, eventId)).toMatchObject({ refundedCents: booking.totalCents, refundsPending: 0 });
  });
});

describe('refunds of bookings with transferred tickets', () => {
  let admin: string;
  beforeAll(async () => {
    admin = await adminToken();
  });

  it('refunds only the tickets the booking still has; cancelling the event then returns the rest to the payer', async () => {
    const { eventId } = await createEvent(admin, { sections: [{ name: 'Floor', rows: 1, seatsPerRow: 4 }], prices: { Floor: 3000 } });
    const tickets = await ticketIdsOf(eventId);
    const [payer, friend] = [await signUp(), await signUp()];
    const booking = await buy(payer.token, eventId, [tickets[0]!, tickets[1]!]);
    const moved = await api(`/api/bookings/${booking.bookingId}/transfer`, { method: 'POST', token: payer.token, json: { email: friend.user.email, ticketIds: [tickets[1]] } });
    expect(moved.status).toBe(200);
    const gift = ((await moved.json()) as { booking: Booking }).booking;

    expect((await refund(admin, booking.bookingId)).status).toBe(200);
    await payOwedRefunds(admin, eventId);
    expect(refundsOfBooking(booking.bookingId)).toEqual([expect.objectContaining({ amountCents: 3000 })]);
    // The friend's ticket still admits them.
    expect(await scan(admin, gift.tickets[0]!.code!)).toBe('admitted');

    const cancelled = await api(`/api/admin/events/${eventId}/cancel`, { method: 'POST', token: admin });
    expect(await cancelled.json()).toMatchObject({ refunds: { bookings: 2, amountCents: 3000 } });
    await payOwedRefunds(admin, eventId);
    expect(await sales(admin, eventId)).toMatchObject({ revenueCents: 0, refundedCents: 6000, refundsPending: 0 });
    expect(await (await api(`/api/bookings/${gift.bookingId}`, { token: friend.token })).json()).toMatchObject({ status: 'refunded' });
    expect(await outbox(admin, 'event_cancelled', friend.user.email)).toEqual([expect.objectContaining({ data: expect.objectContaining({ refundCents: 0 }) })]);
  });
});
