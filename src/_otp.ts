/**
 * The HOTP core shared by HOTP and TOTP (internal): HMAC with its inner and
 * outer pad blocks hashed once per key, then RFC 4226 §5.3 truncation.
 *
 * For a cached key a counter costs two hash compressions: the inner hash of the
 * 8-byte counter and the outer hash of the inner digest each fit in one block.
 * The kernels (`_kernel-choice.ts`: which kernel each algorithm uses, per build) do
 * each with no allocation per call.
 * @module
 * @internal
 */
import type { HashAlgorithm } from './_assert.ts';
import { hmacKeyState, type Kernel } from './_hmac-key.ts';
import { KERNELS } from './_kernel-choice.ts';

/** 10^digits for digits 6, 7 and 8. */
export const MODULI: Readonly<Record<number, number>> = { 6: 1e6, 7: 1e7, 8: 1e8 };

const TWO_32 = 2 ** 32;

/**
 * A keyed HMAC whose pad blocks are already compressed: `truncate` costs the
 * kernel's two compressions and allocates nothing.
 */
export class OTPCore {
  readonly #kernel: Kernel;
  // The hash states after the key's ipad and opad blocks (RFC 2104).
  readonly #key: Int32Array;

  constructor(algorithm: HashAlgorithm, secret: Uint8Array) {
    this.#kernel = KERNELS[algorithm];
    this.#key = hmacKeyState(this.#kernel, secret);
  }

  /**
   * HMAC(counter) truncated to a 31-bit integer (RFC 4226 §5.3). The counter is
   * a non-negative integer below 2^53, or a bigint below 2^64 given as halves.
   */
  truncate(counter: number, high?: number): number {
    const hi = high ?? Math.floor(counter / TWO_32);
    const lo = high === undefined ? counter % TWO_32 : counter;
    return this.#kernel.truncate(this.#key, hi | 0, lo | 0);
  }
}

/** Left-pads an OTP value to `digits` characters. */
export function formatCode(value: number, digits: number): string {
  return value.toString().padStart(digits, '0');
}

/**
 * Parses a code that must be exactly `digits` ASCII digits; returns -1 if it is
 * anything else. Callers have checked that `code` is a string.
 */
export function parseCode(code: string, digits: number): number {
  if (code.length !== digits) return -1;
  let value = 0;
  for (let i = 0; i < digits; i++) {
    const c = code.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    value = value * 10 + c;
  }
  return value;
}
