/**
 * The storage contract behind {@link createMFA} (types only): a few async
 * operations, each atomic, so that every security decision (replay,
 * throttling, single-use recovery codes, binding, one secret per user,
 * erasure) is one conditional write in the database. The throttle arithmetic
 * every store shares is in `throttle.ts`.
 *
 * Times are Unix milliseconds passed in by the service (stores never read a
 * clock of their own for decisions). Secrets reach a store only sealed by the
 * service's cipher, with a per-user digest to compare them by; recovery codes
 * only as salted hashes.
 *
 * Every method refuses an ill-formed user id itself (`checkUserId` in `_assert.ts`:
 * empty, longer than 256 characters, a lone surrogate, U+FFFD or U+0000),
 * rejecting with a `TypeError` or `RangeError` that names `userId`.
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
  /**
   * A digest of the secret, to tell whether two factors of the user share
   * one without opening them: base64url (no padding, 43 characters) of
   * SHA-256(`"totpkit secret digest v1\0"` ‖ UTF-8(userId) ‖ `"\0"` ‖ secret),
   * computed by the service. It reveals nothing usable: secrets have at least
   * 80 bits, and the user id in the input makes it differ between users.
   * Stores compare it as a string. `null`: unknown (a factor written by 0.2
   * or earlier; records without it read as `null`).
   */
  secretDigest: string | null;
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
  /** See {@link PendingEnrollment.secretDigest}; the enrollment's becomes the factor's. */
  secretDigest: string | null;
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
  /**
   * Attempts reserved since the last reset (each counts as a failure until
   * then). The back-off delay follows it: `attemptDelayMs(policy, failures)`.
   */
  failures: number;
  /**
   * The factor-guesses charged since the last reset: the sum of the weights
   * of those attempts (each attempt is charged the number of secrets its code
   * is compared with). The scope is locked once it reaches
   * `policy.maxFailures`. Only a reset lowers it (a TOTP success in `otp`, a
   * binding, a recovery code, {@link MFAStore.resetThrottle}, a refund of the
   * last attempt), never a change of factors. A record written without it
   * (0.2) reads as 0.2 counted: `failures × max(1, active factors)` in the
   * `otp` scope, and `failures` in `recovery` (0.2 locked that scope at
   * `maxFailures` failures, whatever the factors; its weight is always 1).
   */
  guesses: number;
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
  /**
   * The account state around the factors (security generation, verification
   * codes, proofs, remembered devices), or `null` if none was ever written
   * (a record written by 0.2 reads as `null`). See {@link AccountState}.
   */
  account: AccountState | null;
  /**
   * The version of `account`: 0 while it is `null`, then one more at every
   * account write. Writes that carry an {@link AccountWrite} happen only if
   * it is still the version they read (compare-and-set).
   */
  accountVersion: number;
}

/**
 * What the service keeps per user beside the factors. Its rules (expiry,
 * budgets, single use) are the service's, applied in memory between a read
 * and a compare-and-set write; a store keeps the document whole (as JSON, or
 * field by field) and returns it exactly as written, arrays in order. Only
 * `keepUntil` means anything to a store (retention).
 */
export interface AccountState {
  /**
   * The security generation: 0 at first, one more at every change of the
   * user's second-factor state (a factor added, replaced, removed or
   * imported, disable, recovery codes regenerated, an admin reset). Apps bind
   * sessions to it.
   */
  generation: number;
  /**
   * Until when the store must keep this document once the user has no
   * factor, no pending enrollment and no throttle state: the latest expiry in
   * it, or `null` (keep while the record exists) once `generation > 0`, so a
   * generation never goes back to a value sessions were bound to. From then
   * on a store may delete the record with its retention (as for throttle
   * state); before then it must not.
   */
  keepUntil: number | null;
  /** Live out-of-band verification codes, at most one per purpose. */
  codes: VerificationCodeRecord[];
  /** Wrong verification codes per purpose, in a window that no new code resets. */
  budgets: VerificationBudget[];
  /** Sends per destination (key) and per user (key `''`), in a daily window. */
  sends: SendCounter[];
  /** Unused proofs (newest last). */
  proofs: ProofRecord[];
  /** Remembered devices (newest last). */
  devices: RememberedDeviceRecord[];
}

