// The TicketLock's SQLite tables. Objects outlive deployments, so a column added later is also
// added to the tables of objects created before it (addColumn).

export function createTicketLockSchema(sql: SqlStorage): void {
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
      status TEXT NOT NULL CHECK (status IN ('pending', 'paying', 'confirmed', 'cancelled', 'expired')),
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
    -- The expiry a hold had before its payment began, given back when the payment fails.
    CREATE TABLE IF NOT EXISTS payment_attempts (
      booking_id TEXT PRIMARY KEY,
      hold_expires_at INTEGER NOT NULL
    );
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
  // The alarm trims expired keys oldest first; claims never scan them.
  sql.exec(`CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys(created_at)`);
}

function addColumn(sql: SqlStorage, table: string, column: string, definition: string): void {
  const exists = sql.exec(`SELECT 1 FROM pragma_table_info(?) WHERE name = ?`, table, column).toArray().length > 0;
  if (!exists) sql.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
}
