/**
 * The reference {@link MFAStore}: state in a `Map`, for tests, demos and
 * single-process servers. State is lost when the process exits, and two
 * processes do not share it: use PostgresStore or RedisStore behind more than
 * one server instance.
 * @module
 */
import {
  attemptDelayMs,
  isEmptyRecord,
  meetsRequirement,
  type ActiveFactor,
  type AttemptPolicy,
  type AttemptRequirement,
  type AttemptReservation,
  type MFAStore,
  type PendingActivation,
  type PendingEnrollment,
  type ReadAndReserveResult,
  type RecoveryCodeSet,
  type ThrottleScope,
  type ThrottleState,
  type UserRecord,
} from './types.ts';

const fresh = (): ThrottleState => ({ failures: 0, blockedUntil: 0 });

/**
 * An in-memory {@link MFAStore}. Each operation runs to completion without
 * awaiting, so it is atomic within the process. Records go in and out as
 * copies: changing an object after passing it in, or one returned by
 * `getUser`, does not change the store.
 *
 * An expired pending enrollment is kept (and returned by `getUser`, so the
 * service can report `'expired'`) until it is replaced, activated or deleted.
 *
 * @example
 * ```ts
 * import { createMFA, MemoryStore, plaintextCipher } from 'totpkit';
 * const mfa = createMFA({ store: new MemoryStore(), issuer: 'Acme', cipher: plaintextCipher() });
 * ```
 */
export class MemoryStore implements MFAStore {
  readonly #users = new Map<string, UserRecord>();

  #record(userId: string): UserRecord {
    let record = this.#users.get(userId);
    if (record === undefined) {
      record = {
        userId,
        active: null,
        pending: null,
        recoveryCodes: null,
        throttle: { otp: fresh(), recovery: fresh() },
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

  #activeFactor(userId: string, factorId: string): ActiveFactor | undefined {
    const active = this.#users.get(userId)?.active;
    return active?.id === factorId ? active : undefined;
  }

  /** Reserves one attempt, synchronously: shared by reserveAttempt and readAndReserve. */
  #reserve(
    userId: string,
    scope: ThrottleScope,
    now: number,
    policy: AttemptPolicy,
  ): AttemptReservation {
    const state = this.#record(userId).throttle[scope];
    if (state.failures >= policy.maxFailures) return { ok: false, reason: 'locked' };
    if (now < state.blockedUntil) {
      return { ok: false, reason: 'throttled', retryAfterMs: state.blockedUntil - now };
    }
    state.failures += 1;
    state.blockedUntil = now + attemptDelayMs(policy, state.failures);
    return { ok: true, failures: state.failures };
  }
  /**
   * Reads a copy of the user's record.
   * @param userId - the user
   * @param _now - unused: expired pending enrollments are returned as they are
   * @returns the record, or `null`
   */
  async getUser(userId: string, _now: number): Promise<UserRecord | null> {
    return this.#copy(userId);
  }

