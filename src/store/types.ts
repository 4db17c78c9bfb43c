/**
 * The storage contract behind {@link createMFA}: a few async operations, each
 * atomic, so that every security decision (replay, throttling, single-use
 * recovery codes, binding) is one conditional write in the database.
 *
 * Times are Unix milliseconds passed in by the service (stores never read a
 * clock of their own for decisions). Secrets reach a store only sealed by the
 * service's cipher; recovery codes only as salted hashes.
 * @module
 */
import type { Digits, HashAlgorithm } from '../_assert.ts';

/** The OTP parameters of a factor. */
export interface FactorParams {
  /** HMAC hash. */
  algorithm: HashAlgorithm;
  /** Code length. */
  digits: Digits;
  /** Time step in seconds. */
  period: number;
}

/** An enrollment waiting for its two consecutive codes. */
export interface PendingEnrollment extends FactorParams {
  /** Random id of this enrollment; activation is conditional on it. */
  id: string;
  /** The secret, sealed by the service's `SecretCipher`. */
  sealedSecret: string;
  /** When it was created. */
  createdAt: number;
  /** When it stops being usable; a store treats it as absent from then on. */
  expiresAt: number;
}

/** A bound (active) TOTP factor. */
export interface ActiveFactor extends FactorParams {
  /** Random id of this factor; per-factor writes are conditional on it. */
  id: string;
  /** The secret, sealed by the service's `SecretCipher`. */
  sealedSecret: string;
  /** The last accepted time step (replay bound); -1 if none. */
  lastStep: number;
  /** The device's estimated clock offset in steps. */
  drift: number;
  /** When the factor was bound. */
  activatedAt: number;
}

/** The salted hashes of a user's unused recovery codes. */
export interface RecoveryCodeSet {
  /** The KDF parameters and salt, encoded by the service (opaque to stores). */
  salt: string;
  /** One encoded hash per unused code (opaque to stores; compared as strings). */
  hashes: string[];
}

/** Consecutive-failure state of one throttle scope. */
export interface ThrottleState {
  /** Attempts reserved since the last success (each counts as a failure until then). */
  failures: number;
  /** Unix ms before which no attempt may be reserved; 0 if none. */
  blockedUntil: number;
}

/** Throttle scopes: TOTP codes (login, binding, resync) and recovery codes. */
export type ThrottleScope = 'otp' | 'recovery';

/** Everything a store holds for one user. */
export interface UserRecord {
  /** The user id. */
  userId: string;
  /** The bound factor, if any. */
  active: ActiveFactor | null;
  /**
   * The pending enrollment, if any. It may be past its `expiresAt` (see
   * {@link MFAStore.getUser}); the service checks the expiry itself.
   */
  pending: PendingEnrollment | null;
  /** Unused recovery codes of the active factor (`null` if none were issued). */
  recoveryCodes: RecoveryCodeSet | null;
  /** Throttle state per scope. */
  throttle: Record<ThrottleScope, ThrottleState>;
}

/** What {@link MFAStore.activatePending} writes into the new active factor. */
export interface PendingActivation {
  /** Random id of the new factor. */
  factorId: string;
  /** The binding's second step: the first login cannot reuse it. */
  lastStep: number;
  /** The device's clock offset in steps, measured by the binding. */
  drift: number;
  /** The time of the activation (becomes `activatedAt`). */
  now: number;
  /** The new factor's recovery codes. */
  recoveryCodes: RecoveryCodeSet;
}

/** What a user must have for {@link MFAStore.readAndReserve} to reserve an attempt. */
export type AttemptRequirement = 'active' | 'pending';

/** The outcome of {@link MFAStore.readAndReserve}. */
export interface ReadAndReserveResult {
  /** The record as `getUser` would have returned it, before the reservation. */
  record: UserRecord | null;
  /** What `reserveAttempt` would have returned; `null` (nothing written) if the requirement is not met. */
  reservation: AttemptReservation | null;
}

/**
 * Whether a record holds nothing (no factor, enrollment, recovery codes or
 * counted failures): {@link MFAStore.getUser} returns `null` for it.
 * @internal
 */
export function isEmptyRecord(record: UserRecord): boolean {
  return (
    record.active === null &&
    record.pending === null &&
    record.recoveryCodes === null &&
    record.throttle.otp.failures === 0 &&
    record.throttle.recovery.failures === 0
  );
}

