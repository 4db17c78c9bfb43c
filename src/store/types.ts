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

/**
 * The pending enrollment that a newer one replaced while it was still
 * unexpired, kept (sealed) until its own `expiresAt` so that codes from its
 * QR code can be recognised as a stale QR code. Only the last one is kept.
 */
export interface ReplacedPending extends FactorParams {
  /** The replaced enrollment's id; {@link MFAStore.replaceSealedSecret} finds it by this id. */
  id: string;
  /** Its secret, sealed by the service's `SecretCipher`. */
  sealedSecret: string;
  /** Its own expiry; from then on the service ignores it. */
  expiresAt: number;
}

/** An enrollment waiting for its two consecutive codes. */
export interface PendingEnrollment extends FactorParams {
  /** Random id of this enrollment; activation is conditional on it, and it becomes the factor's id. */
  id: string;
  /** The name the factor will have (1–64 characters). */
  name: string;
  /**
   * `name` as uniqueness is decided: after NFKC and case folding, computed by
   * the service. Stores compare this, never `name`.
   */
  nameKey: string;
  /** The secret, sealed by the service's `SecretCipher`. */
  sealedSecret: string;
  /** When it was created. */
  createdAt: number;
  /** When it stops being usable; a store treats it as absent from then on. */
  expiresAt: number;
  /** An active factor to remove in the same atomic step that binds this one, or `null`. */
  replaceFactorId: string | null;
  /**
   * The enrollment this one replaced, if it was unexpired then, else `null`.
   * Written by the store in {@link MFAStore.putPending} (a value passed in is
   * ignored); records written without it (0.1.0) read as `null`; a store that does
   * not keep it may leave it out (the service then never answers `'stale_qr'`).
   */
  previous?: ReplacedPending | null;
}

/** A bound (active) TOTP factor. */
export interface ActiveFactor extends FactorParams {
  /** Random id of this factor; per-factor writes are conditional on it. */
  id: string;
  /** Its name, unique per user by `nameKey`. */
  name: string;
  /** `name` after NFKC and case folding (see {@link PendingEnrollment.nameKey}). */
  nameKey: string;
  /** The secret, sealed by the service's `SecretCipher`. */
  sealedSecret: string;
  /** The last accepted time step (replay bound); -1 if none. */
  lastStep: number;
  /** The device's estimated clock offset in steps. */
  drift: number;
  /** When its enrollment started (or it was imported); factors are listed in this order. */
  createdAt: number;
  /** When the factor was bound. */
  activatedAt: number;
  /** When a code of this factor was last accepted, or `null`. */
  lastUsedAt: number | null;
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
  /** The bound factors, ordered by `createdAt` (then `id`); empty if none. */
  factors: ActiveFactor[];
  /**
   * The pending enrollment, if any. It may be past its `expiresAt` (see
   * {@link MFAStore.getUser}); the service checks the expiry itself.
   */
  pending: PendingEnrollment | null;
  /** Unused recovery codes of the user (`null` if none were issued). */
  recoveryCodes: RecoveryCodeSet | null;
  /** Throttle state per scope. */
  throttle: Record<ThrottleScope, ThrottleState>;
}

/** What {@link MFAStore.activatePending} writes into the new active factor. */
export interface PendingActivation {
  /** The binding's second step: the first login cannot reuse it. */
  lastStep: number;
  /** The device's clock offset in steps, measured by the binding. */
  drift: number;
  /** The time of the activation (becomes `activatedAt`). */
  now: number;
  /** The most active factors the user may have afterwards (1–20). */
  maxFactors: number;
  /**
   * The set to store if the user has no active factor (else unused): `null`
   * from a service that read factors and so made no set; if they all went
   * meanwhile, the user is left with no codes and the service issues a set.
   */
  recoveryCodes: RecoveryCodeSet | null;
  /**
   * The parameters the new factor gets instead of the enrollment's: those
   * the user's app actually uses, when the service's
   * `policy.acceptAppParameters` bound them. Absent: the enrollment's.
   */
  params?: FactorParams;
}

/** What {@link MFAStore.addFactor} needs besides the factor. */
export interface AddFactorOptions {
  /** The most active factors the user may have afterwards (1–20). */
  maxFactors: number;
  /**
   * The set to store if the user has no active factor (else unused): `null`
   * from a service that read factors and so made no set; if they all went
   * meanwhile, the user is left with no codes and the service issues a set.
   */
  recoveryCodes: RecoveryCodeSet | null;
}

/**
 * The outcome of {@link MFAStore.activatePending} and {@link MFAStore.addFactor}.
 * A refusal writes nothing.
 */
