/**
 * scrypt (RFC 7914) for recovery codes on browsers and Workers (internal):
 * noble's pure-JavaScript scrypt, which runs on the calling thread and hands
 * the event loop back every few milliseconds. The Node, Bun and Deno build
 * uses `./_scrypt.ts` instead (native scrypt off the main thread), and falls
 * back to this module where `node:crypto` is missing. Both give the same
 * bytes for the same input.
 * @module
 * @internal
 */
import { scryptAsync } from '@noble/hashes/scrypt.js';
import type { ScryptParams } from './policy.ts';

/** One way to evaluate scrypt. */
export interface ScryptBackend {
  /** Where the evaluation runs: `'node:crypto'` (thread pool) or `'@noble/hashes'` (this thread). */
  readonly name: 'node:crypto' | '@noble/hashes';
  /**
   * Evaluations worth running at once. On one thread, running several at once
   * finishes none sooner and needs more memory (128 · N · r bytes each).
   */
  readonly concurrency: number;
  /** The `dkLen`-byte scrypt key of `password` and `salt`. */
  derive(
    password: Uint8Array,
    salt: Uint8Array,
    params: Readonly<ScryptParams>,
    dkLen: number,
  ): Promise<Uint8Array>;
}

/**
 * Milliseconds of work between two yields to the event loop: short enough
 * that timers and I/O wait at most about this long behind a recovery code.
 */
const ASYNC_TICK_MS = 8;

// Pure: a bundle that never derives a key (generateTOTP + verifyTOTP) drops
// it, and @noble/hashes' scrypt with it.
const NOBLE: ScryptBackend = /* @__PURE__ */ Object.freeze({
  name: '@noble/hashes',
  concurrency: 1,
  derive: (password, salt, { N, r, p }, dkLen) =>
    scryptAsync(password, salt, { N, r, p, dkLen, asyncTick: ASYNC_TICK_MS }),
} satisfies ScryptBackend);

/** The scrypt backend of this runtime: noble's, here. */
export function loadScrypt(): Promise<ScryptBackend> {
  return Promise.resolve(NOBLE);
}