/** A verification code sent out of band, stored only as a keyed hash. */
export interface VerificationCodeRecord {
  /** Random id of this send (a failed send is taken back by it). */
  id: string;
  /** What the code proves, e.g. `'enroll'`. */
  purpose: string;
  /** `'email'` or `'sms'`. */
  channel: 'email' | 'sms';
  /** Hash of the destination (never the destination itself). */
  destinationKey: string;
  /** Keyed hash of the code, bound to user, purpose and destination. */
  codeHash: string;
  /** When it was sent. */
  sentAt: number;
  /** When it stops passing. */
  expiresAt: number;
  /** Attempts made against this code. */
  attempts: number;
}

/** The per-user, per-purpose budget of wrong verification codes. */
export interface VerificationBudget {
  /** The purpose. */
  purpose: string;
  /** Attempts charged in the window. */
  failures: number;
  /** When the window began (it lasts `policy.verificationCodes.budgetWindowMs`). */
  windowStart: number;
}

/** A count of sends in a daily window, per destination key or per user (`''`). */
export interface SendCounter {
  /** A destination key, or `''` for the user as a whole. */
  key: string;
  /** Sends in the window. */
  count: number;
  /** When the window began. */
  windowStart: number;
  /** When the last send happened (the cooldown runs from it). */
  lastSentAt: number;
}

/** An unused proof, stored only hashed. */
export interface ProofRecord {
  /** Hash of the proof token. */
  hash: string;
  /** The purpose it authorises. */
  purpose: string;
  /** What produced it: a verification code, a TOTP code or a recovery code. */
  kind: 'verification' | 'totp' | 'recovery';
  /** When it was made. */
  createdAt: number;
  /** When it stops authorising anything. */
  expiresAt: number;
}

/** A remembered device, stored only hashed. */
export interface RememberedDeviceRecord {
  /** Random public id (for listing and forgetting). */
  id: string;
  /** A name the app gave it (e.g. from the user agent), 1–64 characters. */
  name: string;
  /** Hash of the device token, bound to the user. */
  hash: string;
  /** When it was issued. */
  createdAt: number;
  /** When it last let a sign-in skip the second factor, or `null`. */
  lastUsedAt: number | null;
  /** Its absolute expiry; use never extends it. */
  expiresAt: number;
  /** The generation it was issued in; it passes only while that is current. */
  generation: number;
}

/**
 * A compare-and-set write of {@link UserRecord.account}: it happens only if
 * the stored version is still `version` (0 for a record that has none), and
 * then stores `account` with version `version + 1`.
 */
export interface AccountWrite {
  /** The `accountVersion` the service read. */
  version: number;
  /** The whole new document. */
  account: AccountState;
}

/** Options of {@link MFAStore.updateAccount} and {@link MFAStore.resetUser}. */
export interface AccountWriteOptions extends AccountWrite {
  /** The time of the call (the erasure guard is judged at it). */
  now: number;
}

/**
 * The outcome of {@link MFAStore.updateAccount}: `'conflict'` if the version
 * moved (nothing written), `'erased'` while an erasure guard is in force.
 */
export type AccountUpdateOutcome = 'updated' | 'conflict' | 'erased';

/** The outcome of {@link MFAStore.resetUser}. */
export type ResetUserOutcome = 'reset' | 'conflict' | 'erased';

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
  /** The account write made with the activation (the generation moves). */
  account: AccountWrite;
}

