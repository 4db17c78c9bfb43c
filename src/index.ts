/**
 * totpkit: TOTP two-factor authentication for your own auth server.
 * @module totpkit
 */
export { decodeBase32, encodeBase32 } from './base32.ts';
export { verifyConsecutiveTOTP } from './binding.ts';
export {
  diagnoseConsecutiveTOTP,
  MAX_ALTERNATIVES,
  MAX_DIAGNOSIS_WORK,
  MAX_SKEW_STEPS,
} from './diagnose.ts';
export { KeyURIError, MFAError } from './errors.ts';
export { generateHOTP, verifyHOTP } from './hotp.ts';
export { createAESGCMCipher, plaintextCipher } from './mfa/cipher.ts';
export { DEFAULT_MFA_POLICY } from './mfa/policy.ts';
export { createMFA } from './mfa/service.ts';
export { generateSecret } from './secret.ts';
export { MemoryStore } from './store/memory.ts';
export { checkUserId } from './_assert.ts';
export { attemptDelayMs, attemptLimit } from './store/throttle.ts';
export { createTOTPKey, generateTOTP, MAX_WINDOW, TOTPKey, verifyTOTP } from './totp.ts';
export { buildKeyURI, checkKeyURICompatibility, parseKeyURI } from './uri.ts';

export type { Digits, HashAlgorithm } from './_assert.ts';
export type {
  VerifyConsecutiveTOTPFailure,
  VerifyConsecutiveTOTPOptions,
  VerifyConsecutiveTOTPResult,
} from './binding.ts';
export type {
  AppParameters,
  ConsecutiveTOTPAlternative,
  DiagnoseConsecutiveTOTPOptions,
  DiagnoseConsecutiveTOTPResult,
} from './diagnose.ts';
export type { KeyURICompatibilityParams, KeyURIWarning, KeyURIWarningCode } from './compat.ts';
export type { KeyURIErrorCode, MFAErrorCode } from './errors.ts';
export type { HOTPOptions, VerifyHOTPOptions, VerifyHOTPResult } from './hotp.ts';
export type { AESGCMCipherOptions, SecretCipher } from './mfa/cipher.ts';
export type {
  DisabledEvent,
  EnrollmentCompletedEvent,
  EnrollmentFailedEvent,
  EnrollmentStartedEvent,
  FactorAddedEvent,
  FactorImportedEvent,
  FactorRemovedEvent,
  FactorRenamedEvent,
  LockedEvent,
  MFAEvent,
  MFAEventBase,
  RecoveryCodeFailedEvent,
  RecoveryCodesRegeneratedEvent,
  RecoveryCodeUsedEvent,
  ResyncedEvent,
  ResyncFailedEvent,
  SecretReencryptedEvent,
  ThrottledEvent,
  UnlockedEvent,
  UserDataDeletedEvent,
  VerifyFailedEvent,
  VerifyReplayedEvent,
  VerifySucceededEvent,
} from './mfa/events.ts';
export type { MFAPolicy, MFAPolicyOptions, ScryptParams } from './mfa/policy.ts';
export type { MemoryStoreOptions } from './store/memory.ts';
export type {
  AppIgnoredParametersRefusal,
  BeginEnrollmentOptions,
  BeginEnrollmentResult,
  ClockSkewRefusal,
  CompleteEnrollmentFailure,
  CompleteEnrollmentResult,
  FactorInfo,
  ImportFactorFailure,
  ImportFactorOptions,
  ImportFactorResult,
  DetailedRefusalReason,
  ExistingFactorRefusal,
  MFA,
  MFAOptions,
  MFARefusal,
  MFAStatus,
  RecoveryCodeFailure,
  ReencryptSecretResult,
  RegenerateRecoveryCodesResult,
  RemoveFactorResult,
  RenameFactorResult,
  ResyncFailure,
  ResyncResult,
  UseRecoveryCodeResult,
  VerifyFailure,
  VerifyResult,
} from './mfa/types.ts';
export type { GenerateSecretOptions } from './secret.ts';
export type {
  ActiveFactor,
  AddFactorOptions,
  AddFactorResult,
  AttemptPolicy,
  AttemptRequirement,
  AttemptReservation,
  DeleteExpiredOptions,
  DeleteExpiredResult,
  DeleteUserOptions,
  FactorParams,
  MFAStore,
  PendingActivation,
  PendingEnrollment,
  PutPendingOutcome,
  ReadAndReserveOptions,
  ReadAndReserveResult,
  RecoveryCodeSet,
  RefundAttemptOptions,
  ReplacedPending,
  ReserveAttemptOptions,
  FactorRemoval,
  FactorRenameOutcome,
  ThrottleScope,
  ThrottleState,
  UserRecord,
} from './store/contract.ts';
export type {
  GenerateTOTPOptions,
  TOTPParams,
  TOTPVerifyOptions,
  TOTPWindow,
  VerifyTOTPFailure,
  VerifyTOTPOptions,
  VerifyTOTPResult,
} from './totp.ts';
export type {
  BuildKeyURIInput,
  BuildKeyURIResult,
  BuildKeyURIWarnInput,
  HOTPKeyURI,
  KeyURI,
  TOTPKeyURI,
} from './uri.ts';
