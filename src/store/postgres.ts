/**
 * {@link PostgresStore}: the MFA store in PostgreSQL, one row per user.
 *
 * Every operation of the {@link MFAStore} contract is a single SQL statement,
 * so it is atomic without a transaction and works through a pool: the row lock
 * an `UPDATE` or `INSERT … ON CONFLICT` takes, and PostgreSQL's re-check of the
 * `WHERE` clause against the newest row version, make each conditional write
 * exact under concurrency at the default READ COMMITTED isolation.
 *
 * The statements live beside the code that runs them, by flow, in
 * `postgres/`: `table.ts` (client, columns, row codec), `schema.ts`,
 * `enrollment.ts`, `login.ts`, `recovery.ts` and `factors.ts`.
 * @module totpkit/postgres
 */
import { describe } from '../_assert.ts';
import { checkRetention } from './_retention.ts';
import type {
  ActiveFactor,
  AddFactorOptions,
  AddFactorResult,
  AttemptPolicy,
  AttemptRequirement,
  AttemptReservation,
  DeleteExpiredOptions,
  DeleteExpiredResult,
  MFAStore,
  PendingActivation,
  PendingEnrollment,
  FactorRemoval,
  FactorRenameOutcome,
  ReadAndReserveResult,
  RecoveryCodeSet,
  ThrottleScope,
  UserRecord,
} from './contract.ts';
import { enrollmentOperations, type EnrollmentOperations } from './postgres/enrollment.ts';
import { factorsOperations, type FactorsOperations } from './postgres/factors.ts';
import { loginOperations, type LoginOperations } from './postgres/login.ts';
import { recoveryOperations, type RecoveryOperations } from './postgres/recovery.ts';
import { schemaOperations, type SchemaOperations } from './postgres/schema.ts';
import { checkTable, DEFAULT_TABLE, type PostgresStoreOptions } from './postgres/table.ts';

export type { DeleteExpiredOptions, DeleteExpiredResult } from './contract.ts';
export type {
  PostgresQueryClient,
  PostgresQueryResult,
  PostgresStoreOptions,
} from './postgres/table.ts';

/**
 * An {@link MFAStore} in PostgreSQL (tested with PostgreSQL 15 and with PGlite).
 * All of a user's state is one row of one table, and every operation is one
 * statement, so the store needs no transactions and is safe to share between
 * any number of server processes through a connection pool.
 *
 * Before use, call {@link PostgresStore.migrate} (at startup; it is
 * idempotent) or create the schema with your own migration tool, from the SQL
 * in `docs/stores.md`. A pending enrollment past its expiry can no longer be
 * activated; it stays readable (so the service can answer `'expired'`) until
 * the next enrollment overwrites it or {@link PostgresStore.deleteExpired}
 * removes it, along with rows left empty and rows of users without an active
 * factor whose throttle state stopped mattering (`throttleRetentionMs`).
 *
 * @example
 * ```ts fragment
 * import pg from 'pg';
 * import { createMFA, createAESGCMCipher } from 'totpkit';
 * import { PostgresStore } from 'totpkit/postgres';
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const store = new PostgresStore({ client: pool });
 * await store.migrate();
 * const cipher = createAESGCMCipher({ keys: { k1: keyFromYourSecretManager }, primaryKeyId: 'k1' });
 * const mfa = createMFA({ store, issuer: 'Acme', cipher });
 * ```
 */
export class PostgresStore implements MFAStore {
  readonly #schema: SchemaOperations;
  readonly #enrollment: EnrollmentOperations;
  readonly #login: LoginOperations;
  readonly #recovery: RecoveryOperations;
  readonly #factors: FactorsOperations;