/** What {@link MFAStore.addFactor} needs besides the factor. */
export interface AddFactorOptions {
  /** The most active factors the user may have afterwards (1–20). */
  maxFactors: number;
  /** The account write made with the addition (the generation moves). */
  account: AccountWrite;
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
       * `'not_pending'`: the enrollment is gone, replaced or expired
       * (`activatePending` only); `'factor_limit'`: the user would have more
       * than `maxFactors`; `'name_taken'`: another active factor has the same
       * `nameKey`; `'erased'`: an erasure guard is in force for the user (see
       * {@link MFAStore.deleteUser}); `'conflict'`: the account version
       * moved since the service read it (checked right after `'erased'`).
       */
      reason: 'not_pending' | 'factor_limit' | 'name_taken' | 'erased' | 'conflict';
    }
  | {
      /** Nothing was written. */
      ok: false;
      /** Another active factor of the user has the same non-null `secretDigest`. */
      reason: 'duplicate_secret';
      /** That factor's id. */
      factorId: string;
    };

/**
 * The outcome of {@link MFAStore.putPending}: `'erased'` (nothing written)
 * while an erasure guard is in force; `'conflict'` (nothing written) if an
 * account write was given and the version moved.
 */
export type PutPendingOutcome = 'stored' | 'erased' | 'conflict';

/** Options of {@link MFAStore.putPending}. */
export interface PutPendingOptions {
  /** An account write made in the same atomic step (a proof consumed). */
  account?: AccountWrite;
}

/** Options of the factor changes that move the generation. */
export interface FactorChangeOptions {
  /** The account write made with the change, only if the change is made. */
  account: AccountWrite;
}

/** The outcome of {@link MFAStore.replaceRecoveryCodes}. */
export type ReplaceRecoveryCodesOutcome = 'replaced' | 'no_factor' | 'conflict';

/** The outcome of {@link MFAStore.deleteFactors}. */
export type DeleteFactorsOutcome = 'deleted' | 'nothing' | 'conflict';

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
   * Records deleted: those holding nothing, those of users without an
   * active factor whose throttle state stopped mattering (see the store's
   * `throttleRetentionMs`), and erasure guards whose `until` is at or before
   * `now`.
   */
  records: number;
  /** Whether a step reached `limit`, so that more may be left: call again. */
  more: boolean;
}

/** What {@link MFAStore.reserveAttempt} needs. */
export interface ReserveAttemptOptions {
  /** The scope to reserve in. */
  scope: ThrottleScope;
  /** Unix ms. */
  now: number;
  /** The throttle rules. */
  policy: AttemptPolicy;
  /**
   * The number of secrets the code will be compared with, an integer from 1
   * to 20, charged to `guesses`: the number of candidate factors at login or
   * resync, 1 for a binding (the pending secret) and in the `recovery` scope.
   */
  weight: number;
}

/** What {@link MFAStore.readAndReserve} needs. */
export interface ReadAndReserveOptions {
  /** The scope to reserve in. */
  scope: ThrottleScope;
  /** Unix ms. */
  now: number;
  /** The throttle rules. */
  policy: AttemptPolicy;
  /** What the record must have for an attempt to be reserved. */
  requirement: AttemptRequirement;
}

/** What {@link MFAStore.refundAttempt} needs: what the reservation left, and what it changed. */
export interface RefundAttemptOptions {
  /** The scope of the reservation. */
  scope: ThrottleScope;
  /** The scope's `failures` as the reservation left it. */
  failures: number;
  /** The scope's `guesses` as the reservation left it. */
  guesses: number;
  /** The weight the reservation charged (taken back from `guesses`). */
  weight: number;
  /** The scope's `blockedUntil` before the reservation (restored). */
  blockedUntil: number;
}

/** What {@link MFAStore.deleteUser} needs. */
export interface DeleteUserOptions {
  /** Unix ms: the time of the erasure. */
  now: number;
  /**
   * How long the erasure guard lasts, in ms, an integer ≥ 0: until
   * `now + guardMs` no operation creates state for the user. The service
   * passes `policy.erasureGuardMs` (1 minute to 7 days, default 1 hour).
   */
  guardMs: number;
}

/** The outcome of {@link MFAStore.readAndReserve}. */
export interface ReadAndReserveResult {
  /** The record as `getUser` would have returned it, before the reservation. */
  record: UserRecord | null;
  /** What `reserveAttempt` would have returned; `null` (nothing written) if the requirement is not met. */
  reservation: AttemptReservation | null;
}

