/**
 * The driver seam of {@link SQLiteStore}: two calls, a single statement and
 * an atomic list of statements, and the adapters that give them for
 * better-sqlite3 (Node), `bun:sqlite` (Bun) and Cloudflare D1.
 *
 * The store never holds a transaction open across an `await`: every
 * operation is either one statement or one list of statements that the
 * driver runs as one write transaction, with no code of the store between
 * them. That is what D1 offers (`batch()`; it has no interactive
 * transactions), and on a file it is `BEGIN IMMEDIATE` … `COMMIT`, which
 * takes the write lock before the first read, so that no other process
 * writes between the reads and the writes of the list.
 *
 * The adapters import nothing: each takes the object its driver made, typed
 * structurally by the few methods it calls.
 * @module
 */
import { checkInteger, checkOptions, describe } from '../../_assert.ts';

/** A value bound to a `?` placeholder. */
export type SQLiteValue = string | number | null;

/** A result row, keyed by column name. */
export type SQLiteRow = Record<string, unknown>;

/** One statement: SQL text with `?` placeholders, and their values in order. */
export interface SQLiteStatement {
  /** The SQL, with anonymous `?` placeholders only. */
  readonly sql: string;
  /** The values of the placeholders, in order. */
  readonly params: readonly SQLiteValue[];
}

/**
 * What {@link SQLiteStore} needs from a database: run one statement, or run
 * a list of statements as one atomic write transaction. Write one for another
 * driver in a few lines (see the adapters' source); the conformance suite
 * `testMFAStore` then tells whether it is right.
 */
export interface SQLiteDriver {
  /**
   * Runs one statement on its own (SQLite makes a single statement atomic).
   *
   * @param statement - the statement
   * @returns its result rows (none for a statement that returns no rows)
   */
  run(statement: SQLiteStatement): Promise<SQLiteRow[]>;
  /**
   * Runs `statements` in order as one write transaction: all or nothing, and
   * no other writer between the first and the last (D1's `batch()`;
   * `BEGIN IMMEDIATE` … `COMMIT` on a file). If one fails, none has effect
   * and the promise rejects.
   *
   * @param statements - the statements, in order
   * @returns the result rows of each statement, in the same order
   */
  transaction(statements: readonly SQLiteStatement[]): Promise<SQLiteRow[][]>;
}

/** The part of a better-sqlite3 `Database` the adapter uses. */
export interface BetterSqlite3Database {
  /** Compiles a statement. */
  prepare(sql: string): BetterSqlite3Statement;
  /** Runs SQL without results (the adapter's `PRAGMA`s). */
  exec(sql: string): unknown;
  /** Wraps a function in a transaction. */
  transaction<A extends unknown[], R>(
    fn: (...args: A) => R,
  ): {
    /** Runs the function between `BEGIN IMMEDIATE` and `COMMIT` (`ROLLBACK` if it throws). */
    immediate(...args: A): R;
  };
}

/**
 * The part of a better-sqlite3 `Statement` the adapter uses (it binds
 * {@link SQLiteValue}s only; `unknown[]` lets better-sqlite3's own types fit).
 */
export interface BetterSqlite3Statement {
  /** Whether the statement returns rows. */
  readonly reader: boolean;
  /** Runs it and returns every row. */
  all(...params: unknown[]): unknown[];
  /** Runs a statement that returns no rows. */
  run(...params: unknown[]): unknown;
}

/** The part of a `bun:sqlite` `Database` the adapter uses. */
export interface BunSqliteDatabase {
  /** Compiles (and caches) a statement; the adapter binds {@link SQLiteValue}s only. */
  query(sql: string): {
    /** Runs it and returns every row. */
    all(...params: unknown[]): unknown[];
  };
  /** Runs SQL without results (the adapter's `PRAGMA`s). */
  exec(sql: string): unknown;
  /** Wraps a function in a transaction. */
  transaction<A extends unknown[], R>(
    fn: (...args: A) => R,
  ): {
    /** Runs the function between `BEGIN IMMEDIATE` and `COMMIT` (`ROLLBACK` if it throws). */
    immediate(...args: A): R;
  };
}

/** The part of a Cloudflare D1 binding (`D1Database`) the adapter uses. */
export interface D1DatabaseLike {
  /** Compiles a statement. */
  prepare(sql: string): D1StatementLike;
  /** Runs statements as one SQL transaction. */
  batch(statements: D1StatementLike[]): Promise<D1ResultLike[]>;
}

/** The part of a D1 prepared statement the adapter uses. */
export interface D1StatementLike {
  /** Binds the placeholders' values. */
  bind(...values: SQLiteValue[]): D1StatementLike;
  /** Runs it and returns its rows. */
  all(): Promise<D1ResultLike>;
}

/** The part of a D1 result the adapter uses. */
export interface D1ResultLike {
  /** The rows, as objects keyed by column name. */
  results?: unknown[];
}

