/**
 * The service's public types: its options, the {@link MFA} interface, and
 * the result of each method.
 * @module
 */
import type { FactorParams, MFAStore, ThrottleScope } from '../store/types.ts';
import type { SecretCipher } from './cipher.ts';
import type { MFAEvent } from './events.ts';
import type { MFAPolicyOptions } from './policy.ts';

/** Options for {@link createMFA}. */
export interface MFAOptions {
  /** Where enrollments, factors, recovery code hashes and throttle state live. */
  store: MFAStore;
  /** The service name authenticator apps show, e.g. `'Acme'`. No colon. */
  issuer: string;
  /**
   * Seals secrets at rest: {@link createAESGCMCipher}, your own
   * {@link SecretCipher}, or, as an explicit choice, {@link plaintextCipher}.
   */
  cipher: SecretCipher;
  /** Returns the time in Unix ms; read once per call. Default `Date.now`. */
  clock?: () => number;
  /** Overrides of {@link DEFAULT_MFA_POLICY}. */
  policy?: MFAPolicyOptions;
  /**
   * Parameters of new factors: `algorithm` (default `'SHA1'`, the only one every
   * app supports), `digits` (6), `period` (30 s). Existing factors keep theirs.
   */
  totp?: Partial<FactorParams>;
  /**
   * Receives audit events, synchronously, after the store write they report.
   * If it throws, the call rejects with that error after the write has
   * happened. If it returns a promise (an `async` handler), the call does not
   * wait for it; a rejection goes to `onEventError`, so it neither ends the
   * process as an unhandled rejection nor vanishes.
   */
  onEvent?: (event: MFAEvent) => void;
  /**
   * Receives the rejection of a promise returned by `onEvent`, with the event
   * it was given. Default: the error is written with `console.error`. If this
   * handler throws, that error is written with `console.error` too.
   */
  onEventError?: (error: unknown, event: MFAEvent) => void;
}

/** Options for {@link MFA.beginEnrollment}. */
export interface BeginEnrollmentOptions {
  /** The account as the authenticator app shows it, e.g. the user's email. No colon. */
  accountName: string;
  /** Allow replacing an active factor once the new one is bound. Default `false`. */
  replaceActive?: boolean;
}

/**
 * A started enrollment. `secret` and `uri` are non-enumerable: read them
 * directly to show the QR code and the secret; they are left out of
 * `JSON.stringify`, `console.log` and object spreads so that logging the
 * result does not leak them.
 */
export interface BeginEnrollmentResult {
  /** The secret as unpadded base32, for typing into an app. Non-enumerable. */
  readonly secret: string;
  /** The `otpauth://` key URI to render as a QR code. Non-enumerable. */
  readonly uri: string;
  /** When the pending enrollment expires, Unix ms. */
  readonly expiresAt: number;
}

/**
 * A refusal: `reason`, and for `'throttled'` how long to wait. `R` lists
 * every reason the method can give.
 */
export type MFARefusal<R extends string> =
  | {
      /** The code was not accepted. */
      ok: false;
      /** Why; see the method's failure type. */
      reason: Exclude<R, 'throttled'>;
    }
  | {
      /** The code was not accepted. */
      ok: false;
      /** Too many recent failures: the code was not checked. */
      reason: 'throttled';
      /** Milliseconds until the next attempt may be made. */
      retryAfterMs: number;
    };

/**
 * Why {@link MFA.completeEnrollment} refused: `malformed` (not `digits`
 * digits), `same_code` (the same code twice: wait for the next one),
 * `wrong_order` (swapped), `mismatch`, `expired` (start again), `not_pending`
 * (no enrollment in progress, or it was completed or replaced meanwhile),
 * `throttled`, `locked`.
 */
export type CompleteEnrollmentFailure =
  | 'malformed'
  | 'same_code'
  | 'wrong_order'
  | 'mismatch'
  | 'expired'
  | 'not_pending'
  | 'throttled'
  | 'locked';

/** The outcome of {@link MFA.completeEnrollment}. */
export type CompleteEnrollmentResult =
  | {
      /** The authenticator is bound. */
      ok: true;
      /** The recovery codes, to show once. Non-enumerable (see {@link BeginEnrollmentResult}). */
      readonly recoveryCodes: readonly string[];
    }
  | MFARefusal<CompleteEnrollmentFailure>;

/**
 * Why {@link MFA.verify} refused: `not_enrolled`, `malformed`, `mismatch`,
 * `replayed` (this code's time step was already used), `resync_required` (the
 * code is right but the device clock has drifted further than `maxDrift`),
 * `throttled`, `locked` (until a recovery code or {@link MFA.unlock}).
 */
export type VerifyFailure =
  | 'not_enrolled'
  | 'malformed'
  | 'mismatch'
  | 'replayed'
  | 'resync_required'
  | 'throttled'
  | 'locked';

/** The outcome of {@link MFA.verify}. Test `ok`. */
export type VerifyResult =
  | {
      /** The code is accepted and its time step recorded as used. */
      ok: true;
    }
  | MFARefusal<VerifyFailure>;

