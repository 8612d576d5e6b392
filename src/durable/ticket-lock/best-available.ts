// Best available (API.md, POST /api/bookings/:eventId with `best`): the TicketLock picks the seats
// and holds them in one step. The rules, in order of preference (seats.io's):
//   1. among the allowed sections (the one named, or every section priced within maxPriceCents),
//      the higher price first; then rows in order (a section's first row is nearest the stage;
//      rows of equally priced sections are taken by their rank in the section, then in venue order);
//      then seats nearest the row's centre (ties: the lower seat index);
//   2. `quantity` adjacent seats in one row that leave no single empty seat beside them; else
//      adjacent seats that do; else the best `quantity` seats of one section across its rows (row
//      order, then nearest each row's centre).
//
// Cost. The venue's rows (not its seats) are kept in memory, built once per wake: 1,600 rows at the
// 80,000-seat stadium (40 sections × 40 rows × 50 seats), each with its seat-index range and a count
// of its free seats, and a seat index → row table. Every change of a seat's status (the availability
// array's, src/durable/ticket-lock/availability.ts) moves one row's and one section's free count: O(1).
// A request walks the allowed rows in preference order (a binary search finds the first within
// maxPriceCents; a named section walks only its own rows) and skips, by its count, every row with
// fewer free seats than asked for: O(rows) integer comparisons, never a look at their seats. A row
// that could fit is read once, seat by seat (O(seats in the row), 50 here), for the quantities its
// runs of free seats fit; that answer is kept until one of its seats changes (O(1) to forget), so
// rows whose free seats are scattered (pairs left beside sold seats) are not read again by every
// request: reads are O(row length) per seat change, amortized. The fallback across rows reads the
// rows of one section with enough free seats. The seats chosen are then held exactly as a hold by
// seat index is (a look-up per seat by index). Measured on the stadium's rows alone (no runtime),
// filling it one hold at a time: 2–13 µs a choice on a loaded 2-core machine; the hold's SQL costs far more.
//
// Standing sections (general admission, API.md) are one row each (their places' seat indexes,
// no row name) taken like any section in price order, but any `quantity` free places of one fit:
// their free places are kept as a set (standing-places.ts), so a choice costs O(quantity) and never
// reads the area, and every seat change moves it in O(1). Such a row is never read seat by seat.
//
// Everything here but loadRowLayout is pure: statuses are the packed availability array.
import { seatCodeAt, SEAT_CODES, type AvailabilityWatcher, type SeatCode } from './availability';
import { FreePlaces } from './standing-places';

export interface BestRequest {
  quantity: number;
  section?: string;
  maxPriceCents?: number;
}

/**
 * One row of the venue as the tickets place it: seat indexes first…last (a row's seats are
 * consecutive indexes). `row` null: the places of a standing section.
 */
export interface RowLayout {
  section: string;
  row: string | null;
  first: number;
  last: number;
  /** What the row's unsold tickets cost (null: every seat sold). */
  priceCents: number | null;
}

interface Row {
  section: number;
  first: number;
  last: number;
  priceCents: number;
  standing: boolean;
}

interface Section {
  name: string;
  priceCents: number;
  /** Positions in `rows`, first row first. */
  rows: number[];
}

const FREE = SEAT_CODES.available;

/**
 * The rows of the event in preference order, with their free counts. Built from the layout and the
 * statuses; kept current by seatChanged.
 */
export class SeatRows {
  /** Every row, in preference order: higher price, then rank in its section, then venue order. */
  private readonly rows: Row[];
  private readonly sections: Section[];
  /** Section positions in preference order (higher price, then venue order). */
  private readonly sectionOrder: number[];
  private readonly freeInRow: Int32Array;
  /**
   * Per row, which quantities its runs of free seats fit (fitMasks): bit q when q adjacent seats fit
   * leaving no single seat, bit 16 + q when they fit at all; −1 until the row is read again after a
   * change (set by seatChanged, O(1)). A row whose free seats are scattered is read once per change,
   * not once per request.
   */
  private readonly fits: Int32Array;
  /** Rows of sections with something left to sell (they come first: sorted by price). */
  private readonly pricedRows: number;
  private readonly freeInSection: Int32Array;
  /** Seat index → position in `rows`, −1 for an index no row has. */
  private readonly rowOf: Int32Array;
  /** Position in `rows` → the free places of a standing section's row (absent for seated rows). */
  private readonly standing = new Map<number, FreePlaces>();

