/**
 * Compact SHA-1, SHA-256 and SHA-512 compression functions (FIPS 180-4 §6),
 * loops over a message-schedule array, and the compact HOTP kernel built on
 * them: every kernel of the web build (small); on Node, SHA-256, and SHA-512
 * where WebAssembly is refused.
 * @module
 * @internal
 */
import { SHA1_IV, SHA256_IV, SHA256_K, SHA512_IV, SHA512_K } from './generated/constants.ts';
import type { Kernel } from './_hmac-key.ts';

/** The message schedule of one compression (SHA-512: 80 high/low pairs). */
const W = new Int32Array(160);

/** One SHA-1 compression of block[at..at + 15] into state (§6.1.2). */
export function compressSHA1(state: Int32Array, block: Int32Array, at: number): void {
  for (let i = 0; i < 16; i++) W[i] = block[at + i]!;
  for (let i = 16; i < 80; i++) {
    const x = W[i - 3]! ^ W[i - 8]! ^ W[i - 14]! ^ W[i - 16]!;
    W[i] = (x << 1) | (x >>> 31);
  }
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;
  let e = state[4]!;
  // Four loops of 20 rounds, one per function f and constant K (the last two as int32).
  for (let i = 0; i < 20; i++) {
    const t = (((a << 5) | (a >>> 27)) + ((b & c) | (~b & d)) + 0x5a827999 + e + W[i]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = t;
  }
  for (let i = 20; i < 40; i++) {
    const t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + 0x6ed9eba1 + e + W[i]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = t;
  }
  for (let i = 40; i < 60; i++) {
    const t = (((a << 5) | (a >>> 27)) + ((b & c) | (d & (b | c))) - 0x70e44324 + e + W[i]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = t;
  }
  for (let i = 60; i < 80; i++) {
    const t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) - 0x359d3e2a + e + W[i]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = t;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
}

/** One SHA-256 compression of block[at..at + 15] into state (§6.2.2). */
export function compressSHA256(state: Int32Array, block: Int32Array, at: number): void {
  for (let i = 0; i < 16; i++) W[i] = block[at + i]!;
  for (let i = 16; i < 64; i++) {
    const x = W[i - 15]!;
    const y = W[i - 2]!;
    W[i] =
      ((((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10)) +
        W[i - 7]! +
        (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
        W[i - 16]!) |
      0;
  }
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;
  let e = state[4]!;
  let f = state[5]!;
  let g = state[6]!;
  let h = state[7]!;
  for (let i = 0; i < 64; i++) {
    const t1 =
      (h +
        (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
        ((e & f) ^ (~e & g)) +
        SHA256_K[i]! +
        W[i]!) |
      0;
    const t2 =
      ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) +
        ((a & b) ^ (c & (a ^ b)))) |
      0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}

/** Adds the 64-bit words (ah, al) + (bh, bl); returns the low half, the high in HIGH[0]. */
const HIGH = new Int32Array(1);
function add64(ah: number, al: number, bh: number, bl: number): number {
  const l = (al >>> 0) + (bl >>> 0);
  HIGH[0] = (ah + bh + ((l / 0x100000000) | 0)) | 0;
  return l | 0;
}

/** One SHA-512 compression of block[at..at + 31] into state, on high/low pairs (§6.4.2). */
export function compressSHA512(state: Int32Array, block: Int32Array, at: number): void {
  for (let i = 0; i < 32; i++) W[i] = block[at + i]!;
  for (let i = 32; i < 160; i += 2) {
    // σ0(W[t-15]) and σ1(W[t-2]) (FIPS 180-4 §4.1.3), on (high, low) halves.
    const xh = W[i - 30]!;
    const xl = W[i - 29]!;
    const s0h = ((xh >>> 1) | (xl << 31)) ^ ((xh >>> 8) | (xl << 24)) ^ (xh >>> 7);
    const s0l = ((xl >>> 1) | (xh << 31)) ^ ((xl >>> 8) | (xh << 24)) ^ ((xl >>> 7) | (xh << 25));
    const yh = W[i - 4]!;
    const yl = W[i - 3]!;
    const s1h = ((yh >>> 19) | (yl << 13)) ^ ((yl >>> 29) | (yh << 3)) ^ (yh >>> 6);
    const s1l = ((yl >>> 19) | (yh << 13)) ^ ((yh >>> 29) | (yl << 3)) ^ ((yl >>> 6) | (yh << 26));
    let l = add64(s1h, s1l, W[i - 14]!, W[i - 13]!);
    l = add64(HIGH[0]!, l, s0h, s0l);
    W[i + 1] = add64(HIGH[0]!, l, W[i - 32]!, W[i - 31]!);
    W[i] = HIGH[0]!;
  }
  let ah = state[0]!,
    al = state[1]!,
    bh = state[2]!,
    bl = state[3]!;
  let ch = state[4]!,
    cl = state[5]!,
    dh = state[6]!,
    dl = state[7]!;
  let eh = state[8]!,
    el = state[9]!,
    fh = state[10]!,
    fl = state[11]!;
  let gh = state[12]!,
    gl = state[13]!,
    hh = state[14]!,
    hl = state[15]!;
  for (let i = 0; i < 160; i += 2) {
    // T1 = h + Σ1(e) + Ch(e, f, g) + K[t] + W[t]
    const S1h = ((eh >>> 14) | (el << 18)) ^ ((eh >>> 18) | (el << 14)) ^ ((el >>> 9) | (eh << 23));
    const S1l = ((el >>> 14) | (eh << 18)) ^ ((el >>> 18) | (eh << 14)) ^ ((eh >>> 9) | (el << 23));
    let l = add64(hh, hl, S1h, S1l);
    l = add64(HIGH[0]!, l, (eh & fh) ^ (~eh & gh), (el & fl) ^ (~el & gl));
    l = add64(HIGH[0]!, l, SHA512_K[i]!, SHA512_K[i + 1]!);
    const t1l = add64(HIGH[0]!, l, W[i]!, W[i + 1]!);
    const t1h = HIGH[0]!;
    // T2 = Σ0(a) + Maj(a, b, c)
    const S0h = ((ah >>> 28) | (al << 4)) ^ ((al >>> 2) | (ah << 30)) ^ ((al >>> 7) | (ah << 25));
    const S0l = ((al >>> 28) | (ah << 4)) ^ ((ah >>> 2) | (al << 30)) ^ ((ah >>> 7) | (al << 25));
    const t2l = add64(S0h, S0l, (ah & bh) ^ (ch & (ah ^ bh)), (al & bl) ^ (cl & (al ^ bl)));
    const t2h = HIGH[0]!;
    hh = gh;
    hl = gl;
    gh = fh;
    gl = fl;
    fh = eh;
    fl = el;
    el = add64(dh, dl, t1h, t1l);
    eh = HIGH[0]!;
    dh = ch;
    dl = cl;
    ch = bh;
    cl = bl;
    bh = ah;
    bl = al;
    al = add64(t1h, t1l, t2h, t2l);
    ah = HIGH[0]!;
  }
  const final = [ah, al, bh, bl, ch, cl, dh, dl, eh, el, fh, fl, gh, gl, hh, hl];
  for (let i = 0; i < 16; i += 2) {
    state[i + 1] = add64(state[i]!, state[i + 1]!, final[i]!, final[i + 1]!);
    state[i] = HIGH[0]!;
  }
}

/**
 * A compact HOTP kernel on a compression function: the counter block and the
 * inner-digest block are padded into a reused array and compressed, two
 * compressions per step, no allocation.
 */
function compactKernel(
  compress: (state: Int32Array, block: Int32Array, at: number) => void,
  iv: Int32Array,
): Kernel {
  const n = iv.length;
  const blockWords = n === 16 ? 32 : 16;
  const block = new Int32Array(blockWords);
  const digest = new Int32Array(n);
  // The length field's last word: (block + message bytes) in bits.
  const innerBits = (blockWords * 4 + 8) * 8;
  const outerBits = (blockWords * 4 + n * 4) * 8;
  const kernel: Kernel = {
    stateWords: n,
    blockWords,
    iv,
    compress,
    inner(key: Int32Array, hi: number, lo: number): void {
      // The counter, 0x80, zeros, the length.
      block.fill(0);
      block[0] = hi;
      block[1] = lo;
      block[2] = 0x80000000 | 0;
      block[blockWords - 1] = innerBits;
      digest.set(key.subarray(0, n));
      compress(digest, block, 0);
    },
    outer(key: Int32Array): number {
      // The inner digest, 0x80, zeros, the length.
      block.fill(0);
      block.set(digest);
      block[n] = 0x80000000 | 0;
      block[blockWords - 1] = outerBits;
      digest.set(key.subarray(n, 2 * n));
      compress(digest, block, 0);
      // RFC 4226 §5.3 dynamic truncation on the big-endian digest words.
      const o = digest[n - 1]! & 15;
      const i = o >>> 2;
      const s = (o & 3) << 3;
      const v = s === 0 ? digest[i]! : (digest[i]! << s) | (digest[i + 1]! >>> (32 - s));
      return v & 0x7fffffff;
    },
    truncate(key: Int32Array, hi: number, lo: number): number {
      kernel.inner(key, hi, lo);
      return kernel.outer(key);
    },
  };
  return kernel;
}

/** The compact SHA-1 kernel. */
export const SHA1_COMPACT: Kernel = compactKernel(compressSHA1, SHA1_IV);
/** The compact SHA-256 kernel. */
export const SHA256_COMPACT: Kernel = compactKernel(compressSHA256, SHA256_IV);
/** The compact SHA-512 kernel: the fallback where WebAssembly is refused. */
export const SHA512_COMPACT: Kernel = compactKernel(compressSHA512, SHA512_IV);
