/**
 * The runtime side of the store contract (`contract.ts` holds the types): the
 * throttle arithmetic every store must compute exactly alike, and the small
 * rules the service and the stores share, so that no store restates them.
 * @module
 */
import type {
  AttemptPolicy,
  AttemptRequirement,
  MFAStore,
  ThrottleScope,
  ThrottleState,
  UserRecord,
} from './contract.ts';

/**
 * The delay an {@link AttemptPolicy} imposes after `failures` consecutive
 * failures: 0 below `freeAttempts`, then `baseDelayMs · 2^(failures − freeAttempts)`
 * capped at `maxDelayMs`. Stores must compute exactly this.
 *
 * @param policy - the throttle rules
 * @param failures - consecutive failures including the attempt just reserved
 * @returns the delay in ms before the next attempt
 * @throws nothing; the policy is trusted (the service validates it)
 * @example
 * ```ts
 * import { attemptDelayMs } from 'totpkit/store';
 * const policy = { freeAttempts: 5, baseDelayMs: 1_000, maxDelayMs: 900_000, maxFailures: 100 };
 * attemptDelayMs(policy, 4); // 0
 * attemptDelayMs(policy, 7); // 4_000
 * attemptDelayMs(policy, 99); // 900_000
 * ```
 */
export function attemptDelayMs(policy: AttemptPolicy, failures: number): number {
  if (failures < policy.freeAttempts) return 0;
  const exponent = failures - policy.freeAttempts;
  return exponent >= 52
    ? policy.maxDelayMs
    : Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
}

/**
 * The attempts a lock cycle allows a user whose `factors` active factors stay
 * the same throughout: `max(1, ceil(maxFailures / max(1, factors)))`. Stores
 * do not use it: they lock on the charged `guesses` (each attempt charged the
 * number of secrets it is compared with), which gives exactly this figure
 * when the factors do not change, and never more guesses when they do. It
 * is kept to state the odds (see docs/security-model.md).
 *
 * @param maxFailures - the guess budget (`Infinity`: never locked)
 * @param factors - the user's active factors (0 counts as 1)
 * @returns the attempts of one lock cycle
 * @throws nothing; the arguments are trusted (the service validates them)
 * @example
 * ```ts
 * import { attemptLimit } from 'totpkit/store';
 * attemptLimit(100, 1); // 100
 * attemptLimit(100, 3); // 34
 * attemptLimit(100, 5); // 20
 * ```
 */
export function attemptLimit(maxFailures: number, factors: number): number {
  return Math.max(1, Math.ceil(maxFailures / Math.max(1, factors)));
}

/**
 * Whether a scope in `state` is locked under `policy`: its charged guesses
 * reached `maxFailures`.
 * @internal
 */
export function isLocked(state: ThrottleState, policy: AttemptPolicy): boolean {
  return state.guesses >= policy.maxFailures;
}

/**
 * The weight {@link MFAStore.readAndReserve} charges, decided from the record
 * it read: `max(1, active factors)` for a login code (`'otp'`, `'active'`),
 * otherwise 1.
 * @internal
 */
export function reservationWeight(
  record: UserRecord | null,
  scope: ThrottleScope,
  requirement: AttemptRequirement,
): number {
  return scope === 'otp' && requirement === 'active' ? Math.max(1, record?.factors.length ?? 0) : 1;
}

/** The most a weight may be: `policy.maxFactors` allows at most 20 factors. */
export const MAX_ATTEMPT_WEIGHT = 20;

/**
 * Whether a record holds nothing (no factor, enrollment, recovery codes or
 * counted failures): {@link MFAStore.getUser} returns `null` for it.
 * @internal
 */
export function isEmptyRecord(record: UserRecord): boolean {
  return (
    record.factors.length === 0 &&
    record.pending === null &&
    record.recoveryCodes === null &&
    record.throttle.otp.failures === 0 &&
    record.throttle.recovery.failures === 0 &&
    record.account === null
  );
}

/**
 * Whether `record` meets `requirement` at `now`, as
 * {@link MFAStore.readAndReserve} decides it: an active factor, or a pending
 * enrollment with `now < expiresAt`.
 * @internal
 */
export function meetsRequirement(
  record: UserRecord | null,
  requirement: AttemptRequirement,
  now: number,
): boolean {
  if (requirement === 'active') return (record?.factors.length ?? 0) > 0;
  const pending = record?.pending;
  return pending != null && now < pending.expiresAt;
}

/**
 * The methods every {@link MFAStore} has (`readAndReserve` is optional).
 * @internal
 */
export const REQUIRED_STORE_METHODS = [
  'getUser',
  'putPending',
  'activatePending',
  'reserveAttempt',
  'recordSuccess',
  'replaceRecoveryCodes',
  'replaceSealedSecret',
  'consumeRecoveryCode',
  'resetThrottle',
  'refundAttempt',
  'addFactor',
  'renameFactor',
  'removeFactor',
  'deleteFactors',
  'updateAccount',
  'resetUser',
  'deleteUser',
  'updateAccount',
  'resetUser',
] as const satisfies readonly (keyof MFAStore)[];
