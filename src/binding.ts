/**
 * The two-consecutive-code check used to bind an authenticator (and to resync
 * one whose clock has drifted), as cloud consoles do for virtual MFA devices.
 * @module
 */
import { checkOptions, describeType } from './_assert.ts';
import { parseCode } from './_otp.ts';
import {
  checkAfterStep,
  checkWindow,
  createTOTPKey,
  keyValueAt,
  type TOTPParams,
  type TOTPWindow,
  END,
  nextOffset,
} from './totp.ts';

/** Options for {@link verifyConsecutiveTOTP}. */
export interface VerifyConsecutiveTOTPOptions extends TOTPParams {
  /** The time in Unix milliseconds. Default `Date.now()`. */
  now?: number;
  /** How far, in steps, the second code's step may lie from the current one. Default 10. */
  window?: TOTPWindow;
  /**
   * The last step already used: both codes' steps must be after it, so neither
   * code can be one that was already accepted. Default: none.
   */
  afterStep?: number;
}

/** Why a pair of codes did not bind. */
export type VerifyConsecutiveTOTPFailure =
  'malformed' | 'same_code' | 'wrong_order' | 'mismatch' | 'replayed';

/** The outcome of {@link verifyConsecutiveTOTP}. */
export type VerifyConsecutiveTOTPResult =
  | {
      /** The codes are those of two consecutive steps `step - 1` and `step`. */
      ok: true;
      /** The second code's step; store it as the last used step. */
      step: number;
      /**
       * The device clock's offset in steps. 0 when the second code's step is the
       * current one or the one before (a user may take up to a minute to type
       * both codes); otherwise the offset, less that one step of typing time
       * when the codes are old.
       */
      drift: number;
    }
  | {
      /** The pair was not accepted. */
      ok: false;
      /**
       * `'malformed'`: a code is not exactly `digits` ASCII digits; `'same_code'`:
       * the same code twice (wait for the next one); `'wrong_order'`: the codes are
       * consecutive but swapped; `'mismatch'`: no consecutive steps in the window
       * match; `'replayed'`: they match only pairs whose first step is at or
       * before `afterStep` (a code already used).
       */
      reason: VerifyConsecutiveTOTPFailure;
    };

/**
 * Checks that `code1` and `code2` are the codes of two consecutive time steps
 * `s` and `s + 1`, with `s + 1` within `window` steps of now and both `s` and
 * `s + 1` after `afterStep`.
 * Candidates are tried nearest the current step first.
 *
 * @param secret - the shared secret
 * @param codes - the two codes in the order the user saw them
 * @param options - `now`, `window` (default 10 steps each side), `afterStep`, and the {@link TOTPParams}
 * @returns `{ ok: true, step, drift }` or `{ ok: false, reason }`
 * @throws TypeError if `codes` is not a pair of strings; TypeError / RangeError for invalid options
 * @example
 * ```ts
 * import { generateTOTP, verifyConsecutiveTOTP, generateSecret } from 'totpkit';
 * const secret = generateSecret();
 * const now = Date.now();
 * const first = generateTOTP(secret, { now: now - 30_000 });
 * const second = generateTOTP(secret, { now });
 * verifyConsecutiveTOTP(secret, [first, second], { now }); // { ok: true, step, drift: 0 }
 * ```
 */
export function verifyConsecutiveTOTP(
  secret: Uint8Array,
  codes: readonly [string, string],
  options?: VerifyConsecutiveTOTPOptions,
): VerifyConsecutiveTOTPResult {
  const { now = Date.now(), window = 10, afterStep, ...params } = checkOptions(options);
  const key = createTOTPKey(secret, params);
  if (!Array.isArray(codes) || codes.length !== 2) {
    throw new TypeError(`"codes" must be an array of two strings, got ${describeType(codes)}`);
  }
  const [code1, code2] = codes;
  if (typeof code1 !== 'string' || typeof code2 !== 'string') {
    throw new TypeError(`"codes" must be an array of two strings`);
  }
  const [past, future] = checkWindow(window);
  const after = checkAfterStep(afterStep);
  const current = key.step(now);
  const first = parseCode(code1, key.digits);
  const second = parseCode(code2, key.digits);
  if (first < 0 || second < 0) return { ok: false, reason: 'malformed' };
  if (first === second) return { ok: false, reason: 'same_code' };

  let replayed = false;
  let swapped = false;
  for (let d = 0; d !== END; d = nextOffset(d, past, future)) {
    const end = current + d; // the second code's step
    if (end < 1) continue;
    const v = keyValueAt(key, end - 1);
    if (v !== first && v !== second) continue;
    const w = keyValueAt(key, end);
    if (v === second && w === first) swapped = true;
    if (v !== first || w !== second) continue;
    // Both steps must be new: a first code already accepted is a replay too.
    if (end - 1 <= after) {
      replayed = true;
      continue;
    }
    // One step of typing time is normal: a pair ending one step ago is in sync.
    return { ok: true, step: end, drift: d >= 0 ? d : d + 1 };
  }
  if (replayed) return { ok: false, reason: 'replayed' };
  return { ok: false, reason: swapped ? 'wrong_order' : 'mismatch' };
}
