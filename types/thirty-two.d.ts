// thirty-two ships no type declarations; these cover the two functions totpkit calls.
declare module 'thirty-two' {
  /** Base32-encodes `plain` (RFC 4648 alphabet, `=`-padded). */
  export function encode(plain: Uint8Array | string): Buffer;
  /** Decodes base32 text; it does not validate its input. */
  export function decode(encoded: string | Uint8Array): Buffer;
}