/** Options of the file adapters ({@link betterSqlite3Driver}, {@link bunSqliteDriver}). */
export interface SQLiteFileDriverOptions {
  /**
   * How long a statement waits for another connection's write lock before it
   * fails with `SQLITE_BUSY`, in ms (SQLite's `busy_timeout`): an integer
   * from 0 to 600,000, default 5,000. A write holds the lock for one store
   * operation, well under a millisecond, so the wait is that of the writers
   * queued ahead.
   */
  busyTimeoutMs?: number;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

/**
 * Sets the connection up for sharing a file: WAL (readers never wait for
 * the writer; a no-op on `:memory:`), and `busy_timeout`.
 */
function prepareConnection(db: { exec(sql: string): unknown }, options: unknown): void {
  const { busyTimeoutMs = DEFAULT_BUSY_TIMEOUT_MS } = checkOptions(
    options as SQLiteFileDriverOptions | undefined,
  );
  const timeout = checkInteger(busyTimeoutMs, 'busyTimeoutMs', 0, 600_000);
  // busy_timeout first: switching to WAL takes a lock another process may hold.
  db.exec(`PRAGMA busy_timeout = ${timeout}`);
  db.exec('PRAGMA journal_mode = WAL');
}

function rows(value: unknown[]): SQLiteRow[] {
  return value as SQLiteRow[];
}

/**
 * A {@link SQLiteDriver} over a better-sqlite3 `Database` (Node; version 12
 * supports Node 20). It sets the connection's `busy_timeout` and WAL mode.
 * Use one connection per process: the driver is synchronous, so calls of one
 * process never interleave, and processes take turns through SQLite's locks.
 *
 * @param db - an open `Database` (`new Database(path)`)
 * @param options - `busyTimeoutMs` (default 5,000)
 * @returns the driver
 * @throws TypeError if `db` lacks `prepare`, `exec` or `transaction`
 * @throws RangeError for a bad `busyTimeoutMs`
 * @example
 * ```ts fragment
 * import Database from 'better-sqlite3';
 * import { SQLiteStore, betterSqlite3Driver } from 'totpkit/sqlite';
 *
 * const store = new SQLiteStore({ driver: betterSqlite3Driver(new Database('mfa.db')) });
 * await store.migrate();
 * ```
 */
export function betterSqlite3Driver(
  db: BetterSqlite3Database,
  options?: SQLiteFileDriverOptions,
): SQLiteDriver {
  checkMethods(db, ['prepare', 'exec', 'transaction'], 'db');
  prepareConnection(db, options);
  const cache = new Map<string, BetterSqlite3Statement>();
  const one = ({ sql, params }: SQLiteStatement): SQLiteRow[] => {
    let statement = cache.get(sql);
    if (statement === undefined) {
      statement = db.prepare(sql);
      cache.set(sql, statement);
    }
    if (statement.reader) return rows(statement.all(...params));
    statement.run(...params);
    return [];
  };
  const many = db.transaction((statements: readonly SQLiteStatement[]) => statements.map(one));
  return {
    run: async (statement) => one(statement),
    transaction: async (statements) => many.immediate(statements),
  };
}

/**
 * A {@link SQLiteDriver} over a `bun:sqlite` `Database` (Bun). It sets the
 * connection's `busy_timeout` and WAL mode. As with better-sqlite3, use one
 * connection per process.
 *
 * @param db - an open `Database` (`new Database(path)`)
 * @param options - `busyTimeoutMs` (default 5,000)
 * @returns the driver
 * @throws TypeError if `db` lacks `query`, `exec` or `transaction`
 * @throws RangeError for a bad `busyTimeoutMs`
 * @example
 * ```ts fragment
 * import { Database } from 'bun:sqlite';
 * import { SQLiteStore, bunSqliteDriver } from 'totpkit/sqlite';
 *
 * const store = new SQLiteStore({ driver: bunSqliteDriver(new Database('mfa.db')) });
 * await store.migrate();
 * ```
 */
export function bunSqliteDriver(
  db: BunSqliteDatabase,
  options?: SQLiteFileDriverOptions,
): SQLiteDriver {
  checkMethods(db, ['query', 'exec', 'transaction'], 'db');
  prepareConnection(db, options);
  const one = ({ sql, params }: SQLiteStatement): SQLiteRow[] => rows(db.query(sql).all(...params));
  const many = db.transaction((statements: readonly SQLiteStatement[]) => statements.map(one));
  return {
    run: async (statement) => one(statement),
    transaction: async (statements) => many.immediate(statements),
  };
}

/**
 * A {@link SQLiteDriver} over a Cloudflare D1 binding (`env.DB` in a
 * Worker). D1 has no interactive transactions; the store needs none: a list
 * of statements goes as one `batch()`, which D1 runs as one transaction.
 *
 * @param db - the `D1Database` binding
 * @returns the driver
 * @throws TypeError if `db` lacks `prepare` or `batch`
 * @example
 * ```ts fragment
 * import { SQLiteStore, d1Driver, type D1DatabaseLike } from 'totpkit/sqlite';
 * declare const env: { DB: D1DatabaseLike };
 *
 * const store = new SQLiteStore({ driver: d1Driver(env.DB) });
 * ```
 */
export function d1Driver(db: D1DatabaseLike): SQLiteDriver {
  checkMethods(db, ['prepare', 'batch'], 'db');
  const bound = ({ sql, params }: SQLiteStatement) => db.prepare(sql).bind(...params);
  return {
    run: async (statement) => rows((await bound(statement).all()).results ?? []),
    transaction: async (statements) =>
      (await db.batch(statements.map(bound))).map((result) => rows(result.results ?? [])),
  };
}

function checkMethods(value: unknown, methods: readonly string[], field: string): void {
  const missing =
    value === null || typeof value !== 'object'
      ? methods
      : methods.filter(
          (method) => typeof (value as Record<string, unknown>)[method] !== 'function',
        );
  if (missing.length > 0) {
    throw new TypeError(
      `"${field}" must have ${methods.join(', ')} methods, got ${describe(value)}`,
    );
  }
}
