/**
 * HMAC-SHA512 of an 8-byte counter in two compressions (FIPS 180-4 §6.4), for
 * the Node build's HOTP core: one SHA-512 compression in WebAssembly, with
 * native 64-bit arithmetic (src/generated/sha512-wasm.ts, 1.2 KB), compiled
 * the first time a SHA-512 key is used, so that SHA-1 and SHA-256 users never
 * pay for it. Where WebAssembly is unavailable or refused, the compact pure-JS
 * kernel on 32-bit word pairs (`_compress.ts`) gives the same results
 * (test/kernels.test.ts runs both).
 * @module
 * @internal
 */
import { SHA512_COMPACT } from './_compress.ts';
import type { Kernel } from './_hmac-key.ts';
import { SHA512_IV, SHA512_K } from './generated/constants.ts';
import { SHA512_WASM, SHA512_WASM_FREE } from './generated/sha512-wasm.ts';

interface WasmExports {
  m: { readonly buffer: ArrayBuffer };
  /** One compression of the 16 words at `block` into the state at `src`, written at `dst`. */
  c(src: number, dst: number, block: number): void;
}

// Memory, in 32-bit words from the module's first free byte: the loaded key's
// inner and outer states, the counter block, the outer block (whose first
// eight words the inner hash writes), the HMAC, and a set-up state and block.
const FREE = SHA512_WASM_FREE >> 2;
const AT = {
  key: FREE,
  outerKey: FREE + 16,
  counterBlock: FREE + 32,
  outerBlock: FREE + 64,
  mac: FREE + 96,
  state: FREE + 112,
  block: FREE + 128,
} as const;

/** Compiles the embedded module; null where WebAssembly is unavailable or refused. */
function instantiate(): WasmExports | null {
  // Typed here: the project's libs (ES2024, no DOM) do not declare WebAssembly.
  const api = (
    globalThis as {
      WebAssembly?: {
        Module: new (bytes: Uint8Array) => object;
        Instance: new (module: object) => { exports: unknown };
      };
    }
  ).WebAssembly;
  try {
    if (typeof api !== 'object' || api === null) return null;
    const bytes = Uint8Array.from(atob(SHA512_WASM), (c) => c.charCodeAt(0));
    return new api.Instance(new api.Module(bytes)).exports as WasmExports;
  } catch {
    // A Content-Security-Policy without 'wasm-unsafe-eval', or a runtime that
    // limits synchronous compilation: the JS kernel takes over.
    return null;
  }
}

/** Copies big-endian word pairs into the module's little-endian 64-bit words. */
function put(memory: Int32Array, at: number, words: Int32Array, from: number, count: number): void {
  for (let i = 0; i < count; i += 2) {
    memory[at + i] = words[from + i + 1]!;
    memory[at + i + 1] = words[from + i]!;
  }
}

/** The WebAssembly kernel on an instantiated module. */
function wasmKernel(wasm: WasmExports): Kernel {
  const memory = new Int32Array(wasm.m.buffer);
  const compress = wasm.c;
  put(memory, 0, SHA512_K, 0, 160);
  // The fixed words of the two HOTP blocks: 0x80 after the message, the
  // length in bits in the last word (128-byte block + 8 or + 64 bytes).
  memory[AT.counterBlock + 3] = 0x80000000 | 0;
  memory[AT.counterBlock + 30] = (128 + 8) * 8;
  memory[AT.outerBlock + 17] = 0x80000000 | 0;
  memory[AT.outerBlock + 30] = (128 + 64) * 8;
  // The key whose states are in memory: a verification window loads them once.
  let loaded: Int32Array | null = null;
  const load = (key: Int32Array) => {
    if (key !== loaded) {
      put(memory, AT.key, key, 0, 32);
      loaded = key;
    }
  };
  // The HMAC's big-endian 32-bit word i.
  const word = (i: number) => memory[AT.mac + (i ^ 1)]!;
  const kernel: Kernel = {
    stateWords: 16,
    blockWords: 32,
    iv: SHA512_IV,
    compress(state: Int32Array, block: Int32Array, at: number): void {
      put(memory, AT.state, state, 0, 16);
      put(memory, AT.block, block, at, 32);
      compress(AT.state << 2, AT.state << 2, AT.block << 2);
      put(state, 0, memory, AT.state, 16);
    },
    inner(key: Int32Array, hi: number, lo: number): void {
      load(key);
      memory[AT.counterBlock] = lo;
      memory[AT.counterBlock + 1] = hi;
      compress(AT.key << 2, AT.outerBlock << 2, AT.counterBlock << 2);
    },
    outer(key: Int32Array): number {
      load(key);
      compress(AT.outerKey << 2, AT.mac << 2, AT.outerBlock << 2);
      // RFC 4226 §5.3 dynamic truncation.
      const o = word(15) & 15;
      const i = o >>> 2;
      const s = (o & 3) << 3;
      const v = s === 0 ? word(i) : (word(i) << s) | (word(i + 1) >>> (32 - s));
      return v & 0x7fffffff;
    },
    truncate(key: Int32Array, hi: number, lo: number): number {
      kernel.inner(key, hi, lo);
      return kernel.outer(key);
    },
  };
  return kernel;
}

let chosen: Kernel | undefined;

/**
 * The kernel behind {@link SHA512}, compiled on first use: WebAssembly where
 * available, else the compact JS one. Exported for tests.
 */
export function sha512Implementation(): Kernel {
  if (chosen === undefined) {
    const wasm = instantiate();
    chosen = wasm === null ? SHA512_COMPACT : wasmKernel(wasm);
  }
  return chosen;
}

/**
 * The SHA-512 kernel: each call goes to {@link sha512Implementation}, so
 * nothing is compiled until a SHA-512 key is set up. `truncate` reaches
 * `inner` and `outer` through this object, so the compression-count tests see
 * every call.
 */
export const SHA512: Kernel = {
  stateWords: 16,
  blockWords: 32,
  iv: SHA512_IV,
  compress: (state, block, at) => sha512Implementation().compress(state, block, at),
  inner: (key, hi, lo) => sha512Implementation().inner(key, hi, lo),
  outer: (key) => sha512Implementation().outer(key),
  truncate(key: Int32Array, hi: number, lo: number): number {
    SHA512.inner(key, hi, lo);
    return SHA512.outer(key);
  },
};
