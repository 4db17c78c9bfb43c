/**
 * What every hash kernel is (the `Kernel` interface) and the HMAC key set-up
 * they share (internal): the key's inner
 * and outer pad blocks are compressed once (RFC 2104), a key longer than a
 * block being hashed first, and the two states are kept for the kernel's
 * two-compression HOTP step.
 * @module
 * @internal
 */

/**
 * A hash specialised for HOTP: state and message as big-endian 32-bit words
 * (SHA-512's 64-bit words as high/low pairs).
 */
export interface Kernel {
  /** State size in 32-bit words: 5, 8 or 16. */
  readonly stateWords: number;
  /** Block size in 32-bit words: 16 or 32. */
  readonly blockWords: number;
  /** The initial hash value (FIPS 180-4 §5.3). */
  readonly iv: Int32Array;
  /** Compresses `block[at..at + blockWords - 1]` into `state` (a general block, for key set-up). */
  compress(state: Int32Array, block: Int32Array, at: number): void;
  /** HMAC(key, counter) truncated to 31 bits (RFC 4226 §5.3): `inner` then `outer`. */
  truncate(key: Int32Array, hi: number, lo: number): number;
  /** The inner hash of the 8-byte counter: one compression. */
  inner(key: Int32Array, hi: number, lo: number): void;
  /** The outer hash of the inner digest, truncated (RFC 4226 §5.3): one compression. */
  outer(key: Int32Array): number;
}

/** Big-endian 32-bit words of `bytes`, zero-padded to `words` entries. */
function toWords(bytes: Uint8Array, words: number): Int32Array {
  const out = new Int32Array(words);
  for (let i = 0; i < bytes.length; i++) {
    out[i >> 2]! |= bytes[i]! << (24 - ((i & 3) << 3));
  }
  return out;
}

/** The full hash of `message` as words (used only for keys longer than a block). */
function hashWords(kernel: Kernel, message: Uint8Array): Int32Array {
  const blockBytes = kernel.blockWords * 4;
  // Message, 0x80, zeros, then the bit length in the last 8 bytes (the length
  // field is 8 or 16 bytes; its upper bytes are zero for any key we accept).
  const padded = Math.ceil((message.length + 9 + (blockBytes === 128 ? 8 : 0)) / blockBytes);
  const bytes = new Uint8Array(padded * blockBytes);
  bytes.set(message);
  bytes[message.length] = 0x80;
  const bits = message.length * 8;
  const end = bytes.length;
  bytes[end - 1] = bits;
  bytes[end - 2] = bits >>> 8;
  bytes[end - 3] = bits >>> 16;
  bytes[end - 4] = bits >>> 24;
  bytes[end - 5] = Math.floor(bits / 2 ** 32);
  const words = toWords(bytes, bytes.length / 4);
  const state = kernel.iv.slice();
  for (let at = 0; at < words.length; at += kernel.blockWords) {
    kernel.compress(state, words, at);
  }
  return state;
}

// Set-up scratch (32 words fit a SHA-512 block), cleared after each use.
const PAD = new Int32Array(32);
const STATE = new Int32Array(16);

/**
 * The HMAC key state: the hash state after the ipad block, then after the opad
 * block (RFC 2104), `2 × stateWords` words.
 */
export function hmacKeyState(kernel: Kernel, secret: Uint8Array): Int32Array {
  const n = kernel.stateWords;
  const blockWords = kernel.blockWords;
  const key = new Int32Array(2 * n);
  // The key block, XORed with ipad, starts in PAD: a longer key is hashed first.
  PAD.fill(0x36363636, 0, blockWords);
  if (secret.length > blockWords * 4) {
    const digest = hashWords(kernel, secret);
    for (let i = 0; i < n; i++) PAD[i]! ^= digest[i]!;
    digest.fill(0);
  } else {
    for (let i = 0; i < secret.length; i++) {
      PAD[i >> 2]! ^= secret[i]! << (24 - ((i & 3) << 3));
    }
  }
  key.set(kernel.iv);
  kernel.compress(key, PAD, 0);
  // ipad ^ opad turns the ipad block into the opad block.
  for (let i = 0; i < blockWords; i++) PAD[i]! ^= 0x36363636 ^ 0x5c5c5c5c;
  STATE.set(kernel.iv);
  kernel.compress(STATE, PAD, 0);
  for (let i = 0; i < n; i++) key[n + i] = STATE[i]!;
  PAD.fill(0);
  STATE.fill(0);
  return key;
}
