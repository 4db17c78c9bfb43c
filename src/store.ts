/**
 * For people writing a store adapter: the {@link MFAStore} contract, the
 * record types its methods take and return, and the helpers a store uses to
 * decide exactly as the built-in ones do ({@link attemptDelayMs}, the user-id
 * check {@link checkUserId}).
 *
 * An application that uses a built-in store needs none of this: `totpkit`
 * exports `MemoryStore` and the `MFAStore` type, `totpkit/postgres` and
 * `totpkit/redis` the other stores. To check an adapter against the contract,
 * run the conformance suite, `testMFAStore` from `totpkit/testing` (it needs
 * vitest); docs/stores.md, "Writing your own store", walks through both.
 *
 * @example
 * ```ts
 * import type { MFAStore, UserRecord } from 'totpkit/store';
 * import { attemptDelayMs } from 'totpkit/store';
 *
 * declare const store: MFAStore;
 * const record: UserRecord | null = await store.getUser('alice', Date.now());
 * attemptDelayMs({ freeAttempts: 3, baseDelayMs: 1000, maxDelayMs: 60_000, maxFailures: 10 }, 5); // 4000
 * ```
 * @module totpkit/store
 */
export { checkUserId } from './_assert.ts';
export { attemptDelayMs, attemptLimit } from './store/throttle.ts';

export type {
  AccountState,
  AccountUpdateOutcome,
  AccountWrite,
  AccountWriteOptions,
  ActiveFactor,
  AddFactorOptions,
  AddFactorResult,
  AttemptPolicy,
  AttemptRequirement,
  AttemptReservation,
  DeleteExpiredOptions,
  DeleteExpiredResult,
  DeleteFactorsOutcome,
  DeleteUserOptions,
  FactorChangeOptions,
  FactorParams,
  FactorRemoval,
  FactorRenameOutcome,
  MFAStore,
  PendingActivation,
  PendingEnrollment,
  ProofRecord,
  PutPendingOptions,
  PutPendingOutcome,
  ReadAndReserveOptions,
  ReadAndReserveResult,
  RecoveryCodeSet,
  RefundAttemptOptions,
  RememberedDeviceRecord,
  ReplacedPending,
  ReplaceRecoveryCodesOutcome,
  ReserveAttemptOptions,
  ResetUserOutcome,
  SendCounter,
  ThrottleScope,
  ThrottleState,
  UserRecord,
  VerificationBudget,
  VerificationCodeRecord,
} from './store/contract.ts';
