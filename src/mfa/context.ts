/**
 * What every flow of the MFA service shares (internal): the checked options,
 * the clock, events, sealing and opening secrets, and the read and attempt
 * reservation in front of every code check. The flows themselves live in
 * `enrollment.ts`, `login.ts`, `recovery-codes.ts` and `factors.ts`;
 * `service.ts` puts them together behind the {@link MFA} interface.
 * @module
 * @internal
 */
import {
  checkAlgorithm,
  checkDigits,
  checkNow,
  checkOptions,
  checkAppPeriod,
  checkString,
  describe,
  OTP_DEFAULTS,
  ownData,
} from '../_assert.ts';
import { MFAError } from '../errors.ts';
import {
  attemptLimit,
  meetsRequirement,
  REQUIRED_STORE_METHODS,
  type AttemptRequirement,
  type AttemptReservation,
  type FactorParams,
  type MFAStore,
  type RecoveryCodeSet,
  type ThrottleScope,
  type UserRecord,
} from '../store/types.ts';
import { storeError } from '../store/_scrub.ts';
import { deliverEvent, type EventErrorHandler } from './_emit.ts';
import type { SecretCipher } from './cipher.ts';
import type { MFAEvent, ThrottledEvent } from './events.ts';
import { resolvePolicy, type MFAPolicy } from './policy.ts';
import { RecoveryCodeHasher } from './recovery.ts';
import type { MFAOptions, MFARefusal } from './types.ts';

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

/** Which call a throttle refusal is reported for. */
export type Flow = ThrottledEvent['flow'];
/** A refusal by the throttle. */
export type Refusal = MFARefusal<'throttled' | 'locked'>;
/** A flow's own failure result, as `select` in `readForAttempt` returns it. */
export type Failure = { ok: false };

function isFailure<R extends object>(value: R): value is Extract<R, Failure> {
  return 'ok' in value;
}

/** Whether `error` is a cipher failure: such a failure never counts as a failed attempt. */
export function isCipherError(error: unknown): error is MFAError {
  return error instanceof MFAError && error.code === 'ERR_CIPHER';
}

/** A granted attempt: what the flow selected from the record, and how to take the attempt back. */
export interface Admitted<S> {
  /** What `select` picked from the record. */
  selected: S;
  /** The failure count including this attempt. */
  failures: number;
  /** Active factors in the record the decision was made on. */
  factorCount: number;
  /** Takes the attempt back (the secret could not be opened, so no code was checked). */
  refund: () => Promise<void>;
}

