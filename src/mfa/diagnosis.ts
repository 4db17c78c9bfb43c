/**
 * The diagnosis of refused binding and resync codes (internal): what
 * `completeEnrollment` and `resync` answer instead of a bare `'mismatch'`,
 * worked out by {@link diagnoseConsecutiveTOTP}'s search from secrets the
 * caller has already opened. Pure: each function returns the search, which
 * the service runs in slices ({@link runSliced}, yielding to the event loop
 * every {@link DIAGNOSIS_SLICE} codes) and `npm run bench:diagnose-rate` runs
 * straight through, so that the false-diagnosis rate of exactly this path
 * can be measured. One refused pair gets one {@link DiagnosisBudget}: at most
 * {@link MAX_DIAGNOSIS_WORK} codes, however many factors it searches.
 * @module
 * @internal
 */
import {
  diagnosisSearch,
  type DIAGNOSIS_SLICE,
  type DiagnosisBudget,
  type DiagnosisSearch,
  type diagnoseConsecutiveTOTP,
  type MAX_DIAGNOSIS_WORK,
} from '../diagnose.ts';
import type { FactorParams } from '../store/contract.ts';
import type {
  AppIgnoredParametersRefusal,
  ClockSkewRefusal,
  ExistingFactorRefusal,
} from './types.ts';

/** An active factor of the user, its secret opened. */
export interface OpenedFactor {
  /** The factor's id. */
  id: string;
  /** The factor's name. */
  name: string;
  /** Its secret. */
  secret: Uint8Array;
  /** Its parameters. */
  params: FactorParams;
}

/** What the enrollment diagnosis searches, every secret opened. */
export interface EnrollmentDiagnosisInput {
  /** The pending enrollment's secret. */
  secret: Uint8Array;
  /** The pending enrollment's parameters. */
  params: FactorParams;
  /** The time, Unix ms. */
  now: number;
  /** `policy.bindingWindow`. */
  window: number;
  /** Steps of `params.period` searched each side for a skewed clock. */
  skewSearch: number;
  /** The user's active factors (at most 20), checked inside the binding window. */
  factors: readonly OpenedFactor[];
  /** The replaced, unexpired pending enrollment, or `null`. */
  previous: { secret: Uint8Array; params: FactorParams } | null;
}

/** A diagnosis as `completeEnrollment` returns it. */
export type EnrollmentDiagnosis =
  | ExistingFactorRefusal
  | { ok: false; reason: 'stale_qr' }
  | AppIgnoredParametersRefusal
  | ClockSkewRefusal;

/**
 * Why two codes that `verifyConsecutiveTOTP` refused (as `'mismatch'`, or
 * `'malformed'` for another length) were refused, in the service's order:
 * `existing_factor` and `stale_qr` (inside the binding window), then
 * `app_ignored_parameters`, then `clock_skew`; `null` if nothing explains
 * them. Never accepts anything.
 */
export function* diagnoseEnrollment(
  input: EnrollmentDiagnosisInput,
  codes: readonly [string, string],
  budget: DiagnosisBudget,
): DiagnosisSearch<EnrollmentDiagnosis | null> {
  const { secret, params, now, window, skewSearch, factors, previous } = input;
  const alternatives = factors.map((f) => ({
    kind: 'existing_factor',
    secret: f.secret,
    params: f.params,
  }));
  if (previous !== null) {
    alternatives.push({ kind: 'stale_qr', secret: previous.secret, params: previous.params });
  }
  const found = yield* diagnosisSearch(
    secret,
    codes,
    { now, params, window, maxSkewSteps: skewSearch, alternatives, parametersFirst: true },
    budget,
  );
  if (!found.found) return null;
  switch (found.reason) {
    case 'other_secret': {
      const factor = factors[found.index];
      return factor === undefined
        ? { ok: false, reason: 'stale_qr' }
        : { ok: false, reason: 'existing_factor', factorId: factor.id, name: factor.name };
    }
    case 'app_ignored_parameters':
      return {
        ok: false,
        reason: 'app_ignored_parameters',
        appParameters: { ...found.appParameters },
      };
    case 'clock_skew':
      return { ok: false, reason: 'clock_skew', skewSeconds: found.skewSeconds };
  }
}

/**
 * Whether a factor's codes (as `resync` saw them) are two consecutive codes
 * outside `window` but within `skewSearch` steps: the clock skew in seconds,
 * or `null`. `afterStep` as the resync check used it.
 */
export function* diagnoseResync(
  secret: Uint8Array,
  params: FactorParams,
  codes: readonly [string, string],
  options: { now: number; window: number; skewSearch: number; afterStep: number },
  budget: DiagnosisBudget,
): DiagnosisSearch<number | null> {
  const found = yield* diagnosisSearch(
    secret,
    codes,
    {
      now: options.now,
      params,
      window: options.window,
      afterStep: options.afterStep,
      maxSkewSteps: options.skewSearch,
    },
    budget,
  );
  return found.found && found.reason === 'clock_skew' ? found.skewSeconds : null;
}

/** Lets other work run: a macrotask, so that timers and I/O get their turn. */
function pause(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (callback: () => void) => unknown })
    .setImmediate;
  return new Promise((resolve) => {
    if (typeof immediate === 'function') immediate(resolve);
    else setTimeout(resolve, 0);
  });
}

/**
 * Runs a search, yielding to the event loop between its slices, so that no
 * refused pair holds the loop for more than one slice of codes.
 */
export async function runSliced<T>(search: DiagnosisSearch<T>): Promise<T> {
  for (;;) {
    const next = search.next();
    if (next.done === true) return next.value;
    await pause();
  }
}
