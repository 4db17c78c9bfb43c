/**
 * {@link PostgresStore}: the MFA store in PostgreSQL, one row per user.
 *
 * Every operation of the {@link MFAStore} contract is a single SQL statement,
 * so it is atomic without a transaction and works through a pool: the row lock
 * an `UPDATE` or `INSERT … ON CONFLICT` takes, and PostgreSQL's re-check of the
 * `WHERE` clause against the newest row version, make each conditional write
 * exact under concurrency at the default READ COMMITTED isolation.
 * @module totpkit/postgres
 */
import { checkAlgorithm, checkDigits, describe } from '../_assert.ts';
import { attemptDelayMs, isEmptyRecord } from './types.ts';
import type {
  ActiveFactor,
  AttemptPolicy,
  AttemptRequirement,
  AttemptReservation,
  MFAStore,
  PendingActivation,
  PendingEnrollment,
  ReadAndReserveResult,
  RecoveryCodeSet,
  ThrottleScope,
  UserRecord,
} from './types.ts';
import { checkPolicy, checkRequirement, checkScope, toInteger, toText } from './_database.ts';
import { storeError } from './_scrub.ts';

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
  /** The client to run statements through: a `pg.Pool`, a `pg.Client` or PGlite. */
  client: PostgresQueryClient;
  /**
   * The table name, optionally schema-qualified (`auth.totpkit_mfa`): lowercase
   * letters, digits and `_`, not starting with a digit, each part at most 40
   * characters. Default `'totpkit_mfa'`.
   */
  table?: string;
}

const DEFAULT_TABLE = 'totpkit_mfa';
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,39}$/;

/** The columns of one user's row, in the order the schema lists them. */
const COLUMNS = `user_id, factor_id, factor_secret, factor_algorithm, factor_digits,
  factor_period, factor_last_step, factor_drift, factor_activated_at, pending_id,
  pending_secret, pending_algorithm, pending_digits, pending_period, pending_created_at,
  pending_expires_at, recovery_salt, recovery_hashes, otp_failures, otp_blocked_until,
  recovery_failures, recovery_blocked_until`;

const CLEAR_PENDING = `pending_id = NULL, pending_secret = NULL, pending_algorithm = NULL,
  pending_digits = NULL, pending_period = NULL, pending_created_at = NULL,
  pending_expires_at = NULL`;

const RESET_THROTTLE = `otp_failures = 0, otp_blocked_until = 0,
  recovery_failures = 0, recovery_blocked_until = 0`;

/** How often a first reservation retries when another one created the row meanwhile. */
const RESERVE_ATTEMPTS = 3;

