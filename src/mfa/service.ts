/**
 * The MFA service: enrollment bound by two consecutive codes, login
 * verification with replay protection, drift tracking and throttling, recovery
 * codes, and secrets sealed at rest, on top of any {@link MFAStore}.
 *
 * Every method reads the clock once, reads at most one record, checks codes
 * with the primitives and makes each decision final with one conditional
 * store write (after reserving an attempt, for methods that check a code).
 * With a store that has the optional `readAndReserve`, the read and the
 * reservation are one store operation, so a code check costs two round trips
 * when it succeeds and one when it fails.
 * @module
 */
import {
  checkAlgorithm,
  checkDigits,
  checkNow,
  checkOptions,
  checkPeriod,
  checkString,
  describe,
  OTP_DEFAULTS,
  ownData,
} from '../_assert.ts';
import { encodeBase32 } from '../base32.ts';
import { verifyConsecutiveTOTP } from '../binding.ts';
import { MFAError } from '../errors.ts';
import { generateSecret } from '../secret.ts';
import {
  meetsRequirement,
  REQUIRED_STORE_METHODS,
  type AttemptRequirement,
  type AttemptReservation,
  type FactorParams,
  type MFAStore,
  type PendingEnrollment,
  type ThrottleScope,
  type UserRecord,
} from '../store/types.ts';
import { storeError } from '../store/_scrub.ts';
import { createTOTPKey } from '../totp.ts';
import { buildKeyURI } from '../uri.ts';
import { deliverEvent, type EventErrorHandler } from './_emit.ts';
import type { SecretCipher } from './cipher.ts';
import type { MFAEvent, ThrottledEvent } from './events.ts';
import {
  checkCodeType,
  checkUserId,
  isCode,
  normalizeCode,
  pairProblem,
  paramsOf,
  withHidden,
} from './input.ts';
import { resolvePolicy, type MFAPolicy } from './policy.ts';
import { normalizeRecoveryCode, RecoveryCodeHasher } from './recovery.ts';
import type {
  BeginEnrollmentOptions,
  BeginEnrollmentResult,
  CompleteEnrollmentFailure,
  CompleteEnrollmentResult,
  MFA,
  MFAOptions,
  MFARefusal,
  MFAStatus,
  ReencryptSecretResult,
  RegenerateRecoveryCodesResult,
  ResyncFailure,
  ResyncResult,
  UseRecoveryCodeResult,
  VerifyResult,
} from './types.ts';

const STORE_METHODS = REQUIRED_STORE_METHODS satisfies readonly (keyof MFAStore)[];

/** Store methods the service uses when a store has them. */
const OPTIONAL_STORE_METHODS = ['readAndReserve'] as const satisfies readonly (keyof MFAStore)[];

/**
 * Wraps each store method so that a rejection becomes `MFAError('ERR_STORE')`
 * with a scrubbed cause, and records are read as own properties only.
 */
function guardStore(store: MFAStore): MFAStore {
  const guarded: Partial<Record<keyof MFAStore, unknown>> = {};
  for (const name of [...STORE_METHODS, ...OPTIONAL_STORE_METHODS]) {
    if (store[name] === undefined) continue;
    const method = store[name] as (...args: unknown[]) => Promise<unknown>;
    guarded[name] = async (...args: unknown[]) => {
      try {
        return ownData(await method.apply(store, args));
      } catch (cause) {
        throw storeError(`store.${name}`, cause, args);
      }
    };
  }
  return guarded as MFAStore;
}

type Flow = ThrottledEvent['flow'];
type Refusal = MFARefusal<'throttled' | 'locked'>;
/** A flow's own failure result, as `select` in `#readForAttempt` returns it. */
type Failure = { ok: false };

function isFailure<R extends object>(value: R): value is Extract<R, Failure> {
  return 'ok' in value;
}

class MFAService implements MFA {
  readonly #store: MFAStore;
  readonly #issuer: string;
  readonly #cipher: SecretCipher;
  readonly #clock: () => number;
  readonly #policy: MFAPolicy;
  readonly #params: FactorParams;
  readonly #onEvent: ((event: MFAEvent) => unknown) | undefined;
  readonly #onEventError: EventErrorHandler | undefined;
  readonly #hasher = new RecoveryCodeHasher();

