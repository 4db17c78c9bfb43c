/**
 * The read and the attempt reservation in front of every code check
 * (internal): one store operation with a store that has `readAndReserve`,
 * else `getUser` then `reserveAttempt`; the store's answer checked; a
 * refusal by the throttle reported. `MFAContext.readForAttempt` runs it.
 * @module
 * @internal
 */
import { MFAError } from '../errors.ts';
import type {
  AttemptPolicy,
  AttemptRequirement,
  AttemptReservation,
  MFAStore,
  ThrottleScope,
  UserRecord,
} from '../store/contract.ts';
import { MAX_ATTEMPT_WEIGHT, meetsRequirement, reservationWeight } from '../store/throttle.ts';
import type { MFAEvent, ThrottledEvent } from './events.ts';
import type { MFARefusal } from './results.ts';

/** Which call a throttle refusal is reported for. */
type Flow = ThrottledEvent['flow'];
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

/** What the reservation needs from the service (`MFAContext` has it all). */
export interface AttemptHost {
  /** The guarded store. */
  readonly store: MFAStore;
  /** The throttle policy of a scope. */
  throttlePolicy(scope: ThrottleScope): Readonly<AttemptPolicy>;
  /** Emits an event (with the call's context). */
  emit(event: MFAEvent): void;
  /** The error for a write refused by an erasure guard. */
  erased(): MFAError;
  /** Reports the lock if a failed attempt's guesses reached the budget. */
  failed(userId: string, scope: ThrottleScope, now: number, guesses: number): void;
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
  /**
   * The record the decision was made on (its `throttle` does not count this
   * attempt), or `null`: flows read the account document and its generation
   * from it.
   */
  record: UserRecord | null;
  /** Takes the attempt back (the secret could not be opened, so no code was checked). */
  refund: () => Promise<void>;
}

/** What {@link readForAttempt} needs. */
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

/** Checks a reservation a store returned; anything malformed is `ERR_STORE`. */
function checkReservation(reservation: unknown, from: string): AttemptReservation {
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
function admit(
  host: AttemptHost,
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
    host.emit({ type: 'throttled', userId, at: now, flow, reason: 'throttled', retryAfterMs });
    return { ok: false, reason: 'throttled', retryAfterMs };
  }
  if (reservation.reason === 'erased') throw host.erased();
  host.emit({ type: 'throttled', userId, at: now, flow, reason: 'locked', retryAfterMs: null });
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
export async function readForAttempt<R extends object>(
  host: AttemptHost,
  options: ReadForAttemptOptions<R>,
): Promise<Admitted<Exclude<R, Failure>> | Extract<R, Failure> | Refusal> {
  const { userId, scope, now, flow, requirement, wellFormed, select, weightOf } = options;
  const { store } = host;
  const policy = host.throttlePolicy(scope);
  let record: UserRecord | null;
  let selected: R;
  let reservation: AttemptReservation;
  let weight: number;
  if (store.readAndReserve === undefined || !wellFormed) {
    record = await store.getUser(userId, now);
    selected = select(record);
    if (isFailure(selected)) return selected;
    weight = Math.min(MAX_ATTEMPT_WEIGHT, Math.max(1, weightOf(selected as Exclude<R, Failure>)));
    const reserved = await store.reserveAttempt(userId, { scope, now, policy, weight });
    reservation = checkReservation(reserved, 'reserveAttempt');
  } else {
    const read: unknown = await store.readAndReserve(userId, { scope, now, policy, requirement });
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
      read.reservation === null ? null : checkReservation(read.reservation, 'readAndReserve');
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
      if (reserved?.ok) host.failed(userId, scope, now, reserved.guesses);
      if (reserved?.ok === false && reserved.reason === 'erased') throw host.erased();
      return selected;
    }
    // `select` accepts only records that meet the requirement, so there is one.
    reservation = reserved as AttemptReservation;
  }
  const admitted = admit(host, userId, reservation, now, flow);
  if (!admitted.ok) return admitted;
  const { failures, guesses } = admitted;
  const blockedUntil = record?.throttle[scope].blockedUntil ?? 0;
  return {
    ok: true,
    selected: selected as Exclude<R, Failure>,
    failures,
    guesses,
    factorCount: record?.factors.length ?? 0,
    record,
    refund: async () => {
      await store.refundAttempt(userId, { scope, failures, guesses, weight, blockedUntil });
    },
  };
}
