import { beforeAll, describe, expect, it } from 'vitest';
import { adminToken, api, createEvent, signUp, ticketIdsOf } from '../helpers';

interface Ticket {
  id: string;
  priceCents: number;
  code: string | null;
}

interface Booking {
  bookingId: string;
  status: string;
  eventId: string;
  ticketIds: string[];
  tickets: Ticket[];
  totalCents: number;
  currency: string;
  confirmedAt: string | null;
}

interface Account {
  token: string;
  user: { id: string; email: string };
}

interface Notification {
  kind: string;
  to: string;
  userId: string | null;
  data: Record<string, unknown>;
}

const buy = async (token: string, eventId: string, ticketIds: string[]): Promise<Booking> => {
  const response = await api(`/api/bookings/${eventId}`, { method: 'POST', token, json: { ticketIds, paymentDetails: { paymentMethodId: 'pm_card_visa' } } });
  expect(response.status).toBe(201);
  return response.json();
};

const transfer = (token: string | undefined, bookingId: string, json: unknown) => api(`/api/bookings/${bookingId}/transfer`, { method: 'POST', token, json });

async function transferred(token: string, bookingId: string, json: unknown): Promise<Booking> {
  const response = await transfer(token, bookingId, json);
  expect(response.status, await response.clone().text()).toBe(200);
  return ((await response.json()) as { booking: Booking }).booking;
}

const getBooking = (token: string, bookingId: string) => api(`/api/bookings/${bookingId}`, { token });
const myBookings = async (token: string): Promise<Booking[]> => ((await (await api('/api/me/bookings', { token })).json()) as { bookings: Booking[] }).bookings;
const scan = async (admin: string, code: string) => ((await (await api('/api/admin/scan', { method: 'POST', token: admin, json: { code } })).json()) as { result: string }).result;
const errorCode = async (response: Response) => ((await response.json()) as { error: { code: string } }).error.code;

