// Who is ahead of whom, without reading the line.
//
// Places in line are sequence numbers (`entries.seq`): 1..L for the lobby in drawn order, then one
// more per arrival. A position is 1 + the number of people still waiting with a smaller seq, and
// people leave from anywhere (admitted at the head, dropped anywhere when their grace runs out), so
// a counter of departures is not enough. The line is a Fenwick (binary indexed) tree over seqs with a 1
// for each waiting place: "how many ahead of seq s" is a prefix sum, O(log n); a place taken or given up
// is a point update, O(log n). It lives in memory only: the room rebuilds it from `entries_line` once
// when the object wakes (O(n) once, not per tick) and updates it in the same synchronous step as
// every SQL write that moves a row into or out of `waiting` with a seq, so it never disagrees with
// the table that an `await` could observe.
//
// The tree covers seqs from `base` (the first waiting seq when it was built, or the first seq
// added to an empty line) onward, so its size follows the present line, not the event's history.

export class Line {
  private base = 1;
  /** Fenwick sums over 1-based slots (slot i is seq base + i - 1); slot 0 unused. */
  private tree = new Int32Array(16);
  /** 1 where the slot's seq is waiting, so adding or removing twice changes nothing. */
  private member = new Uint8Array(16);
  /** Slots in use (the highest seq added, relative to base). */
  private length = 0;
  private count = 0;

  /** People waiting with a place in line. */
  get size(): number {
    return this.count;
  }

  /** Builds the tree from the waiting seqs, ascending, in O(n). */
  load(seqs: readonly number[]): void {
    this.base = seqs.length ? seqs[0]! : 1;
    this.length = seqs.length ? seqs.at(-1)! - this.base + 1 : 0;
    this.tree = new Int32Array(Math.max(16, this.length + 1));
    this.member = new Uint8Array(this.tree.length);
    for (const seq of seqs) {
      const slot = seq - this.base + 1;
      this.member[slot] = 1;
      this.tree[slot] = 1;
    }
    for (let i = 1; i <= this.length; i++) {
      const parent = i + (i & -i);
      if (parent <= this.length) this.tree[parent]! += this.tree[i]!;
    }
    this.count = seqs.length;
  }

  clear(): void {
    this.load([]);
  }

  has(seq: number): boolean {
    const slot = seq - this.base + 1;
    return slot >= 1 && slot <= this.length && this.member[slot] === 1;
  }

  /** Puts a seq in line. Seqs are handed out in increasing order, so this appends (or fills a slot already covered). */
  add(seq: number): void {
    if (this.has(seq)) return;
    if (this.count === 0) this.load([seq]);
    else if (seq < this.base) this.load([...this.seqs(), seq].sort((a, b) => a - b));
    else {
      const slot = seq - this.base + 1;
      this.extendTo(slot);
      this.member[slot] = 1;
      for (let i = slot; i <= this.length; i += i & -i) this.tree[i]! += 1;
      this.count++;
    }
  }

  remove(seq: number): void {
    if (!this.has(seq)) return;
    const slot = seq - this.base + 1;
    this.member[slot] = 0;
    for (let i = slot; i <= this.length; i += i & -i) this.tree[i]! -= 1;
    this.count--;
  }

  /** How many are waiting with a seq below `seq`: O(log n). */
  ahead(seq: number): number {
    return this.prefix(Math.min(this.length, seq - this.base));
  }

  /** Sum of slots 1..slot. */
  private prefix(slot: number): number {
    let sum = 0;
    for (let i = slot; i > 0; i -= i & -i) sum += this.tree[i]!;
    return sum;
  }

  /** New empty slots up to `slot`: each one's node sums the slots it covers, read from the nodes before it (O(log n) each). */
  private extendTo(slot: number): void {
    if (slot <= this.length) return;
    if (slot >= this.tree.length) {
      const capacity = Math.max(slot + 1, this.tree.length * 2);
      const tree = new Int32Array(capacity);
      tree.set(this.tree);
      const member = new Uint8Array(capacity);
      member.set(this.member);
      this.tree = tree;
      this.member = member;
    }
    for (let i = this.length + 1; i <= slot; i++) {
      // Node i covers slots (i - lowbit(i), i]; slot i itself is still empty.
      this.tree[i] = this.prefix(i - 1) - this.prefix(i - (i & -i));
    }
    this.length = slot;
  }

  /** The seqs in line, ascending (only to rebuild around a seq below the base, which the room never adds). */
  private seqs(): number[] {
    const out: number[] = [];
    for (let slot = 1; slot <= this.length; slot++) if (this.member[slot]) out.push(this.base + slot - 1);
    return out;
  }
}
