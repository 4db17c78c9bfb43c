/**
 * The base32 codec behind {@link encodeBase32}/{@link decodeBase32} on Node,
 * Bun and Deno: thirty-two (internal).
 *
 * thirty-two returns a `Buffer` and calls `new Buffer`, which browsers and
 * Workers lack; their build resolves this module to `_base32codec.web.ts`
 * (same exports, @scure/base). Both are reached only after `base32.ts` has
 * checked the grammar, so they see well-formed text only.
 * @module
 * @internal
 */
import * as thirtyTwo from 'thirty-two';

/** Which implementation this build carries (for tests and diagnostics). */
export const CODEC = 'thirty-two';

/** RFC 4648 base32 of `bytes`, uppercase, without `=` padding. */
export function encodeBase32Bytes(bytes: Uint8Array): string {
  if (bytes.length === 0) return '';
  return thirtyTwo.encode(bytes).toString('latin1').replace(/=+$/, '');
}

/**
 * The bytes of `text`: uppercase, unpadded, well-formed base32 (the caller
 * has checked the alphabet, the length and the trailing bits).
 */
export function decodeBase32Text(text: string): Uint8Array {
  return new Uint8Array(thirtyTwo.decode(text));
}
