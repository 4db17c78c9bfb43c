/**
 * What the service's methods return: each result type lists every `reason`
 * it can give and what it means, and the refusals that carry more than a
 * reason (`throttled`, and the diagnoses of refused binding codes). The
 * audit events' reasons are derived from these (events.ts).
 * @module
 */
import type { HashAlgorithm } from '../_assert.ts';
import type { FactorParams } from '../store/contract.ts';
import type { RememberedDevice } from './results-account.ts';

/**
 * A started enrollment. `secret` and `uri` are non-enumerable: read them
 * directly to show the QR code and the secret; they are left out of
 * `JSON.stringify`, `console.log` and object spreads so that logging the
 * result does not leak them.
 */
export interface BeginEnrollmentResult {
  /** The id the factor will have once bound. */
  readonly factorId: string;
  /** The secret as unpadded base32, for typing into an app. Non-enumerable. */
  readonly secret: string;
  /** The `otpauth://` key URI to render as a QR code. Non-enumerable. */
  readonly uri: string;
  /** When the pending enrollment expires, Unix ms. */
  readonly expiresAt: number;
}

/** Refusal reasons that carry more than `reason`: see {@link MFARefusal}. */
export type DetailedRefusalReason =
  'throttled' | 'clock_skew' | 'app_ignored_parameters' | 'existing_factor';

/**
 * `{ ok: false, reason: 'clock_skew' }`: the codes are right, but the device
 * clock is off by more than the binding window allows.
 */
export interface ClockSkewRefusal {
  /** The codes were not accepted. */
  ok: false;
  /** The codes match the secret, outside the window searched, within `policy.skewSearch`. */
  reason: 'clock_skew';
  /**
   * The device clock's offset in seconds, signed (positive: the device is
   * ahead), a whole number of the factor's periods.
   */
  skewSeconds: number;
}

/**
 * `{ ok: false, reason: 'app_ignored_parameters' }`: the codes come from the
 * right secret, but the app ignored the factor's algorithm, digits or period.
 */
export interface AppIgnoredParametersRefusal {
  /** The codes were not accepted. */
  ok: false;
  /** The codes match the secret under other parameters than the factor's. */
  reason: 'app_ignored_parameters';
  /** The parameters the app actually used. */
  appParameters: FactorParams;
}

/**
 * `{ ok: false, reason: 'existing_factor' }`: the codes come from one of the
 * user's active factors, not from the new secret.
 */
export interface ExistingFactorRefusal {
  /** The codes were not accepted. */
  ok: false;
  /** The codes match an active factor of the user inside the binding window. */
  reason: 'existing_factor';
  /** That factor's id (no step is recorded for it). */
  factorId: string;
  /** That factor's name, to tell the user which entry of the app they used. */
  name: string;
}

/**
 * A refusal: `reason`, and for `'throttled'` how long to wait; the
 * diagnoses `'clock_skew'`, `'app_ignored_parameters'` and
 * `'existing_factor'` carry what they found. `R` lists every reason the
 * method can give.
 */
export type MFARefusal<R extends string> =
  | {
      /** The code was not accepted. */
      ok: false;
      /** Why; see the method's failure type. */
      reason: Exclude<R, DetailedRefusalReason>;
    }
  | {
      /** The code was not accepted. */
      ok: false;
      /** Too many recent failures: the code was not checked. */
      reason: 'throttled';
      /** Milliseconds until the next attempt may be made. */
      retryAfterMs: number;
    }
  | ('clock_skew' extends R ? ClockSkewRefusal : never)
  | ('app_ignored_parameters' extends R ? AppIgnoredParametersRefusal : never)
  | ('existing_factor' extends R ? ExistingFactorRefusal : never);

/**
 * Why {@link MFA.completeEnrollment} refused: `malformed` (not `digits`
 * digits, nor a length a diagnosis could explain), `same_code` (the same
 * code twice: wait for the next one), `wrong_order` (swapped), `mismatch`,
 * `expired` (start again), `not_pending` (no enrollment in progress, or it
 * was completed or replaced meanwhile), `factor_limit` (the user reached
 * `policy.maxFactors` meanwhile), `name_taken` (another factor got this name
 * meanwhile), `throttled`, `locked`.
 *
 * The diagnoses, given only when the codes are not accepted (see "When the
 * codes don't match" in docs/enrollment.md), first found wins:
 * `existing_factor` (the codes come from one of the user's active factors:
 * `factorId`, `name`), `stale_qr` (they come from the enrollment this one
 * replaced: an older QR code), `app_ignored_parameters` (the app used other
 * parameters: `appParameters`), `clock_skew` (the device clock is off:
 * `skewSeconds`).
 */