export type AddFactorResult =
  | {
      /** The factor is active. */
      ok: true;
      /** Whether the user had no active factor, so `recoveryCodes` became the user's set. */
      firstFactor: boolean;
      /** Whether the enrollment's `replaceFactorId` was active and is now removed. */
      replaced: boolean;
    }
  | {
      /** Nothing was written. */
      ok: false;
      /**
       * `'not_pending'`: the enrollment is gone, replaced or expired;
       * `'factor_limit'`: the user would have more than `maxFactors`;
       * `'name_taken'`: another active factor has the same `nameKey`.
       */
      reason: 'not_pending' | 'factor_limit' | 'name_taken';
    };

/** The outcome of {@link MFAStore.renameFactor}; only `'renamed'` wrote anything. */
export type FactorRenameOutcome = 'renamed' | 'not_found' | 'name_taken';

/** The outcome of {@link MFAStore.removeFactor}. */
export interface FactorRemoval {
  /** Whether the factor was active and is now removed. */
  removed: boolean;
  /** Active factors left afterwards (0: two-factor sign-in is off). */
  remaining: number;
}

/** What a user must have for {@link MFAStore.readAndReserve} to reserve an attempt. */
export type AttemptRequirement = 'active' | 'pending';

/**
 * Options of a store's `deleteExpired(now, options)` (MemoryStore and
 * PostgresStore; Redis expires keys by TTL instead).
 */
export interface DeleteExpiredOptions {
  /**
   * The most pending enrollments one call clears, and the most records it
   * deletes: an integer from 1 to 1,000,000, default 10,000. A bounded call
   * holds its locks briefly; call again while `more` is `true`.
   */
  limit?: number;
}

/** What a store's `deleteExpired` did. */
export interface DeleteExpiredResult {
  /** Pending enrollments removed because they expired at or before `now`. */
  enrollments: number;
  /**
   * Records deleted: those holding nothing, and those of users without an
   * active factor whose throttle state stopped mattering (see the store's
   * `throttleRetentionMs`).
   */
  records: number;
  /** Whether a step reached `limit`, so that more may be left: call again. */
  more: boolean;
}

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
    record.factors.length === 0 &&
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
  if (requirement === 'active') return (record?.factors.length ?? 0) > 0;
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
  'refundAttempt',
  'addFactor',
  'renameFactor',
  'removeFactor',
  'deleteFactors',
  'deleteUser',
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
   * The failure budget, at least 1. In the `otp` scope it is the budget of a
   * user with one active factor: a user with `n` active factors is locked
   * after {@link attemptLimit}`(maxFailures, n)` consecutive failures (until a
   * reset), so that the odds of a guessing attack do not grow with `n`. In the
   * `recovery` scope it is used as it is. The service's policy allows 1 to 100; a store also
   * accepts `Infinity` (never locked), which its conformance tests use.
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
 * import { attemptDelayMs } from 'totpkit/store';
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
 * The consecutive failures after which a user with `factors` active factors
 * is locked: `max(1, ceil(maxFailures / max(1, factors)))`. Each guessed code
 * is compared with every factor, so `n` factors give a guess up to `n` times
 * the odds of one; dividing the budget by `n` keeps the odds of one lock
 * cycle the same for 1 factor or 20 (see docs/security-model.md). Stores
 * apply it with the factor count they read in the same atomic step.
 *
 * @param maxFailures - the budget of one factor (`Infinity`: never locked)
 * @param factors - the user's active factors (0 counts as 1)
 * @returns the lock threshold
 * @throws nothing; the arguments are trusted (the service validates them)
 * @example
 * ```ts
 * import { attemptLimit } from 'totpkit/store';
 * attemptLimit(100, 1); // 100
 * attemptLimit(100, 3); // 34
 * attemptLimit(100, 5); // 20
 * ```
 */
