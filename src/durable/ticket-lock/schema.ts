// The TicketLock's SQLite tables. Objects outlive deployments, so a column added later is also
// added to the tables of objects created before it (addColumn).

export function createTicketLockSchema(sql: SqlStorage): void {
  // Before attempts had ids, a booking had one row here. It is kept as an attempt, though not as the
  // booking's current one: reports about such a payment cannot name it, and act as they did before.
  const attemptsBeforeIds = sql.exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'payment_attempts'`).toArray().length > 0 && !hasColumn(sql, 'payment_attempts', 'attempt_id');
  if (attemptsBeforeIds) sql.exec(`ALTER TABLE payment_attempts RENAME TO payment_attempts_before_ids`);
  sql.exec(`
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS tickets (
      ticket_id TEXT PRIMARY KEY,
      price_cents INTEGER NOT NULL,
      currency TEXT NOT NULL,
      sold_to_booking TEXT,
      sold_to_user TEXT
    );
    CREATE TABLE IF NOT EXISTS bookings (
      booking_id TEXT PRIMARY KEY,
      user_id TEXT NOT NULL,
      status TEXT NOT NULL,
      expires_at INTEGER NOT NULL,
      total_cents INTEGER NOT NULL,
      currency TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      confirmed_at INTEGER,
      payment_provider TEXT,
      payment_reference TEXT,
      write_pending INTEGER NOT NULL DEFAULT 0,
      retry_count INTEGER NOT NULL DEFAULT 0,
      next_retry_at INTEGER,
      refunded INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE IF NOT EXISTS booking_tickets (
      booking_id TEXT NOT NULL,
      ticket_id TEXT NOT NULL,
      PRIMARY KEY (booking_id, ticket_id)
    );
    CREATE TABLE IF NOT EXISTS holds (
      ticket_id TEXT PRIMARY KEY,
      booking_id TEXT NOT NULL,
      expires_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS holds_booking ON holds(booking_id);
    CREATE INDEX IF NOT EXISTS bookings_user ON bookings(user_id);
    -- Admissions from the waiting room that bookings were made with. An admission ends when its
    -- bookings are all paid or cancelled: the room stops counting the shopper, and the token
    -- books nothing more.
    CREATE TABLE IF NOT EXISTS admissions (
      admission_id TEXT PRIMARY KEY,
      user_id TEXT NOT NULL,
      ended INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE IF NOT EXISTS admission_bookings (booking_id TEXT PRIMARY KEY, admission_id TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS admission_bookings_admission ON admission_bookings(admission_id);
    CREATE TABLE IF NOT EXISTS idempotency_keys (
      key TEXT PRIMARY KEY,
      fingerprint TEXT NOT NULL,
      status INTEGER,
      body TEXT,
      created_at INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS changes (
      version INTEGER PRIMARY KEY AUTOINCREMENT,
      ticket_id TEXT NOT NULL,
      status TEXT NOT NULL,
      at INTEGER NOT NULL
    );
  `);
  addColumn(sql, 'bookings', 'write_started_at', 'INTEGER');
  addColumn(sql, 'bookings', 'payment_attempt_id', 'TEXT');
  // The price each ticket was held at: what the booking charges and what Postgres records.
  addColumn(sql, 'booking_tickets', 'price_cents', 'INTEGER');
  // Each charge of a booking: the expiry its hold had before (given back when it fails) and the
  // provider's reference (a webhook's intent) once known.
  sql.exec(`
    CREATE TABLE IF NOT EXISTS payment_attempts (
      attempt_id TEXT PRIMARY KEY,
      booking_id TEXT NOT NULL,
      hold_expires_at INTEGER NOT NULL,
      reference TEXT,
      started_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS payment_attempts_booking ON payment_attempts(booking_id);
  `);
  if (attemptsBeforeIds) {
    sql.exec(`
      INSERT INTO payment_attempts (attempt_id, booking_id, hold_expires_at, started_at)
        SELECT 'before-ids-' || booking_id, booking_id, hold_expires_at, 0 FROM payment_attempts_before_ids;
      DROP TABLE payment_attempts_before_ids;
    `);
  }
  addColumn(sql, 'bookings', 'max_tickets_per_user', 'INTEGER');
  addColumn(sql, 'idempotency_keys', 'claimed_at', 'INTEGER');
  addColumn(sql, 'idempotency_keys', 'claim', 'TEXT');
  sql.exec(`
    CREATE TABLE IF NOT EXISTS refunds (
      reference TEXT PRIMARY KEY,
      booking_id TEXT NOT NULL,
      provider TEXT NOT NULL,
      amount_cents INTEGER NOT NULL,
      reason TEXT NOT NULL,
      owed_since INTEGER NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      next_attempt_at INTEGER,
      refunded_at INTEGER
    );
    CREATE INDEX IF NOT EXISTS refunds_booking ON refunds(booking_id);
    CREATE INDEX IF NOT EXISTS refunds_due ON refunds(next_attempt_at) WHERE refunded_at IS NULL;
  `);
  // The alarm's next deadline is found by index, not by a scan of every booking the event ever had (invariant 8).
  sql.exec(`
    CREATE INDEX IF NOT EXISTS bookings_open_expiry ON bookings(expires_at) WHERE status IN ('pending', 'paying');
    CREATE INDEX IF NOT EXISTS bookings_write_due ON bookings(next_retry_at) WHERE write_pending = 1;
  `);
  // A hold's ticket limit counts the buyer's purchases by index, not by a scan of the venue's tickets.
  sql.exec(`CREATE INDEX IF NOT EXISTS tickets_sold_to_user ON tickets(sold_to_user) WHERE sold_to_user IS NOT NULL`);
  // Each ticket's place in the seat map (API.md's seat index, Postgres position − 1) and its
  // name, so compact seat resources and booking answers need no catalog document. Objects loaded
  // before these columns relearn them once (TicketLock, meta 'seat_index_learnt').
  addColumn(sql, 'tickets', 'seat_index', 'INTEGER');
  addColumn(sql, 'tickets', 'section', 'TEXT');
  addColumn(sql, 'tickets', 'row_name', 'TEXT');
  addColumn(sql, 'tickets', 'seat_number', 'INTEGER');
  sql.exec(`CREATE UNIQUE INDEX IF NOT EXISTS tickets_seat_index ON tickets(seat_index) WHERE seat_index IS NOT NULL`);
  // The seat index of each logged change, for compact stream frames (null: logged before it was known).
  addColumn(sql, 'changes', 'seat_index', 'INTEGER');
  // The alarm trims expired keys oldest first; claims never scan them.
  sql.exec(`CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys(created_at)`);
  // A ticket moved out of a booking (transferred) keeps its row, released: the booking lists it no
  // more, and a booking made by a transfer names the one it came from.
  addColumn(sql, 'booking_tickets', 'released_at', 'INTEGER');
  addColumn(sql, 'bookings', 'transferred_from', 'TEXT');
  allowEveryBookingStatus(sql);
}

/**
 * Bookings gained statuses past the five the first tables allowed by a CHECK (transferring,
 * transferred, refunded, …; src/durable/ticket-lock/types.ts): SQLite cannot drop a CHECK, so a
 * table made with it is copied once into one without it, keeping every column and index.
 */
function allowEveryBookingStatus(sql: SqlStorage): void {
  const table = sql.exec<{ sql: string }>(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'bookings'`).one().sql;
  const check = /\s*CHECK \(status IN \([^)]*\)\)/;
  if (!check.test(table)) return;
  sql.exec(table.replace(check, '').replace(/^CREATE TABLE bookings/, 'CREATE TABLE bookings_without_check'));
  sql.exec(`
    INSERT INTO bookings_without_check SELECT * FROM bookings;
    DROP TABLE bookings;
    ALTER TABLE bookings_without_check RENAME TO bookings;
    CREATE INDEX IF NOT EXISTS bookings_user ON bookings(user_id);
    CREATE INDEX IF NOT EXISTS bookings_open_expiry ON bookings(expires_at) WHERE status IN ('pending', 'paying');
    CREATE INDEX IF NOT EXISTS bookings_write_due ON bookings(next_retry_at) WHERE write_pending = 1;
  `);
}

function hasColumn(sql: SqlStorage, table: string, column: string): boolean {
  return sql.exec(`SELECT 1 FROM pragma_table_info(?) WHERE name = ?`, table, column).toArray().length > 0;
}

function addColumn(sql: SqlStorage, table: string, column: string, definition: string): void {
  if (!hasColumn(sql, table, column)) sql.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
}
