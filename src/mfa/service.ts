/**
 * The MFA service: enrollment bound by two consecutive codes, login
 * verification with replay protection, drift tracking and throttling, recovery
 * codes, and secrets sealed at rest, on top of any {@link MFAStore}.
 *
 * Every method reads the clock once, reads one record, checks codes with the
 * primitives and makes each decision final with one conditional store write.
 * @module
 */
import { checkNow, checkOptions, checkString, describe } from '../_assert.ts';
import { encodeBase32 } from '../base32.ts';
import { verifyConsecutiveTOTP } from '../binding.ts';
import { MFAError } from '../errors.ts';
import { generateSecret } from '../secret.ts';
import type {
  ActiveFactor,
  FactorParams,
  MFAStore,
  PendingEnrollment,
  ThrottleScope,
} from '../store/types.ts';
import { createTOTPKey } from '../totp.ts';
import { buildKeyURI } from '../uri.ts';
import type { SecretCipher } from './cipher.ts';
import type { MFAEvent, ThrottledEvent } from './events.ts';
import { resolvePolicy, type MFAPolicy, type MFAPolicyOptions } from './policy.ts';
import { normalizeRecoveryCode, RecoveryCodeHasher } from './recovery.ts';

/** Options for {@link createMFA}. */
export interface MFAOptions {
  /** Where enrollments, factors, recovery code hashes and throttle state live. */
  store: MFAStore;
  /** The service name authenticator apps show, e.g. `'Acme'`. No colon. */
  issuer: string;
  /**
   * Seals secrets at rest: {@link createAESGCMCipher}, your own
   * {@link SecretCipher}, or, as an explicit choice, {@link plaintextCipher}.
   */
  cipher: SecretCipher;
  /** Returns the time in Unix ms; read once per call. Default `Date.now`. */
  clock?: () => number;
  /** Overrides of {@link DEFAULT_MFA_POLICY}. */
  policy?: MFAPolicyOptions;
  /**
   * Parameters of new factors: `algorithm` (default `'SHA1'`, the only one every
   * app supports), `digits` (6), `period` (30 s). Existing factors keep theirs.
   */
  totp?: Partial<FactorParams>;
  /**
   * Receives audit events, synchronously, after the store write they report.
   * Its return value is ignored (catch your own async errors); if it throws,
   * the call rejects with that error after the write has happened.
   */
  onEvent?: (event: MFAEvent) => void;
}

/** Options for {@link MFA.beginEnrollment}. */
export interface BeginEnrollmentOptions {
  /** The account as the authenticator app shows it, e.g. the user's email. No colon. */
  accountName: string;
  /** Allow replacing an active factor once the new one is bound. Default `false`. */
  replaceActive?: boolean;
}

/**
 * A started enrollment. `secret` and `uri` are non-enumerable: read them
 * directly to show the QR code and the secret; they are left out of
 * `JSON.stringify`, `console.log` and object spreads so that logging the
 * result does not leak them.
 */
export interface BeginEnrollmentResult {
  /** The secret as unpadded base32, for typing into an app. Non-enumerable. */
  readonly secret: string;
  /** The `otpauth://` key URI to render as a QR code. Non-enumerable. */
  readonly uri: string;
  /** When the pending enrollment expires, Unix ms. */
  readonly expiresAt: number;
}

/**
 * A refusal: `reason`, and for `'throttled'` how long to wait. `R` lists
 * every reason the method can give.
 */
export type MFARefusal<R extends string> =
  | {
      /** The code was not accepted. */
      ok: false;
      /** Why; see the method's failure type. */
      reason: Exclude<R, 'throttled'>;
    }
  | {
      /** The code was not accepted. */
      ok: false;
      /** Too many recent failures: the code was not checked. */
      reason: 'throttled';
      /** Milliseconds until the next attempt may be made. */
      retryAfterMs: number;
    };

/**
 * Why {@link MFA.completeEnrollment} refused: `malformed` (not `digits`
 * digits), `same_code` (the same code twice: wait for the next one),
 * `wrong_order` (swapped), `mismatch`, `expired` (start again), `not_pending`
 * (no enrollment in progress, or it was completed or replaced meanwhile),
 * `throttled`, `locked`.
 */
export type CompleteEnrollmentFailure =
  | 'malformed'
  | 'same_code'
  | 'wrong_order'
  | 'mismatch'
  | 'expired'
  | 'not_pending'
  | 'throttled'
  | 'locked';

/** The outcome of {@link MFA.completeEnrollment}. */
export type CompleteEnrollmentResult =
  | {
      /** The authenticator is bound. */
      ok: true;
      /** The recovery codes, to show once. Non-enumerable (see {@link BeginEnrollmentResult}). */
      readonly recoveryCodes: readonly string[];
    }
  | MFARefusal<CompleteEnrollmentFailure>;

