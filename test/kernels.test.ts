/**
 * The hash kernels, both builds: the Node build's (SHA-1 unrolled, SHA-512 in
 * WebAssembly, SHA-256 compact) and the web build's compact ones (also
 * SHA-512's fallback where WebAssembly is refused). Checked against the RFC vectors and
 * against totpkit 0.1's noble-based core (test/reference/otp-0.1.ts) over
 * 120,000 random (secret, counter) cases: secrets of 1 to 200 bytes (longer
 * than a block), counters with a non-zero high word, full 64-bit counters.
 *
 * The cases come from a seeded PRNG: set TOTPKIT_KERNEL_SEED to explore others.
 */
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { HashAlgorithm } from '../src/_assert.ts';
import { SHA1_COMPACT, SHA256_COMPACT, SHA512_COMPACT } from '../src/_compress.ts';
import { hmacKeyState, type Kernel } from '../src/_hmac-key.ts';
import { KERNELS, SHA1_UNROLLED, SHA1_WARM_UP_STEPS } from '../src/_kernel-choice.ts';
import { KERNELS as WEB_KERNELS } from '../src/_kernel-choice.web.ts';
import { SHA512, sha512Implementation } from '../src/_sha512.ts';
import { fromHex, rfc4226, rfc6238 } from './helpers/reference.ts';
import { OTPCore as ReferenceCore } from './reference/otp-0.1.ts';

const SEED = Number(process.env.TOTPKIT_KERNEL_SEED ?? 0x6b65726e);