  constructor(options: MFAOptions) {
    const { store, issuer, cipher, clock, policy, totp, onEvent, onEventError } =
      checkOptions(options);
    if (store === null || typeof store !== 'object') {
      throw new TypeError(`"store" must be an MFAStore, got ${describe(store)}`);
    }
    for (const name of STORE_METHODS) {
      if (typeof store[name] !== 'function') {
        throw new TypeError(`"store.${name}" must be a function, got ${describe(store[name])}`);
      }
    }
    for (const name of OPTIONAL_STORE_METHODS) {
      if (store[name] !== undefined && typeof store[name] !== 'function') {
        throw new TypeError(
          `"store.${name}" must be a function or undefined, got ${describe(store[name])}`,
        );
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
    this.#issuer = checkString(issuer, 'issuer', 256);
    if (this.#issuer.includes(':')) throw new RangeError('"issuer" must not contain ":"');
    for (const [field, fn] of [
      ['clock', clock],
      ['onEvent', onEvent],
      ['onEventError', onEventError],
    ] as const) {
      if (fn !== undefined && typeof fn !== 'function') {
        throw new TypeError(`"${field}" must be a function, got ${describe(fn)}`);
      }
    }
    const {
      algorithm = OTP_DEFAULTS.algorithm,
      digits = OTP_DEFAULTS.digits,
      period = OTP_DEFAULTS.period,
    } = checkOptions(totp, 'totp');
    this.#params = {
      algorithm: checkAlgorithm(algorithm, 'totp.algorithm'),
      digits: checkDigits(digits, 'totp.digits'),
      period: checkPeriod(period, 'totp.period'),
    };
    this.#store = guardStore(store);
    this.#cipher = cipher;
    this.#clock = clock ?? Date.now;
    this.#policy = resolvePolicy(policy);
    this.#onEvent = onEvent;
    this.#onEventError = onEventError;
  }

  // ── helpers ──────────────────────────────────────────────────────────────

  #now(): number {
    return checkNow(this.#clock(), 'clock()');
  }

  #emit(event: MFAEvent): void {
    deliverEvent(this.#onEvent, this.#onEventError, event);
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
      throw new MFAError(
        'ERR_CIPHER',
        'cipher.decrypt must return a Uint8Array of 1 to 1024 bytes',
      );
    }
    try {
      return use(secret);
    } catch (cause) {
      throw new MFAError('ERR_STORE', 'the stored factor is invalid', { cause });
    } finally {
      secret.fill(0);
    }
  }

  #throttlePolicy(scope: ThrottleScope) {
    return scope === 'otp' ? this.#policy.throttle : this.#policy.recoveryThrottle;
  }

