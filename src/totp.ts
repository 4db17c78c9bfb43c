/**
 * TOTP: time-based one-time passwords (RFC 6238), with a cached-key fast path.
 * @module
 */
import {
  checkAlgorithm,
  checkBytes,
  checkDigits,
  checkInteger,
  checkNow,
  checkOptions,
  checkPeriod,
  describe,
  describeType,
  OTP_DEFAULTS,
  type Digits,
  type HashAlgorithm,
} from './_assert.ts';
import { formatCode, MODULI, OTPCore, parseCode } from './_otp.ts';

/** The parameters that define a TOTP factor, besides its secret. */
export interface TOTPParams {
  /** HMAC hash. Default `'SHA1'`, the only one every authenticator app supports. */
  algorithm?: HashAlgorithm;
  /** Code length. Default 6. */
  digits?: Digits;
  /** Time step length in seconds, ≥ 1. Default 30. */
  period?: number;
  /** RFC 6238 T0: the Unix time in seconds at which step 0 starts. Default 0. */
  epoch?: number;
}

/**
 * How many time steps around the current one a code may come from: one number
 * for both sides, or each side separately. Each side is at most 100.
 */
export type TOTPWindow =
  | number
  | {
      /** Steps before the current one. */
      past: number;
      /** Steps after the current one. */
      future: number;
    };

/** Per-call options for {@link TOTPKey.verify}. */
export interface TOTPVerifyOptions {
  /** The time to check against, in Unix milliseconds. Default `Date.now()`. */
  now?: number;
  /** Accepted steps around the current one. Default 1 (the previous, current and next code). */
  window?: TOTPWindow;
  /**
   * The last step already accepted for this factor: a code matching only steps
   * ≤ `afterStep` is reported `'replayed'`. Default: none.
   */
  afterStep?: number;
}

/** Options for {@link generateTOTP}. */
export interface GenerateTOTPOptions extends TOTPParams {
  /** The time in Unix milliseconds. Default `Date.now()`. */
  now?: number;
}

/** Options for {@link verifyTOTP}. */
export interface VerifyTOTPOptions extends TOTPParams, TOTPVerifyOptions {}

/** Why a TOTP code was not accepted. */
export type VerifyTOTPFailure = 'malformed' | 'mismatch' | 'replayed';

/** The outcome of a TOTP verification. Test `ok`: a `delta` of 0 is a success. */
export type VerifyTOTPResult =
  | {
      /** The code matched a step inside the window, after `afterStep`. */
      ok: true;
      /** The matched time step; store it as the next call's `afterStep`. */
      step: number;
      /** The matched step minus the current step (negative: the code was older). */
      delta: number;
    }
  | {
      /** The code was not accepted. */
      ok: false;
      /**
       * `'malformed'`: not exactly `digits` ASCII digits; `'mismatch'`: no step in
       * the window matched; `'replayed'`: it matched only steps ≤ `afterStep`.
       */
      reason: VerifyTOTPFailure;
    };

/** Largest accepted window on each side, in steps. */
export const MAX_WINDOW = 100;

/** Checks a window and returns `[past, future]`. @internal */
export function checkWindow(window: unknown, field = 'window'): [past: number, future: number] {
  if (typeof window === 'number') {
    checkInteger(window, field, 0, MAX_WINDOW);
    return [window, window];
  }
  if (window === null || typeof window !== 'object') {
    throw new TypeError(
      `"${field}" must be a number of steps or { past, future }, got ${describe(window)}`,
    );
  }
  const { past, future } = window as { past?: unknown; future?: unknown };
  return [
    checkInteger(past, `${field}.past`, 0, MAX_WINDOW),
    checkInteger(future, `${field}.future`, 0, MAX_WINDOW),
  ];
}

/** Checks `afterStep` (a safe integer ≥ -1, or undefined). @internal */
export function checkAfterStep(afterStep: unknown): number {
  if (afterStep === undefined) return -1;
  return checkInteger(afterStep, 'afterStep', -1, Number.MAX_SAFE_INTEGER);
}

/**
 * The step offset tried after `d`, in the order every check uses: the current
 * step (0), then −1, +1, −2, +2 …, each side up to its own bound (`past`
 * before, `future` after); `END` after the last. Shared by
 * {@link TOTPKey.verify} and the binding check, so that the order is written
 * once:
 * `for (let d = 0; d !== END; d = nextOffset(d, past, future))`. @internal
 */
