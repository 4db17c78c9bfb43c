/**
 * Audit events: what the service reports to `onEvent`. Events carry the user
 * id, the call's time and the outcome; never a secret, a code or a recovery code.
 * @module
 */
import type { ThrottleScope } from '../store/contract.ts';
import type {
  VerificationCodeCheckedEvent,
  VerificationCodeRefusedEvent,
  VerificationCodeSendFailedEvent,
  VerificationCodeSentEvent,
} from './account-types.ts';
import type {
  CompleteEnrollmentFailure,
  RecoveryCodeFailure,
  ResyncFailure,
  VerifyFailure,
} from './results.ts';

/**
 * Fields every event has.
 * @group Events
 */
export interface MFAEventBase {
  /** The user the call was about. */
  userId: string;
  /** The call's time (its single `clock()` reading), Unix ms. */
  at: number;
}

/**
 * `beginEnrollment` stored a pending enrollment.
 * @group Events
 */
export interface EnrollmentStartedEvent extends MFAEventBase {
  /** The event type. */
  type: 'enrollment_started';
  /** The id the factor will have once bound. */
  factorId: string;
  /** When the pending enrollment expires, Unix ms. */
  expiresAt: number;
  /** The active factor it will replace once bound, or `null`. */
  replaceFactorId: string | null;
}

/**
 * `completeEnrollment` bound the authenticator.
 * @group Events
 */
export interface EnrollmentCompletedEvent extends MFAEventBase {
  /** The event type. */
  type: 'enrollment_completed';
  /** The new factor. */
  factorId: string;
  /** The device clock's offset found at binding, in steps. */
  drift: number;
  /** How many recovery codes were issued (0: the user already had a set). */
  recoveryCodes: number;
}

/**
 * `completeEnrollment` refused the codes (throttling is a {@link ThrottledEvent}).
 * @group Events
 */
export interface EnrollmentFailedEvent extends MFAEventBase {
  /** The event type. */
  type: 'enrollment_failed';
  /** The reason returned to the caller: a {@link CompleteEnrollmentFailure} but `throttled` and `locked`. */
  reason: Exclude<CompleteEnrollmentFailure, 'throttled' | 'locked'>;
}

/**
 * `verify` accepted a code.
 * @group Events
 */
export interface VerifySucceededEvent extends MFAEventBase {
  /** The event type. */
  type: 'verify_succeeded';
  /** The factor whose code it was. */
  factorId: string;
  /** The device clock's offset estimated from this code, in steps. */
  drift: number;
}

/**
 * `verify` refused a code (replays and throttling have their own events).
 * @group Events
 */
export interface VerifyFailedEvent extends MFAEventBase {
  /** The event type. */
  type: 'verify_failed';
  /**
   * The reason returned to the caller: a {@link VerifyFailure} but `replayed`
   * ({@link VerifyReplayedEvent}), `throttled` and `locked`.
   */
  reason: Exclude<VerifyFailure, 'replayed' | 'throttled' | 'locked'>;
}

/**
 * `verify` refused a code whose time step was already used.
 * @group Events
 */
export interface VerifyReplayedEvent extends MFAEventBase {
  /** The event type. */
  type: 'verify_replayed';
}

/**
 * A code was not checked because the user's attempt budget is spent.
 * @group Events
 */
export interface ThrottledEvent extends MFAEventBase {
  /** The event type. */
  type: 'throttled';
  /** The call that was refused. */
  flow: 'enrollment' | 'verify' | 'resync' | 'recovery';
  /** `'throttled'`: inside a back-off delay; `'locked'`: at the failure cap. */
  reason: 'throttled' | 'locked';
  /** For `'throttled'`, ms until the next attempt may be made; otherwise `null`. */
  retryAfterMs: number | null;
}

/**
 * A failed attempt reached the failure cap: the scope is locked until a reset.
 * @group Events
 */
export interface LockedEvent extends MFAEventBase {
  /** The event type. */
  type: 'locked';
  /** The locked scope: `'otp'` (TOTP codes) or `'recovery'` (recovery codes). */
  scope: ThrottleScope;
}

/**
 * `resync` measured the device clock again from two consecutive codes.
 * @group Events
 */
export interface ResyncedEvent extends MFAEventBase {
  /** The event type. */
  type: 'resynced';
  /** The factor the codes belong to. */
  factorId: string;
  /** The new offset, in steps. */
  drift: number;
}

/**
 * `resync` refused the codes (throttling is a {@link ThrottledEvent}).
 * @group Events
 */
export interface ResyncFailedEvent extends MFAEventBase {
  /** The event type. */
  type: 'resync_failed';
  /** The reason returned to the caller: a {@link ResyncFailure} but `throttled` and `locked`. */
  reason: Exclude<ResyncFailure, 'throttled' | 'locked'>;
}