  /**
   * @param options - the client and, optionally, the table name and `throttleRetentionMs`
   * @throws TypeError if `client` has no `query` method, `table` is not a string or
   *   `throttleRetentionMs` is not a number
   * @throws RangeError if `table` is not a valid name or `throttleRetentionMs` is not an
   *   integer ≥ 0
   */
  constructor(options: PostgresStoreOptions) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`"options" must be an object, got ${describe(options)}`);
    }
    const { client } = options;
    if (client === null || typeof client !== 'object' || typeof client.query !== 'function') {
      throw new TypeError(`"client" must have a query(text, values) method`);
    }
    const { name, bare } = checkTable(options.table ?? DEFAULT_TABLE);
    const retentionMs = checkRetention(options.throttleRetentionMs);
    this.#schema = schemaOperations(client, name, bare, retentionMs);
    this.#enrollment = enrollmentOperations(client, name);
    this.#login = loginOperations(client, name);
    this.#recovery = recoveryOperations(client, name);
    this.#factors = factorsOperations(client, name);
  }

  /**
   * Creates the table and its index if they do not exist. Idempotent, and safe
   * to run from several processes at once (it takes a transaction-scoped
   * advisory lock).
   *
   * @returns once the schema exists
   * @throws MFAError `ERR_STORE` (its `cause` the driver's error, scrubbed),
   *   saying what to do: create the schema, grant a permission, …
   */
  async migrate(): Promise<void> {
    return this.#schema.migrate();
  }

  /**
   * Removes pending enrollments that expired at or before `now`, then deletes
   * rows that hold nothing, and rows of users without an active factor whose
   * throttle state stopped mattering: `max(otp_blocked_until,
   * recovery_blocked_until, pending_expires_at) + throttleRetentionMs ≤ now`.
   * A lock thus survives `disable` for `throttleRetentionMs` (default 7 days)
   * after the last attempt, then goes. Rows with an active factor are never
   * deleted. The expired enrollment of a user with failures and no factor is
   * kept with the row (its expiry counts in the rule) and goes with it.
   *
   * Each step finds its rows through a partial index (`pending_expires_at`,
   * and `idle_since`, which is `NULL` for rows with an active factor), so a
   * call costs in proportion to what it removes, not to the table, and skips
   * rows a login holds locked. Each step changes at most `options.limit`
   * rows (default 10,000); while the result's `more` is `true`, call again.
   * Run it periodically (every few minutes to hourly).
   *
   * @param now - Unix milliseconds; default `Date.now()`
   * @param options - `limit`: the most rows each step changes, 1 to 1,000,000 (default 10,000)
   * @returns how many enrollments and records it removed, and whether to call again
   * @throws TypeError or RangeError for a bad `now` or `limit`
   * @throws MFAError `ERR_STORE` if the database fails (its `cause` scrubbed), saying what to do
   * @example
   * ```ts fragment
   * import type { PostgresStore } from 'totpkit/postgres';
   * declare const store: PostgresStore;
   * while ((await store.deleteExpired(Date.now(), { limit: 5000 })).more);
   * ```
   */
  async deleteExpired(
    now: number = Date.now(),
    options?: DeleteExpiredOptions,
  ): Promise<DeleteExpiredResult> {
    return this.#schema.deleteExpired(now, options);
  }

  /**
   * Reads the user's row in one `SELECT` ({@link MFAStore.getUser}). An expired pending enrollment
   * is returned until it is replaced or {@link PostgresStore.deleteExpired} removes it: the
   * service checks expiry.
   *
   * @param userId - the user
   * @param now - Unix milliseconds (unused: expiry is decided by the service)
   * @returns the record, or `null` if the store holds nothing for the user
   */
  async getUser(userId: string, now: number): Promise<UserRecord | null> {
    return this.#login.getUser(userId, now);
  }

  /**
   * Creates or replaces the user's pending enrollment ({@link MFAStore.putPending}).
   *
   * One `INSERT … ON CONFLICT DO UPDATE`.
   *
   * @param userId - the user
   * @param pending - the enrollment, its secret sealed
   * @returns once stored
   */
  async putPending(userId: string, pending: PendingEnrollment): Promise<void> {
    return this.#enrollment.putPending(userId, pending);
  }

  /**
   * Binds the pending enrollment `pendingId` as a factor if it is still pending, `now <
   * expiresAt`, the limit and the name allow, removing its `replaceFactorId` and resetting both
   * throttle scopes ({@link MFAStore.activatePending}).
   *
   * One statement that locks the row, decides and writes.
   *
   * @param userId - the user
   * @param pendingId - the enrollment being bound
   * @param activation - its last step, drift, the time, the factor limit and recovery codes
   * @returns the outcome; a refusal writes nothing
   */
  async activatePending(
    userId: string,
    pendingId: string,
    activation: PendingActivation,
  ): Promise<AddFactorResult> {
    return this.#enrollment.activatePending(userId, pendingId, activation);
  }

  /**
   * Adds an active factor if the limit and the name allow ({@link MFAStore.addFactor}).
   *
   * Two statements: an `INSERT … ON CONFLICT DO NOTHING` so that the row exists, then one that
   * locks it, decides and writes.
   *
   * @param userId - the user
   * @param factor - the factor, its secret sealed
   * @param options - the factor limit and the recovery codes for a first factor
   * @returns the outcome; a refusal writes nothing
   */
  async addFactor(
    userId: string,
    factor: ActiveFactor,
    options: AddFactorOptions,
  ): Promise<AddFactorResult> {
    return this.#factors.addFactor(userId, factor, options);
  }

  /**
   * Counts one attempt in `scope` before the code is checked, unless the scope is locked or inside
   * a back-off delay ({@link MFAStore.reserveAttempt}).
   *
   * One statement that locks the row (`SELECT … FOR UPDATE`), counts the attempt if allowed and
   * reports the state it decided on; the first attempt of a new user inserts the row.
   *
   * @param userId - the user
   * @param scope - `'otp'` or `'recovery'`
   * @param now - Unix milliseconds
   * @param policy - the throttle rules (safe integers; `maxFailures` may be `Infinity`)
   * @returns the reservation, or why there is none
   */
  async reserveAttempt(
    userId: string,
    scope: ThrottleScope,
    now: number,
    policy: AttemptPolicy,
  ): Promise<AttemptReservation> {
    return this.#login.reserveAttempt(userId, scope, now, policy);
  }

  /**
   * Reads the user's row and, if it meets `requirement`, counts one attempt in `scope` unless the
   * scope is locked or inside a back-off delay ({@link MFAStore.readAndReserve}).
   *
   * One statement: it locks the row (`SELECT … FOR UPDATE`), counts the attempt if allowed, and
   * returns the row as it was before, so the record and the decision come from the same row
   * version. Nothing is inserted for a user without a row.
   *
   * @param userId - the user
   * @param scope - `'otp'` or `'recovery'`
   * @param now - Unix milliseconds
   * @param policy - the throttle rules (safe integers; `maxFailures` may be `Infinity`)
   * @param requirement - `'active'` (an active factor) or `'pending'` (a pending enrollment with
   *   `now < expiresAt`)
   * @returns the record as {@link PostgresStore.getUser} would have returned it before the
   *   reservation, and the reservation (`null`, writing nothing, if the requirement is not met)
   */
  async readAndReserve(
    userId: string,
    scope: ThrottleScope,
    now: number,
    policy: AttemptPolicy,
    requirement: AttemptRequirement,
  ): Promise<ReadAndReserveResult> {
    return this.#login.readAndReserve(userId, scope, now, policy, requirement);
  }

  /**
   * Records an accepted code: if factor `factorId` is still active and `step` is above its last
   * step, stores `step`, `drift` and `lastUsedAt` and resets the `otp` scope
   * ({@link MFAStore.recordSuccess}).
   *
   * One conditional `UPDATE`.
   *
   * @param userId - the user
   * @param factorId - the factor the code was checked against
   * @param step - the accepted time step
   * @param drift - the new drift estimate, in steps
   * @param now - Unix ms (becomes `lastUsedAt`)
   * @returns `false` (writing nothing) for a replay or a removed factor
   */
  async recordSuccess(
    userId: string,
    factorId: string,
    step: number,
    drift: number,
    now: number,
  ): Promise<boolean> {
    return this.#login.recordSuccess(userId, factorId, step, drift, now);
  }

  /**
   * Replaces the user's recovery codes if the user has an active factor
   * ({@link MFAStore.replaceRecoveryCodes}).
   *
   * One conditional `UPDATE`.
   *
   * @param userId - the user
   * @param codes - the salt and the hashes
   * @returns `false` if the user has no active factor
   */
  async replaceRecoveryCodes(userId: string, codes: RecoveryCodeSet): Promise<boolean> {
    return this.#recovery.replaceRecoveryCodes(userId, codes);
  }

  /**
   * Replaces the sealed secret of the active factor or pending enrollment `id`, changing
   * nothing else ({@link MFAStore.replaceSealedSecret}).
   *
   * One conditional `UPDATE`.
   *
   * @param userId - the user
   * @param id - the factor's or the pending enrollment's id
   * @param sealedSecret - the secret sealed anew
   * @returns `false` if there is no such factor or pending enrollment
   */
  async replaceSealedSecret(userId: string, id: string, sealedSecret: string): Promise<boolean> {
    return this.#factors.replaceSealedSecret(userId, id, sealedSecret);
  }

  /**
   * Removes one recovery code hash and, if it was there, resets both throttle scopes
   * ({@link MFAStore.consumeRecoveryCode}).
   *
   * One conditional `UPDATE`.
   *
   * @param userId - the user
   * @param hash - the hash of the submitted code
   * @returns `true` only for the one call that removed it
   */
  async consumeRecoveryCode(userId: string, hash: string): Promise<boolean> {
    return this.#recovery.consumeRecoveryCode(userId, hash);
  }

  /**
   * Resets a throttle scope to no failures and no delay: an admin unlock
   * ({@link MFAStore.resetThrottle}).
   *
   * One `UPDATE`.
   *
   * @param userId - the user
   * @param scope - `'otp'` or `'recovery'`
   * @returns once the scope is reset
   */
  async resetThrottle(userId: string, scope: ThrottleScope): Promise<void> {
    return this.#login.resetThrottle(userId, scope);
  }

  /**
   * Takes back an unchecked attempt if the scope still counts `failures`
   * ({@link MFAStore.refundAttempt}).
   *
   * One conditional `UPDATE`.
   *
   * @param userId - the user
   * @param scope - `'otp'` or `'recovery'`
   * @param failures - the count the reservation returned
   * @param blockedUntil - the scope's `blockedUntil` before the reservation
   * @returns whether the attempt was taken back
   */
  async refundAttempt(
    userId: string,
    scope: ThrottleScope,
    failures: number,
    blockedUntil: number,
  ): Promise<boolean> {
    return this.#login.refundAttempt(userId, scope, failures, blockedUntil);
  }

  /**
   * Renames active factor `factorId` unless another factor has the same `nameKey`
   * ({@link MFAStore.renameFactor}).
   *
   * One statement that locks the row, decides and writes.
   *
   * @param userId - the user
   * @param factorId - the factor
   * @param name - the new name
   * @param nameKey - the name after NFKC and case folding
   * @returns `'renamed'`, `'not_found'` or `'name_taken'`
   */
  async renameFactor(
    userId: string,
    factorId: string,
    name: string,
    nameKey: string,
  ): Promise<FactorRenameOutcome> {
    return this.#factors.renameFactor(userId, factorId, name, nameKey);
  }

  /**
   * Removes active factor `factorId`; the last one takes the pending enrollment and the
   * recovery codes with it ({@link MFAStore.removeFactor}).
   *
   * One statement that locks the row, decides and writes.
   *
   * @param userId - the user
   * @param factorId - the factor
   * @returns whether it was removed, and how many factors are left
   */
  async removeFactor(userId: string, factorId: string): Promise<FactorRemoval> {
    return this.#factors.removeFactor(userId, factorId);
  }

  /**
   * Removes every factor, the pending enrollment and the recovery codes, keeping the throttle
   * state ({@link MFAStore.deleteFactors}).
   *
   * One `UPDATE`; the row stays for its throttle state.
   *
   * @param userId - the user
   * @returns whether there was anything to remove
   */
  async deleteFactors(userId: string): Promise<boolean> {
    return this.#factors.deleteFactors(userId);
  }

  /**
   * Erases the user's row, throttle state included ({@link MFAStore.deleteUser}).
   *
   * One `DELETE`.
   *
   * @param userId - the user
   * @returns whether the row held anything
   */
  async deleteUser(userId: string): Promise<boolean> {
    return this.#factors.deleteUser(userId);
  }
}