export function nextOffset(d: number, past: number, future: number): number {
  const span = past > future ? past : future;
  for (;;) {
    d = d > 0 ? -d - 1 : -d || -1;
    if (d > span || -d > span) return END;
    if (d < 0 ? -d <= past : d <= future) return d;
  }
}

/** What {@link nextOffset} returns after the last offset. @internal */
export const END = 1_000;

// Gives binding.ts the per-step value without making it part of the key's API.
let valueAt: (key: TOTPKey, step: number) => number;

// Only createTOTPKey, which validates the arguments, can construct a TOTPKey.
const CREATE: unique symbol = Symbol('createTOTPKey');

/**
 * A TOTP key with its HMAC state precomputed: each candidate step then costs
 * two hash compressions and no buffer allocation. Create one per secret with
 * {@link createTOTPKey} and reuse it. The secret cannot be read back, and it
 * does not appear in `JSON.stringify` or `toString`.
 */
export class TOTPKey {
  /** The HMAC hash. */
  readonly algorithm: HashAlgorithm;
  /** The code length. */
  readonly digits: Digits;
  /** The step length in seconds. */
  readonly period: number;
  /** T0 in Unix seconds. */
  readonly epoch: number;
  readonly #core: OTPCore;
  readonly #modulus: number;
  readonly #periodMs: number;
  readonly #epochMs: number;

  // Steps are below 2^53: `now` is at most 2^53 - 1 ms and a period at least 1 s.
  static {
    valueAt = (key, step) => key.#core.truncate(step) % key.#modulus;
  }

  /**
   * @internal Use {@link createTOTPKey}, which validates its arguments.
   * @throws TypeError when called directly
   */
  constructor(
    token: typeof CREATE,
    secret: Uint8Array,
    algorithm: HashAlgorithm,
    digits: Digits,
    period: number,
    epoch: number,
  ) {
    if (token !== CREATE) {
      throw new TypeError(
        'TOTPKey cannot be constructed directly; use createTOTPKey(secret, params)',
      );
    }
    this.algorithm = algorithm;
    this.digits = digits;
    this.period = period;
    this.epoch = epoch;
    this.#core = new OTPCore(algorithm, secret);
    this.#modulus = MODULI[digits] as number;
    this.#periodMs = period * 1000;
    this.#epochMs = epoch * 1000;
  }