/**
 * A recovery code was used (and is now spent).
 * @group Events
 */
export interface RecoveryCodeUsedEvent extends MFAEventBase {
  /** The event type. */
  type: 'recovery_code_used';
  /** Unused codes left, as read at the start of the call. */
  remaining: number;
}

/**
 * `useRecoveryCode` refused a code (throttling is a {@link ThrottledEvent}).
 * @group Events
 */
export interface RecoveryCodeFailedEvent extends MFAEventBase {
  /** The event type. */
  type: 'recovery_code_failed';
  /** The reason returned to the caller: a {@link RecoveryCodeFailure} but `throttled` and `locked`. */
  reason: Exclude<RecoveryCodeFailure, 'throttled' | 'locked'>;
}

/**
 * A new set of recovery codes replaced the old one.
 * @group Events
 */
export interface RecoveryCodesRegeneratedEvent extends MFAEventBase {
  /** The event type. */
  type: 'recovery_codes_regenerated';
  /** How many codes were issued. */
  count: number;
}

/**
 * `disable` removed the user's factor, pending enrollment and recovery codes.
 * @group Events
 */
export interface DisabledEvent extends MFAEventBase {
  /** The event type. */
  type: 'disabled';
}

/**
 * A factor was bound by `completeEnrollment` (after its `enrollment_completed`).
 * @group Events
 */
export interface FactorAddedEvent extends MFAEventBase {
  /** The event type. */
  type: 'factor_added';
  /** The new factor. */
  factorId: string;
  /** Active factors now. */
  factors: number;
}

/**
 * `importFactor` bound an existing secret.
 * @group Events
 */
export interface FactorImportedEvent extends MFAEventBase {
  /** The event type. */
  type: 'factor_imported';
  /** The new factor. */
  factorId: string;
  /** Whether the secret is shorter than 16 bytes. */
  weak: boolean;
}

/**
 * `renameFactor` renamed a factor.
 * @group Events
 */
export interface FactorRenamedEvent extends MFAEventBase {
  /** The event type. */
  type: 'factor_renamed';
  /** The factor. */
  factorId: string;
}

/**
 * A factor was removed: by `removeFactor`, or replaced by a bound enrollment's
 * `replaceFactorId`. When `remaining` is 0, a `disabled` event follows.
 * @group Events
 */
export interface FactorRemovedEvent extends MFAEventBase {
  /** The event type. */
  type: 'factor_removed';
  /** The removed factor. */
  factorId: string;
  /** Active factors left. */
  remaining: number;
}

/**
 * `deleteUserData` erased everything held for the user.
 * @group Events
 */
export interface UserDataDeletedEvent extends MFAEventBase {
  /** The event type. */
  type: 'user_data_deleted';
  /** The factors that were erased (as read just before). */
  factorIds: string[];
}

/**
 * `unlock` reset throttle scopes.
 * @group Events
 */
export interface UnlockedEvent extends MFAEventBase {
  /** The event type. */
  type: 'unlocked';
  /** The scopes that were reset. */
  scopes: ThrottleScope[];
}

/**
 * `reencryptSecret` sealed the user's secret again under the primary key.
 * @group Events
 */
export interface SecretReencryptedEvent extends MFAEventBase {
  /** The event type. */
  type: 'secret_reencrypted';
  /** How many secrets (factors and the pending enrollment) were sealed again. */
  count: number;
}

/**
 * Every event `onEvent` can receive; switch on `type`. Each call that checks
 * a code against the secret emits exactly one of `enrollment_completed` /
 * `enrollment_failed`, `verify_succeeded` / `verify_failed` / `verify_replayed`,
 * `resynced` / `resync_failed`, `recovery_code_used` / `recovery_code_failed`;
 * a call refused by the throttle emits `throttled` instead.
 * @group Events
 */
export type MFAEvent =
  | EnrollmentStartedEvent
  | EnrollmentCompletedEvent
  | EnrollmentFailedEvent
  | VerifySucceededEvent
  | VerifyFailedEvent
  | VerifyReplayedEvent
  | ThrottledEvent
  | LockedEvent
  | ResyncedEvent
  | ResyncFailedEvent
  | RecoveryCodeUsedEvent
  | RecoveryCodeFailedEvent
  | RecoveryCodesRegeneratedEvent
  | DisabledEvent
  | UnlockedEvent
  | SecretReencryptedEvent
  | FactorAddedEvent
  | FactorImportedEvent
  | FactorRenamedEvent
  | FactorRemovedEvent
  | UserDataDeletedEvent
  | VerificationCodeSentEvent
  | VerificationCodeSendFailedEvent
  | VerificationCodeRefusedEvent
  | VerificationCodeCheckedEvent;