/**
 * Why {@link MFA.verify} refused: `not_enrolled`, `malformed`, `mismatch`,
 * `replayed` (this code's time step was already used), `resync_required` (the
 * code is right but the device clock has drifted further than `maxDrift`),
 * `throttled`, `locked` (until a recovery code or {@link MFA.unlock}).
 */
export type VerifyFailure =
  | 'not_enrolled'
  | 'malformed'
  | 'mismatch'
  | 'replayed'
  | 'resync_required'
  | 'throttled'
  | 'locked';

/** The outcome of {@link MFA.verify}. Test `ok`. */
export type VerifyResult =
  | {
      /** The code is accepted and its time step recorded as used. */
      ok: true;
    }
  | MFARefusal<VerifyFailure>;

/** Why {@link MFA.resync} refused; see {@link CompleteEnrollmentFailure} and {@link VerifyFailure}. */
export type ResyncFailure =
  | 'not_enrolled'
  | 'malformed'
  | 'same_code'
  | 'wrong_order'
  | 'mismatch'
  | 'replayed'
  | 'throttled'
  | 'locked';

/** The outcome of {@link MFA.resync}. */
export type ResyncResult =
  | {
      /** The device clock's offset is measured again and the codes' steps recorded. */
      ok: true;
      /** The new offset in steps (positive: the device is ahead). */
      drift: number;
    }
  | MFARefusal<ResyncFailure>;

/**
 * Why {@link MFA.useRecoveryCode} refused: `not_enrolled`, `malformed` (not
 * the shape of a recovery code), `mismatch` (not an unused code of this user),
 * `replayed` (used by a concurrent call), `throttled`, `locked`.
 */
export type RecoveryCodeFailure =
  'not_enrolled' | 'malformed' | 'mismatch' | 'replayed' | 'throttled' | 'locked';

/** The outcome of {@link MFA.useRecoveryCode}. */
export type UseRecoveryCodeResult =
  | {
      /** The code was unused and is now spent; both throttle scopes are reset. */
      ok: true;
      /** Unused codes left (as read at the start of the call). */
      remaining: number;
    }
  | MFARefusal<RecoveryCodeFailure>;

/** The outcome of {@link MFA.regenerateRecoveryCodes}. */
export type RegenerateRecoveryCodesResult =
  | {
      /** The new set replaced the old one. */
      ok: true;
      /** The new codes, to show once. Non-enumerable (see {@link BeginEnrollmentResult}). */
      readonly recoveryCodes: readonly string[];
    }
  | {
      /** Nothing was changed. */
      ok: false;
      /** The user has no active factor. */
      reason: 'not_enrolled';
    };

/** The outcome of {@link MFA.reencryptSecret}. */
export type ReencryptSecretResult =
  | {
      /** The secret is sealed under the cipher's current key. */
      ok: true;
      /** Whether it had to be sealed again (`false`: it already was current). */
      reencrypted: boolean;
    }
  | {
      /** Nothing was changed. */
      ok: false;
      /** The user has no active factor (or it was replaced meanwhile). */
      reason: 'not_enrolled';
    };

/** A user's MFA state, for account pages and admin tools. No secrets. */
export interface MFAStatus {
  /** `'active'` if a factor is bound, else `'pending'` during an enrollment, else `'none'`. */
  state: 'none' | 'pending' | 'active';
  /** When the factor was bound, or `null`. */
  activatedAt: number | null;
  /** When the pending (re-)enrollment expires, or `null` if none. */
  pendingExpiresAt: number | null;
  /** Unused recovery codes. */
  recoveryCodesRemaining: number;
  /** The estimated device clock offset in steps, or `null` without a factor. */
  drift: number | null;
  /** Whether TOTP codes are locked (failure cap reached) until a recovery code or an unlock. */
  locked: boolean;
  /** Whether recovery codes are locked (their failure cap reached) until an unlock. */
  recoveryLocked: boolean;
  /** Milliseconds until a TOTP code may be tried again (0: now). */
  retryAfterMs: number;
}

/** The service returned by {@link createMFA}. All methods are safe to call concurrently. */
export interface MFA {
  /**
   * Starts (or restarts) an enrollment: a new secret, sealed and stored as
   * pending until two consecutive codes bind it (see
   * {@link MFA.completeEnrollment}). A previous pending enrollment is replaced.
   *
   * @param userId - your stable user id (1–256 characters)
   * @param options - `accountName`, and `replaceActive` to re-enroll a user who
   *   has a factor (re-authenticate the user first)
   * @returns `{ secret, uri, expiresAt }`; `secret` and `uri` are non-enumerable
   * @throws TypeError / RangeError for an invalid argument; {@link MFAError}
   *   `'ERR_ALREADY_ENROLLED'` if the user has an active factor and
   *   `replaceActive` is not set; `'ERR_STORE'`, `'ERR_CIPHER'`
   * @example
   * ```ts
   * import { createMFA } from 'totpkit';
   * const { secret, uri, expiresAt } = await mfa.beginEnrollment(user.id, {
   *   accountName: user.email,
   * });
   * // show `uri` as a QR code and `secret` as text, then ask for two consecutive codes
   * ```
   */
  beginEnrollment(userId: string, options: BeginEnrollmentOptions): Promise<BeginEnrollmentResult>;

