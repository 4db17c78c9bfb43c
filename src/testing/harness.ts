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
  AccountState,
  AccountWrite,
  ActiveFactor,
  AddFactorOptions,
  AttemptPolicy,
  MFAStore,
  PendingActivation,
  PendingEnrollment,
  ReadAndReserveOptions,
  ReadAndReserveResult,
  RecoveryCodeSet,
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

/**
 * The activation tests bind with: last step 1000, drift 0, at NOW, up to 20
 * factors, with the account write `account`.
 */
export function activation(
  account: AccountWrite,
  codes: RecoveryCodeSet = { salt: 's', hashes: ['h'] },
): PendingActivation {
  return { lastStep: 1000, drift: 0, now: NOW, maxFactors: 20, recoveryCodes: codes, account };
}

/** addFactor's options: the limit, the account write and the set for a first factor. */
export function addOptions(
  maxFactors: number,
  account: AccountWrite,
  codes: RecoveryCodeSet = { salt: 's', hashes: ['h'] },
): AddFactorOptions {
  return { maxFactors, account, recoveryCodes: codes };
}

/** An account document with nothing in it, at `generation`. */
export function emptyAccount(generation = 0): AccountState {
  return {
    generation,
    keepUntil: null,
    codes: [],
    budgets: [],
    sends: [],
    proofs: [],
    devices: [],
  };
}

/**
 * The account write a factor change makes, as the service would build it from
 * `record`: the version read (0 for no record or no document) and the same
 * document with its generation one higher.
 */
export function nextAccount(record: UserRecord | null): AccountWrite {
  const account = record?.account ?? emptyAccount();
  return {
    version: record?.accountVersion ?? 0,
    account: { ...structuredClone(account), generation: account.generation + 1 },
  };
}

/** Whether a store answer is a compare-and-set refusal. */
export function isConflict(outcome: unknown): boolean {
  return (
    outcome === 'conflict' ||
    (typeof outcome === 'object' &&
      outcome !== null &&
      (outcome as { reason?: unknown }).reason === 'conflict')
  );
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
  /**
   * Reads the user's record and builds the account write a factor change
   * makes from it (see {@link nextAccount}).
   */
  write: (store: MFAStore, userId: string) => Promise<AccountWrite>;
  /**
   * Runs a factor change with a write built by {@link Suite.write}, as the
   * service does: on `'conflict'` (another write moved the version) it reads
   * again and retries, so that cases about the op's own rules keep their
   * meaning when they race. Returns the first answer that is not a conflict.
   */
  change: <R>(
    store: MFAStore,
    userId: string,
    op: (account: AccountWrite) => Promise<R>,
  ) => Promise<R>;
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
  const write = async (store: MFAStore, userId: string): Promise<AccountWrite> =>
    nextAccount(await store.getUser(userId, NOW));
  const change = async <R>(
    store: MFAStore,
    userId: string,
    op: (account: AccountWrite) => Promise<R>,
  ): Promise<R> => {
    for (let tries = 1; ; tries++) {
      const outcome = await op(await write(store, userId));
      // Each conflict means another write won, so this ends; the bound only
      // turns a store that always conflicts into a failed assertion.
      if (!isConflict(outcome) || tries === 1_000) return outcome;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
    }
  };
  return {
    makeStore,
    hasReadAndReserve,
    write,
    change,
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
      expect(
        await change(store, userId, (a) =>
          store.activatePending(userId, factorId, activation(a, codes)),
        ),
      ).toMatchObject({ ok: true });
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