/** The service's checked options and the helpers every flow uses. */
export class MFAContext {
  readonly store: MFAStore;
  readonly issuer: string;
  readonly cipher: SecretCipher;
  readonly clock: () => number;
  readonly policy: MFAPolicy;
  readonly params: FactorParams;
  readonly onEvent: ((event: MFAEvent) => unknown) | undefined;
  readonly onEventError: EventErrorHandler | undefined;
  readonly hasher = new RecoveryCodeHasher();

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
    this.issuer = checkString(issuer, 'issuer', 256);
    if (this.issuer.includes(':')) throw new RangeError('"issuer" must not contain ":"');
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
    this.params = {
      algorithm: checkAlgorithm(algorithm, 'totp.algorithm'),
      digits: checkDigits(digits, 'totp.digits'),
      period: checkAppPeriod(period, 'totp.period'),
    };
    this.store = guardStore(store);
    this.cipher = cipher;
    this.clock = clock ?? Date.now;
    this.policy = resolvePolicy(policy);
    this.onEvent = onEvent;
    this.onEventError = onEventError;
  }

  now(): number {
    return checkNow(this.clock(), 'clock()');
  }

  emit(event: MFAEvent): void {
    deliverEvent(this.onEvent, this.onEventError, event);
  }

  async seal(userId: string, secret: Uint8Array): Promise<string> {
    let sealed: unknown;
    try {
      sealed = await this.cipher.encrypt(secret, userId);
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
  async withSecret<T>(userId: string, sealed: string, use: (secret: Uint8Array) => T): Promise<T> {
    let secret: unknown;
    try {
      secret = await this.cipher.decrypt(sealed, userId);
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

  /** A new set of recovery codes: the codes to show once, and the hashes to store. */
  createRecoverySet(userId: string): Promise<{ codes: string[]; set: RecoveryCodeSet }> {
    return this.hasher.createSet(
      this.policy.recoveryCodeCount,
      this.policy.recoveryCodeScrypt,
      userId,
    );
  }

  throttlePolicy(scope: ThrottleScope) {
    return scope === 'otp' ? this.policy.throttle : this.policy.recoveryThrottle;
  }

  /** The consecutive failures that lock `scope` for a user with `factorCount` factors. */
  lockAt(scope: ThrottleScope, factorCount: number): number {
    const { maxFailures } = this.throttlePolicy(scope);
    return scope === 'otp' ? attemptLimit(maxFailures, factorCount) : maxFailures;
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
    this.emit({
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
   * against: no factor, a code malformed for every factor's digits, …
   *
   * With a store that has `readAndReserve`, and input `wellFormed` (checked
   * without I/O against the service's configured digits), this is one store
   * operation, which reserves the attempt only if the record meets
   * `requirement`. Otherwise it is `getUser`, `select`, then `reserveAttempt`,
   * so that malformed input never costs an attempt. On both paths `select`
   * runs once, and its failure wins over a refused reservation.
   */
  async readForAttempt<R extends object>(
    userId: string,
    scope: ThrottleScope,
    now: number,
    flow: Flow,
    requirement: AttemptRequirement,
    wellFormed: boolean,
    select: (record: UserRecord | null) => R,
  ): Promise<Admitted<Exclude<R, Failure>> | Extract<R, Failure> | Refusal> {
    const policy = this.throttlePolicy(scope);
    let record: UserRecord | null;
    let selected: R;
    let reservation: AttemptReservation;
    if (this.store.readAndReserve === undefined || !wellFormed) {
      record = await this.store.getUser(userId, now);
      selected = select(record);
      if (isFailure(selected)) return selected;
      const reserved = await this.store.reserveAttempt(userId, scope, now, policy);
      reservation = this.#checkReservation(reserved, 'reserveAttempt');
    } else {
      const read: unknown = await this.store.readAndReserve(
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
      record = read.record as UserRecord | null;
      const reserved =
        read.reservation === null
          ? null
          : this.#checkReservation(read.reservation, 'readAndReserve');
      if (
        typeof record !== 'object' ||
        (record !== null && !Array.isArray(record.factors)) ||
        (reserved !== null) !== meetsRequirement(record, requirement, now)
      ) {
        throw new MFAError(
          'ERR_STORE',
          'store.readAndReserve returned a reservation that does not match its record',
        );
      }
      selected = select(record);
      if (isFailure(selected)) {
        // With an attempt reserved, only a code malformed for every factor (or
        // the enrollment) whose digits differ from the service's configured
        // ones gets here: it counts, like any other failed attempt.
        if (reserved?.ok) {
          this.failed(userId, scope, now, reserved.failures, record?.factors.length ?? 0);
        }
        return selected;
      }
      // `select` accepts only records that meet the requirement, so there is one.
      reservation = reserved as AttemptReservation;
    }
    const admitted = this.#admit(userId, reservation, now, flow);
    if ('ok' in admitted) return admitted;
    const { failures } = admitted;
    const blockedUntil = record?.throttle[scope].blockedUntil ?? 0;
    return {
      selected: selected as Exclude<R, Failure>,
      failures,
      factorCount: record?.factors.length ?? 0,
      refund: async () => {
        await this.store.refundAttempt(userId, scope, failures, blockedUntil);
      },
    };
  }

  /** After a failed check: reports the lock if this attempt reached the limit. */
  failed(
    userId: string,
    scope: ThrottleScope,
    now: number,
    failures: number,
    factorCount: number,
  ): void {
    if (failures >= this.lockAt(scope, factorCount)) {
      this.emit({ type: 'locked', userId, at: now, scope });
    }
  }
}
