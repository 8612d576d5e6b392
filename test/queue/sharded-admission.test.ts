// The sharded line's merge and cut (src/queue/sharded-admission.ts; docs/queue-sharding.md): pure
// functions, checked against a brute-force global line.
import { describe, expect, it } from 'vitest';
import {
  chooseBoundaries,
  cutRank,
  epochStart,
  othersBelow,
  postSaleRank,
  shardOf,
  type HeadsReport,
} from '../../src/queue/sharded-admission';

/** A deterministic shuffle source. */
function random(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Ranks 1..n dealt over `shards`, some marked as left; each shard reports its lowest `batch` waiting. */
function line(n: number, shards: number, batch: number, leftShare: number, seed: number) {
  const next = random(seed);
  const waiting: number[][] = Array.from({ length: shards }, () => []);
  const left = new Set<number>();
  for (let rank = 1; rank <= n; rank++) {
    if (next() < leftShare) left.add(rank);
    else waiting[Math.floor(next() * shards)]!.push(rank);
  }
  const reports: HeadsReport[] = waiting.map((ranks, shard) => ({ shard, heads: ranks.slice(0, batch), more: ranks.length > batch }));
  return { waiting, left, reports, all: waiting.flat().sort((a, b) => a - b) };
}

describe('cutRank', () => {
  it('admits exactly the quota lowest waiting ranks across shards, skipping members who left', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const { reports, all, left, waiting } = line(2_000, 8, 400, 0.1, seed);
      const quota = 1 + (seed * 37) % 600;
      const c = cutRank(reports, quota);
      // Batches of 400 from 8 shards always cover 600 of ~1,800 waiting here.
      expect(c.admitted).toBe(quota);
      expect(c.cut).toBe(all[quota - 1]);
      const admitted = waiting.flatMap((ranks) => ranks.filter((r) => r <= c.cut!));
      expect(admitted.sort((a, b) => a - b)).toEqual(all.slice(0, quota));
      expect(admitted.some((r) => left.has(r))).toBe(false);
      expect(c.perShard.reduce((a, b) => a + b, 0)).toBe(quota);
      expect(c.needMoreFrom).toBeNull();
    }
  });

  it('never passes the horizon of a shard whose batch ran out, and names it to ask for more', () => {
    // Shard 0 sent 2 of its many; shard 1 sent all it has.
    const reports: HeadsReport[] = [
      { shard: 0, heads: [1, 4], more: true },
      { shard: 1, heads: [2, 3, 5, 6, 7], more: false },
    ];
    const c = cutRank(reports, 5);
    // Ranks ≤ 4 are all known (shard 0's next is above 4); 5 might have a member of shard 0 below it.
    expect(c).toEqual({ cut: 4, admitted: 4, perShard: [2, 2], needMoreFrom: 0 });
    const again = cutRank([{ shard: 0, heads: [1, 4, 8], more: false }, reports[1]!], 5);
    expect(again).toEqual({ cut: 5, admitted: 5, perShard: [2, 3], needMoreFrom: null });
  });

  it('admits everyone when the quota exceeds the line', () => {
    const c = cutRank([{ shard: 0, heads: [3, 9], more: false }, { shard: 1, heads: [], more: false }], 100);
    expect(c).toEqual({ cut: 9, admitted: 2, perShard: [2, 0], needMoreFrom: null });
    expect(cutRank([{ shard: 0, heads: [], more: false }], 10)).toEqual({ cut: null, admitted: 0, perShard: [0], needMoreFrom: null });
  });

  it('holds back at a silent shard: nobody behind its next member is admitted', () => {
    const reports: HeadsReport[] = [
      { shard: 0, heads: [1, 2, 5, 8], more: true },
      { shard: 2, heads: [3, 6, 9], more: true },
    ];
    // Shard 1 did not answer; its lowest waiting rank last reported is 4.
    const c = cutRank(reports, 10, [4]);
    expect(c.cut).toBe(3);
    expect(c.admitted).toBe(3);
    expect(c.needMoreFrom).toBeNull();
  });

  it('matches a brute-force line at random sizes, batches and quotas', () => {
    const next = random(99);
    for (let round = 0; round < 200; round++) {
      const shards = 1 + Math.floor(next() * 12);
      const batch = 1 + Math.floor(next() * 50);
      const { reports, all } = line(50 + Math.floor(next() * 500), shards, batch, next() * 0.3, round);
      const quota = Math.floor(next() * 200);
      const c = cutRank(reports, quota);
      // Whatever it admits is a prefix of the global line, at most the quota.
      expect(c.admitted).toBeLessThanOrEqual(quota);
      if (c.cut !== null) expect(all.indexOf(c.cut)).toBe(c.admitted - 1);
      else expect(c.admitted).toBe(0);
      // It stops short only when a shard must send more, or the line is all admitted.
      if (c.admitted < quota && c.admitted < all.length) expect(c.needMoreFrom).not.toBeNull();
    }
  });
});

describe('ranks and shards', () => {
  it('orders the lobby before every post-sale join, and a later block after an earlier one', () => {
    expect(postSaleRank(0, 0, 0)).toBeGreaterThan(2 ** 31);
    expect(postSaleRank(7, 2 ** 20 - 1, 1023)).toBeLessThan(epochStart(8));
    expect(postSaleRank(7, 3, 0)).toBeLessThan(postSaleRank(7, 3, 1));
    expect(postSaleRank(7, 3, 5)).toBeLessThan(postSaleRank(7, 4, 0));
    expect(postSaleRank(7, 0, 0)).toBe(epochStart(7));
    expect(() => postSaleRank(7, 2 ** 20, 0)).toThrow(RangeError);
  });

  it('puts a user on the same shard every time, and spreads users evenly', () => {
    expect(shardOf('user-42', 16)).toBe(shardOf('user-42', 16));
    const counts = new Array<number>(16).fill(0);
    for (let i = 0; i < 16_000; i++) counts[shardOf(`user-${i}`, 16)]!++;
    for (const n of counts) expect(Math.abs(n - 1000)).toBeLessThan(150);
  });
});

describe('positions between shards', () => {
  it('is exact at a boundary and within the bucket between two', () => {
    const view = { boundaries: [10, 20, 40], othersBelow: [3, 8, 20], othersTotal: 30, low: 5, high: 60 };
    expect(othersBelow(5, view)).toBe(0);
    expect(othersBelow(20, view)).toBe(8);
    const mid = othersBelow(30, view);
    expect(mid).toBeGreaterThanOrEqual(8);
    expect(mid).toBeLessThanOrEqual(20);
    expect(othersBelow(61, view)).toBe(30);
    // A boundary below the head of the line counts nobody: the first bucket starts at `low`.
    expect(othersBelow(6, { boundaries: [1, 100], othersBelow: [0, 50], othersTotal: 50, low: 5, high: 200 })).toBe(1);
  });

  it('chooses strictly increasing boundaries from the shards\' samples', () => {
    const b = chooseBoundaries([[1, 5, 9, 30], [2, 5, 7, 100]], 4);
    expect(b).toEqual([1, 5, 7, 30]);
    expect(chooseBoundaries([[], []], 4)).toEqual([]);
  });
});
