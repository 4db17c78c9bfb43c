/**
 * The reference {@link MFAStore}: state in a `Map`, for tests, demos and
 * single-process servers. State is lost when the process exits, and two
 * processes do not share it: use PostgresStore or RedisStore behind more than
 * one server instance.
 * @module
 */
import { checkOptions, checkUserId } from '../_assert.ts';
import { accountHeld, checkDeleteExpired, checkRetention, idleSince } from './_retention.ts';
import type {
  AccountUpdateOutcome,
  AccountWrite,
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
  ThrottleState,
  UserRecord,
} from './contract.ts';
import {
  attemptDelayMs,
  isEmptyRecord,
  isLocked,
  meetsRequirement,
  reservationWeight,
} from './throttle.ts';

const fresh = (): ThrottleState => ({ failures: 0, guesses: 0, blockedUntil: 0 });

/** A MemoryStore's records and erasure guards (for {@link applyToUser}). */
let stateOf: (store: MemoryStore) => {
  users: Map<string, UserRecord>;
  guards: Map<string, number>;
};

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
 * (`throttleRetentionMs`).
 *
 * @example
 * ```ts
 * import { createMFA, MemoryStore, plaintextCipher } from 'totpkit';
 * const mfa = createMFA({ store: new MemoryStore(), issuer: 'Acme', cipher: plaintextCipher() });
 * ```
 */
export class MemoryStore implements MFAStore {
  readonly #users = new Map<string, UserRecord>();
  /** Erasure guards: user id → `until` (see {@link MFAStore.deleteUser}). */
  readonly #guards = new Map<string, number>();
  readonly #retentionMs: number;

