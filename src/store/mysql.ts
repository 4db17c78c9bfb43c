/**
 * {@link MySQLStore}: the MFA store in MySQL or MariaDB (InnoDB), one row per
 * user.
 *
 * Every change is one short transaction: `SELECT … FOR UPDATE` locks the
 * user's row, the contract's rules (the functions of `rules/` that
 * MemoryStore, the reference, runs too) decide on that one user's state, and one `INSERT`, `UPDATE` or `DELETE` writes the
 * result before `COMMIT`. The row lock orders every change of a user, across
 * connections and server processes, so each decision is made on the newest
 * state and nothing is lost between the read and the write. A transaction
 * InnoDB rolls back (a deadlock between two first writes of a new user, a
 * lock wait timeout) runs again from the start.
 *
 * The statements live in `mysql/`: `client.ts` (the pool and the
 * transaction), `schema.ts` (the table and `migrate()`), `document.ts` (the
 * row) and `cleanup.ts` (`deleteExpired`).
 * @module totpkit/mysql
 */
import { checkOptions, checkUserId } from '../_assert.ts';
import { checkPolicy } from './_database.ts';
import { checkRetention } from './_retention.ts';
import { deleteUser, resetUser, updateAccount } from './rules/account.ts';
import { activatePending, addFactor, putPending } from './rules/enrollment.ts';
import { deleteFactors, removeFactor, renameFactor } from './rules/factors.ts';
import {
  readAndReserve,
  recordSuccess,
  refundAttempt,
  reserveAttempt,
  resetThrottle,
} from './rules/login.ts';
import {
  consumeRecoveryCode,
  replaceRecoveryCodes,
  replaceSealedSecret,
} from './rules/recovery.ts';
import { emptyState, settle, view, type UserState } from './rules/state.ts';
import type {
  DeleteExpiredOptions,
  DeleteExpiredResult,
  AttemptPolicy,
  MFAStore,
  UserRecord,
} from './contract.ts';
import {
  checkPool,
  inTransaction,
  rowsOf,
  type MySQLConnection,
  type MySQLPool,
} from './mysql/client.ts';
import { deleteExpired } from './mysql/cleanup.ts';
import { decodeState, encodeState } from './mysql/document.ts';
import { checkTable, DEFAULT_TABLE, migrate } from './mysql/schema.ts';

export type { DeleteExpiredOptions, DeleteExpiredResult } from './contract.ts';
export type { MySQLConnection, MySQLPool } from './mysql/client.ts';

/** Options for {@link MySQLStore}. */
export interface MySQLStoreOptions {
  /** A `mysql2/promise` pool (`createPool`); each change takes a connection for its transaction. */
  client: MySQLPool;
  /**
   * The table name, optionally database-qualified (`auth.totpkit_mfa`):
   * lowercase letters, digits and `_`, not starting with a digit, each part
   * at most 40 characters. Default `'totpkit_mfa'`.
   */
  table?: string;
  /**
   * How long the throttle state of a user without an active factor is kept
   * after it last mattered, in milliseconds (see `MFAStore.deleteFactors`).
   * An integer ≥ 0; default 604,800,000 (7 days).
   */
  throttleRetentionMs?: number;
}

/**
 * The operations that change a user, each the rule of `rules/` that runs on
 * the user's state in a transaction on the locked row.
 */
const RULES = {
  putPending,
  activatePending,
  addFactor,
  reserveAttempt,
  readAndReserve,
  recordSuccess,
  replaceRecoveryCodes,
  replaceSealedSecret,
  consumeRecoveryCode,
  resetThrottle,
  refundAttempt,
  renameFactor,
  removeFactor,
  deleteFactors,
  updateAccount,
  resetUser,
  deleteUser,
} as const;

type Change = keyof typeof RULES & keyof MFAStore;
const CHANGES = Object.keys(RULES) as Change[];

/** A rule as the store calls it: the state, the user id, then the method's arguments. */
type Rule = (state: UserState, userId: string, ...args: never[]) => unknown;

/**
 * An {@link MFAStore} in MySQL 8 or MariaDB 10.6+ (tested with MariaDB 10.11),
 * through a `mysql2/promise` pool. Safe to share between any number of server
 * processes: every change of a user is a transaction on that user's locked
 * row.
 *
 * Before use, call {@link MySQLStore.migrate} (at startup; it is idempotent)
 * or create the table with your own migration tool, from the SQL in
 * `docs/stores.md`. Run {@link MySQLStore.deleteExpired} periodically.
 *
 * @example
 * ```ts fragment
 * import mysql from 'mysql2/promise';
 * import { createMFA, createAESGCMCipher } from 'totpkit';
 * import { MySQLStore } from 'totpkit/mysql';
 *
 * const pool = mysql.createPool({ uri: databaseURL, connectionLimit: 10 });
 * const store = new MySQLStore({ client: pool });
 * await store.migrate();
 * const cipher = createAESGCMCipher({ keys: { k1: keyFromYourSecretManager }, primaryKeyId: 'k1' });
 * const mfa = createMFA({ store, issuer: 'Acme', cipher });
 * ```
 */
export class MySQLStore implements MFAStore {
  readonly #pool: MySQLPool;
  readonly #table: string;
  readonly #bare: string;
  readonly #retention: { throttleRetentionMs: number };

