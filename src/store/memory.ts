/**
 * The reference {@link MFAStore}: state in a `Map`, for tests, demos and
 * single-process servers. State is lost when the process exits, and two
 * processes do not share it: use PostgresStore or RedisStore behind more than
 * one server instance.
 *
 * The rules themselves are plain functions over one user's state, in
 * `rules/` (shared with MySQLStore); this class keeps a `Map` of those states
 * and runs each operation on one of them without awaiting.
 * @module
 */
import { checkOptions, checkUserId } from '../_assert.ts';
import { checkDeleteExpired, checkRetention } from './_retention.ts';
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
import { clearExpiredEnrollment, deleteIdleRecord, dropEndedGuard } from './rules/retention.ts';
import { emptyState, holdsNothing, view, type UserState } from './rules/state.ts';

/** Options for {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * How long the throttle state of a user without an active factor is kept
   * after it last mattered, in milliseconds: such a record becomes eligible
   * for {@link MemoryStore.deleteExpired} at `max(otp.blockedUntil,
   * recovery.blockedUntil, pending expiresAt if any) + throttleRetentionMs`.
   * An integer ≥ 0; default 604,800,000 (7 days), as for every store.
   */
  throttleRetentionMs?: number;
}

/**
 * An in-memory {@link MFAStore}. Each operation runs to completion without
 * awaiting, so it is atomic within the process. Records go in and out as
 * copies: changing an object after passing it in, or one returned by
 * `getUser`, does not change the store.
 *
 * An expired pending enrollment is kept (and returned by `getUser`, so the
 * service can report `'expired'`) until it is replaced, activated or deleted,
 * or {@link MemoryStore.deleteExpired} removes it. Throttle state is kept
 * after `disable` until `deleteExpired` finds it stopped mattering
 * (`throttleRetentionMs`), and an account document until its `keepUntil`.
 *
 * @example
 * ```ts
 * import { createMFA, MemoryStore, plaintextCipher } from 'totpkit';
 * const mfa = createMFA({ store: new MemoryStore(), issuer: 'Acme', cipher: plaintextCipher() });
 * ```
 */
export class MemoryStore implements MFAStore {
  /** Each user's record and erasure guard; a user who has neither is not in the map. */
  readonly #users = new Map<string, UserState>();
  readonly #retentionMs: number;

  /**
   * @param options - optionally `throttleRetentionMs` (default 7 days)
   * @throws TypeError if `options` is not an object or `throttleRetentionMs` not a number
   * @throws RangeError if `throttleRetentionMs` is not an integer ≥ 0
   */
  constructor(options?: MemoryStoreOptions) {
    this.#retentionMs = checkRetention(checkOptions(options).throttleRetentionMs);
  }

