// What the store throws besides the database's own failures: a unique key already taken, and a
// stored JSON column that does not hold what it should.

/** A write would give a unique key (a name, a gateway pair, a route's owner) a second row. */
export class DuplicateError extends Error {
  override name = 'DuplicateError';
}

/** A stored column failed validation; the row was not written by this controller as it is now. */
export class CorruptRowError extends Error {
  override name = 'CorruptRowError';
  constructor(
    readonly table: string,
    readonly column: string,
    readonly rowId: string | number,
    why: string,
  ) {
    super(`${table} ${rowId}: column ${column} ${why}`);
  }
}
