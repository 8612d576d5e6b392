// The free places of one standing (general admission) section, for best available. A standing
// section's places are consecutive seat indexes first…last (the seats of one hidden row), and any
// `quantity` free ones fit: no adjacency, no centre. So instead of reading the area (20,000 places
// at a stadium's floor), its free indexes are kept as a set with O(1) add and remove (an array and
// each index's slot in it, removal by swapping in the last), and a choice takes `quantity` of them:
// O(quantity), whatever the area's size. Built in O(capacity) with the rows, once per wake.
//
// Which free places: the lowest indexes first while nothing has come back (the array is filled
// from the back), then whatever was freed most recently. Places have no better or worse.

export class FreePlaces {
  /** The free seat indexes; the first `size` entries count. */
  private readonly free: Int32Array;
  /** Seat index − first → its slot in `free`, or −1 when the place is not free. */
  private readonly slot: Int32Array;
  private size = 0;

  constructor(
    readonly first: number,
    readonly last: number,
    isFree: (seatIndex: number) => boolean,
  ) {
    const capacity = last - first + 1;
    this.free = new Int32Array(capacity);
    this.slot = new Int32Array(capacity).fill(-1);
    // From the back, so that the end of the array (where choices are taken) holds the lowest indexes.
    for (let seat = last; seat >= first; seat -= 1) if (isFree(seat)) this.add(seat);
  }

  get count(): number {
    return this.size;
  }

  /** The place became free: O(1), and nothing when it already was. */
  add(seatIndex: number): void {
    const offset = seatIndex - this.first;
    if (this.slot[offset]! >= 0) return;
    this.free[this.size] = seatIndex;
    this.slot[offset] = this.size;
    this.size += 1;
  }

  /** The place was taken: O(1), and nothing when it was not free. */
  remove(seatIndex: number): void {
    const offset = seatIndex - this.first;
    const at = this.slot[offset]!;
    if (at < 0) return;
    this.size -= 1;
    const moved = this.free[this.size]!;
    this.free[at] = moved;
    this.slot[moved - this.first] = at;
    this.slot[offset] = -1;
  }

  /** `quantity` free places (not removed: holding them changes their status, which removes them), or null when fewer are free. */
  take(quantity: number): number[] | null {
    if (quantity > this.size) return null;
    const chosen: number[] = [];
    for (let at = this.size - 1; at >= this.size - quantity; at -= 1) chosen.push(this.free[at]!);
    return chosen.sort((a, b) => a - b);
  }
}