  constructor(layout: readonly RowLayout[], statuses: Uint8Array) {
    const sectionIds = new Map<string, number>();
    this.sections = [];
    const ranked: Array<Row & { rank: number }> = [];
    const rowsSoFar: number[] = [];
    for (const row of [...layout].sort((a, b) => a.first - b.first)) {
      let id = sectionIds.get(row.section);
      if (id === undefined) {
        id = this.sections.length;
        sectionIds.set(row.section, id);
        // Price −1: every seat sold, so no price left (and nothing to offer).
        this.sections.push({ name: row.section, priceCents: -1, rows: [] });
        rowsSoFar.push(0);
      }
      const section = this.sections[id]!;
      if (row.priceCents !== null) section.priceCents = Math.max(section.priceCents, row.priceCents);
      ranked.push({ section: id, first: row.first, last: row.last, priceCents: 0, standing: row.row === null, rank: rowsSoFar[id]! });
      rowsSoFar[id]! += 1;
    }
    // A section has one price (the event's prices are by section).
    for (const row of ranked) row.priceCents = this.sections[row.section]!.priceCents;
    ranked.sort((a, b) => b.priceCents - a.priceCents || a.rank - b.rank || a.section - b.section);
    this.rows = ranked.map(({ rank: _rank, ...row }) => row);
    for (const [position, row] of this.rows.entries()) this.sections[row.section]!.rows.push(position);
    this.sectionOrder = this.sections.map((_, id) => id).sort((a, b) => this.sections[b]!.priceCents - this.sections[a]!.priceCents || a - b);

    const seatCount = this.rows.reduce((max, row) => Math.max(max, row.last + 1), 0);
    this.rowOf = new Int32Array(seatCount).fill(-1);
    this.freeInRow = new Int32Array(this.rows.length);
    this.fits = new Int32Array(this.rows.length).fill(-1);
    this.pricedRows = this.rows.filter((row) => row.priceCents >= 0).length;
    this.freeInSection = new Int32Array(this.sections.length);
    for (const [position, row] of this.rows.entries()) {
      for (let seat = row.first; seat <= row.last; seat += 1) {
        this.rowOf[seat] = position;
        if (seatCodeAt(statuses, seat) === FREE) {
          this.freeInRow[position]! += 1;
          this.freeInSection[row.section]! += 1;
        }
      }
      if (row.standing) this.standing.set(position, new FreePlaces(row.first, row.last, (seat) => seatCodeAt(statuses, seat) === FREE));
    }
  }

  /**
   * Whether the seat's section was left out as sold out when these rows were built (it has no price
   * here): a seat of it coming free needs the rows built again to be offered.
   */
  inUnpricedSection(seatIndex: number): boolean {
    const position = seatIndex < this.rowOf.length ? this.rowOf[seatIndex]! : -1;
    return position >= 0 && this.rows[position]!.priceCents < 0;
  }

  /** A seat's status changed in the availability array: O(1). */
  seatChanged(seatIndex: number, before: SeatCode, after: SeatCode): void {
    const step = (after === FREE ? 1 : 0) - (before === FREE ? 1 : 0);
    const position = seatIndex < this.rowOf.length ? this.rowOf[seatIndex]! : -1;
    if (step === 0 || position < 0) return;
    this.freeInRow[position]! += step;
    this.freeInSection[this.rows[position]!.section]! += step;
    this.fits[position] = -1;
    const places = this.rows[position]!.standing ? this.standing.get(position) : undefined;
    if (places) {
      if (step > 0) places.add(seatIndex);
      else places.remove(seatIndex);
    }
  }

  private fitsOf(statuses: Uint8Array, position: number): number {
    if (this.fits[position]! < 0) this.fits[position] = fitMasks(statuses, this.rows[position]!);
    return this.fits[position]!;
  }