describe('POST /api/bookings/:bookingId/transfer', () => {
  let admin: string;
  let eventId: string;
  let tickets: string[];
  let next = 0;
  /** Fresh seats of the shared event for each test. */
  const seats = (n: number) => {
    const taken = tickets.slice(next, next + n);
    next += n;
    return taken;
  };

  beforeAll(async () => {
    admin = await adminToken();
    ({ eventId } = await createEvent(admin, { sections: [{ name: 'Floor', rows: 8, seatsPerRow: 10 }], prices: { Floor: 2500 } }));
    tickets = await ticketIdsOf(eventId);
  });

  it('moves every ticket to the account with that email as a new confirmed booking of theirs, costing them nothing, and leaves the sender a transferred booking', async () => {
    const [sender, recipient] = [await signUp('Sam Sender'), await signUp()];
    const bought = await buy(sender.token, eventId, seats(2));

    const received = await transferred(sender.token, bought.bookingId, { email: recipient.user.email.toUpperCase() });

    expect(received.bookingId).not.toBe(bought.bookingId);
    expect(received.bookingId.startsWith(eventId.replace(/-/g, ''))).toBe(true);
    expect(received).toMatchObject({ status: 'confirmed', eventId, ticketIds: bought.ticketIds, totalCents: 0, currency: bought.currency });
    expect(received.tickets.map((t) => t.priceCents)).toEqual([0, 0]);
    expect(received.tickets.every((t, i) => t.code !== null && t.code !== bought.tickets[i]!.code)).toBe(true);

    const asRecipient = await getBooking(recipient.token, received.bookingId);
    expect(asRecipient.status).toBe(200);
    expect(await asRecipient.json()).toMatchObject({ bookingId: received.bookingId, status: 'confirmed', ticketIds: bought.ticketIds });
    expect((await getBooking(sender.token, received.bookingId)).status).toBe(404);
    expect((await getBooking(admin, received.bookingId)).status).toBe(200);

    const senderView = (await (await getBooking(sender.token, bought.bookingId)).json()) as Booking;
    expect(senderView).toMatchObject({ status: 'transferred', ticketIds: bought.ticketIds, totalCents: bought.totalCents });
    expect(senderView.tickets.every((t) => t.code === null)).toBe(true);

    expect((await myBookings(recipient.token)).map((b) => [b.bookingId, b.status, b.ticketIds])).toEqual([[received.bookingId, 'confirmed', bought.ticketIds]]);
    expect((await myBookings(sender.token)).map((b) => [b.bookingId, b.status])).toEqual([[bought.bookingId, 'transferred']]);
  });

  it('moves only the tickets named: the sender keeps the others, with the codes they had', async () => {
    const [sender, recipient] = [await signUp(), await signUp()];
    const bought = await buy(sender.token, eventId, seats(3));
    const [kept, moved1, moved2] = bought.ticketIds as [string, string, string];

    const received = await transferred(sender.token, bought.bookingId, { email: recipient.user.email, ticketIds: [moved2, moved1.toUpperCase()] });

    expect(received.ticketIds.sort()).toEqual([moved1, moved2].sort());
    const senderView = (await (await getBooking(sender.token, bought.bookingId)).json()) as Booking;
    expect(senderView).toMatchObject({ status: 'confirmed', ticketIds: [kept] });
    expect(senderView.tickets[0]!.code).toBe(bought.tickets[0]!.code);
    const listed = await myBookings(sender.token);
    expect(listed.map((b) => [b.bookingId, b.status, b.ticketIds])).toEqual([[bought.bookingId, 'confirmed', [kept]]]);
    expect((await myBookings(recipient.token)).map((b) => b.ticketIds.sort())).toEqual([[moved1, moved2].sort()]);
  });

  it('makes the old codes scan invalid and the new ones admit once at the door; a ticket kept still admits', async () => {
    const [sender, recipient] = [await signUp(), await signUp()];
    const bought = await buy(sender.token, eventId, seats(2));
    const received = await transferred(sender.token, bought.bookingId, { email: recipient.user.email, ticketIds: [bought.ticketIds[1]] });

    expect(await scan(admin, bought.tickets[1]!.code!)).toBe('invalid');
    expect(await scan(admin, received.tickets[0]!.code!)).toBe('admitted');
    expect(await scan(admin, received.tickets[0]!.code!)).toBe('already_admitted');
    expect(await scan(admin, bought.tickets[1]!.code!)).toBe('invalid');
    expect(await scan(admin, bought.tickets[0]!.code!)).toBe('admitted');
  });

  it('lets the recipient open the rotating code of each ticket received, and the sender no more', async () => {
    const [sender, recipient] = [await signUp(), await signUp()];
    const bought = await buy(sender.token, eventId, seats(1));
    const received = await transferred(sender.token, bought.bookingId, { email: recipient.user.email });
    const ticketId = bought.ticketIds[0]!;

    const mine = await api(`/api/bookings/${received.bookingId}/tickets/${ticketId}/rotating`, { token: recipient.token });
    expect(mine.status).toBe(200);
    expect(((await mine.json()) as { code: string }).code).toBe(received.tickets[0]!.code);
    expect((await api(`/api/bookings/${bought.bookingId}/tickets/${ticketId}/rotating`, { token: sender.token })).status).toBe(404);
    expect((await api(`/api/bookings/${received.bookingId}/tickets/${ticketId}/rotating`, { token: sender.token })).status).toBe(404);
  });

  it("does not consume the recipient's ticket limit: with a limit's worth received they can still buy a limit's worth; the sender's purchase still counts", async () => {
    // The test environment keeps the default MAX_TICKETS_PER_USER of 10.
    const [sender, recipient] = [await signUp(), await signUp()];
    const bought = await buy(sender.token, eventId, seats(10));
    await transferred(sender.token, bought.bookingId, { email: recipient.user.email });

    const own = await api(`/api/bookings/${eventId}`, { method: 'POST', token: recipient.token, json: { ticketIds: seats(10) } });
    expect(own.status).toBe(201);
    const more = await api(`/api/bookings/${eventId}`, { method: 'POST', token: sender.token, json: { ticketIds: seats(1) } });
    expect(more.status).toBe(409);
    expect(await errorCode(more)).toBe('ticket_limit');
  });

  it('lets exactly one of two parallel transfers of the same tickets win; the other is 409 booking_not_pending', async () => {
    const [sender, first, second] = [await signUp(), await signUp(), await signUp()];
    const bought = await buy(sender.token, eventId, seats(2));

    const answers = await Promise.all([transfer(sender.token, bought.bookingId, { email: first.user.email }), transfer(sender.token, bought.bookingId, { email: second.user.email })]);

    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(await errorCode(answers.find((r) => r.status === 409)!)).toBe('booking_not_pending');
    const owners = [...(await myBookings(first.token)), ...(await myBookings(second.token))];
    expect(owners).toHaveLength(1);
    expect(owners[0]!.ticketIds).toEqual(bought.ticketIds);
  });

  it('lets the recipient pass the tickets on, and refuses to transfer a booking whose tickets all left it', async () => {
    const [sender, middle, last] = [await signUp(), await signUp(), await signUp()];
    const bought = await buy(sender.token, eventId, seats(1));
    const received = await transferred(sender.token, bought.bookingId, { email: middle.user.email });

    const again = await transfer(sender.token, bought.bookingId, { email: last.user.email });
    expect(again.status).toBe(409);
    expect(await errorCode(again)).toBe('booking_not_pending');
    const onward = await transferred(middle.token, received.bookingId, { email: last.user.email });
    expect(onward.ticketIds).toEqual(bought.ticketIds);
    expect(await scan(admin, received.tickets[0]!.code!)).toBe('invalid');
    expect(await scan(admin, onward.tickets[0]!.code!)).toBe('admitted');
  });

  it('queues the confirmation once, and the transfer for the sender (tickets_transferred) and the recipient (tickets_received)', async () => {
    const [sender, recipient] = [await signUp('Sam Sender'), await signUp()];
    const bought = await buy(sender.token, eventId, seats(2));
    const received = await transferred(sender.token, bought.bookingId, { email: recipient.user.email, ticketIds: [bought.ticketIds[0]] });

    const outbox = async (email: string) =>
      ((await (await api(`/api/dev/outbox?email=${encodeURIComponent(email)}`, { token: admin })).json()) as { notifications: Notification[] }).notifications;
    const toSender = await outbox(sender.user.email);
    expect(toSender.filter((n) => n.kind === 'booking_confirmed').map((n) => n.data.bookingId)).toEqual([bought.bookingId]);
    expect(toSender.filter((n) => n.kind === 'tickets_transferred').map((n) => n.data)).toEqual([
      expect.objectContaining({ fromBookingId: bought.bookingId, toBookingId: received.bookingId, ticketCount: 1, recipientEmail: recipient.user.email }),
    ]);
    const toRecipient = await outbox(recipient.user.email);
    expect(toRecipient.map((n) => [n.kind, n.userId, n.data.bookingId, n.data.senderName])).toEqual([['tickets_received', recipient.user.id, received.bookingId, 'Sam Sender']]);
  });

  describe('refusals, which change nothing', () => {
    let sender: Account;
    let recipient: Account;
    let bought: Booking;
    beforeAll(async () => {
      [sender, recipient] = [await signUp(), await signUp()];
      bought = await buy(sender.token, eventId, seats(2));
    });

    async function unchanged() {
      const view = (await (await getBooking(sender.token, bought.bookingId)).json()) as Booking;
      expect(view).toMatchObject({ status: 'confirmed', ticketIds: bought.ticketIds });
      expect(await myBookings(recipient.token)).toEqual([]);
    }

    it.each([
      ['401 without a sign-in', () => transfer(undefined, bought.bookingId, { email: recipient.user.email }), 401, 'unauthenticated'],
      ["404 for another user's booking, as GET answers", () => transfer(recipient.token, bought.bookingId, { email: recipient.user.email }), 404, 'not_found'],
      ['404 for a booking id that names nothing', () => transfer(sender.token, `${bought.bookingId.slice(0, 32)}${'0'.repeat(32)}`, { email: recipient.user.email }), 404, 'not_found'],
      ['404 when no account has that email', () => transfer(sender.token, bought.bookingId, { email: 'nobody-at-all@example.com' }), 404, 'not_found'],
      ['400 transferring to yourself (any case)', () => transfer(sender.token, bought.bookingId, { email: sender.user.email.toUpperCase() }), 400, 'validation_failed'],
      ['400 naming a ticket not in the booking', () => transfer(sender.token, bought.bookingId, { email: recipient.user.email, ticketIds: [tickets[tickets.length - 1]] }), 400, 'validation_failed'],
      ['400 naming a ticket twice', () => transfer(sender.token, bought.bookingId, { email: recipient.user.email, ticketIds: [bought.ticketIds[0], bought.ticketIds[0]] }), 400, 'validation_failed'],
      ['400 for an email that is not one', () => transfer(sender.token, bought.bookingId, { email: 'not an email' }), 400, 'validation_failed'],
      ['400 for no ticket named', () => transfer(sender.token, bought.bookingId, { email: recipient.user.email, ticketIds: [] }), 400, 'validation_failed'],
    ] as const)('%s', async (_, request, status, code) => {
      const response = await request();
      expect(response.status).toBe(status);
      expect(await errorCode(response)).toBe(code);
      await unchanged();
    });

    it('409 booking_not_pending for a booking not paid for yet', async () => {
      const held = await api(`/api/bookings/${eventId}`, { method: 'POST', token: sender.token, json: { ticketIds: seats(1) } });
      const pending = (await held.json()) as Booking;
      const response = await transfer(sender.token, pending.bookingId, { email: recipient.user.email });
      expect(response.status).toBe(409);
      expect(await errorCode(response)).toBe('booking_not_pending');
      expect((await (await getBooking(sender.token, pending.bookingId)).json()) as Booking).toMatchObject({ status: 'pending' });
      await unchanged();
    });
  });
});
