/**
 * Error classes for failures a caller branches on.
 *
 * Misuse of the API throws the built-in `TypeError` or `RangeError`; the
 * classes here carry a stable `code` instead of relying on message text.
 * @module
 */

/**
 * Why {@link parseKeyURI} rejected a key URI.
 *
 * - `ERR_URI_MALFORMED`: not a URI of the expected shape (too long, bad
 *   percent-encoding, a repeated parameter).
 * - `ERR_URI_SCHEME`: the scheme is not `otpauth`.
 * - `ERR_URI_TYPE`: the type is neither `totp` nor `hotp`.
 * - `ERR_URI_LABEL`: the label is missing, empty or has more than one colon,
 *   or the label or the `issuer` parameter contains a control character
 *   (U+0000–U+001F, U+007F–U+009F) or a format character (Unicode category
 *   Cf: zero-width characters such as U+200B, bidi controls such as U+202E).
 * - `ERR_URI_SECRET`: the `secret` parameter is missing or not base32.
 * - `ERR_URI_ISSUER_MISMATCH`: the label's issuer prefix and the `issuer`
 *   parameter differ.
 * - `ERR_URI_ALGORITHM`: `algorithm` is not SHA1, SHA256 or SHA512.
 * - `ERR_URI_DIGITS`: `digits` is not 6, 7 or 8.
 * - `ERR_URI_PERIOD`: `period` is not a whole number of seconds ≥ 1 (written
 *   without leading zeros).
 * - `ERR_URI_COUNTER`: `counter` is missing (HOTP) or not an integer below 2^64
 *   (written without leading zeros).
 * - `ERR_URI_COMPAT`: thrown by {@link buildKeyURI} with `compat: 'strict'`
 *   when {@link checkKeyURICompatibility} finds a problem; the message lists
 *   the warning codes.
 */
export type KeyURIErrorCode =
  | 'ERR_URI_MALFORMED'
  | 'ERR_URI_SCHEME'
  | 'ERR_URI_TYPE'
  | 'ERR_URI_LABEL'
  | 'ERR_URI_SECRET'
  | 'ERR_URI_ISSUER_MISMATCH'
  | 'ERR_URI_ALGORITHM'
  | 'ERR_URI_DIGITS'
  | 'ERR_URI_PERIOD'
  | 'ERR_URI_COUNTER'
  | 'ERR_URI_COMPAT';

/**
 * Thrown by {@link parseKeyURI} for a URI it cannot accept. The message names
 * the offending field and never contains the secret.
 *
 * @example
 * ```ts
 * import { parseKeyURI, KeyURIError } from 'totpkit';
 * try {
 *   parseKeyURI('otpauth://totp/Acme:alice?secret=JBSWY3DPEHPK3PXP&digits=9');
 * } catch (error) {
 *   if (error instanceof KeyURIError) console.log(error.code); // 'ERR_URI_DIGITS'
 * }
 * ```
 */
export class KeyURIError extends Error {
  /** A stable identifier of the failure, safe to branch on. */
  readonly code: KeyURIErrorCode;

  /**
   * @param code - the stable failure identifier
   * @param message - a description naming the field; must not contain the secret
   */
  constructor(code: KeyURIErrorCode, message: string) {
    super(message);
    this.name = 'KeyURIError';
    this.code = code;
  }
}

/**
 * Why a {@link createMFA} call failed. Expected outcomes (a wrong, replayed or
 * throttled code) are results, not errors; these are the failures an app has
 * to handle:
 *
 * - `ERR_STORE`: a store operation rejected, or returned something invalid.
 *   `cause` holds the store's own error. No call returns `ok: true` unless
 *   the store confirmed it; a write whose reply was lost may still have
 *   counted the code as used (the user then waits for the next code).
 * - `ERR_CIPHER`: a secret could not be sealed or opened: a wrong or missing
 *   key, a tampered ciphertext, or one copied from another user's record.
 * - `ERR_FACTOR_LIMIT`: `beginEnrollment` for a user who has
 *   `policy.maxFactors` factors, without `replaceFactorId`.
 * - `ERR_NAME_TAKEN`: `beginEnrollment` with a name another factor has.
 * - `ERR_FACTOR_NOT_FOUND`: `beginEnrollment` with a `replaceFactorId` that
 *   is not an active factor of the user.
 * - `ERR_ERASED`: the user's data was erased by `deleteUserData` within the
 *   last `policy.erasureGuardMs` (default 1 hour), and this call would have
 *   written state for the user (`beginEnrollment`, `completeEnrollment`,
 *   `importFactor`, or a code check reaching the store after the erasure):
 *   nothing was written. A call that was in flight during the erasure gets
 *   it too, instead of bringing state back. Calls that would write nothing
 *   (`status`, a `verify` of a user without factors) answer as for a user
 *   without state.
 * - `ERR_PROOF`: a sensitive call (`beginEnrollment`, `removeFactor`,
 *   `regenerateRecoveryCodes`, `disable`) without the proof
 *   `policy.proofs.required` asks for, or with one that is unknown, used,
 *   expired, for another purpose or of a kind that does not suffice (a
 *   verification code's once the user has a factor). The message states
 *   which rule; nothing was written.
 * - `ERR_SENDER`: the app's verification code `sender` threw or rejected.
 *   The code was taken back: no code is live and no send was counted. No
 *   `cause` (a provider's error may echo the code); the message names the
 *   error's class.
 * - `ERR_CONTENDED`: the user's account state kept changing under the call
 *   (other calls for the same user) for 10 seconds; nothing was written.
 */
export type MFAErrorCode =
  | 'ERR_STORE'
  | 'ERR_CIPHER'
  | 'ERR_FACTOR_LIMIT'
  | 'ERR_NAME_TAKEN'
  | 'ERR_FACTOR_NOT_FOUND'
  | 'ERR_ERASED'
  | 'ERR_PROOF'
  | 'ERR_SENDER'
  | 'ERR_CONTENDED';

/**
 * Thrown by the MFA service and the built-in ciphers for failures a caller
 * branches on. The message names the operation that failed; it never contains
 * a secret, a code or a recovery code. The underlying error, if any, is `cause`.
 *
 * @example
 * ```ts fragment
 * import { MFAError } from 'totpkit';
 * try {
 *   await mfa.verify(userId, code);
 * } catch (error) {
 *   if (error instanceof MFAError && error.code === 'ERR_STORE') {
 *     // the database is unreachable: fail closed, log error.cause
 *   }
 *   throw error;
 * }
 * ```
 */
export class MFAError extends Error {
  /** A stable identifier of the failure, safe to branch on. */
  readonly code: MFAErrorCode;

  /**
   * @param code - the stable failure identifier
   * @param message - what failed; must not contain a secret or a code
   * @param options - `cause`: the underlying error
   */
  constructor(code: MFAErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MFAError';
    this.code = code;
  }
}
