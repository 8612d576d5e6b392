// An organizer's refunds while Postgres is away (the `database-faults` project's own outage,
// test/faults.ts): a refund asked for during the outage is refused and changes nothing; a refund
// owed in Postgres whose sweep finds Postgres gone stays owed and is paid, once, when it is back.
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { withDb } from '../../src/db/client';
import { refundBookingInPostgres } from '../../src/db/refunds';
import { testPaymentRecord } from '../../src/payments/test-provider';
import { adminToken, api, createEvent, env, ticketIdsOf } from '../helpers';
import { browsingBuyer, clearFaults, observer, setDatabaseDown } from '../faults';

interface Booking {
  bookingId: string;
  status: string;
  totalCents: number;
}

const refundsOf = (bookingId: string) => {
  const references = new Set(testPaymentRecord.charges.filter((charge) => charge.bookingId === bookingId).map((charge) => charge.reference));
  return testPaymentRecord.refunds.filter((refund) => references.has(refund.reference));
};

const owed = async (bookingId: string) =>
  withDb(observer, async (db) => (await db.execute(sql`select status, refund_pending_cents, refunded_cents from bookings where id = ${bookingId}`)).rows[0]);

const sweepNow = (eventId: string) =>
  runInDurableObject(env.TICKET_LOCK.getByName(eventId), (_instance, state) => {
    state.storage.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('refund_sweep_at', ?)`, String(Date.now() - 1));
  });

describe('organizer refunds while Postgres is down', () => {
  let admin: string;
  beforeAll(async () => {
    admin = await adminToken();
  });
  afterEach(async () => {
    await clearFaults();
  });

  async function confirmedBooking() {
    const { eventId } = await createEvent(admin);
    const [ticket] = await ticketIdsOf(eventId);
    const buyer = await browsingBuyer();
    const response = await api(`/api/bookings/${eventId}`, { method: 'POST', token: buyer.token, json: { ticketIds: [ticket], paymentDetails: { paymentMethodId: 'pm_card_visa' } } });
    expect(response.status).toBe(201);
    // The admin's session was checked a moment ago, as a signed-in organizer's is.
    expect((await api('/api/me', { token: admin })).status).toBe(200);
    return { eventId, buyer, booking: (await response.json()) as Booking };
  }

  it('a refund asked for while Postgres is down answers 503 and refunds nothing', async () => {
    const { booking, buyer } = await confirmedBooking();
    await setDatabaseDown(true);
    const response = await api(`/api/admin/bookings/${booking.bookingId}/refund`, { method: 'POST', token: admin, json: { releaseSeats: true } });
    expect(response.status).toBe(503);
    expect(response.headers.get('Retry-After')).toBe('5');
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unavailable');
    expect(await owed(booking.bookingId)).toMatchObject({ status: 'confirmed', refund_pending_cents: 0, refunded_cents: 0 });
    await setDatabaseDown(false);
    expect(await (await api(`/api/bookings/${booking.bookingId}`, { token: buyer.token })).json()).toMatchObject({ status: 'confirmed', refunded: false });
    expect(refundsOf(booking.bookingId)).toEqual([]);
  });

  it('an owed refund whose sweep finds Postgres down stays owed, and is paid once when it is back', async () => {
    const { eventId, booking } = await confirmedBooking();
    // Owed in Postgres (as the refund route writes it), then the sweep runs during an outage.
    await withDb(observer, (db) => refundBookingInPostgres(db, { bookingId: booking.bookingId, releaseSeats: false }));
    await setDatabaseDown(true);
    await sweepNow(eventId);
    await runDurableObjectAlarm(env.TICKET_LOCK.getByName(eventId));
    expect(refundsOf(booking.bookingId)).toEqual([]);
    const retry = await runInDurableObject(env.TICKET_LOCK.getByName(eventId), async (_instance, state) => ({
      at: Number(state.storage.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'refund_sweep_at'`).one().value),
      alarm: await state.storage.getAlarm(),
    }));
    // Tried again later, and the alarm is set for it.
    expect(retry.at).toBeGreaterThan(Date.now());
    expect(retry.alarm).toBeLessThanOrEqual(retry.at);
    expect(await owed(booking.bookingId)).toMatchObject({ status: 'refunded', refund_pending_cents: booking.totalCents, refunded_cents: 0 });

    await setDatabaseDown(false);
    await sweepNow(eventId);
    await runDurableObjectAlarm(env.TICKET_LOCK.getByName(eventId));
    expect(refundsOf(booking.bookingId)).toEqual([expect.objectContaining({ amountCents: booking.totalCents })]);
    expect(await owed(booking.bookingId)).toMatchObject({ status: 'refunded', refund_pending_cents: 0, refunded_cents: booking.totalCents });
    // The booking shows refunded in its TicketLock too, though the route never told it.
    expect((await env.TICKET_LOCK.getByName(eventId).getBooking(eventId, booking.bookingId))?.status).toBe('refunded');

    // Another run pays nothing more.
    await sweepNow(eventId);
    await runDurableObjectAlarm(env.TICKET_LOCK.getByName(eventId));
    expect(refundsOf(booking.bookingId)).toHaveLength(1);
  });
});
