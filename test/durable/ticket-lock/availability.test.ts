// The availability encoding of API.md: 2 bits a seat, seat i in bits 2*(i%4)… of byte floor(i/4),
// low bits first, standard padded base64.
import { describe, expect, it } from 'vitest';
import { decodeStatuses, NOT_FOR_SALE, SEAT_CODES, seatCodeAt, setSeatCode, toBase64 } from '../../../src/durable/ticket-lock/availability';

describe('the availability encoding', () => {
  it('packs seat i into bits 2*(i%4) of byte floor(i/4), low bits first (hand-computed example)', () => {
    // Seats 0…4: reserved, booked, not for sale, available | booked.
    // Byte 0 = 1 | 2<<2 | 3<<4 | 0<<6 = 0b00111001 = 0x39; byte 1 = 2 = 0x02.
    const bytes = new Uint8Array(2);

    setSeatCode(bytes, 0, SEAT_CODES.reserved);
    setSeatCode(bytes, 1, SEAT_CODES.booked);
    setSeatCode(bytes, 2, NOT_FOR_SALE);
    setSeatCode(bytes, 3, SEAT_CODES.available);
    setSeatCode(bytes, 4, SEAT_CODES.booked);

    expect([...bytes]).toEqual([0x39, 0x02]);
    expect(toBase64(bytes)).toBe('OQI=');
    expect(decodeStatuses('OQI=', 5)).toEqual([1, 2, 3, 0, 2]);
  });

  it('changes one seat without touching its neighbours in the same byte', () => {
    const bytes = new Uint8Array([0xff]);

    setSeatCode(bytes, 2, SEAT_CODES.available);

    expect(bytes[0]).toBe(0b11001111);
    expect([0, 1, 2, 3].map((i) => seatCodeAt(bytes, i))).toEqual([3, 3, 0, 3]);
  });

  it('encodes 80,000 seats in 20,000 bytes (26,668 characters of base64)', () => {
    const bytes = new Uint8Array(80_000 / 4);
    setSeatCode(bytes, 79_999, SEAT_CODES.booked);

    const encoded = toBase64(bytes);

    expect(encoded).toHaveLength(26_668);
    expect(decodeStatuses(encoded, 80_000)[79_999]).toBe(2);
  });
});
