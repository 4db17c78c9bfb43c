/**
 * A second implementation of diagnoseConsecutiveTOTP for measuring its
 * false-diagnosis rate over millions of pairs: every code the primitive could
 * compute for one secret at one time is computed once, with the node:crypto
 * reference HOTP (independent of the library's core), into tables of
 * consecutive pairs; a pair is then classified by a few map lookups. The
 * tables follow the primitive's documented rules, not its code; the tests and
 * `npm run bench:diagnose-rate` check that both agree on random and planted
 * pairs.
 */
import type {
  AppParameters,
  DiagnoseConsecutiveTOTPResult,
  Digits,
  HashAlgorithm,
} from '../../src/index.ts';
import { referenceHOTP } from './reference.ts';

/** Parameters of a factor or an alternative (epoch 0). */
export interface TableParams {
  algorithm: HashAlgorithm;
  digits: Digits;
  period: number;
}

/** What {@link buildDiagnosisTable} needs: the primitive's inputs, every default spelled out. */
export interface TableInput {
  secret: Uint8Array;
  now: number;
  params: TableParams;
  window: number;
  afterStep: number;
  maxSkewSteps: number;
  alternatives: { kind: string; secret: Uint8Array; params: TableParams }[];
  /** The primitive's `parametersFirst` (the service's order). Default false. */
  parametersFirst?: boolean;
}

/** What verifyConsecutiveTOTP would say, and what the primitive would return. */
export interface TableVerdict {
  check: 'accepted' | 'same_code' | 'wrong_order' | 'replayed' | 'malformed' | 'mismatch';
  result: DiagnoseConsecutiveTOTPResult;
}

const DEFAULTS: TableParams = { algorithm: 'SHA1', digits: 6, period: 30 };
const same = (a: TableParams, b: TableParams) =>
  a.algorithm === b.algorithm && a.digits === b.digits && a.period === b.period;

/** Consecutive pairs `code(end - 1):code(end)` for ends in [lo, hi], to the ends they occur at (ascending). */
function pairTable(secret: Uint8Array, p: TableParams, lo: number, hi: number) {
  const table = new Map<string, number[]>();
  const from = Math.max(1, lo);
  let previous = referenceHOTP(secret, from - 1, p.algorithm, p.digits);
  for (let end = from; end <= hi; end++) {
    const code = referenceHOTP(secret, end, p.algorithm, p.digits);
    const key = `${previous}:${code}`;
    const ends = table.get(key);
    if (ends) ends.push(end);
    else table.set(key, [end]);
    previous = code;
  }
  return table;
}

/** The end nearest `current` (the earlier on a tie). */
function nearest(ends: number[], current: number): number {
  let best = ends[0]!;
  for (const end of ends) if (Math.abs(end - current) < Math.abs(best - current)) best = end;
  return best;
}

const skew = (end: number, current: number, period: number) => {
  const delta = end - current;
  return (delta >= 0 ? delta : delta + 1) * period;
};

/** Builds the tables for one secret at one time; returns the classifier. */
export function buildDiagnosisTable(input: TableInput): (codes: [string, string]) => TableVerdict {
  const { secret, now, params, window, afterStep, maxSkewSteps } = input;
  const stepOf = (p: TableParams) => Math.floor(now / 1000 / p.period);
  const current = stepOf(params);
  const radius = Math.max(maxSkewSteps, window);
  const main = pairTable(secret, params, current - radius, current + radius);
  const alternatives = input.alternatives.map((a) => {
    const c = stepOf(a.params);
    return { ...a, table: pairTable(a.secret, a.params, c - window, c + window) };
  });
  const variants: AppParameters[] = [];
  for (const v of [
    DEFAULTS,
    { ...params, algorithm: 'SHA1' as const },
    { ...params, digits: 6 as const },
    { ...params, period: 30 },
  ]) {
    if (!same(v, params) && !variants.some((w) => same(w, v))) variants.push(v);
  }
  const spanSeconds = radius * params.period;
  const variantTables = variants.map((v) => {
    const c = stepOf(v);
    const r = Math.ceil(spanSeconds / v.period);
    return { params: v, current: c, table: pairTable(secret, v, c - r, c + r) };
  });
  const none = { found: false } as const;
  const isCode = (code: string, digits: number) => code.length === digits && /^[0-9]+$/.test(code);

  return ([c1, c2]) => {
    // verifyConsecutiveTOTP's verdict, from the main table's window part.
    let check: TableVerdict['check'];
    if (!isCode(c1, params.digits) || !isCode(c2, params.digits)) check = 'malformed';
    else if (c1 === c2) check = 'same_code';
    else {
      const inWindow = (ends: number[] | undefined) =>
        (ends ?? []).filter((e) => e >= current - window && e <= current + window);
      const matched = inWindow(main.get(`${c1}:${c2}`));
      // Both steps must be after afterStep (verifyConsecutiveTOTP since the fix on main).
      if (matched.some((e) => e - 1 > afterStep)) check = 'accepted';
      else if (matched.length > 0) check = 'replayed';
      else if (inWindow(main.get(`${c2}:${c1}`)).length > 0) check = 'wrong_order';
      else check = 'mismatch';
    }
    if (check !== 'mismatch' && check !== 'malformed') return { check, result: none };
    const length = c1.length;
    if (length < 6 || length > 8 || !isCode(c1, length) || !isCode(c2, length) || c1 === c2) {
      return { check, result: none };
    }
    const key = `${c1}:${c2}`;
    for (const [index, a] of alternatives.entries()) {
      if (a.params.digits === length && a.table.has(key)) {
        return { check, result: { found: true, reason: 'other_secret', kind: a.kind, index } };
      }
    }
    const skewed = (): DiagnoseConsecutiveTOTPResult | null => {
      const ends = params.digits === length ? main.get(key) : undefined;
      if (!ends) return null;
      const end = nearest(ends, current);
      return { found: true, reason: 'clock_skew', skewSeconds: skew(end, current, params.period) };
    };
    const ignored = (): DiagnoseConsecutiveTOTPResult | null => {
      for (const v of variantTables) {
        const hit = v.params.digits === length ? v.table.get(key) : undefined;
        if (!hit) continue;
        const end = nearest(hit, v.current);
        return {
          found: true,
          reason: 'app_ignored_parameters',
          appParameters: v.params,
          skewSeconds: skew(end, v.current, v.params.period),
        };
      }
      return null;
    };
    const result = input.parametersFirst ? (ignored() ?? skewed()) : (skewed() ?? ignored());
    return { check, result: result ?? none };
  };
}

/** Deterministic 32-bit PRNG (xorshift32), so runs are reproducible. */
export function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/** A uniformly random `digits`-digit code from `next` (rejection sampling, no modulo bias). */
export function randomCode(next: () => number, digits: Digits): string {
  const modulus = 10 ** digits;
  const limit = 2 ** 32 - (2 ** 32 % modulus);
  let x = next();
  while (x >= limit) x = next();
  return String(x % modulus).padStart(digits, '0');
}
