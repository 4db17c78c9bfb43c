/**
 * The fast path's cost, counted instead of timed: spies on each kernel's
 * compression entry points check that a candidate step costs exactly two
 * compressions with a cached key, and that setting a key up costs two more
 * (the HMAC ipad and opad blocks).
 *
 * What is counted: a kernel's `inner` (the counter block) and `outer` (the
 * inner-digest block) are each one compression, generated unrolled or run
 * once through the compact loop (or one call into WebAssembly for SHA-512);
 * `compress` is one general block, used by the key set-up. The kernels reach
 * all three through the kernel object, so the spies see every call.
 */
import { afterEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { hmacKeyState, type Kernel } from '../../src/_hmac-key.ts';
import { KERNELS } from '../../src/_kernel-choice.ts';
import { KERNELS as WEB_KERNELS } from '../../src/_kernel-choice.web.ts';
import {
  createTOTPKey,
  generateHOTP,
  generateTOTP,
  verifyConsecutiveTOTP,
  verifyHOTP,
  verifyTOTP,
  type HashAlgorithm,
} from '../../src/index.ts';
import { referenceHOTP } from '../helpers/reference.ts';

const BLOCK_BYTES = { SHA1: 64, SHA256: 64, SHA512: 128 } as const;
const SECRET_BYTES = { SHA1: 20, SHA256: 32, SHA512: 64 } as const;
const PERIOD_MS = 30_000;
const NOW = 1_750_000_012_345; // inside step 58333333
const CURRENT = Math.floor(NOW / PERIOD_MS);

let spies: MockInstance[] = [];
afterEach(() => {
  for (const spy of spies) spy.mockRestore();
  spies = [];
});

/** Counts compressions of every SHA-1/SHA-256/SHA-512 kernel, by algorithm. */
function spyOnCompressions(
  kernels: Readonly<Record<HashAlgorithm, Kernel>> = KERNELS,
): Record<HashAlgorithm, () => number> {
  const counters = Object.entries(kernels).map(([name, kernel]) => {
    const these = (['inner', 'outer', 'compress'] as const).map((method) =>
      vi.spyOn(kernel, method),
    );
    spies.push(...these);
    return [name, () => these.reduce((n, spy) => n + spy.mock.calls.length, 0)] as const;
  });
  return Object.fromEntries(counters) as Record<HashAlgorithm, () => number>;
}

/** Compressions done by `fn`; fails if it used another algorithm's hash. */
function compressions(
  algorithm: HashAlgorithm,
  fn: () => unknown,
  kernels: Readonly<Record<HashAlgorithm, Kernel>> = KERNELS,
): number {
  const counts = spyOnCompressions(kernels);
  fn();
  for (const [name, count] of Object.entries(counts)) {
    if (name !== algorithm) expect(count(), `${name} compressions`).toBe(0);
  }
  const n = counts[algorithm]();
  for (const spy of spies) spy.mockRestore();
  spies = [];
  return n;
}

const secretFor = (algorithm: HashAlgorithm, bytes: number = SECRET_BYTES[algorithm]) =>
  Uint8Array.from({ length: bytes }, (_, i) => (i * 37 + 11) & 0xff);

/** A code that is not the code of any step within `reach` of the current one. */
function codeMatchingNothing(secret: Uint8Array, algorithm: HashAlgorithm, reach: number): string {
  const taken = new Set<string>();
  for (let s = CURRENT - reach; s <= CURRENT + reach; s++) {
    taken.add(referenceHOTP(secret, s, algorithm, 6));
  }
  for (let n = 0; ; n++) {
    const code = String(n).padStart(6, '0');
    if (!taken.has(code)) return code;
  }
}

describe.each(['SHA1', 'SHA256', 'SHA512'] as const)('%s', (algorithm) => {
  const secret = secretFor(algorithm);
  const params = { algorithm } as const;
  const wrong = codeMatchingNothing(secret, algorithm, 12);

  it('spies on the hash that the algorithm uses', () => {
    // A spy that never fires would make every count below vacuous.
    expect(compressions(algorithm, () => generateTOTP(secret, { ...params, now: NOW }))).toBe(4);
  });

  it('costs two compressions to set a key up (HMAC ipad and opad blocks)', () => {
    expect(compressions(algorithm, () => createTOTPKey(secret, params))).toBe(2);
  });

  it('hashes a key longer than a block first (RFC 2104), then its two pad blocks', () => {
    // 200 bytes, 0x80 and the length (8 bytes, or 16 for SHA-512): 209 bytes
    // fill four blocks of 64, 217 bytes two blocks of 128.
    const long = secretFor(algorithm, 200);
    const keyBlocks = BLOCK_BYTES[algorithm] === 64 ? 4 : 2;
    expect(compressions(algorithm, () => createTOTPKey(long, params))).toBe(keyBlocks + 2);
  });

  describe('with a cached key, two compressions per candidate step', () => {
    const key = createTOTPKey(secret, params);

    it('generate: one step', () => {
      expect(compressions(algorithm, () => key.generate(NOW))).toBe(2);
    });

    it('verify a correct code: only the current step', () => {
      const code = key.generate(NOW);
      let result: unknown;
      expect(compressions(algorithm, () => (result = key.verify(code, { now: NOW })))).toBe(2);
      expect(result).toEqual({ ok: true, step: CURRENT, delta: 0 });
    });

    it.each([
      [0, 2],
      [1, 6],
      [10, 42],
      [100, 402],
    ])('verify a wrong code, window ±%i: %i', (window, expected) => {
      const code = window <= 12 ? wrong : codeMatchingNothing(secret, algorithm, window);
      let result: unknown;
      const n = compressions(algorithm, () => (result = key.verify(code, { now: NOW, window })));
      expect(result).toEqual({ ok: false, reason: 'mismatch' });
      expect(n).toBe(expected);
    });

    it('verify a wrong code, window { past: 3, future: 1 }: 2 × 5', () => {
      const window = { past: 3, future: 1 };
      expect(compressions(algorithm, () => key.verify(wrong, { now: NOW, window }))).toBe(10);
    });

    it('verify a malformed code: none', () => {
      expect(compressions(algorithm, () => key.verify('12345', { now: NOW, window: 10 }))).toBe(0);
    });
  });

  describe('with a fresh secret, two more for the key', () => {
    it('verifyTOTP, wrong code, window ±1: 2 + 3 × 2', () => {
      let result: unknown;
      const n = compressions(
        algorithm,
        () => (result = verifyTOTP(secret, wrong, { ...params, now: NOW, window: 1 })),
      );
      expect(result).toEqual({ ok: false, reason: 'mismatch' });
      expect(n).toBe(8);
    });

    it('verifyConsecutiveTOTP, no match, window ±10: 2 + 21 × 2', () => {
      // Neither code is the code of any step the search looks at (current - 11
      // to current + 10), so each candidate pair costs one step, not two.
      const first = wrong;
      const taken = new Set([first]);
      for (let s = CURRENT - 12; s <= CURRENT + 12; s++) {
        taken.add(referenceHOTP(secret, s, algorithm, 6));
      }
      let n = 999_999;
      while (taken.has(String(n))) n--;
      const second = String(n);
      let result: unknown;
      const count = compressions(
        algorithm,
        () => (result = verifyConsecutiveTOTP(secret, [first, second], { ...params, now: NOW })),
      );
      expect(result).toEqual({ ok: false, reason: 'mismatch' });
      expect(count).toBe(44);
    });

    it('generateHOTP: 2 + 2; verifyHOTP, wrong code, look-ahead 4: 2 + 5 × 2', () => {
      expect(compressions(algorithm, () => generateHOTP(secret, 7, params))).toBe(4);
      const counter = 1_000;
      const codes = new Set(
        Array.from({ length: 5 }, (_, i) => referenceHOTP(secret, counter + i, algorithm, 6)),
      );
      let n = 0;
      while (codes.has(String(n).padStart(6, '0'))) n++;
      const code = String(n).padStart(6, '0');
      let result: unknown;
      const count = compressions(
        algorithm,
        () => (result = verifyHOTP(secret, code, counter, { ...params, lookAhead: 4 })),
      );
      expect(result).toEqual({ ok: false, reason: 'mismatch' });
      expect(count).toBe(12);
    });
  });
});

describe.each(['SHA1', 'SHA256', 'SHA512'] as const)(
  '%s, web build (compact kernel)',
  (algorithm) => {
    const kernel = WEB_KERNELS[algorithm];

    it('costs two compressions to set a key up, four with a key longer than a block', () => {
      expect(
        compressions(algorithm, () => hmacKeyState(kernel, secretFor(algorithm)), WEB_KERNELS),
      ).toBe(2);
      const long = secretFor(algorithm, 200);
      const keyBlocks = BLOCK_BYTES[algorithm] === 64 ? 4 : 2;
      expect(compressions(algorithm, () => hmacKeyState(kernel, long), WEB_KERNELS)).toBe(
        keyBlocks + 2,
      );
    });

    it('costs two compressions per step', () => {
      const key = hmacKeyState(kernel, secretFor(algorithm));
      expect(compressions(algorithm, () => kernel.truncate(key, 0, 7), WEB_KERNELS)).toBe(2);
      const many = () => {
        for (let step = 0; step < 21; step++) kernel.truncate(key, 0, step);
      };
      expect(compressions(algorithm, many, WEB_KERNELS)).toBe(42);
    });
  },
);

describe('allocation on the fast path', () => {
  it('creates no DataView per step (noble creates one for each digest into a foreign buffer)', () => {
    const key = createTOTPKey(secretFor('SHA1'));
    const wrong = codeMatchingNothing(secretFor('SHA1'), 'SHA1', 100);
    key.verify(wrong, { now: NOW, window: 1 });
    let created = 0;
    const Original = globalThis.DataView;
    globalThis.DataView = new Proxy(Original, {
      construct(target, args: ConstructorParameters<typeof DataView>) {
        created++;
        return new target(...args);
      },
    });
    try {
      // The proxy is live: a DataView made here is counted.
      new DataView(new ArrayBuffer(8));
      expect(created).toBe(1);
      const result = key.verify(wrong, { now: NOW, window: 100 });
      expect(result).toEqual({ ok: false, reason: 'mismatch' });
    } finally {
      globalThis.DataView = Original;
    }
    expect(created).toBe(1);
  });
});