  /** Checks a reservation a store returned; anything malformed is `ERR_STORE`. */
  #checkReservation(reservation: unknown, from: string): AttemptReservation {
    const r = reservation as AttemptReservation | null | undefined;
    if (r?.ok === true && Number.isInteger(r.failures)) return { ok: true, failures: r.failures };
    if (r?.ok === false && r.reason === 'locked') return { ok: false, reason: 'locked' };
    const retryAfterMs = r?.ok === false ? r.retryAfterMs : undefined;
    if (
      r?.ok !== false ||
      r.reason !== 'throttled' ||
      typeof retryAfterMs !== 'number' ||
      !(retryAfterMs >= 0)
    ) {
      throw new MFAError('ERR_STORE', `store.${from} returned an invalid reservation`);
    }
    return { ok: false, reason: 'throttled', retryAfterMs };
  }

  /** A granted reservation's failure count, or the refusal (after emitting `throttled`). */
  #admit(
    userId: string,
    reservation: AttemptReservation,
    now: number,
    flow: Flow,
  ): { failures: number } | Refusal {
    if (reservation.ok) return { failures: reservation.failures };
    const retryAfterMs = reservation.reason === 'locked' ? null : (reservation.retryAfterMs ?? 0);
    this.#emit({
      type: 'throttled',
      userId,
      at: now,
      flow,
      reason: reservation.reason,
      retryAfterMs,
    });
    return retryAfterMs === null
      ? { ok: false, reason: 'locked' }
      : { ok: false, reason: 'throttled', retryAfterMs };
  }

  /**
   * The read and the attempt reservation in front of every code check.
   * `select` picks what the flow needs from the record, or returns the flow's
   * failure (emitting its event) for a record the code cannot be checked
   * against: no factor, a code malformed for the factor's digits, …
   *
   * With a store that has `readAndReserve`, and input `wellFormed` (checked
   * without I/O against the service's configured digits), this is one store
   * operation, which reserves the attempt only if the record meets
   * `requirement`. Otherwise it is `getUser`, `select`, then `reserveAttempt`,
   * so that malformed input never costs an attempt. On both paths `select`
   * runs once, and its failure wins over a refused reservation.
   */
  async #readForAttempt<R extends object>(
    userId: string,
    scope: ThrottleScope,
    now: number,
    flow: Flow,
    requirement: AttemptRequirement,
    wellFormed: boolean,
    select: (record: UserRecord | null) => R,
  ): Promise<{ selected: Exclude<R, Failure>; failures: number } | Extract<R, Failure> | Refusal> {
    const policy = this.#throttlePolicy(scope);
    let selected: R;
    let reservation: AttemptReservation;
    if (this.#store.readAndReserve === undefined || !wellFormed) {
      selected = select(await this.#store.getUser(userId, now));
      if (isFailure(selected)) return selected;
      const reserved = await this.#store.reserveAttempt(userId, scope, now, policy);
      reservation = this.#checkReservation(reserved, 'reserveAttempt');
    } else {
      const read: unknown = await this.#store.readAndReserve(
        userId,
        scope,
        now,
        policy,
        requirement,
      );
      if (
        read === null ||
        typeof read !== 'object' ||
        !('record' in read) ||
        !('reservation' in read)
      ) {
        throw new MFAError('ERR_STORE', 'store.readAndReserve returned an invalid result');
      }
      const record = read.record as UserRecord | null;
      const reserved =
        read.reservation === null
          ? null
          : this.#checkReservation(read.reservation, 'readAndReserve');
      if (
        typeof record !== 'object' ||
        (reserved !== null) !== meetsRequirement(record, requirement, now)
      ) {
        throw new MFAError(
          'ERR_STORE',
          'store.readAndReserve returned a reservation that does not match its record',
        );
      }
      selected = select(record);
      if (isFailure(selected)) {
        // With an attempt reserved, only a code malformed for a factor (or
        // enrollment) whose digits differ from the service's configured ones
        // gets here: it counts, like any other failed attempt.
        if (reserved?.ok) this.#failed(userId, scope, now, reserved.failures);
        return selected;
      }
      // `select` accepts only records that meet the requirement, so there is one.
      reservation = reserved as AttemptReservation;
    }
    const admitted = this.#admit(userId, reservation, now, flow);
    return 'ok' in admitted
      ? admitted
      : { selected: selected as Exclude<R, Failure>, failures: admitted.failures };
  }

  /** After a failed check: reports the lock if this attempt reached the cap. */
  #failed(userId: string, scope: ThrottleScope, now: number, failures: number): void {
    if (failures >= this.#throttlePolicy(scope).maxFailures)
      this.#emit({ type: 'locked', userId, at: now, scope });
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
    let uri: string, base32: string, sealedSecret: string;
    try {
      uri = buildKeyURI({
        secret,
        accountName: accountName as string,
        issuer: this.#issuer,
        ...this.#params,
      });
      base32 = encodeBase32(secret);
      sealedSecret = await this.#seal(userId, secret);
    } finally {
      secret.fill(0); // best effort: `base32` and `uri` are strings and cannot be wiped
    }
    const pending: PendingEnrollment = {
      id: globalThis.crypto.randomUUID(),
      sealedSecret,
      ...this.#params,
      createdAt: now,
      expiresAt: now + this.#policy.pendingTtlMs,
    };
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
    const read = await this.#readForAttempt(
      userId,
      'otp',
      now,
      'enrollment',
      'pending',
      pairProblem(first, second, this.#params.digits) === null,
      (record) => {
        const pending = record?.pending;
        if (!pending) return fail('not_pending');
        if (pending.expiresAt <= now) return fail('expired');
        const problem = pairProblem(first, second, pending.digits);
        return problem === null ? pending : fail(problem);
      },
    );
    if ('ok' in read) return read;
    const { selected: pending, failures } = read;
    const binding = await this.#withSecret(userId, pending.sealedSecret, (secret) =>
      verifyConsecutiveTOTP(secret, [first, second], {
        ...paramsOf(pending),
        now,
        window: this.#policy.bindingWindow,
      }),
    );
    if (!binding.ok) {
      const result = fail(binding.reason === 'replayed' ? 'mismatch' : binding.reason);
      this.#failed(userId, 'otp', now, failures);
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
    const read = await this.#readForAttempt(
      userId,
      'otp',
      now,
      'verify',
      'active',
      isCode(input, this.#params.digits),
      (record) => {
        const factor = record?.active;
        if (!factor) return fail('not_enrolled');
        if (!isCode(input, factor.digits)) return fail('malformed');
        return factor;
      },
    );
    if ('ok' in read) return read;
    const { selected: factor, failures } = read;
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
    this.#failed(userId, 'otp', now, failures);
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
    const read = await this.#readForAttempt(
      userId,
      'otp',
      now,
      'resync',
      'active',
      pairProblem(first, second, this.#params.digits) === null,
      (record) => {
        const factor = record?.active;
        if (!factor) return fail('not_enrolled');
        const problem = pairProblem(first, second, factor.digits);
        return problem === null ? factor : fail(problem);
      },
    );
    if ('ok' in read) return read;
    const { selected: factor, failures } = read;
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
    } else if (
      // Both steps must be new at the write too, not only in the record read
      // before: claim the first code's step, then the second's (each write is
      // conditional on a newer step), so a step verify accepts meanwhile is never
      // accepted again as part of the pair.
      !(await this.#store.recordSuccess(userId, factor.id, binding.step - 1, binding.drift)) ||
      !(await this.#store.recordSuccess(userId, factor.id, binding.step, binding.drift))
    ) {
      outcome = fail('replayed');
    } else {
      this.#emit({ type: 'resynced', userId, at: now, drift: binding.drift });
      return { ok: true, drift: binding.drift };
    }
    this.#failed(userId, 'otp', now, failures);
    return outcome;
  }

  // ── recovery codes ───────────────────────────────────────────────────────

  async useRecoveryCode(userId: string, code: string): Promise<UseRecoveryCodeResult> {
    checkUserId(userId);
    const input = normalizeRecoveryCode(checkCodeType(code, 'code'));
    const now = this.#now();
    const fail = (reason: 'not_enrolled' | 'malformed' | 'mismatch' | 'replayed') => {
      this.#emit({ type: 'recovery_code_failed', userId, at: now, reason });
      return { ok: false as const, reason };
    };
    const read = await this.#readForAttempt(
      userId,
      'recovery',
      now,
      'recovery',
      'active',
      input !== null,
      (record) => {
        if (!record?.active) return fail('not_enrolled');
        if (input === null) return fail('malformed');
        return { set: record.recoveryCodes, normalized: input };
      },
    );
    if ('ok' in read) return read;
    const { set, normalized } = read.selected;
    const unused = set?.hashes.length ?? 0;
    const match = set && unused > 0 ? await this.#hasher.find(normalized, set, userId) : null;
    if (match === undefined) {
      throw new MFAError('ERR_STORE', 'the stored recovery code set has an invalid salt');
    }
    let outcome: UseRecoveryCodeResult;
    if (match === null) {
      outcome = fail('mismatch');
    } else if (!(await this.#store.consumeRecoveryCode(userId, match))) {
      outcome = fail('replayed');
    } else {
      const remaining = unused - 1;
      this.#emit({ type: 'recovery_code_used', userId, at: now, remaining });
      return { ok: true, remaining };
    }
    this.#failed(userId, 'recovery', now, read.failures);
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
 * ```ts fragment
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
