// Best available's scoring (src/durable/ticket-lock/best-available.ts), as pure functions over the
// packed availability array: no TicketLock, no database.
import { describe, expect, it } from 'vitest';
import { NOT_FOR_SALE, SEAT_CODES, setSeatCode, type SeatCode } from '../../../src/durable/ticket-lock/availability';
import { fitMasks, SeatRows, type BestRequest, type RowLayout } from '../../../src/durable/ticket-lock/best-available';

/**
 * A venue drawn as text: each row a string, `.` a free seat, `h` held, `b` sold, ` ` no seat for
 * sale. Seat indexes follow sections, rows and seats in order, as the seat map's do.
 */
function venue(sections: Array<{ name: string; priceCents: number; rows: string[] }>) {
  const layout: RowLayout[] = [];
  const codes: SeatCode[] = [];
  const names: string[] = [];
  for (const section of sections) {
    section.rows.forEach((seats, r) => {
      const row = String.fromCharCode(65 + r);
      layout.push({ section: section.name, row, first: codes.length, last: codes.length + seats.length - 1, priceCents: section.priceCents });
      [...seats].forEach((seat, s) => {
        codes.push(seat === '.' ? SEAT_CODES.available : seat === 'h' ? SEAT_CODES.reserved : seat === 'b' ? SEAT_CODES.booked : NOT_FOR_SALE);
        names.push(`${section.name} ${row}${s + 1}`);
      });
    });
  }
  const statuses = new Uint8Array(Math.ceil(codes.length / 4)).fill(0xff);
  codes.forEach((code, i) => setSeatCode(statuses, i, code));
  const rows = new SeatRows(layout, statuses);
  return {
    rows,
    statuses,
    /** The seats chosen, by name (null: nothing fits). */
    best: (request: BestRequest) => rows.choose(statuses, request)?.map((i) => names[i]!) ?? null,
    /** Changes a seat as the TicketLock does: the array, then the free counts. */
    set(seatIndex: number, code: SeatCode, before: SeatCode) {
      setSeatCode(statuses, seatIndex, code);
      rows.seatChanged(seatIndex, before, code);
    },
  };
}