  /**
   * Removes pending enrollments that expired at or before `now`, then deletes
   * records that hold nothing, and records of users without an active factor
   * whose throttle state stopped mattering: `max(otp.blockedUntil,
   * recovery.blockedUntil, pending expiresAt if any) + throttleRetentionMs ≤
   * now`, unless their account document still holds them (`keepUntil` `null`
   * or after `now`). Records with an active factor are never deleted; the
   * expired enrollment of a user with failures and no factor goes with the
   * record. Then erasure guards that ended. The same rule and bound as
   * `PostgresStore.deleteExpired`: each step changes at most `options.limit`
   * records; call again while `more` is `true`.
   *
   * @param now - Unix milliseconds; default `Date.now()`
   * @param options - `limit`: the most records each step changes, 1 to 1,000,000 (default 10,000)
   * @returns how many enrollments and records it removed, and whether to call again
   * @throws TypeError or RangeError for a bad `now` or `limit`
   * @example
   * ```ts
   * import { MemoryStore } from 'totpkit';
   * const store = new MemoryStore({ throttleRetentionMs: 24 * 60 * 60 * 1000 });
   * const { enrollments, records } = await store.deleteExpired(Date.now());
   * ```
   */
  async deleteExpired(
    now: number = Date.now(),
    options?: DeleteExpiredOptions,
  ): Promise<DeleteExpiredResult> {
    const checked = checkDeleteExpired(now, options);
    const states = [...this.#users.values()];
    let enrollments = 0;
    for (const state of states) {
      if (enrollments === checked.limit) break;
      if (clearExpiredEnrollment(state, checked.now)) enrollments += 1;
    }
    let records = 0;
    for (const state of states) {
      if (records === checked.limit) break;
      if (deleteIdleRecord(state, checked.now, this.#retentionMs)) records += 1;
    }
    for (const state of states) {
      if (records === checked.limit) break;
      if (dropEndedGuard(state, checked.now)) records += 1;
    }
    for (const [userId, state] of this.#users) {
      if (holdsNothing(state)) this.#users.delete(userId);
    }
    return {
      enrollments,
      records,
      more: enrollments === checked.limit || records === checked.limit,
    };
  }

  /**
   * Runs a rule on the user's state, and forgets a user left with nothing.
   * Synchronous from the check to the write: nothing else runs in between.
   */
  #apply<T>(userId: string, rule: (state: UserState) => T): T {
    checkUserId(userId);
    const state = this.#users.get(userId) ?? emptyState();
    const result = rule(state);
    if (holdsNothing(state)) this.#users.delete(userId);
    else this.#users.set(userId, state);
    return result;
  }

  async getUser(userId: string, _now: number): Promise<UserRecord | null> {
    checkUserId(userId);
    const state = this.#users.get(userId);
    return state === undefined ? null : view(state);
  }

  async putPending(
    userId: string,
    pending: PendingEnrollment,
    options?: PutPendingOptions,
  ): Promise<PutPendingOutcome> {
    return this.#apply(userId, (state) => putPending(state, userId, pending, options));
  }

  async activatePending(
    userId: string,
    pendingId: string,
    activation: PendingActivation,
  ): Promise<AddFactorResult> {
    return this.#apply(userId, (state) => activatePending(state, userId, pendingId, activation));
  }

  async addFactor(
    userId: string,
    factor: ActiveFactor,
    options: AddFactorOptions,
  ): Promise<AddFactorResult> {
    return this.#apply(userId, (state) => addFactor(state, userId, factor, options));
  }

  async reserveAttempt(
    userId: string,
    options: ReserveAttemptOptions,
  ): Promise<AttemptReservation> {
    return this.#apply(userId, (state) => reserveAttempt(state, userId, options));
  }

  async readAndReserve(
    userId: string,
    options: ReadAndReserveOptions,
  ): Promise<ReadAndReserveResult> {
    return this.#apply(userId, (state) => readAndReserve(state, userId, options));
  }

  async recordSuccess(
    userId: string,
    factorId: string,
    step: number,
    drift: number,
    now: number,
  ): Promise<boolean> {
    return this.#apply(userId, (state) => recordSuccess(state, userId, factorId, step, drift, now));
  }

  async replaceRecoveryCodes(
    userId: string,
    codes: RecoveryCodeSet,
    options: FactorChangeOptions,
  ): Promise<ReplaceRecoveryCodesOutcome> {
    return this.#apply(userId, (state) => replaceRecoveryCodes(state, userId, codes, options));
  }

  async replaceSealedSecret(userId: string, id: string, sealedSecret: string): Promise<boolean> {
    return this.#apply(userId, (state) => replaceSealedSecret(state, userId, id, sealedSecret));
  }

  async consumeRecoveryCode(userId: string, hash: string): Promise<boolean> {
    return this.#apply(userId, (state) => consumeRecoveryCode(state, userId, hash));
  }

  async resetThrottle(userId: string, scope: ThrottleScope): Promise<void> {
    this.#apply(userId, (state) => resetThrottle(state, userId, scope));
  }

  async refundAttempt(userId: string, options: RefundAttemptOptions): Promise<boolean> {
    return this.#apply(userId, (state) => refundAttempt(state, userId, options));
  }

  async renameFactor(
    userId: string,
    factorId: string,
    name: string,
    nameKey: string,
  ): Promise<FactorRenameOutcome> {
    return this.#apply(userId, (state) => renameFactor(state, userId, factorId, name, nameKey));
  }

  async removeFactor(
    userId: string,
    factorId: string,
    options: FactorChangeOptions,
  ): Promise<FactorRemoval | 'conflict'> {
    return this.#apply(userId, (state) => removeFactor(state, userId, factorId, options));
  }

  async deleteFactors(userId: string, options: FactorChangeOptions): Promise<DeleteFactorsOutcome> {
    return this.#apply(userId, (state) => deleteFactors(state, userId, options));
  }

  async updateAccount(userId: string, options: AccountWriteOptions): Promise<AccountUpdateOutcome> {
    return this.#apply(userId, (state) => updateAccount(state, userId, options));
  }

  async resetUser(userId: string, options: AccountWriteOptions): Promise<ResetUserOutcome> {
    return this.#apply(userId, (state) => resetUser(state, userId, options));
  }

  async deleteUser(userId: string, options: DeleteUserOptions): Promise<boolean> {
    return this.#apply(userId, (state) => deleteUser(state, userId, options));
  }
}
