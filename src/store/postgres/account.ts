/**
 * The account document's writes (`account jsonb`, `account_version bigint`):
 * the compare-and-set that the factor changes make with their change, and the
 * two operations that write it on their own, `updateAccount` and `resetUser`.
 * @module
 */
import { checkNow, checkUserId, describe } from '../../_assert.ts';
import type {
  AccountUpdateOutcome,
  AccountWrite,
  AccountWriteOptions,
  ResetUserOutcome,
} from '../contract.ts';
import { isObject } from './document.ts';
import { runWrite } from './statement.ts';
import { firstRow, GUARDED, RESET_THROTTLE, type PostgresQueryClient } from './table.ts';

/** Checks an account write and returns its version and its document as JSON text. */
export function accountValues(write: AccountWrite, field: string): [number, string] {
  if (write === null || typeof write !== 'object') {
    throw new TypeError(`"${field}" must be an object, got ${describe(write)}`);
  }
  const { version, account } = write;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
    throw new RangeError(`"${field}.version" must be a safe integer ≥ 0, got ${describe(version)}`);
  }
  if (!isObject(account)) {
    throw new TypeError(`"${field}.account" must be an object, got ${describe(account)}`);
  }
  return [version, JSON.stringify(account)];
}

/**
 * What the `UPDATE … SET` of an account write assigns (`$v` the version read,
 * `$doc` the document), for the statements that make one with a change.
 */
export const WRITE_ACCOUNT = (doc: string, version: string) =>
  `account = ${doc}::jsonb, account_version = ${version}::bigint + 1`;

/**
 * `updateAccount` and `resetUser` in one statement each. `inserted` creates
 * the row of a user without one, only at version 0 (the version of no row);
 * otherwise `current` locks the row and `decision` answers in the contract's
 * order (erasure guard at `$4`, version `$3`); `updated` writes only then,
 * dropping a guard that ended. Neither: either the version read was not 0
 * (a conflict: there is no row) or the row was created after this
 * statement's snapshot (run again).
 */
function accountSQL(table: string, reset: boolean): string {
  const cleared = reset
    ? `factors = '{}'::jsonb, pending = NULL, pending_expires_at = NULL, recovery_salt = NULL,
    recovery_hashes = NULL, ${RESET_THROTTLE},`
    : '';
  const outcome = reset ? 'reset' : 'updated';
  return `WITH inserted AS (
  INSERT INTO ${table} (user_id, account, account_version)
  SELECT $1, $2::jsonb, 1 WHERE $3::bigint = 0
  ON CONFLICT (user_id) DO NOTHING
  RETURNING 1
), current AS (
  SELECT erased_until, account_version FROM ${table} WHERE user_id = $1 FOR UPDATE
), decision AS (
  SELECT CASE WHEN ${GUARDED('erased_until', '$4::bigint')} THEN 'erased'
      WHEN account_version <> $3::bigint THEN 'conflict'
      ELSE '${outcome}' END AS outcome
  FROM current
), updated AS (
  UPDATE ${table} AS stored SET ${cleared}
    account = $2::jsonb, account_version = $3::bigint + 1, erased_until = NULL
  FROM decision AS d WHERE stored.user_id = $1 AND d.outcome = '${outcome}'
  RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM inserted) AS inserted, (SELECT outcome FROM decision) AS outcome`;
}

/** How often an account write runs again when another statement created the row meanwhile. */
const ACCOUNT_ATTEMPTS = 3;

/** The account operations of a store on `table`, their statements built once. */
export function accountOperations(client: PostgresQueryClient, table: string) {
  const statements = { update: accountSQL(table, false), reset: accountSQL(table, true) };

  async function write(
    operation: 'updateAccount' | 'resetUser',
    userId: string,
    options: AccountWriteOptions,
  ): Promise<string> {
    checkUserId(userId);
    const [version, doc] = accountValues(options, 'options');
    const now = checkNow(options.now);
    const sql = operation === 'updateAccount' ? statements.update : statements.reset;
    for (let attempt = 0; attempt < ACCOUNT_ATTEMPTS; attempt++) {
      const row = firstRow(await runWrite(client, operation, sql, [userId, doc, version, now]));
      if (row?.inserted === true) return 'done';
      if (row?.outcome != null) return String(row.outcome);
      if (version !== 0) return 'conflict';
    }
    throw new Error(`${operation} could not lock the row of the user`);
  }

  return {
    async updateAccount(
      userId: string,
      options: AccountWriteOptions,
    ): Promise<AccountUpdateOutcome> {
      const outcome = await write('updateAccount', userId, options);
      if (outcome === 'done') return 'updated';
      if (outcome === 'updated' || outcome === 'conflict' || outcome === 'erased') return outcome;
      throw new TypeError(`the store returned a bad outcome: ${describe(outcome)}`);
    },

    async resetUser(userId: string, options: AccountWriteOptions): Promise<ResetUserOutcome> {
      const outcome = await write('resetUser', userId, options);
      if (outcome === 'done') return 'reset';
      if (outcome === 'reset' || outcome === 'conflict' || outcome === 'erased') return outcome;
      throw new TypeError(`the store returned a bad outcome: ${describe(outcome)}`);
    },
  };
}
