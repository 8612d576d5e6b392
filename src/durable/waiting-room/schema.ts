// The room's tables, created (or brought up to date) when the object is constructed.

/**
 * `entries` holds one row per account that ever joined; the indexes let every per-tick question be
 * answered from a range bounded by what it returns (invariant 8: a tick's cost does not grow with the line):
 * - entries_line (state, seq): the head of the line for admissions, and the waiting rows in order once per wake;
 * - entries_admitted (admitted_at): the earliest admission, for rooms that admitted before admission_ticks;
 * - entries_active (token_expires_at) over admitted rows: active shoppers are the unexpired tokens only,
 *   however many admissions expired before;
 * - entries_away (away_since) over waiting rows: the places whose grace ran out, and (NULL) the people
 *   counted present, without reading the present people behind them.
 * The partial indexes are used only by queries that spell their condition literally (`state = 'waiting'`), and
 * those queries name them (INDEXED BY): without statistics SQLite prefers entries_line's equality on
 * `state`, which reads every waiting row (measured: 100,000 rows a tick for the away sweep).
 */
export function createSchema(sql: SqlStorage): void {
  sql.exec(`
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS entries (
      user_id TEXT PRIMARY KEY,
      -- The place in line; NULL for the lobby until the draw.
      seq INTEGER,
      state TEXT NOT NULL CHECK (state IN ('waiting', 'admitted', 'finished', 'left')),
      -- No open socket since then; the place is dropped after AWAY_GRACE_MS.
      away_since INTEGER,
      admitted_at INTEGER,
      admission_id TEXT,
      token TEXT,
      token_expires_at INTEGER
    );
    CREATE INDEX IF NOT EXISTS entries_line ON entries(state, seq);
    CREATE INDEX IF NOT EXISTS entries_admitted ON entries(admitted_at);
    CREATE INDEX IF NOT EXISTS entries_active ON entries(token_expires_at) WHERE state = 'admitted';
    CREATE INDEX IF NOT EXISTS entries_away ON entries(away_since) WHERE state = 'waiting';
    CREATE TABLE IF NOT EXISTS draw (rank INTEGER PRIMARY KEY, participant_id TEXT NOT NULL);
    -- How many each tick let in, for the ETA: the last minute is at most a row per tick (waiting-room/pacing.ts).
    CREATE TABLE IF NOT EXISTS admission_ticks (at INTEGER PRIMARY KEY, admitted INTEGER NOT NULL);
  `);
}
