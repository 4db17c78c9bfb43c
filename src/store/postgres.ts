/**
 * {@link PostgresStore}: the MFA store in PostgreSQL, one row per user.
 *
 * Every operation of the {@link MFAStore} contract is a single SQL statement,
 * so it is atomic without a transaction and works through a pool: the row lock
 * an `UPDATE` or `INSERT … ON CONFLICT` takes, and PostgreSQL's re-check of the
 * `WHERE` clause against the newest row version, make each conditional write
 * exact under concurrency at the default READ COMMITTED isolation.
 *
 * Writes refuse a client inside a transaction the caller opened (a rollback
 * would undo them): `statement.ts` sends each one in a single Query message
 * after a guard.
 *
 * The statements live beside the code that runs them, by flow, in
 * `postgres/`: `table.ts` (client, columns, row codec), `schema.ts`,
 * `enrollment.ts`, `login.ts`, `recovery.ts`, `factors.ts`, `account.ts` and
 * `document.ts` (the account document), and `statement.ts`.
 * @module totpkit/postgres
 */
import { describe } from '../_assert.ts';
import { checkRetention } from './_retention.ts';
import type { DeleteExpiredOptions, DeleteExpiredResult, MFAStore } from './contract.ts';
import { enrollmentOperations } from './postgres/enrollment.ts';
import { factorsOperations } from './postgres/factors.ts';
import { loginOperations } from './postgres/login.ts';
import { recoveryOperations } from './postgres/recovery.ts';
import { accountOperations } from './postgres/account.ts';
import { schemaOperations } from './postgres/schema.ts';
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
 * Give it a pool, or a client outside any transaction: every write (attempt
 * reservations included) refuses a client inside a transaction you opened,
 * throwing `MFAError` `'ERR_STORE'` and writing nothing, because your
 * rollback would undo it (CVE-2026-35597: accounts that never lock). A client
 * of your own must send `query(text, [])` with the simple query protocol, as
 * `pg` does (PGlite's `exec()` is used instead), or every write is refused;
 * see docs/stores.md, "Transactions: refused".
 *
 * Before use, call {@link PostgresStore.migrate} (at startup; it is
 * idempotent) or create the schema with your own migration tool, from the SQL
 * in `docs/stores.md`. A pending enrollment past its expiry can no longer be
 * activated; it stays readable (so the service can answer `'expired'`) until
 * the next enrollment overwrites it or {@link PostgresStore.deleteExpired}
 * removes it, along with rows left empty, rows of users without an active
 * factor whose throttle state stopped mattering (`throttleRetentionMs`) and
 * erasure guards that ended. An erasure guard is a row holding only the user
 * id and `erased_until`: writes that would create state check it in the
 * statement that writes, under the row's lock, so none can land after
 * `deleteUser` (see {@link MFAStore.deleteUser}).
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
  /**
   * Creates the table and its indexes if they do not exist, and upgrades a
   * table of an earlier version in place. Idempotent, and safe to run from
   * several processes at once (it takes a transaction-scoped advisory lock).
   *
   * @returns once the schema exists
   * @throws MFAError `ERR_STORE` (its `cause` the driver's error, scrubbed),
   *   saying what to do: create the schema, grant a permission, …
   */
  readonly migrate: () => Promise<void>;

  /**
   * Removes pending enrollments that expired at or before `now`, then deletes
   * rows that hold nothing, rows of users without an active factor whose
   * throttle state stopped mattering (`max(otp_blocked_until,
   * recovery_blocked_until, pending_expires_at) + throttleRetentionMs ≤ now`),
   * and erasure guards that ended (`until ≤ now`).
   * A lock thus survives `disable` for `throttleRetentionMs` (default 7 days)
   * after the last attempt, then goes. Rows with an active factor are never
   * deleted. The expired enrollment of a user with failures and no factor is
   * kept with the row (its expiry counts in the rule) and goes with it.
   *
   * Each step finds its rows through a partial index on a column that is
   * `NULL` for every row the step leaves alone (`pending_clear_at`;
   * `idle_since`, `NULL` for rows with an active factor or a guard;
   * `erased_until`), so a call costs in proportion to what it removes, not to the
   * table nor to the rows it keeps (a call with nothing to do reads none),
   * and skips rows a login holds locked. Each step changes at most
   * `options.limit` rows (default 10,000); while `more` is `true`, call again.
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
  readonly deleteExpired: (
    now?: number,
    options?: DeleteExpiredOptions,
  ) => Promise<DeleteExpiredResult>;

  // The MFAStore operations, each the per-flow file's function itself (they
  // take their documentation from MFAStore). Own properties, so they work
  // unbound too.
  readonly getUser: MFAStore['getUser'];
  readonly reserveAttempt: MFAStore['reserveAttempt'];
  readonly readAndReserve: NonNullable<MFAStore['readAndReserve']>;
  readonly recordSuccess: MFAStore['recordSuccess'];
  readonly resetThrottle: MFAStore['resetThrottle'];
  readonly refundAttempt: MFAStore['refundAttempt'];
  readonly putPending: MFAStore['putPending'];
  readonly activatePending: MFAStore['activatePending'];
  readonly addFactor: MFAStore['addFactor'];
  readonly renameFactor: MFAStore['renameFactor'];
  readonly removeFactor: MFAStore['removeFactor'];
  readonly replaceSealedSecret: MFAStore['replaceSealedSecret'];
  readonly deleteFactors: MFAStore['deleteFactors'];
  readonly deleteUser: MFAStore['deleteUser'];
  readonly replaceRecoveryCodes: MFAStore['replaceRecoveryCodes'];
  readonly consumeRecoveryCode: MFAStore['consumeRecoveryCode'];
  readonly updateAccount: MFAStore['updateAccount'];
  readonly resetUser: MFAStore['resetUser'];

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
    const schema = schemaOperations(
      client,
      name,
      bare,
      checkRetention(options.throttleRetentionMs),
    );
    this.migrate = schema.migrate;
    this.deleteExpired = schema.deleteExpired;
    const login = loginOperations(client, name);
    this.getUser = login.getUser;
    this.reserveAttempt = login.reserveAttempt;
    this.readAndReserve = login.readAndReserve;
    this.recordSuccess = login.recordSuccess;
    this.resetThrottle = login.resetThrottle;
    this.refundAttempt = login.refundAttempt;
    const enrollment = enrollmentOperations(client, name);
    this.putPending = enrollment.putPending;
    this.activatePending = enrollment.activatePending;
    const factors = factorsOperations(client, name);
    this.addFactor = factors.addFactor;
    this.renameFactor = factors.renameFactor;
    this.removeFactor = factors.removeFactor;
    this.replaceSealedSecret = factors.replaceSealedSecret;
    this.deleteFactors = factors.deleteFactors;
    this.deleteUser = factors.deleteUser;
    const recovery = recoveryOperations(client, name);
    this.replaceRecoveryCodes = recovery.replaceRecoveryCodes;
    this.consumeRecoveryCode = recovery.consumeRecoveryCode;
    const account = accountOperations(client, name);
    this.updateAccount = account.updateAccount;
    this.resetUser = account.resetUser;
  }
}
