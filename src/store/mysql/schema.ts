/**
 * The table: its schema, created under a named lock, and the columns that
 * index a row for the periodic clean-up.
 * @module
 */
import { describe } from '../../_assert.ts';
import { storeError } from '../scrub.ts';
import { rowsOf, type MySQLPool } from './client.ts';

export const DEFAULT_TABLE = 'totpkit_mfa';
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,39}$/;

/** Checks the `table` option: a bare name, or `database.name`; returns it quoted. */
export function checkTable(table: unknown): { name: string; bare: string } {
  if (typeof table !== 'string') {
    throw new TypeError(`"table" must be a string, got ${describe(table)}`);
  }
  const parts = table.split('.');
  if (parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part))) {
    throw new RangeError(
      `"table" must be a name or database.name, each of lowercase letters, digits and _, ` +
        `not starting with a digit and at most 40 characters`,
    );
  }
  return { name: parts.map((part) => `\`${part}\``).join('.'), bare: parts[parts.length - 1]! };
}

/**
 * One row per user. `user_id` is the id's UTF-8 bytes in a VARBINARY column,
 * compared byte for byte: MariaDB's `utf8mb4_bin` pads with spaces, so
 * `'alice'` and `'alice '` would share a row. `state` is the user's state as
 * JSON (see document.ts). The three moments are copies of what `state` says,
 * written in the same statement, so that the clean-up finds its rows through
 * an index instead of reading every row:
 *
 * - `pending_due`: when the pending enrollment is to be removed (its expiry),
 *   `NULL` if there is none or it stays with the row;
 * - `idle_since`: for a user without an active factor, when the throttle
 *   state stops mattering but for the retention, and not before the account
 *   document's `keepUntil` minus the retention; `NULL` with a factor or while
 *   the document's `keepUntil` is `null` (kept for ever);
 * - `guard_until`: the end of an erasure guard, `NULL` if none.
 */
function createTable(table: string, bare: string): string {
  return `CREATE TABLE IF NOT EXISTS ${table} (
  user_id VARBINARY(1024) NOT NULL,
  state LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  pending_due BIGINT NULL,
  idle_since BIGINT NULL,
  guard_until BIGINT NULL,
  PRIMARY KEY (user_id),
  KEY \`${bare}_pending_due\` (pending_due),
  KEY \`${bare}_idle_since\` (idle_since),
  KEY \`${bare}_guard_until\` (guard_until)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;
}

/**
 * Creates the table if it does not exist, under a named lock (`GET_LOCK`) so
 * that processes starting at once create it once and none sees it half made.
 */
export async function migrate(pool: MySQLPool, table: string, bare: string): Promise<void> {
  const connection = await pool.getConnection().catch((cause: unknown) => {
    throw storeError('MySQLStore.migrate', cause);
  });
  const lock = `totpkit:${table}`;
  try {
    const [row] = rowsOf(await connection.query('SELECT GET_LOCK(?, 60) AS got', [lock]));
    if (Number(row?.got) !== 1) {
      throw new Error('another process held the migration lock for 60 s');
    }
    try {
      await connection.query(createTable(table, bare));
    } finally {
      await connection.query('SELECT RELEASE_LOCK(?)', [lock]);
    }
  } catch (cause) {
    throw storeError('MySQLStore.migrate', cause);
  } finally {
    connection.release();
  }
}
