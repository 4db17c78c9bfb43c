/**
 * {@link SQLiteStore}: the MFA store in SQLite, one row per user, over a
 * small driver interface with adapters for better-sqlite3 (Node),
 * `bun:sqlite` (Bun) and Cloudflare D1.
 *
 * Every operation is one statement, or one list of statements that the
 * driver runs as one write transaction (`BEGIN IMMEDIATE` on a file, one
 * `batch()` on D1): the store never holds a transaction open across an
 * `await`, and no code of its own runs between a read and the write that
 * depends on it. So it is exact within a process, across processes sharing
 * one file (SQLite's write lock, `busy_timeout`), and across concurrent
 * requests on D1, which has no interactive transactions.
 *
 * The statements live beside the code that runs them, by flow, in
 * `sqlite/`: `driver.ts` (the seam and its adapters), `table.ts` (options,
 * columns, row codec, the statement builder, the account write's pieces),
 * `schema.ts`, `enrollment.ts`, `login.ts`, `recovery.ts`, `factors.ts` and
 * `account.ts`.
 * @module totpkit/sqlite
 */
import { checkUserId, describe } from '../_assert.ts';
import { checkRetention } from './_retention.ts';
import type {
  AccountUpdateOutcome,
  AccountWriteOptions,
  ActiveFactor,
  AddFactorOptions,
  AddFactorResult,
  AttemptReservation,
  DeleteExpiredOptions,
  DeleteExpiredResult,
  DeleteFactorsOutcome,
  DeleteUserOptions,
  FactorChangeOptions,
  FactorRemoval,
  FactorRenameOutcome,
  MFAStore,
  PendingActivation,
  PendingEnrollment,
  PutPendingOptions,
  PutPendingOutcome,
  ReadAndReserveOptions,
  ReadAndReserveResult,
  RecoveryCodeSet,
  RefundAttemptOptions,
  ReplaceRecoveryCodesOutcome,
  ReserveAttemptOptions,
  ResetUserOutcome,
  ThrottleScope,
  UserRecord,
} from './contract.ts';
import { accountOperations, type AccountOperations } from './sqlite/account.ts';
import { enrollmentOperations, type EnrollmentOperations } from './sqlite/enrollment.ts';
import { factorsOperations, type FactorsOperations } from './sqlite/factors.ts';
import { loginOperations, type LoginOperations } from './sqlite/login.ts';
import { recoveryOperations, type RecoveryOperations } from './sqlite/recovery.ts';
import { schemaOperations, type SchemaOperations } from './sqlite/schema.ts';
import { checkTable, DEFAULT_TABLE, raw, type SQLiteStoreOptions } from './sqlite/table.ts';

export type { DeleteExpiredOptions, DeleteExpiredResult } from './contract.ts';
export { betterSqlite3Driver, bunSqliteDriver, d1Driver } from './sqlite/driver.ts';
export type {
  BetterSqlite3Database,
  BetterSqlite3Statement,
  BunSqliteDatabase,
  D1DatabaseLike,
  D1ResultLike,
  D1StatementLike,
  SQLiteDriver,
  SQLiteFileDriverOptions,
  SQLiteRow,
  SQLiteStatement,
  SQLiteValue,
} from './sqlite/driver.ts';
export type { SQLiteStoreOptions } from './sqlite/table.ts';

