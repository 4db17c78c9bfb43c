/**
 * What every part of the store conformance suite shares (internal): the
 * fixed time and policy, record builders, and small readers. Each test uses a
 * fresh user id from {@link Suite.user}, so the suite can run against a
 * shared, non-empty database.
 * @module
 * @internal
 */
import { expect } from 'vitest';
import type {
  ActiveFactor,
  AddFactorOptions,
  AttemptPolicy,
  MFAStore,
  PendingActivation,
  PendingEnrollment,
  ReadAndReserveOptions,
  ReadAndReserveResult,
  RecoveryCodeSet,
  ThrottleState,
  UserRecord,
} from '../store/contract.ts';

/** Returns the store to test: a new one per call, or the same shared one. */
export type MakeStore = () => MFAStore | Promise<MFAStore>;

/** The time most tests run at (Unix ms). */
export const NOW = 1_750_000_000_000;
/** The lifetime of the pending enrollments the tests make. */
export const TTL = 600_000;
/** The erasure guard most tests leave: one hour. */
export const GUARD = 3_600_000;
/** A strict throttle: 3 free attempts, 1 s doubling to 4 s, locked at 8 guesses. */
export const POLICY: AttemptPolicy = {
  freeAttempts: 3,
  baseDelayMs: 1_000,
  maxDelayMs: 4_000,
  maxFailures: 8,
};
/** No delays: only the lock at `maxFailures` guesses. */
export const lockOnly = (maxFailures: number): AttemptPolicy => ({
  freeAttempts: 1_000,
  baseDelayMs: 0,
  maxDelayMs: 0,
  maxFailures,
});

/** A throttle scope that was never used. */
export const FRESH: ThrottleState = Object.freeze({ failures: 0, guesses: 0, blockedUntil: 0 });

/**
 * A stand-in for the service's secret digest of `label`: 43 base64url
 * characters, like the real one, distinct for distinct short labels.
 */
export function digestOf(label: string): string {
  const bytes = new TextEncoder().encode(label);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  const encoded = btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return (encoded + '.'.repeat(43)).slice(0, 43).replace(/\./g, 'A');
}

/** The activation tests bind with: last step 1000, drift 0, at NOW, up to 20 factors. */
export function activation(
  codes: RecoveryCodeSet = { salt: 's', hashes: ['h'] },
): PendingActivation {
  return { lastStep: 1000, drift: 0, now: NOW, maxFactors: 20, recoveryCodes: codes };
}

/** addFactor's options: the limit and the set for a first factor. */
export function addOptions(
  maxFactors: number,
  codes: RecoveryCodeSet = { salt: 's', hashes: ['h'] },
): AddFactorOptions {
  return { maxFactors, recoveryCodes: codes };
}

/** What the parts of the suite share: the store, fresh ids, builders and readers. */
export interface Suite {
  /** Returns the store for a test. */
  makeStore: MakeStore;
  /** Whether the store has `readAndReserve` (its tests are registered only then). */
  hasReadAndReserve: boolean;
  /** A user id no other test (or earlier run on the same database) uses. */
  user: (label: string) => string;
  /** A pending enrollment `id` (secret digest from `id`). */
  pending: (id: string, overrides?: Partial<PendingEnrollment>) => PendingEnrollment;
  /** An imported factor `id`, as addFactor takes it (secret digest from `id`). */
  imported: (id: string, overrides?: Partial<ActiveFactor>) => ActiveFactor;
  /** A recovery code set of `count` hashes. */
  codeSet: (label: string, count?: number) => RecoveryCodeSet;
  /** Binds a factor `factorId` for `userId` with last step 1000, drift 0. */
  activate: (
    store: MFAStore,
    userId: string,
    factorId: string,
    codes?: RecoveryCodeSet,
    overrides?: Partial<PendingEnrollment>,
  ) => Promise<void>;
  /** The ids of the user's active factors, in order. */
  factorIds: (store: MFAStore, userId: string) => Promise<string[]>;
  /** The user's throttle state, `undefined` if the store has nothing. */
  throttleOf: (store: MFAStore, userId: string) => Promise<UserRecord['throttle'] | undefined>;
  /** The store's readAndReserve, bound; a store declared to have one must. */
  readAndReserveOf: (
    store: MFAStore,
  ) => (userId: string, options: ReadAndReserveOptions) => Promise<ReadAndReserveResult>;
  /** `record` as it would read for `userId` (two users set up alike differ only in their id). */
  as: (record: UserRecord | null, userId: string) => UserRecord | null;
}

/** The shared helpers of one `testMFAStore` call. */
export function createSuite(makeStore: MakeStore, hasReadAndReserve: boolean): Suite {
  const run = globalThis.crypto.randomUUID().slice(0, 8);
  let counter = 0;
  const pending = (id: string, overrides: Partial<PendingEnrollment> = {}): PendingEnrollment => ({
    id,
    name: `Name ${id}`,
    nameKey: `name ${id}`,
    sealedSecret: `sealed-${id}`,
    secretDigest: digestOf(id),
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    createdAt: NOW,
    expiresAt: NOW + TTL,
    replaceFactorId: null,
    previous: null,
    ...overrides,
  });
  const codeSet = (label: string, count = 3): RecoveryCodeSet => ({
    salt: `salt-${label}`,
    hashes: Array.from({ length: count }, (_, i) => `hash-${label}-${i}`),
  });
  return {
    makeStore,
    hasReadAndReserve,
    user: (label) => `totpkit-conformance:${run}:${++counter}:${label}`,
    pending,
    imported: (id, overrides = {}) => ({
      id,
      name: `Name ${id}`,
      nameKey: `name ${id}`,
      sealedSecret: `sealed-${id}`,
      secretDigest: digestOf(id),
      algorithm: 'SHA1',
      digits: 6,
      period: 30,
      lastStep: 500,
      drift: 0,
      createdAt: NOW,
      activatedAt: NOW,
      lastUsedAt: null,
      ...overrides,
    }),
    codeSet,
    activate: async (store, userId, factorId, codes = codeSet(factorId), overrides = {}) => {
      expect(await store.putPending(userId, pending(factorId, overrides))).toBe('stored');
      expect(await store.activatePending(userId, factorId, activation(codes))).toMatchObject({
        ok: true,
      });
    },
    factorIds: async (store, userId) =>
      (await store.getUser(userId, NOW))?.factors.map((f) => f.id) ?? [],
    throttleOf: async (store, userId) => (await store.getUser(userId, NOW))?.throttle,
    readAndReserveOf: (store) => {
      const method = store.readAndReserve;
      if (typeof method !== 'function') {
        throw new TypeError(
          'the store has no readAndReserve: implement it, or pass { readAndReserve: false } to testMFAStore',
        );
      }
      return method.bind(store);
    },
    as: (record, userId) => record && { ...record, userId },
  };
}