  /**
   * @param options - the pool and, optionally, the table name and `throttleRetentionMs`
   * @throws TypeError if `client` is not a pool, `table` is not a string or
   *   `throttleRetentionMs` is not a number
   * @throws RangeError if `table` is not a valid name or `throttleRetentionMs` is not an
   *   integer ≥ 0
   */
  constructor(options: MySQLStoreOptions) {
    const checked = checkOptions(options);
    this.#pool = checkPool(checked.client);
    const { name, bare } = checkTable(checked.table ?? DEFAULT_TABLE);
    this.#table = name;
    this.#bare = bare;
    this.#retention = { throttleRetentionMs: checkRetention(checked.throttleRetentionMs) };
    for (const method of CHANGES) {
      Object.defineProperty(this, method, {
        value: (userId: string, ...args: unknown[]) => this.#change(method, userId, args),
        writable: true,
        configurable: true,
      });
    }
  }

  /**
   * Creates the table and its indexes if they do not exist. Idempotent, and
   * safe to run from several processes at once (it holds a named lock,
   * `GET_LOCK`, while it works).
   *
   * @returns once the table exists
   * @throws MFAError `ERR_STORE` (its `cause` the driver's error, scrubbed)
   */
  async migrate(): Promise<void> {
    await migrate(this.#pool, this.#table, this.#bare);
  }

  /**
   * Removes pending enrollments that expired at or before `now`, then deletes
   * rows that hold nothing and rows of users without an active factor whose
   * throttle state stopped mattering (see `MFAStore.deleteFactors`), by the
   * same rule as the other stores. Rows are found through indexes, so an
   * empty call costs the same however large the table. Each step changes at
   * most `options.limit` rows (default 10,000); call again while `more` is
   * `true`.
   *
   * @param now - Unix milliseconds; default `Date.now()`
   * @param options - `limit`: the most rows each step changes, 1 to 1,000,000 (default 10,000)
   * @returns how many enrollments and records it removed, and whether to call again
   * @throws TypeError or RangeError for a bad `now` or `limit`
   * @throws MFAError `ERR_STORE` if the database fails
   */
  async deleteExpired(
    now: number = Date.now(),
    options?: DeleteExpiredOptions,
  ): Promise<DeleteExpiredResult> {
    return deleteExpired(
      this.#pool,
      this.#table,
      now,
      options,
      this.#retention.throttleRetentionMs,
      (userId, operation) => this.#run(userId, operation),
    );
  }

  async getUser(userId: string, now: number): Promise<UserRecord | null> {
    checkUserId(userId);
    const rows = rowsOf(
      await this.#pool.query(`SELECT state FROM ${this.#table} WHERE user_id = ?`, [
        Buffer.from(userId, 'utf8'),
      ]),
    );
    return rows[0] === undefined ? null : view(decodeState(userId, rows[0].state));
  }

  /** Runs one change of `userId` in a transaction on the user's locked row. */
  async #change(method: Change, userId: string, args: unknown[]): Promise<unknown> {
    // The same checks as the other database stores, before any I/O.
    checkUserId(userId);
    if (method === 'reserveAttempt' || method === 'readAndReserve') {
      checkPolicy((args[0] as { policy: AttemptPolicy } | undefined)?.policy as AttemptPolicy);
    }
    const rule = RULES[method] as Rule as (
      state: UserState,
      userId: string,
      ...args: unknown[]
    ) => unknown;
    return this.#run(userId, (state) => rule(state, userId, ...args));
  }

  /**
   * Runs `operation` on the user's state in a transaction: the row locked,
   * the rule applied to its state, the state written back.
   */
  async #run<T>(userId: string, operation: (state: UserState) => T): Promise<T> {
    const key = Buffer.from(userId, 'utf8');
    return inTransaction(this.#pool, async (connection: MySQLConnection) => {
      const rows = rowsOf(
        await connection.query(`SELECT state FROM ${this.#table} WHERE user_id = ? FOR UPDATE`, [
          key,
        ]),
      );
      const before = rows[0] === undefined ? null : String(rows[0].state);
      const state = before === null ? emptyState() : decodeState(userId, before);
      const result = operation(state);
      const columns = encodeState(settle(state), this.#retention.throttleRetentionMs);
      if (columns === null) {
        if (before !== null) {
          await connection.query(`DELETE FROM ${this.#table} WHERE user_id = ?`, [key]);
        }
      } else if (before === null) {
        await connection.query(
          `INSERT INTO ${this.#table} (user_id, state, pending_due, idle_since, guard_until)
VALUES (?, ?, ?, ?, ?)`,
          [key, columns.state, columns.pending_due, columns.idle_since, columns.guard_until],
        );
      } else if (columns.state !== before) {
        await connection.query(
          `UPDATE ${this.#table} SET state = ?, pending_due = ?, idle_since = ?, guard_until = ?
WHERE user_id = ?`,
          [columns.state, columns.pending_due, columns.idle_since, columns.guard_until, key],
        );
      }
      return result;
    });
  }
}

// The changes are installed per instance (see the constructor); declared here for TypeScript.
export interface MySQLStore extends Pick<Required<MFAStore>, Change> {}