/** The throttle rules a store applies inside {@link MFAStore.reserveAttempt}. */
export interface AttemptPolicy {
  /** Attempts allowed back to back before delays start. */
  freeAttempts: number;
  /** The first delay; it doubles with every further failure. */
  baseDelayMs: number;
  /** The longest delay. */
  maxDelayMs: number;
  /**
   * The guess budget, at least 1: the scope is locked once its `guesses`
   * (the factor-guesses charged since the last reset) reach it. Each attempt
   * is charged the number of secrets its code is compared with, so the odds
   * of one lock cycle are those of `maxFailures` guesses against one factor,
   * whatever the number of factors and whatever happens to them meanwhile.
   * With a constant `n` factors that is `ceil(maxFailures / n)` attempts. The
   * service's policy allows 1 to 100; a store also accepts `Infinity` (never
   * locked), which its conformance tests use.
   */
  maxFailures: number;
}

/** The outcome of {@link MFAStore.reserveAttempt}; only `ok: true` wrote anything. */
export type AttemptReservation =
  | {
      /** The attempt is reserved (already counted as a failure). */
      ok: true;
      /** The failure count including this attempt. */
      failures: number;
      /** The charged guesses including this attempt's weight. */
      guesses: number;
    }
  | {
      /** No attempt may be made now. */
      ok: false;
      /**
       * `'locked'`: `guesses` reached `maxFailures`; `'erased'`: an erasure
       * guard is in force for the user (see {@link MFAStore.deleteUser}).
       */
      reason: 'locked' | 'erased';
    }
  | {
      /** No attempt may be made now. */
      ok: false;
      /** Inside a back-off delay. */
      reason: 'throttled';
      /** How long until an attempt may be reserved, in ms (> 0). */
      retryAfterMs: number;
    };

/**
 * A store of MFA state. Every method is atomic on its own: implementations use
 * one conditional statement, a transaction or a script, never a read followed
 * by an unconditional write. Methods reject (throw) only for infrastructure
 * failures and for an ill-formed user id; expected conditions are return
 * values.
 *
 * **Erasure guard.** {@link MFAStore.deleteUser} leaves a guard holding only
 * the user id and `until`. While it is in force (the operation's time is
 * before `until`: `pending.createdAt` for putPending, `factor.activatedAt` for
 * addFactor, `activation.now` for activatePending, `now` for the reservations),
 * no operation creates any state for the user, neither as its purpose nor as
 * a side effect (an upsert, a write to a missing hash): `putPending` answers
 * `'erased'`, `addFactor` and `activatePending` `{ ok: false, reason:
 * 'erased' }`, `reserveAttempt` and the reservation of `readAndReserve`
 * `{ ok: false, reason: 'erased' }`, `updateAccount` and `resetUser`
 * `'erased'`; the other operations find nothing to
 * change and write nothing. A store drops the guard at or after `until`
 * (`deleteExpired`, or a TTL).
 *
 * **Account writes.** Every change of the user's factors that moves the
 * security generation carries an {@link AccountWrite}: the store makes the
 * change and the write together, only if the account version is still the
 * one the service read, else answers `'conflict'` and writes nothing (the
 * service reads again and retries). Operations without an account write
 * never change `account` or `accountVersion`.
 *
 * The conformance suite `testMFAStore` in `totpkit/testing` checks all of this,
 * including the concurrency cases.
 */
export interface MFAStore {
  /**
   * Reads a user's record. Returns `null` for a user the store has nothing for
   * (no factor, no pending enrollment, no throttle state, no account
   * document), and for a user under an erasure guard.
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
   *
   * Returns `'erased'`, writing nothing, while an erasure guard is in force
   * at `pending.createdAt`; then `'conflict'`, writing nothing, if
   * `options.account` is given and the account version is no longer its
   * `version`; otherwise `'stored'`, with `options.account` written too.
   */
  putPending(
    userId: string,
    pending: PendingEnrollment,
    options?: PutPendingOptions,
  ): Promise<PutPendingOutcome>;