  /**
   * Binds the pending enrollment with two consecutive codes from the app
   * (searched within `bindingWindow` steps of now), measures the device clock's
   * offset, and issues recovery codes. The second code's step counts as used.
   *
   * @param userId - the user
   * @param code1 - the first code the app showed (spaces are ignored)
   * @param code2 - the code that followed it
   * @returns `{ ok: true, recoveryCodes }` or a refusal with a
   *   {@link CompleteEnrollmentFailure}
   * @throws TypeError if a code is not a string; {@link MFAError} `'ERR_STORE'`,
   *   `'ERR_CIPHER'`
   * @example
   * ```ts
   * import { createMFA } from 'totpkit';
   * const result = await mfa.completeEnrollment(user.id, form.code1, form.code2);
   * if (result.ok) showOnce(result.recoveryCodes);
   * else if (result.reason === 'same_code') say('Wait for the next code, then enter it.');
   * ```
   */
  completeEnrollment(
    userId: string,
    code1: string,
    code2: string,
  ): Promise<CompleteEnrollmentResult>;

  /**
   * Checks a login code: within `window` steps of `now + drift`, not a step
   * already used, inside the attempt budget (reserved before the check).
   * Success records the step, so the same code never works twice.
   *
   * @param userId - the user
   * @param code - the code as typed (surrounding and inner spaces are ignored)
   * @returns `{ ok: true }` or a refusal with a {@link VerifyFailure}
   * @throws TypeError if `code` is not a string; {@link MFAError} `'ERR_STORE'`,
   *   `'ERR_CIPHER'` (never `ok: true` unless the step was recorded)
   * @example
   * ```ts
   * import { createMFA } from 'totpkit';
   * const result = await mfa.verify(user.id, '123 456');
   * if (result.ok) signIn(user);
   * else if (result.reason === 'throttled') say(`Try again in ${Math.ceil(result.retryAfterMs / 1000)} s`);
   * ```
   */
  verify(userId: string, code: string): Promise<VerifyResult>;

  /**
   * Measures a drifted device clock again from two consecutive codes (as at
   * binding) and records their steps as used. Use it after `'resync_required'`
   * or repeated `'mismatch'` from a user whose codes look right.
   *
   * @param userId - the user
   * @param code1 - a code
   * @param code2 - the code that followed it
   * @returns `{ ok: true, drift }` or a refusal with a {@link ResyncFailure}
   * @throws TypeError if a code is not a string; {@link MFAError} `'ERR_STORE'`, `'ERR_CIPHER'`
   * @example
   * ```ts
   * import { createMFA } from 'totpkit';
   * const result = await mfa.resync(user.id, form.code1, form.code2);
   * ```
   */
  resync(userId: string, code1: string, code2: string): Promise<ResyncResult>;

  /**
   * Spends one recovery code: one KDF evaluation, compared with every unused
   * hash, then removed atomically (single use under concurrency). Success also
   * resets both throttle scopes, so it unlocks a locked user. Recovery codes
   * have their own attempt budget.
   *
   * @param userId - the user
   * @param code - the code as typed (case, spaces and dashes are ignored)
   * @returns `{ ok: true, remaining }` or a refusal with a {@link RecoveryCodeFailure}
   * @throws TypeError if `code` is not a string; {@link MFAError} `'ERR_STORE'`
   * @example
   * ```ts
   * import { createMFA } from 'totpkit';
   * const result = await mfa.useRecoveryCode(user.id, 'abcd efgh jkmn');
   * if (result.ok && result.remaining < 3) suggestNewCodes();
   * ```
   */
  useRecoveryCode(userId: string, code: string): Promise<UseRecoveryCodeResult>;

  /**
   * Issues a new set of recovery codes, replacing (invalidating) the old set.
   * Re-authenticate the user first.
   *
   * @param userId - the user
   * @returns `{ ok: true, recoveryCodes }` (non-enumerable) or `{ ok: false, reason: 'not_enrolled' }`
   * @throws {@link MFAError} `'ERR_STORE'`
   * @example
   * ```ts
   * import { createMFA } from 'totpkit';
   * const result = await mfa.regenerateRecoveryCodes(user.id);
   * if (result.ok) showOnce(result.recoveryCodes);
   * ```
   */
  regenerateRecoveryCodes(userId: string): Promise<RegenerateRecoveryCodesResult>;