/** Why {@link MFA.resync} refused; see {@link CompleteEnrollmentFailure} and {@link VerifyFailure}. */
export type ResyncFailure =
  | 'not_enrolled'
  | 'malformed'
  | 'same_code'
  | 'wrong_order'
  | 'mismatch'
  | 'replayed'
  | 'throttled'
  | 'locked';

/** The outcome of {@link MFA.resync}. */
export type ResyncResult =
  | {
      /** The device clock's offset is measured again and the codes' steps recorded. */
      ok: true;
      /** The new offset in steps (positive: the device is ahead). */
      drift: number;
    }
  | MFARefusal<ResyncFailure>;

/**
 * Why {@link MFA.useRecoveryCode} refused: `not_enrolled`, `malformed` (not
 * the shape of a recovery code), `mismatch` (not an unused code of this user),
 * `replayed` (used by a concurrent call), `throttled`, `locked`.
 */
export type RecoveryCodeFailure =
  'not_enrolled' | 'malformed' | 'mismatch' | 'replayed' | 'throttled' | 'locked';

/** The outcome of {@link MFA.useRecoveryCode}. */
export type UseRecoveryCodeResult =
  | {
      /** The code was unused and is now spent; both throttle scopes are reset. */
      ok: true;
      /** Unused codes left (as read at the start of the call). */
      remaining: number;
    }
  | MFARefusal<RecoveryCodeFailure>;

/** The outcome of {@link MFA.regenerateRecoveryCodes}. */
export type RegenerateRecoveryCodesResult =
  | {
      /** The new set replaced the old one. */
      ok: true;
      /** The new codes, to show once. Non-enumerable (see {@link BeginEnrollmentResult}). */
      readonly recoveryCodes: readonly string[];
    }
  | {
      /** Nothing was changed. */
      ok: false;
      /** The user has no active factor. */
      reason: 'not_enrolled';
    };

/** The outcome of {@link MFA.reencryptSecret}. */
export type ReencryptSecretResult =
  | {
      /** The secret is sealed under the cipher's current key. */
      ok: true;
      /** Whether it had to be sealed again (`false`: it already was current). */
      reencrypted: boolean;
    }
  | {
      /** Nothing was changed. */
      ok: false;
      /** The user has no active factor (or it was replaced meanwhile). */
      reason: 'not_enrolled';
    };

/** A user's MFA state, for account pages and admin tools. No secrets. */
export interface MFAStatus {
  /** `'active'` if a factor is bound, else `'pending'` during an enrollment, else `'none'`. */
  state: 'none' | 'pending' | 'active';
  /** When the factor was bound, or `null`. */
  activatedAt: number | null;
  /** When the pending (re-)enrollment expires, or `null` if none. */
  pendingExpiresAt: number | null;
  /** Unused recovery codes. */
  recoveryCodesRemaining: number;
  /** The estimated device clock offset in steps, or `null` without a factor. */
  drift: number | null;
  /** Whether TOTP codes are locked (failure cap reached) until a recovery code or an unlock. */
  locked: boolean;
  /** Whether recovery codes are locked (their failure cap reached) until an unlock. */
  recoveryLocked: boolean;
  /** Milliseconds until a TOTP code may be tried again (0: now). */
  retryAfterMs: number;
}

/** The service returned by {@link createMFA}. All methods are safe to call concurrently. */
export interface MFA {
  /**
   * Starts (or restarts) an enrollment: a new secret, sealed and stored as
   * pending until two consecutive codes bind it (see
   * {@link MFA.completeEnrollment}). A previous pending enrollment is replaced.
   *
   * @param userId - your stable user id: 1–256 characters of well-formed
   *   Unicode (no lone surrogate, which would reach the stores as U+FFFD, the
   *   same bytes as another id), without U+0000; the same rule for every method
   * @param options - `accountName`, and `replaceActive` to re-enroll a user who
   *   has a factor (re-authenticate the user first)
   * @returns `{ secret, uri, expiresAt }`; `secret` and `uri` are non-enumerable
   * @throws TypeError / RangeError for an invalid argument; {@link MFAError}
   *   `'ERR_ALREADY_ENROLLED'` if the user has an active factor and
   *   `replaceActive` is not set; `'ERR_STORE'`, `'ERR_CIPHER'`
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * const { secret, uri, expiresAt } = await mfa.beginEnrollment(user.id, {
   *   accountName: user.email,
   * });
   * // show `uri` as a QR code and `secret` as text, then ask for two consecutive codes
   * ```
   */
  beginEnrollment(userId: string, options: BeginEnrollmentOptions): Promise<BeginEnrollmentResult>;

  /**
   * Binds the pending enrollment with two consecutive codes from the app
   * (searched within `bindingWindow` steps of now), measures the device clock's
   * offset, and issues recovery codes. The second code's step counts as used.
   *
   * @param userId - the user
   * @param code1 - the first code the app showed (spaces are ignored)
   * @param code2 - the code that followed it
   * @returns `{ ok: true, recoveryCodes }` or a refusal with a
   *   {@link CompleteEnrollmentFailure}
   * @throws TypeError if a code is not a string; {@link MFAError} `'ERR_STORE'`,
   *   `'ERR_CIPHER'`
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * const result = await mfa.completeEnrollment(user.id, form.code1, form.code2);
   * if (result.ok) showOnce(result.recoveryCodes);
   * else if (result.reason === 'same_code') say('Wait for the next code, then enter it.');
   * ```
   */
  completeEnrollment(
    userId: string,
    code1: string,
    code2: string,
  ): Promise<CompleteEnrollmentResult>;