/** mulberry32: a small seeded 32-bit PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const VARIANTS: [string, Record<HashAlgorithm, Kernel>][] = [
  ['node (SHA-1 unrolled after its warm-up, SHA-512 WebAssembly)', KERNELS],
  ['node, SHA-1 unrolled from the first step', { ...KERNELS, SHA1: SHA1_UNROLLED }],
  ['web (compact, SHA-512 pure JS)', WEB_KERNELS],
];

const truncate = (kernel: Kernel, secret: Uint8Array, hi: number, lo: number): number =>
  kernel.truncate(hmacKeyState(kernel, secret), hi | 0, lo | 0);

describe('the kernels in use', () => {
  it('Node gets unrolled SHA-1, WebAssembly SHA-512 and compact SHA-256; the web build the compact ones', () => {
    expect(KERNELS.SHA512).toBe(SHA512);
    expect(sha512Implementation()).not.toBe(SHA512_COMPACT);
    expect(KERNELS.SHA1).not.toBe(SHA1_COMPACT);
    expect(KERNELS.SHA256).toBe(SHA256_COMPACT);
    expect(WEB_KERNELS).toEqual({
      SHA1: SHA1_COMPACT,
      SHA256: SHA256_COMPACT,
      SHA512: SHA512_COMPACT,
    });
  });
});

describe.each(VARIANTS)('%s', (_, kernels) => {
  it('RFC 4226 Appendix D: the truncated values for counters 0 to 9', () => {
    const secret = fromHex(rfc4226.secretHex);
    const key = hmacKeyState(kernels.SHA1, secret);
    const got = rfc4226.vectors.map((v) => kernels.SHA1.truncate(key, 0, v.counter));
    expect(got).toEqual(rfc4226.vectors.map((v) => v.truncated));
  });

  it('RFC 6238 Appendix B: every time and mode, 8 digits', () => {
    const got = rfc6238.vectors.map(({ time, mode }) => {
      const step = Math.floor((time - rfc6238.t0) / rfc6238.timeStep);
      const kernel = kernels[mode];
      const key = hmacKeyState(kernel, fromHex(rfc6238.seedsHex[mode]));
      const value = kernel.truncate(key, Math.floor(step / 2 ** 32), (step % 2 ** 32) | 0);
      return String(value % 1e8).padStart(8, '0');
    });
    expect(got).toEqual(rfc6238.vectors.map((v) => v.totp));
  });

  it.each(['SHA1', 'SHA256', 'SHA512'] as const)(
    '%s: HMAC of a counter equals node:crypto at the counter and key-length edges',
    (algorithm) => {
      const kernel = kernels[algorithm];
      const blockBytes = kernel.blockWords * 4;
      for (const length of [1, 19, 20, blockBytes - 1, blockBytes, blockBytes + 1, 200, 1024]) {
        const secret = Uint8Array.from({ length }, (_, i) => (i * 131 + length) & 0xff);
        for (const [hi, lo] of [
          [0, 0],
          [0, 0xffffffff],
          [1, 0],
          [0x7fffffff, 0x80000000],
          [0xffffffff, 0xffffffff],
        ] as const) {
          const message = Buffer.alloc(8);
          message.writeUInt32BE(hi, 0);
          message.writeUInt32BE(lo, 4);
          const mac = createHmac(algorithm.toLowerCase(), secret).update(message).digest();
          const offset = mac[mac.length - 1]! & 15;
          const want = mac.readUInt32BE(offset) & 0x7fffffff;
          expect(truncate(kernel, secret, hi, lo), `${length} bytes, ${hi}:${lo}`).toBe(want);
        }
      }
    },
  );
});

describe(`differential against totpkit 0.1's noble-based core (seed ${SEED})`, () => {
  // Cases per algorithm; each secret is used for 4 counters: one below 2^32,
  // one with a small non-zero high word, two full 64-bit ones.
  const CASES: Record<HashAlgorithm, number> = { SHA1: 60_000, SHA256: 32_000, SHA512: 28_000 };

  it.each(['SHA1', 'SHA256', 'SHA512'] as const)(
    '%s: both variants equal the reference on every case',
    (algorithm) => {
      const random = prng(SEED ^ algorithm.length);
      const node = KERNELS[algorithm];
      const web = WEB_KERNELS[algorithm];
      // The tiered SHA-1 kernel passes its warm-up within the first cases; the
      // unrolled one is also checked on its own from the first case.
      const unrolled = algorithm === 'SHA1' ? SHA1_UNROLLED : node;
      const mismatches: string[] = [];
      let cases = 0;
      let longKeys = 0;
      let highWords = 0;
      while (cases < CASES[algorithm]) {
        const length = 1 + (random() % 200);
        const secret = Uint8Array.from({ length }, () => random() & 0xff);
        if (length > node.blockWords * 4) longKeys++;
        const reference = new ReferenceCore(algorithm, secret);
        const nodeKey = hmacKeyState(node, secret);
        const webKey = hmacKeyState(web, secret);
        for (const hi of [0, random() & 0xff, random(), random()]) {
          const lo = random();
          if (hi !== 0) highWords++;
          const want = reference.truncate(lo, hi);
          const a = node.truncate(nodeKey, hi | 0, lo | 0);
          const b = web.truncate(webKey, hi | 0, lo | 0);
          const c = unrolled.truncate(nodeKey, hi | 0, lo | 0);
          if (a !== want || b !== want || c !== want) {
            const hex = Buffer.from(secret).toString('hex');
            mismatches.push(`${hex} ${hi}:${lo}: node ${a} (${c}), web ${b}, reference ${want}`);
          }
          cases++;
        }
      }
      expect(mismatches.slice(0, 10)).toEqual([]);
      expect(cases).toBeGreaterThan(2 * SHA1_WARM_UP_STEPS);
      expect(longKeys).toBeGreaterThan(CASES[algorithm] / 20);
      expect(highWords).toBeGreaterThan(CASES[algorithm] / 2);
    },
    60_000,
  );
});

describe('SHA-512 without WebAssembly', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.resetModules();
  });

  it.each([
    ['absent', undefined],
    [
      'refusing to compile (a CSP without wasm-unsafe-eval)',
      {
        Module: class {
          constructor() {
            throw new Error('WebAssembly.Module(): Wasm code generation disallowed by embedder');
          }
        },
      },
    ],
  ])('falls back to the compact JS kernel when WebAssembly is %s', async (_, stub) => {
    vi.resetModules();
    vi.stubGlobal('WebAssembly', stub);
    const fresh = await import('../src/_sha512.ts');
    expect(fresh.sha512Implementation()).toBe((await import('../src/_compress.ts')).SHA512_COMPACT);
    const { OTPCore } = await import('../src/_otp.ts');
    const seed = fromHex(rfc6238.seedsHex.SHA512);
    // RFC 6238 Appendix B, T = 59 s: step 1, 8 digits.
    expect(new OTPCore('SHA512', seed).truncate(1) % 1e8).toBe(90693936);
  });
});

describe('SHA-512 WebAssembly, compiled on first use', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.resetModules();
  });

  it('is compiled once, when the first SHA-512 key is set up, never for SHA-1 or SHA-256', async () => {
    vi.resetModules();
    // Typed here: the project's libs (no DOM) do not declare WebAssembly.
    const real = (
      globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => object } }
    ).WebAssembly;
    let compiled = 0;
    vi.stubGlobal('WebAssembly', {
      ...real,
      Module: class {
        constructor(bytes: Uint8Array) {
          compiled++;
          return new real.Module(bytes);
        }
      },
    });
    const { OTPCore } = await import('../src/_otp.ts');
    const { fromHex: hex } = await import('./helpers/reference.ts');
    new OTPCore('SHA1', hex(rfc6238.seedsHex.SHA1)).truncate(1);
    new OTPCore('SHA256', hex(rfc6238.seedsHex.SHA256)).truncate(1);
    expect(compiled).toBe(0);
    const core = new OTPCore('SHA512', hex(rfc6238.seedsHex.SHA512));
    expect(compiled).toBe(1);
    // RFC 6238 Appendix B, T = 59 s: step 1, 8 digits.
    expect(core.truncate(1) % 1e8).toBe(90693936);
    new OTPCore('SHA512', hex(rfc6238.seedsHex.SHA512)).truncate(2);
    expect(compiled).toBe(1);
  });
});

describe('generated kernels', () => {
  it('src/generated/ matches scripts/gen-kernels.mjs', () => {
    // Throws (exit 1) and names the stale file if a generated file was edited by hand.
    execFileSync(process.execPath, ['scripts/gen-kernels.mjs', '--check'], { stdio: 'pipe' });
  }, 60_000);
});
