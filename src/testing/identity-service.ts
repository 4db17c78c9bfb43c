/**
 * What the identity-step cases share (internal): a service on the store
 * under test with a frozen clock, a sender that records what it is given,
 * and the events. Each case uses a fresh random user id.
 * @module
 * @internal
 */
import { generateTOTP } from '../totp.ts';
import { decodeBase32 } from '../base32.ts';
import { plaintextCipher } from '../mfa/cipher.ts';
import type { MFAEvent } from '../mfa/events.ts';
import type { MFAPolicyOptions } from '../mfa/policy.ts';
import { createMFA } from '../mfa/service.ts';
import type { MFA } from '../mfa/types.ts';
import type { VerificationMessage } from '../mfa/account-types.ts';
import type { MFAStore } from '../store/contract.ts';

/** The start of a 30 s step, Unix ms. */
export const T0 = 1_750_000_020_000;

/** A service under test on one store. */
export interface IdentityHarness {
  mfa: MFA;
  store: MFAStore;
  /** Every message the sender was given, in order. */
  sent: VerificationMessage[];
  events: MFAEvent[];
  /** The frozen time. */
  now: number;
  /** Moves the clock. */
  advance(ms: number): void;
  /** Makes the sender throw `error` (or work again with `null`). */
  failSends(error: unknown): void;
  /** The last code sent to `userId`. */
  lastCode(userId: string): string;
}

/** A fresh random user id. */
export function freshUser(label: string): string {
  return `${label}-${globalThis.crypto.randomUUID()}`;
}

/** A service on `store` with a recording sender; `policy` merged over fast recovery codes. */
export function identityHarness(store: MFAStore, policy: MFAPolicyOptions = {}): IdentityHarness {
  let failure: unknown = null;
  const h: IdentityHarness = {
    mfa: undefined as never,
    store,
    sent: [],
    events: [],
    now: T0,
    advance(ms) {
      h.now += ms;
    },
    failSends(error) {
      failure = error;
    },
    lastCode(userId) {
      const message = h.sent.filter((m) => m.userId === userId).at(-1);
      if (message === undefined) throw new Error(`no code was sent to ${userId}`);
      return message.code;
    },
  };
  h.mfa = createMFA({
    store,
    issuer: 'Acme',
    cipher: plaintextCipher(),
    clock: () => h.now,
    onEvent: (event) => h.events.push(event),
    policy: { recoveryCodeScrypt: { N: 1024, r: 8, p: 1 }, ...policy },
    verification: {
      key: new Uint8Array(32).fill(42),
      sender: async (message) => {
        if (failure !== null) throw failure;
        h.sent.push(message);
      },
    },
  });
  return h;
}

/** The code a device shows at `now` for a base32 secret. */
export function codeAt(secret: string, now: number): string {
  return generateTOTP(decodeBase32(secret), { now });
}

/**
 * Enrolls `userId` with no proof needed (`policy.proofs` must allow it, or
 * `proof` given) and binds the factor; returns its secret.
 */
export async function bindFactor(
  h: IdentityHarness,
  userId: string,
  proof?: string,
): Promise<string> {
  const { secret } = await h.mfa.beginEnrollment(userId, {
    accountName: 'user@example.com',
    ...(proof === undefined ? {} : { proof }),
  });
  h.advance(30_000);
  const result = await h.mfa.completeEnrollment(
    userId,
    codeAt(secret, h.now - 30_000),
    codeAt(secret, h.now),
  );
  if (!result.ok) throw new Error(`binding failed: ${result.reason}`);
  return secret;
}

/** `policy.proofs.required` with the same rule for every sensitive call. */
export function proofsEverywhere(rule: 'seed' | 'any' | 'none') {
  return {
    required: {
      enroll: rule,
      replace_factor: rule,
      remove_factor: rule,
      regenerate_recovery_codes: rule,
      disable: rule,
    },
  };
}
