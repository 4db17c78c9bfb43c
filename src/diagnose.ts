/**
 * Why a pair of binding codes was refused: the search that runs after
 * {@link verifyConsecutiveTOTP} said `'mismatch'` (or `'malformed'` for codes of
 * another length), to tell the user what to fix instead of "the codes don't
 * match". This file holds the public API (options, result, limits) and the
 * order in which explanations are tried; the search for a pair itself, and
 * the work budget it spends, are in `pair-search.ts`.
 *
 * Two consecutive codes are a strong signal: a random pair matches two given
 * consecutive steps with odds of 10^-12 (6 digits), so the search can look a
 * day either side and under other parameters, where a single code could not.
 * It only explains a refusal: it never accepts, records or returns a step.
 *
 * Cost: the search computes the code of every other candidate step only
 * (every pair of consecutive steps holds one even step), nearest to now
 * first, through the cached key (two hash compressions each), and at most
 * {@link MAX_DIAGNOSIS_WORK} codes per refused pair whatever the period,
 * `maxSkewSteps` or number of alternatives. The service runs the same search
 * in slices of {@link DIAGNOSIS_SLICE} codes and yields to the event loop
 * between them.
 * @module
 */
import {
  checkInteger,
  checkOptions,
  checkString,
  describe,
  describeType,
  OTP_DEFAULTS,
  type Digits,
  type HashAlgorithm,
} from './_assert.ts';
import { parseCode } from './_otp.ts';
import { verifyConsecutiveTOTP } from './binding.ts';
import {
  diagnosisBudget,
  nearestPair,
  runSearch,
  skewSeconds,
  type DIAGNOSIS_SLICE,
  type DiagnosisBudget,
  type DiagnosisSearch,
  type MAX_DIAGNOSIS_WORK,
} from './pair-search.ts';
import {
  checkWindow,
  createTOTPKey,
  keyValueAt,
  type TOTPKey,
  type TOTPParams,
  type TOTPWindow,
} from './totp.ts';

/** The parameters an authenticator app actually used, as found by the search. */
export interface AppParameters {
  /** The HMAC hash the app used. */
  algorithm: HashAlgorithm;
  /** The code length the app showed. */
  digits: Digits;
  /** The step length the app used, in seconds. */
  period: number;
}

/**
 * Another secret the codes may come from, checked inside the binding window
 * under its own parameters: a pending secret the user's reload replaced (a
 * stale QR code), or one of the user's already-active factors.
 */
export interface ConsecutiveTOTPAlternative {
  /** The caller's label for it, returned as is, e.g. `'stale_qr'` or `'existing_factor'`. 1–64 characters. */
  kind: string;
  /** Its secret. */
  secret: Uint8Array;
  /** Its parameters; default SHA1, 6 digits, 30 s. */
  params?: TOTPParams;
}

/** Options for {@link diagnoseConsecutiveTOTP}. */
export interface DiagnoseConsecutiveTOTPOptions {
  /** The time in Unix milliseconds. Default `Date.now()`. */
  now?: number;
  /** The factor's parameters, as given to {@link verifyConsecutiveTOTP}. Default SHA1, 6 digits, 30 s. */
  params?: TOTPParams;
  /** The binding window given to {@link verifyConsecutiveTOTP}. Default 10. */
  window?: TOTPWindow;
  /** The `afterStep` given to {@link verifyConsecutiveTOTP}. Default: none. */
  afterStep?: number;
  /**
   * How far to search for a skewed clock, in steps of the factor's period, each
   * side of now. Default: one day (2880 steps of 30 s), at most
   * {@link MAX_SKEW_STEPS}; 0 searches no further than the binding window.
   */
  maxSkewSteps?: number;
  /** Other secrets to check, in order, at most {@link MAX_ALTERNATIVES}. Default none. */
  alternatives?: readonly ConsecutiveTOTPAlternative[];
  /**
   * Whether `'app_ignored_parameters'` is searched before `'clock_skew'`
   * (the service's order). Default `false`: `'clock_skew'` first.
   */
  parametersFirst?: boolean;
}