export function attemptLimit(maxFailures: number, factors: number): number {
  return Math.max(1, Math.ceil(maxFailures / Math.max(1, factors)));
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
   * Creates or replaces the user's one pending enrollment, whether or not
   * factors are active. Atomic with respect to {@link MFAStore.activatePending}.
   *
   * In the same atomic step, the new record's `previous` is set from the
   * enrollment it replaces, if there is one, with another id, and
   * `pending.createdAt` is before its `expiresAt`: its `id`, `sealedSecret`, `algorithm`, `digits`, `period`
   * and `expiresAt` (its own `previous` is dropped: only the last one is
   * kept). Otherwise `previous` is `null`. The `previous` passed in is ignored.
   * `previous` goes with the pending enrollment (activation, deletion) and is
   * never copied into a factor.
   */
  putPending(userId: string, pending: PendingEnrollment): Promise<void>;

  /**
   * Binds the pending enrollment `pendingId` as an active factor with the same
   * id, only if it is still pending and `activation.now < expiresAt`. In the
   * same atomic step: its `replaceFactorId` factor, if still active, is
   * removed; the new factor gets `lastStep`, `drift`, `activatedAt` (= `now`),
   * `lastUsedAt` `null`, the enrollment's `createdAt`, and
   * `activation.params` if given instead of the enrollment's parameters; the pending
   * enrollment is removed and both throttle scopes are reset; if the user had
   * no active factor, `recoveryCodes` becomes the user's set (otherwise the
   * user's set is kept and `recoveryCodes` is unused).
   *
   * Refuses, writing nothing: `'not_pending'` if the enrollment is gone,
   * replaced or expired; `'factor_limit'` if the user would then have more
   * than `maxFactors` active factors; `'name_taken'` if another remaining
   * factor has the same `nameKey`.
   */
  activatePending(
    userId: string,
    pendingId: string,
    activation: PendingActivation,
  ): Promise<AddFactorResult>;

  /**
   * Adds an active factor directly (an imported secret), with the same limit,
   * name rule and first-set rule as {@link MFAStore.activatePending}, in one
   * atomic step. The pending enrollment and the throttle state are unchanged.
   * Never refuses with `'not_pending'`.
   */
  addFactor(
    userId: string,
    factor: ActiveFactor,
    options: AddFactorOptions,
  ): Promise<AddFactorResult>;

  /**
   * Reserves one attempt in `scope` before the code is checked: if the scope has
   * `failures ≥` its limit (`attemptLimit(maxFailures, n)` for `otp`, `n` being
   * the user's active factors at that moment; `maxFailures` for `recovery`),
   * the result is `locked`; if `now < blockedUntil` it
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
   * - `'active'`: the user has at least one active factor;
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
   * is still active and `step > lastStep`, sets its `lastStep = step`,
   * `drift = drift` and `lastUsedAt = now`, and resets the `otp` throttle
   * scope, atomically. Other factors are untouched (each keeps its own replay
   * state). Returns `false` (writing nothing) otherwise — a replay or a factor
   * that was removed.
   */
  recordSuccess(
    userId: string,
    factorId: string,
    step: number,
    drift: number,
    now: number,
  ): Promise<boolean>;

  /**
   * Replaces the user's recovery codes, only if the user has an active factor.
   * Returns `false` (writing nothing) otherwise.
   */
  replaceRecoveryCodes(userId: string, codes: RecoveryCodeSet): Promise<boolean>;

  /**
   * Replaces the sealed secret of the active factor, of the pending
   * enrollment, or of the pending enrollment's `previous`, whose id is `id`
   * (e.g. after re-encrypting it under a new key). Nothing else changes.
   * Returns `false` if there is no such factor, pending enrollment or
   * `previous`.
   */
  replaceSealedSecret(userId: string, id: string, sealedSecret: string): Promise<boolean>;

  /**
   * Removes `hash` from the user's unused recovery codes, and on success resets
   * both throttle scopes (a recovery code unlocks the user), atomically.
   * Returns `true` only for the one call that removed it.
   */
  consumeRecoveryCode(userId: string, hash: string): Promise<boolean>;

  /** Resets a throttle scope to `{ failures: 0, blockedUntil: 0 }` (an admin unlock). */
  resetThrottle(userId: string, scope: ThrottleScope): Promise<void>;

  /**
   * Takes back an attempt that was reserved but never checked (the secret
   * could not be opened): only if the scope's `failures` is still `failures`
   * (no attempt reserved, no reset since), sets it to `failures − 1` and
   * `blockedUntil` to `blockedUntil` (the value before the reservation),
   * atomically. Returns whether it did.
   */
  refundAttempt(
    userId: string,
    scope: ThrottleScope,
    failures: number,
    blockedUntil: number,
  ): Promise<boolean>;

  /**
   * Renames active factor `factorId` to `name` (`nameKey` as computed by the
   * service), unless another active factor has the same `nameKey`.
   */
  renameFactor(
    userId: string,
    factorId: string,
    name: string,
    nameKey: string,
  ): Promise<FactorRenameOutcome>;

  /**
   * Removes active factor `factorId`. If it was the last one, the pending
   * enrollment and the recovery codes go too, in the same atomic step (as
   * {@link MFAStore.deleteFactors}). Throttle state is kept.
   */
  removeFactor(userId: string, factorId: string): Promise<FactorRemoval>;

  /**
   * Removes all the user's active factors, the pending enrollment and the
   * recovery codes. Throttle state is kept, so disabling cannot be used to
   * reset a lock. Returns whether there was anything to remove.
   *
   * Kept, but not for ever: the throttle state of a user with no active
   * factor stops mattering at `max(otp.blockedUntil, recovery.blockedUntil,
   * pending expiresAt if any) + throttleRetentionMs` (a store option, default
   * 7 days). From then on a store may delete it (MemoryStore and
   * PostgresStore in `deleteExpired`, RedisStore by a TTL); before then it
   * must not. The state of a user with an active factor is never expired.
   */
  deleteFactors(userId: string): Promise<boolean>;

  /**
   * Erasure: removes everything the store holds for the user, throttle state
   * included, so that `getUser` returns `null`. Returns whether there was
   * anything to remove.
   */
  deleteUser(userId: string): Promise<boolean>;
}
