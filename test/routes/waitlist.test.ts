import { beforeAll, describe, expect, it } from 'vitest';
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { adminToken, api, createEvent, env, signUp } from '../helpers';

type Entry = { id: string; eventId: string; quantity: number; section: string | null; position: number | null; status: string; offer: { bookingId: string; expiresAt: string } | null };

let admin: string;
beforeAll(async () => {
  admin = await adminToken();
});

async function hold(token: string, eventId: string, body: Record<string, unknown>) {
  const response = await api(`/api/bookings/${eventId}`, { method: 'POST', token, json: body });
  return { status: response.status, body: (await response.json()) as { bookingId: string; ticketIds: string[]; error?: { code: string } } };
}

async function join(token: string, eventId: string, body: Record<string, unknown>) {
  const response = await api(`/api/events/${eventId}/waitlist`, { method: 'POST', token, json: body });
  return { status: response.status, body: (await response.json()) as { entry: Entry; error?: { code: string } } };
}

async function myEntries(token: string): Promise<Entry[]> {
  const response = await api('/api/me/waitlist', { token });
  expect(response.status).toBe(200);
  return ((await response.json()) as { entries: Entry[] }).entries;
}

/** Ends a hold as if its time had run out, and lets the alarm run. */
async function runOut(eventId: string, bookingId: string) {
  const lock = env.TICKET_LOCK.getByName(eventId);
  await runInDurableObject(lock, (_instance, state) => {
    state.storage.sql.exec(`UPDATE bookings SET expires_at = ? WHERE booking_id = ?`, Date.now() - 1, bookingId);
    state.storage.sql.exec(`UPDATE holds SET expires_at = ? WHERE booking_id = ?`, Date.now() - 1, bookingId);
  });
  await runDurableObjectAlarm(lock);
}

/** An event of two sections (Front: 1 row of 4, Back: 1 row of 2), every seat held by `holder`. */
async function soldOutEvent() {
  const holder = await signUp('Holder');
  const event = await createEvent(admin, { sections: [{ name: 'Front', rows: 1, seatsPerRow: 4 }, { name: 'Back', rows: 1, seatsPerRow: 2 }], prices: { Front: 9000, Back: 4000 } });
  const front = await hold(holder.token, event.eventId, { seats: [0, 1, 2, 3] });
  const back = await hold(holder.token, event.eventId, { seats: [4, 5] });
  expect([front.status, back.status]).toEqual([201, 201]);
  return { ...event, holder, front: front.body.bookingId, back: back.body.bookingId };
}

