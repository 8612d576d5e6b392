// Shared by the organizer refund tests (admin-cancel, admin-refund): buying, the provider's record
// of refunds, and running the TicketLock's alarm until the refunds Postgres says are owed are paid.
import { expect } from 'vitest';
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { api, env } from '../helpers';
import { testPaymentRecord } from '../../src/payments/test-provider';

export interface Booking {
  bookingId: string;
  status: string;
  eventId: string;
  ticketIds: string[];
  tickets: Array<{ id: string; code: string | null }>;
  totalCents: number;
  refunded: boolean;
}

export interface Sales {
  sold: number;
  held: number;
  available: number;
  revenueCents: number;
  refundedCents: number;
  refundsPending: number;
  currency: string;
}

export async function buy(token: string, eventId: string, ticketIds: string[], paymentMethodId = 'pm_card_visa'): Promise<Booking> {
  const response = await api(`/api/bookings/${eventId}`, { method: 'POST', token, json: { ticketIds, paymentDetails: { paymentMethodId } } });
  expect(response.status).toBe(201);
  const booking = (await response.json()) as Booking;
  expect(booking.status).toBe('confirmed');
  return booking;
}

export async function sales(admin: string, eventId: string): Promise<Sales> {
  const response = await api(`/api/admin/events/${eventId}/sales`, { token: admin });
  expect(response.status).toBe(200);
  return response.json();
}

/** The refunds the test provider paid for this booking's charges. */
export function refundsOfBooking(bookingId: string): Array<{ reference: string; amountCents: number }> {
  const references = new Set(testPaymentRecord.charges.filter((charge) => charge.bookingId === bookingId).map((charge) => charge.reference));
  return testPaymentRecord.refunds.filter((refund) => references.has(refund.reference));
}

/** Makes the refund sweep due now and runs the alarm, until no refund is owed (or `runs` runs). */
export async function payOwedRefunds(admin: string, eventId: string, runs = 20): Promise<number> {
  const lock = env.TICKET_LOCK.getByName(eventId);
  for (let run = 0; run < runs; run++) {
    if ((await sales(admin, eventId)).refundsPending === 0) return run;
    await runInDurableObject(lock, (_instance, state) => {
      state.storage.sql.exec(`UPDATE meta SET value = ? WHERE key = 'refund_sweep_at'`, String(Date.now() - 1));
    });
    await runDurableObjectAlarm(lock);
  }
  throw new Error(`refunds of ${eventId} still owed after ${runs} alarm runs`);
}

export async function scan(admin: string, code: string): Promise<string> {
  const response = await api('/api/admin/scan', { method: 'POST', token: admin, json: { code } });
  expect(response.status).toBe(200);
  return ((await response.json()) as { result: string }).result;
}

export async function outbox(admin: string, kind: string, email: string): Promise<Array<{ kind: string; to: string; body: string; data: Record<string, unknown> }>> {
  const response = await api(`/api/dev/outbox?kind=${kind}&email=${encodeURIComponent(email)}`, { token: admin });
  expect(response.status).toBe(200);
  return ((await response.json()) as { notifications: Array<{ kind: string; to: string; body: string; data: Record<string, unknown> }> }).notifications;
}
