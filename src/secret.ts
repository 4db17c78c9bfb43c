/**
 * Random secrets for new OTP factors.
 * @module
 */
import { checkInteger, checkOptions } from './_assert.ts';

/** Options for {@link generateSecret}. */
export interface GenerateSecretOptions {
  /** Secret length in bytes, 16 to 64. Default 20 (160 bits, RFC 4226 R6's recommendation). */
  bytes?: number;
}

/**
 * Generates a random secret from the platform CSPRNG
 * (`globalThis.crypto.getRandomValues`).
 *
 * @param options - `bytes`: length in bytes (default 20; RFC 4226 R6 requires at
 *   least 16, i.e. 128 bits, and more than 64 is refused)
 * @returns a fresh secret
 * @throws RangeError if `bytes` is outside 16–64
 * @example
 * ```ts
 * import { generateSecret, encodeBase32 } from 'totpkit';
 * const secret = generateSecret(); // 20 random bytes
 * encodeBase32(secret); // 32 base32 characters to show the user
 * ```
 */
export function generateSecret(options?: GenerateSecretOptions): Uint8Array {
  const { bytes = 20 } = checkOptions(options);
  checkInteger(bytes, 'bytes', 16, 64);
  return globalThis.crypto.getRandomValues(new Uint8Array(bytes));
}
