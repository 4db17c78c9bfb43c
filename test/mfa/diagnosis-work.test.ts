/**
 * Issue 19, point 4: the diagnosis of a refused binding or resync pair is
 * bounded in work, not in time, and the service refuses periods no
 * authenticator app uses.
 *
 * The work is counted, not timed: the HMACs the search computes (one call of
 * a kernel's `inner` each), in all, and between two turns of the event loop
 * (a `setImmediate` ticker counts the turns), which is what a stall costs.
 */
import { afterEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { KERNELS } from '../../src/_kernel-choice.ts';
import {
  createMFA,
  encodeBase32,
  MAX_DIAGNOSIS_WORK,
  MemoryStore,
  plaintextCipher,
  type FactorParams,
  type MFAPolicyOptions,
} from '../../src/index.ts';
import { NO_PROOFS } from '../helpers/mfa.ts';

/** Codes computed between two yields when the service searches (src/diagnose.ts). */
const SLICE = 1_024;

const T0 = 1_750_000_020_000;

function service(policy: MFAPolicyOptions = {}, totp?: Partial<FactorParams>) {
  return createMFA({
    store: new MemoryStore(),
    issuer: 'Acme',
    cipher: plaintextCipher(),
    clock: () => T0,
    ...(totp ? { totp } : {}),
    policy: {
      recoveryCodeScrypt: { N: 1024, r: 1, p: 1 },
      proofs: NO_PROOFS,
      throttle: { freeAttempts: 100, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 100 },
      ...policy,
    },
  });
}

const secretOf = (i: number, bytes = 20) =>
  Uint8Array.from({ length: bytes }, (_, j) => (i * 31 + j * 7 + 1) & 0xff);

let spies: MockInstance[] = [];
afterEach(() => {
  for (const spy of spies) spy.mockRestore();
  spies = [];
});

/**
 * HMACs computed while `fn` runs: in all, and the most between two turns of
 * the event loop.
 */
async function work(fn: () => Promise<unknown>): Promise<{ total: number; longest: number }> {
  let total = 0;
  let sinceTurn = 0;
  let longest = 0;
  spies = Object.values(KERNELS).map((kernel) => {
    const inner = kernel.inner.bind(kernel);
    return vi.spyOn(kernel, 'inner').mockImplementation((key, hi, lo) => {
      total++;
      longest = Math.max(longest, ++sinceTurn);
      inner(key, hi, lo);
    });
  });
  let running = true;
  const tick = () => {
    sinceTurn = 0;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  try {
    await fn();
  } finally {
    running = false;
  }
  return { total, longest };
}

// Codes that match nothing near T0 for these secrets (a pair matches two given
// consecutive steps with odds of 10^-12).
const WRONG = ['000001', '999998'] as const;

describe('the diagnosis search per refused pair is bounded in work', () => {
  it('resync: at most MAX_DIAGNOSIS_WORK codes whatever the factor count and skewSearch, in slices', async () => {
    // Five imported factors with 10 s steps and the largest skewSearch: 3bc258e
    // searched 400,002 steps per factor, 2 million HMACs for one refused pair.
    const mfa = service({ skewSearch: 200_000, maxFactors: 5, bindingWindow: 10 });
    const user = 'resync-user';
    for (let i = 0; i < 5; i++) {
      const added = await mfa.importFactor(user, { secret: secretOf(i), period: 10 });
      expect(added.ok).toBe(true);
    }
    let result: unknown;
    const counted = await work(async () => {
      result = await mfa.resync(user, ...WRONG);
    });
    expect(result).toEqual({ ok: false, reason: 'mismatch' });
    // The binding check of each factor computes its 21 first codes (window 10).
    const checks = 5 * 2 * 21;
    expect(counted.total).toBeLessThanOrEqual(MAX_DIAGNOSIS_WORK + checks);
    expect(counted.total).toBeGreaterThan(MAX_DIAGNOSIS_WORK / 2);
    // The loop is never held for more than one slice (and the checks before it).
    expect(counted.longest).toBeLessThanOrEqual(SLICE + checks);
  });

  it('completeEnrollment: the same ceiling with existing factors, a stale QR code and SHA-512', async () => {
    const mfa = service(
      { skewSearch: 200_000, maxFactors: 5 },
      { algorithm: 'SHA512', period: 10 },
    );
    const user = 'enroll-user';
    for (let i = 0; i < 4; i++) {
      const added = await mfa.importFactor(user, {
        secret: secretOf(i, 64),
        algorithm: 'SHA512',
        period: 10,
      });
      expect(added.ok).toBe(true);
    }
    await mfa.beginEnrollment(user, { accountName: 'a' }); // replaced: a stale QR code
    await mfa.beginEnrollment(user, { accountName: 'a' });
    let result: unknown;
    const counted = await work(async () => {
      result = await mfa.completeEnrollment(user, ...WRONG);
    });
    expect(result).toEqual({ ok: false, reason: 'mismatch' });
    // The binding check, and each of the 5 other secrets inside the binding window.
    const checks = 6 * 2 * 21;
    expect(counted.total).toBeLessThanOrEqual(MAX_DIAGNOSIS_WORK + checks);
    expect(counted.longest).toBeLessThanOrEqual(SLICE + checks);
  });
});

describe('periods no authenticator app uses are refused (10 to 120 s are accepted)', () => {
  it('createMFA({ totp: { period } })', () => {
    for (const period of [1, 5, 9, 121, 3600]) {
      expect(() => service({}, { period })).toThrow(
        new RangeError(
          `"totp.period" must be a whole number of seconds from 10 to 120 (the periods authenticator apps use), got ${period}`,
        ),
      );
    }
    for (const period of [10, 15, 30, 60, 120]) expect(() => service({}, { period })).not.toThrow();
  });

  it('importFactor({ period }) and importFactor({ uri }), nothing stored', async () => {
    const mfa = service();
    const user = 'import-user';
    const base32 = encodeBase32(secretOf(1));
    for (const period of [1, 9, 121]) {
      await expect(mfa.importFactor(user, { secret: secretOf(1), period })).rejects.toThrow(
        /^"period" must be a whole number of seconds from 10 to 120/,
      );
      await expect(
        mfa.importFactor(user, { uri: `otpauth://totp/Old:a?secret=${base32}&period=${period}` }),
      ).rejects.toThrow(/^"period" must be a whole number of seconds from 10 to 120/);
    }
    expect(await mfa.listFactors(user)).toEqual([]);
    for (const period of [10, 120]) {
      const added = await mfa.importFactor(user, { secret: secretOf(period), period });
      expect(added.ok).toBe(true);
    }
    expect((await mfa.listFactors(user)).map((f) => f.period).sort()).toEqual([10, 120]);
  });
});
