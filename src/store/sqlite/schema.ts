/**
 * The table's schema, created by `migrate()` in one transaction (and a
 * table of the 0.3 development schema, without the account document,
 * upgraded in place), and the periodic clean-up, each step one statement
 * that finds its rows through a partial index.
 * @module
 */
import { checkDeleteExpired } from '../_retention.ts';
import { storeError } from '../scrub.ts';
import type { DeleteExpiredOptions, DeleteExpiredResult } from '../contract.ts';
import { raw, sql, type Table } from './table.ts';

/** The columns of the account document, after `idle_since` (where `ALTER TABLE` adds them). */
const ACCOUNT_COLUMNS = [
  `account TEXT`,
  `account_version INTEGER NOT NULL DEFAULT 0`,
  `kept_until INTEGER GENERATED ALWAYS AS (CASE WHEN account IS NULL THEN 0
    ELSE json_extract(account, '$.keepUntil') END) VIRTUAL`,
];

/** The index of the rows `deleteExpired` may delete once they have been idle long enough. */
function idleIndex(name: string, bare: string): string {
  return `CREATE INDEX IF NOT EXISTS "${bare}_idle_since" ON ${name} (idle_since, kept_until)
  WHERE idle_since IS NOT NULL AND kept_until IS NOT NULL`;
}

/**
 * The schema. `idle_since` is, for a row without an active factor and
 * without an erasure guard, when its throttle state stops mattering but for
 * the retention; `NULL` otherwise. `account` is the account document (JSON
 * text, kept as written) and `account_version` its compare-and-set version.
 * `kept_until` is until when the document keeps the row: its `keepUntil`
 * (`NULL`: for ever), or 0 without a document. Both are virtual generated
 * columns: computed on write for their index only, stored nowhere else.
 * `erased_until` is set only on a row that holds nothing else: the erasure
 * guard left by `deleteUser`.
 */
export function schemaStatements(name: string, bare: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${name} (
  user_id TEXT PRIMARY KEY NOT NULL,
  factors TEXT NOT NULL DEFAULT '[]',
  pending TEXT,
  pending_expires_at INTEGER,
  recovery_salt TEXT,
  recovery_hashes TEXT,
  otp_failures INTEGER NOT NULL DEFAULT 0,
  otp_guesses INTEGER NOT NULL DEFAULT 0,
  otp_blocked_until INTEGER NOT NULL DEFAULT 0,
  recovery_failures INTEGER NOT NULL DEFAULT 0,
  recovery_guesses INTEGER NOT NULL DEFAULT 0,
  recovery_blocked_until INTEGER NOT NULL DEFAULT 0,
  erased_until INTEGER,
  idle_since INTEGER GENERATED ALWAYS AS (CASE
    WHEN json_array_length(factors) = 0 AND erased_until IS NULL
    THEN max(otp_blocked_until, recovery_blocked_until, coalesce(pending_expires_at, 0)) END)
    VIRTUAL,
  ${ACCOUNT_COLUMNS.join(',\n  ')},
  CHECK ((pending IS NULL) = (pending_expires_at IS NULL)),
  CHECK ((recovery_salt IS NULL) = (recovery_hashes IS NULL))
)`,
    `CREATE INDEX IF NOT EXISTS "${bare}_pending_expires_at" ON ${name} (pending_expires_at)
  WHERE pending_expires_at IS NOT NULL`,
    idleIndex(name, bare),
    `CREATE INDEX IF NOT EXISTS "${bare}_erased_until" ON ${name} (erased_until)
  WHERE erased_until IS NOT NULL`,
  ];
}

/**
 * The upgrade of a table created by the 0.3 development schema (no account
 * document): the account columns added where the new schema has them (at the
 * end), and the idle index made again with `kept_until`. Rows read as having
 * no document, version 0. Run in one transaction, only on a table without
 * `account`: a second run fails on the duplicate column and changes nothing.
 */
export function upgradeStatements(name: string, bare: string): string[] {
  return [
    ...ACCOUNT_COLUMNS.map((column) => `ALTER TABLE ${name} ADD COLUMN ${column}`),
    `DROP INDEX IF EXISTS "${bare}_idle_since"`,
    idleIndex(name, bare),
  ];
}

/** The schema operations of a store on `table`. */
export function schemaOperations(table: Table, bare: string, retentionMs: number) {
  const { driver, name } = table;
  const schema = schemaStatements(name.sql, bare).map(raw);
  const upgrade = upgradeStatements(name.sql, bare).map(raw);
  // Whether the table exists, and whether it has the account document.
  const columns = sql`SELECT count(*) AS n, coalesce(sum(name = 'account'), 0) AS account
FROM pragma_table_info(${bare})`;
  const shape = async (): Promise<'none' | 'old' | 'current'> => {
    const [row] = await driver.run(columns);
    if (Number(row?.n ?? 0) === 0) return 'none';
    return Number(row?.account) === 1 ? 'current' : 'old';
  };
  return {
    async migrate(): Promise<void> {
      try {
        // An older table first: its upgrade is one write transaction, and a
        // process that lost the race to another one's upgrade (its ALTER
        // fails on the column the other added) finds the table upgraded.
        if ((await shape()) === 'old') {
          await driver.transaction(upgrade).catch(async (cause: unknown) => {
            if ((await shape()) !== 'current') throw cause;
          });
        }
        // One write transaction: several processes starting at once take
        // turns, and each finds the table either absent or whole.
        await driver.transaction(schema);
      } catch (cause) {
        throw storeError('SQLiteStore.migrate', cause);
      }
    },

    async deleteExpired(now: number, options?: DeleteExpiredOptions): Promise<DeleteExpiredResult> {
      const checked = checkDeleteExpired(now, options);
      // Each step is one statement (atomic on its own) that picks at most
      // `limit` rows through its partial index, re-checking nothing: SQLite
      // runs the statement under the write lock, on the newest data. The
      // expired enrollment of a user with failures and no factor stays: its
      // expiry keeps their throttle state (idle_since), and it goes with the row.
      const limit = checked.limit;
      try {
        const cleared = await driver.run(sql`UPDATE ${name} SET pending = NULL,
  pending_expires_at = NULL
WHERE user_id IN (SELECT user_id FROM ${name} WHERE pending_expires_at <= ${checked.now}
  AND (json_array_length(factors) > 0 OR otp_failures + recovery_failures = 0) LIMIT ${limit})
RETURNING user_id`);
        // A row idle since 0 holds nothing at all: it goes whatever the retention.
        const idleBefore = Math.max(0, checked.now - retentionMs);
        // An account document keeps the row until its keepUntil, for ever while
        // that is null (kept_until NULL: not in the index).
        const deleted = await driver.run(sql`DELETE FROM ${name}
WHERE user_id IN (SELECT user_id FROM ${name} WHERE idle_since <= ${idleBefore}
  AND kept_until <= ${checked.now} LIMIT ${limit})
RETURNING user_id`);
        const guards = await driver.run(sql`DELETE FROM ${name}
WHERE user_id IN (SELECT user_id FROM ${name} WHERE erased_until <= ${checked.now}
  LIMIT ${limit})
RETURNING user_id`);
        const enrollments = cleared.length;
        return {
          enrollments,
          records: deleted.length + guards.length,
          more: enrollments === limit || deleted.length === limit || guards.length === limit,
        };
      } catch (cause) {
        throw storeError('SQLiteStore.deleteExpired', cause);
      }
    },
  };
}

/** What {@link schemaOperations} returns. */
export type SchemaOperations = ReturnType<typeof schemaOperations>;