describe('the waiting list', () => {
  it('is refused while places that fit can be held, with 409 tickets_available', async () => {
    const buyer = await signUp();
    const event = await createEvent(admin, { sections: [{ name: 'Front', rows: 1, seatsPerRow: 4 }], prices: { Front: 9000 } });

    const joined = await join(buyer.token, event.eventId, { quantity: 2 });

    expect(joined.status).toBe(409);
    expect(joined.body.error?.code).toBe('tickets_available');
    expect(await myEntries(buyer.token)).toEqual([]);
  });

  it('lines people up in join order, one entry per account', async () => {
    const event = await soldOutEvent();
    const [first, second] = [await signUp('First'), await signUp('Second')];

    const a = await join(first.token, event.eventId, { quantity: 2 });
    const b = await join(second.token, event.eventId, { quantity: 1, section: 'Back' });
    const again = await join(first.token, event.eventId, { quantity: 3 });

    expect([a.status, b.status, again.status]).toEqual([201, 201, 200]);
    expect(a.body.entry).toMatchObject({ eventId: event.eventId, quantity: 2, section: null, position: 1, status: 'waiting', offer: null });
    expect(b.body.entry).toMatchObject({ quantity: 1, section: 'Back', position: 2, status: 'waiting' });
    expect(again.body.entry.id).toBe(a.body.entry.id);
    expect(await myEntries(first.token)).toEqual([a.body.entry]);
  });

  it('holds places that come free for the first entry they fit, and nobody else can take them', async () => {
    const event = await soldOutEvent();
    const [wantsFour, wantsTwo, stranger] = [await signUp(), await signUp(), await signUp()];
    await join(wantsFour.token, event.eventId, { quantity: 4, section: 'Front' });
    await join(wantsTwo.token, event.eventId, { quantity: 2 });

    // Two Back seats come free: they fit the second entry, not the first.
    const released = await api(`/api/bookings/${event.back}`, { method: 'DELETE', token: event.holder.token });
    expect(released.status).toBe(204);

    const [offered] = await myEntries(wantsTwo.token);
    expect(offered).toMatchObject({ status: 'offered', position: null });
    const booking = await api(`/api/bookings/${offered!.offer!.bookingId}`, { token: wantsTwo.token });
    const offer = (await booking.json()) as { status: string; ticketIds: string[]; expiresAt: string; tickets: Array<{ section: string }> };
    expect(offer.status).toBe('pending');
    expect(offer.tickets.map((t) => t.section)).toEqual(['Back', 'Back']);
    // Held for the event's offer time (120 minutes by default), not the 10-minute hold.
    expect(Date.parse(offer.expiresAt) - Date.now()).toBeGreaterThan(110 * 60_000);
    expect((await myEntries(wantsFour.token))[0]).toMatchObject({ status: 'waiting', position: 1 });
    const snatch = await hold(stranger.token, event.eventId, { seats: [4] });
    expect(snatch.status).toBe(409);
  });

  it('gives places of a hold that ran out to the waiting list before a buyer who asks first', async () => {
    const event = await soldOutEvent();
    const [fan, stranger] = [await signUp(), await signUp()];
    await join(fan.token, event.eventId, { quantity: 1, section: 'Back' });
    // The hold's time is up, and no alarm has run yet.
    await runInDurableObject(env.TICKET_LOCK.getByName(event.eventId), (_instance, state) => {
      state.storage.sql.exec(`UPDATE bookings SET expires_at = ? WHERE booking_id = ?`, Date.now() - 1, event.back);
      state.storage.sql.exec(`UPDATE holds SET expires_at = ? WHERE booking_id = ?`, Date.now() - 1, event.back);
    });

    const snatch = await hold(stranger.token, event.eventId, { seats: [4, 5] });

    expect(snatch.status).toBe(409);
    expect((await myEntries(fan.token))[0]).toMatchObject({ status: 'offered' });
    // The other Back seat fitted nobody waiting: it is anyone's.
    const [offer] = await myEntries(fan.token);
    const offered = (await (await api(`/api/bookings/${offer!.offer!.bookingId}`, { token: fan.token })).json()) as { ticketIds: string[] };
    expect(offered.ticketIds).toHaveLength(1);
    const rest = await hold(stranger.token, event.eventId, { best: { quantity: 1, section: 'Back' } });
    expect(rest.status).toBe(201);
  });

  it('confirms an offer that is paid, and the entry is accepted', async () => {
    const event = await soldOutEvent();
    const fan = await signUp();
    await join(fan.token, event.eventId, { quantity: 2, section: 'Back' });
    await api(`/api/bookings/${event.back}`, { method: 'DELETE', token: event.holder.token });
    const [offered] = await myEntries(fan.token);

    const paid = await api(`/api/bookings/${offered!.offer!.bookingId}/pay`, { method: 'POST', token: fan.token, json: { paymentDetails: { paymentMethodId: 'pm_card_visa' } } });

    expect(paid.status).toBe(200);
    expect(((await paid.json()) as { status: string }).status).toBe('confirmed');
    expect((await myEntries(fan.token))[0]).toMatchObject({ status: 'accepted' });
  });

  it('passes an offer not paid in time to the next entry that fits', async () => {
    const event = await soldOutEvent();
    const [first, second] = [await signUp(), await signUp()];
    await join(first.token, event.eventId, { quantity: 2, section: 'Back' });
    await join(second.token, event.eventId, { quantity: 2 });
    await api(`/api/bookings/${event.back}`, { method: 'DELETE', token: event.holder.token });
    const [firstOffer] = await myEntries(first.token);

    await runOut(event.eventId, firstOffer!.offer!.bookingId);

    expect((await myEntries(first.token))[0]).toMatchObject({ status: 'expired' });
    const [secondOffer] = await myEntries(second.token);
    expect(secondOffer).toMatchObject({ status: 'offered' });
    expect(secondOffer!.offer!.bookingId).not.toBe(firstOffer!.offer!.bookingId);
    const late = await api(`/api/bookings/${firstOffer!.offer!.bookingId}/pay`, { method: 'POST', token: first.token, json: { paymentDetails: { paymentMethodId: 'pm_card_visa' } } });
    expect(late.status).toBe(410);
  });

  it('lets a person leave, and an offer they held goes to the next', async () => {
    const event = await soldOutEvent();
    const [first, second] = [await signUp(), await signUp()];
    await join(first.token, event.eventId, { quantity: 2, section: 'Back' });
    await join(second.token, event.eventId, { quantity: 1, section: 'Back' });
    await api(`/api/bookings/${event.back}`, { method: 'DELETE', token: event.holder.token });

    const left = await api(`/api/events/${event.eventId}/waitlist`, { method: 'DELETE', token: first.token });
    const again = await api(`/api/events/${event.eventId}/waitlist`, { method: 'DELETE', token: first.token });

    expect([left.status, again.status]).toEqual([204, 404]);
    expect((await myEntries(first.token))[0]).toMatchObject({ status: 'left' });
    expect((await myEntries(second.token))[0]).toMatchObject({ status: 'offered' });
  });

  it("offers the seats of a booking an organizer refunded and put back on sale", async () => {
    const event = await soldOutEvent();
    const fan = await signUp();
    const paid = await api(`/api/bookings/${event.back}/pay`, { method: 'POST', token: event.holder.token, json: { paymentDetails: { paymentMethodId: 'pm_card_visa' } } });
    expect(paid.status).toBe(200);
    await join(fan.token, event.eventId, { quantity: 2, section: 'Back' });

    const refunded = await api(`/api/admin/bookings/${event.back}/refund`, { method: 'POST', token: admin, json: { releaseSeats: true } });

    expect(refunded.status).toBe(200);
    const [offered] = await myEntries(fan.token);
    expect(offered).toMatchObject({ status: 'offered' });
    const offer = (await (await api(`/api/bookings/${offered!.offer!.bookingId}`, { token: fan.token })).json()) as { tickets: Array<{ section: string }> };
    expect(offer.tickets.map((t) => t.section)).toEqual(['Back', 'Back']);
  });

  it('tells the person offered places, through the outbox', async () => {
    const event = await soldOutEvent();
    const fan = await signUp();
    await join(fan.token, event.eventId, { quantity: 1 });
    await api(`/api/bookings/${event.back}`, { method: 'DELETE', token: event.holder.token });
    const [offered] = await myEntries(fan.token);

    // Written to the outbox after the turn that made the offer.
    let sent: Array<{ data: { bookingId: string } }> = [];
    for (let tries = 0; tries < 100 && sent.length === 0; tries++) {
      const response = await api(`/api/dev/outbox?email=${encodeURIComponent(fan.user.email)}&kind=waitlist_offer`, { token: admin });
      sent = ((await response.json()) as { notifications: typeof sent }).notifications;
      if (!sent.length) await new Promise((resolve) => setTimeout(resolve, 50));
    }

    expect(sent).toHaveLength(1);
    expect(sent[0]!.data.bookingId).toBe(offered!.offer!.bookingId);
  });

  it('refuses bad input and changes nothing', async () => {
    const event = await soldOutEvent();
    const fan = await signUp();
    for (const body of [{ quantity: 0 }, { quantity: 11 }, { quantity: '2' }, {}, { quantity: 1, section: 'Balcony' }, { quantity: 1, section: 'constructor' }, { quantity: 1, section: '__proto__' }]) {
      const response = await join(fan.token, event.eventId, body);
      expect(response.status).toBe(400);
      expect(response.body.error?.code).toBe('validation_failed');
    }
    expect((await api(`/api/events/${event.eventId}/waitlist`, { method: 'POST', json: { quantity: 1 } })).status).toBe(401);
    expect((await join(fan.token, '00000000-0000-4000-8000-000000000000', { quantity: 1 })).status).toBe(404);
    expect(await myEntries(fan.token)).toEqual([]);
  });
});
