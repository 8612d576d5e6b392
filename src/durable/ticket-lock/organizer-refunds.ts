// The organizer's refunds of an event (API.md, "Cancellation and refunds"): a cancelled event
// refunds every booking, and an admin may refund one. Postgres says which bookings still owe money
// (bookings.refund_pending_cents > 0, src/db/refunds.ts); this module pays them through the
// payment provider a batch per alarm run, and what fails (Postgres or the provider) is tried again
// with growing waits. The TicketLock keeps its own rows in step: refunded bookings, and seats that
// go back on sale.
//
// The sweep's state is two meta rows: when it is next due ('refund_sweep_at') and where the pass
// over the owed bookings has got to ('refund_sweep_after', a booking id). A pass that had failures
// starts again from the beginning after a wait. Within an instance one sweep runs at a time; the
// provider gives a payment back once however often it is asked (the test provider by reference,
// Stripe by idempotency key), so a sweep cut short and run again never pays twice.
import type { Bindings } from '../../env';
import { withDb } from '../../db/client';
import { eventStatus, owedRefunds, settleRefund, markEventRefundsOwed, type OwedRefundRow } from '../../db/refunds';
import { paymentProviderFor } from '../../payments';
import type { SeatLog } from './seat-log';

/** Refunds paid per alarm run (80,000 bookings are many runs, never one). */
export const REFUND_BATCH = 25;
const RETRY_BASE_MS = 5_000;
const RETRY_MAX_MS = 15 * 60 * 1000;
/** A cancelled event whose confirmations are still being written looks again for bookings to refund. */
const LATE_SALES_CHECK_MS = 30_000;
/** When a refund being made owed is swept if its caller never gets to say it was. */
const SAFETY_NET_MS = 30_000;

export interface OrganizerRefundDeps {
  sql: SqlStorage;
  env: Bindings;
  seatLog: SeatLog;
  armAlarm(): void;
  /** Whether the event is cancelled (as Postgres last told). */
  cancelled(): boolean;
  /** Postgres says the event is cancelled and this object did not know (a cancel whose answer was lost). */
  learnCancelled(now: number): void;
  /** Tickets came back on sale (the waiting list offers them). */
  seatsReturned(now: number): void;
}

export class OrganizerRefunds {
  private running: Promise<void> | null = null;
  /** A refund was made owed while a sweep ran (it may have read the owed list before): sweep again. */
  private again = false;

  constructor(private readonly deps: OrganizerRefundDeps) {}

  /** When the sweep is next due (for the alarm), or null. */
  nextAt(): number | null {
    const value = this.meta('refund_sweep_at');
    return value === null ? null : Number(value);
  }

  /**
   * Before a refund is made owed in Postgres: a sweep a little later, in case the caller never
   * hears that it was (a sweep now could read the owed list before the commit and find nothing;
   * the caller makes it due at once after the commit).
   */
  scheduleSafetyNet(now: number): void {
    this.schedule(now + SAFETY_NET_MS);
  }

  /** Makes the sweep due at `at` at the latest. */
  schedule(at: number): void {
    const current = this.nextAt();
    if (current === null || at < current) this.setMeta('refund_sweep_at', String(at));
    if (this.running) this.again = true;
    this.deps.armAlarm();
  }

  /**
   * The booking is refunded (Postgres decided it): shown as refunded from now on; with its seats
   * released (all it still has here, or the ones named) they are no longer sold here, and the
   * seat log shows them free. Safe to run again.
   */
  applyRefund(bookingId: string, seatsReleased: boolean | { ticketIds: string[] }, now: number): void {
    const { sql } = this.deps;
    // 'transferring': a transfer of it is being written; Postgres put the refund first (the transfer
    // then finds it refunded and restores only a booking still 'transferring') or after it.
    sql.exec(`UPDATE bookings SET status = 'refunded' WHERE booking_id = ? AND status IN ('confirmed', 'transferring')`, bookingId);
    if (!seatsReleased) return;
    // By booking_tickets (a booking's few rows), then each ticket by its key: no scan of the venue.
    // Named: exactly the tickets Postgres put back on sale (a transfer out of the booking that
    // Postgres took first but this object has not applied yet keeps its tickets sold).
    const named = typeof seatsReleased === 'object' ? new Set(seatsReleased.ticketIds) : null;
    const released = sql
      .exec<{ ticket_id: string }>(
        `SELECT t.ticket_id FROM booking_tickets bt JOIN tickets t ON t.ticket_id = bt.ticket_id WHERE bt.booking_id = ? AND t.sold_to_booking = ?`,
        bookingId, bookingId,
      )
      .toArray()
      .filter((row) => !named || named.has(row.ticket_id));
    for (const { ticket_id } of released) {
      sql.exec(`UPDATE tickets SET sold_to_booking = NULL, sold_to_user = NULL WHERE ticket_id = ?`, ticket_id);
      sql.exec(`DELETE FROM holds WHERE ticket_id = ? AND booking_id = ?`, ticket_id, bookingId);
      this.deps.seatLog.record(ticket_id, 'available', now);
    }
    if (released.length) this.deps.seatsReturned(now);
  }

