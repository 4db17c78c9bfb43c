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
import { describe } from '../_assert.ts';
import { attemptDelayMs, attemptLimit, isEmptyRecord } from './types.ts';
import type {
  ActiveFactor,
  AddFactorOptions,
  AddFactorResult,
  AttemptPolicy,
  AttemptRequirement,
  AttemptReservation,
  MFAStore,
  PendingActivation,
  PendingEnrollment,
  FactorRemoval,
  FactorRenameOutcome,
  ReadAndReserveResult,
  RecoveryCodeSet,
  ThrottleScope,
  UserRecord,
} from './types.ts';
import { decodeFactors, decodePending, encodeFactor, encodePending } from './_codec.ts';
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

/** The columns of one user's row. */
const COLUMNS = `user_id, factors, pending, recovery_salt, recovery_hashes, otp_failures,
  otp_blocked_until, recovery_failures, recovery_blocked_until`;

const RESET_THROTTLE = `otp_failures = 0, otp_blocked_until = 0,
  recovery_failures = 0, recovery_blocked_until = 0`;

/** The number of active factors in a `factors` value. */
const COUNT = (factors: string) => `(SELECT count(*) FROM jsonb_object_keys(${factors}))`;

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

/**
 * The schema, and the in-place upgrade of a 0.1.0 table (one factor in
 * `factor_*` columns, the pending enrollment in `pending_*` columns): each
 * row's factor becomes the one entry of `factors` (named "Authenticator"),
 * its pending enrollment the `pending` object (replacing that factor once
 * bound, as 0.1.0's `replaceActive` did), and the old columns are dropped.
 * Recovery codes and throttle state stay where they are. It runs in
 * `migrate()`'s DO block, under its advisory lock, so concurrent calls upgrade
 * once; on a table already upgraded it does nothing.
 */
