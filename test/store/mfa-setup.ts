// The service over a given store, as the cross-process tests, the fault tests
// and bench:stores use it: a fixed test key for the cipher (so separate
// processes can open each other's secrets), a clock the caller moves, and an
// enrollment bound with two consecutive codes.
import {
  createAESGCMCipher,
  createMFA,
  decodeBase32,
  generateTOTP,
  type MFA,
  type MFAPolicyOptions,
} from '../../src/index.ts';
import type { MFAStore } from '../../src/store/contract.ts';

/** A fixed point in time for tests: steps of 30 s from here. */
export const T0 = 1_700_000_010_000;

/** The test cipher: one fixed key, never to be used outside tests. */
export const testCipher = createAESGCMCipher({
  keys: { test: new Uint8Array(32).fill(7) },
  primaryKeyId: 'test',
});

/** A throttle policy that never gets in the way: for measuring, not guessing. */
export const OPEN_THROTTLE = { freeAttempts: 100, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 100 };

/** The cheapest scrypt the service accepts, so that many recovery attempts stay fast. */
export const CHEAP_SCRYPT = { N: 2 ** 10, r: 1, p: 1 };

/**
 * The test HMAC key of verification codes: the same in every process, so that
 * a code one process sends is checked by another.
 */
export const TEST_VERIFICATION_KEY = new Uint8Array(32).fill(9);

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

/** `policy.proofs` as the library ships it: the seed's rule for every sensitive call. */
export const SEED_PROOFS = {
  required: {
    enroll: 'seed',
    replace_factor: 'seed',
    remove_factor: 'seed',
    regenerate_recovery_codes: 'seed',
    disable: 'seed',
  },
} as const;

/** A message the test sender got (the code included: tests read it here). */
export interface SentCode {
  userId: string;
  purpose: string;
  destination: string;
  code: string;
}

/**
 * A service whose clock is whatever `clock.now` holds when a call starts, with
 * verification codes (sent to `sent`, newest last) and, unless `policy.proofs`
 * says otherwise, no proof required (the races of other things predate them).
 */
export function testMFA(store: MFAStore, policy: MFAPolicyOptions = {}) {
  const clock = { now: T0 };
  const sent: SentCode[] = [];
  const mfa = createMFA({
    store,
    issuer: 'totpkit-test',
    cipher: testCipher,
    clock: () => clock.now,
    verification: {
      key: TEST_VERIFICATION_KEY,
      sender: async ({ userId, purpose, destination, code }) => {
        sent.push({ userId, purpose, destination, code });
      },
    },
    policy: { recoveryCodeScrypt: CHEAP_SCRYPT, proofs: NO_PROOFS, ...policy },
  });
  return { mfa, clock, sent };
}

/** Enrolls `userId` at `now` (binding the steps before and at `now`); returns the secret. */
export async function enroll(
  mfa: MFA,
  clock: { now: number },
  userId: string,
  now: number = clock.now,
): Promise<{ secret: Uint8Array; recoveryCodes: string[] }> {
  clock.now = now;
  const started = await mfa.beginEnrollment(userId, { accountName: `${userId}@example.com` });
  const secret = decodeBase32(started.secret);
  const result = await mfa.completeEnrollment(
    userId,
    generateTOTP(secret, { now: now - 30_000 }),
    generateTOTP(secret, { now }),
  );
  if (!result.ok) throw new Error(`enrollment of ${userId} failed: ${result.reason}`);
  return { secret, recoveryCodes: [...(result.recoveryCodes ?? [])] };
}