  /**
   * Creates or replaces the pending enrollment (see {@link MFAStore.putPending}).
   * @param userId - the user
   * @param pending - the enrollment
   * @param replaceActive - whether an active factor may be replaced later
   * @returns `false` if the user has an active factor and `replaceActive` is false
   */
  async putPending(
    userId: string,
    pending: PendingEnrollment,
    replaceActive: boolean,
  ): Promise<boolean> {
    if (this.#users.get(userId)?.active && !replaceActive) return false;
    this.#record(userId).pending = structuredClone(pending);
    return true;
  }

  /**
   * Promotes the pending enrollment (see {@link MFAStore.activatePending}).
   * @param userId - the user
   * @param pendingId - the enrollment to promote
   * @param activation - the new factor's id, last step, drift, time and recovery codes
   * @returns `false` if it is gone, replaced or expired
   */
  async activatePending(
    userId: string,
    pendingId: string,
    activation: PendingActivation,
  ): Promise<boolean> {
    const record = this.#users.get(userId);
    const pending = record?.pending;
    if (!record || !pending || pending.id !== pendingId || !(activation.now < pending.expiresAt)) {
      return false;
    }
    record.active = {
      id: activation.factorId,
      sealedSecret: pending.sealedSecret,
      algorithm: pending.algorithm,
      digits: pending.digits,
      period: pending.period,
      lastStep: activation.lastStep,
      drift: activation.drift,
      activatedAt: activation.now,
    };
    record.pending = null;
    record.recoveryCodes = structuredClone(activation.recoveryCodes);
    record.throttle = { otp: fresh(), recovery: fresh() };
    return true;
  }

  /**
   * Reserves one attempt (see {@link MFAStore.reserveAttempt}).
   * @param userId - the user
   * @param scope - `'otp'` or `'recovery'`
   * @param now - Unix ms
   * @param policy - the throttle rules
   * @returns the reservation, or why none is possible
   */
  async reserveAttempt(
    userId: string,
    scope: ThrottleScope,
    now: number,
    policy: AttemptPolicy,
  ): Promise<AttemptReservation> {
    return this.#reserve(userId, scope, now, policy);
  }

  /**
   * Reads the record and, if it meets `requirement`, reserves one attempt, in
   * one step (see {@link MFAStore.readAndReserve}).
   * @param userId - the user
   * @param scope - `'otp'` or `'recovery'`
   * @param now - Unix ms
   * @param policy - the throttle rules
   * @param requirement - `'active'` (an active factor) or `'pending'` (an unexpired pending enrollment)
   * @returns a copy of the record as it was before the reservation, and the
   *   reservation (`null`, writing nothing, if the requirement is not met)
   */
  async readAndReserve(
    userId: string,
    scope: ThrottleScope,
    now: number,
    policy: AttemptPolicy,
    requirement: AttemptRequirement,
  ): Promise<ReadAndReserveResult> {
    const record = this.#copy(userId);
    const met = meetsRequirement(record, requirement, now);
    return { record, reservation: met ? this.#reserve(userId, scope, now, policy) : null };
  }

  /**
   * Records a successful check (see {@link MFAStore.recordSuccess}).
   * @param userId - the user
   * @param factorId - the factor that was checked
   * @param step - the accepted step
   * @param drift - the new drift estimate
   * @returns `false` for a replay (`step` ≤ last step) or a changed factor
   */
  async recordSuccess(
    userId: string,
    factorId: string,
    step: number,
    drift: number,
  ): Promise<boolean> {
    const active = this.#activeFactor(userId, factorId);
    if (!active || !(step > active.lastStep)) return false;
    active.lastStep = step;
    active.drift = drift;
    this.#record(userId).throttle.otp = fresh();
    return true;
  }

  /**
   * Replaces the recovery codes (see {@link MFAStore.replaceRecoveryCodes}).
   * @param userId - the user
   * @param factorId - the factor they belong to
   * @param codes - the new set
   * @returns `false` if the factor is gone or changed
   */
  async replaceRecoveryCodes(
    userId: string,
    factorId: string,
    codes: RecoveryCodeSet,
  ): Promise<boolean> {
    if (!this.#activeFactor(userId, factorId)) return false;
    this.#record(userId).recoveryCodes = structuredClone(codes);
    return true;
  }

  /**
   * Replaces the sealed secret (see {@link MFAStore.replaceSealedSecret}).
   * @param userId - the user
   * @param factorId - the factor
   * @param sealedSecret - the secret sealed again
   * @returns `false` if the factor is gone or changed
   */
  async replaceSealedSecret(
    userId: string,
    factorId: string,
    sealedSecret: string,
  ): Promise<boolean> {
    const active = this.#activeFactor(userId, factorId);
    if (!active) return false;
    active.sealedSecret = sealedSecret;
    return true;
  }

  /**
   * Spends one recovery code hash (see {@link MFAStore.consumeRecoveryCode}).
   * @param userId - the user
   * @param hash - the stored hash to remove
   * @returns `true` only for the call that removed it
   */
  async consumeRecoveryCode(userId: string, hash: string): Promise<boolean> {
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
   * @param userId - the user
   * @param scope - the scope to reset
   * @returns when done
   */
  async resetThrottle(userId: string, scope: ThrottleScope): Promise<void> {
    const record = this.#users.get(userId);
    if (record) record.throttle[scope] = fresh();
  }

  /**
   * Removes the factor, pending enrollment and recovery codes, keeping throttle
   * state (see {@link MFAStore.deleteFactor}).
   * @param userId - the user
   * @returns whether there was anything to remove
   */
  async deleteFactor(userId: string): Promise<boolean> {
    const record = this.#users.get(userId);
    if (!record || (!record.active && !record.pending && !record.recoveryCodes)) return false;
    record.active = null;
    record.pending = null;
    record.recoveryCodes = null;
    return true;
  }
}