describe('best available', () => {
  it('takes the seats nearest the centre of the first row', () => {
    const hall = venue([{ name: 'Floor', priceCents: 5000, rows: ['..........', '..........'] }]);

    expect(hall.best({ quantity: 2 })).toEqual(['Floor A5', 'Floor A6']);
    // Two seats equally near the centre: the lower one.
    expect(hall.best({ quantity: 1 })).toEqual(['Floor A5']);
    expect(hall.best({ quantity: 3 })).toEqual(['Floor A4', 'Floor A5', 'Floor A6']);
  });

  it('takes quantity 1 to 10 as one block centred in a row of 50', () => {
    const hall = venue([{ name: 'Floor', priceCents: 5000, rows: ['.'.repeat(50)] }]);

    for (let quantity = 1; quantity <= 10; quantity += 1) {
      const start = Math.floor((50 - quantity) / 2);
      expect(hall.best({ quantity }), `quantity ${quantity}`).toEqual(Array.from({ length: quantity }, (_, i) => `Floor A${start + i + 1}`));
    }
  });

  it('leaves no single empty seat beside the block when a block that does not is possible in the row', () => {
    // Seven free: five centred (2…6) would leave seats 1 and 7 alone; 1…5 leaves 6 and 7 together.
    const hall = venue([{ name: 'Floor', priceCents: 5000, rows: ['.......'] }]);

    expect(hall.best({ quantity: 5 })).toEqual(['Floor A1', 'Floor A2', 'Floor A3', 'Floor A4', 'Floor A5']);
  });

  it('moves back a row rather than leave a single empty seat, and leaves one only when no row can avoid it', () => {
    // Row A: four free between sold seats, so any three leave one; row B fits three cleanly.
    const hall = venue([{ name: 'Floor', priceCents: 5000, rows: ['bb....bb', '........'] }]);

    expect(hall.best({ quantity: 3 })).toEqual(['Floor B3', 'Floor B4', 'Floor B5']);
    expect(hall.best({ quantity: 4 })).toEqual(['Floor A3', 'Floor A4', 'Floor A5', 'Floor A6']);

    const full = venue([{ name: 'Floor', priceCents: 5000, rows: ['bb....bb', 'bb....hh'] }]);
    // Nowhere without leaving one: the first row's block nearest the centre.
    expect(full.best({ quantity: 3 })).toEqual(['Floor A3', 'Floor A4', 'Floor A5']);
  });

  it('prefers the dearer section, then rows in order across equally priced sections', () => {
    const hall = venue([
      { name: 'Left', priceCents: 5000, rows: ['bbbbbb', '......'] },
      { name: 'Right', priceCents: 5000, rows: ['......', '......'] },
      { name: 'Box', priceCents: 9000, rows: ['.hh.'] },
    ]);

    // The Box is dearest but has no two adjacent seats: across its row is the last resort.
    expect(hall.best({ quantity: 1 })).toEqual(['Box A1']);
    // Row A of Right is nearer the stage than row B of Left.
    expect(hall.best({ quantity: 2 })).toEqual(['Right A3', 'Right A4']);
  });

  it('falls back to the best seats of one section across rows', () => {
    const hall = venue([
      // Three free in all: not enough here.
      { name: 'Box', priceCents: 9000, rows: ['.b.', '.bb'] },
      // Two free in each row, never adjacent.
      { name: 'Floor', priceCents: 5000, rows: ['.b.b.', 'b.b.b', '.bbb.'] },
    ]);

    // Row A's free seats nearest its centre (A3, then A1 and A5 equally near: the lower), then row B's.
    expect(hall.best({ quantity: 4 })).toEqual(['Floor A1', 'Floor A3', 'Floor A5', 'Floor B2']);
    expect(hall.best({ quantity: 3 })).toEqual(['Box A1', 'Box A3', 'Box B1']);
    expect(hall.best({ quantity: 8 })).toBeNull();
  });

  it('keeps to the section named and to sections within maxPriceCents', () => {
    const hall = venue([
      { name: 'Floor', priceCents: 5000, rows: ['......', '......'] },
      { name: 'Balcony', priceCents: 6000, rows: ['......'] },
    ]);

    expect(hall.best({ quantity: 2 })).toEqual(['Balcony A3', 'Balcony A4']);
    expect(hall.best({ quantity: 2, maxPriceCents: 5999 })).toEqual(['Floor A3', 'Floor A4']);
    expect(hall.best({ quantity: 2, maxPriceCents: 6000 })).toEqual(['Balcony A3', 'Balcony A4']);
    expect(hall.best({ quantity: 2, section: 'Floor' })).toEqual(['Floor A3', 'Floor A4']);
    expect(hall.best({ quantity: 2, section: 'Balcony', maxPriceCents: 5000 })).toBeNull();
    expect(hall.best({ quantity: 1, maxPriceCents: 4999 })).toBeNull();
    expect(hall.best({ quantity: 1, section: 'Stalls' })).toBeNull();
    // Across rows stays within the filters too: the Balcony has six seats, the Floor twelve.
    expect(hall.best({ quantity: 7, section: 'Balcony' })).toBeNull();
    const acrossRows = hall.best({ quantity: 7 });
    expect(acrossRows).toHaveLength(7);
    expect(acrossRows!.every((seat) => seat.startsWith('Floor '))).toBe(true);
  });

  it('never joins seats across a gap in the row, nor held or sold seats', () => {
    const hall = venue([{ name: 'Floor', priceCents: 5000, rows: ['.. ..', '.h.b.', '...'] }]);

    expect(hall.best({ quantity: 3 })).toEqual(['Floor C1', 'Floor C2', 'Floor C3']);
  });

  it('keeps each row\'s free count with every seat change, and skips rows by it', () => {
    const hall = venue([{ name: 'Floor', priceCents: 5000, rows: ['hhhhhh', '......'] }]);
    expect(hall.best({ quantity: 2 })).toEqual(['Floor B3', 'Floor B4']);

    // Row A's holds end: its count goes up, and it is nearest the stage.
    for (let seat = 0; seat < 6; seat += 1) hall.set(seat, SEAT_CODES.available, SEAT_CODES.reserved);
    expect(hall.best({ quantity: 2 })).toEqual(['Floor A3', 'Floor A4']);

    // Every seat taken: nothing fits, and the counts say so without reading a seat.
    for (let seat = 0; seat < 12; seat += 1) hall.set(seat, SEAT_CODES.booked, SEAT_CODES.available);
    expect(hall.best({ quantity: 1 })).toBeNull();
    // A change between two taken codes moves nothing.
    hall.rows.seatChanged(0, SEAT_CODES.booked, SEAT_CODES.reserved);
    expect(hall.best({ quantity: 1 })).toBeNull();
  });

  it('reads a row again after any of its seats changed, not before', () => {
    const hall = venue([{ name: 'Floor', priceCents: 5000, rows: ['.h.h..', '......'] }]);
    // Row A has four free seats but no three adjacent: row B (and row A's fits are now known).
    expect(hall.best({ quantity: 3 })).toEqual(['Floor B1', 'Floor B2', 'Floor B3']);

    hall.set(1, SEAT_CODES.available, SEAT_CODES.reserved);
    hall.set(3, SEAT_CODES.available, SEAT_CODES.reserved);

    expect(hall.best({ quantity: 3 })).toEqual(['Floor A1', 'Floor A2', 'Floor A3']);
  });

  it('knows which quantities a row fits, and which of them leave no single seat', () => {
    const { statuses } = venue([{ name: 'Floor', priceCents: 5000, rows: ['...h.b....'] }]);
    const masks = fitMasks(statuses, { first: 0, last: 9 });
    const fits = (quantity: number) => ({ clean: Boolean(masks & (1 << quantity)), any: Boolean(masks & (1 << (16 + quantity))) });

    // Runs of 3, 1 and 4 free seats.
    expect(fits(1)).toEqual({ clean: true, any: true });
    expect(fits(2)).toEqual({ clean: true, any: true });
    expect(fits(3)).toEqual({ clean: true, any: true });
    expect(fits(4)).toEqual({ clean: true, any: true });
    expect(fits(5)).toEqual({ clean: false, any: false });
    // A run of four takes three only by leaving one.
    const four = fitMasks(venue([{ name: 'Floor', priceCents: 5000, rows: ['....'] }]).statuses, { first: 0, last: 3 });
    expect([1, 2, 3, 4].map((quantity) => Boolean(four & (1 << quantity)))).toEqual([true, true, false, true]);
  });
});
