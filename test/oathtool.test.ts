/**
 * Differential tests against oathtool (OATH Toolkit), an independent C
 * implementation of RFC 4226/6238. Required under CI; skipped locally, with a
 * printed reason, if oathtool is not installed.
 *
 * The cases come from a seeded PRNG: set TOTPKIT_DIFF_SEED to explore other
 * seeds; a failure prints the seed and every mismatching case.
 */
import { describe, expect, it } from 'vitest';
import {
  createTOTPKey,
  generateHOTP,
  generateTOTP,
  verifyHOTP,
  verifyTOTP,
  type Digits,
  type HashAlgorithm,
} from '../src/index.ts';
import {
  oathtoolBatch,
  oathtoolHOTP,
  oathtoolTOTP,
  requireOathtool,
  skipWithoutOathtool,
  type OathtoolRequest,
} from './helpers/oathtool.ts';

const SEED = Number(process.env.TOTPKIT_DIFF_SEED ?? 0x2fa_6238);
const ALGORITHMS: readonly HashAlgorithm[] = ['SHA1', 'SHA256', 'SHA512'];
const DIGITS: readonly Digits[] = [6, 7, 8];
const PERIODS = [15, 30, 60, 90] as const;
/** 2100-01-01T00:00:00Z in Unix milliseconds. */
const YEAR_2100_MS = Date.UTC(2100, 0, 1);
/** Extra consecutive codes per oathtool call. */
const WINDOW = 3;
/** Cases per (algorithm, digits, period) combination: 36 combinations. */
const TOTP_PER_COMBINATION = 50;
/** HOTP cases per algorithm. */
const HOTP_PER_ALGORITHM = 200;

/** mulberry32: a small seeded 32-bit PRNG, enough to pick test cases. */
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

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

interface Case {
  request: OathtoolRequest;
  secret: Uint8Array;
}

function makeCases(seed: number): Case[] {
  const next32 = prng(seed);
  /** A uniform integer in [0, bound), bound ≤ 2^53. */
  const below = (bound: number): number =>
    Math.floor(((next32() * 2 ** 21 + (next32() >>> 11)) / 2 ** 53) * bound);
  const bigBelow = (bound: bigint): bigint =>
    ((BigInt(next32()) << 32n) | BigInt(next32())) % bound;
  const secret = (): Uint8Array => {
    const bytes = new Uint8Array(16 + below(49)); // 16 to 64 bytes
    for (let i = 0; i < bytes.length; i++) bytes[i] = next32() & 0xff;
    return bytes;
  };

  const cases: Case[] = [];
  for (const algorithm of ALGORITHMS) {
    for (const digits of DIGITS) {
      for (const period of PERIODS) {
        for (let i = 0; i < TOTP_PER_COMBINATION; i++) {
          const s = secret();
          const now = below(YEAR_2100_MS);
          // A quarter of the cases use a non-zero T0 (at most `now`).
          const epoch = i % 4 === 0 ? below(Math.floor(now / 1000) + 1) : 0;
          cases.push({
            secret: s,
            request: {
              type: 'totp',
              secretHex: hex(s),
              algorithm,
              digits,
              period,
              epoch,
              now,
              window: WINDOW,
            },
          });
        }
      }
    }
    for (let i = 0; i < HOTP_PER_ALGORITHM; i++) {
      const s = secret();
      // Counters up to 2^40; for SHA1 one in ten goes up to 2^64 (as a bigint).
      const counter: number | bigint =
        algorithm === 'SHA1' && i % 10 === 0
          ? bigBelow(2n ** 64n - BigInt(WINDOW))
          : below(2 ** 40 + 1);
      cases.push({
        secret: s,
        request: {
          type: 'hotp',
          secretHex: hex(s),
          algorithm,
          digits: DIGITS[i % 3] as Digits,
          counter: i % 2 === 0 && typeof counter === 'number' ? BigInt(counter) : counter,
          window: WINDOW,
        },
      });
    }
  }
  return cases;
}

/** Our codes for a case, computed through the public functions. */
function ours({ request, secret }: Case): string[] {
  const codes: string[] = [];
  const { algorithm = 'SHA1', digits = 6 } = request;
  if (request.type === 'hotp') {
    for (let i = 0; i <= WINDOW; i++) {
      const c = request.counter;
      codes.push(generateHOTP(secret, typeof c === 'bigint' ? c + BigInt(i) : c + i, request));
    }
    return codes;
  }
  const { now, period = 30, epoch = 0 } = request;
  const params = { algorithm, digits, period, epoch };
  codes.push(generateTOTP(secret, { ...params, now }));
  const key = createTOTPKey(secret, params);
  for (let i = 1; i <= WINDOW; i++) codes.push(key.generate(now + i * period * 1000));
  return codes;
}

/** Whether our verifier accepts oathtool's first code at delta 0 / the given counter. */
function acceptsTheirs({ request, secret }: Case, code: string): boolean {
  if (request.type === 'hotp') {
    const result = verifyHOTP(secret, code, request.counter as number, request);
    return result.ok && result.counter === request.counter;
  }
  const result = verifyTOTP(secret, code, { ...request, window: 0 });
  return result.ok && result.delta === 0;
}

describe.skipIf(skipWithoutOathtool())('differential against oathtool', () => {
  it('the oathtool runner reproduces the RFC vectors (so a mismatch is ours)', async () => {
    requireOathtool();
    const rfcSeed = '3132333435363738393031323334353637383930';
    await expect(oathtoolHOTP({ secretHex: rfcSeed, counter: 0, window: 2 })).resolves.toEqual([
      '755224',
      '287082',
      '359152',
    ]);
    await expect(
      oathtoolTOTP({ secretHex: rfcSeed, digits: 8, now: 1_111_111_109_000 }),
    ).resolves.toEqual(['07081804']);
    const [sha512] = await oathtoolBatch([
      {
        type: 'totp',
        algorithm: 'SHA512',
        digits: 8,
        now: 20_000_000_000_000,
        secretHex: rfcSeed.repeat(3) + rfcSeed.slice(0, 8),
      },
    ]);
    expect(sha512).toEqual(['47863826']);
  });

  it(`agrees on ${36 * TOTP_PER_COMBINATION + 3 * HOTP_PER_ALGORITHM} random cases`, async () => {
    requireOathtool();
    const cases = makeCases(SEED);
    const theirs = await oathtoolBatch(cases.map((c) => c.request));
    const mismatches: unknown[] = [];
    let codes = 0;
    cases.forEach((c, i) => {
      const expected = theirs[i] as string[];
      const actual = ours(c);
      codes += expected.length;
      const accepted = expected[0] !== undefined && acceptsTheirs(c, expected[0]);
      if (expected.length !== WINDOW + 1 || actual.join() !== expected.join() || !accepted) {
        const { request } = c;
        mismatches.push({ request, oathtool: expected, totpkit: actual, accepted });
      }
    });
    const totp = cases.filter((c) => c.request.type === 'totp').length;
    console.log(
      `oathtool differential: seed ${SEED} (TOTPKIT_DIFF_SEED), ${cases.length} cases ` +
        `(${totp} TOTP, ${cases.length - totp} HOTP), ${codes} codes, ${mismatches.length} mismatches`,
    );
    expect(cases.length).toBeGreaterThanOrEqual(2000);
    expect(codes).toBe(cases.length * (WINDOW + 1));
    expect(mismatches, `seed ${SEED}`).toEqual([]);
  });
});
