/**
 * The table: its options and name, the statement builder, the columns, and
 * how a row becomes a {@link UserRecord}.
 *
 * One row per user, as in PostgresStore: the factors are one JSON array of
 * objects and the pending enrollment one JSON object, both in the shared
 * codec's form (numbers as decimal strings), the recovery hashes a JSON
 * array, the throttle state and the erasure guard integer columns, the
 * account document JSON text kept exactly as written, with its version. (An
 * array rather than an object keyed by id: SQLite's JSON paths cannot name a
 * key that holds any character, and `$[#]` appends.)
 * @module
 */
import { describe } from '../../_assert.ts';
import { decodeAccount, decodeFactors, decodePending } from '../_codec.ts';
import { toInteger, toText } from '../_database.ts';
import { isEmptyRecord } from '../throttle.ts';
import type { AccountWrite, RecoveryCodeSet, ThrottleScope, UserRecord } from '../contract.ts';
import type { SQLiteDriver, SQLiteRow, SQLiteStatement, SQLiteValue } from './driver.ts';

/** Options for {@link SQLiteStore}. */
export interface SQLiteStoreOptions {
  /**
   * The database: {@link betterSqlite3Driver}, {@link bunSqliteDriver},
   * {@link d1Driver}, or your own {@link SQLiteDriver}.
   */
  driver: SQLiteDriver;
  /**
   * The table name: lowercase letters, digits and `_`, not starting with a
   * digit, at most 40 characters. Default `'totpkit_mfa'`.
   */
  table?: string;
  /**
   * How long the throttle state of a user without an active factor is kept
   * after it last mattered, in milliseconds: such a row becomes eligible for
   * {@link SQLiteStore.deleteExpired} at `max(otp_blocked_until,
   * recovery_blocked_until, pending_expires_at) + throttleRetentionMs`. An
   * integer ≥ 0; default 604,800,000 (7 days). Rows of users with an active
   * factor are never deleted.
   */
  throttleRetentionMs?: number;
}

export const DEFAULT_TABLE = 'totpkit_mfa';
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,39}$/;

/** Checks the table option; returns it quoted for SQL, and bare for index names. */
export function checkTable(table: unknown): { name: string; bare: string } {
  if (typeof table !== 'string') {
    throw new TypeError(`"table" must be a string, got ${describe(table)}`);
  }
  if (!IDENTIFIER.test(table) || table.startsWith('sqlite_')) {
    throw new RangeError(
      `"table" must be a name of lowercase letters, digits and _, not starting with a digit ` +
        `or sqlite_, at most 40 characters`,
    );
  }
  return { name: `"${table}"`, bare: table };
}

/** A piece of SQL with the values of its `?` placeholders. */
class Fragment implements SQLiteStatement {
  constructor(
    readonly sql: string,
    readonly params: readonly SQLiteValue[],
  ) {}
}

/** SQL text inlined as it is: a checked table name, a fixed column name. */
export function raw(text: string): Fragment {
  return new Fragment(text, []);
}

/**
 * A statement from a template: each `${value}` becomes a `?` placeholder
 * with that value, except fragments (from `raw` or `sql`), whose text and
 * values are inlined. So the text is the same on every call of a flow (the
 * drivers cache compiled statements by it), and no value is ever in it.
 */
export function sql(
  strings: TemplateStringsArray,
  ...values: (SQLiteValue | Fragment)[]
): Fragment {
  let text = strings[0]!;
  const params: SQLiteValue[] = [];
  values.forEach((value, i) => {
    if (value instanceof Fragment) {
      text += value.sql;
      params.push(...value.params);
    } else {
      text += '?';
      params.push(value);
    }
    text += strings[i + 1]!;
  });
  return new Fragment(text, params);
}

/** The column names of a throttle scope (fixed names, chosen by a checked scope). */
export function scopeColumns(scope: ThrottleScope) {
  return {
    failures: raw(`${scope}_failures`),
    guesses: raw(`${scope}_guesses`),
    blockedUntil: raw(`${scope}_blocked_until`),
  };
}

/** The columns of one user's row, as {@link toRecord} reads them. */
export const COLUMNS = raw(`user_id, factors, pending, recovery_salt, recovery_hashes,
  otp_failures, otp_guesses, otp_blocked_until,
  recovery_failures, recovery_guesses, recovery_blocked_until, erased_until,
  account, account_version`);

/** Resets both throttle scopes. */
export const RESET_THROTTLE = raw(`otp_failures = 0, otp_guesses = 0, otp_blocked_until = 0,
  recovery_failures = 0, recovery_guesses = 0, recovery_blocked_until = 0`);