/**
 * The outcome of {@link diagnoseConsecutiveTOTP}: the first explanation found,
 * or `{ found: false }`.
 *
 * - `'other_secret'`: the codes are two consecutive codes of
 *   `alternatives[index]` inside the binding window. `kind` is that
 *   alternative's `kind`.
 * - `'clock_skew'`: the codes are two consecutive codes of the secret under the
 *   factor's own parameters, outside the binding window but within
 *   `maxSkewSteps`. `skewSeconds` is the device clock's offset, signed
 *   (positive: the device is ahead), a whole number of steps, with one step of
 *   typing time allowed as {@link verifyConsecutiveTOTP}'s `drift` does.
 * - `'app_ignored_parameters'`: the factor's parameters are not SHA1/6/30 and
 *   the codes are two consecutive codes of the secret under SHA1/6/30, or under
 *   the factor's parameters with one of them reset to its default (the one the
 *   app dropped). `appParameters` says which; `skewSeconds` as above, under
 *   those parameters (0 when the clock is right).
 */
export type DiagnoseConsecutiveTOTPResult =
  | {
      /** No explanation: the codes match nothing searched, or the check did not refuse them as `'mismatch'`/`'malformed'`. */
      found: false;
    }
  | {
      /** An explanation was found. */
      found: true;
      /** The codes come from another secret. */
      reason: 'other_secret';
      /** The matching alternative's `kind`. */
      kind: string;
      /** Its position in `alternatives`. */
      index: number;
    }
  | {
      /** An explanation was found. */
      found: true;
      /** The right secret and parameters, but the device clock is off. */
      reason: 'clock_skew';
      /** The device clock's offset in seconds; positive when it is ahead. */
      skewSeconds: number;
    }
  | {
      /** An explanation was found. */
      found: true;
      /** The right secret, but the app used other parameters. */
      reason: 'app_ignored_parameters';
      /** The parameters the app used. */
      appParameters: AppParameters;
      /** The device clock's offset in seconds under those parameters; positive when ahead. */
      skewSeconds: number;
    };

/** Largest `maxSkewSteps`. */
export const MAX_SKEW_STEPS = 200_000;

/** Largest number of `alternatives`. */
export const MAX_ALTERNATIVES = 32;

// The budget of one refused pair's search, for the service (which shares one
// between the searches of a resync, and runs them in slices).
export {
  DIAGNOSIS_SLICE,
  diagnosisBudget,
  MAX_DIAGNOSIS_WORK,
  type DiagnosisBudget,
  type DiagnosisSearch,
} from './pair-search.ts';

const ONE_DAY_SECONDS = 86_400;

/** The variants an app may have used instead of `params`: the defaults first, then each parameter reset alone. */
function variantsOf(params: AppParameters): AppParameters[] {
  const { algorithm, digits, period } = OTP_DEFAULTS;
  const out: AppParameters[] = [];
  const add = (v: AppParameters) => {
    const same = (w: AppParameters) =>
      w.algorithm === v.algorithm && w.digits === v.digits && w.period === v.period;
    if (!same(params) && !out.some(same)) out.push(v);
  };
  add({ algorithm, digits, period });
  add({ ...params, algorithm });
  add({ ...params, digits });
  add({ ...params, period });
  return out;
}

function checkAlternatives(value: unknown): { kind: string; key: TOTPKey }[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw new TypeError(`"alternatives" must be an array, got ${describe(value)}`);
  }
  if (value.length > MAX_ALTERNATIVES) {
    throw new RangeError(
      `"alternatives" must have at most ${MAX_ALTERNATIVES} entries, got ${value.length}`,
    );
  }
  return value.map((entry: unknown, i) => {
    const field = `alternatives[${i}]`;
    const { kind, secret, params } = checkOptions(entry as ConsecutiveTOTPAlternative, field);
    checkString(kind, `${field}.kind`, 64);
    if (!(secret instanceof Uint8Array)) {
      throw new TypeError(`"${field}.secret" must be a Uint8Array, got ${describe(secret)}`);
    }
    return { kind: kind as string, key: createTOTPKey(secret, params) };
  });
}