  /**
   * Binds the pending enrollment `pendingId` as an active factor with the same
   * id, only if it is still pending and `activation.now < expiresAt`. In the
   * same atomic step: its `replaceFactorId` factor, if still active, is
   * removed; the new factor gets `lastStep`, `drift`, `activatedAt` (= `now`),
   * `lastUsedAt` `null`, the enrollment's `createdAt` and `secretDigest`, and
   * `activation.params` if given instead of the enrollment's parameters; the pending
   * enrollment is removed and both throttle scopes are reset; if the user had
   * no active factor, `recoveryCodes` becomes the user's set (otherwise the
   * user's set is kept and `recoveryCodes` is unused).
   *
   * Refuses, writing nothing, checked in this order: `'erased'` while an
   * erasure guard is in force; `'not_pending'` if the enrollment is gone,
   * replaced or expired; `'duplicate_secret'` (with its `factorId`) if
   * another remaining factor has the enrollment's non-null `secretDigest`;
   * `'factor_limit'` if the user would then have more than `maxFactors`
   * active factors; `'name_taken'` if another remaining factor has the same
   * `nameKey`. "Remaining": the active factors other than `replaceFactorId`.
   */
  activatePending(
    userId: string,
    pendingId: string,
    activation: PendingActivation,
  ): Promise<AddFactorResult>;

  /**
   * Adds an active factor directly (an imported secret), with the same
   * duplicate, limit, name and first-set rules as
   * {@link MFAStore.activatePending}, in one atomic step. The pending
   * enrollment and the throttle state are unchanged. Never refuses with
   * `'not_pending'`; refuses with `'erased'` while an erasure guard is in
   * force at `factor.activatedAt`. A `'duplicate_secret'` refusal comes before
   * `'factor_limit'` and `'name_taken'`, so a re-run import is recognised
   * whatever the name, even at the limit.
   */
  addFactor(
    userId: string,
    factor: ActiveFactor,
    options: AddFactorOptions,
  ): Promise<AddFactorResult>;

  /**
   * Reserves one attempt in `options.scope` before the code is checked, in one
   * atomic step: while an erasure guard is in force the result is `erased`;
   * if the scope has `guesses ≥ policy.maxFailures` it is `locked`; if
   * `now < blockedUntil` it is `throttled` with `retryAfterMs`; otherwise
   * `failures` is incremented, `weight` added to `guesses`, and
   * `blockedUntil` set to `now + attemptDelayMs(policy, failures)`. A user
   * with no record gets a fresh state created.
   */
  reserveAttempt(userId: string, options: ReserveAttemptOptions): Promise<AttemptReservation>;

  /**
   * Optional: {@link MFAStore.getUser} and {@link MFAStore.reserveAttempt} in one
   * atomic step, so that a code check costs one round trip before the code is
   * checked instead of two.
   *
   * Reads the user's record and, only if it meets `requirement`, reserves one
   * attempt in `scope` exactly as `reserveAttempt` would, with no other write
   * to the user in between:
   *
   * - `'active'`: the user has at least one active factor;
   * - `'pending'`: the user has a pending enrollment and `now < expiresAt`.
   *
   * The weight charged is decided from the record read: `max(1, active
   * factors)` for scope `'otp'` with requirement `'active'` (a login code is
   * compared with every factor), otherwise 1 (a binding checks the one
   * pending secret; a recovery code is one guess).
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
  readAndReserve?(userId: string, options: ReadAndReserveOptions): Promise<ReadAndReserveResult>;

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
   * Replaces the user's recovery codes, only if the user has an active factor,
   * and writes `options.account` in the same atomic step. Returns
   * `'conflict'` (writing nothing) if the account version moved, then
   * `'no_factor'` (writing nothing) if there is no active factor.
   */
  replaceRecoveryCodes(
    userId: string,
    codes: RecoveryCodeSet,
    options: FactorChangeOptions,
  ): Promise<ReplaceRecoveryCodesOutcome>;

  /**
   * Replaces the sealed secret of the active factor, of the pending
   * enrollment, or of the pending enrollment's `previous`, whose id is `id`
   * (e.g. after re-encrypting it under a new key). Nothing else changes
   * (`secretDigest` stays: the secret is the same). Returns `false` if there
   * is no such factor, pending enrollment or `previous`.
   */
  replaceSealedSecret(userId: string, id: string, sealedSecret: string): Promise<boolean>;

