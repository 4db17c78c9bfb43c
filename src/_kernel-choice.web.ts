/**
 * Which hash kernel each algorithm uses in the web build (internal): the compact loop kernels, a
 * fraction of the unrolled ones' size (`npm run size` prints both).
 * @module
 * @internal
 */
import type { HashAlgorithm } from './_assert.ts';
import { SHA1_COMPACT, SHA256_COMPACT, SHA512_COMPACT } from './_compress.ts';
import type { Kernel } from './_hmac-key.ts';

/** The kernel for each algorithm. */
export const KERNELS: Readonly<Record<HashAlgorithm, Kernel>> = {
  SHA1: SHA1_COMPACT,
  SHA256: SHA256_COMPACT,
  SHA512: SHA512_COMPACT,
};