function schemaSQL(table: string, bare: string): string {
  const factorOf = (prefix: 'factor' | 'pending') => `jsonb_build_object('id', ${prefix}_id,
    'name', 'Authenticator', 'nameKey', 'authenticator', 'sealedSecret', ${prefix}_secret,
    'algorithm', ${prefix}_algorithm, 'digits', ${prefix}_digits::text,
    'period', ${prefix}_period::text`;
  return `CREATE TABLE IF NOT EXISTS ${table} (
  user_id text PRIMARY KEY,
  factors jsonb NOT NULL DEFAULT '{}',
  pending jsonb,
  pending_expires_at bigint,
  recovery_salt text,
  recovery_hashes text[],
  otp_failures integer NOT NULL DEFAULT 0,
  otp_blocked_until bigint NOT NULL DEFAULT 0,
  recovery_failures integer NOT NULL DEFAULT 0,
  recovery_blocked_until bigint NOT NULL DEFAULT 0,
  CHECK (num_nulls(pending, pending_expires_at) IN (0, 2)),
  CHECK (num_nulls(recovery_salt, recovery_hashes) IN (0, 2))
);
IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '${table}'::regclass
    AND attname = 'factor_id' AND NOT attisdropped) THEN
  ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS factors jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN IF NOT EXISTS pending jsonb;
  UPDATE ${table} SET factors = jsonb_build_object(factor_id, ${factorOf('factor')},
    'lastStep', factor_last_step::text, 'drift', factor_drift::text,
    'createdAt', factor_activated_at::text, 'activatedAt', factor_activated_at::text,
    'lastUsedAt', NULL))
  WHERE factor_id IS NOT NULL;
  UPDATE ${table} SET pending = ${factorOf('pending')},
    'createdAt', pending_created_at::text, 'expiresAt', pending_expires_at::text,
    'replaceFactorId', factor_id)
  WHERE pending_id IS NOT NULL;
  ALTER TABLE ${table} DROP COLUMN factor_id, DROP COLUMN factor_secret,
    DROP COLUMN factor_algorithm, DROP COLUMN factor_digits, DROP COLUMN factor_period,
    DROP COLUMN factor_last_step, DROP COLUMN factor_drift, DROP COLUMN factor_activated_at,
    DROP COLUMN pending_id, DROP COLUMN pending_secret, DROP COLUMN pending_algorithm,
    DROP COLUMN pending_digits, DROP COLUMN pending_period, DROP COLUMN pending_created_at;
  ALTER TABLE ${table} ADD CHECK (num_nulls(pending, pending_expires_at) IN (0, 2));
END IF;
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
 * The lock threshold of a scope, `$6` being `maxFailures`: in `otp`,
 * `attemptLimit(maxFailures, n)` with `n` the active factors of the locked row.
 */
function limitSQL(scope: ThrottleScope, factors: string): string {
  return scope === 'otp'
    ? `GREATEST(1, ceil($6::float8 / GREATEST(1, ${COUNT(factors)})))`
    : `$6::float8`;
}

/**
 * Reserves an attempt in one statement. `inserted` creates the row of a user
 * seen for the first time; otherwise `existing` locks the row (and, under
 * concurrency, waits for and reads its newest version) and `updated` counts the
 * attempt only if the scope is neither locked nor inside a back-off delay.
 */
function reserveSQL(table: string, scope: ThrottleScope): string {
  const [failures, blockedUntil] = [`${scope}_failures`, `${scope}_blocked_until`];
  const next = `existing.failures + 1`;
  return `WITH inserted AS (
  INSERT INTO ${table} (user_id, ${failures}, ${blockedUntil}) VALUES ($1, 1, $7)
  ON CONFLICT (user_id) DO NOTHING
  RETURNING ${failures} AS failures
), existing AS (
  SELECT ${failures} AS failures, ${blockedUntil} AS blocked_until, factors
  FROM ${table} WHERE user_id = $1 FOR UPDATE
), updated AS (
  UPDATE ${table} AS stored SET ${failures} = ${next}, ${blockedUntil} = ${blockedUntilSQL(next)}
  FROM existing
  WHERE stored.user_id = $1
    AND existing.failures < ${limitSQL(scope, 'existing.factors')}
    AND existing.blocked_until <= $2::bigint
  RETURNING stored.${failures} AS failures
)
SELECT (SELECT failures FROM inserted) AS inserted, (SELECT failures FROM updated) AS updated,
  existing.failures, existing.blocked_until, ${COUNT('existing.factors')} AS factor_count
FROM (VALUES (1)) AS one LEFT JOIN existing ON true`;
}

/** What `readAndReserve` requires of the locked row before it reserves an attempt. */
const REQUIREMENTS = {
  active: `existing.factors <> '{}'::jsonb`,
  pending: `existing.pending IS NOT NULL AND existing.pending_expires_at > $2::bigint`,
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
function readAndReserveSQL(table: string, scope: ThrottleScope, requirement: Requirement): string {
  const [failures, blockedUntil] = [`${scope}_failures`, `${scope}_blocked_until`];
  const next = `existing.${failures} + 1`;
  const met = REQUIREMENTS[requirement];
  return `WITH existing AS (
  SELECT ${COLUMNS}, pending_expires_at FROM ${table} WHERE user_id = $1 FOR UPDATE
), updated AS (
  UPDATE ${table} AS stored SET ${failures} = ${next}, ${blockedUntil} = ${blockedUntilSQL(next)}
  FROM existing
  WHERE stored.user_id = $1 AND ${met}
    AND existing.${failures} < ${limitSQL(scope, 'existing.factors')}
    AND existing.${blockedUntil} <= $2::bigint
  RETURNING stored.${failures} AS reserved
)
SELECT existing.*, ${met} AS met, (SELECT reserved FROM updated) AS reserved FROM existing`;
}

/**
 * Binds the pending enrollment `$2` in one statement: `current` locks the
 * row; `decision` works out the factors that stay (without
 * `replaceFactorId`) and the outcome; `updated` writes only for `'ok'`.
 * `$3` lastStep, `$4` drift, `$5` now, `$6` maxFactors, `$7`/`$8` the
 * recovery codes for a first factor.
 */
function activateSQL(table: string): string {
  return `WITH current AS (
  SELECT factors, pending FROM ${table} WHERE user_id = $1 FOR UPDATE
), kept AS (
  SELECT factors, pending, factors - coalesce(pending->>'replaceFactorId', '') AS kept
  FROM current
), decision AS (
  SELECT kept.*, CASE
      WHEN pending IS NULL OR pending->>'id' IS DISTINCT FROM $2::text
        OR (pending->>'expiresAt')::bigint <= $5::bigint THEN 'not_pending'
      WHEN ${COUNT('kept.kept')} + 1 > $6::integer THEN 'factor_limit'
      WHEN EXISTS (SELECT 1 FROM jsonb_each(kept.kept) AS e
        WHERE e.value->>'nameKey' = pending->>'nameKey') THEN 'name_taken'
      ELSE 'ok' END AS outcome,
    factors = '{}'::jsonb AS first, ${COUNT('kept.kept')} < ${COUNT('factors')} AS replaced
  FROM kept
), updated AS (
  UPDATE ${table} AS stored SET
    factors = d.kept || jsonb_build_object($2::text, (d.pending - 'expiresAt' - 'replaceFactorId')
      || jsonb_build_object('lastStep', $3::text, 'drift', $4::text, 'activatedAt', $5::text,
        'lastUsedAt', NULL)),
    pending = NULL, pending_expires_at = NULL,
    recovery_salt = CASE WHEN d.first THEN $7::text ELSE stored.recovery_salt END,
    recovery_hashes = CASE WHEN d.first THEN $8::text[] ELSE stored.recovery_hashes END,
    ${RESET_THROTTLE}
  FROM decision AS d WHERE stored.user_id = $1 AND d.outcome = 'ok'
  RETURNING 1
)
SELECT outcome, first, replaced FROM decision`;
}

/** Adds factor `$2` (its id `$3`) in one statement, as `activateSQL` without a pending enrollment. */
function addFactorSQL(table: string): string {
  return `WITH current AS (
  SELECT factors FROM ${table} WHERE user_id = $1 FOR UPDATE
), decision AS (
  SELECT factors, CASE
      WHEN ${COUNT('factors')} + 1 > $4::integer THEN 'factor_limit'
      WHEN EXISTS (SELECT 1 FROM jsonb_each(factors) AS e
        WHERE e.value->>'nameKey' = $2::jsonb->>'nameKey') THEN 'name_taken'
      ELSE 'ok' END AS outcome,
    factors = '{}'::jsonb AS first
  FROM current
), updated AS (
  UPDATE ${table} AS stored SET factors = d.factors || jsonb_build_object($3::text, $2::jsonb),
    recovery_salt = CASE WHEN d.first THEN $5::text ELSE stored.recovery_salt END,
    recovery_hashes = CASE WHEN d.first THEN $6::text[] ELSE stored.recovery_hashes END
  FROM decision AS d WHERE stored.user_id = $1 AND d.outcome = 'ok'
  RETURNING 1
)
SELECT outcome, first FROM decision`;
}

type Row = Record<string, unknown>;

function firstRow(result: PostgresQueryResult): Row | undefined {
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

function toAddResult(row: Row | undefined): AddFactorResult {
  const outcome = row?.outcome ?? 'not_pending';
  if (outcome === 'ok') {
    return { ok: true, firstFactor: row?.first === true, replaced: row?.replaced === true };
  }
  if (outcome === 'not_pending' || outcome === 'factor_limit' || outcome === 'name_taken') {
    return { ok: false, reason: outcome };
  }
  throw new TypeError(`the store returned a bad outcome: ${describe(outcome)}`);
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
  readonly #activate: string;
  readonly #addFactor: string;

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
    this.#reserve = { otp: reserveSQL(name, 'otp'), recovery: reserveSQL(name, 'recovery') };
    const readAndReserve = (scope: ThrottleScope) => ({
      active: readAndReserveSQL(name, scope, 'active'),
      pending: readAndReserveSQL(name, scope, 'pending'),
    });
    this.#readAndReserve = { otp: readAndReserve('otp'), recovery: readAndReserve('recovery') };
    this.#activate = activateSQL(name);
    this.#addFactor = addFactorSQL(name);
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
      `UPDATE ${this.#table} SET pending = NULL, pending_expires_at = NULL
WHERE pending_expires_at <= $1
RETURNING user_id`,
      [now],
    );
    await this.#client.query(
      `DELETE FROM ${this.#table} WHERE factors = '{}'::jsonb AND pending IS NULL
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
   * Creates or replaces the user's pending enrollment ({@link MFAStore.putPending}).
   *
   * One `INSERT … ON CONFLICT DO UPDATE`.
   *
   * @param userId - the user
   * @param pending - the enrollment, its secret sealed
   * @returns once stored
   */
  async putPending(userId: string, pending: PendingEnrollment): Promise<void> {
    await this.#client.query(
      `INSERT INTO ${this.#table} (user_id, pending, pending_expires_at)
VALUES ($1, $2::jsonb, $3)
ON CONFLICT (user_id) DO UPDATE SET pending = EXCLUDED.pending,
  pending_expires_at = EXCLUDED.pending_expires_at`,
      [userId, JSON.stringify(encodePending(pending)), pending.expiresAt],
    );
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
    const codes = activation.recoveryCodes;
    const row = firstRow(
      await this.#client.query(this.#activate, [
        userId,
        pendingId,
        activation.lastStep,
        activation.drift,
        activation.now,
        activation.maxFactors,
        codes?.salt ?? null,
        codes?.hashes ?? null,
      ]),
    );
    return toAddResult(row);
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
    await this.#client.query(
      `INSERT INTO ${this.#table} (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING`,
      [userId],
    );
    const codes = options.recoveryCodes;
    const row = firstRow(
      await this.#client.query(this.#addFactor, [
        userId,
        JSON.stringify(encodeFactor(factor)),
        factor.id,
        options.maxFactors,
        codes?.salt ?? null,
        codes?.hashes ?? null,
      ]),
    );
    if (row === undefined) throw new Error('addFactor found no row for the user');
    return toAddResult(row);
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
      const factorCount = toInteger(row.factor_count, 'factor_count');
      const limit =
        scope === 'otp' ? attemptLimit(policy.maxFailures, factorCount) : policy.maxFailures;
      if (failures >= limit) return { ok: false, reason: 'locked' };
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
    const factorCount = record?.factors.length ?? 0;
    const limit =
      scope === 'otp' ? attemptLimit(policy.maxFailures, factorCount) : policy.maxFailures;
    if (failures >= limit) return { record, reservation: { ok: false, reason: 'locked' } };
    const blockedUntil = toInteger(row[`${scope}_blocked_until`], `${scope}_blocked_until`);
    return {
      record,
      reservation: { ok: false, reason: 'throttled', retryAfterMs: blockedUntil - now },
    };
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
    const result = await this.#client.query(
      `UPDATE ${this.#table} SET factors = jsonb_set(factors, ARRAY[$2::text],
    (factors->$2::text) || jsonb_build_object('lastStep', $3::text, 'drift', $4::text,
      'lastUsedAt', $5::text)),
  otp_failures = 0, otp_blocked_until = 0
WHERE user_id = $1 AND (factors->$2::text->>'lastStep')::bigint < $3::bigint
RETURNING user_id`,
      [userId, factorId, String(step), String(drift), String(now)],
    );
    return result.rows.length === 1;
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
    const result = await this.#client.query(
      `UPDATE ${this.#table} SET recovery_salt = $2, recovery_hashes = $3::text[]
WHERE user_id = $1 AND factors <> '{}'::jsonb
RETURNING user_id`,
      [userId, codes.salt, codes.hashes],
    );
    return result.rows.length === 1;
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
    const result = await this.#client.query(
      `UPDATE ${this.#table} SET
  factors = CASE WHEN factors ? $2 THEN jsonb_set(factors, ARRAY[$2::text],
    (factors->$2::text) || jsonb_build_object('sealedSecret', $3::text)) ELSE factors END,
  pending = CASE WHEN NOT factors ? $2 AND pending->>'id' = $2
    THEN pending || jsonb_build_object('sealedSecret', $3::text) ELSE pending END
WHERE user_id = $1 AND (factors ? $2 OR pending->>'id' = $2)
RETURNING user_id`,
      [userId, id, sealedSecret],
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
    const prefix = checkScope(scope);
    const result = await this.#client.query(
      `UPDATE ${this.#table} SET ${prefix}_failures = $2::integer - 1,
  ${prefix}_blocked_until = $3
WHERE user_id = $1 AND ${prefix}_failures = $2::integer AND $2::integer >= 1
RETURNING user_id`,
      [userId, failures, blockedUntil],
    );
    return result.rows.length === 1;
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
    const row = firstRow(
      await this.#client.query(
        `WITH current AS (
  SELECT factors FROM ${this.#table} WHERE user_id = $1 FOR UPDATE
), decision AS (
  SELECT factors, CASE WHEN NOT factors ? $2 THEN 'not_found'
      WHEN EXISTS (SELECT 1 FROM jsonb_each(factors) AS e
        WHERE e.key <> $2 AND e.value->>'nameKey' = $4) THEN 'name_taken'
      ELSE 'renamed' END AS outcome
  FROM current
), updated AS (
  UPDATE ${this.#table} AS stored SET factors = jsonb_set(d.factors, ARRAY[$2::text],
    (d.factors->$2::text) || jsonb_build_object('name', $3::text, 'nameKey', $4::text))
  FROM decision AS d WHERE stored.user_id = $1 AND d.outcome = 'renamed'
  RETURNING 1
)
SELECT outcome FROM decision`,
        [userId, factorId, name, nameKey],
      ),
    );
    const outcome = row?.outcome ?? 'not_found';
    if (outcome === 'renamed' || outcome === 'not_found' || outcome === 'name_taken') {
      return outcome;
    }
    throw new TypeError(`the store returned a bad outcome: ${describe(outcome)}`);
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
    const row = firstRow(
      await this.#client.query(
        `WITH current AS (
  SELECT factors FROM ${this.#table} WHERE user_id = $1 FOR UPDATE
), decision AS (
  SELECT factors ? $2 AS removed, factors - $2::text AS kept FROM current
), updated AS (
  UPDATE ${this.#table} AS stored SET factors = d.kept,
    pending = CASE WHEN d.kept = '{}'::jsonb THEN NULL ELSE stored.pending END,
    pending_expires_at = CASE WHEN d.kept = '{}'::jsonb THEN NULL ELSE stored.pending_expires_at END,
    recovery_salt = CASE WHEN d.kept = '{}'::jsonb THEN NULL ELSE stored.recovery_salt END,
    recovery_hashes = CASE WHEN d.kept = '{}'::jsonb THEN NULL ELSE stored.recovery_hashes END
  FROM decision AS d WHERE stored.user_id = $1 AND d.removed
  RETURNING 1
)
SELECT removed, ${COUNT('kept')} AS remaining FROM decision`,
        [userId, factorId],
      ),
    );
    if (row === undefined) return { removed: false, remaining: 0 };
    return { removed: row.removed === true, remaining: toInteger(row.remaining, 'remaining') };
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
    const result = await this.#client.query(
      `UPDATE ${this.#table} SET factors = '{}'::jsonb, pending = NULL, pending_expires_at = NULL,
  recovery_salt = NULL, recovery_hashes = NULL
WHERE user_id = $1
  AND (factors <> '{}'::jsonb OR pending IS NOT NULL OR recovery_salt IS NOT NULL)
RETURNING user_id`,
      [userId],
    );
    return result.rows.length === 1;
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
    const row = firstRow(
      await this.#client.query(
        `DELETE FROM ${this.#table} WHERE user_id = $1 RETURNING ${COLUMNS}`,
        [userId],
      ),
    );
    return toRecordOrNull(row) !== null;
  }
}
