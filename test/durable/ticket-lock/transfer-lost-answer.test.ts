// A transfer whose Postgres commit landed but whose answer was lost (the TicketLock heard an error,
// or went away mid-write): the recipient's new booking exists in Postgres and in their list, so
// reading it must not answer 404 until the sender happens to transfer again.
import { describe, expect, it } from 'vitest';
import { runInDurableObject } from 'cloudflare:test';
import { withDb } from '../../../src/db/client';
import { writeTransfer } from '../../../src/db/transfers';
import { newBookingId } from '../../../src/domain/booking';
import { adminToken, api, createEvent, env, signUp, ticketIdsOf } from '../../helpers';

describe('a transfer whose answer was lost', () => {
  /** A buyer's booking of two tickets, one of them moved to a recipient by a write whose answer never came back. */
  async function lostTransfer() {
    const admin = await adminToken();
    const { eventId } = await createEvent(admin);
    const [kept, moved] = await ticketIdsOf(eventId);
    const sender = await signUp('Sender');
    const recipient = await signUp('Recipient');
    const bought = await api(`/api/bookings/${eventId}`, { method: 'POST', token: sender.token, json: { ticketIds: [kept, moved], paymentDetails: { paymentMethodId: 'pm_card_visa' } } });
    expect(bought.status).toBe(201);
    const { bookingId } = (await bought.json()) as { bookingId: string };
    // What the TicketLock records before its write, then the write itself.
    const toBookingId = newBookingId(eventId);
    const startedAt = Date.now();
    await runInDurableObject(env.TICKET_LOCK.getByName(eventId), async (_instance, state) => {
      state.storage.sql.exec(
        `INSERT INTO transfer_attempts (to_booking_id, from_booking_id, to_user_id, ticket_ids, started_at) VALUES (?, ?, ?, ?, ?)`,
        toBookingId, bookingId, recipient.user.id, JSON.stringify([moved]), startedAt,
      );
    });
    const written = await withDb(env, (db) =>
      writeTransfer(db, { eventId, fromBookingId: bookingId, fromUserId: sender.user.id, toBookingId, toUserId: recipient.user.id, ticketIds: [moved!], currency: 'USD', transferredAt: new Date(startedAt) }),
    );
    expect(written.status).not.toBe('conflict');
    return { sender, recipient, bookingId, toBookingId, kept, moved };
  }

  it('shows the recipient their booking when they read it, settled from Postgres, and the sender what is left', async () => {
    const { sender, recipient, bookingId, toBookingId, kept, moved } = await lostTransfer();

    const received = await api(`/api/bookings/${toBookingId}`, { token: recipient.token });

    expect(received.status, await received.clone().text()).toBe(200);
    expect(await received.json()).toMatchObject({ bookingId: toBookingId, status: 'confirmed', ticketIds: [moved] });
    const left = await api(`/api/bookings/${bookingId}`, { token: sender.token });
    expect(await left.json()).toMatchObject({ bookingId, status: 'confirmed', ticketIds: [kept] });
  });

  it('shows the sender only what is left when the sender reads first', async () => {
    const { sender, recipient, bookingId, toBookingId, kept, moved } = await lostTransfer();

    const left = await api(`/api/bookings/${bookingId}`, { token: sender.token });

    expect(await left.json()).toMatchObject({ bookingId, status: 'confirmed', ticketIds: [kept] });
    expect(await (await api(`/api/bookings/${toBookingId}`, { token: recipient.token })).json()).toMatchObject({ status: 'confirmed', ticketIds: [moved] });
  });

  it('still answers 404 for a booking id that no transfer produced', async () => {
    const admin = await adminToken();
    const { eventId } = await createEvent(admin);
    const buyer = await signUp();

    const response = await api(`/api/bookings/${newBookingId(eventId)}`, { token: buyer.token });

    expect(response.status).toBe(404);
  });
});
