// Best available in standing areas (general admission): src/durable/ticket-lock/standing-places.ts
// and its use by SeatRows, as pure functions over the packed availability array.
import { describe, expect, it } from 'vitest';
import { SEAT_CODES, seatCodeAt, setSeatCode, type SeatCode } from '../../../src/durable/ticket-lock/availability';
import { SeatRows, type RowLayout } from '../../../src/durable/ticket-lock/best-available';
import { FreePlaces } from '../../../src/durable/ticket-lock/standing-places';

const { available: FREE, reserved: HELD, booked: SOLD } = SEAT_CODES;

/**
 * The stadium of the benchmarks with a standing floor in front: `floor` standing places (indexes
 * 0…floor − 1) at 9000, then 40 seated sections × 40 rows × 50 seats at 5000, 4999, ….
 */
function stadium(floor = 20_000) {
  const layout: RowLayout[] = [{ section: 'Floor', row: null, first: 0, last: floor - 1, priceCents: 9000 }];
  let next = floor;
  for (let section = 0; section < 40; section += 1) {
    for (let row = 0; row < 40; row += 1) {
      layout.push({ section: `S${section}`, row: `R${row}`, first: next, last: next + 49, priceCents: 5000 - section });
      next += 50;
    }
  }
  const seatCount = next;
  const bytes = new Uint8Array(Math.ceil(seatCount / 4));
  // Every read of the array counted: the proof that a choice does not read the area.
  let reads = 0;
  const statuses = new Proxy(bytes, {
    get(target, key) {
      if (typeof key === 'string' && /^\d+$/.test(key)) reads += 1;
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
    set(target, key, value) {
      return Reflect.set(target, key, value, target);
    },
  });
  const rows = new SeatRows(layout, statuses);
  return {
    seatCount,
    rows,
    statuses,
    reads: () => reads,
    set(seatIndex: number, code: SeatCode) {
      const before = seatCodeAt(bytes, seatIndex);
      setSeatCode(bytes, seatIndex, code);
      rows.seatChanged(seatIndex, before, code);
    },
    /** Chooses and holds what was chosen, as the TicketLock does. */
    take(request: Parameters<SeatRows['choose']>[1]): number[] | null {
      const chosen = rows.choose(statuses, request);
      for (const seat of chosen ?? []) this.set(seat, HELD);
      return chosen;
    },
  };
}

describe('FreePlaces', () => {
  it('takes the lowest free places first, skips taken ones and gives back freed ones', () => {
    const taken = new Set([11, 12]);
    const places = new FreePlaces(10, 19, (seat) => !taken.has(seat));

    expect(places.count).toBe(8);
    expect(places.take(3)).toEqual([10, 13, 14]);
    places.remove(10);
    places.remove(13);
    places.remove(13);
    expect(places.count).toBe(6);
    expect(places.take(2)).toEqual([14, 15]);
    places.add(12);
    places.add(12);
    expect(places.count).toBe(7);
    expect(places.take(7)!.sort((a, b) => a - b)).toEqual([12, 14, 15, 16, 17, 18, 19]);
    expect(places.take(8)).toBeNull();
  });
});

describe('best available in a standing area', () => {
  it('takes any free places of the area, the dearest section first, never a held or sold one', () => {
    const venue = stadium(100);
    venue.set(0, HELD);
    venue.set(1, SOLD);

    const chosen = venue.take({ quantity: 4 });

    expect(chosen).toEqual([2, 3, 4, 5]);
    // Within a price below the area's: seated sections.
    expect(venue.take({ quantity: 2, maxPriceCents: 5000 })!.every((seat) => seat >= 100)).toBe(true);
  });

  it('refuses when the area has fewer free places than asked, and offers them again once freed', () => {
    const venue = stadium(10);
    expect(venue.take({ quantity: 8, section: 'Floor' })).toHaveLength(8);

    expect(venue.take({ quantity: 3, section: 'Floor' })).toBeNull();
    expect(venue.take({ quantity: 2, section: 'Floor' })).toEqual([8, 9]);
    venue.set(4, FREE);
    venue.set(6, FREE);
    expect(venue.take({ quantity: 2, section: 'Floor' })).toEqual([4, 6]);
    expect(venue.take({ quantity: 1, section: 'Floor' })).toBeNull();
  });

  it('takes quantities past what row fit masks know (15) from the area as well', () => {
    const venue = stadium(40);

    expect(venue.take({ quantity: 15, section: 'Floor' })).toEqual(Array.from({ length: 15 }, (_, i) => i));
  });

  it('chooses from a 20,000-place area of an 80,000-seat venue without reading the area', () => {
    const venue = stadium();
    const first = venue.take({ quantity: 4, section: 'Floor' });
    expect(first).toEqual([0, 1, 2, 3]);

    // Half the floor held and a quarter freed again, in scattered places.
    for (let seat = 4; seat < 20_000; seat += 2) venue.set(seat, HELD);
    for (let seat = 4; seat < 20_000; seat += 8) venue.set(seat, FREE);
    const before = venue.reads();
    const choices = Array.from({ length: 1000 }, () => venue.take({ quantity: 10, section: 'Floor' }));
    const reads = venue.reads() - before;

    // 1,000 choices of 10 places: not one read of the array (a seated row would be read seat by seat).
    expect(reads).toBe(0);
    const all = choices.flatMap((chosen) => chosen!);
    expect(new Set(all).size).toBe(10_000);
    expect(all.every((seat) => seat < 20_000)).toBe(true);
  });
});
