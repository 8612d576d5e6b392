// Where each of the TicketLock's tickets is: its seat index (API.md, the seat map) and the name of
// its seat. Learnt with the tickets from Postgres; objects that loaded before these columns existed
// learn them once more (relearn), without touching what they know of holds and sales.
import type { TicketPlace } from '../../db/inventory';

const LEARNT = 'seat_index_learnt';

export class SeatPlaces {
  constructor(private readonly sql: SqlStorage) {}

  /** Whether every ticket's place is known (loaded with it, or relearnt since). */
  learnt(): boolean {
    return this.sql.exec(`SELECT 1 FROM meta WHERE key = ?`, LEARNT).toArray().length > 0;
  }

  markLearnt(): void {
    this.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES (?, '1')`, LEARNT);
  }

  /**
   * Writes the places of tickets this object already has. UPDATE only: a ticket's sale, price and
   * holds stay as this object decided them, whatever Postgres said while the places were read.
   */
  relearn(places: Array<{ id: string } & TicketPlace>): void {
    for (const place of places) {
      this.sql.exec(
        `UPDATE tickets SET seat_index = ?, section = ?, row_name = ?, seat_number = ? WHERE ticket_id = ?`,
        place.seatIndex, place.section, place.row, place.seat, place.id,
      );
    }
    this.markLearnt();
  }

  /** The ticket at each seat index, in the order asked (by index: a few rows, whatever the venue's size); `unknown` lists indexes without one. */
  ticketIdsAt(seats: number[]): { ticketIds: string[]; unknown: number[] } {
    const ticketIds: string[] = [];
    const unknown: number[] = [];
    for (const seat of seats) {
      const row = this.sql.exec<{ ticket_id: string }>(`SELECT ticket_id FROM tickets WHERE seat_index = ?`, seat).toArray()[0];
      if (row) ticketIds.push(row.ticket_id);
      else unknown.push(seat);
    }
    return { ticketIds, unknown };
  }
}