/** The number of active factors in the row. */
export const FACTOR_COUNT = raw(`json_array_length(factors)`);

/** Whether the row has no active factor. */
export const NO_FACTOR = raw(`json_array_length(factors) = 0`);

/** A row as a record (even an empty one). */
export function toRecord(row: SQLiteRow): UserRecord {
  let recoveryCodes: RecoveryCodeSet | null = null;
  if (row.recovery_salt != null) {
    const hashes: unknown = JSON.parse(toText(row.recovery_hashes, 'recovery_hashes'));
    if (!Array.isArray(hashes)) {
      throw new TypeError(`the store returned a bad "recovery_hashes": ${describe(hashes)}`);
    }
    recoveryCodes = {
      salt: toText(row.recovery_salt, 'recovery_salt'),
      hashes: hashes.map((hash: unknown) => toText(hash, 'recovery_hashes')),
    };
  }
  const factors: unknown = JSON.parse(toText(row.factors, 'factors'));
  if (!Array.isArray(factors)) {
    throw new TypeError(`the store returned bad "factors": ${describe(factors)}`);
  }
  const scope = (prefix: ThrottleScope) => ({
    failures: toInteger(row[`${prefix}_failures`], `${prefix}_failures`),
    guesses: toInteger(row[`${prefix}_guesses`], `${prefix}_guesses`),
    blockedUntil: toInteger(row[`${prefix}_blocked_until`], `${prefix}_blocked_until`),
  });
  return {
    userId: toText(row.user_id, 'user_id'),
    factors: decodeFactors(factors),
    pending: row.pending == null ? null : decodePending(toText(row.pending, 'pending')),
    recoveryCodes,
    throttle: { otp: scope('otp'), recovery: scope('recovery') },
    account: row.account == null ? null : decodeAccount(toText(row.account, 'account')),
    accountVersion: toInteger(row.account_version, 'account_version'),
  };
}

/**
 * Checks an account write before it reaches SQL (its version is compared
 * there) and returns its document as the JSON text to store.
 */
export function checkAccountWrite(write: AccountWrite, field = 'account'): string {
  if (write === null || typeof write !== 'object') {
    throw new TypeError(`"${field}" must be an object, got ${describe(write)}`);
  }
  const { version, account } = write;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
    throw new RangeError(`"${field}.version" must be a safe integer ≥ 0, got ${describe(version)}`);
  }
  if (account === null || typeof account !== 'object' || Array.isArray(account)) {
    throw new TypeError(`"${field}.account" must be an object, got ${describe(account)}`);
  }
  return JSON.stringify(account);
}

/**
 * The `SET` of an account write (checked by {@link checkAccountWrite}): the
 * document and the next version.
 */
export function setAccount(write: AccountWrite, text: string): Fragment {
  return sql`account = ${text}, account_version = ${write.version + 1}`;
}

/** Whether the row's account version is still `write.version` (compare-and-set). */
export function versionIs(write: AccountWrite): Fragment {
  return sql`account_version = ${write.version}`;
}

/**
 * The outcome of a compare-and-set on a user without a row: version 0, so
 * `'conflict'` unless the service read 0.
 */
export function missingRowConflict(write: AccountWrite | undefined): boolean {
  return write !== undefined && write.version !== 0;
}

/** A row as `getUser` returns it: `null` if there is none or it holds nothing. */
export function toRecordOrNull(row: SQLiteRow | undefined): UserRecord | null {
  if (row === undefined) return null;
  const record = toRecord(row);
  return isEmptyRecord(record) ? null : record;
}

/** The table's statements run through one driver. */
export interface Table {
  /** The driver. */
  driver: SQLiteDriver;
  /** The quoted table name, for SQL. */
  name: Fragment;
}

/** Whether the row has active factor `id`. */
export function hasFactor(id: string): Fragment {
  return sql`EXISTS (SELECT 1 FROM json_each(factors) WHERE json_extract(value, '$.id') = ${id})`;
}

/**
 * The row's `factors` with factor `id`'s object replaced by `change`, an
 * expression on `value` (that factor's object), e.g. a `json_set(value, …)`.
 */
export function withFactor(id: string, change: Fragment): Fragment {
  return sql`(SELECT json_group_array(CASE WHEN json_extract(value, '$.id') = ${id}
    THEN ${change} ELSE json(value) END) FROM json_each(factors))`;
}

/** The row's `factors` without factor `id` (`'[]'` if none is left). */
export function withoutFactor(id: string): Fragment {
  return sql`(SELECT json_group_array(json(value)) FROM json_each(factors)
    WHERE json_extract(value, '$.id') IS NOT ${id})`;
}
