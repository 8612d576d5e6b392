// A waiting line spread over several WaitingRoom shards with one coordinator (docs/queue-sharding.md):
// the pure parts a sharded room needs and bench/queue-shards.ts simulates. Nothing here does I/O.
//
// Global order. Every member has one global rank, a safe integer, unique across shards:
// - the lobby: 1..L, the place in the draw (API.md "fairness");
// - after the sale: POST_SALE_BASE + epoch · 2^30 + counter · 2^10 + shard, where `epoch` is the
//   coordinator's tick that granted the shard the block it is issuing from, and `counter` counts that
//   shard's joins within the block. The coordinator leases each shard one block per tick (in the tick's
//   message) instead of touching every join; a join gets a number from its shard alone. Arrivals in
//   the same second at different shards are interleaved by their counters; a later second always
//   comes after.
// Within a shard, ranks increase with the local slot (lobby slots in draw order, then arrivals), so a
// shard's Fenwick tree over local slots answers "how many of mine wait below rank r".

/** Lobby ranks stay below this (the draw of 4 billion people is not a concern). */
export const POST_SALE_BASE = 2 ** 32;
/** Shards per event at most (a rank keeps 10 bits for its shard). */
export const MAX_SHARDS = 1024;
/** Joins one shard may number within one tick's block. */
export const MAX_JOINS_PER_BLOCK = 2 ** 20;
/** ranks stay below 2^53 for this many ticks (about 97 days of one-second ticks). */
export const MAX_EPOCH = Math.floor((Number.MAX_SAFE_INTEGER - POST_SALE_BASE) / 2 ** 30);

/** The rank of the `counter`-th join (0-based) at `shard` within the block of tick `epoch`. */
export function postSaleRank(epoch: number, counter: number, shard: number): number {
  if (shard < 0 || shard >= MAX_SHARDS) throw new RangeError(`shard ${shard} out of range`);
  if (counter < 0 || counter >= MAX_JOINS_PER_BLOCK) throw new RangeError(`block of epoch ${epoch} is full at shard ${shard}`);
  if (epoch < 0 || epoch > MAX_EPOCH) throw new RangeError(`epoch ${epoch} out of range`);
  return POST_SALE_BASE + epoch * 2 ** 30 + counter * 2 ** 10 + shard;
}

/** The lowest rank any shard can issue from the block of `epoch`. */
export const epochStart = (epoch: number): number => POST_SALE_BASE + epoch * 2 ** 30;

/** The shard of a user: FNV-1a of the user id, so every reconnect (and every Worker) finds the same one. */
export function shardOf(userId: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) {
    h ^= userId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

/** The Durable Object name of shard `k` of an event's line. */
export const shardName = (eventId: string, k: number): string => `${eventId}:shard:${k}`;

/** What a shard tells the coordinator about the head of its line. */
export interface HeadsReport {
  shard: number;
  /** Ranks of its lowest waiting members, ascending (members who left are not in it). */
  heads: readonly number[];
  /** True when the shard has waiting members above the last head it sent. */
  more: boolean;
}

export interface Cut {
  /** Admit every waiting member with rank ≤ cut (null: admit nobody). */
  cut: number | null;
  /** How many the cut admits (≤ quota). */
  admitted: number;
  /** Per report, in order: how many of its heads the cut takes. */
  perShard: number[];
  /**
   * Set when fewer than `quota` (and fewer than the waiting line) could be cut because this shard's
   * report ended (`more`) below the ranks still needed: ask it for heads above its last one and cut again.
   */
  needMoreFrom: number | null;
}

/**
 * The cut for one tick: the `quota` lowest ranks among the shards' reported heads, taking only
 * ranks known to be the lowest waiting anywhere. A report with `more` ends at its last head: a rank
 * above it might have an unseen member of that shard below it, so the cut never passes the lowest
 * such horizon. `bounds` are exclusive upper limits for shards that did not answer this tick
 * (their last known lowest waiting rank, or the start of the block they may be issuing from): the
 * cut stays below them, so their members are held back, never overtaken.
 */
export function cutRank(reports: readonly HeadsReport[], quota: number, bounds: readonly number[] = []): Cut {
  let limit = Infinity;
  let limitShard: number | null = null;
  for (const r of reports) {
    if (r.more && r.heads.length === 0) throw new Error(`shard ${r.shard} reported more waiting but no heads`);
    if (r.more) {
      const last = r.heads[r.heads.length - 1]!;
      if (last < limit) {
        limit = last;
        limitShard = r.shard;
      }
    }
  }
  let bound = Infinity;
  for (const b of bounds) bound = Math.min(bound, b);
  const candidates: number[] = [];
  for (const r of reports) {
    for (const rank of r.heads) {
      if (rank > limit || rank >= bound) break;
      candidates.push(rank);
    }
  }
  candidates.sort((a, b) => a - b);
  const admitted = Math.min(Math.max(0, quota), candidates.length);
  const cut = admitted > 0 ? candidates[admitted - 1]! : null;
  const perShard = reports.map((r) => (cut === null ? 0 : countAtMost(r.heads, cut)));
  const needMoreFrom = admitted < quota && limitShard !== null && limit < bound ? limitShard : null;
  return { cut, admitted, perShard, needMoreFrom };
}

/** How many of the ascending `ranks` are ≤ `rank`. */
export function countAtMost(ranks: ArrayLike<number>, rank: number): number {
  return lowerBound(ranks, rank + 1);
}

/** Index of the first of the ascending `ranks` that is ≥ `rank` (its length when none is). */
export function lowerBound(ranks: ArrayLike<number>, rank: number, length = ranks.length): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ranks[mid]! < rank) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The bucket boundaries for the next tick's position counts, from each shard's samples of its own
 * ranks (taken at geometrically spaced local places from its head, so the buckets are narrow near
 * the head of the line and wide at its tail): the merged samples, every S-th of them, about
 * `count` boundaries, strictly increasing.
 */