  /**
   * Reads a user's state.
   *
   * @param userId - the user
   * @returns the {@link MFAStatus}
   * @throws {@link MFAError} `'ERR_STORE'`
   * @example
   * ```ts
   * import { createMFA } from 'totpkit';
   * const { state } = await mfa.status(user.id); // 'none' | 'pending' | 'active'
   * ```
   */
  status(userId: string): Promise<MFAStatus>;

  /**
   * Removes the factor, any pending enrollment and the recovery codes. Throttle
   * state is kept, so disabling does not lift a lock. Re-authenticate first.
   *
   * @param userId - the user
   * @returns whether there was anything to remove
   * @throws {@link MFAError} `'ERR_STORE'`
   * @example
   * ```ts
   * import { createMFA } from 'totpkit';
   * await mfa.disable(user.id);
   * ```
   */
  disable(userId: string): Promise<boolean>;

  /**
   * Admin unlock: resets the throttle of one scope, or both.
   *
   * @param userId - the user
   * @param scope - `'otp'` or `'recovery'`; default both
   * @returns when done
   * @throws RangeError for an unknown scope; {@link MFAError} `'ERR_STORE'`
   * @example
   * ```ts
   * import { createMFA } from 'totpkit';
   * await mfa.unlock(userId); // after verifying the user's identity out of band
   * ```
   */
  unlock(userId: string, scope?: ThrottleScope): Promise<void>;

  /**
   * Seals the user's secret again if the cipher says it is not under the
   * current key (`needsReencryption`), e.g. after a key rotation. Run it over
   * your users in a migration; pending enrollments expire on their own.
   *
   * @param userId - the user
   * @returns `{ ok: true, reencrypted }` or `{ ok: false, reason: 'not_enrolled' }`
   * @throws {@link MFAError} `'ERR_STORE'`, `'ERR_CIPHER'`
   * @example
   * ```ts
   * import { createMFA } from 'totpkit';
   * for (const id of userIds) await mfa.reencryptSecret(id);
   * ```
   */
  reencryptSecret(userId: string): Promise<ReencryptSecretResult>;
}

const STORE_METHODS = [
  'getUser',
  'putPending',
  'activatePending',
  'reserveAttempt',
  'recordSuccess',
  'replaceRecoveryCodes',
  'replaceSealedSecret',
  'consumeRecoveryCode',
  'resetThrottle',
  'deleteFactor',
] as const satisfies readonly (keyof MFAStore)[];

/** Wraps each store method so that a rejection becomes `MFAError('ERR_STORE')`. */
function guardStore(store: MFAStore): MFAStore {
  const guarded: Partial<Record<keyof MFAStore, unknown>> = {};
  for (const name of STORE_METHODS) {
    const method = store[name] as (...args: unknown[]) => Promise<unknown>;
    guarded[name] = async (...args: unknown[]) => {
      try {
        return await method.apply(store, args);
      } catch (cause) {
        throw new MFAError('ERR_STORE', `store.${name} failed`, { cause });
      }
    };
  }
  return guarded as MFAStore;
}

/** Defines `secrets` on `result` as non-enumerable, read-only properties. */
function withHidden<T extends object, S extends object>(result: T, secrets: S): T & S {
  for (const [key, value] of Object.entries(secrets)) {
    Object.defineProperty(result, key, { value, enumerable: false });
  }
  return result as T & S;
}

/** Spaces (also inner ones, `123 456`) removed; full-width digits made ASCII by NFKC. */
function normalizeCode(code: unknown, field: string): string {
  if (typeof code !== 'string') {
    throw new TypeError(`"${field}" must be a string, got ${describe(code)}`);
  }
  return code.length > 64 ? '' : code.normalize('NFKC').replace(/\s/g, '');
}

function isCode(code: string, digits: number): boolean {
  return code.length === digits && /^[0-9]+$/.test(code);
}

function paramsOf({ algorithm, digits, period }: FactorParams): FactorParams {
  return { algorithm, digits, period };
}

function checkUserId(userId: unknown): string {
  return checkString(userId, 'userId', 256);
}

type Flow = ThrottledEvent['flow'];
type Refusal = MFARefusal<'throttled' | 'locked'>;

class MFAService implements MFA {
  readonly #store: MFAStore;
  readonly #issuer: string;
  readonly #cipher: SecretCipher;
  readonly #clock: () => number;
  readonly #policy: MFAPolicy;
  readonly #params: FactorParams;
  readonly #onEvent: ((event: MFAEvent) => void) | undefined;
  readonly #hasher = new RecoveryCodeHasher();

