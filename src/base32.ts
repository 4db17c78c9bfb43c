/**
 * Base32 (RFC 4648 §6) for secrets at the edges: key URIs, manual entry.
 *
 * The codec underneath is thirty-two on Node, Bun and Deno and @scure/base on
 * browsers and Workers (`_base32codec.ts` / `_base32codec.web.ts`, chosen by
 * the build). thirty-two decodes any input without complaint, so the grammar
 * is checked here first and only well-formed text reaches either codec.
 * @module
 */
import { decodeBase32Text, encodeBase32Bytes } from './_base32codec.ts';
import { checkBytes, describe } from './_assert.ts';

const ALPHABET = /^[A-Za-z2-7]*$/;
// Unpadded length mod 8 → number of '=' in the padded form (RFC 4648 §6);
// lengths 1, 3 and 6 cannot occur.
const PADDING: Readonly<Record<number, number>> = { 0: 0, 2: 6, 4: 4, 5: 3, 7: 1 };
// Unpadded length mod 8 → unused low bits in the last character.
const SPARE_BITS: Readonly<Record<number, number>> = { 0: 0, 2: 2, 4: 4, 5: 1, 7: 3 };

/**
 * Encodes bytes as RFC 4648 base32: uppercase, without `=` padding (the form
 * authenticator apps and key URIs use).
 *
 * @param bytes - the bytes to encode
 * @returns the base32 text
 * @throws TypeError if `bytes` is not a `Uint8Array`
 * @example
 * ```ts
 * import { encodeBase32 } from 'totpkit';
 * encodeBase32(new TextEncoder().encode('Hello!')); // 'JBSWY3DPEE'
 * ```
 */
export function encodeBase32(bytes: Uint8Array): string {
  checkBytes(bytes, 'bytes', 0, Number.MAX_SAFE_INTEGER);
  return encodeBase32Bytes(bytes);
}

/**
 * Decodes RFC 4648 base32 strictly. Letters may be in either case, spaces are
 * ignored (secrets are often shown in groups of four), and `=` padding is
 * accepted only if it is exactly right. Anything else is rejected.
 *
 * @param text - the base32 text
 * @returns the decoded bytes
 * @throws TypeError if `text` is not a string
 * @throws RangeError if `text` has a character outside the alphabet, an impossible
 *   length, wrong padding or non-zero trailing bits (the text itself is not quoted)
 * @example
 * ```ts
 * import { decodeBase32 } from 'totpkit';
 * decodeBase32('jbsw y3dp ee'); // Uint8Array of 'Hello!'
 * ```
 */
export function decodeBase32(text: string): Uint8Array {
  if (typeof text !== 'string') {
    throw new TypeError(`"text" must be a string, got ${describe(text)}`);
  }
  const compact = text.replace(/ /g, '');
  // Strip the padding with a scan: /=+$/ backtracks quadratically on a long run of '='.
  let end = compact.length;
  while (end > 0 && compact.charCodeAt(end - 1) === 0x3d) end--;
  const rem = end % 8;
  const padding = PADDING[rem];
  if (padding === undefined) {
    throw new RangeError(`"text" is not base32: a length of ${end} characters is impossible`);
  }
  // The alphabet is checked before upper-casing, which maps some non-ASCII
  // letters into it ('ı' → 'I', 'ſ' → 'S').
  const unpadded = compact.slice(0, end);
  if (!ALPHABET.test(unpadded)) {
    throw new RangeError(
      '"text" is not base32: only A–Z, 2–7, spaces and trailing "=" are allowed',
    );
  }
  const padded = compact.length - end;
  if (padded !== 0 && padded !== padding) {
    throw new RangeError(`"text" is not base32: expected ${padding} "=" of padding, got ${padded}`);
  }
  if (end === 0) return new Uint8Array(0);
  const upper = unpadded.toUpperCase();
  const last = upper.charCodeAt(end - 1);
  const lastValue = last >= 65 ? last - 65 : last - 50 + 26;
  if ((lastValue & ((1 << (SPARE_BITS[rem] ?? 0)) - 1)) !== 0) {
    throw new RangeError('"text" is not base32: the trailing bits are not zero');
  }
  return decodeBase32Text(upper);
}