  /**
   * The time step that contains `now`: ⌊(now/1000 − epoch) / period⌋.
   *
   * @param now - Unix milliseconds (default `Date.now()`), not before `epoch`
   * @returns the step number
   * @throws RangeError if `now` is invalid or before the epoch
   */
  step(now: number = Date.now()): number {
    checkNow(now);
    if (now < this.#epochMs) {
      throw new RangeError(`"now" must not be before the epoch (${this.epoch} s)`);
    }
    return Math.floor((now - this.#epochMs) / this.#periodMs);
  }

  /**
   * The code for the step that contains `now`.
   *
   * @param now - Unix milliseconds (default `Date.now()`)
   * @returns the code, `digits` characters long
   * @throws RangeError if `now` is invalid or before the epoch
   */
  generate(now: number = Date.now()): string {
    return formatCode(this.#core.truncate(this.step(now)) % this.#modulus, this.digits);
  }

  /**
   * Checks a code against the current step, then −1, +1, −2, +2 … inside the window.
   *
   * @param code - the code as typed; it must be exactly `digits` ASCII digits
   * @param options - `now`, `window` (default 1), `afterStep` (replay bound)
   * @returns `{ ok: true, step, delta }` or `{ ok: false, reason }`
   * @throws TypeError if `code` is not a string; TypeError / RangeError for invalid options
   */
  verify(code: string, options?: TOTPVerifyOptions): VerifyTOTPResult {
    if (typeof code !== 'string') {
      throw new TypeError(`"code" must be a string, got ${describeType(code)}`);
    }
    const { now = Date.now(), window = 1, afterStep } = checkOptions(options);
    const [past, future] = checkWindow(window);
    const after = checkAfterStep(afterStep);
    const current = this.step(now);
    const wanted = parseCode(code, this.digits);
    if (wanted < 0) return { ok: false, reason: 'malformed' };
    const core = this.#core;
    const modulus = this.#modulus;
    let replayed = false;
    for (let d = 0; d !== END; d = nextOffset(d, past, future)) {
      const s = current + d;
      if (s < 0) continue;
      if (core.truncate(s) % modulus !== wanted) continue;
      if (s <= after) {
        replayed = true;
        continue;
      }
      return { ok: true, step: s, delta: d };
    }
    return { ok: false, reason: replayed ? 'replayed' : 'mismatch' };
  }

  /** The key's parameters, without the secret. */
  toJSON(): Required<TOTPParams> {
    return {
      algorithm: this.algorithm,
      digits: this.digits,
      period: this.period,
      epoch: this.epoch,
    };
  }

  /** A description without the secret. */
  toString(): string {
    return `TOTPKey(${this.algorithm}, ${this.digits} digits, ${this.period} s)`;
  }
}

/** Reads a key's value (the truncated code as a number) at a step. @internal */
export function keyValueAt(key: TOTPKey, step: number): number {
  return valueAt(key, step);
}

/**
 * Creates a reusable TOTP key: validates the parameters once and precomputes
 * the HMAC state, so each verification only hashes the candidate steps.
 *
 * @param secret - the shared secret (at least 1 byte; new secrets should be 16+, see {@link generateSecret})
 * @param params - `algorithm` (default `'SHA1'`), `digits` (6), `period` (30 s), `epoch` (0)
 * @returns the key
 * @throws TypeError / RangeError naming the invalid argument
 * @example
 * ```ts
 * import { createTOTPKey, decodeBase32 } from 'totpkit';
 * const key = createTOTPKey(decodeBase32('JBSWY3DPEHPK3PXP'));
 * const code = key.generate();
 * key.verify(code, { window: 1 }); // { ok: true, step: …, delta: 0 }
 * ```
 */
export function createTOTPKey(secret: Uint8Array, params?: TOTPParams): TOTPKey {
  checkBytes(secret, 'secret');
  const {
    algorithm = OTP_DEFAULTS.algorithm,
    digits = OTP_DEFAULTS.digits,
    period = OTP_DEFAULTS.period,
    epoch = 0,
  } = checkOptions(params, 'params');
  return new TOTPKey(
    CREATE,
    secret,
    checkAlgorithm(algorithm),
    checkDigits(digits),
    checkPeriod(period),
    checkInteger(epoch, 'epoch', 0, Math.floor(Number.MAX_SAFE_INTEGER / 1000)),
  );
}

/**
 * Computes the TOTP code at `now` (RFC 6238). Time steps are 64-bit, so dates
 * past 2038 work.
 *
 * @param secret - the shared secret
 * @param options - `now` (Unix ms, default `Date.now()`), `algorithm` (`'SHA1'`),
 *   `digits` (6), `period` (30 s), `epoch` (0)
 * @returns the code
 * @throws TypeError / RangeError naming the invalid argument
 * @example
 * ```ts
 * import { generateTOTP } from 'totpkit';
 * const secret = new TextEncoder().encode('12345678901234567890');
 * generateTOTP(secret, { now: 59_000, digits: 8 }); // '94287082' (RFC 6238 Appendix B)
 * ```
 */
export function generateTOTP(secret: Uint8Array, options?: GenerateTOTPOptions): string {
  // One options object serves both steps (checked first, so that an error names
  // "options"): the key reads only the parameters, generate only `now`.
  const { now } = checkOptions(options);
  return createTOTPKey(secret, options).generate(now);
}

/**
 * Checks a TOTP code. Steps are tried in the order current, −1, +1, −2, +2, …
 * within `window`; a code that matches only steps ≤ `afterStep` is `'replayed'`.
 * For many checks with one secret, {@link createTOTPKey} avoids the key setup.
 *
 * @param secret - the shared secret
 * @param code - the code as typed; exactly `digits` ASCII digits or it is `'malformed'`
 * @param options - `now`, `window` (default 1, at most 100 each side), `afterStep`,
 *   and the {@link TOTPParams}
 * @returns `{ ok: true, step, delta }` or `{ ok: false, reason }`
 * @throws TypeError if `code` is not a string; TypeError / RangeError for invalid options
 * @example
 * ```ts
 * import { verifyTOTP } from 'totpkit';
 * const secret = new TextEncoder().encode('12345678901234567890');
 * const result = verifyTOTP(secret, '287082', { now: 59_000 });
 * if (result.ok) console.log(result.step); // 1
 * ```
 */
export function verifyTOTP(
  secret: Uint8Array,
  code: string,
  options?: VerifyTOTPOptions,
): VerifyTOTPResult {
  // As generateTOTP: the key reads the parameters, verify the rest.
  checkOptions(options);
  return createTOTPKey(secret, options).verify(code, options);
}