  /**
   * Removes `hash` from the user's unused recovery codes, and on success resets
   * both throttle scopes (a recovery code unlocks the user), atomically.
   * Returns `true` only for the one call that removed it.
   */
  consumeRecoveryCode(userId: string, hash: string): Promise<boolean>;

  /**
   * Resets a throttle scope to `{ failures: 0, guesses: 0, blockedUntil: 0 }`
   * (an admin unlock). Creates nothing for a user the store has nothing for.
   */
  resetThrottle(userId: string, scope: ThrottleScope): Promise<void>;

  /**
   * Takes back an attempt that was reserved but never checked (the secret
   * could not be opened): only if the scope's `failures` and `guesses` are
   * still what that reservation left (no attempt reserved, no reset since),
   * sets them to `failures − 1` and `guesses − weight`, and `blockedUntil` to
   * the value before the reservation, atomically. Returns whether it did.
   */
  refundAttempt(userId: string, options: RefundAttemptOptions): Promise<boolean>;

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
   * {@link MFAStore.deleteFactors}). Throttle state is kept, `guesses`
   * included: removing factors never lowers it. `options.account` is written
   * in the same step, only if the factor was removed. Returns `'conflict'`
   * (writing nothing) if the account version moved.
   */
  removeFactor(
    userId: string,
    factorId: string,
    options: FactorChangeOptions,
  ): Promise<FactorRemoval | 'conflict'>;

  /**
   * Removes all the user's active factors, the pending enrollment and the
   * recovery codes, and writes `options.account`, in one atomic step, only
   * if there was anything to remove (else `'nothing'`, writing nothing).
   * Returns `'conflict'` (writing nothing) if the account version moved.
   * Throttle state is kept, so disabling cannot be used to reset a lock.
   *
   * Kept, but not for ever: the throttle state of a user with no active
   * factor stops mattering at `max(otp.blockedUntil, recovery.blockedUntil,
   * pending expiresAt if any) + throttleRetentionMs` (a store option, default
   * 7 days), and the account document at its `keepUntil` (never while
   * `keepUntil` is `null`). From then on a store may delete them (in
   * `deleteExpired`, or by a TTL); before then it must not. The state of a
   * user with an active factor is never expired.
   */
  deleteFactors(userId: string, options: FactorChangeOptions): Promise<DeleteFactorsOutcome>;

  /**
   * Writes the user's account document if its version is still
   * `options.version`, creating the record if there is none (version 0).
   * Returns `'erased'` (writing nothing) while an erasure guard is in force at
   * `options.now`, then `'conflict'` (writing nothing) if the version moved.
   * Nothing else of the record changes.
   */
  updateAccount(userId: string, options: AccountWriteOptions): Promise<AccountUpdateOutcome>;

  /**
   * An admin reset, in one atomic step, only if the account version is still
   * `options.version`: removes every active factor, the pending enrollment
   * (with its `previous`) and the recovery codes, resets both throttle scopes
   * to zero, and writes `options.account`. Returns `'erased'` (writing
   * nothing) while an erasure guard is in force at `options.now`, then
   * `'conflict'` (writing nothing) if the version moved; otherwise `'reset'`,
   * also for a user the store had nothing for (the record is then created
   * with the document).
   */
  resetUser(userId: string, options: AccountWriteOptions): Promise<ResetUserOutcome>;

  /**
   * Erasure: removes everything the store holds for the user, throttle state
   * included, so that `getUser` returns `null`, and in the same atomic step
   * leaves an erasure guard holding only the user id and
   * `until = now + guardMs` (replacing an earlier guard), whether or not
   * there was anything to remove. Until then no operation creates state for
   * the user (see {@link MFAStore}), so a call that was in flight cannot
   * bring any back. Returns whether there was anything to remove.
   */
  deleteUser(userId: string, options: DeleteUserOptions): Promise<boolean>;
}