  /**
   * The event was cancelled: every booking confirmed here (or whose tickets were all transferred:
   * its payer is refunded) shows as refunded. One statement; cancelling is rare.
   */
  applyCancellation(): void {
    this.deps.sql.exec(`UPDATE bookings SET status = 'refunded' WHERE status IN ('confirmed', 'transferred')`);
  }

  /** Runs the sweep if it is due (the alarm calls this); one at a time per instance. */
  async runIfDue(eventId: string, now: number): Promise<void> {
    const at = this.nextAt();
    if (at === null || at > now) return;
    this.running ??= this.sweep(eventId).finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.schedule(Date.now());
      }
    });
    await this.running;
  }

  private async sweep(eventId: string): Promise<void> {
    const after = this.meta('refund_sweep_after') ?? '';
    // Due again after the lease unless this run settles it: an instance that dies mid-way leaves it to the alarm.
    this.setMeta('refund_sweep_at', String(Date.now() + 60_000));
    this.deps.armAlarm();
    let batch: OwedRefundRow[] = [];
    let failures = Number(this.meta('refund_sweep_failures') ?? '0');
    try {
      // One session for the batch: read, then pay and settle each (a failure is that booking's alone).
      await withDb(this.deps.env, async (db) => {
        if (after === '') {
          // A pass starts from what Postgres says of the event: a cancel whose answer was lost (or
          // that failed between the event and its refunds) is finished here, and a confirmation
          // written after the cancellation (it was in flight) is refunded too.
          const cancelled = this.deps.cancelled() || (await eventStatus(db, eventId)) === 'cancelled';
          if (cancelled) {
            await markEventRefundsOwed(db, eventId);
            if (!this.deps.cancelled()) {
              this.deps.learnCancelled(Date.now());
              this.applyCancellation();
            }
          }
        }
        batch = await owedRefunds(db, eventId, after, REFUND_BATCH);
        for (const owed of batch) {
          this.applyRefund(owed.bookingId, owed.seatsReleased, Date.now());
          try {
            await this.payBack(owed);
            await settleRefund(db, owed.bookingId, owed.amountCents);
          } catch (error) {
            console.warn(`refund of booking ${owed.bookingId} failed; retrying later`, error);
            failures++;
          }
        }
      });
    } catch (error) {
      console.warn(`owed refunds of event ${eventId} not read; retrying`, error);
      this.failed();
      return;
    }
    const now = Date.now();
    if (batch.length === REFUND_BATCH) {
      // More to pay: the next batch at once, in the next alarm run.
      this.setMeta('refund_sweep_after', batch[batch.length - 1]!.bookingId);
      this.setMeta('refund_sweep_failures', String(failures));
      this.setMeta('refund_sweep_at', String(now));
    } else if (failures > 0) {
      this.failed();
      return;
    } else {
      this.deleteMeta('refund_sweep_after');
      this.deleteMeta('refund_sweep_failures');
      this.deleteMeta('refund_sweep_attempts');
      const stillWriting = this.deps.cancelled() && this.deps.sql.exec(`SELECT 1 FROM bookings WHERE write_pending = 1 LIMIT 1`).toArray().length > 0;
      if (stillWriting) this.setMeta('refund_sweep_at', String(now + LATE_SALES_CHECK_MS));
      else this.deleteMeta('refund_sweep_at');
    }
    this.deps.armAlarm();
  }

  /** Asks the provider for the money back (nothing to ask for a booking that cost nothing). */
  private async payBack(owed: OwedRefundRow): Promise<void> {
    if (owed.amountCents <= 0 || !owed.paymentReference) return;
    const provider = paymentProviderFor(this.deps.env);
    if (provider.name !== owed.paymentProvider) throw new Error(`${owed.paymentReference} was paid through ${owed.paymentProvider}, but this server pays through ${provider.name}`);
    await provider.refund(owed.paymentReference, owed.amountCents);
  }

  /** A pass with failures: the whole pass again after a growing wait. */
  private failed(): void {
    const attempts = Number(this.meta('refund_sweep_attempts') ?? '0') + 1;
    const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(attempts - 1, 20));
    this.setMeta('refund_sweep_attempts', String(attempts));
    this.deleteMeta('refund_sweep_after');
    this.deleteMeta('refund_sweep_failures');
    this.setMeta('refund_sweep_at', String(Date.now() + delay));
    this.deps.armAlarm();
  }

  private meta(key: string): string | null {
    return this.deps.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = ?`, key).toArray()[0]?.value ?? null;
  }

  private setMeta(key: string, value: string): void {
    this.deps.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)`, key, value);
  }

  private deleteMeta(key: string): void {
    this.deps.sql.exec(`DELETE FROM meta WHERE key = ?`, key);
  }
}
