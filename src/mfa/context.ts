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
import type {
  AttemptRequirement,
  AttemptReservation,
  FactorParams,
  MFAStore,
  RecoveryCodeSet,
  ThrottleScope,
  UserRecord,
} from '../store/contract.ts';
import {
  MAX_ATTEMPT_WEIGHT,
  meetsRequirement,
  REQUIRED_STORE_METHODS,
  reservationWeight,
} from '../store/throttle.ts';
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
  /** The attempt is granted (a refusal or a flow's failure has `ok: false`). */
  ok: true;
  /** What `select` picked from the record. */
  selected: S;
  /** The failure count including this attempt. */
  failures: number;
  /** The charged guesses including this attempt's weight. */
  guesses: number;
  /** Active factors in the record the decision was made on. */
  factorCount: number;
  /** Takes the attempt back (the secret could not be opened, so no code was checked). */
  refund: () => Promise<void>;
}

/** What {@link MFAContext.readForAttempt} needs. */
export interface ReadForAttemptOptions<R extends object> {
  /** The user. */
  userId: string;
  /** The throttle scope the attempt is reserved in. */
  scope: ThrottleScope;
  /** Unix ms. */
  now: number;
  /** Which call a throttle refusal is reported for. */
  flow: Flow;
  /** What the record must have for the store's `readAndReserve` to reserve. */
  requirement: AttemptRequirement;
  /** Whether the input is well formed for the service's configured digits (checked without I/O). */
  wellFormed: boolean;
  /** Picks what the flow needs from the record, or returns the flow's failure. */
  select: (record: UserRecord | null) => R;
  /**
   * On the `getUser` + `reserveAttempt` path: the number of secrets the code
   * will be compared with, from what `select` picked (the weight charged).
   */
  weightOf: (selected: Exclude<R, Failure>) => number;
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

  /** Whether `scope` is locked at `guesses` charged guesses. */
  isLocked(scope: ThrottleScope, guesses: number): boolean {
    return guesses >= this.throttlePolicy(scope).maxFailures;
  }

  /**
   * The one answer to a store operation refused by an erasure guard (or that
   * found the user erased under it): nothing was written.
   */
  erased(): MFAError {
    const minutes = Math.round(this.policy.erasureGuardMs / 60_000);
    return new MFAError(
      'ERR_ERASED',
      `the user's data was erased (within the last ${minutes} minutes, ` +
        `policy.erasureGuardMs); nothing was written`,
    );
  }

  /** Checks a reservation a store returned; anything malformed is `ERR_STORE`. */
  #checkReservation(reservation: unknown, from: string): AttemptReservation {
    const r = reservation as AttemptReservation | null | undefined;
    if (r?.ok === true) {
      if (Number.isInteger(r.failures) && Number.isInteger(r.guesses) && r.guesses >= r.failures) {
        return { ok: true, failures: r.failures, guesses: r.guesses };
      }
    } else if (r?.ok === false) {
      if (r.reason === 'locked' || r.reason === 'erased') return { ok: false, reason: r.reason };
      if (r.reason === 'throttled' && typeof r.retryAfterMs === 'number' && r.retryAfterMs >= 0) {
        return { ok: false, reason: 'throttled', retryAfterMs: r.retryAfterMs };
      }
    }
    throw new MFAError('ERR_STORE', `store.${from} returned an invalid reservation`);
  }

  /**
   * A granted reservation's counts, or the refusal (after emitting
   * `throttled`). An erasure guard throws `ERR_ERASED`.
   */
  #admit(
    userId: string,
    reservation: AttemptReservation,
    now: number,
    flow: Flow,
  ): { ok: true; failures: number; guesses: number } | Refusal {
    if (reservation.ok) {
      return { ok: true, failures: reservation.failures, guesses: reservation.guesses };
    }
    if (reservation.reason === 'throttled') {
      const { retryAfterMs } = reservation;
      this.emit({ type: 'throttled', userId, at: now, flow, reason: 'throttled', retryAfterMs });
      return { ok: false, reason: 'throttled', retryAfterMs };
    }
    if (reservation.reason === 'erased') throw this.erased();
    this.emit({ type: 'throttled', userId, at: now, flow, reason: 'locked', retryAfterMs: null });
    return { ok: false, reason: 'locked' };
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
   * `requirement`, charging the weight it decides from the record. Otherwise
   * it is `getUser`, `select`, then `reserveAttempt` with `weightOf` the
   * selection, so that malformed input never costs an attempt. On both paths
   * `select` runs once, and its failure wins over a refused reservation.
   */
  async readForAttempt<R extends object>(
    options: ReadForAttemptOptions<R>,
  ): Promise<Admitted<Exclude<R, Failure>> | Extract<R, Failure> | Refusal> {
    const { userId, scope, now, flow, requirement, wellFormed, select, weightOf } = options;
    const policy = this.throttlePolicy(scope);
    let record: UserRecord | null;
    let selected: R;
    let reservation: AttemptReservation;
    let weight: number;
    if (this.store.readAndReserve === undefined || !wellFormed) {
      record = await this.store.getUser(userId, now);
      selected = select(record);
      if (isFailure(selected)) return selected;
      weight = Math.min(MAX_ATTEMPT_WEIGHT, Math.max(1, weightOf(selected as Exclude<R, Failure>)));
      const reserved = await this.store.reserveAttempt(userId, { scope, now, policy, weight });
      reservation = this.#checkReservation(reserved, 'reserveAttempt');
    } else {
      const read: unknown = await this.store.readAndReserve(userId, {
        scope,
        now,
        policy,
        requirement,
      });
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
      weight = reservationWeight(record, scope, requirement);
      selected = select(record);
      if (isFailure(selected)) {
        // With an attempt reserved, only a code malformed for every factor (or
        // the enrollment) whose digits differ from the service's configured
        // ones gets here: it counts, like any other failed attempt.
        if (reserved?.ok) this.failed(userId, scope, now, reserved.guesses);
        if (reserved?.ok === false && reserved.reason === 'erased') throw this.erased();
        return selected;
      }
      // `select` accepts only records that meet the requirement, so there is one.
      reservation = reserved as AttemptReservation;
    }
    const admitted = this.#admit(userId, reservation, now, flow);
    if (!admitted.ok) return admitted;
    const { failures, guesses } = admitted;
    const blockedUntil = record?.throttle[scope].blockedUntil ?? 0;
    return {
      ok: true,
      selected: selected as Exclude<R, Failure>,
      failures,
      guesses,
      factorCount: record?.factors.length ?? 0,
      refund: async () => {
        await this.store.refundAttempt(userId, { scope, failures, guesses, weight, blockedUntil });
      },
    };
  }

  /** After a failed check: reports the lock if this attempt's guesses reached the budget. */
  failed(userId: string, scope: ThrottleScope, now: number, guesses: number): void {
    if (this.isLocked(scope, guesses)) {
      this.emit({ type: 'locked', userId, at: now, scope });
    }
  }
}