export type CompleteEnrollmentFailure =
  | 'malformed'
  | 'same_code'
  | 'wrong_order'
  | 'mismatch'
  | 'expired'
  | 'not_pending'
  | 'factor_limit'
  | 'name_taken'
  | 'clock_skew'
  | 'app_ignored_parameters'
  | 'stale_qr'
  | 'existing_factor'
  | 'throttled'
  | 'locked';

/** The outcome of {@link MFA.completeEnrollment}. */
export type CompleteEnrollmentResult =
  | {
      /** The authenticator is bound. */
      ok: true;
      /** The new factor's id (the one `beginEnrollment` returned). */
      factorId: string;
      /**
       * The security generation after this change (one more than before):
       * end the user's sessions of older generations, and bind this one to it.
       */
      generation: number;
      /**
       * The device clock's measured offset in seconds, signed (positive: the
       * device is ahead): the binding's drift times the bound period. Warn
       * the user before it grows ("your phone's clock is 40 s fast").
       */
      clockOffsetSeconds: number;
      /**
       * The parameters bound: the service's (`totp` option at
       * `beginEnrollment`), or the app's when `policy.acceptAppParameters`
       * bound those.
       */
      parameters: FactorParams;
      /**
       * The user's first recovery codes, to show once: present only when the
       * user had no active factor. Non-enumerable (see {@link BeginEnrollmentResult}).
       */
      readonly recoveryCodes?: readonly string[];
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
      /** The factor whose code it was. */
      factorId: string;
      /**
       * The user's security generation, as the call read it: bind the
       * session to it, and end sessions of an older one (see "Security
       * generation" in docs/security-model.md).
       */
      generation: number;
      /**
       * With `rememberDevice` only: the device remembered (its `token` is
       * non-enumerable), or `null` if the generation moved while the call
       * ran (the user's factors changed meanwhile; nothing was remembered).
       */
      device?: RememberedDevice | null;
      /**
       * With `proofFor` only: a single-use proof of kind `'totp'` for that
       * purpose, or `null` if the user's factors changed while the call ran
       * (ask for a code again). A bearer credential for
       * `policy.proofs.ttlMs`: do not log it.
       */
      proof?: string | null;
      /** With `proofFor` only: when `proof` expires, Unix ms (`null` with no proof). */
      proofExpiresAt?: number | null;
    }
  | MFARefusal<VerifyFailure>;

/**
 * Why {@link MFA.resync} refused; see {@link CompleteEnrollmentFailure} and
 * {@link VerifyFailure}. `clock_skew` (with `skewSeconds`): the codes are two
 * consecutive codes of a factor outside `bindingWindow` of now but within
 * `policy.skewSearch`: the device clock must be set right first.
 * `existing_factor` does not apply: resync checks every factor of the user.
 */
export type ResyncFailure =
  | 'not_enrolled'
  | 'malformed'
  | 'same_code'
  | 'wrong_order'
  | 'mismatch'
  | 'replayed'
  | 'clock_skew'
  | 'throttled'
  | 'locked';

/** The outcome of {@link MFA.resync}. */
export type ResyncResult =
  | {
      /** The device clock's offset is measured again and the codes' steps recorded. */
      ok: true;
      /** The factor the codes belong to. */
      factorId: string;
      /** The new offset in steps (positive: the device is ahead). */
      drift: number;
      /** The same offset in seconds: `drift` times the factor's period. */
      clockOffsetSeconds: number;
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
      /** The security generation the call read (a recovery code changes no factor). */
      generation: number;
      /**
       * With `proofFor` only: a single-use proof of kind `'recovery'` for that
       * purpose, or `null` if the user's factors changed while the call ran
       * (ask again). A bearer credential for `policy.proofs.ttlMs`: do not log it.
       */
      proof?: string | null;
      /** With `proofFor` only: when `proof` expires, Unix ms (`null` with no proof). */
      proofExpiresAt?: number | null;
    }
  | MFARefusal<RecoveryCodeFailure>;

/** The outcome of {@link MFA.regenerateRecoveryCodes}. */
export type RegenerateRecoveryCodesResult =
  | {
      /** The new set replaced the old one. */
      ok: true;
      /**
       * The security generation after this change (one more than before):
       * end the user's sessions of older generations, and bind this one to it.
       */
      generation: number;
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
      /** Every secret of the user is sealed under the cipher's current key. */
      ok: true;
      /** Whether any had to be sealed again (`false`: all already were current). */
      reencrypted: boolean;
      /**
       * How many secrets (factors, the pending enrollment and the unexpired
       * enrollment it replaced) were sealed again.
       */
      count: number;
    }
  | {
      /** Nothing was changed. */
      ok: false;
      /** The user has no active factor and no pending enrollment. */
      reason: 'not_enrolled';
    };

