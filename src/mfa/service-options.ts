/**
 * Checking {@link createMFA}'s options once, at creation (internal): the
 * store's and the cipher's methods, the issuer, the callbacks, the parameters
 * of new factors and the policy. The store comes back wrapped so that every
 * rejection becomes `MFAError('ERR_STORE')` with a scrubbed cause.
 * @module
 * @internal
 */
import {
  checkAlgorithm,
  checkAppPeriod,
  checkDigits,
  checkOptions,
  checkString,
  describe,
  OTP_DEFAULTS,
  ownData,
} from '../_assert.ts';
import type { FactorParams, MFAStore } from '../store/contract.ts';
import { storeError } from '../store/scrub.ts';
import { REQUIRED_STORE_METHODS } from '../store/throttle.ts';
import type { EventErrorHandler } from './_emit.ts';
import type { SecretCipher } from './cipher.ts';
import type { MFAEvent } from './events.ts';
import { resolvePolicy, type MFAPolicy } from './policy.ts';
import type { MFAOptions } from './types.ts';

const STORE_METHODS = REQUIRED_STORE_METHODS satisfies readonly (keyof MFAStore)[];

/** Store methods the service uses when a store has them. */
const OPTIONAL_STORE_METHODS = ['readAndReserve'] as const satisfies readonly (keyof MFAStore)[];

/** The checked options of one service. */
export interface ServiceSettings {
  /** The store, guarded (see {@link guardStore}). */
  readonly store: MFAStore;
  /** The issuer authenticator apps show. */
  readonly issuer: string;
  /** Seals secrets at rest. */
  readonly cipher: SecretCipher;
  /** Unix ms, read once per call. */
  readonly clock: () => number;
  /** The merged, frozen policy. */
  readonly policy: MFAPolicy;
  /** Parameters of new factors. */
  readonly params: FactorParams;
  /** The app's event handler. */
  readonly onEvent: ((event: MFAEvent) => unknown) | undefined;
  /** Where a rejected `onEvent` promise goes. */
  readonly onEventError: EventErrorHandler | undefined;
}

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

/**
 * Checks {@link createMFA}'s options.
 *
 * @throws TypeError / RangeError naming the invalid option
 */
export function checkServiceOptions(options: MFAOptions): ServiceSettings {
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
  const checkedIssuer = checkString(issuer, 'issuer', 256);
  if (checkedIssuer.includes(':')) throw new RangeError('"issuer" must not contain ":"');
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
  const params: FactorParams = {
    algorithm: checkAlgorithm(algorithm, 'totp.algorithm'),
    digits: checkDigits(digits, 'totp.digits'),
    period: checkAppPeriod(period, 'totp.period'),
  };
  return {
    store: guardStore(store),
    issuer: checkedIssuer,
    cipher,
    clock: clock ?? Date.now,
    policy: resolvePolicy(policy),
    params,
    onEvent,
    onEventError,
  };
}