/**
 * Explains why two binding codes were refused. It first runs
 * {@link verifyConsecutiveTOTP} with the same secret, parameters, window and
 * `afterStep`, and searches only if that refused the pair as `'mismatch'` (or as
 * `'malformed'` because the codes have another length from 6 to 8 digits, as
 * 6-digit codes for an 8-digit factor). A pair it accepts, or refuses as
 * `'same_code'`, `'wrong_order'` or `'replayed'`, gets `{ found: false }`. It
 * never accepts anything: the caller still refuses the pair, and still counts
 * the attempt.
 *
 * The order, first explanation wins:
 * 1. each of `alternatives` inside the binding window, under its own
 *    parameters (`'other_secret'`). Other secrets are checked here, by the
 *    caller passing them, rather than by calling this function per secret, so
 *    that one call gives one answer; they are not searched for clock skew, which
 *    keeps their false-diagnosis rate at about 21 × 10^-12 per alternative;
 * 2. the secret under its own parameters within `maxSkewSteps`, outside the
 *    binding window (`'clock_skew'`);
 * 3. if the parameters are not SHA1/6/30: the secret under SHA1/6/30, then with
 *    only the algorithm, only the digits, only the period reset to the default,
 *    each over the same time span (`'app_ignored_parameters'`).
 *
 * With `parametersFirst`, steps 2 and 3 swap.
 *
 * Codes whose length cannot match a variant's digits skip it. Variants keep
 * the factor's `epoch` (apps never see it; it is 0 for every URI-enrolled factor).
 *
 * Cost, for a wrong pair: about `maxSkewSteps` + 1 codes (two hash
 * compressions each) per variant searched, only every other step being
 * computed, plus the binding check; with defaults and a SHA1/6/30 factor,
 * about 5,800 SHA-1 compressions. Whatever the options, at most
 * {@link MAX_DIAGNOSIS_WORK} codes are computed: past that, the farthest
 * steps of the last variants are left unsearched. See `npm run bench`.
 *
 * @param secret - the factor's secret
 * @param codes - the two codes as the user typed them
 * @param options - `now`, `params`, `window` (10), `afterStep`, `maxSkewSteps`
 *   (one day of steps), `alternatives`, `parametersFirst` (false)
 * @returns the first explanation found, or `{ found: false }`
 * @throws TypeError if `codes` is not a pair of strings; TypeError / RangeError
 *   naming an invalid option or alternative
 * @example
 * ```ts
 * import { diagnoseConsecutiveTOTP, generateSecret, generateTOTP } from 'totpkit';
 * const secret = generateSecret();
 * const now = Date.now();
 * const ahead = now + 2 * 3600_000; // a phone two hours fast
 * const codes = [
 *   generateTOTP(secret, { now: ahead - 30_000 }),
 *   generateTOTP(secret, { now: ahead }),
 * ] as const;
 * diagnoseConsecutiveTOTP(secret, codes, { now });
 * // { found: true, reason: 'clock_skew', skewSeconds: 7200 }
 * ```
 */
export function diagnoseConsecutiveTOTP(
  secret: Uint8Array,
  codes: readonly [string, string],
  options?: DiagnoseConsecutiveTOTPOptions,
): DiagnoseConsecutiveTOTPResult {
  return runSearch(diagnosisSearch(secret, codes, options, diagnosisBudget()));
}

/**
 * {@link diagnoseConsecutiveTOTP} as a search that pauses every
 * {@link DIAGNOSIS_SLICE} codes and spends `budget`, which the caller may
 * share between the searches of one refused pair (the service's resync
 * searches each factor in turn). The options are checked when it first runs.
 * @internal
 */
