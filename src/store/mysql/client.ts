/**
 * The part of a MySQL/MariaDB driver the store uses, and the one way it
 * changes a user's row: a short transaction that locks the row, decides in
 * JavaScript, writes, and commits, retried whole when InnoDB gives up on it.
 * @module
 */
import { describe } from '../../_assert.ts';

/** One connection of a pool: `mysql2/promise`'s `PoolConnection` fits. */
export interface MySQLConnection {
  /**
   * Runs one statement with `?` placeholders.
   *
   * @param sql - the statement
   * @param values - the placeholder values
   * @returns `[rows, fields]` for a SELECT, `[result, …]` for a write
   */
  query(sql: string, values?: unknown[]): Promise<[unknown, unknown]>;
  /** Starts a transaction. */
  beginTransaction(): Promise<void>;
  /** Commits it. */
  commit(): Promise<void>;
  /** Rolls it back. */
  rollback(): Promise<void>;
  /** Gives the connection back to its pool. */
  release(): void;
  /** Closes the connection instead of giving it back (after it failed mid-transaction). */
  destroy?(): void;
}

/**
 * The client the store runs on: a `mysql2/promise` pool (`createPool`). Every
 * change runs in a transaction on a connection of its own, so a single
 * connection (`createConnection`) does not fit: it would interleave the
 * transactions of concurrent calls.
 */
export interface MySQLPool {
  /**
   * Runs one statement on any connection.
   *
   * @param sql - the statement, with `?` placeholders
   * @param values - the placeholder values
   * @returns `[rows, fields]`
   */
  query(sql: string, values?: unknown[]): Promise<[unknown, unknown]>;
  /** Takes a connection from the pool, for a transaction. */
  getConnection(): Promise<MySQLConnection>;
}

/** Checks the `client` option: a pool with `query` and `getConnection`. */
export function checkPool(client: unknown): MySQLPool {
  if (
    client === null ||
    typeof client !== 'object' ||
    typeof (client as MySQLPool).query !== 'function' ||
    typeof (client as MySQLPool).getConnection !== 'function'
  ) {
    throw new TypeError(
      `"client" must be a mysql2/promise pool (createPool): an object with query() and ` +
        `getConnection(), got ${describe(client)}`,
    );
  }
  return client as MySQLPool;
}

/**
 * InnoDB's answers that roll a whole transaction back and mean "try again":
 * a deadlock (1213), a lock wait timeout (1205, rolled back as a whole by the
 * store's own ROLLBACK), and a duplicate key (1062) from two transactions that
 * both found no row and both inserted one: the loser's retry finds the row.
 */
const RETRIED = new Set([1213, 1205, 1062]);

/** Attempts of one change before its error is reported. */
const MAX_ATTEMPTS = 20;

function errno(error: unknown): number | undefined {
  const value = (error as { errno?: unknown } | null)?.errno;
  return typeof value === 'number' ? value : undefined;
}

/**
 * Runs `work` in a transaction on a connection of its own, committing if it
 * returns, rolling back if it throws. A transaction InnoDB rolled back for
 * a retryable reason (see {@link RETRIED}) runs again from the start: nothing
 * of it was written. A connection that failed in the middle is destroyed, not
 * returned to the pool. If the commit's acknowledgement is lost (the
 * connection drops during COMMIT), the call fails although the write may have
 * happened: the service then reports a store error and accepts no code, so a
 * step can be recorded without its code being accepted, never the reverse.
 */
export async function inTransaction<T>(
  pool: MySQLPool,
  work: (connection: MySQLConnection) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const connection = await pool.getConnection();
    let healthy = true;
    try {
      // READ COMMITTED, for this transaction only: at InnoDB's default
      // (REPEATABLE READ) a locking read of a missing row locks the gap
      // around it, so first writes of different new users block each other
      // and deadlock; here they meet only on the same key.
      await connection.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
      await connection.beginTransaction();
      const result = await work(connection);
      await connection.commit();
      return result;
    } catch (error) {
      try {
        await connection.rollback();
      } catch {
        healthy = false;
      }
      // mysql2 marks errors that broke the connection as fatal.
      if ((error as { fatal?: unknown } | null)?.fatal === true) healthy = false;
      const code = errno(error);
      if (code === undefined || !RETRIED.has(code) || attempt === MAX_ATTEMPTS) throw error;
      // A short, random, growing pause spreads the retries of racing transactions.
      await new Promise((resolve) =>
        setTimeout(resolve, Math.random() * Math.min(50, 2 * attempt)),
      );
    } finally {
      if (healthy) connection.release();
      else if (typeof connection.destroy === 'function') connection.destroy();
      else connection.release();
    }
  }
}

/** The rows of a SELECT, as objects keyed by column name. */
export function rowsOf(result: [unknown, unknown]): Record<string, unknown>[] {
  const rows = result[0];
  if (!Array.isArray(rows)) throw new TypeError(`the store expected rows, got ${describe(rows)}`);
  return rows as Record<string, unknown>[];
}