  static {
    stateOf = (store) => ({ users: store.#users, guards: store.#guards });
  }

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
   * now`. Records with an active factor are never deleted; the expired
   * enrollment of a user with failures and no factor goes with the record. The same rule and
   * bound as `PostgresStore.deleteExpired`: each step changes at most
   * `options.limit` records; call again while `more` is `true`.
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
    let enrollments = 0;
    for (const record of this.#users.values()) {
      if (enrollments === checked.limit) break;
      // The expired enrollment of a user with failures and no factor stays:
      // its expiry keeps their throttle state, and it goes with the record.
      const keep =
        record.factors.length === 0 &&
        record.throttle.otp.failures + record.throttle.recovery.failures > 0;
      if (record.pending !== null && record.pending.expiresAt <= checked.now && !keep) {
        record.pending = null;
        enrollments += 1;
      }
    }
    const idleBefore = Math.max(0, checked.now - this.#retentionMs);
    let records = 0;
    for (const [userId, record] of this.#users) {
      if (records === checked.limit) break;
      const since = idleSince(record);
      if (since !== null && since <= idleBefore && !accountHeld(record, checked.now)) {
        this.#users.delete(userId);
        records += 1;
      }
    }
    for (const [userId, until] of this.#guards) {
      if (records === checked.limit) break;
      if (until <= checked.now) {
        this.#guards.delete(userId);
        records += 1;
      }
    }
    return {
      enrollments,
      records,
      more: enrollments === checked.limit || records === checked.limit,
    };
  }

  /** Whether an erasure guard is in force for the user at `now` (an expired one is dropped). */
  #erased(userId: string, now: number): boolean {
    const until = this.#guards.get(userId);
    if (until === undefined) return false;
    if (now < until) return true;
    this.#guards.delete(userId);
    return false;
  }

  #record(userId: string): UserRecord {
    let record = this.#users.get(userId);
    if (record === undefined) {
      record = {
        userId,
        factors: [],
        pending: null,
        recoveryCodes: null,
        throttle: { otp: fresh(), recovery: fresh() },
        account: null,
        accountVersion: 0,
      };
      this.#users.set(userId, record);
    }
    return record;
  }

  /** A copy of the user's record, or `null` if it holds nothing (as getUser returns it). */
  #copy(userId: string): UserRecord | null {
    const record = this.#users.get(userId);
    return record === undefined || isEmptyRecord(record) ? null : structuredClone(record);
  }

  /** Whether an account write may be made: the version is still the one read. */
  #current(userId: string, write: AccountWrite | undefined): boolean {
    return write === undefined || (this.#users.get(userId)?.accountVersion ?? 0) === write.version;
  }

  /** Makes an account write whose version was checked by {@link #current}. */
  #write(userId: string, write: AccountWrite | undefined): void {
    if (write === undefined) return;
    const record = this.#record(userId);
    record.account = structuredClone(write.account);
    record.accountVersion = write.version + 1;
  }

  #factor(userId: string, factorId: string): ActiveFactor | undefined {
    return this.#users.get(userId)?.factors.find((factor) => factor.id === factorId);
  }

  /** Reserves one attempt, synchronously: shared by reserveAttempt and readAndReserve. */
  #reserve(
    userId: string,
    { scope, now, policy, weight }: ReserveAttemptOptions,
  ): AttemptReservation {
    if (this.#erased(userId, now)) return { ok: false, reason: 'erased' };
    const existing = this.#users.get(userId)?.throttle[scope];
    if (existing !== undefined) {
      if (isLocked(existing, policy)) return { ok: false, reason: 'locked' };
      if (now < existing.blockedUntil) {
        return { ok: false, reason: 'throttled', retryAfterMs: existing.blockedUntil - now };
      }
    } else if (isLocked(fresh(), policy)) {
      return { ok: false, reason: 'locked' };
    }
    const state = this.#record(userId).throttle[scope];
    state.failures += 1;
    state.guesses += weight;
    state.blockedUntil = now + attemptDelayMs(policy, state.failures);
    return { ok: true, failures: state.failures, guesses: state.guesses };
  }

  /**
   * Adds `factor` if the duplicate, limit and name rules allow, removing the
   * active factor `replaceFactorId` in the same step: shared by
   * activatePending and addFactor. Creates the record only to write.
   */
  #add(
    userId: string,
    factor: ActiveFactor,
    replaceFactorId: string | null,
    options: AddFactorOptions,
  ): AddFactorResult {
    const factors = this.#users.get(userId)?.factors ?? [];
    const kept = factors.filter((f) => f.id !== replaceFactorId);
    const twin =
      factor.secretDigest === null
        ? undefined
        : kept.find((f) => f.secretDigest === factor.secretDigest);
    if (twin !== undefined) return { ok: false, reason: 'duplicate_secret', factorId: twin.id };
    if (kept.length + 1 > options.maxFactors) return { ok: false, reason: 'factor_limit' };
    if (kept.some((f) => f.nameKey === factor.nameKey)) return { ok: false, reason: 'name_taken' };
    const record = this.#record(userId);
    const firstFactor = record.factors.length === 0;
    const replaced = kept.length < record.factors.length;
    record.factors = [...kept, structuredClone(factor)].sort(
      (a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
    if (firstFactor) record.recoveryCodes = structuredClone(options.recoveryCodes);
    this.#write(userId, options.account);
    return { ok: true, firstFactor, replaced };
  }

  /**
   * Reads a copy of the user's record.
   *
   * @param userId - the user
   * @param _now - unused: expired pending enrollments are returned as they are
   * @returns the record, or `null`
   */
  async getUser(userId: string, _now: number): Promise<UserRecord | null> {
    checkUserId(userId);
    return this.#copy(userId);
  }

  /**
   * Creates or replaces the pending enrollment (see {@link MFAStore.putPending}),
   * keeping a replaced, unexpired one as `previous`.
   *
   * @param userId - the user
   * @param pending - the enrollment
   * @returns `'stored'`, or `'erased'` (nothing written) under an erasure guard
   */
  async putPending(
    userId: string,
    pending: PendingEnrollment,
    options?: PutPendingOptions,
  ): Promise<PutPendingOutcome> {
    checkUserId(userId);
    if (this.#erased(userId, pending.createdAt)) return 'erased';
    if (!this.#current(userId, options?.account)) return 'conflict';
    this.#write(userId, options?.account);
    const record = this.#record(userId);
    const old = record.pending;
    record.pending = {
      ...structuredClone(pending),
      previous:
        old !== null && old.id !== pending.id && pending.createdAt < old.expiresAt
          ? {
              id: old.id,
              sealedSecret: old.sealedSecret,
              algorithm: old.algorithm,
              digits: old.digits,
              period: old.period,
              expiresAt: old.expiresAt,
            }
          : null,
    };
    return 'stored';
  }

  /**
   * Binds the pending enrollment (see {@link MFAStore.activatePending}).
   *
   * @param userId - the user
   * @param pendingId - the enrollment to bind
   * @param activation - its last step, drift, time, the factor limit and recovery codes
   * @returns the outcome; a refusal writes nothing
   */
  async activatePending(
    userId: string,
    pendingId: string,
    activation: PendingActivation,
  ): Promise<AddFactorResult> {
    checkUserId(userId);
    if (this.#erased(userId, activation.now)) return { ok: false, reason: 'erased' };
    if (!this.#current(userId, activation.account)) return { ok: false, reason: 'conflict' };
    const record = this.#users.get(userId);
    const pending = record?.pending;
    if (!record || !pending || pending.id !== pendingId || !(activation.now < pending.expiresAt)) {
      return { ok: false, reason: 'not_pending' };
    }
    const factor: ActiveFactor = {
      id: pending.id,
      name: pending.name,
      nameKey: pending.nameKey,
      sealedSecret: pending.sealedSecret,
      secretDigest: pending.secretDigest,
      algorithm: activation.params?.algorithm ?? pending.algorithm,
      digits: activation.params?.digits ?? pending.digits,
      period: activation.params?.period ?? pending.period,
      lastStep: activation.lastStep,
      drift: activation.drift,
      createdAt: pending.createdAt,
      activatedAt: activation.now,
      lastUsedAt: null,
    };
    const result = this.#add(userId, factor, pending.replaceFactorId, activation);
    if (result.ok) {
      record.pending = null;
      record.throttle = { otp: fresh(), recovery: fresh() };
    }
    return result;
  }

  /**
   * Adds an active factor directly (see {@link MFAStore.addFactor}).
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
    checkUserId(userId);
    if (this.#erased(userId, factor.activatedAt)) return { ok: false, reason: 'erased' };
    if (!this.#current(userId, options.account)) return { ok: false, reason: 'conflict' };
    return this.#add(userId, factor, null, options);
  }

  /**
   * Reserves one attempt (see {@link MFAStore.reserveAttempt}).
   *
   * @param userId - the user
   * @param options - the scope, the time, the throttle rules and the weight
   * @returns the reservation, or why none is possible
   */
  async reserveAttempt(
    userId: string,
    options: ReserveAttemptOptions,
  ): Promise<AttemptReservation> {
    checkUserId(userId);
    return this.#reserve(userId, options);
  }

  /**
   * Reads the record and, if it meets `requirement`, reserves one attempt, in
   * one step (see {@link MFAStore.readAndReserve}).
   *
   * @param userId - the user
   * @param options - the scope, the time, the throttle rules and the
   *   requirement: `'active'` (an active factor) or `'pending'` (an unexpired
   *   pending enrollment)
   * @returns a copy of the record as it was before the reservation, and the
   *   reservation (`null`, writing nothing, if the requirement is not met)
   */
  async readAndReserve(
    userId: string,
    { scope, now, policy, requirement }: ReadAndReserveOptions,
  ): Promise<ReadAndReserveResult> {
    checkUserId(userId);
    const record = this.#copy(userId);
    if (!meetsRequirement(record, requirement, now)) return { record, reservation: null };
    const weight = reservationWeight(record, scope, requirement);
    return { record, reservation: this.#reserve(userId, { scope, now, policy, weight }) };
  }

  /**
   * Records a successful check (see {@link MFAStore.recordSuccess}).
   *
   * @param userId - the user
   * @param factorId - the factor that was checked
   * @param step - the accepted step
   * @param drift - the new drift estimate
   * @param now - Unix ms (becomes `lastUsedAt`)
   * @returns `false` for a replay (`step` ≤ last step) or a removed factor
   */
  async recordSuccess(
    userId: string,
    factorId: string,
    step: number,
    drift: number,
    now: number,
  ): Promise<boolean> {
    checkUserId(userId);
    const factor = this.#factor(userId, factorId);
    if (!factor || !(step > factor.lastStep)) return false;
    factor.lastStep = step;
    factor.drift = drift;
    factor.lastUsedAt = now;
    this.#record(userId).throttle.otp = fresh();
    return true;
  }

  /**
   * Replaces the recovery codes (see {@link MFAStore.replaceRecoveryCodes}).
   *
   * @param userId - the user
   * @param codes - the new set
   * @returns `false` if the user has no active factor
   */
  async replaceRecoveryCodes(
    userId: string,
    codes: RecoveryCodeSet,
    { account }: FactorChangeOptions,
  ): Promise<ReplaceRecoveryCodesOutcome> {
    checkUserId(userId);
    if (!this.#current(userId, account)) return 'conflict';
    const record = this.#users.get(userId);
    if (!record || record.factors.length === 0) return 'no_factor';
    record.recoveryCodes = structuredClone(codes);
    this.#write(userId, account);
    return 'replaced';
  }

  /**
   * Replaces a sealed secret (see {@link MFAStore.replaceSealedSecret}).
   *
   * @param userId - the user
   * @param id - the active factor's, the pending enrollment's or its `previous`'s id
   * @param sealedSecret - the secret sealed again
   * @returns `false` if there is no such factor, pending enrollment or `previous`
   */
  async replaceSealedSecret(userId: string, id: string, sealedSecret: string): Promise<boolean> {
    checkUserId(userId);
    const pending = this.#users.get(userId)?.pending;
    const target = this.#factor(userId, id) ?? (pending?.id === id ? pending : pending?.previous);
    if (!target || target.id !== id) return false;
    target.sealedSecret = sealedSecret;
    return true;
  }

  /**
   * Spends one recovery code hash (see {@link MFAStore.consumeRecoveryCode}).
   *
   * @param userId - the user
   * @param hash - the stored hash to remove
   * @returns `true` only for the call that removed it
   */
  async consumeRecoveryCode(userId: string, hash: string): Promise<boolean> {
    checkUserId(userId);
    const record = this.#users.get(userId);
    const hashes = record?.recoveryCodes?.hashes;
    const index = hashes ? hashes.indexOf(hash) : -1;
    if (!record || !hashes || index < 0) return false;
    hashes.splice(index, 1);
    record.throttle = { otp: fresh(), recovery: fresh() };
    return true;
  }

  /**
   * Resets one throttle scope (see {@link MFAStore.resetThrottle}).
   *
   * @param userId - the user
   * @param scope - the scope to reset
   * @returns when done
   */
  async resetThrottle(userId: string, scope: ThrottleScope): Promise<void> {
    checkUserId(userId);
    const record = this.#users.get(userId);
    if (record) record.throttle[scope] = fresh();
  }

  /**
   * Takes back an unchecked attempt (see {@link MFAStore.refundAttempt}).
   *
   * @param userId - the user
   * @param options - the scope, the counts the reservation left, its weight,
   *   and the scope's `blockedUntil` before it
   * @returns whether the attempt was taken back
   */
  async refundAttempt(
    userId: string,
    { scope, failures, guesses, weight, blockedUntil }: RefundAttemptOptions,
  ): Promise<boolean> {
    checkUserId(userId);
    const state = this.#users.get(userId)?.throttle[scope];
    if (!state || state.failures !== failures || state.guesses !== guesses || failures < 1) {
      return false;
    }
    state.failures = failures - 1;
    state.guesses = Math.max(0, guesses - weight);
    state.blockedUntil = blockedUntil;
    return true;
  }

  /**
   * Renames a factor (see {@link MFAStore.renameFactor}).
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
    checkUserId(userId);
    const factor = this.#factor(userId, factorId);
    if (!factor) return 'not_found';
    const factors = this.#users.get(userId)?.factors ?? [];
    if (factors.some((f) => f.id !== factorId && f.nameKey === nameKey)) return 'name_taken';
    factor.name = name;
    factor.nameKey = nameKey;
    return 'renamed';
  }

  /**
   * Removes one factor; the last one takes the pending enrollment and the
   * recovery codes with it (see {@link MFAStore.removeFactor}).
   *
   * @param userId - the user
   * @param factorId - the factor
   * @returns whether it was removed, and how many factors are left
   */
  async removeFactor(
    userId: string,
    factorId: string,
    { account }: FactorChangeOptions,
  ): Promise<FactorRemoval | 'conflict'> {
    checkUserId(userId);
    if (!this.#current(userId, account)) return 'conflict';
    const record = this.#users.get(userId);
    if (!record) return { removed: false, remaining: 0 };
    const kept = record.factors.filter((f) => f.id !== factorId);
    const removed = kept.length < record.factors.length;
    record.factors = kept;
    if (removed && kept.length === 0) {
      record.pending = null;
      record.recoveryCodes = null;
    }
    if (removed) this.#write(userId, account);
    return { removed, remaining: kept.length };
  }

  /**
   * Removes every factor, the pending enrollment and the recovery codes,
   * keeping throttle state (see {@link MFAStore.deleteFactors}).
   *
   * @param userId - the user
   * @returns whether there was anything to remove
   */
  async deleteFactors(
    userId: string,
    { account }: FactorChangeOptions,
  ): Promise<DeleteFactorsOutcome> {
    checkUserId(userId);
    if (!this.#current(userId, account)) return 'conflict';
    const record = this.#users.get(userId);
    if (!record || (record.factors.length === 0 && !record.pending && !record.recoveryCodes)) {
      return 'nothing';
    }
    record.factors = [];
    record.pending = null;
    record.recoveryCodes = null;
    this.#write(userId, account);
    return 'deleted';
  }

  /** Writes the account document (see {@link MFAStore.updateAccount}). */
  async updateAccount(userId: string, options: AccountWriteOptions): Promise<AccountUpdateOutcome> {
    checkUserId(userId);
    if (this.#erased(userId, options.now)) return 'erased';
    if (!this.#current(userId, options)) return 'conflict';
    this.#write(userId, options);
    return 'updated';
  }

  /** An admin reset (see {@link MFAStore.resetUser}). */
  async resetUser(userId: string, options: AccountWriteOptions): Promise<ResetUserOutcome> {
    checkUserId(userId);
    if (this.#erased(userId, options.now)) return 'erased';
    if (!this.#current(userId, options)) return 'conflict';
    const record = this.#record(userId);
    record.factors = [];
    record.pending = null;
    record.recoveryCodes = null;
    record.throttle = { otp: fresh(), recovery: fresh() };
    this.#write(userId, options);
    return 'reset';
  }

  /**
   * Erases everything held for the user and leaves an erasure guard until
   * `now + guardMs` (see {@link MFAStore.deleteUser}).
   *
   * @param userId - the user
   * @param options - the time of the erasure and how long the guard lasts
   * @returns whether there was anything to remove
   */
  async deleteUser(userId: string, { now, guardMs }: DeleteUserOptions): Promise<boolean> {
    checkUserId(userId);
    const record = this.#users.get(userId);
    this.#users.delete(userId);
    this.#guards.set(userId, now + guardMs);
    return record !== undefined && !isEmptyRecord(record);
  }
}

/**
 * All a store holds for one user: the record (`null` if none) and the end of
 * an erasure guard (`null` if none).
 * @internal
 */
export interface UserState {
  record: UserRecord | null;
  guardUntil: number | null;
}

/**
 * The contract's rules, written once, for stores that keep each user's state
 * as one document changed inside a transaction (MySQLStore): runs
 * `operation` on a MemoryStore whose one user has `state`, and returns its
 * result with that user's state afterwards.
 *
 * @param userId - the user
 * @param state - what the store holds for the user
 * @param operation - the store operation, called on a one-user MemoryStore
 * @param options - the MemoryStore's options (its `throttleRetentionMs`)
 * @returns the operation's result and the state to store (`record` `null` if it holds nothing)
 * @internal
 */
export async function applyToUser<T>(
  userId: string,
  state: UserState,
  operation: (store: MemoryStore) => Promise<T>,
  options?: MemoryStoreOptions,
): Promise<{ result: T; state: UserState }> {
  const store = new MemoryStore(options);
  const { users, guards } = stateOf(store);
  if (state.record !== null) users.set(userId, structuredClone(state.record));
  if (state.guardUntil !== null) guards.set(userId, state.guardUntil);
  const result = await operation(store);
  const after = users.get(userId);
  return {
    result,
    state: {
      record: after === undefined || isEmptyRecord(after) ? null : after,
      guardUntil: guards.get(userId) ?? null,
    },
  };
}
