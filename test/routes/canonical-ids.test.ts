// Invariant 7 (DESIGN.md): every id has one canonical spelling, and a Durable Object is addressed
// only by the catalog's own id. Another spelling names the same thing or is refused; it never
// reaches a second copy of an event's lock or line.
import { listDurableObjectIds, runInDurableObject } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { adminToken, api, createEvent, env, signUp, ticketIdsOf } from '../helpers';

const upper = (id: string) => id.toUpperCase();

describe('ids have one spelling', () => {
  let admin: string;
  let eventId: string;
  let tickets: string[];
  beforeAll(async () => {
    admin = await adminToken();
    ({ eventId } = await createEvent(admin, { sections: [{ name: 'Floor', rows: 1, seatsPerRow: 20 }], prices: { Floor: 3000 } }));
    tickets = await ticketIdsOf(eventId);
  });

  it('an event id in capitals shows the same event under its canonical id', async () => {
    const response = await api(`/api/events/${upper(eventId)}`);

    expect(response.status).toBe(200);
    const view = (await response.json()) as { event: { id: string } };
    expect(view.event.id).toBe(eventId);
  });

  it('a seat held through one spelling of the event id is held for every spelling', async () => {
    const first = await signUp();
    const second = await signUp();

    const held = await api(`/api/bookings/${eventId}`, { method: 'POST', token: first.token, json: { ticketIds: [tickets[0]] } });
    const raced = await api(`/api/bookings/${upper(eventId)}`, { method: 'POST', token: second.token, json: { ticketIds: [tickets[0]] } });

    expect(held.status).toBe(201);
    expect(raced.status).toBe(409);
    expect(((await raced.json()) as { error: { code: string } }).error.code).toBe('tickets_unavailable');
  });

  it('a booking made through capitals names the canonical event and is found by its owner', async () => {
    const buyer = await signUp();

    const held = await api(`/api/bookings/${upper(eventId)}`, { method: 'POST', token: buyer.token, json: { ticketIds: [tickets[1]] } });
    const booking = (await held.json()) as { bookingId: string; eventId: string };
    const found = await api(`/api/bookings/${booking.bookingId}`, { token: buyer.token });

    expect(held.status).toBe(201);
    expect(booking.eventId).toBe(eventId);
    expect(found.status).toBe(200);
  });

  it('the ticket limit counts holds made through every spelling', async () => {
    const buyer = await signUp();
    const limit = Number(env.MAX_TICKETS_PER_USER ?? 10);
    const mine = tickets.slice(2, 2 + limit);

    const lower = await api(`/api/bookings/${eventId}`, { method: 'POST', token: buyer.token, json: { ticketIds: mine.slice(0, limit - 1) } });
    const capitals = await api(`/api/bookings/${upper(eventId)}`, { method: 'POST', token: buyer.token, json: { ticketIds: [tickets[2 + limit]!, tickets[2 + limit - 1]!] } });

    expect(lower.status).toBe(201);
    expect(capitals.status).toBe(409);
    expect(((await capitals.json()) as { error: { code: string } }).error.code).toBe('ticket_limit');
  });

  it('ticket ids in capitals name the same tickets', async () => {
    const buyer = await signUp();
    const other = await signUp();
    const ticket = tickets[tickets.length - 1]!;

    const held = await api(`/api/bookings/${eventId}`, { method: 'POST', token: buyer.token, json: { ticketIds: [upper(ticket)] } });
    const raced = await api(`/api/bookings/${eventId}`, { method: 'POST', token: other.token, json: { ticketIds: [ticket] } });

    expect(held.status).toBe(201);
    expect(((await held.json()) as { ticketIds: string[] }).ticketIds).toEqual([ticket]);
    expect(raced.status).toBe(409);
  });

  it('an Idempotency-Key is honoured whatever the spelling of the event id', async () => {
    const buyer = await signUp();
    const { eventId: quiet } = await createEvent(admin, { sections: [{ name: 'Floor', rows: 1, seatsPerRow: 4 }], prices: { Floor: 1000 } });
    const [seat] = await ticketIdsOf(quiet);
    const request = { method: 'POST', token: buyer.token, json: { ticketIds: [seat] }, headers: { 'Idempotency-Key': 'same-key-1' } };

    const first = await api(`/api/bookings/${quiet}`, request);
    const replay = await api(`/api/bookings/${upper(quiet)}`, request);

    expect(first.status).toBe(201);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('Idempotent-Replayed')).toBe('true');
    expect(((await replay.json()) as { bookingId: string }).bookingId).toBe(((await first.json()) as { bookingId: string }).bookingId);
  });

  it('other spellings that are not a uuid are not found', async () => {
    for (const spelling of [`{${eventId}}`, eventId.replace(/-/g, ''), ` ${eventId}`, `${eventId}%20`, `urn:uuid:${eventId}`]) {
      const response = await api(`/api/events/${encodeURIComponent(spelling)}`);
      expect(response.status, spelling).toBe(404);
    }
  });

  it('a booking id of an event that does not exist creates no TicketLock', async () => {
    const buyer = await signUp();
    const ghostEvent = crypto.randomUUID();
    const ghostBooking = `${ghostEvent.replace(/-/g, '')}${crypto.randomUUID().replace(/-/g, '')}`;

    const response = await api(`/api/bookings/${ghostBooking}`, { token: buyer.token });
    const lockIds = (await listDurableObjectIds(env.TICKET_LOCK)).map((id) => id.toString());

    expect(response.status).toBe(404);
    expect(lockIds).not.toContain(env.TICKET_LOCK.idFromName(ghostEvent).toString());
  });

  it('an event id in capitals reaches the event’s own TicketLock, not a second one', async () => {
    await api(`/api/events/${upper(eventId)}`);

    const lockIds = (await listDurableObjectIds(env.TICKET_LOCK)).map((id) => id.toString());

    expect(lockIds).not.toContain(env.TICKET_LOCK.idFromName(upper(eventId)).toString());
  });
});

describe('Durable Objects refuse other spellings themselves', () => {
  it('a TicketLock named by an event id in capitals refuses to serve it', async () => {
    const eventId = crypto.randomUUID();

    const asked = runInDurableObject(env.TICKET_LOCK.getByName(upper(eventId)), (lock) => lock.holdCounts(upper(eventId)));

    await expect(asked).rejects.toThrow(/canonical event ids only/);
  });

  it('a TicketLock refuses an event other than the one it is named after', async () => {
    const eventId = crypto.randomUUID();

    const asked = runInDurableObject(env.TICKET_LOCK.getByName(eventId), (lock) => lock.holdCounts(crypto.randomUUID()));

    await expect(asked).rejects.toThrow(/canonical event ids only/);
  });
});
