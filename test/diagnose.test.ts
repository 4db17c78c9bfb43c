import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { KERNELS } from '../src/_kernel-choice.ts';
import {
  diagnoseConsecutiveTOTP,
  generateTOTP,
  MAX_ALTERNATIVES,
  MAX_DIAGNOSIS_WORK,
  MAX_SKEW_STEPS,
  verifyConsecutiveTOTP,
  type DiagnoseConsecutiveTOTPOptions,
  type Digits,
  type HashAlgorithm,
} from '../src/index.ts';
import {
  buildDiagnosisTable,
  randomCode,
  xorshift,
  type TableInput,
  type TableParams,
} from './helpers/diagnose-table.ts';
import { fromHex, referenceHOTP } from './helpers/reference.ts';

const secret = fromHex('3132333435363738393031323334353637383930');
const stale = fromHex('00112233445566778899aabbccddeeff00112233');
const other = fromHex('ffeeddccbbaa99887766554433221100ffeeddcc');
/** A time 10 s into a 30 s step and into a 60 s step. */
const now = 1_750_000_020_000 + 10_000;

interface Device {
  secret?: Uint8Array;
  algorithm?: HashAlgorithm;
  digits?: Digits;
  period?: number;
}
/** The two codes a device shows at `deviceTime`: the previous step's and the current one's. */
function pairAt(deviceTime: number, device: Device = {}): [string, string] {
  const { secret: s = secret, ...params } = device;
  const period = (params.period ?? 30) * 1000;
  return [
    generateTOTP(s, { ...params, now: deviceTime - period }),
    generateTOTP(s, { ...params, now: deviceTime }),
  ];
}

const STRONG = { algorithm: 'SHA256', digits: 8, period: 60 } as const;

