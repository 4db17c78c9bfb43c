/**
 * The hash kernels of the Node/Bun/Deno build (internal): fully unrolled
 * SHA-1 and SHA-256, SHA-512 in WebAssembly. Fast and large; the web build
 * gets the compact kernels of `_kernels.web.ts` instead.
 * @module
 * @internal
 */
import type { HashAlgorithm } from './_assert.ts';
import type { Kernel } from './_kernel.ts';
import { SHA1 } from './_sha1.ts';
import { SHA256 } from './_sha256.ts';
import { SHA512 } from './_sha512.ts';

/** The kernel for each algorithm. */
export const KERNELS: Readonly<Record<HashAlgorithm, Kernel>> = { SHA1, SHA256, SHA512 };
