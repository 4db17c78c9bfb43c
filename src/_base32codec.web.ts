/**
 * The base32 codec for browsers and Workers: @scure/base, which needs no
 * `Buffer` (internal). The web build resolves `_base32codec.ts` to this file;
 * it exports the same names and types.
 *
 * @scure/base is strict on its own, but `base32.ts` checks the grammar first
 * either way, so both codecs see the same well-formed text; a differential
 * test holds them to the same output.
 * @module
 * @internal
 */
import { base32nopad } from '@scure/base';

/** Which implementation this build carries (for tests and diagnostics). */
export const CODEC = '@scure/base';

/** RFC 4648 base32 of `bytes`, uppercase, without `=` padding. */
export function encodeBase32Bytes(bytes: Uint8Array): string {
  return base32nopad.encode(bytes);
}

/**
 * The bytes of `text`: uppercase, unpadded, well-formed base32 (the caller
 * has checked the alphabet, the length and the trailing bits).
 */
export function decodeBase32Text(text: string): Uint8Array {
  return base32nopad.decode(text);
}