describe('diagnoseConsecutiveTOTP: clock skew', () => {
  it('finds a phone 2 h 3 min fast and reports +7380 s', () => {
    const codes = pairAt(now + (2 * 60 + 3) * 60_000);
    expect(verifyConsecutiveTOTP(secret, codes, { now })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(diagnoseConsecutiveTOTP(secret, codes, { now })).toEqual({
      found: true,
      reason: 'clock_skew',
      skewSeconds: 7380,
    });
  });

  it('finds a phone 5 h slow and reports a negative skew, one step of typing time allowed', () => {
    const codes = pairAt(now - 5 * 3600_000);
    // The pair ends 600 steps back; as `drift`, one step of that is typing time.
    expect(diagnoseConsecutiveTOTP(secret, codes, { now })).toEqual({
      found: true,
      reason: 'clock_skew',
      skewSeconds: -599 * 30,
    });
  });

  it('searches one day each side by default, and exactly maxSkewSteps when given', () => {
    const at = (steps: number) => pairAt(now + steps * 30_000);
    expect(diagnoseConsecutiveTOTP(secret, at(2880), { now })).toMatchObject({
      reason: 'clock_skew',
      skewSeconds: 2880 * 30,
    });
    expect(diagnoseConsecutiveTOTP(secret, at(2881), { now })).toEqual({ found: false });
    expect(diagnoseConsecutiveTOTP(secret, at(-2880), { now })).toMatchObject({
      skewSeconds: -2879 * 30,
    });
    expect(diagnoseConsecutiveTOTP(secret, at(-2881), { now })).toEqual({ found: false });
    expect(diagnoseConsecutiveTOTP(secret, at(50), { now, maxSkewSteps: 50 })).toMatchObject({
      skewSeconds: 1500,
    });
    expect(diagnoseConsecutiveTOTP(secret, at(51), { now, maxSkewSteps: 50 })).toEqual({
      found: false,
    });
  });

  it('scales the default search to the period: one day of 60 s steps', () => {
    const params = { period: 60 };
    const at = (steps: number) => pairAt(now + steps * 60_000, params);
    expect(diagnoseConsecutiveTOTP(secret, at(1440), { now, params })).toMatchObject({
      reason: 'clock_skew',
      skewSeconds: 86_400,
    });
    expect(diagnoseConsecutiveTOTP(secret, at(1441), { now, params })).toEqual({ found: false });
  });

  it('starts right outside the binding window, which it leaves to verifyConsecutiveTOTP', () => {
    for (const window of [0, 3, 10]) {
      const inside = pairAt(now + window * 30_000);
      expect(verifyConsecutiveTOTP(secret, inside, { now, window }).ok).toBe(true);
      expect(diagnoseConsecutiveTOTP(secret, inside, { now, window })).toEqual({ found: false });
      const outside = pairAt(now + (window + 1) * 30_000);
      expect(verifyConsecutiveTOTP(secret, outside, { now, window })).toMatchObject({ ok: false });
      expect(diagnoseConsecutiveTOTP(secret, outside, { now, window })).toEqual({
        found: true,
        reason: 'clock_skew',
        skewSeconds: (window + 1) * 30,
      });
    }
  });
});

describe('diagnoseConsecutiveTOTP: app ignored parameters', () => {
  const cases: [string, Device, object][] = [
    ['SHA1/6/30 for a SHA256/8/60 factor', {}, { algorithm: 'SHA1', digits: 6, period: 30 }],
    [
      'the algorithm dropped',
      { digits: 8, period: 60 },
      { algorithm: 'SHA1', digits: 8, period: 60 },
    ],
    [
      'the digits dropped',
      { algorithm: 'SHA256', period: 60 },
      { algorithm: 'SHA256', digits: 6, period: 60 },
    ],
    [
      'the period dropped',
      { algorithm: 'SHA256', digits: 8 },
      { algorithm: 'SHA256', digits: 8, period: 30 },
    ],
  ];
  for (const [title, device, appParameters] of cases) {
    it(`finds ${title}`, () => {
      const codes = pairAt(now, device);
      expect(verifyConsecutiveTOTP(secret, codes, { now, ...STRONG }).ok).toBe(false);
      expect(diagnoseConsecutiveTOTP(secret, codes, { now, params: STRONG })).toEqual({
        found: true,
        reason: 'app_ignored_parameters',
        appParameters,
        skewSeconds: 0,
      });
    });
  }

  it('explains 6-digit codes for an 8-digit factor, which the check refuses as malformed', () => {
    const params = { digits: 8 } as const;
    const codes = pairAt(now);
    expect(verifyConsecutiveTOTP(secret, codes, { now, ...params })).toEqual({
      ok: false,
      reason: 'malformed',
    });
    expect(diagnoseConsecutiveTOTP(secret, codes, { now, params })).toEqual({
      found: true,
      reason: 'app_ignored_parameters',
      appParameters: { algorithm: 'SHA1', digits: 6, period: 30 },
      skewSeconds: 0,
    });
  });

  it('reports the skew under the parameters the app used', () => {
    const codes = pairAt(now + 3600_000);
    expect(diagnoseConsecutiveTOTP(secret, codes, { now, params: STRONG })).toMatchObject({
      reason: 'app_ignored_parameters',
      skewSeconds: 3600,
    });
  });

  it('has no variants to try for a SHA1/6/30 factor', () => {
    const codes = pairAt(now, { algorithm: 'SHA256' });
    expect(diagnoseConsecutiveTOTP(secret, codes, { now })).toEqual({ found: false });
  });
});

describe('diagnoseConsecutiveTOTP: other secrets', () => {
  const alternatives = [
    { kind: 'stale_qr', secret: stale },
    { kind: 'existing_factor', secret: other, params: STRONG },
  ];

  it('names the alternative whose codes these are, with its index', () => {
    expect(
      diagnoseConsecutiveTOTP(secret, pairAt(now, { secret: stale }), { now, alternatives }),
    ).toEqual({
      found: true,
      reason: 'other_secret',
      kind: 'stale_qr',
      index: 0,
    });
    expect(
      diagnoseConsecutiveTOTP(secret, pairAt(now - 60_000, { secret: other, ...STRONG }), {
        now,
        alternatives,
      }),
    ).toEqual({ found: true, reason: 'other_secret', kind: 'existing_factor', index: 1 });
  });

  it('looks at alternatives only inside the binding window', () => {
    const window = 10;
    const edge = pairAt(now + window * 30_000, { secret: stale });
    const beyond = pairAt(now + (window + 1) * 30_000, { secret: stale });
    expect(diagnoseConsecutiveTOTP(secret, edge, { now, alternatives })).toMatchObject({
      kind: 'stale_qr',
    });
    expect(diagnoseConsecutiveTOTP(secret, beyond, { now, alternatives })).toEqual({
      found: false,
    });
  });
});

describe('diagnoseConsecutiveTOTP: nothing to explain', () => {
  it('says nothing about a pair the check accepts, or refuses with a reason of its own', () => {
    const good = pairAt(now);
    const swapped: [string, string] = [good[1], good[0]];
    const c = Math.floor(now / 30_000);
    expect(verifyConsecutiveTOTP(secret, good, { now, afterStep: c })).toEqual({
      ok: false,
      reason: 'replayed',
    });
    for (const [codes, options] of [
      [good, {}],
      [good, { afterStep: c }],
      [swapped, {}],
      [[good[0], good[0]], {}],
      [['12345', '123456'], {}],
      [['12345a', '123456'], {}],
      [['1234567', '7654321'], {}],
      [['123456', '1234567'], {}],
    ] as [[string, string], DiagnoseConsecutiveTOTPOptions][]) {
      expect(diagnoseConsecutiveTOTP(secret, codes, { now, ...options })).toEqual({ found: false });
    }
  });

  it('finds nothing for pairs from no device, and agrees with the lookup tables', () => {
    // Deterministic sample; the million-pair measurement is `npm run bench:diagnose-rate`.
    const input: TableInput = {
      secret,
      now,
      params: STRONG,
      window: 10,
      afterStep: -1,
      maxSkewSteps: 200,
      alternatives: [
        { kind: 'stale_qr', secret: stale, params: { algorithm: 'SHA1', digits: 6, period: 30 } },
        { kind: 'existing_factor', secret: other, params: STRONG },
      ],
    };
    const classify = buildDiagnosisTable(input);
    const next = xorshift(12);
    let explained = 0;
    for (let i = 0; i < 20_000; i++) {
      const digits = i % 2 ? 6 : 8;
      if (classify([randomCode(next, digits), randomCode(next, digits)]).result.found) explained++;
    }
    expect(explained).toBe(0);
  });
});

describe('diagnoseConsecutiveTOTP: the lookup tables used to measure the rate are equivalent', () => {
  const params: TableParams[] = [
    { algorithm: 'SHA1', digits: 6, period: 30 },
    { algorithm: 'SHA256', digits: 8, period: 60 },
    { algorithm: 'SHA512', digits: 7, period: 30 },
  ];
  for (const p of params) {
    it(`gives the primitive's answer on random and planted pairs (${p.algorithm}/${p.digits}/${p.period})`, () => {
      const alt: TableParams = { algorithm: 'SHA1', digits: 6, period: 30 };
      const input: TableInput = {
        secret,
        now,
        params: p,
        window: 10,
        afterStep: Math.floor(now / 1000 / p.period) - 3,
        maxSkewSteps: 120,
        alternatives: [
          { kind: 'stale_qr', secret: stale, params: alt },
          { kind: 'existing_factor', secret: other, params: p },
        ],
      };
      const classify = buildDiagnosisTable(input);
      const first = buildDiagnosisTable({ ...input, parametersFirst: true });
      const { params: ps, alternatives, ...rest } = input;
      const options = { ...rest, params: ps, alternatives };
      const next = xorshift(p.digits * 1000 + p.period);
      const period = p.period * 1000;
      const planted: [string, string][] = [
        pairAt(now, p), // accepted
        pairAt(now - 5 * period, p), // replayed (afterStep is 3 steps back)
        pairAt(now, { secret: stale, ...alt }),
        pairAt(now, { secret: other, ...p }),
      ];
      const span = 130 * p.period * 1000;
      for (const device of [
        { ...p },
        { ...p, secret: stale, ...alt },
        { ...p, secret: other },
        { algorithm: 'SHA1', digits: 6, period: 30 } as Device,
        { ...p, algorithm: 'SHA1' as const },
        { ...p, digits: 6 as const },
        { ...p, period: 30 },
      ]) {
        for (let k = 0; k < 12; k++)
          planted.push(pairAt(now + ((next() % (2 * span)) - span), device));
      }
      const randoms = Array.from({ length: 60 }, (_, i) => {
        const d = ([6, 7, 8] as const)[i % 3]!;
        return [randomCode(next, d), randomCode(next, d)] as [string, string];
      });
      const seen = new Set<string>();
      for (const codes of [...planted, ...randoms]) {
        const verdict = classify(codes);
        const check = verifyConsecutiveTOTP(secret, codes, {
          now,
          window: 10,
          afterStep: input.afterStep,
          ...p,
        });
        expect(check.ok ? 'accepted' : check.reason).toBe(verdict.check);
        const result = diagnoseConsecutiveTOTP(secret, codes, options);
        expect(result).toEqual(verdict.result);
        // The service's order too.
        expect(
          diagnoseConsecutiveTOTP(secret, codes, { ...options, parametersFirst: true }),
        ).toEqual(first(codes).result);
        seen.add(result.found ? result.reason : `none:${verdict.check}`);
      }
      // The sample exercised every outcome the tables can give (a SHA1/6/30 factor has no variants).
      const outcomes = [
        'clock_skew',
        'other_secret',
        'none:accepted',
        'none:replayed',
        'none:mismatch',
      ];
      if (p.digits !== 6 || p.algorithm !== 'SHA1' || p.period !== 30)
        outcomes.push('app_ignored_parameters');
      expect([...seen]).toEqual(expect.arrayContaining(outcomes));
    });
  }
});

describe('diagnoseConsecutiveTOTP: properties', () => {
  const paramsArb = fc.record({
    algorithm: fc.constantFrom<HashAlgorithm>('SHA1', 'SHA256', 'SHA512'),
    digits: fc.constantFrom<Digits>(6, 7, 8),
    period: fc.constantFrom(15, 30, 60),
  });
  const MAX_SKEW = 40;

  it('never explains a pair that verifyConsecutiveTOTP accepts', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 40 }),
        paramsArb,
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: -12, max: 12 }),
        fc.integer({ min: 1_000_000_000_000, max: 4_000_000_000_000 }),
        (s, params, window, offset, at) => {
          const codes = pairAt(at + offset * params.period * 1000, { secret: s, ...params });
          const options = { now: at, window, ...params };
          const accepted = verifyConsecutiveTOTP(s, codes, options).ok;
          const result = diagnoseConsecutiveTOTP(s, codes, {
            now: at,
            window,
            params,
            maxSkewSteps: MAX_SKEW,
            alternatives: [{ kind: 'self', secret: s, params }],
          });
          if (accepted) expect(result).toEqual({ found: false });
          // Explained or accepted: a pair from this device never goes unexplained.
          else expect(result.found).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('always finds a planted skew, parameter drop or other secret, with the right numbers', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 40 }),
        fc.uint8Array({ minLength: 16, maxLength: 40 }),
        paramsArb,
        fc.integer({ min: 11, max: MAX_SKEW }),
        fc.boolean(),
        fc.integer({ min: 1_000_000_000_000, max: 4_000_000_000_000 }),
        fc.constantFrom('skew', 'defaults', 'algorithm', 'digits', 'period', 'other'),
        (s, s2, params, steps, ahead, at, plant) => {
          const base = { now: at, params, maxSkewSteps: MAX_SKEW };
          const signed = ahead ? steps : -steps;
          if (plant === 'skew') {
            const codes = pairAt(at + signed * params.period * 1000, { secret: s, ...params });
            expect(diagnoseConsecutiveTOTP(s, codes, base)).toEqual({
              found: true,
              reason: 'clock_skew',
              skewSeconds: (ahead ? steps : 1 - steps) * params.period,
            });
          } else if (plant === 'other') {
            fc.pre(Buffer.compare(s, s2) !== 0);
            const codes = pairAt(at, { secret: s2 });
            expect(
              diagnoseConsecutiveTOTP(s, codes, {
                ...base,
                alternatives: [{ kind: 'existing_factor', secret: s2 }],
              }),
            ).toEqual({ found: true, reason: 'other_secret', kind: 'existing_factor', index: 0 });
          } else {
            const defaults = { algorithm: 'SHA1', digits: 6, period: 30 } as const;
            const app =
              plant === 'defaults'
                ? defaults
                : { ...params, [plant]: defaults[plant as keyof typeof defaults] };
            const differs = (Object.keys(defaults) as (keyof typeof defaults)[]).filter(
              (k) => params[k] !== defaults[k],
            );
            fc.pre(
              differs.length > 0 && (plant === 'defaults' || differs.includes(plant as never)),
            );
            const codes = pairAt(at, { secret: s, ...app });
            const result = diagnoseConsecutiveTOTP(s, codes, base);
            expect(result).toMatchObject({
              found: true,
              reason: 'app_ignored_parameters',
              skewSeconds: 0,
            });
            if (result.found && result.reason === 'app_ignored_parameters') {
              expect(result.appParameters).toEqual(app);
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('diagnoseConsecutiveTOTP: misuse', () => {
  const pair: [string, string] = ['123456', '654321'];
  const table: [string, () => unknown, typeof TypeError | typeof RangeError][] = [
    ['codes not an array', () => diagnoseConsecutiveTOTP(secret, '123456' as never), TypeError],
    ['one code', () => diagnoseConsecutiveTOTP(secret, ['123456'] as never), TypeError],
    ['a number code', () => diagnoseConsecutiveTOTP(secret, [123456, '1'] as never), TypeError],
    ['secret not bytes', () => diagnoseConsecutiveTOTP('JBSW' as never, pair), TypeError],
    ['options not an object', () => diagnoseConsecutiveTOTP(secret, pair, 5 as never), TypeError],
    [
      'bad digits',
      () => diagnoseConsecutiveTOTP(secret, pair, { params: { digits: 9 as never } }),
      RangeError,
    ],
    [
      'negative maxSkewSteps',
      () => diagnoseConsecutiveTOTP(secret, pair, { maxSkewSteps: -1 }),
      RangeError,
    ],
    [
      'huge maxSkewSteps',
      () => diagnoseConsecutiveTOTP(secret, pair, { maxSkewSteps: MAX_SKEW_STEPS + 1 }),
      RangeError,
    ],
    [
      'string maxSkewSteps',
      () => diagnoseConsecutiveTOTP(secret, pair, { maxSkewSteps: '9' as never }),
      TypeError,
    ],
    ['window too wide', () => diagnoseConsecutiveTOTP(secret, pair, { window: 101 }), RangeError],
    [
      'alternatives not an array',
      () => diagnoseConsecutiveTOTP(secret, pair, { alternatives: {} as never }),
      TypeError,
    ],
    [
      'too many alternatives',
      () =>
        diagnoseConsecutiveTOTP(secret, pair, {
          alternatives: Array.from({ length: MAX_ALTERNATIVES + 1 }, () => ({ kind: 'x', secret })),
        }),
      RangeError,
    ],
    [
      'alternative without kind',
      () => diagnoseConsecutiveTOTP(secret, pair, { alternatives: [{ secret } as never] }),
      TypeError,
    ],
    [
      'alternative secret as text',
      () =>
        diagnoseConsecutiveTOTP(secret, pair, {
          alternatives: [{ kind: 'x', secret: 'JBSW' as never }],
        }),
      TypeError,
    ],
    [
      'alternative bad period',
      () =>
        diagnoseConsecutiveTOTP(secret, pair, {
          alternatives: [{ kind: 'x', secret, params: { period: 0 } }],
        }),
      RangeError,
    ],
  ];
  for (const [title, call, Class] of table) {
    it(`throws ${Class.name} for ${title}, without quoting a code or secret`, () => {
      let error: unknown;
      try {
        call();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(Class);
      const message = (error as Error).message;
      expect(message).not.toMatch(/123456|654321|JBSW/);
    });
  }

  it('validates the options even for codes it would not search', () => {
    expect(() => diagnoseConsecutiveTOTP(secret, ['1', '1'], { maxSkewSteps: -1 })).toThrow(
      RangeError,
    );
  });

  it('matches what a reference HOTP says for the planted pairs (the test data is right)', () => {
    const c = Math.floor(now / 30_000);
    expect(pairAt(now)).toEqual([referenceHOTP(secret, c - 1), referenceHOTP(secret, c)]);
  });
});

describe('diagnoseConsecutiveTOTP: cost, counted in hash compressions', () => {
  /**
   * SHA-1/SHA-256/SHA-512 compressions done by `fn`: calls of each kernel's
   * `inner`, `outer` and `compress`, one compression each (see
   * test/perf/compressions.test.ts).
   */
  function compressions(fn: () => unknown): Record<HashAlgorithm, number> {
    const spies = Object.entries(KERNELS).map(
      ([name, kernel]) =>
        [
          name,
          (['inner', 'outer', 'compress'] as const).map((method) => vi.spyOn(kernel, method)),
        ] as const,
    );
    try {
      fn();
      return Object.fromEntries(
        spies.map(([n, these]) => [n, these.reduce((sum, spy) => sum + spy.mock.calls.length, 0)]),
      ) as Record<HashAlgorithm, number>;
    } finally {
      for (const [, these] of spies) for (const spy of these) spy.mockRestore();
    }
  }
  // Codes that are none of the codes of the steps around `now` (checked below).
  const wrong: [string, string] = ['000001', '999998'];

  it('computes every other candidate step once: 2 compressions each, plus the binding check', () => {
    const c = Math.floor(now / 30_000);
    for (let s = c - 11; s <= c + 10; s++) expect(wrong).not.toContain(referenceHOTP(secret, s));
    for (const n of [100, 2880]) {
      // Key setups (main, binding check): 2 + 2; the binding check's 21 first codes: 42;
      // the search: the n + 1 even steps of the 2n + 2 from c - n - 1 to c + n (every
      // pair of consecutive steps holds one), 2 compressions each.
      const counted = compressions(() =>
        expect(diagnoseConsecutiveTOTP(secret, wrong, { now, maxSkewSteps: n })).toEqual({
          found: false,
        }),
      );
      expect(counted).toEqual({ SHA1: 46 + 2 * (n + 1), SHA256: 0, SHA512: 0 });
    }
  });

  it('skips the parameters whose digits cannot match the codes', () => {
    // A SHA256/8/60 factor and 6-digit codes: only SHA1/6/30 (one day = 5,762 steps, 2,881
    // even) and SHA256/6/60 (2,882 steps, 1,441 even) are searched; not the factor's own,
    // SHA1/8/60 or SHA256/8/30.
    const counted = compressions(() =>
      expect(diagnoseConsecutiveTOTP(secret, wrong, { now, params: STRONG })).toEqual({
        found: false,
      }),
    );
    expect(counted).toEqual({
      SHA1: 2 + 2 * 2881,
      SHA256: 2 + 2 + 2 + 2 * 1441,
      SHA512: 0,
    });
  });
});

describe('diagnoseConsecutiveTOTP: the work per refused pair is bounded (issue 19, point 4)', () => {
  /** HMACs computed by `fn`, every algorithm: one `inner` compression each. */
  function hmacs(fn: () => unknown): number {
    const spies = Object.values(KERNELS).map((kernel) => vi.spyOn(kernel, 'inner'));
    try {
      fn();
      return spies.reduce((n, spy) => n + spy.mock.calls.length, 0);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  }
  // The binding checks: verifyConsecutiveTOTP's own, and each alternative's window.
  const checks = (window: number, alternatives: number) =>
    2 * (2 * window + 1) * (1 + alternatives);
  const wrong: [string, string] = ['000001', '999998'];

  it('computes at most MAX_DIAGNOSIS_WORK codes, whatever the period, maxSkewSteps or alternatives', () => {
    // A period of 1 s and the largest maxSkewSteps: 400,001 candidate steps for the
    // factor's own parameters, as many again for SHA1/6/30 … 3bc258e computed them all.
    const alternatives = Array.from({ length: MAX_ALTERNATIVES }, (_, i) => ({
      kind: 'other',
      secret: Uint8Array.from({ length: 64 }, (_, j) => i * 7 + j),
      params: { algorithm: 'SHA512', period: 1 } as const,
    }));
    for (const params of [
      { algorithm: 'SHA1', period: 1 },
      { algorithm: 'SHA512', digits: 6, period: 1 },
      { algorithm: 'SHA512', digits: 8, period: 7 },
    ] as const) {
      const options = {
        now,
        params,
        window: 100,
        maxSkewSteps: MAX_SKEW_STEPS,
        alternatives,
        parametersFirst: true,
      };
      let result: unknown;
      const computed = hmacs(() => (result = diagnoseConsecutiveTOTP(secret, wrong, options)));
      expect(result).toEqual({ found: false });
      expect(computed, JSON.stringify(params)).toBeLessThanOrEqual(
        MAX_DIAGNOSIS_WORK + checks(100, 0),
      );
      expect(computed).toBeGreaterThan(MAX_DIAGNOSIS_WORK / 2);
    }
  });

  it('searches nearest to now first, so a near skew is found even where the ceiling cuts the search', () => {
    // Period 1 s, the largest maxSkewSteps: a phone one hour ahead is found, ...
    const params = { period: 1 };
    const ahead = pairAt(now + 3_600_000, params);
    expect(
      diagnoseConsecutiveTOTP(secret, ahead, { now, params, maxSkewSteps: MAX_SKEW_STEPS }),
    ).toEqual({ found: true, reason: 'clock_skew', skewSeconds: 3600 });
    // ... and one a day ahead (86,400 steps: past the ceiling's reach at 1 s) is not.
    const dayAhead = pairAt(now + 86_400_000, params);
    expect(
      diagnoseConsecutiveTOTP(secret, dayAhead, { now, params, maxSkewSteps: MAX_SKEW_STEPS }),
    ).toEqual({ found: false });
  });

  it('covers the default day in full at 10 s, the shortest period the service accepts', () => {
    const params = { period: 10 };
    for (const skew of [-86_390_000, 86_390_000]) {
      const codes = pairAt(now + skew, params);
      const expected = Math.round(skew / 10_000) * 10;
      expect(diagnoseConsecutiveTOTP(secret, codes, { now, params })).toMatchObject({
        found: true,
        reason: 'clock_skew',
      });
      const found = diagnoseConsecutiveTOTP(secret, codes, { now, params });
      expect(
        found.found && found.reason === 'clock_skew' && Math.abs(found.skewSeconds - expected),
      ).toBeLessThanOrEqual(10);
    }
  });
});

describe('diagnoseConsecutiveTOTP: parametersFirst (the service order)', () => {
  // HOTP counters 1999 and 2000 are, at t = 60,000 s, the current pair under
  // SHA1/6/30 and a pair 1000 steps ahead under SHA1/6/60: both explanations fit.
  const now = 60_000_000 + 5_000;
  const codes: [string, string] = [
    referenceHOTP(secret, 1999, 'SHA1', 6),
    referenceHOTP(secret, 2000, 'SHA1', 6),
  ];
  const params = { algorithm: 'SHA1', digits: 6, period: 60 } as const;

  it('searches the skew first by default, the app parameters first with parametersFirst', () => {
    expect(diagnoseConsecutiveTOTP(secret, codes, { now, params })).toEqual({
      found: true,
      reason: 'clock_skew',
      skewSeconds: 60_000,
    });
    expect(diagnoseConsecutiveTOTP(secret, codes, { now, params, parametersFirst: true })).toEqual({
      found: true,
      reason: 'app_ignored_parameters',
      appParameters: { algorithm: 'SHA1', digits: 6, period: 30 },
      skewSeconds: 0,
    });
  });

  it('checks the option, naming it', () => {
    expect(() =>
      diagnoseConsecutiveTOTP(secret, codes, { now, params, parametersFirst: 1 as never }),
    ).toThrow(/"parametersFirst" must be a boolean, got 1/);
  });
});
