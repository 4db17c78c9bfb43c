/**
 * The search under `diagnoseConsecutiveTOTP`: the pair of consecutive
 * codes nearest to a step, computing only every other step, within a work
 * budget that one refused pair's searches share, pausing every
 * {@link DIAGNOSIS_SLICE} codes so that the service can yield to the event
 * loop. `diagnose.ts` decides what is searched, and in which order.
 * @module
 */
import { keyValueAt, type TOTPKey } from './totp.ts';

/**
 * The most codes (HMACs) one diagnosis computes: the ceiling on the work per
 * refused pair, whatever the period, `maxSkewSteps` (the service's
 * `skewSearch`) or number of alternatives or factors. A day each side at
 * 30 s costs about 2,900; this ceiling covers every default search in full
 * down to the shortest period the service accepts (10 s: about 11,600 with
 * the app-parameters variant). Past it, the farthest steps of the last
 * searches are not searched, and the pair is explained as far as searched.
 */
export const MAX_DIAGNOSIS_WORK = 16_384;

/**
 * Codes computed between two yields to the event loop when the service runs
 * the search (`completeEnrollment`, `resync`): about 0.2 ms of SHA-1, 1 ms of
 * SHA-512 on Node.
 * @internal
 */
export const DIAGNOSIS_SLICE = 1_024;

/**
 * The work left to one refused pair's search, shared by everything it
 * searches: codes still allowed, and codes until the next yield. @internal
 */
export interface DiagnosisBudget {
  /** Codes this search may still compute. */
  left: number;
  /** Codes until the next yield. */
  slice: number;
}

/** A fresh budget of {@link MAX_DIAGNOSIS_WORK} codes. @internal */
export function diagnosisBudget(): DiagnosisBudget {
  return { left: MAX_DIAGNOSIS_WORK, slice: DIAGNOSIS_SLICE };
}

/**
 * A search that pauses (yields) every {@link DIAGNOSIS_SLICE} codes and
 * returns its answer at the end. @internal
 */
export type DiagnosisSearch<T> = Generator<void, T, void>;

/** Runs a search to its end without pausing. @internal */
export function runSearch<T>(search: DiagnosisSearch<T>): T {
  for (;;) {
    const next = search.next();
    if (next.done === true) return next.value;
  }
}

/**
 * The end step of two consecutive codes `first`, `second` within `radius`
 * steps of `current`, nearest to it (the earlier on a tie), or -1.
 *
 * Every pair of consecutive steps holds exactly one even step, so only even
 * steps are computed, nearest to `current` first: where one gives `first`,
 * the next step is computed; where it gives `second`, the one before. That is
 * one code per two steps, plus about 2 × 10^-6 per step. It stops once no
 * farther step can be nearer, or when `budget` runs out (then the answer is
 * the nearest pair among the steps searched).
 */
export function* nearestPair(
  key: TOTPKey,
  first: number,
  second: number,
  current: number,
  radius: number,
  budget: DiagnosisBudget,
): DiagnosisSearch<number> {
  const lo = Math.max(1, current - radius); // ends lie in [lo, hi]
  const hi = current + radius;
  let best = -1;
  let bestDistance = Infinity;
  // Ring k holds the steps current ± k; their pairs end k - 1 or more steps away.
  for (let k = 0; k <= radius + 1 && bestDistance >= k - 1; k++) {
    for (let side = k === 0 ? 1 : -1; side <= 1; side += 2) {
      const e = current + side * k;
      if (e % 2 !== 0 || e < lo - 1 || e > hi) continue;
      if (budget.left < 2) return best;
      budget.left--;
      const value = keyValueAt(key, e);
      let end = -1;
      if (value === first && e + 1 <= hi) {
        budget.left--;
        if (keyValueAt(key, e + 1) === second) end = e + 1;
      } else if (value === second && e >= lo) {
        budget.left--;
        if (keyValueAt(key, e - 1) === first) end = e;
      }
      if (end >= 0) {
        const distance = end > current ? end - current : current - end;
        if (distance < bestDistance || (distance === bestDistance && end < best)) {
          best = end;
          bestDistance = distance;
        }
      }
      if (--budget.slice <= 0) {
        budget.slice = DIAGNOSIS_SLICE;
        yield;
      }
    }
  }
  return best;
}

/** A pair's clock offset in seconds: `drift` as verifyConsecutiveTOTP counts it, times the period. */
export function skewSeconds(end: number, current: number, period: number): number {
  const delta = end - current;
  return (delta >= 0 ? delta : delta + 1) * period;
}