function checkTable(table: unknown): { name: string; bare: string } {
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

function schemaSQL(table: string, bare: string): string {
  return `CREATE TABLE IF NOT EXISTS ${table} (
  user_id text PRIMARY KEY,
  factor_id text,
  factor_secret text,
  factor_algorithm text,
  factor_digits smallint,
  factor_period bigint,
  factor_last_step bigint,
  factor_drift integer,
  factor_activated_at bigint,
  pending_id text,
  pending_secret text,
  pending_algorithm text,
  pending_digits smallint,
  pending_period bigint,
  pending_created_at bigint,
  pending_expires_at bigint,
  recovery_salt text,
  recovery_hashes text[],
  otp_failures integer NOT NULL DEFAULT 0,
  otp_blocked_until bigint NOT NULL DEFAULT 0,
  recovery_failures integer NOT NULL DEFAULT 0,
  recovery_blocked_until bigint NOT NULL DEFAULT 0,
  CHECK (num_nulls(factor_id, factor_secret, factor_algorithm, factor_digits, factor_period,
    factor_last_step, factor_drift, factor_activated_at) IN (0, 8)),
  CHECK (num_nulls(pending_id, pending_secret, pending_algorithm, pending_digits,
    pending_period, pending_created_at, pending_expires_at) IN (0, 7)),
  CHECK (num_nulls(recovery_salt, recovery_hashes) IN (0, 2))
);
CREATE INDEX IF NOT EXISTS "${bare}_pending_expires_at" ON ${table} (pending_expires_at)
  WHERE pending_expires_at IS NOT NULL;`;
}

/**
 * `$2::bigint + attemptDelayMs(policy, next)`: the `blockedUntil` after
 * attempt number `next`, in exact numeric arithmetic. `$2` is `now`, `$3`
 * `freeAttempts`, `$4` `baseDelayMs`, `$5` `maxDelayMs`.
 */
function blockedUntilSQL(next: string): string {
  return `$2::bigint + (CASE
      WHEN ${next} < $3::integer THEN 0
      WHEN ${next} - $3::integer >= 52 THEN $5::numeric
      ELSE LEAST($5::numeric, $4::numeric * power(2::numeric, ${next} - $3::integer))
    END)::bigint`;
}

/**
 * Reserves an attempt in one statement. `inserted` creates the row of a user
 * seen for the first time; otherwise `existing` locks the row (and, under
 * concurrency, waits for and reads its newest version) and `updated` counts the
 * attempt only if the scope is neither locked nor inside a back-off delay.
 */
function reserveSQL(table: string, failures: string, blockedUntil: string): string {
  const next = `existing.failures + 1`;
  return `WITH inserted AS (
  INSERT INTO ${table} (user_id, ${failures}, ${blockedUntil}) VALUES ($1, 1, $7)
  ON CONFLICT (user_id) DO NOTHING
  RETURNING ${failures} AS failures
), existing AS (
  SELECT ${failures} AS failures, ${blockedUntil} AS blocked_until
  FROM ${table} WHERE user_id = $1 FOR UPDATE
), updated AS (
  UPDATE ${table} AS stored SET ${failures} = ${next}, ${blockedUntil} = ${blockedUntilSQL(next)}
  FROM existing
  WHERE stored.user_id = $1
    AND existing.failures < $6::float8 AND existing.blocked_until <= $2::bigint
  RETURNING stored.${failures} AS failures
)
SELECT (SELECT failures FROM inserted) AS inserted, (SELECT failures FROM updated) AS updated,
  existing.failures, existing.blocked_until
FROM (VALUES (1)) AS one LEFT JOIN existing ON true`;
}

/** What `readAndReserve` requires of the locked row before it reserves an attempt. */
const REQUIREMENTS = {
  active: `existing.factor_id IS NOT NULL`,
  pending: `existing.pending_id IS NOT NULL AND existing.pending_expires_at > $2::bigint`,
} as const;

type Requirement = keyof typeof REQUIREMENTS;

/**
 * Reads the user's row and reserves an attempt in one statement. `existing`
 * locks the row (waiting for, then reading, its newest version) and `updated`
 * counts the attempt only if the row meets the requirement and the scope is
 * neither locked nor inside a back-off delay, exactly as in `reserveSQL`. The
 * result is the locked row as it was before the update, whether the
 * requirement was met, and the new failure count if an attempt was reserved.
 * No row, no result: nothing is inserted for an unknown user.
 */
function readAndReserveSQL(
  table: string,
  failures: string,
  blockedUntil: string,
  requirement: Requirement,
): string {
  const next = `existing.${failures} + 1`;
  const met = REQUIREMENTS[requirement];
  return `WITH existing AS (
  SELECT ${COLUMNS} FROM ${table} WHERE user_id = $1 FOR UPDATE
), updated AS (
  UPDATE ${table} AS stored SET ${failures} = ${next}, ${blockedUntil} = ${blockedUntilSQL(next)}
  FROM existing
  WHERE stored.user_id = $1 AND ${met}
    AND existing.${failures} < $6::float8 AND existing.${blockedUntil} <= $2::bigint
  RETURNING stored.${failures} AS reserved
)
SELECT existing.*, ${met} AS met, (SELECT reserved FROM updated) AS reserved FROM existing`;
}

type Row = Record<string, unknown>;

function firstRow(result: PostgresQueryResult): Row | undefined {
  const row = result.rows[0];
  return row === undefined ? undefined : (row as Row);
}

function toFactorParams(row: Row, prefix: 'factor' | 'pending') {
  return {
    algorithm: checkAlgorithm(row[`${prefix}_algorithm`], `${prefix}_algorithm`),
    digits: checkDigits(toInteger(row[`${prefix}_digits`], `${prefix}_digits`)),
    period: toInteger(row[`${prefix}_period`], `${prefix}_period`),
  };
}

function toRecord(row: Row): UserRecord {
  let active: ActiveFactor | null = null;
  if (row.factor_id != null) {
    active = {
      id: toText(row.factor_id, 'factor_id'),
      sealedSecret: toText(row.factor_secret, 'factor_secret'),
      ...toFactorParams(row, 'factor'),
      lastStep: toInteger(row.factor_last_step, 'factor_last_step'),
      drift: toInteger(row.factor_drift, 'factor_drift'),
      activatedAt: toInteger(row.factor_activated_at, 'factor_activated_at'),
    };
  }
  let pending: PendingEnrollment | null = null;
  if (row.pending_id != null) {
    pending = {
      id: toText(row.pending_id, 'pending_id'),
      sealedSecret: toText(row.pending_secret, 'pending_secret'),
      ...toFactorParams(row, 'pending'),
      createdAt: toInteger(row.pending_created_at, 'pending_created_at'),
      expiresAt: toInteger(row.pending_expires_at, 'pending_expires_at'),
    };
  }
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
  return {
    userId: toText(row.user_id, 'user_id'),
    active,
    pending,
    recoveryCodes,
    throttle: {
      otp: {
        failures: toInteger(row.otp_failures, 'otp_failures'),
        blockedUntil: toInteger(row.otp_blocked_until, 'otp_blocked_until'),
      },
      recovery: {
        failures: toInteger(row.recovery_failures, 'recovery_failures'),
        blockedUntil: toInteger(row.recovery_blocked_until, 'recovery_blocked_until'),
      },
    },
  };
}

/** A row as `getUser` returns it: `null` if it holds nothing (no factor, enrollment, codes or failures). */
function toRecordOrNull(row: Row | undefined): UserRecord | null {
  if (row === undefined) return null;
  const record = toRecord(row);
  return isEmptyRecord(record) ? null : record;
}

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
 * removes it, along with rows left empty.
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
  readonly #client: PostgresQueryClient;
  readonly #table: string;
  readonly #schema: string;
  readonly #reserve: Record<ThrottleScope, string>;
  readonly #readAndReserve: Record<ThrottleScope, Record<Requirement, string>>;

  /**
   * @param options - the client and, optionally, the table name
   * @throws TypeError if `client` has no `query` method or `table` is not a string
   * @throws RangeError if `table` is not a valid name
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
    this.#client = client;
    this.#table = name;
    this.#schema = schemaSQL(name, bare);
    this.#reserve = {
      otp: reserveSQL(name, 'otp_failures', 'otp_blocked_until'),
      recovery: reserveSQL(name, 'recovery_failures', 'recovery_blocked_until'),
    };
    const readAndReserve = (failures: string, blockedUntil: string) => ({
      active: readAndReserveSQL(name, failures, blockedUntil, 'active'),
      pending: readAndReserveSQL(name, failures, blockedUntil, 'pending'),
    });
    this.#readAndReserve = {
      otp: readAndReserve('otp_failures', 'otp_blocked_until'),
      recovery: readAndReserve('recovery_failures', 'recovery_blocked_until'),
    };
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
    // One DO block: a single statement, hence one transaction, even through a pool.
    // The table name is a checked identifier, so it is safe inside the literal.
    await this.#client
      .query(
        `DO $totpkit$ BEGIN
PERFORM pg_advisory_xact_lock(hashtext('totpkit:${this.#table}'));
${this.#schema}
END $totpkit$`,
        [],
      )
      .catch((cause: unknown) => {
        throw storeError('PostgresStore.migrate', cause);
      });
  }

  /**
   * Removes pending enrollments that expired at or before `now`, then deletes
   * rows left holding nothing (no factor, no pending enrollment, no recovery
   * codes, no throttle failures). An expired enrollment can no longer be
   * completed, so this only reclaims space. The first part uses the partial
   * index on `pending_expires_at`; the second reads the whole table, so run it
   * periodically (hourly, say), not per request.
   *
   * @param now - Unix milliseconds; default `Date.now()`
   * @returns the number of expired pending enrollments removed
   */
  async deleteExpired(now: number = Date.now()): Promise<number> {
    const { rows } = await this.#client.query(
      `UPDATE ${this.#table} SET ${CLEAR_PENDING} WHERE pending_expires_at <= $1
RETURNING user_id`,
      [now],
    );
    await this.#client.query(
      `DELETE FROM ${this.#table} WHERE factor_id IS NULL AND pending_id IS NULL
AND recovery_salt IS NULL AND otp_failures = 0 AND otp_blocked_until = 0
AND recovery_failures = 0 AND recovery_blocked_until = 0`,
      [],
    );
    return rows.length;
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
    const row = firstRow(
      await this.#client.query(`SELECT ${COLUMNS} FROM ${this.#table} WHERE user_id = $1`, [
        userId,
      ]),
    );
    return toRecordOrNull(row);
  }

  /**
   * Creates or replaces the user's pending enrollment, unless the user has an active factor and
   * `replaceActive` is false ({@link MFAStore.putPending}).
   *
   * One `INSERT … ON CONFLICT DO UPDATE … WHERE`.
   *
   * @param userId - the user
   * @param pending - the enrollment, its secret sealed
   * @param replaceActive - whether an active factor may be replaced once this enrollment is bound
   * @returns `false` (writing nothing) if an active factor is in the way
   */
  async putPending(
    userId: string,
    pending: PendingEnrollment,
    replaceActive: boolean,
  ): Promise<boolean> {
    const result = await this.#client.query(
      `INSERT INTO ${this.#table} AS stored (user_id, pending_id, pending_secret,
  pending_algorithm, pending_digits, pending_period, pending_created_at, pending_expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (user_id) DO UPDATE SET pending_id = EXCLUDED.pending_id,
  pending_secret = EXCLUDED.pending_secret, pending_algorithm = EXCLUDED.pending_algorithm,
  pending_digits = EXCLUDED.pending_digits, pending_period = EXCLUDED.pending_period,
  pending_created_at = EXCLUDED.pending_created_at, pending_expires_at = EXCLUDED.pending_expires_at
WHERE $9::boolean OR stored.factor_id IS NULL
RETURNING stored.user_id`,
      [
        userId,
        pending.id,
        pending.sealedSecret,
        pending.algorithm,
        pending.digits,
        pending.period,
        pending.createdAt,
        pending.expiresAt,
        replaceActive,
      ],
    );
    return result.rows.length === 1;
  }

  /**
   * Promotes the pending enrollment `pendingId` to the active factor if it is still pending and
   * `now < expiresAt`, replacing any previous factor and its recovery codes and resetting both
   * throttle scopes ({@link MFAStore.activatePending}).
   *
   * One conditional `UPDATE`.
   *
   * @param userId - the user
   * @param pendingId - the enrollment being bound
   * @param activation - the new factor's id, last step, drift and recovery codes, and the time
   * @returns `false` (writing nothing) if the enrollment is gone, replaced or expired
   */
  async activatePending(
    userId: string,
    pendingId: string,
    activation: PendingActivation,
  ): Promise<boolean> {
    // Right-hand sides read the row as it was before this UPDATE, so the
    // pending columns are copied into the factor ones before they are cleared.
    const result = await this.#client.query(
      `UPDATE ${this.#table} SET factor_id = $3, factor_secret = pending_secret,
  factor_algorithm = pending_algorithm, factor_digits = pending_digits,
  factor_period = pending_period, factor_last_step = $4, factor_drift = $5,
  factor_activated_at = $6, recovery_salt = $7, recovery_hashes = $8::text[],
  ${CLEAR_PENDING}, ${RESET_THROTTLE}
WHERE user_id = $1 AND pending_id = $2 AND pending_expires_at > $6::bigint
RETURNING user_id`,
      [
        userId,
        pendingId,
        activation.factorId,
        activation.lastStep,
        activation.drift,
        activation.now,
        activation.recoveryCodes.salt,
        activation.recoveryCodes.hashes,
      ],
    );
    return result.rows.length === 1;
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
    const sql = this.#reserve[checkScope(scope)];
    checkPolicy(policy);
    const values = [
      userId,
      now,
      policy.freeAttempts,
      policy.baseDelayMs,
      policy.maxDelayMs,
      policy.maxFailures, // Infinity travels as the float8 'Infinity'
      now + attemptDelayMs(policy, 1), // the first attempt of a new row
    ];
    for (let attempt = 0; attempt < RESERVE_ATTEMPTS; attempt++) {
      const row = firstRow(await this.#client.query(sql, values));
      if (row === undefined) break;
      if (row.inserted != null) return { ok: true, failures: toInteger(row.inserted, 'failures') };
      if (row.updated != null) return { ok: true, failures: toInteger(row.updated, 'failures') };
      // Neither: the row was created by a concurrent statement after this one's
      // snapshot, so it was not visible to lock. Run again: it is now.
      if (row.failures == null) continue;
      const failures = toInteger(row.failures, 'failures');
      if (failures >= policy.maxFailures) return { ok: false, reason: 'locked' };
      const blockedUntil = toInteger(row.blocked_until, 'blocked_until');
      return { ok: false, reason: 'throttled', retryAfterMs: blockedUntil - now };
    }
    throw new Error(`reserveAttempt could not lock the row of the user`);
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
    const sql = this.#readAndReserve[checkScope(scope)][checkRequirement(requirement)];
    checkPolicy(policy);
    const row = firstRow(
      await this.#client.query(sql, [
        userId,
        now,
        policy.freeAttempts,
        policy.baseDelayMs,
        policy.maxDelayMs,
        policy.maxFailures, // Infinity travels as the float8 'Infinity'
      ]),
    );
    const record = toRecordOrNull(row);
    if (row === undefined || row.met !== true) return { record, reservation: null };
    if (row.reserved != null) {
      return { record, reservation: { ok: true, failures: toInteger(row.reserved, 'failures') } };
    }
    const failures = toInteger(row[`${scope}_failures`], `${scope}_failures`);
    if (failures >= policy.maxFailures)
      return { record, reservation: { ok: false, reason: 'locked' } };
    const blockedUntil = toInteger(row[`${scope}_blocked_until`], `${scope}_blocked_until`);
    return {
      record,
      reservation: { ok: false, reason: 'throttled', retryAfterMs: blockedUntil - now },
    };
  }

  /**
   * Records an accepted code: if factor `factorId` is still active and `step` is above its last
   * step, stores `step` and `drift` and resets the `otp` scope ({@link MFAStore.recordSuccess}).
   *
   * One conditional `UPDATE`.
   *
   * @param userId - the user
   * @param factorId - the factor the code was checked against
   * @param step - the accepted time step
   * @param drift - the new drift estimate, in steps
   * @returns `false` (writing nothing) for a replay or a factor that changed
   */
  async recordSuccess(
    userId: string,
    factorId: string,
    step: number,
    drift: number,
  ): Promise<boolean> {
    const result = await this.#client.query(
      `UPDATE ${this.#table} SET factor_last_step = $3, factor_drift = $4,
  otp_failures = 0, otp_blocked_until = 0
WHERE user_id = $1 AND factor_id = $2 AND factor_last_step < $3::bigint
RETURNING user_id`,
      [userId, factorId, step, drift],
    );
    return result.rows.length === 1;
  }

  /**
   * Replaces the recovery codes of factor `factorId` if it is still active
   * ({@link MFAStore.replaceRecoveryCodes}).
   *
   * One conditional `UPDATE`.
   *
   * @param userId - the user
   * @param factorId - the factor the codes belong to
   * @param codes - the salt and the hashes
   * @returns `false` if the factor is gone or changed
   */
  async replaceRecoveryCodes(
    userId: string,
    factorId: string,
    codes: RecoveryCodeSet,
  ): Promise<boolean> {
    const result = await this.#client.query(
      `UPDATE ${this.#table} SET recovery_salt = $3, recovery_hashes = $4::text[]
WHERE user_id = $1 AND factor_id = $2
RETURNING user_id`,
      [userId, factorId, codes.salt, codes.hashes],
    );
    return result.rows.length === 1;
  }

  /**
   * Replaces the sealed secret of factor `factorId` if it is still active, changing nothing else
   * ({@link MFAStore.replaceSealedSecret}).
   *
   * One conditional `UPDATE`.
   *
   * @param userId - the user
   * @param factorId - the factor
   * @param sealedSecret - the secret sealed anew
   * @returns `false` if the factor is gone or changed
   */
  async replaceSealedSecret(
    userId: string,
    factorId: string,
    sealedSecret: string,
  ): Promise<boolean> {
    const result = await this.#client.query(
      `UPDATE ${this.#table} SET factor_secret = $3 WHERE user_id = $1 AND factor_id = $2
RETURNING user_id`,
      [userId, factorId, sealedSecret],
    );
    return result.rows.length === 1;
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
    // Removes exactly one occurrence: the slices around its first position.
    const result = await this.#client.query(
      `UPDATE ${this.#table} SET
  recovery_hashes = recovery_hashes[:array_position(recovery_hashes, $2::text) - 1]
    || recovery_hashes[array_position(recovery_hashes, $2::text) + 1:],
  ${RESET_THROTTLE}
WHERE user_id = $1 AND $2::text = ANY (recovery_hashes)
RETURNING user_id`,
      [userId, hash],
    );
    return result.rows.length === 1;
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
    const prefix = checkScope(scope);
    await this.#client.query(
      `UPDATE ${this.#table} SET ${prefix}_failures = 0, ${prefix}_blocked_until = 0
WHERE user_id = $1`,
      [userId],
    );
  }

  /**
   * Removes the active factor, the pending enrollment and the recovery codes, keeping the throttle
   * state ({@link MFAStore.deleteFactor}).
   *
   * One `UPDATE`; the row stays for its throttle state.
   *
   * @param userId - the user
   * @returns whether there was anything to remove
   */
  async deleteFactor(userId: string): Promise<boolean> {
    const result = await this.#client.query(
      `UPDATE ${this.#table} SET factor_id = NULL, factor_secret = NULL,
  factor_algorithm = NULL, factor_digits = NULL, factor_period = NULL,
  factor_last_step = NULL, factor_drift = NULL, factor_activated_at = NULL,
  ${CLEAR_PENDING}, recovery_salt = NULL, recovery_hashes = NULL
WHERE user_id = $1
  AND (factor_id IS NOT NULL OR pending_id IS NOT NULL OR recovery_salt IS NOT NULL)
RETURNING user_id`,
      [userId],
    );
    return result.rows.length === 1;
  }
}
