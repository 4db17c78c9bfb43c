/**
 * HMAC-SHA512 of an 8-byte counter in two compressions (FIPS 180-4 §6.4), for
 * the HOTP core: WebAssembly, with native 64-bit arithmetic, where the runtime
 * allows it; otherwise the compact pure-JS kernel on 32-bit word pairs
 * (`_compress.ts`), which gives the same results (test/kernels.test.ts runs both).
 * @module
 * @internal
 */
import { SHA512_COMPACT } from './_compress.ts';
import { SHA512_IV } from './_constants.ts';
import type { Kernel } from './_kernel.ts';
import { SHA512_WASM } from './_sha512-wasm.ts';

// --- the WebAssembly kernel ---------------------------------------------------

interface WasmExports {
  m: { readonly buffer: ArrayBuffer };
  inner(hi: number, lo: number): void;
  outer(): number;
  compress(): void;
}

/** Memory addresses, in 32-bit words (see scripts/gen-kernels.mjs). */
const AT = { inner: 0, outer: 16, state: 48, block: 64 } as const;

/** Instantiates the embedded module synchronously; null where WebAssembly is unavailable or refused. */
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
    const bytes = base64Bytes(SHA512_WASM);
    return new api.Instance(new api.Module(bytes)).exports as WasmExports;
  } catch {
    // A Content-Security-Policy without 'wasm-unsafe-eval', or a runtime that
    // limits synchronous compilation: the JS kernel takes over.
    return null;
  }
}

/** RFC 4648 base64 to bytes (no atob/Buffer: the same on every runtime). */
function base64Bytes(text: string): Uint8Array {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const clean = text.replace(/=+$/, '');
  const out = new Uint8Array((clean.length * 3) >> 2);
  let bits = 0;
  let value = 0;
  let n = 0;
  for (let i = 0; i < clean.length; i++) {
    value = (value << 6) | alphabet.indexOf(clean[i]!);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (value >>> bits) & 0xff;
    }
  }
  return out;
}

/** Copies big-endian word pairs into the module's little-endian 64-bit words. */
function put(memory: Int32Array, at: number, words: Int32Array, from: number, count: number): void {
  for (let i = 0; i < count; i += 2) {
    memory[at + i] = words[from + i + 1]!;
    memory[at + i + 1] = words[from + i]!;
  }
}

function wasmKernel(wasm: WasmExports): Kernel {
  const memory = new Int32Array(wasm.m.buffer);
  const { inner, outer, compress } = wasm;
  // The key whose states are in the module's memory: a verification window
  // loads them once.
  let loaded: Int32Array | null = null;
  const kernel: Kernel = {
    stateWords: 16,
    blockWords: 32,
    iv: SHA512_IV,
    compress(state: Int32Array, block: Int32Array, at: number): void {
      put(memory, AT.state, state, 0, 16);
      put(memory, AT.block, block, at, 32);
      compress();
      put(state, 0, memory, AT.state, 16);
    },
    inner(key: Int32Array, hi: number, lo: number): void {
      if (key !== loaded) {
        put(memory, AT.inner, key, 0, 32);
        loaded = key;
      }
      inner(hi, lo);
    },
    outer(key: Int32Array): number {
      if (key !== loaded) {
        put(memory, AT.inner, key, 0, 32);
        loaded = key;
      }
      return outer();
    },
    truncate(key: Int32Array, hi: number, lo: number): number {
      kernel.inner(key, hi, lo);
      return kernel.outer(key);
    },
  };
  return kernel;
}

const wasm = instantiate();

/** The WebAssembly SHA-512 kernel, or null where WebAssembly is unavailable. Exported for tests. */
export const SHA512_WASM_KERNEL: Kernel | null = wasm && wasmKernel(wasm);

/** The SHA-512 kernel in use: WebAssembly where available, else the compact JS one. */
export const SHA512: Kernel = SHA512_WASM_KERNEL ?? SHA512_COMPACT;