/** A factor as {@link MFA.listFactors} describes it: no secret. */
export interface FactorInfo {
  /** Its id. */
  id: string;
  /** Its name. */
  name: string;
  /** HMAC hash. */
  algorithm: HashAlgorithm;
  /** Code length. */
  digits: 6 | 7 | 8;
  /** Time step in seconds. */
  period: number;
  /** When its enrollment started (or it was imported), Unix ms. */
  createdAt: number;
  /** When it was bound, Unix ms. */
  activatedAt: number;
  /** When a code of it was last accepted, Unix ms, or `null`. */
  lastUsedAt: number | null;
  /** The device clock's estimated offset, in steps. */
  drift: number;
}

/** The outcome of {@link MFA.renameFactor}: `not_found` (no such active factor) or `name_taken`. */
export type RenameFactorResult =
  | {
      /** The factor has its new name. */
      ok: true;
    }
  | {
      /** Nothing was changed. */
      ok: false;
      /** Why. */
      reason: 'not_found' | 'name_taken';
    };

/** The outcome of {@link MFA.removeFactor}. */
export type RemoveFactorResult =
  | {
      /** The factor is removed. */
      ok: true;
      /** Active factors left; 0 means two-factor sign-in is off, as after {@link MFA.disable}. */
      remaining: number;
      /**
       * The security generation after this change (one more than before):
       * end the user's sessions of older generations, and bind this one to it.
       */
      generation: number;
    }
  | {
      /** Nothing was changed. */
      ok: false;
      /** No such active factor. */
      reason: 'not_found';
    };

/** Why {@link MFA.importFactor} refused: the user has `policy.maxFactors` factors, or the name is taken. */
export type ImportFactorFailure = 'factor_limit' | 'name_taken';

/** The outcome of {@link MFA.importFactor}. */
export type ImportFactorResult =
  | {
      /** The factor is bound. */
      ok: true;
      /** Its id: the new factor's, or the one that already had the secret. */
      factorId: string;
      /**
       * Whether the secret is shorter than 16 bytes (128 bits, RFC 4226 R6):
       * accepted for legacy systems, but ask the user to enroll a new factor.
       */
      weak: boolean;
      /**
       * `true` if the user already had this secret as factor `factorId` (a
       * re-run import): a secret enters once per user, so nothing was
       * written, whatever the name or parameters given (the existing factor
       * keeps its own), no event is emitted, and no recovery codes come with
       * it. `false` for a new factor.
       */
      alreadyImported: boolean;
      /**
       * The security generation: one more than before for a new factor; as
       * read for a re-run import (`alreadyImported`, nothing changed).
       */
      generation: number;
      /**
       * The user's first recovery codes, to hand over once: present only with
       * the option `recoveryCodes: true` when the user had no active factor.
       * Non-enumerable.
       */
      readonly recoveryCodes?: readonly string[];
    }
  | {
      /** Nothing was changed. */
      ok: false;
      /** Why. */
      reason: ImportFactorFailure;
    };

/** A user's MFA state, for account pages and admin tools. No secrets. */
export interface MFAStatus {
  /**
   * `'active'` if a factor is bound (the user needs a second factor to sign
   * in), else `'pending'` during a first enrollment, else `'none'`.
   */
  state: 'none' | 'pending' | 'active';
  /** Active factors (authenticators); see {@link MFA.listFactors}. */
  factors: number;
  /** When the pending enrollment expires, or `null` if none. */
  pendingExpiresAt: number | null;
  /** Unused recovery codes. */
  recoveryCodesRemaining: number;
  /** Whether TOTP codes are locked (failure cap reached) until a recovery code or an unlock. */
  locked: boolean;
  /** Whether recovery codes are locked (their failure cap reached) until an unlock. */
  recoveryLocked: boolean;
  /** Milliseconds until a TOTP code may be tried again (0: now). */
  retryAfterMs: number;
  /**
   * The security generation: 0 at first, one more at every change of the
   * user's second-factor state (a factor added, replaced, removed or
   * imported, disable, recovery codes regenerated, an admin reset). Bind
   * sessions to it: a session made in an older generation must end.
   */
  generation: number;
}

/** The outcome of {@link MFA.disable}. */
export interface DisableResult {
  /** Whether there was anything to remove (`false`: nothing was written). */
  disabled: boolean;
  /**
   * The security generation afterwards: one more than before when
   * `disabled`, else unchanged.
   */
  generation: number;
}