export function chooseBoundaries(samples: ReadonlyArray<readonly number[]>, count: number): number[] {
  const all = samples.flat().sort((a, b) => a - b);
  if (all.length === 0) return [];
  const step = Math.max(1, all.length / count);
  const out: number[] = [];
  for (let i = 0; i < count && Math.floor(i * step) < all.length; i++) {
    const rank = all[Math.floor(i * step)]!;
    if (out.length === 0 || rank > out[out.length - 1]!) out.push(rank);
  }
  return out;
}

/** Local places from the head at which a shard of `waiting` members samples its ranks: 0, then growing by a constant ratio. */
export function sampleOffsets(waiting: number, count: number, head = 4): number[] {
  if (waiting <= 0) return [];
  if (waiting <= count) return Array.from({ length: waiting }, (_, i) => i);
  const ratio = Math.pow(waiting / head, 1 / (count - 2));
  const out = [0];
  for (let i = 0; out.length < count; i++) {
    const at = Math.min(waiting - 1, Math.round(head * Math.pow(ratio, i)));
    if (at > out[out.length - 1]!) out.push(at);
    if (at >= waiting - 1) break;
  }
  return out;
}

/** What the coordinator sends a shard after a cut, for its members' positions. */
export interface OthersView {
  /** Bucket boundaries (ranks, ascending). */
  boundaries: number[];
  /** Per boundary: members of the other shards waiting with a lower rank (after this tick's cut). */
  othersBelow: number[];
  /** Members of the other shards waiting, in all. */
  othersTotal: number;
  /** The lowest and highest rank waiting anywhere (interpolation ends). */
  low: number;
  high: number;
}

/**
 * Members of the other shards waiting below `rank`: exact at a boundary; between two boundaries a
 * linear interpolation, so off by less than the other shards' members in that bucket (`bucketOf`:
 * the bound docs/queue-sharding.md states).
 */
export function othersBelow(rank: number, v: OthersView): number {
  const b = bucketOf(rank, v);
  if (b.r1 <= b.r0 || b.c1 === b.c0) return b.c0;
  return Math.round(b.c0 + ((b.c1 - b.c0) * (rank - b.r0)) / (b.r1 - b.r0));
}

/** The bucket `rank` falls in: its ends (ranks) and the others' counts below each end. */
export function bucketOf(rank: number, v: OthersView): { r0: number; r1: number; c0: number; c1: number } {
  if (rank <= v.low) return { r0: rank, r1: rank, c0: 0, c1: 0 };
  if (rank > v.high) return { r0: rank, r1: rank, c0: v.othersTotal, c1: v.othersTotal };
  const i = lowerBound(v.boundaries, rank);
  if (i < v.boundaries.length && v.boundaries[i] === rank) return { r0: rank, r1: rank, c0: v.othersBelow[i]!, c1: v.othersBelow[i]! };
  // Nobody waits below `low`, so a boundary under it counts 0 and the bucket starts at `low`.
  const r0 = i === 0 ? v.low : Math.max(v.low, v.boundaries[i - 1]!);
  const c0 = i === 0 ? 0 : v.othersBelow[i - 1]!;
  const r1 = i === v.boundaries.length ? v.high + 1 : v.boundaries[i]!;
  const c1 = i === v.boundaries.length ? v.othersTotal : v.othersBelow[i]!;
  return { r0, r1, c0, c1 };
}