  constructor(options: MFAOptions) {
    const { store, issuer, cipher, clock, policy, totp, onEvent } = checkOptions(options);
    if (store === null || typeof store !== 'object') {
      throw new TypeError(`"store" must be an MFAStore, got ${describe(store)}`);
    }
    for (const name of STORE_METHODS) {
      if (typeof store[name] !== 'function') {
        throw new TypeError(`"store.${name}" must be a function, got ${describe(store[name])}`);
      }
    }
    if (cipher === null || typeof cipher !== 'object') {
      throw new TypeError(
        `"cipher" must be a SecretCipher (createAESGCMCipher, or plaintextCipher() to store ` +
          `secrets unencrypted), got ${describe(cipher)}`,
      );
    }
    for (const name of ['encrypt', 'decrypt'] as const) {
      if (typeof cipher[name] !== 'function') {
        throw new TypeError(`"cipher.${name}" must be a function, got ${describe(cipher[name])}`);
      }
    }
    checkString(issuer, 'issuer', 256);
    if ((issuer as string).includes(':')) throw new RangeError('"issuer" must not contain ":"');
    for (const [field, fn] of [
      ['clock', clock],
      ['onEvent', onEvent],
    ] as const) {
      if (fn !== undefined && typeof fn !== 'function') {
        throw new TypeError(`"${field}" must be a function, got ${describe(fn)}`);
      }
    }
    const { algorithm = 'SHA1', digits = 6, period = 30 } = checkOptions(totp, 'totp');
    const key = createTOTPKey(new Uint8Array(20), { algorithm, digits, period }); // validates
    this.#params = { algorithm: key.algorithm, digits: key.digits, period: key.period };
    this.#store = guardStore(store);
    this.#issuer = issuer as string;
    this.#cipher = cipher;
    this.#clock = clock ?? Date.now;
    this.#policy = resolvePolicy(policy);
    this.#onEvent = onEvent;
  }

  // ── helpers ──────────────────────────────────────────────────────────────

  #now(): number {
    return checkNow(this.#clock(), 'clock()');
  }

