/**
 * The HOTP core shared by HOTP and TOTP (internal): HMAC with its inner and
 * outer pad blocks hashed once per key, then RFC 4226 §5.3 truncation.
 *
 * For a cached key a counter costs two hash compressions: the inner hash of the
 * 8-byte counter and the outer hash of the inner digest each fit in one block.
 * @module
 * @internal
 */
import { hmac, type _HMAC } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import type { HashAlgorithm } from './_assert.ts';

const HASHES = { SHA1: sha1, SHA256: sha256, SHA512: sha512 } as const;

/** 10^digits for digits 6, 7 and 8. */
export const MODULI: Readonly<Record<number, number>> = { 6: 1e6, 7: 1e7, 8: 1e8 };

const TWO_32 = 2 ** 32;

type AnyHMAC = _HMAC<ReturnType<(typeof HASHES)[HashAlgorithm]['create']>>;

/**
 * A keyed HMAC whose pad blocks are already compressed. `truncate` reuses one
 * scratch state and one output buffer, so it allocates no buffers per call.
 * Not safe for re-entrant use (JavaScript is single-threaded, so it is safe to
 * share between async tasks).
 */
export class OTPCore {
  readonly #base: AnyHMAC;
  readonly #scratch: AnyHMAC;
  readonly #message = new Uint8Array(8);
  readonly #digest: Uint8Array;

  constructor(algorithm: HashAlgorithm, secret: Uint8Array) {
    this.#base = hmac.create(HASHES[algorithm] as (typeof HASHES)['SHA1'], secret) as AnyHMAC;
    this.#scratch = this.#base._cloneInto();
    this.#digest = new Uint8Array(this.#base.outputLen);
  }

  /**
   * HMAC(counter) truncated to a 31-bit integer (RFC 4226 §5.3). The counter is
   * a non-negative integer below 2^53, or a bigint below 2^64 given as halves.
   */
  truncate(counter: number, high?: number): number {
    const m = this.#message;
    const hi = high ?? Math.floor(counter / TWO_32);
    const lo = high === undefined ? counter % TWO_32 : counter;
    m[0] = hi >>> 24;
    m[1] = hi >>> 16;
    m[2] = hi >>> 8;
    m[3] = hi;
    m[4] = lo >>> 24;
    m[5] = lo >>> 16;
    m[6] = lo >>> 8;
    m[7] = lo;
    const h = this.#base._cloneInto(this.#scratch);
    h.update(m);
    const d = this.#digest;
    h.digestInto(d);
    // RFC 4226 §5.3 dynamic truncation: the low 4 bits of the last byte pick
    // the offset of 4 bytes, whose top bit is dropped.
    const o = (d[d.length - 1] as number) & 0x0f;
    return (
      (((d[o] as number) & 0x7f) << 24) |
      ((d[o + 1] as number) << 16) |
      ((d[o + 2] as number) << 8) |
      (d[o + 3] as number)
    );
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