  /** The seat indexes to hold for the request (in index order), or null when nothing fits. */
  choose(statuses: Uint8Array, request: BestRequest): number[] | null {
    const { quantity } = request;
    const { list, from } = this.allowedRows(request);
    // The fit masks know quantities up to 14 (API.md asks for at most 10); more go across rows.
    const end = quantity > 14 ? from : list ? list.length : this.pricedRows;
    // Adjacent seats in one row: the first row (in preference order) with a block that leaves no
    // single seat wins; failing that anywhere, the first row with any block.
    let leavingOne = -1;
    for (let at = from; at < end; at += 1) {
      const position = list ? list[at]! : at;
      if (this.freeInRow[position]! < quantity) continue;
      // A standing area with enough free places: any of them fit, as well as a clean block would.
      if (this.rows[position]!.standing) return this.standing.get(position)!.take(quantity);
      const fits = this.fitsOf(statuses, position);
      if (fits & (1 << quantity)) return range(bestBlockInRow(statuses, this.rows[position]!, quantity).clean!, quantity);
      if (leavingOne < 0 && fits & (1 << (16 + quantity))) leavingOne = position;
    }
    if (leavingOne >= 0) return range(bestBlockInRow(statuses, this.rows[leavingOne]!, quantity).any!, quantity);
    // The best seats of one section, across its rows.
    for (const id of this.sectionOrder) {
      const section = this.sections[id]!;
      if (this.freeInSection[id]! < quantity || !sectionAllowed(section, request)) continue;
      const chosen: number[] = [];
      for (const position of section.rows) {
        if (this.freeInRow[position]! === 0) continue;
        if (this.rows[position]!.standing) return this.standing.get(position)!.take(quantity);
        chosen.push(...freeSeatsByCentre(statuses, this.rows[position]!).slice(0, quantity - chosen.length));
        if (chosen.length === quantity) return chosen.sort((a, b) => a - b);
      }
    }
    return null;
  }

  /**
   * The rows the request allows, in preference order: a section's own rows (`list`), or every row
   * from `from` up to the rows of sections that had nothing left to sell (no price: they come last
   * and are not walked).
   */
  private allowedRows(request: BestRequest): { list: readonly number[] | null; from: number } {
    if (request.section !== undefined) {
      const section = this.sections.find((s) => s.name === request.section);
      return { list: section && sectionAllowed(section, request) ? section.rows : [], from: 0 };
    }
    // Rows are sorted by price, dearest first: the first row within the price, by binary search.
    let low = 0;
    let high = this.rows.length;
    while (request.maxPriceCents !== undefined && low < high) {
      const middle = (low + high) >> 1;
      if (this.rows[middle]!.priceCents > request.maxPriceCents) low = middle + 1;
      else high = middle;
    }
    return { list: null, from: low };
  }
}

function sectionAllowed(section: Section, request: BestRequest): boolean {
  if (section.priceCents < 0) return false;
  if (request.section !== undefined && section.name !== request.section) return false;
  return request.maxPriceCents === undefined || section.priceCents <= request.maxPriceCents;
}

function range(start: number, quantity: number): number[] {
  return Array.from({ length: quantity }, (_, i) => start + i);
}

/**
 * The best start of `quantity` adjacent free seats in the row: `clean` leaves no single free seat
 * beside the block, `any` may. Nearest the row's centre; ties to the lower index. O(row length).
 */
export function bestBlockInRow(statuses: Uint8Array, row: { first: number; last: number }, quantity: number): { clean: number | null; any: number | null } {
  const centre2 = row.first + row.last;
  let clean: number | null = null;
  let cleanDistance = Infinity;
  let any: number | null = null;
  let anyDistance = Infinity;
  let seat = row.first;
  while (seat <= row.last) {
    if (seatCodeAt(statuses, seat) !== FREE) {
      seat += 1;
      continue;
    }
    // A run of free seats, runStart…runEnd.
    const runStart = seat;
    while (seat + 1 <= row.last && seatCodeAt(statuses, seat + 1) === FREE) seat += 1;
    const runEnd = seat;
    seat += 1;
    const lastStart = runEnd - quantity + 1;
    for (let start = runStart; start <= lastStart; start += 1) {
      // Twice the distance from the block's centre to the row's: whole numbers.
      const distance = Math.abs(2 * start + quantity - 1 - centre2);
      if (distance < anyDistance) {
        any = start;
        anyDistance = distance;
      }
      const leavesOne = start - runStart === 1 || lastStart - start === 1;
      if (!leavesOne && distance < cleanDistance) {
        clean = start;
        cleanDistance = distance;
      }
    }
  }
  return { clean, any };
}

