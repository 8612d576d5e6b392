// Paths whose cost must not grow with the venue never load the event's seat list (the catalog
// document: 11 MB of JSON at 80,000 seats). They read the small event header, and seats come from
// the TicketLock. A path that loaded the document would leave it in the edge cache.
import { beforeAll, describe, expect, it } from 'vitest';
import { eventDocumentKey, eventHeaderKey } from '../../src/routes/events';
import { adminToken, api, createEvent, signUp } from '../helpers';

/** Long enough for a document loaded in the background of a request to reach the Cache API. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

describe('paths that never load the seat list', () => {
  let admin: string;
  beforeAll(async () => {
    admin = await adminToken();
  });

  it('a hold by seats, a booking read, a payment, the compact stream, the seat map and the availability', async () => {
    const { eventId } = await createEvent(admin);
    const buyer = await signUp();

    const held = await api(`/api/bookings/${eventId}`, { method: 'POST', token: buyer.token, json: { seats: [0, 1] } });
    expect(held.status).toBe(201);
    const { bookingId } = (await held.json()) as { bookingId: string };
    expect((await api(`/api/bookings/${bookingId}`, { token: buyer.token })).status).toBe(200);
    const paid = await api(`/api/bookings/${bookingId}/pay`, { method: 'POST', token: buyer.token, json: { paymentDetails: { paymentMethodId: 'pm_card_visa' } } });
    expect(paid.status).toBe(200);
    expect(((await paid.json()) as { tickets: Array<{ section: string }> }).tickets.map((t) => t.section)).toEqual(['Floor', 'Floor']);
    const stream = await api(`/api/events/${eventId}/seats/stream?format=compact`);
    expect(stream.status).toBe(200);
    await stream.body?.cancel();
    expect((await api(`/api/events/${eventId}/seatmap`)).status).toBe(200);
    expect((await api(`/api/events/${eventId}/availability`)).status).toBe(200);
    await settle();

    expect(await caches.default.match(eventHeaderKey(eventId))).toBeDefined();
    expect(await caches.default.match(eventDocumentKey(eventId))).toBeUndefined();
  });

  it('while the full view does load it (the check above can see a load)', async () => {
    const { eventId } = await createEvent(admin);

    expect((await api(`/api/events/${eventId}`)).status).toBe(200);
    await settle();

    expect(await caches.default.match(eventDocumentKey(eventId))).toBeDefined();
  });
});
