/**
 * The client interface, the table name, and the row: its columns and how a
 * row becomes a {@link UserRecord}.
 * @module
 */
import { describe } from '../../_assert.ts';
import { isEmptyRecord } from '../throttle.ts';
import type { RecoveryCodeSet, UserRecord } from '../contract.ts';
import { decodeFactors, decodePending } from '../_codec.ts';
import { toInteger, toText } from '../_database.ts';
import { decodeAccount } from './document.ts';

/**
 * The part of a PostgreSQL client the store uses: `query(text, values)`
 * resolving to `{ rows }`, with rows as objects keyed by column name. A
 * `pg.Pool`, a `pg.Client` and a PGlite instance all fit.
 */
export interface PostgresQueryClient {
  /**
   * Runs one parameterised statement.
   *
   * @param text - the SQL, with `$1`, `$2`, … placeholders
   * @param values - the parameter values
   * @returns the result
   */
  query(text: string, values: unknown[]): Promise<PostgresQueryResult>;
}

/** What {@link PostgresQueryClient.query} resolves to (other properties are ignored). */
export interface PostgresQueryResult {
  /** The result rows, as objects keyed by column name. */
  rows: unknown[];
}

/** Options for {@link PostgresStore}. */
export interface PostgresStoreOptions {
  /**
   * The client to run statements through: a `pg.Pool`, a `pg.Client` or
   * PGlite, outside any transaction of yours (inside one, every write is
   * refused with `MFAError` `'ERR_STORE'`, writing nothing).
   */
  client: PostgresQueryClient;
  /**
   * The table name, optionally schema-qualified (`auth.totpkit_mfa`): lowercase
   * letters, digits and `_`, not starting with a digit, each part at most 40
   * characters. Default `'totpkit_mfa'`.
   */
  table?: string;
  /**
   * How long the throttle state of a user without an active factor is kept
   * after it last mattered, in milliseconds: such a row becomes eligible for
   * {@link PostgresStore.deleteExpired} at `max(otp_blocked_until,
   * recovery_blocked_until, pending_expires_at) + throttleRetentionMs`. So a
   * lock survives `disable` for this long after the last attempt. An integer
   * ≥ 0; default 604,800,000 (7 days). Rows of users with an active factor
   * are never deleted.
   */
  throttleRetentionMs?: number;
}

export const DEFAULT_TABLE = 'totpkit_mfa';
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,39}$/;

/** The columns of one user's row, as `getUser` reads them. */
export const COLUMNS = `user_id, factors, pending, recovery_salt, recovery_hashes, otp_failures,
  otp_guesses, otp_blocked_until, recovery_failures, recovery_guesses, recovery_blocked_until,
  account, account_version`;

/** Both throttle scopes reset: what a binding and a recovery code do. */
export const RESET_THROTTLE = `otp_failures = 0, otp_guesses = 0, otp_blocked_until = 0,
  recovery_failures = 0, recovery_guesses = 0, recovery_blocked_until = 0`;

/**
 * Whether the erasure guard in column `erasedUntil` is in force at `time`
 * (SQL expressions): `deleteUser` left it, and `time` is before its `until`.
 * A row with `erased_until` set holds nothing else (a CHECK says so); the
 * first write at or after `until` that creates state sets it back to `NULL`.
 */
export const GUARDED = (erasedUntil: string, time: string) =>
  `(${erasedUntil} IS NOT NULL AND ${time} < ${erasedUntil})`;

/**
 * The id of a factor in `factors` whose `secretDigest` is `digest` (SQL
 * expressions), or `NULL`: none, or `digest` is `NULL` (unknown, as for a
 * factor of 0.2). The row is locked, so this check and the write are one step.
 */
export const DUPLICATE = (factors: string, digest: string) =>
  `(SELECT e.key FROM jsonb_each(${factors}) AS e
    WHERE e.value->>'secretDigest' = ${digest} ORDER BY e.key LIMIT 1)`;

/** The number of active factors in a `factors` value. */
export const COUNT = (factors: string) => `(SELECT count(*) FROM jsonb_object_keys(${factors}))`;

export function checkTable(table: unknown): { name: string; bare: string } {
  if (typeof table !== 'string') {
    throw new TypeError(`"table" must be a string, got ${describe(table)}`);
  }
  const parts = table.split('.');
  if (parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part))) {
    throw new RangeError(
      `"table" must be a name or schema.name, each of lowercase letters, digits and _, ` +
        `not starting with a digit and at most 40 characters`,
    );
  }
  return { name: parts.map((part) => `"${part}"`).join('.'), bare: parts[parts.length - 1]! };
}

export type Row = Record<string, unknown>;

export function firstRow(result: PostgresQueryResult): Row | undefined {
  const row = result.rows[0];
  return row === undefined ? undefined : (row as Row);
}

function toRecord(row: Row): UserRecord {
  let recoveryCodes: RecoveryCodeSet | null = null;
  if (row.recovery_salt != null) {
    const hashes = row.recovery_hashes;
    if (!Array.isArray(hashes)) {
      throw new TypeError(`the store returned a bad "recovery_hashes": ${describe(hashes)}`);
    }
    recoveryCodes = {
      salt: toText(row.recovery_salt, 'recovery_salt'),
      hashes: hashes.map((hash: unknown) => toText(hash, 'recovery_hashes')),
    };
  }
  const factors: unknown = typeof row.factors === 'string' ? JSON.parse(row.factors) : row.factors;
  if (factors === null || typeof factors !== 'object') {
    throw new TypeError(`the store returned bad "factors": ${describe(factors)}`);
  }
  return {
    userId: toText(row.user_id, 'user_id'),
    factors: decodeFactors(Object.values(factors)),
    pending: row.pending == null ? null : decodePending(row.pending),
    recoveryCodes,
    throttle: {
      otp: {
        failures: toInteger(row.otp_failures, 'otp_failures'),
        guesses: toInteger(row.otp_guesses, 'otp_guesses'),
        blockedUntil: toInteger(row.otp_blocked_until, 'otp_blocked_until'),
      },
      recovery: {
        failures: toInteger(row.recovery_failures, 'recovery_failures'),
        guesses: toInteger(row.recovery_guesses, 'recovery_guesses'),
        blockedUntil: toInteger(row.recovery_blocked_until, 'recovery_blocked_until'),
      },
    },
    account: decodeAccount(row.account),
    accountVersion:
      row.account_version == null ? 0 : toInteger(row.account_version, 'account_version'),
  };
}

/**
 * A row as `getUser` returns it: `null` if it holds nothing (no factor,
 * enrollment, codes, failures or account document), as an erasure guard's
 * row never does.
 */
export function toRecordOrNull(row: Row | undefined): UserRecord | null {
  if (row === undefined) return null;
  const record = toRecord(row);
  return isEmptyRecord(record) ? null : record;
}
