/**
 * Which hash kernel each algorithm uses in the Node/Bun/Deno build (internal):
 * SHA-1, the default and what nearly every factor uses, runs unrolled, key
 * set-up included (src/generated/hotp-sha1.ts), after a warm-up on the compact
 * loop that spares short-lived processes its compilation; SHA-512 runs in WebAssembly,
 * compiled on first use (`_sha512.ts`); SHA-256 runs the compact loops of
 * `_compress.ts`. The web build gets `_kernel-choice.web.ts`: compact loops
 * only. docs/performance.md gives the figures behind each choice.
 * @module
 * @internal
 */
import type { HashAlgorithm } from './_assert.ts';
import { compressSHA1, SHA1_COMPACT, SHA256_COMPACT } from './_compress.ts';
import type { Kernel } from './_hmac-key.ts';
import { SHA512 } from './_sha512.ts';
import { SHA1_IV } from './generated/constants.ts';
import { compressSHA1Unrolled, innerSHA1, outerSHA1 } from './generated/hotp-sha1.ts';

/** The unrolled SHA-1 kernel. Exported for tests. */
export const SHA1_UNROLLED: Kernel = {
  stateWords: 5,
  blockWords: 16,
  iv: SHA1_IV,
  compress: compressSHA1Unrolled,
  inner: innerSHA1,
  outer: outerSHA1,
  truncate(key: Int32Array, hi: number, lo: number): number {
    innerSHA1(key, hi, lo);
    return outerSHA1(key);
  },
};

/**
 * HOTP steps run on the compact loop before the unrolled kernel takes over:
 * compiling the unrolled functions costs a process about 2.5 ms of CPU, which
 * a short-lived one (a serverless instance, a CLI) would never earn back.
 */
export const SHA1_WARM_UP_STEPS = 2_000;

let steps = 0;
// Whether the step under way (inner, then outer) runs on the compact loop.
let compactStep = true;

/**
 * The SHA-1 kernel in use: the compact loop for the first
 * {@link SHA1_WARM_UP_STEPS} steps and key set-ups, then the unrolled one.
 * Both give the same results from the same key state. `truncate` reaches
 * `inner` and `outer`, and the key set-up `compress`, through this object, so
 * that the compression-count tests can count them.
 */
const SHA1: Kernel = {
  stateWords: 5,
  blockWords: 16,
  iv: SHA1_IV,
  compress(state: Int32Array, block: Int32Array, at: number): void {
    if (steps < SHA1_WARM_UP_STEPS) compressSHA1(state, block, at);
    else compressSHA1Unrolled(state, block, at);
  },
  inner(key: Int32Array, hi: number, lo: number): void {
    compactStep = steps < SHA1_WARM_UP_STEPS;
    if (compactStep) {
      steps++;
      SHA1_COMPACT.inner(key, hi, lo);
    } else {
      innerSHA1(key, hi, lo);
    }
  },
  outer(key: Int32Array): number {
    return compactStep ? SHA1_COMPACT.outer(key) : outerSHA1(key);
  },
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
