/**
 * Audit events: what the service reports to `onEvent`. Events carry the user
 * id, the call's time and the outcome; never a secret, a code or a recovery code.
 * @module
 */
import type { ThrottleScope } from '../store/contract.ts';
import type { RequestContext } from './request-context.ts';
import type {
  CheckVerificationCodeFailure,
  MaskedDestination,
  VerificationChannel,
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
  /**
   * The `options.context` the caller passed to the call that emitted this
   * event (a deep-frozen copy), on every event of that call; absent when the
   * caller passed none. The library never stores it and never reads it.
   */
  context?: RequestContext;
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
  /** The security generation after this change (one more than before). */
  generation: number;
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
  /** The security generation the call read. */
  generation: number;
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
  /** The security generation the call read. */
  generation: number;
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
  /** The security generation after this change (one more than before). */
  generation: number;
}

/**
 * `disable` removed the user's factor, pending enrollment and recovery codes.
 * @group Events
 */
export interface DisabledEvent extends MFAEventBase {
  /** The event type. */
  type: 'disabled';
  /** The security generation after this change (one more than before). */
  generation: number;
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
  /** The security generation after this change (one more than before). */
  generation: number;
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
  /** The security generation after this change (one more than before). */
  generation: number;
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
  /** The security generation after this change (one more than before). */
  generation: number;
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
 * `verify` with `rememberDevice` remembered the device (a token was issued).
 * @group Events
 */
export interface DeviceRememberedEvent extends MFAEventBase {
  /** The event type. */
  type: 'device_remembered';
  /** The new device. */
  deviceId: string;
  /** The name the app gave it. */
  name: string;
  /** Its absolute expiry, Unix ms. */
  expiresAt: number;
  /** The security generation it is bound to. */
  generation: number;
}

/**
 * `checkRememberedDevice` let a sign-in skip the second factor.
 * @group Events
 */
export interface DeviceUsedEvent extends MFAEventBase {
  /** The event type. */
  type: 'device_used';
  /** The device. */
  deviceId: string;
  /** The current security generation. */
  generation: number;
}

/**
 * `forgetRememberedDevice` (`deviceId`) or `forgetRememberedDevices`
 * (`deviceId` `null`) forgot devices that could still pass.
 * @group Events
 */
export interface DeviceForgottenEvent extends MFAEventBase {
  /** The event type. */
  type: 'device_forgotten';
  /** The device, or `null` when all of the user's devices were forgotten. */
  deviceId: string | null;
  /** How many valid devices were forgotten. */
  count: number;
}

/**
 * `checkRememberedDevice` found the device past its absolute expiry (and removed it).
 * @group Events
 */
export interface DeviceExpiredEvent extends MFAEventBase {
  /** The event type. */
  type: 'device_expired';
  /** The device. */
  deviceId: string;
  /** When it expired, Unix ms. */
  expiresAt: number;
}

/**
 * `checkRememberedDevice` found the device issued in an earlier security
 * generation (a factor changed, or an admin reset, since) and removed it.
 * @group Events
 */
export interface DeviceRevokedEvent extends MFAEventBase {
  /** The event type. */
  type: 'device_revoked';
  /** The device. */
  deviceId: string;
  /** The generation it was issued in. */
  generation: number;
}

/**
 * `adminReset` ran: one event per call, with who did it and why.
 * @group Events
 */
export interface AdminResetEvent extends MFAEventBase {
  /** The event type. */
  type: 'admin_reset';
  /** Who reset the user (the `actor` option). */
  actor: string;
  /** Why (the `reason` option). */
  reason: string;
  /** Whether anything was reset (`false`: the user had nothing; nothing was written). */
  reset: boolean;
  /** The security generation afterwards. */
  generation: number;
  /** What was removed (all 0 when `reset` is `false`). */
  removed: {
    /** Active factors. */
    factors: number;
    /** Pending enrollments (0 or 1). */
    pendingEnrollments: number;
    /** Unused recovery codes. */
    recoveryCodes: number;
    /** Remembered devices (any stored, valid or not). */
    devices: number;
    /** Unused proofs. */
    proofs: number;
    /** Live verification codes. */
    verificationCodes: number;
  };
}

/**
 * `sendVerificationCode` handed a code to the sender.
 * @group Events
 */
export interface VerificationCodeSentEvent extends MFAEventBase {
  /** The event type. */
  type: 'verification_code_sent';
  /** The channel. */
  channel: VerificationChannel;
  /** The purpose. */
  purpose: string;
  /** The destination, masked. */
  destination: MaskedDestination;
  /** When the code expires. */
  expiresAt: number;
}

/**
 * The sender failed; the code was taken back (no code live, no send counted).
 * @group Events
 */
export interface VerificationCodeSendFailedEvent extends MFAEventBase {
  /** The event type. */
  type: 'verification_code_send_failed';
  /** The channel. */
  channel: VerificationChannel;
  /** The purpose. */
  purpose: string;
  /** The destination, masked. */
  destination: MaskedDestination;
}

/**
 * `sendVerificationCode` refused: nothing was sent.
 * @group Events
 */
export interface VerificationCodeRefusedEvent extends MFAEventBase {
  /** The event type. */
  type: 'verification_code_refused';
  /** The channel. */
  channel: VerificationChannel;
  /** The purpose. */
  purpose: string;
  /** The destination, masked. */
  destination: MaskedDestination;
  /** Why. */
  reason: 'cooldown' | 'daily_limit';
  /** When a send can succeed. */
  retryAfterMs: number;
}

/**
 * `checkVerificationCode` answered (every answer, `'malformed'` included).
 * @group Events
 */
export interface VerificationCodeCheckedEvent extends MFAEventBase {
  /** The event type. */
  type: 'verification_code_checked';
  /** Whether the code passed (a proof was made). */
  ok: boolean;
  /** Why not, if not. */
  reason?: CheckVerificationCodeFailure;
  /** The purpose. */
  purpose: string;
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
  | DeviceRememberedEvent
  | DeviceUsedEvent
  | DeviceForgottenEvent
  | DeviceExpiredEvent
  | DeviceRevokedEvent
  | AdminResetEvent
  | VerificationCodeSentEvent
  | VerificationCodeSendFailedEvent
  | VerificationCodeRefusedEvent
  | VerificationCodeCheckedEvent;