/**
 * An {@link MFAStore} in SQLite: a database file shared by any number of
 * processes (better-sqlite3 on Node, `bun:sqlite` on Bun), or Cloudflare D1.
 * All of a user's state is one row of one table.
 *
 * Before use, call {@link SQLiteStore.migrate} (at startup; it is
 * idempotent, and safe when several processes start at once) or create the
 * schema from the SQL in `docs/stores.md` (on D1, as a migration file). Call
 * {@link SQLiteStore.deleteExpired} periodically (a Cron Trigger on Workers).
 *
 * @example
 * ```ts fragment
 * import Database from 'better-sqlite3';
 * import { createMFA, createAESGCMCipher } from 'totpkit';
 * import { SQLiteStore, betterSqlite3Driver } from 'totpkit/sqlite';
 *
 * const store = new SQLiteStore({ driver: betterSqlite3Driver(new Database('mfa.db')) });
 * await store.migrate();
 * const cipher = createAESGCMCipher({ keys: { k1: keyFromYourSecretManager }, primaryKeyId: 'k1' });
 * const mfa = createMFA({ store, issuer: 'Acme', cipher });
 * ```
 */
export class SQLiteStore implements MFAStore {
  readonly #schema: SchemaOperations;
  readonly #enrollment: EnrollmentOperations;
  readonly #login: LoginOperations;
  readonly #recovery: RecoveryOperations;
  readonly #factors: FactorsOperations;
  readonly #account: AccountOperations;