/**
 * Which quantities (1–14: the bits stay clear of the sign) fit in the row's runs of free seats: bit q when q adjacent seats fit
 * leaving no single free seat beside them (a run of exactly q, or of q + 2 or more: the block at
 * one end), bit 16 + q when they fit at all. O(row length).
 */
export function fitMasks(statuses: Uint8Array, row: { first: number; last: number }): number {
  let masks = 0;
  let run = 0;
  for (let seat = row.first; seat <= row.last + 1; seat += 1) {
    if (seat <= row.last && seatCodeAt(statuses, seat) === FREE) {
      run += 1;
      continue;
    }
    for (let quantity = 1; quantity <= Math.min(run, 14); quantity += 1) {
      masks |= 1 << (16 + quantity);
      if (run === quantity || run >= quantity + 2) masks |= 1 << quantity;
    }
    run = 0;
  }
  return masks;
}

/** The row's free seats, nearest its centre first (ties: the lower index). */
export function freeSeatsByCentre(statuses: Uint8Array, row: { first: number; last: number }): number[] {
  const centre2 = row.first + row.last;
  const free: number[] = [];
  for (let seat = row.first; seat <= row.last; seat += 1) if (seatCodeAt(statuses, seat) === FREE) free.push(seat);
  return free.sort((a, b) => Math.abs(2 * a - centre2) - Math.abs(2 * b - centre2) || a - b);
}

/**
 * The TicketLock's best available: the rows built on first use after a wake (or after the array or
 * the prices changed wholesale), then kept current by the availability array it watches.
 */
export class BestAvailable implements AvailabilityWatcher {
  private seatRows: SeatRows | null = null;

  constructor(private readonly sql: SqlStorage) {}

  seatChanged(seatIndex: number, before: SeatCode, after: SeatCode): void {
    // A seat of a section that was sold out when the rows were built (refunded, a sale undone): that
    // section has no price in them, so they are built again, with it, when next asked. Rare.
    if (after === FREE && this.seatRows?.inUnpricedSection(seatIndex)) this.seatRows = null;
    this.seatRows?.seatChanged(seatIndex, before, after);
  }

  /** The array was rebuilt, the seats relearnt, or the prices changed: the rows are built again when next asked. */
  invalidated(): void {
    this.seatRows = null;
  }

  /** `statuses`: the availability array as it is now (AvailabilityMap.codes). */
  choose(statuses: Uint8Array, request: BestRequest): number[] | null {
    this.seatRows ??= new SeatRows(loadRowLayout(this.sql), statuses);
    return this.seatRows.choose(statuses, request);
  }
}

/**
 * The venue's rows from the TicketLock's tickets: one grouped read (SQLite reads the tickets once
 * per wake; 1,600 rows come back at the stadium). Tickets without a seat index are not for sale by
 * seat and not offered. A standing section's places (no row name) come back as one row.
 */
export function loadRowLayout(sql: SqlStorage): RowLayout[] {
  return sql
    .exec<{ section: string; row_name: string | null; first: number; last: number; price_cents: number | null }>(
      `SELECT section, row_name, min(seat_index) AS first, max(seat_index) AS last,
              max(CASE WHEN sold_to_booking IS NULL THEN price_cents END) AS price_cents
       FROM tickets WHERE seat_index IS NOT NULL AND section IS NOT NULL
       GROUP BY section, row_name ORDER BY first`,
    )
    .toArray()
    .map((row) => ({ section: row.section, row: row.row_name, first: row.first, last: row.last, priceCents: row.price_cents }));
}