  #emit(event: MFAEvent): void {
    this.#onEvent?.(Object.freeze(event));
  }

  async #seal(userId: string, secret: Uint8Array): Promise<string> {
    let sealed: unknown;
    try {
      sealed = await this.#cipher.encrypt(secret, userId);
    } catch (cause) {
      if (cause instanceof MFAError) throw cause;
      throw new MFAError('ERR_CIPHER', 'cipher.encrypt failed', { cause });
    }
    if (typeof sealed !== 'string' || sealed.length === 0) {
      throw new MFAError('ERR_CIPHER', `cipher.encrypt must return a non-empty string`);
    }
    return sealed;
  }

  /**
   * Opens a sealed secret, runs `use` on it, then wipes the plaintext (best
   * effort: a JavaScript string or engine copy cannot be wiped). Codes were
   * validated before, so anything `use` throws comes from a corrupt record.
   */
  async #withSecret<T>(userId: string, sealed: string, use: (secret: Uint8Array) => T): Promise<T> {
    let secret: unknown;
    try {
      secret = await this.#cipher.decrypt(sealed, userId);
    } catch (cause) {
      if (cause instanceof MFAError) throw cause;
      throw new MFAError('ERR_CIPHER', 'cipher.decrypt failed', { cause });
    }
    if (!(secret instanceof Uint8Array) || secret.length === 0 || secret.length > 1024) {
      throw new MFAError('ERR_CIPHER', 'cipher.decrypt must return a non-empty Uint8Array');
    }
    try {
      return use(secret);
    } catch (cause) {
      throw new MFAError('ERR_STORE', 'the stored factor is invalid', { cause });
    } finally {
      secret.fill(0);
    }
  }

  /** Reserves an attempt; on refusal emits `throttled` and returns the refusal. */
  async #reserve(
    userId: string,
    scope: ThrottleScope,
    now: number,
    flow: Flow,
  ): Promise<{ failures: number } | Refusal> {
    const policy = scope === 'otp' ? this.#policy.throttle : this.#policy.recoveryThrottle;
    const reservation = await this.#store.reserveAttempt(userId, scope, now, policy);
    if (reservation.ok === true && Number.isInteger(reservation.failures)) {
      return { failures: reservation.failures };
    }
    if (reservation.ok === false && reservation.reason === 'locked') {
      this.#emit({
        type: 'throttled',
        userId,
        at: now,
        flow,
        reason: 'locked',
        retryAfterMs: null,
      });
      return { ok: false, reason: 'locked' };
    }
    const retryAfterMs = reservation.ok === false ? reservation.retryAfterMs : undefined;
    if (
      reservation.ok !== false ||
      reservation.reason !== 'throttled' ||
      typeof retryAfterMs !== 'number' ||
      !(retryAfterMs >= 0)
    ) {
      throw new MFAError('ERR_STORE', 'store.reserveAttempt returned an invalid reservation');
    }
    this.#emit({ type: 'throttled', userId, at: now, flow, reason: 'throttled', retryAfterMs });
    return { ok: false, reason: 'throttled', retryAfterMs };
  }

  /** After a failed check: reports the lock if this attempt reached the cap. */
  #failed(userId: string, scope: ThrottleScope, now: number, failures: number): void {
    const policy = scope === 'otp' ? this.#policy.throttle : this.#policy.recoveryThrottle;
    if (failures >= policy.maxFailures) this.#emit({ type: 'locked', userId, at: now, scope });
  }

  // ── enrollment ───────────────────────────────────────────────────────────

  async beginEnrollment(
    userId: string,
    options: BeginEnrollmentOptions,
  ): Promise<BeginEnrollmentResult> {
    checkUserId(userId);
    const { accountName, replaceActive = false } = checkOptions(options);
    if (typeof replaceActive !== 'boolean') {
      throw new TypeError(`"replaceActive" must be a boolean, got ${describe(replaceActive)}`);
    }
    const now = this.#now();
    const secret = generateSecret({ bytes: 20 });
    const uri = buildKeyURI({
      secret,
      accountName: accountName as string,
      issuer: this.#issuer,
      ...this.#params,
    });
    const pending: PendingEnrollment = {
      id: globalThis.crypto.randomUUID(),
      sealedSecret: await this.#seal(userId, secret),
      ...this.#params,
      createdAt: now,
      expiresAt: now + this.#policy.pendingTtlMs,
    };
    const base32 = encodeBase32(secret);
    secret.fill(0);
    if (!(await this.#store.putPending(userId, pending, replaceActive))) {
      throw new MFAError(
        'ERR_ALREADY_ENROLLED',
        'the user already has an active factor; pass replaceActive: true to replace it',
      );
    }
    this.#emit({
      type: 'enrollment_started',
      userId,
      at: now,
      expiresAt: pending.expiresAt,
      replacesActive: replaceActive,
    });
    return withHidden({ expiresAt: pending.expiresAt }, { secret: base32, uri });
  }

  async completeEnrollment(
    userId: string,
    code1: string,
    code2: string,
  ): Promise<CompleteEnrollmentResult> {
    checkUserId(userId);
    const first = normalizeCode(code1, 'code1');
    const second = normalizeCode(code2, 'code2');
    const now = this.#now();
    const fail = (reason: Exclude<CompleteEnrollmentFailure, 'throttled' | 'locked'>) => {
      this.#emit({ type: 'enrollment_failed', userId, at: now, reason });
      return { ok: false as const, reason };
    };
    const pending = (await this.#store.getUser(userId, now))?.pending;
    if (!pending) return fail('not_pending');
    if (pending.expiresAt <= now) return fail('expired');
    if (!isCode(first, pending.digits) || !isCode(second, pending.digits)) return fail('malformed');
    if (first === second) return fail('same_code');

    const reservation = await this.#reserve(userId, 'otp', now, 'enrollment');
    if ('ok' in reservation) return reservation;
    const binding = await this.#withSecret(userId, pending.sealedSecret, (secret) =>
      verifyConsecutiveTOTP(secret, [first, second], {
        ...paramsOf(pending),
        now,
        window: this.#policy.bindingWindow,
      }),
    );
    if (!binding.ok) {
      const result = fail(binding.reason === 'replayed' ? 'mismatch' : binding.reason);
      this.#failed(userId, 'otp', now, reservation.failures);
      return result;
    }
    const { codes, set } = await this.#hasher.createSet(
      this.#policy.recoveryCodeCount,
      this.#policy.recoveryCodeScrypt,
      userId,
    );
    const activated = await this.#store.activatePending(userId, pending.id, {
      factorId: globalThis.crypto.randomUUID(),
      lastStep: binding.step,
      drift: binding.drift,
      now,
      recoveryCodes: set,
    });
    if (!activated) return fail('not_pending');
    this.#emit({
      type: 'enrollment_completed',
      userId,
      at: now,
      drift: binding.drift,
      recoveryCodes: codes.length,
    });
    return withHidden({ ok: true as const }, { recoveryCodes: Object.freeze(codes) });
  }

  // ── login ────────────────────────────────────────────────────────────────

  async verify(userId: string, code: string): Promise<VerifyResult> {
    checkUserId(userId);
    const input = normalizeCode(code, 'code');
    const now = this.#now();
    const fail = (reason: 'not_enrolled' | 'malformed' | 'mismatch' | 'resync_required') => {
      this.#emit({ type: 'verify_failed', userId, at: now, reason });
      return { ok: false as const, reason };
    };
    const replayed = () => {
      this.#emit({ type: 'verify_replayed', userId, at: now });
      return { ok: false as const, reason: 'replayed' as const };
    };
    const factor = (await this.#store.getUser(userId, now))?.active;
    if (!factor) return fail('not_enrolled');
    if (!isCode(input, factor.digits)) return fail('malformed');

    const reservation = await this.#reserve(userId, 'otp', now, 'verify');
    if ('ok' in reservation) return reservation;
    const { result, current } = await this.#withSecret(userId, factor.sealedSecret, (secret) => {
      const key = createTOTPKey(secret, paramsOf(factor));
      const result = key.verify(input, {
        // The window is centred on the device's estimated clock: whole steps ahead.
        now: now + factor.drift * factor.period * 1000,
        window: this.#policy.window,
        afterStep: factor.lastStep,
      });
      return { result, current: key.step(now) };
    });
    let outcome: VerifyResult;
    if (!result.ok) {
      outcome = result.reason === 'replayed' ? replayed() : fail(result.reason);
    } else {
      const drift = result.step - current;
      // verify follows a drifting clock only up to maxDrift (or the offset last
      // proven by two consecutive codes); further needs a resync.
      if (Math.abs(drift) > Math.max(this.#policy.maxDrift, Math.abs(factor.drift))) {
        outcome = fail('resync_required');
      } else if (!(await this.#store.recordSuccess(userId, factor.id, result.step, drift))) {
        outcome = replayed();
      } else {
        this.#emit({ type: 'verify_succeeded', userId, at: now, drift });
        return { ok: true };
      }
    }
    this.#failed(userId, 'otp', now, reservation.failures);
    return outcome;
  }

  async resync(userId: string, code1: string, code2: string): Promise<ResyncResult> {
    checkUserId(userId);
    const first = normalizeCode(code1, 'code1');
    const second = normalizeCode(code2, 'code2');
    const now = this.#now();
    const fail = (reason: Exclude<ResyncFailure, 'throttled' | 'locked'>) => {
      this.#emit({ type: 'resync_failed', userId, at: now, reason });
      return { ok: false as const, reason };
    };
    const factor: ActiveFactor | null | undefined = (await this.#store.getUser(userId, now))
      ?.active;
    if (!factor) return fail('not_enrolled');
    if (!isCode(first, factor.digits) || !isCode(second, factor.digits)) return fail('malformed');
    if (first === second) return fail('same_code');

    const reservation = await this.#reserve(userId, 'otp', now, 'resync');
    if ('ok' in reservation) return reservation;
    const binding = await this.#withSecret(userId, factor.sealedSecret, (secret) =>
      verifyConsecutiveTOTP(secret, [first, second], {
        ...paramsOf(factor),
        now,
        window: this.#policy.bindingWindow,
        afterStep: factor.lastStep,
      }),
    );
    let outcome: ResyncResult;
    if (!binding.ok) {
      outcome = fail(binding.reason);
    } else if (!(await this.#store.recordSuccess(userId, factor.id, binding.step, binding.drift))) {
      outcome = fail('replayed');
    } else {
      this.#emit({ type: 'resynced', userId, at: now, drift: binding.drift });
      return { ok: true, drift: binding.drift };
    }
    this.#failed(userId, 'otp', now, reservation.failures);
    return outcome;
  }

  // ── recovery codes ───────────────────────────────────────────────────────

  async useRecoveryCode(userId: string, code: string): Promise<UseRecoveryCodeResult> {
    checkUserId(userId);
    if (typeof code !== 'string') {
      throw new TypeError(`"code" must be a string, got ${describe(code)}`);
    }
    const input = normalizeRecoveryCode(code);
    const now = this.#now();
    const fail = (reason: 'not_enrolled' | 'malformed' | 'mismatch' | 'replayed') => {
      this.#emit({ type: 'recovery_code_failed', userId, at: now, reason });
      return { ok: false as const, reason };
    };
    const record = await this.#store.getUser(userId, now);
    if (!record?.active) return fail('not_enrolled');
    if (input === null) return fail('malformed');

    const reservation = await this.#reserve(userId, 'recovery', now, 'recovery');
    if ('ok' in reservation) return reservation;
    const set = record.recoveryCodes;
    const match = set && set.hashes.length > 0 ? await this.#hasher.find(input, set, userId) : null;
    if (match === undefined) {
      throw new MFAError('ERR_STORE', 'the stored recovery code set has an invalid salt');
    }
    let outcome: UseRecoveryCodeResult;
    if (match === null) {
      outcome = fail('mismatch');
    } else if (!(await this.#store.consumeRecoveryCode(userId, match))) {
      outcome = fail('replayed');
    } else {
      const remaining = (set as { hashes: string[] }).hashes.length - 1;
      this.#emit({ type: 'recovery_code_used', userId, at: now, remaining });
      return { ok: true, remaining };
    }
    this.#failed(userId, 'recovery', now, reservation.failures);
    return outcome;
  }

  async regenerateRecoveryCodes(userId: string): Promise<RegenerateRecoveryCodesResult> {
    checkUserId(userId);
    const now = this.#now();
    const factor = (await this.#store.getUser(userId, now))?.active;
    if (!factor) return { ok: false, reason: 'not_enrolled' };
    const { codes, set } = await this.#hasher.createSet(
      this.#policy.recoveryCodeCount,
      this.#policy.recoveryCodeScrypt,
      userId,
    );
    if (!(await this.#store.replaceRecoveryCodes(userId, factor.id, set))) {
      return { ok: false, reason: 'not_enrolled' };
    }
    this.#emit({ type: 'recovery_codes_regenerated', userId, at: now, count: codes.length });
    return withHidden({ ok: true as const }, { recoveryCodes: Object.freeze(codes) });
  }

  // ── account management ───────────────────────────────────────────────────

  async status(userId: string): Promise<MFAStatus> {
    checkUserId(userId);
    const now = this.#now();
    const record = await this.#store.getUser(userId, now);
    const active = record?.active ?? null;
    const pending = record?.pending && record.pending.expiresAt > now ? record.pending : null;
    const otp = record?.throttle.otp ?? { failures: 0, blockedUntil: 0 };
    const recovery = record?.throttle.recovery ?? { failures: 0, blockedUntil: 0 };
    return {
      state: active ? 'active' : pending ? 'pending' : 'none',
      activatedAt: active?.activatedAt ?? null,
      pendingExpiresAt: pending?.expiresAt ?? null,
      recoveryCodesRemaining: active ? (record?.recoveryCodes?.hashes.length ?? 0) : 0,
      drift: active?.drift ?? null,
      locked: otp.failures >= this.#policy.throttle.maxFailures,
      recoveryLocked: recovery.failures >= this.#policy.recoveryThrottle.maxFailures,
      retryAfterMs: Math.max(0, otp.blockedUntil - now),
    };
  }

  async disable(userId: string): Promise<boolean> {
    checkUserId(userId);
    const now = this.#now();
    const removed = (await this.#store.deleteFactor(userId)) === true;
    if (removed) this.#emit({ type: 'disabled', userId, at: now });
    return removed;
  }

  async unlock(userId: string, scope?: ThrottleScope): Promise<void> {
    checkUserId(userId);
    if (scope !== undefined && scope !== 'otp' && scope !== 'recovery') {
      throw new RangeError(`"scope" must be 'otp' or 'recovery', got ${describe(scope)}`);
    }
    const now = this.#now();
    const scopes: ThrottleScope[] = scope === undefined ? ['otp', 'recovery'] : [scope];
    for (const s of scopes) await this.#store.resetThrottle(userId, s);
    this.#emit({ type: 'unlocked', userId, at: now, scopes });
  }

  async reencryptSecret(userId: string): Promise<ReencryptSecretResult> {
    checkUserId(userId);
    const now = this.#now();
    const factor = (await this.#store.getUser(userId, now))?.active;
    if (!factor) return { ok: false, reason: 'not_enrolled' };
    if (this.#cipher.needsReencryption?.(factor.sealedSecret) === false) {
      return { ok: true, reencrypted: false };
    }
    // Seal a copy: #withSecret wipes the plaintext when the callback returns.
    const copy = await this.#withSecret(userId, factor.sealedSecret, (secret) => secret.slice());
    const sealed = await this.#seal(userId, copy).finally(() => copy.fill(0));
    if (!(await this.#store.replaceSealedSecret(userId, factor.id, sealed))) {
      return { ok: false, reason: 'not_enrolled' };
    }
    this.#emit({ type: 'secret_reencrypted', userId, at: now });
    return { ok: true, reencrypted: true };
  }

  /** A description without any state. */
  toString(): string {
    return `MFA(${this.#issuer})`;
  }
}

/**
 * Creates the MFA service. See the guide "Enrollment and verification" for
 * the whole flow and the reasons to show users.
 *
 * @param options - `store`, `issuer`, `cipher` (required), and `clock`,
 *   `policy`, `totp`, `onEvent`
 * @returns the {@link MFA} service
 * @throws TypeError / RangeError naming the invalid option
 * @example
 * ```ts
 * import { createAESGCMCipher, createMFA, MemoryStore } from 'totpkit';
 * const mfa = createMFA({
 *   store: new MemoryStore(),
 *   issuer: 'Acme',
 *   cipher: createAESGCMCipher({ keys: { k1: key32Bytes }, primaryKeyId: 'k1' }),
 *   onEvent: (event) => auditLog.write(event),
 * });
 * const { uri } = await mfa.beginEnrollment('user-42', { accountName: 'alice@example.com' });
 * ```
 */
export function createMFA(options: MFAOptions): MFA {
  return new MFAService(options);
}
