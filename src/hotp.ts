/**
 * HOTP: HMAC-based one-time passwords (RFC 4226).
 * @module
 */
import {
  checkAlgorithm,
  checkBytes,
  checkCounter,
  checkDigits,
  checkInteger,
  checkOptions,
  describeType,
  MAX_COUNTER,
  OTP_DEFAULTS,
  type Digits,
  type HashAlgorithm,
} from './_assert.ts';
import { formatCode, MODULI, OTPCore, parseCode } from './_otp.ts';

/** Options shared by {@link generateHOTP} and {@link verifyHOTP}. */
export interface HOTPOptions {
  /** HMAC hash. Default `'SHA1'` (RFC 4226). */
  algorithm?: HashAlgorithm;
  /** Code length. Default 6. */
  digits?: Digits;
}

/** Options for {@link verifyHOTP}. */
export interface VerifyHOTPOptions extends HOTPOptions {
  /** How many counters after `counter` to try as well (RFC 4226 §7.4). Default 0, at most 1000. */
  lookAhead?: number;
}

/** The outcome of {@link verifyHOTP}. */
export type VerifyHOTPResult<C extends number | bigint = number | bigint> =
  | {
      /** The code matched. */
      ok: true;
      /** The counter it matched; the next expected counter is this plus one. */
      counter: C;
    }
  | {
      /** The code did not match. */
      ok: false;
      /** `'malformed'`: not exactly `digits` ASCII digits; `'mismatch'`: no counter matched. */
      reason: 'malformed' | 'mismatch';
    };

const MAX_LOOK_AHEAD = 1000;

/** The core's truncated HMAC of a checked counter (a bigint is given as 32-bit halves). */
function truncate(core: OTPCore, counter: number | bigint): number {
  return typeof counter === 'bigint'
    ? core.truncate(Number(counter & 0xffffffffn), Number(counter >> 32n))
    : core.truncate(counter);
}

function resolve(options: HOTPOptions): { algorithm: HashAlgorithm; digits: Digits } {
  const { algorithm = OTP_DEFAULTS.algorithm, digits = OTP_DEFAULTS.digits } = options;
  return { algorithm: checkAlgorithm(algorithm), digits: checkDigits(digits) };
}

/**
 * Computes the HOTP code for `counter` (RFC 4226 §5.3).
 *
 * @param secret - the shared secret (at least 1 byte; RFC 4226 asks for 16 or more)
 * @param counter - a safe integer ≥ 0, or a bigint below 2^64
 * @param options - `algorithm` (default `'SHA1'`), `digits` (default 6)
 * @returns the code, left-padded with zeros to `digits`
 * @throws TypeError / RangeError naming the invalid argument
 * @example
 * ```ts
 * import { generateHOTP } from 'totpkit';
 * const secret = new TextEncoder().encode('12345678901234567890');
 * generateHOTP(secret, 0); // '755224' (RFC 4226 Appendix D)
 * ```
 */
export function generateHOTP(
  secret: Uint8Array,
  counter: number | bigint,
  options?: HOTPOptions,
): string {
  checkBytes(secret, 'secret');
  const c = checkCounter(counter);
  const { algorithm, digits } = resolve(checkOptions(options));
  const modulus = MODULI[digits] as number;
  return formatCode(truncate(new OTPCore(algorithm, secret), c) % modulus, digits);
}

/**
 * Checks an HOTP code against `counter` and up to `lookAhead` counters after it.
 * The caller must store the returned counter + 1 as the next expected counter,
 * so that a code is never accepted twice.
 *
 * @param secret - the shared secret
 * @param code - the code as typed; it must be exactly `digits` ASCII digits
 * @param counter - the next expected counter (safe integer ≥ 0 or bigint below 2^64)
 * @param options - `lookAhead` (default 0, at most 1000), `algorithm`, `digits`
 * @returns `{ ok: true, counter }` with the matched counter (same type as given), or
 *   `{ ok: false, reason }`
 * @throws TypeError if `code` is not a string; TypeError / RangeError for other invalid arguments
 * @example
 * ```ts
 * import { verifyHOTP } from 'totpkit';
 * const secret = new TextEncoder().encode('12345678901234567890');
 * verifyHOTP(secret, '287082', 0, { lookAhead: 5 }); // { ok: true, counter: 1 }
 * ```
 */
export function verifyHOTP(
  secret: Uint8Array,
  code: string,
  counter: number,
  options?: VerifyHOTPOptions,
): VerifyHOTPResult<number>;
export function verifyHOTP(
  secret: Uint8Array,
  code: string,
  counter: bigint,
  options?: VerifyHOTPOptions,
): VerifyHOTPResult<bigint>;
export function verifyHOTP(
  secret: Uint8Array,
  code: string,
  counter: number | bigint,
  options?: VerifyHOTPOptions,
): VerifyHOTPResult {
  checkBytes(secret, 'secret');
  if (typeof code !== 'string') {
    throw new TypeError(`"code" must be a string, got ${describeType(code)}`);
  }
  const start = checkCounter(counter);
  const { lookAhead = 0, ...params } = checkOptions(options);
  const { algorithm, digits } = resolve(params);
  checkInteger(lookAhead, 'lookAhead', 0, MAX_LOOK_AHEAD);
  const wanted = parseCode(code, digits);
  if (wanted < 0) return { ok: false, reason: 'malformed' };
  const core = new OTPCore(algorithm, secret);
  const modulus = MODULI[digits] as number;
  for (let i = 0; i <= lookAhead; i++) {
    const c = typeof start === 'bigint' ? start + BigInt(i) : start + i;
    if (typeof c === 'bigint' ? c > MAX_COUNTER : c > Number.MAX_SAFE_INTEGER) break;
    if (truncate(core, c) % modulus === wanted) return { ok: true, counter: c };
  }
  return { ok: false, reason: 'mismatch' };
}
