/**
 * The reference model's code arithmetic (test/helpers/mfa-model.ts): codes
 * by step, the documented search orders of a window, consecutive pairs, the
 * skew search, back-off delays, default names, the order of factors.
 */
import { generateTOTP } from '../../src/index.ts';
import type { AttemptPolicy } from '../../src/store/contract.ts';
import { PERIOD_MS, SKEW_SEARCH, type ModelFactor, type Throttle } from './mfa-model-state.ts';

export const stepOf = (now: number) => Math.floor(now / PERIOD_MS);
const codeCache = new Map<string, string>();
/** The code of `step` (memoised: the skew search asks for thousands of steps per call). */
export const codeAt = (secret: Uint8Array, step: number) => {
  const key = `${Buffer.from(secret).toString('hex')}:${step}`;
  let code = codeCache.get(key);
  if (code === undefined) {
    if (codeCache.size > 2_000_000) codeCache.clear();
    code = generateTOTP(secret, { now: step * PERIOD_MS });
    codeCache.set(key, code);
  }
  return code;
};

/** The input as the service reads a typed code: NFKC, white space removed. */
export const normalize = (code: string) =>
  code.length > 64 ? '' : code.normalize('NFKC').replace(/\s/g, '');
export const isCode = (code: string) => /^[0-9]{6}$/.test(code);
/** Names are unique per user after NFKC and case folding. */
export const nameKey = (name: string) => name.normalize('NFKC').toUpperCase().toLowerCase();

export function delayMs(policy: AttemptPolicy, failures: number): number {
  if (failures < policy.freeAttempts) return 0;
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failures - policy.freeAttempts));
}

/** The documented order of factors: createdAt, then id. */
export function order(factors: ModelFactor[]): ModelFactor[] {
  return factors.sort(
    (a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

/** The steps of a window around `center`, in the documented order: 0, −1, +1, −2, +2, … */
export function windowSteps(center: number, window: number): number[] {
  const steps = [center];
  for (let d = 1; d <= window; d++) steps.push(center - d, center + d);
  return steps;
}

/** A consecutive pair: `end` is the second code's step. */
export function findPair(
  secret: Uint8Array,
  first: string,
  second: string,
  now: number,
  window: number,
  after: number,
): { ok: true; end: number; drift: number } | { ok: false; reason: string } {
  const current = stepOf(now);
  let replayed = false;
  let swapped = false;
  for (const end of windowSteps(current, window)) {
    if (end < 1) continue;
    const a = codeAt(secret, end - 1);
    const b = codeAt(secret, end);
    if (a === second && b === first) swapped = true;
    if (a !== first || b !== second) continue;
    // Both codes' steps must be newer than the last accepted one.
    if (end - 1 <= after) {
      replayed = true;
      continue;
    }
    const delta = end - current;
    return { ok: true, end, drift: delta >= 0 ? delta : delta + 1 };
  }
  return { ok: false, reason: replayed ? 'replayed' : swapped ? 'wrong_order' : 'mismatch' };
}

/** Whether `first`, `second` are the codes of two consecutive steps ending within `window` of now. */
export function pairInWindow(
  secret: Uint8Array,
  first: string,
  second: string,
  now: number,
  window: number,
): boolean {
  const current = stepOf(now);
  for (let end = Math.max(1, current - window); end <= current + window; end++) {
    if (codeAt(secret, end - 1) === first && codeAt(secret, end) === second) return true;
  }
  return false;
}

/**
 * The device clock's offset in seconds if `first`, `second` are two
 * consecutive codes within SKEW_SEARCH steps of now (the nearest, the
 * earlier on a tie), counted as the binding's drift is; else null.
 */
export function skewOf(
  secret: Uint8Array,
  first: string,
  second: string,
  now: number,
): number | null {
  const current = stepOf(now);
  for (let d = 0; d <= SKEW_SEARCH; d++) {
    for (const end of d === 0 ? [current] : [current - d, current + d]) {
      if (end < 1) continue;
      if (codeAt(secret, end - 1) === first && codeAt(secret, end) === second) {
        const delta = end - current;
        return (delta >= 0 ? delta : delta + 1) * (PERIOD_MS / 1000);
      }
    }
  }
  return null;
}

export function pairProblem(first: string, second: string): string | null {
  if (!isCode(first) || !isCode(second)) return 'malformed';
  return first === second ? 'same_code' : null;
}

/** The first free default name: "Authenticator", then "Authenticator 2", … */
export function defaultName(factors: ModelFactor[]): string {
  const taken = new Set(factors.map((f) => nameKey(f.name)));
  for (let n = 1; ; n++) {
    const name = n === 1 ? 'Authenticator' : `Authenticator ${n}`;
    if (!taken.has(nameKey(name))) return name;
  }
}