  /**
   * @param options - the driver and, optionally, the table name and `throttleRetentionMs`
   * @throws TypeError if `driver` lacks `run` or `transaction`, `table` is not a string or
   *   `throttleRetentionMs` is not a number
   * @throws RangeError if `table` is not a valid name or `throttleRetentionMs` is not an
   *   integer ≥ 0
   */
  constructor(options: SQLiteStoreOptions) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`"options" must be an object, got ${describe(options)}`);
    }
    const { driver } = options;
    if (
      driver === null ||
      typeof driver !== 'object' ||
      typeof driver.run !== 'function' ||
      typeof driver.transaction !== 'function'
    ) {
      throw new TypeError(`"driver" must have run, transaction methods, got ${describe(driver)}`);
    }
    const { name, bare } = checkTable(options.table ?? DEFAULT_TABLE);
    const retentionMs = checkRetention(options.throttleRetentionMs);
    const table = { driver, name: raw(name) };
    this.#schema = schemaOperations(table, bare, retentionMs);
    this.#enrollment = enrollmentOperations(table);
    this.#login = loginOperations(table);
    this.#recovery = recoveryOperations(table);
    this.#factors = factorsOperations(table);
    this.#account = accountOperations(table);
  }

  /**
   * Creates the table and its indexes if they do not exist, in one write
   * transaction, after upgrading in place a table of an earlier 0.3
   * development version (the account document's columns added, in one write
   * transaction too). Idempotent, and safe to run from several processes at
   * once: they take turns at SQLite's write lock.
   *
   * @returns once the schema exists
   * @throws MFAError `ERR_STORE` (its `cause` the driver's error, scrubbed),
   *   saying what to do
   */
  async migrate(): Promise<void> {
    return this.#schema.migrate();
  }

  /**
   * Removes pending enrollments that expired at or before `now`, rows that
   * hold nothing, rows of users without an active factor whose throttle
   * state stopped mattering (`max(otp_blocked_until, recovery_blocked_until,
   * pending_expires_at) + throttleRetentionMs ≤ now`), and erasure guards
   * that ended. Rows with an active factor are never deleted.
   *
   * Each step is one statement that finds its rows through a partial index,
   * so a call costs in proportion to what it removes, not to the table. Each
   * step changes at most `options.limit` rows (default 10,000); while the
   * result's `more` is `true`, call again. Run it periodically.
   *
   * @param now - Unix milliseconds; default `Date.now()`
   * @param options - `limit`: the most rows each step changes, 1 to 1,000,000 (default 10,000)
   * @returns how many enrollments and records it removed, and whether to call again
   * @throws TypeError or RangeError for a bad `now` or `limit`
   * @throws MFAError `ERR_STORE` if the database fails (its `cause` scrubbed), saying what to do
   * @example
   * ```ts fragment
   * import type { SQLiteStore } from 'totpkit/sqlite';
   * declare const store: SQLiteStore;
   * while ((await store.deleteExpired(Date.now(), { limit: 5000 })).more);
   * ```
   */
  async deleteExpired(
    now: number = Date.now(),
    options?: DeleteExpiredOptions,
  ): Promise<DeleteExpiredResult> {
    return this.#schema.deleteExpired(now, options);
  }

  async getUser(userId: string, now: number): Promise<UserRecord | null> {
    return this.#login.getUser(checkUserId(userId), now);
  }

  async putPending(
    userId: string,
    pending: PendingEnrollment,
    options?: PutPendingOptions,
  ): Promise<PutPendingOutcome> {
    return this.#enrollment.putPending(checkUserId(userId), pending, options);
  }

  async activatePending(
    userId: string,
    pendingId: string,
    activation: PendingActivation,
  ): Promise<AddFactorResult> {
    return this.#enrollment.activatePending(checkUserId(userId), pendingId, activation);
  }

  async addFactor(
    userId: string,
    factor: ActiveFactor,
    options: AddFactorOptions,
  ): Promise<AddFactorResult> {
    return this.#factors.addFactor(checkUserId(userId), factor, options);
  }

  async reserveAttempt(
    userId: string,
    options: ReserveAttemptOptions,
  ): Promise<AttemptReservation> {
    return this.#login.reserveAttempt(checkUserId(userId), options);
  }

  async readAndReserve(
    userId: string,
    options: ReadAndReserveOptions,
  ): Promise<ReadAndReserveResult> {
    return this.#login.readAndReserve(checkUserId(userId), options);
  }

  async recordSuccess(
    userId: string,
    factorId: string,
    step: number,
    drift: number,
    now: number,
  ): Promise<boolean> {
    return this.#login.recordSuccess(checkUserId(userId), factorId, step, drift, now);
  }

  async replaceRecoveryCodes(
    userId: string,
    codes: RecoveryCodeSet,
    options: FactorChangeOptions,
  ): Promise<ReplaceRecoveryCodesOutcome> {
    return this.#recovery.replaceRecoveryCodes(checkUserId(userId), codes, options);
  }

  async replaceSealedSecret(userId: string, id: string, sealedSecret: string): Promise<boolean> {
    return this.#factors.replaceSealedSecret(checkUserId(userId), id, sealedSecret);
  }

  async consumeRecoveryCode(userId: string, hash: string): Promise<boolean> {
    return this.#recovery.consumeRecoveryCode(checkUserId(userId), hash);
  }

  async resetThrottle(userId: string, scope: ThrottleScope): Promise<void> {
    return this.#login.resetThrottle(checkUserId(userId), scope);
  }

  async refundAttempt(userId: string, options: RefundAttemptOptions): Promise<boolean> {
    return this.#login.refundAttempt(checkUserId(userId), options);
  }

  async renameFactor(
    userId: string,
    factorId: string,
    name: string,
    nameKey: string,
  ): Promise<FactorRenameOutcome> {
    return this.#factors.renameFactor(checkUserId(userId), factorId, name, nameKey);
  }

  async removeFactor(
    userId: string,
    factorId: string,
    options: FactorChangeOptions,
  ): Promise<FactorRemoval | 'conflict'> {
    return this.#factors.removeFactor(checkUserId(userId), factorId, options);
  }

  async deleteFactors(userId: string, options: FactorChangeOptions): Promise<DeleteFactorsOutcome> {
    return this.#factors.deleteFactors(checkUserId(userId), options);
  }

  async updateAccount(userId: string, options: AccountWriteOptions): Promise<AccountUpdateOutcome> {
    return this.#account.updateAccount(checkUserId(userId), options);
  }

  async resetUser(userId: string, options: AccountWriteOptions): Promise<ResetUserOutcome> {
    return this.#account.resetUser(checkUserId(userId), options);
  }

  async deleteUser(userId: string, options: DeleteUserOptions): Promise<boolean> {
    return this.#factors.deleteUser(checkUserId(userId), options);
  }
}
