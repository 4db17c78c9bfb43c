/**
 * What the conformance cases that run the service over a store share
 * (internal): a service with a clock the test moves, its events, enrolling
 * a user with real codes, and a store whose every call waits a random few
 * milliseconds first, so that calls started together interleave at the
 * store as they would between processes.
 * @module
 * @internal
 */
import { decodeBase32 } from '../base32.ts';
import { plaintextCipher } from '../mfa/cipher.ts';
import type { MFAEvent } from '../mfa/events.ts';
import type { MFAPolicyOptions } from '../mfa/policy.ts';
import { createMFA } from '../mfa/service.ts';
import type { MFA } from '../mfa/types.ts';
import type { MFAStore } from '../store/contract.ts';
import { REQUIRED_STORE_METHODS } from '../store/throttle.ts';
import { generateTOTP } from '../totp.ts';

/** The start of a 30 s step (2025-06-15T15:07:00Z), where the service cases begin. */
export const T0 = 1_750_000_020_000;
/** One day in ms. */
export const DAY_MS = 86_400_000;

/** A service over a store, with its clock and events. */
export interface Service {
  /** The service. */
  mfa: MFA;
  /** Every event it emitted, in order. */
  events: MFAEvent[];
  /** The time the service reads, Unix ms. */
  now: number;
}

/**
 * A service over `store` at `T0`: recovery codes hashed cheaply (these cases
 * test behaviour, not cost), no throttle in the way, and no proof asked for
 * (the cases here are about what happens around the factors, not proofs).
 */
export function serviceOver(store: MFAStore, policy: MFAPolicyOptions = {}): Service {
  const service: Service = { mfa: undefined as never, events: [], now: T0 };
  service.mfa = createMFA({
    store,
    issuer: 'Conformance',
    cipher: plaintextCipher(),
    clock: () => service.now,
    onEvent: (event) => void service.events.push(event),
    policy: {
      recoveryCodeScrypt: { N: 1024, r: 8, p: 1 },
      throttle: { freeAttempts: 100, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 100 },
      proofs: {
        required: {
          enroll: 'none',
          replace_factor: 'none',
          remove_factor: 'none',
          regenerate_recovery_codes: 'none',
          disable: 'none',
        },
      },
      ...policy,
    },
  });
  return service;
}

/** The code of base32 `secret` at `at`. */
export function codeAt(secret: string, at: number): string {
  return generateTOTP(decodeBase32(secret), { now: at });
}

/**
 * Enrolls and binds a factor for `userId` at `service.now` (codes of the
 * previous and the current step), then moves the clock one step on so that
 * the next code is fresh. Returns the secret and the recovery codes.
 */
export async function enrollUser(
  service: Service,
  userId: string,
  name?: string,
): Promise<{ secret: string; factorId: string; recoveryCodes: readonly string[] }> {
  const begun = await service.mfa.beginEnrollment(userId, {
    accountName: 'user@example.com',
    ...(name === undefined ? {} : { name }),
  });
  const bound = await service.mfa.completeEnrollment(
    userId,
    codeAt(begun.secret, service.now - 30_000),
    codeAt(begun.secret, service.now),
  );
  if (!bound.ok) throw new Error(`the enrollment was refused: ${bound.reason}`);
  service.now += 30_000;
  return {
    secret: begun.secret,
    factorId: bound.factorId,
    recoveryCodes: bound.recoveryCodes ?? [],
  };
}

/**
 * `store`'s methods, each waiting 0–`maxMs` ms (random) before it runs: calls
 * started together reach the store in a random order and interleave.
 */
export function jittered(store: MFAStore, maxMs = 3): MFAStore {
  const names = [...REQUIRED_STORE_METHODS, 'readAndReserve'] as const;
  const wrapped: Record<string, unknown> = {};
  for (const name of names) {
    const method = store[name];
    if (typeof method !== 'function') continue;
    wrapped[name] = async (...args: unknown[]) => {
      await new Promise((resolve) => setTimeout(resolve, Math.random() * maxMs));
      return (method as (...a: unknown[]) => Promise<unknown>).apply(store, args);
    };
  }
  return wrapped as unknown as MFAStore;
}

/** `store`'s methods, bound to it, with some replaced by `overrides`. */
export function withOverrides(store: MFAStore, overrides: Partial<MFAStore>): MFAStore {
  const wrapped: Record<string, unknown> = {};
  for (const name of [...REQUIRED_STORE_METHODS, 'readAndReserve'] as const) {
    const method = store[name];
    if (typeof method === 'function') wrapped[name] = method.bind(store);
  }
  return { ...wrapped, ...overrides } as unknown as MFAStore;
}