  /**
   * Checks a login code: within `window` steps of `now + drift`, not a step
   * already used, inside the attempt budget (reserved before the check).
   * Success records the step, so the same code never works twice.
   *
   * @param userId - the user
   * @param code - the code as typed (surrounding and inner spaces are ignored)
   * @returns `{ ok: true }` or a refusal with a {@link VerifyFailure}
   * @throws TypeError if `code` is not a string; {@link MFAError} `'ERR_STORE'`,
   *   `'ERR_CIPHER'` (never `ok: true` unless the step was recorded)
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * const result = await mfa.verify(user.id, '123 456');
   * if (result.ok) signIn(user);
   * else if (result.reason === 'throttled') say(`Try again in ${Math.ceil(result.retryAfterMs / 1000)} s`);
   * ```
   */
  verify(userId: string, code: string): Promise<VerifyResult>;

  /**
   * Measures a drifted device clock again from two consecutive codes (as at
   * binding) and records their steps as used. Use it after `'resync_required'`
   * or repeated `'mismatch'` from a user whose codes look right.
   *
   * @param userId - the user
   * @param code1 - a code
   * @param code2 - the code that followed it
   * @returns `{ ok: true, drift }` or a refusal with a {@link ResyncFailure}
   * @throws TypeError if a code is not a string; {@link MFAError} `'ERR_STORE'`, `'ERR_CIPHER'`
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * const result = await mfa.resync(user.id, form.code1, form.code2);
   * ```
   */
  resync(userId: string, code1: string, code2: string): Promise<ResyncResult>;

  /**
   * Spends one recovery code: one KDF evaluation, compared with every unused
   * hash, then removed atomically (single use under concurrency). Success also
   * resets both throttle scopes, so it unlocks a locked user. Recovery codes
   * have their own attempt budget.
   *
   * @param userId - the user
   * @param code - the code as typed (case, spaces and dashes are ignored)
   * @returns `{ ok: true, remaining }` or a refusal with a {@link RecoveryCodeFailure}
   * @throws TypeError if `code` is not a string; {@link MFAError} `'ERR_STORE'`
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * const result = await mfa.useRecoveryCode(user.id, 'abcd efgh jkmn');
   * if (result.ok && result.remaining < 3) suggestNewCodes();
   * ```
   */
  useRecoveryCode(userId: string, code: string): Promise<UseRecoveryCodeResult>;

  /**
   * Issues a new set of recovery codes, replacing (invalidating) the old set.
   * Re-authenticate the user first.
   *
   * @param userId - the user
   * @returns `{ ok: true, recoveryCodes }` (non-enumerable) or `{ ok: false, reason: 'not_enrolled' }`
   * @throws {@link MFAError} `'ERR_STORE'`
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * const result = await mfa.regenerateRecoveryCodes(user.id);
   * if (result.ok) showOnce(result.recoveryCodes);
   * ```
   */
  regenerateRecoveryCodes(userId: string): Promise<RegenerateRecoveryCodesResult>;

  /**
   * Reads a user's state.
   *
   * @param userId - the user
   * @returns the {@link MFAStatus}
   * @throws {@link MFAError} `'ERR_STORE'`
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * const { state } = await mfa.status(user.id); // 'none' | 'pending' | 'active'
   * ```
   */
  status(userId: string): Promise<MFAStatus>;

  /**
   * Removes the factor, any pending enrollment and the recovery codes. Throttle
   * state is kept, so disabling does not lift a lock. Re-authenticate first.
   *
   * @param userId - the user
   * @returns whether there was anything to remove
   * @throws {@link MFAError} `'ERR_STORE'`
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * await mfa.disable(user.id);
   * ```
   */
  disable(userId: string): Promise<boolean>;

  /**
   * Admin unlock: resets the throttle of one scope, or both.
   *
   * @param userId - the user
   * @param scope - `'otp'` or `'recovery'`; default both
   * @returns when done
   * @throws RangeError for an unknown scope; {@link MFAError} `'ERR_STORE'`
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * await mfa.unlock(userId); // after verifying the user's identity out of band
   * ```
   */
  unlock(userId: string, scope?: ThrottleScope): Promise<void>;

  /**
   * Seals the user's secret again if the cipher says it is not under the
   * current key (`needsReencryption`), e.g. after a key rotation. Run it over
   * your users in a migration; pending enrollments expire on their own.
   *
   * @param userId - the user
   * @returns `{ ok: true, reencrypted }` or `{ ok: false, reason: 'not_enrolled' }`
   * @throws {@link MFAError} `'ERR_STORE'`, `'ERR_CIPHER'`
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * for (const id of userIds) await mfa.reencryptSecret(id);
   * ```
   */
  reencryptSecret(userId: string): Promise<ReencryptSecretResult>;
}
