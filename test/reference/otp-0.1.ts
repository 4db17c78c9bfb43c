// totpkit 0.1.0's src/_otp.ts (commit 243412a), kept unchanged but for import paths: the
// noble-based reference for the kernels' differential tests and the "totpkit 0.1" bench contender.
/**
 * The HOTP core shared by HOTP and TOTP (internal): HMAC with its inner and
 * outer pad blocks hashed once per key, then RFC 4226 §5.3 truncation.
 *
 * For a cached key a counter costs two hash compressions: the inner hash of the
 * 8-byte counter and the outer hash of the inner digest each fit in one block.
 * @module
 * @internal
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import type { HashAlgorithm } from '../../src/_assert.ts';

const HASHES = { SHA1: sha1, SHA256: sha256, SHA512: sha512 } as const;

/** 10^digits for digits 6, 7 and 8. */
export const MODULI: Readonly<Record<number, number>> = { 6: 1e6, 7: 1e7, 8: 1e8 };

const TWO_32 = 2 ** 32;

/** What the core uses of a noble SHA-1/SHA-2 hash state. */
interface MDHash {
  readonly outputLen: number;
  update(data: Uint8Array): unknown;
  digestInto(out: Uint8Array): void;
  _cloneInto(to?: MDHash): MDHash;
}

/**
 * The buffer to digest into without allocating. noble's own `digest()` digests
 * into the hash's block buffer, the one output `digestInto` writes through its
 * cached DataView instead of creating one. `buffer` is protected in noble's
 * types; should it ever go away, a plain array keeps the results correct.
 */
function outputBuffer(hash: MDHash): Uint8Array {
  const own = (hash as unknown as { buffer?: unknown }).buffer;
  return own instanceof Uint8Array && own.length >= hash.outputLen
    ? own
    : new Uint8Array(hash.outputLen);
}

/** Working state for one algorithm: overwritten by every `truncate` call. */
class Scratch {
  readonly message = new Uint8Array(8);
  readonly inner: MDHash;
  readonly outer: MDHash;
  readonly innerOut: Uint8Array;
  readonly innerDigest: Uint8Array;
  readonly digest: Uint8Array;
  readonly last: number;

  constructor(algorithm: HashAlgorithm) {
    this.inner = HASHES[algorithm].create();
    this.outer = HASHES[algorithm].create();
    this.innerOut = outputBuffer(this.inner);
    this.innerDigest = this.innerOut.subarray(0, this.inner.outputLen);
    this.digest = outputBuffer(this.outer);
    this.last = this.outer.outputLen - 1;
  }
}

// One scratch per algorithm, shared by all keys, so that creating a key builds
// no more hash states than noble's HMAC does. Sharing is safe because
// `truncate` is synchronous and re-enters nothing.
const SCRATCH: Partial<Record<HashAlgorithm, Scratch>> = {};

/**
 * A keyed HMAC whose pad blocks are already compressed. `truncate` clones the
 * key's inner and outer hash states into the scratch states and digests into
 * their own buffers: no buffer, view or hash state is created per call. (noble's
 * `digestInto` still reads the state words into a short-lived array, and its
 * SHA-512 rounds box some numbers; both are young-generation garbage.)
 */
export class OTPCore {
  // The hash states after the key's ipad and opad blocks (RFC 2104).
  readonly #inner: MDHash;
  readonly #outer: MDHash;
  readonly #scratch: Scratch;

  constructor(algorithm: HashAlgorithm, secret: Uint8Array) {
    // noble's HMAC hashes a long key and pads it; we keep only its two states.
    const { iHash, oHash } = hmac.create(HASHES[algorithm], secret) as {
      iHash: MDHash;
      oHash: MDHash;
    };
    this.#inner = iHash;
    this.#outer = oHash;
    this.#scratch = SCRATCH[algorithm] ??= new Scratch(algorithm);
  }

  /**
   * HMAC(counter) truncated to a 31-bit integer (RFC 4226 §5.3). The counter is
   * a non-negative integer below 2^53, or a bigint below 2^64 given as halves.
   */
  truncate(counter: number, high?: number): number {
    const s = this.#scratch;
    const m = s.message;
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
    // One compression each: ipad state + counter, then opad state + inner digest.
    this.#inner._cloneInto(s.inner).update(m);
    s.inner.digestInto(s.innerOut);
    this.#outer._cloneInto(s.outer).update(s.innerDigest);
    const d = s.digest;
    s.outer.digestInto(d);
    // RFC 4226 §5.3 dynamic truncation: the low 4 bits of the last byte pick
    // the offset of 4 bytes, whose top bit is dropped.
    const o = (d[s.last] as number) & 0x0f;
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