/**
 * Whether `record` meets `requirement` at `now`, as
 * {@link MFAStore.readAndReserve} decides it: an active factor, or a pending
 * enrollment with `now < expiresAt`.
 * @internal
 */
export function meetsRequirement(
  record: UserRecord | null,
  requirement: AttemptRequirement,
  now: number,
): boolean {
  if (requirement === 'active') return Boolean(record?.active);
  const pending = record?.pending;
  return pending != null && now < pending.expiresAt;
}

/**
 * The methods every {@link MFAStore} has (`readAndReserve` is optional).
 * @internal
 */
export const REQUIRED_STORE_METHODS = [
  'getUser',
  'putPending',
  'activatePending',
  'reserveAttempt',
  'recordSuccess',
  'replaceRecoveryCodes',
  'replaceSealedSecret',
  'consumeRecoveryCode',
  'resetThrottle',
  'deleteFactor',
] as const;

/** The throttle rules a store applies inside {@link MFAStore.reserveAttempt}. */
export interface AttemptPolicy {
  /** Attempts allowed back to back before delays start. */
  freeAttempts: number;
  /** The first delay; it doubles with every further failure. */
  baseDelayMs: number;
  /** The longest delay. */
  maxDelayMs: number;
  /**
   * Consecutive failures after which the scope is locked (until a reset), at
   * least 1. The service's policy allows 1 to 100; a store also accepts
   * `Infinity` (never locked), which its conformance tests use.
   */
  maxFailures: number;
}

/** The outcome of {@link MFAStore.reserveAttempt}. */
export type AttemptReservation =
  | {
      /** The attempt is reserved (already counted as a failure). */
      ok: true;
      /** The failure count including this attempt. */
      failures: number;
    }
  | {
      /** No attempt may be made now. */
      ok: false;
      /** `'locked'`: at `maxFailures`; `'throttled'`: inside a back-off delay. */
      reason: 'locked' | 'throttled';
      /** For `'throttled'`: how long until an attempt may be reserved. */
      retryAfterMs?: number;
    };

/**
 * The delay an {@link AttemptPolicy} imposes after `failures` consecutive
 * failures: 0 below `freeAttempts`, then `baseDelayMs · 2^(failures − freeAttempts)`
 * capped at `maxDelayMs`. Stores must compute exactly this.
 *
 * @param policy - the throttle rules
 * @param failures - consecutive failures including the attempt just reserved
 * @returns the delay in ms before the next attempt
 * @throws nothing; the policy is trusted (the service validates it)
 * @example
 * ```ts
 * import { attemptDelayMs } from 'totpkit';
 * const policy = { freeAttempts: 5, baseDelayMs: 1_000, maxDelayMs: 900_000, maxFailures: 100 };
 * attemptDelayMs(policy, 4); // 0
 * attemptDelayMs(policy, 7); // 4_000
 * attemptDelayMs(policy, 99); // 900_000
 * ```
 */
export function attemptDelayMs(policy: AttemptPolicy, failures: number): number {
  if (failures < policy.freeAttempts) return 0;
  const exponent = failures - policy.freeAttempts;
  return exponent >= 52
    ? policy.maxDelayMs
    : Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
}

/**
 * A store of MFA state. Every method is atomic on its own: implementations use
 * one conditional statement, a transaction or a script, never a read followed
 * by an unconditional write. Methods reject (throw) only for infrastructure
 * failures; expected conditions are return values.
 *
 * The conformance suite `testMFAStore` in `totpkit/testing` checks all of this,
 * including the concurrency cases.
 */
export interface MFAStore {
  /**
   * Reads a user's record. Returns `null` for a user the store has nothing for
   * (no factor, no pending enrollment, no throttle state).
   *
   * A pending enrollment past its `expiresAt` may be returned as it is, until
   * the store removes it, or as `null`: a store may drop it any time at or
   * after `expiresAt` (lazily, with `now`, or by a TTL). Returning it lets the
   * service tell an expired enrollment (`'expired'`) from none (`'not_pending'`).
   * A pending enrollment that was replaced, activated or deleted is never returned.
   */
  getUser(userId: string, now: number): Promise<UserRecord | null>;

