// A crowd without sockets, for the queue-tick benchmark and the test that a tick's work does not
// grow with the line: `count` people put at the back of a drawn line straight into the room's
// storage (one statement) and its in-memory line, as if each had joined and were connected elsewhere.
import type { Line } from './line';
import type { RoomSql } from './room-sql';

/** Set to 'true' by the benchmark's runtime only (bench/queue-tick.ts): the room's bench RPCs refuse without it. */
export interface BenchBindings {
  BENCH_ROUTES?: string;
}

export function benchAllowed(env: unknown): boolean {
  return (env as BenchBindings).BENCH_ROUTES === 'true';
}

/** Adds `count` simulated members (`sim-<seq>`) behind everyone in line; returns their seqs' range. */
export function insertSimulatedMembers(db: RoomSql, line: Line, count: number): { first: number; last: number } {
  if (db.meta('drawn') !== '1') throw new Error('simulated members join a drawn line only');
  const first = Number(db.meta('next_seq') ?? 1);
  const last = first + count - 1;
  db.run(
    `WITH RECURSIVE n(seq) AS (SELECT ? UNION ALL SELECT seq + 1 FROM n WHERE seq < ?)
     INSERT INTO entries (user_id, seq, state, away_since) SELECT 'sim-' || seq, seq, 'waiting', NULL FROM n`,
    first, last,
  );
  db.setMeta('next_seq', String(last + 1));
  for (let seq = first; seq <= last; seq++) line.add(seq);
  return { first, last };
}
