// Admission pacing: how many people a tick lets in, and what the line is told to expect.
import type { QueueSettings } from '../../queue/settings';
import type { RoomSql } from './room-sql';
import type { Inventory } from './types';

/** Admission ticks while anyone waits: positions go out at most this often. */
export const TICK_MS = 1000;
/** Admissions are measured over this window for the ETA. */
export const RATE_WINDOW_MS = 60 * 1000;

export interface Credit {
  /** Admissions saved up (fractional), after the time since the last tick is added. */
  credit: number;
  /** How many this tick may let in, before counting who is waiting. */
  slots: number;
}

/**
 * Credit accrues with time at the configured rate; at most ten seconds' worth is saved up. A tick
 * lets in no more than its whole credit, `maxActive` less the active shoppers, and the seats free to
 * hold less the active shoppers (a held seat is no more for sale than a sold one). Not knowing the
 * inventory yet (its TicketLock could not load), nobody could book anyway: no one is let in.
 */
export function admissionCredit(settings: QueueSettings, saved: number, lastTickAt: number, now: number, active: number, inventory: Inventory | null): Credit {
  const perMs = settings.admitPerMinute / 60_000;
  const cap = Math.max(1, settings.admitPerMinute / 6);
  const credit = Math.min(cap, saved + Math.max(0, now - lastTickAt) * perMs);
  const free = inventory ? inventory.total - inventory.sold - inventory.held : 0;
  const slots = Math.max(0, Math.min(Math.floor(credit), settings.maxActive - active, free - active));
  return { credit, slots };
}

/**
 * Remembers a tick's admissions for the ETA's rate: one row per tick that let anyone in, and rows
 * older than the window dropped, so the rate is a sum over about sixty rows however fast the line
 * moves (a count of admitted entries read every admission of the last minute, each tick).
 */
export function recordAdmissions(db: RoomSql, now: number, admitted: number): void {
  if (admitted === 0) return;
  db.run(`INSERT INTO admission_ticks (at, admitted) VALUES (?, ?) ON CONFLICT (at) DO UPDATE SET admitted = admitted + excluded.admitted`, now, admitted);
  if (db.meta('first_admission_at') === null) db.setMeta('first_admission_at', String(now));
  db.run(`DELETE FROM admission_ticks WHERE at <= ?`, now - RATE_WINDOW_MS);
}

/** Admissions per second, measured over the last minute (the configured rate until there is a measure). */
export function admissionRate(db: RoomSql, settings: QueueSettings, now: number): number {
  const recorded = db.meta('first_admission_at');
  // (A room that admitted people before admission_ticks existed: its earliest admission, from the index.)
  const firstAdmission = recorded !== null ? Number(recorded) : db.first<{ at: number | null }>(`SELECT min(admitted_at) AS at FROM entries`)!.at;
  if (firstAdmission === null || now - firstAdmission < 5000) return settings.admitPerMinute / 60;
  const window = Math.min(RATE_WINDOW_MS, now - firstAdmission);
  const admitted = db.first<{ n: number | null }>(`SELECT sum(admitted) AS n FROM admission_ticks WHERE at > ?`, now - window)!.n ?? 0;
  return (admitted * 1000) / window;
}

export function etaSeconds(position: number, perSecond: number): number | null {
  return perSecond > 0 ? Math.ceil(position / perSecond) : null;
}

export function lobbyOpensAt(settings: QueueSettings): number {
  return settings.onSaleAt - settings.lobbyMinutes * 60_000;
}