  /**
   * Creates or replaces the user's pending enrollment. If the user has an
   * active factor and `replaceActive` is false, nothing is written and the
   * result is `false`. Atomic with respect to {@link MFAStore.activatePending}.
   */
  putPending(userId: string, pending: PendingEnrollment, replaceActive: boolean): Promise<boolean>;

  /**
   * Promotes the pending enrollment `pendingId` to the active factor, only if
   * it is still pending and `now < expiresAt`. In the same atomic step: the new
   * factor's `id`, `lastStep`, `drift`, `activatedAt` (= `now`) are set, any
   * previous active factor and its recovery codes are replaced by
   * `recoveryCodes`, the pending enrollment is removed and both throttle scopes
   * are reset. Returns `false` (writing nothing) if the pending enrollment is
   * gone, replaced or expired.
   */
  activatePending(
    userId: string,
    pendingId: string,
    activation: PendingActivation,
  ): Promise<boolean>;

  /**
   * Reserves one attempt in `scope` before the code is checked: if the scope has
   * `failures ≥ maxFailures` the result is `locked`; if `now < blockedUntil` it
   * is `throttled` with `retryAfterMs`; otherwise `failures` is incremented and
   * `blockedUntil` set to `now + attemptDelayMs(policy, failures)`, in one atomic
   * step. A user with no record gets a fresh state created.
   */
  reserveAttempt(
    userId: string,
    scope: ThrottleScope,
    now: number,
    policy: AttemptPolicy,
  ): Promise<AttemptReservation>;

  /**
   * Optional: {@link MFAStore.getUser} and {@link MFAStore.reserveAttempt} in one
   * atomic step, so that a code check costs one round trip before the code is
   * checked instead of two.
   *
   * Reads the user's record and, only if it meets `requirement`, reserves one
   * attempt in `scope` exactly as `reserveAttempt(userId, scope, now, policy)`
   * would, with no other write to the user in between:
   *
   * - `'active'`: the user has an active factor;
   * - `'pending'`: the user has a pending enrollment and `now < expiresAt`.
   *
   * `record` is what `getUser(userId, now)` would return at that moment: the
   * state the decision was made on, before the reservation (its `throttle`
   * does not count this attempt). `reservation` is what `reserveAttempt` would
   * return, or `null` if the requirement is not met, in which case nothing is
   * written: a user the store has nothing for gets no throttle state.
   *
   * A store without this method still works: the service then calls `getUser`
   * and `reserveAttempt`, one round trip each.
   */
  readAndReserve?(
    userId: string,
    scope: ThrottleScope,
    now: number,
    policy: AttemptPolicy,
    requirement: AttemptRequirement,
  ): Promise<ReadAndReserveResult>;

  /**
   * Records a successful TOTP check for factor `factorId`: only if that factor
   * is still active and `step > lastStep`, sets `lastStep = step` and
   * `drift = drift`, and resets the `otp` throttle scope, atomically. Returns
   * `false` (writing nothing) otherwise — a replay or a factor that changed.
   */
  recordSuccess(userId: string, factorId: string, step: number, drift: number): Promise<boolean>;

  /**
   * Replaces the recovery codes of factor `factorId` (only if still active).
   * Returns `false` if the factor is gone or changed.
   */
  replaceRecoveryCodes(userId: string, factorId: string, codes: RecoveryCodeSet): Promise<boolean>;

  /**
   * Replaces the sealed secret of factor `factorId` (only if still active),
   * e.g. after re-encrypting it under a new key. Nothing else changes.
   * Returns `false` if the factor is gone or changed.
   */
  replaceSealedSecret(userId: string, factorId: string, sealedSecret: string): Promise<boolean>;

  /**
   * Removes `hash` from the user's unused recovery codes, and on success resets
   * both throttle scopes (a recovery code unlocks the factor), atomically.
   * Returns `true` only for the one call that removed it.
   */
  consumeRecoveryCode(userId: string, hash: string): Promise<boolean>;

  /** Resets a throttle scope to `{ failures: 0, blockedUntil: 0 }` (an admin unlock). */
  resetThrottle(userId: string, scope: ThrottleScope): Promise<void>;

  /**
   * Removes the user's active factor, pending enrollment and recovery codes.
   * Throttle state is kept, so disabling cannot be used to reset a lock.
   * Returns whether there was anything to remove.
   */
  deleteFactor(userId: string): Promise<boolean>;
}
