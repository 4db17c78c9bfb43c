/**
 * totpkit: TOTP two-factor authentication for your own auth server.
 *
 * @groupDescription Events
 * The audit events `onEvent` receives ({@link MFAEvent}: switch on `type`).
 * They carry the user id, the call's time and the outcome, never a secret, a
 * code or a recovery code.
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
export { DEFAULT_PROOF_POLICY, DEFAULT_VERIFICATION_CODE_POLICY } from './mfa/account-policy.ts';
export { createMFA } from './mfa/service.ts';
export { generateSecret } from './secret.ts';
export { MemoryStore } from './store/memory.ts';
export { createTOTPKey, generateTOTP, MAX_WINDOW, TOTPKey, verifyTOTP } from './totp.ts';
export { checkKeyURICompatibility } from './compat.ts';
export { buildKeyURI } from './uri-build.ts';
export { parseKeyURI } from './uri-parse.ts';

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
  AdminResetEvent,
  DeviceExpiredEvent,
  DeviceForgottenEvent,
  DeviceRememberedEvent,
  DeviceRevokedEvent,
  DeviceUsedEvent,
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
  VerificationCodeCheckedEvent,
  VerificationCodeRefusedEvent,
  VerificationCodeSendFailedEvent,
  VerificationCodeSentEvent,
} from './mfa/events.ts';
export type {
  MFAPolicy,
  MFAPolicyOptions,
  RememberedDevicesPolicy,
  ScryptParams,
} from './mfa/policy.ts';
export type { RequestContext } from './mfa/request-context.ts';
export type { MFAAccountMethods } from './mfa/account-api.ts';
export type { MFAIdentityMethods } from './mfa/identity-api.ts';
export type {
  AdminResetOptions,
  CallOptions,
  ProofOptions,
  RememberDeviceOptions,
  UseRecoveryCodeOptions,
  VerifyOptions,
} from './mfa/call-options.ts';
export type {
  AdminResetResult,
  CheckRememberedDeviceResult,
  RememberedDevice,
  RememberedDeviceInfo,
} from './mfa/results-account.ts';
export type {
  ProofPolicy,
  ProofPolicyOptions,
  ProofRequirement,
  SensitivePurpose,
  VerificationCodePolicy,
} from './mfa/account-policy.ts';
export type {
  CheckVerificationCodeFailure,
  CheckVerificationCodeOptions,
  CheckVerificationCodeResult,
  MaskedDestination,
  PendingEnrollmentInfo,
  PendingEnrollmentOptions,
  SendVerificationCodeOptions,
  SendVerificationCodeResult,
  UseProofOptions,
  VerificationChannel,
  VerificationMessage,
  VerificationOptions,
  VerificationPurpose,
} from './mfa/account-types.ts';
export type { MemoryStoreOptions } from './store/memory.ts';
export type { BeginEnrollmentOptions, ImportFactorOptions, MFA, MFAOptions } from './mfa/types.ts';
export type {
  AppIgnoredParametersRefusal,
  BeginEnrollmentResult,
  ClockSkewRefusal,
  CompleteEnrollmentFailure,
  CompleteEnrollmentResult,
  DisableResult,
  FactorInfo,
  ImportFactorFailure,
  ImportFactorResult,
  DetailedRefusalReason,
  ExistingFactorRefusal,
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
} from './mfa/results.ts';
export type { GenerateSecretOptions } from './secret.ts';
// The store contract: what `createMFA` takes and what its results name. The rest
// of it, for adapter authors, is `totpkit/store`.
export type { FactorParams, MFAStore, ThrottleScope } from './store/contract.ts';
export type {
  GenerateTOTPOptions,
  TOTPParams,
  TOTPVerifyOptions,
  TOTPWindow,
  VerifyTOTPFailure,
  VerifyTOTPOptions,
  VerifyTOTPResult,
} from './totp.ts';
export type { BuildKeyURIInput } from './uri-build.ts';
export type { HOTPKeyURI, KeyURI, TOTPKeyURI } from './uri-parse.ts';
