// The waiting room's tree of places (src/durable/waiting-room/line.ts) against a plain set: random
// joins at the back, departures from anywhere (admissions at the head, lapses in the middle), the
// line emptied and refilled, and rebuilt from its seqs as a wake does; `ahead` must always be the
// number of waiting seqs below, and `size` the number waiting.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Line } from '../../../src/durable/waiting-room/line';

type Op = { kind: 'join'; gap: number } | { kind: 'leave'; pick: number } | { kind: 'admit'; count: number } | { kind: 'wake' } | { kind: 'soldOut' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('join' as const), gap: fc.oneof(fc.constant(0), fc.nat({ max: 40 })) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('leave' as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('admit' as const), count: fc.nat({ max: 5 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'wake' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'soldOut' as const }) },
);

describe('Line (Fenwick tree of places)', () => {
  it('counts who is ahead exactly, through joins, departures anywhere, empties and rebuilds', () => {
    fc.assert(
      fc.property(fc.nat({ max: 200 }), fc.array(op, { maxLength: 300 }), (start, ops) => {
        let line = new Line();
        const model = new Set<number>();
        let next = start + 1;
        const sorted = () => [...model].sort((a, b) => a - b);
        for (const o of ops) {
          switch (o.kind) {
            case 'join':
              // Seqs only grow; some are handed out and never waited on (a gap).
              next += o.gap;
              line.add(next);
              model.add(next++);
              break;
            case 'leave': {
              const seqs = sorted();
              if (!seqs.length) break;
              const seq = seqs[o.pick % seqs.length]!;
              line.remove(seq);
              line.remove(seq); // twice changes nothing
              model.delete(seq);
              break;
            }
            case 'admit':
              for (const seq of sorted().slice(0, o.count)) {
                line.remove(seq);
                model.delete(seq);
              }
              break;
            case 'wake':
              line = new Line();
              line.load(sorted());
              break;
            case 'soldOut':
              line.clear();
              model.clear();
              break;
          }
          const seqs = sorted();
          expect(line.size).toBe(seqs.length);
          seqs.forEach((seq, i) => {
            expect(line.has(seq)).toBe(true);
            expect(line.ahead(seq)).toBe(i);
          });
          // Seqs not in line: how many waiting are below them.
          for (const probe of [start - 1, start, next, next + 100, ...(seqs.length ? [seqs[0]! - 1, seqs.at(-1)! + 1] : [])]) {
            expect(line.ahead(probe)).toBe(seqs.filter((s) => s < probe).length);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('builds a line of 100,000 from its seqs and answers from the back', () => {
    const line = new Line();
    line.load(Array.from({ length: 100_000 }, (_, i) => 7 + 2 * i));
    expect(line.size).toBe(100_000);
    expect(line.ahead(7)).toBe(0);
    expect(line.ahead(7 + 2 * 99_999)).toBe(99_999);
    line.remove(7);
    line.add(7 + 2 * 100_000);
    expect(line.ahead(7 + 2 * 100_000)).toBe(99_999);
  });
});
