/**
 * totpkit: TOTP two-factor authentication for your own auth server.
 * @module
 */
export { decodeBase32, encodeBase32 } from './base32.ts';
export { verifyConsecutiveTOTP } from './binding.ts';
export { KeyURIError } from './errors.ts';
export { generateHOTP, verifyHOTP } from './hotp.ts';
export { generateSecret } from './secret.ts';
export { createTOTPKey, generateTOTP, MAX_WINDOW, TOTPKey, verifyTOTP } from './totp.ts';
export { buildKeyURI, parseKeyURI } from './uri.ts';

export type { Digits, HashAlgorithm } from './_assert.ts';
export type {
  VerifyConsecutiveTOTPFailure,
  VerifyConsecutiveTOTPOptions,
  VerifyConsecutiveTOTPResult,
} from './binding.ts';
export type { KeyURIErrorCode } from './errors.ts';
export type { HOTPOptions, VerifyHOTPOptions, VerifyHOTPResult } from './hotp.ts';
export type { GenerateSecretOptions } from './secret.ts';
export type {
  GenerateTOTPOptions,
  TOTPParams,
  TOTPVerifyOptions,
  TOTPWindow,
  VerifyTOTPFailure,
  VerifyTOTPOptions,
  VerifyTOTPResult,
} from './totp.ts';
export type { BuildKeyURIInput, HOTPKeyURI, KeyURI, TOTPKeyURI } from './uri.ts';