export function* diagnosisSearch(
  secret: Uint8Array,
  codes: readonly [string, string],
  options: DiagnoseConsecutiveTOTPOptions | undefined,
  budget: DiagnosisBudget,
): DiagnosisSearch<DiagnoseConsecutiveTOTPResult> {
  const {
    now = Date.now(),
    params,
    window = 10,
    afterStep,
    maxSkewSteps,
    alternatives,
    parametersFirst = false,
  } = checkOptions(options);
  if (typeof parametersFirst !== 'boolean') {
    throw new TypeError(`"parametersFirst" must be a boolean, got ${describe(parametersFirst)}`);
  }
  const key = createTOTPKey(secret, params);
  const [past, future] = checkWindow(window);
  const radius =
    maxSkewSteps === undefined
      ? Math.ceil(ONE_DAY_SECONDS / key.period)
      : checkInteger(maxSkewSteps, 'maxSkewSteps', 0, MAX_SKEW_STEPS);
  const others = checkAlternatives(alternatives);
  if (!Array.isArray(codes) || codes.length !== 2) {
    throw new TypeError(`"codes" must be an array of two strings, got ${describeType(codes)}`);
  }
  const [code1, code2] = codes;
  if (typeof code1 !== 'string' || typeof code2 !== 'string') {
    throw new TypeError(`"codes" must be an array of two strings`);
  }

  const none = { found: false } as const;
  // Only a refusal that says nothing more is worth explaining.
  const check = verifyConsecutiveTOTP(secret, codes, {
    now,
    window,
    ...(afterStep === undefined ? {} : { afterStep }),
    ...key.toJSON(),
  });
  if (check.ok || (check.reason !== 'mismatch' && check.reason !== 'malformed')) return none;
  const length = code1.length;
  if (length < 6 || length > 8 || code2.length !== length) return none;
  const first = parseCode(code1, length);
  const second = parseCode(code2, length);
  if (first < 0 || second < 0 || first === second) return none;

  for (let index = 0; index < others.length; index++) {
    const other = others[index]!;
    if (other.key.digits !== length) continue;
    const current = other.key.step(now);
    const span = Math.max(past, future);
    const end = yield* nearestPair(other.key, first, second, current, span, budget);
    if (end >= 0 && end >= current - past && end <= current + future) {
      return { found: true, reason: 'other_secret', kind: other.kind, index };
    }
  }

  const { epoch } = key;
  function* skewed(): DiagnosisSearch<DiagnoseConsecutiveTOTPResult | null> {
    if (key.digits !== length) return null;
    // 'mismatch' means no pair ends inside the binding window: any match is outside.
    const current = key.step(now);
    const reach = Math.max(radius, past, future);
    const end = yield* nearestPair(key, first, second, current, reach, budget);
    return end < 0
      ? null
      : { found: true, reason: 'clock_skew', skewSeconds: skewSeconds(end, current, key.period) };
  }
  function* ignored(): DiagnosisSearch<DiagnoseConsecutiveTOTPResult | null> {
    const own: AppParameters = { algorithm: key.algorithm, digits: key.digits, period: key.period };
    const spanSeconds = Math.max(radius, past, future) * key.period;
    for (const app of variantsOf(own)) {
      if (app.digits !== length) continue;
      const variant = createTOTPKey(secret, { ...app, epoch });
      const current = variant.step(now);
      const reach = Math.ceil(spanSeconds / app.period);
      const end = yield* nearestPair(variant, first, second, current, reach, budget);
      if (end >= 0) {
        return {
          found: true,
          reason: 'app_ignored_parameters',
          appParameters: app,
          skewSeconds: skewSeconds(end, current, app.period),
        };
      }
    }
    return null;
  }
  const [one, two] = parametersFirst ? [ignored, skewed] : [skewed, ignored];
  return (yield* one()) ?? (yield* two()) ?? none;
}
