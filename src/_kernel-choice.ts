/**
 * Which hash kernel each algorithm uses in the Node/Bun/Deno build (internal):
 * SHA-1, the default and what nearly every factor uses, runs unrolled, key
 * set-up included (src/generated/hotp-sha1.ts); SHA-512 runs in WebAssembly,
 * compiled on first use (`_sha512.ts`); SHA-256 runs the compact loops of
 * `_compress.ts`. The web build gets `_kernel-choice.web.ts`: compact loops
 * only. docs/performance.md gives the figures behind each choice.
 * @module
 * @internal
 */
import type { HashAlgorithm } from './_assert.ts';
import { SHA256_COMPACT } from './_compress.ts';
import type { Kernel } from './_hmac-key.ts';
import { SHA512 } from './_sha512.ts';
import { SHA1_IV } from './generated/constants.ts';
import { compressSHA1Unrolled, innerSHA1, outerSHA1 } from './generated/hotp-sha1.ts';

/**
 * The unrolled SHA-1 kernel. `truncate` reaches `inner` and `outer`, and the
 * key set-up `compress`, through this object, so that the compression-count
 * tests can count them.
 */
const SHA1: Kernel = {
  stateWords: 5,
  blockWords: 16,
  iv: SHA1_IV,
  compress: compressSHA1Unrolled,
  inner: innerSHA1,
  outer: outerSHA1,
  truncate(key: Int32Array, hi: number, lo: number): number {
    SHA1.inner(key, hi, lo);
    return SHA1.outer(key);
  },
};

/** The kernel for each algorithm. */
export const KERNELS: Readonly<Record<HashAlgorithm, Kernel>> = {
  SHA1,
  SHA256: SHA256_COMPACT,
  SHA512,
};
