// A service under test: a MemoryStore (or any store), a frozen clock, the
// events it emitted, and the codes a device with a given clock offset shows.
// useStoresWithoutReadAndReserve() makes every harness of a test file hide its
// store's optional readAndReserve, so that the service takes the path of a
// custom adapter without it (getUser, then reserveAttempt).
import {
  createMFA,
  decodeBase32,
  generateTOTP,
  MemoryStore,
  plaintextCipher,
  type MFAEvent,
  type MFAOptions,
  type MFAPolicyOptions,
  type MFAStore,
} from '../../src/index.ts';
import type { AccountWrite } from '../../src/store/contract.ts';

/** The start of a 30 s step: 2025-06-15T15:07:00Z. */
export const T0 = 1_750_000_020_000;

/** scrypt at 1 MiB: the tests check behaviour, not cost (recovery-kdf.test.ts checks the default). */
export const FAST_KDF = { N: 1024, r: 8, p: 1 } as const;

/** A throttle that never gets in the way of tests about something else. */
export const NO_THROTTLE = { freeAttempts: 100, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 100 };

/** `policy.proofs` with no proof required anywhere (0.2's behaviour). */
export const NO_PROOFS = {
  required: {
    enroll: 'none',
    replace_factor: 'none',
    remove_factor: 'none',
    regenerate_recovery_codes: 'none',
    disable: 'none',
  },
} as const;

export interface Harness {
  mfa: ReturnType<typeof createMFA>;
  /** The store as the test set it up (with readAndReserve if it has one). */
  store: MFAStore;
  /** Whether the service sees a readAndReserve on its store. */
  readAndReserve: boolean;
  events: MFAEvent[];
  /** The frozen time, Unix ms. */
  now: number;
  /** Moves the clock. */
  advance(ms: number): void;
  /** Events of one type. */
  ofType<T extends MFAEvent['type']>(type: T): Extract<MFAEvent, { type: T }>[];
}

import { REQUIRED_STORE_METHODS } from '../../src/store/throttle.ts';

/** The methods every store has (readAndReserve is optional). */
export { REQUIRED_STORE_METHODS };

/** `store` without its optional readAndReserve, as a custom adapter may be. */
export function withoutReadAndReserve(store: MFAStore): MFAStore {
  const methods = REQUIRED_STORE_METHODS.map((name) => [name, store[name].bind(store)]);
  return Object.fromEntries(methods) as MFAStore;
}

let hideReadAndReserve = false;

/**
 * From now on, every harness of this test file gives the service its store
 * without readAndReserve. Vitest loads the modules of each test file apart, so
 * this reaches only the file that calls it (and the files it imports).
 */
export function useStoresWithoutReadAndReserve(): void {
  hideReadAndReserve = true;
}

/** Whether this test file runs with readAndReserve hidden. */
export function readAndReserveHidden(): boolean {
  return hideReadAndReserve;
}

export function harness(
  options: { policy?: MFAPolicyOptions; store?: MFAStore } & Partial<MFAOptions> = {},
): Harness {
  const events: MFAEvent[] = [];
  const store = options.store ?? new MemoryStore();
  const h: Harness = {
    mfa: undefined as never,
    store,
    readAndReserve: !hideReadAndReserve && typeof store.readAndReserve === 'function',
    events,
    now: T0,
    advance(ms) {
      h.now += ms;
    },
    ofType: (type) => events.filter((e) => e.type === type) as never,
  };
  h.mfa = createMFA({
    issuer: 'Acme',
    cipher: plaintextCipher(),
    clock: () => h.now,
    onEvent: (event) => events.push(event),
    // A sender that delivers nowhere (tests of codes use src/testing/identity-service.ts).
    verification: { sender: async () => {}, key: new Uint8Array(32).fill(7) },
    ...options,
    store: hideReadAndReserve ? withoutReadAndReserve(store) : store,
    // Tests of other things run without proofs (0.2's behaviour); proof tests set policy.proofs.
    policy: { recoveryCodeScrypt: FAST_KDF, proofs: NO_PROOFS, ...options.policy },
  });
  return h;
}

/** The code a device shows at server time `now` when its clock is `offsetMs` ahead. */
export function deviceCode(secret: string, now: number, offsetMs = 0): string {
  return generateTOTP(decodeBase32(secret), { now: now + offsetMs });
}

/**
 * The account write a test passes to a store op it calls directly: the
 * document as stored (or a new one) at the version read, so that the op
 * writes it back unchanged and does not answer 'conflict'.
 */
export async function sameAccount(
  store: MFAStore,
  userId: string,
  now: number,
): Promise<{ account: AccountWrite }> {
  const record = await store.getUser(userId, now);
  return {
    account: {
      version: record?.accountVersion ?? 0,
      account: record?.account ?? {
        generation: 0,
        keepUntil: null,
        codes: [],
        budgets: [],
        sends: [],
        proofs: [],
        devices: [],
      },
    },
  };
}

/** A fresh user id. */
let users = 0;
export function newUser(label = 'user'): string {
  return `${label}-${++users}`;
}

/**
 * Enrolls and binds a user at `h.now` with a device `offsetMs` ahead: the
 * codes of the previous and the current device step. Returns the secret and
 * the recovery codes.
 */
export async function enroll(
  h: Harness,
  userId: string,
  offsetMs = 0,
): Promise<{ secret: string; recoveryCodes: readonly string[] }> {
  const { secret } = await h.mfa.beginEnrollment(userId, { accountName: `${userId}@example.com` });
  const result = await h.mfa.completeEnrollment(
    userId,
    deviceCode(secret, h.now - 30_000, offsetMs),
    deviceCode(secret, h.now, offsetMs),
  );
  if (!result.ok) throw new Error(`enrollment failed: ${result.reason}`);
  return { secret, recoveryCodes: result.recoveryCodes ?? [] };
}
