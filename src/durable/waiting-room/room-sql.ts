// The room's SQL, through one door that counts the rows each statement read: the measure of a
// tick's work that the tests compare at 1,000 and 100,000 people in line (rows read are
// deterministic where time is not).

export class RoomSql {
  /** Rows read by every statement so far (the cursor's `rowsRead`, summed). */
  rowsRead = 0;

  constructor(private readonly sql: SqlStorage) {}

  /** Every row of a query, read to the end (a cursor's `rowsRead` is complete only then). */
  all<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: SqlStorageValue[]): T[] {
    const cursor = this.sql.exec<T>(query, ...bindings);
    const rows = cursor.toArray();
    this.rowsRead += cursor.rowsRead;
    return rows;
  }

  first<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: SqlStorageValue[]): T | undefined {
    return this.all<T>(query, ...bindings)[0];
  }

  /** A statement run for its effect; returns the rows it wrote. */
  run(query: string, ...bindings: SqlStorageValue[]): number {
    const cursor = this.sql.exec(query, ...bindings);
    cursor.toArray();
    this.rowsRead += cursor.rowsRead;
    return cursor.rowsWritten;
  }

  meta(key: string): string | null {
    return this.first<{ value: string }>(`SELECT value FROM meta WHERE key = ?`, key)?.value ?? null;
  }

  setMeta(key: string, value: string): void {
    this.run(`INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)`, key, value);
  }

  deleteMeta(key: string): void {
    this.run(`DELETE FROM meta WHERE key = ?`, key);
  }
}
