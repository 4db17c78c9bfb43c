/**
 * The store conformance suite: `testMFAStore(name, makeStore)` registers
 * vitest tests that check an {@link MFAStore} against the contract, including
 * its expiry rules and its atomicity under concurrent calls. The tests of the
 * optional `readAndReserve` run unless you pass `{ readAndReserve: false }`
 * for a store without it, so a store that lacks it by mistake fails.
 *
 * The suite uses only the `MFAStore` interface and a fresh random user id in
 * every test, so it can run against a shared, non-empty database.
 * @module totpkit/testing
 */
import { describe } from 'vitest';
import type { MFAStore } from './store/contract.ts';
import { accountCases } from './testing/account.ts';
import { accountResetCases } from './testing/account-reset.ts';
import { adminResetCases } from './testing/admin-reset.ts';
import { concurrencyCases } from './testing/concurrency.ts';
import { duplicateSecretCases } from './testing/duplicates.ts';
import { enrollmentCases } from './testing/enrollment.ts';
import { erasureCases } from './testing/erasure.ts';
import { factorCases } from './testing/factors.ts';
import { deviceCases } from './testing/devices.ts';
import { createSuite, type MakeStore } from './testing/harness.ts';
import { loginCases } from './testing/login.ts';
import { readAndReserveCases } from './testing/read-and-reserve.ts';
import { recordCases } from './testing/records.ts';
import { recoveryCases } from './testing/recovery.ts';
import { throttleCases } from './testing/throttle.ts';
import { verificationCodeCases } from './testing/identity-codes.ts';
import { proofCases } from './testing/identity-proofs.ts';

export type { MakeStore } from './testing/harness.ts';

/** Options for {@link testMFAStore}. */
export interface TestMFAStoreOptions {
  /**
   * Whether the store implements the optional {@link MFAStore.readAndReserve}.
   * Default `true`: its tests are registered, and a store without the method
   * fails them. Pass `false` for a store without it: those tests are then not
   * registered at all (the service falls back to `getUser` + `reserveAttempt`).
   */
  readAndReserve?: boolean;
  /**
   * Whether the store has a `deleteExpired(now, options)` (MemoryStore,
   * PostgresStore, SQLiteStore, MySQLStore do; RedisStore expires keys by TTL
   * instead). Default `true`: the retention cases are registered, and a store
   * without the method fails them. Pass `false` for a store without it: those
   * cases are then not registered at all.
   */
  deleteExpired?: boolean;
}

/**
 * Registers the conformance tests for a store with vitest (`describe`/`it`),
 * under `MFAStore conformance: <name>`. Call it at the top level of a test
 * file; vitest must be installed (it is an optional peer dependency).
 *
 * The tests of the optional {@link MFAStore.readAndReserve} are registered
 * unless `options.readAndReserve` is `false`. They check it
 * call for call against `getUser` followed by `reserveAttempt`, that nothing
 * is written when the requirement is not met, and that parallel calls never
 * reserve more attempts than the policy allows.
 *
 * @param name - a label for the store, e.g. `'PostgresStore (PGlite)'`
 * @param makeStore - returns the store for each test (may be async, may
 *   return the same instance every time)
 * @param options - `readAndReserve: false` / `deleteExpired: false` for a store
 *   without that method
 * @returns nothing; the tests are registered with vitest
 * @throws nothing itself; each failed expectation fails its vitest test
 * @example
 * ```ts fragment
 * // test/my-store.test.ts
 * import { testMFAStore } from 'totpkit/testing';
 * import { MyStore } from '../src/my-store.ts';
 *
 * testMFAStore('MyStore', () => new MyStore(connection));
 * ```
 */
export function testMFAStore(
  name: string,
  makeStore: MakeStore,
  options: TestMFAStoreOptions = {},
): void {
  const suite = createSuite(makeStore, options.readAndReserve ?? true);
  describe(`MFAStore conformance: ${name}`, () => {
    recordCases(suite);
    enrollmentCases(suite);
    duplicateSecretCases(suite);
    throttleCases(suite);
    loginCases(suite);
    readAndReserveCases(suite);
    recoveryCases(suite);
    factorCases(suite);
    erasureCases(suite);
    accountCases(suite);
    accountResetCases(suite, options.deleteExpired ?? true);
    deviceCases(suite);
    adminResetCases(suite);
    concurrencyCases(suite);
    describe('the identity step through the service (verification codes, proofs)', () => {
      verificationCodeCases(makeStore);
      proofCases(makeStore);
    });
  });
}

/**
 * Registers only the identity-step cases of {@link testMFAStore} (issue 20's
 * rules: verification code expiry, one live code per purpose, the per-code
 * cap, the per-purpose budget, the cooldown, the daily caps, a sender
 * failure, the destination and purpose binding, no enumeration, and the
 * proof rules), run through `createMFA` on the store, under
 * `Identity rules: <name>`. `testMFAStore` includes them; call this to run
 * them alone while a store is being built.
 *
 * @param name - a label for the store
 * @param makeStore - returns the store for each test
 * @returns nothing; the tests are registered with vitest
 * @example
 * ```ts fragment
 * // test/my-store-identity.test.ts
 * import { testIdentityRules } from 'totpkit/testing';
 * import { MyStore } from '../src/my-store.ts';
 *
 * testIdentityRules('MyStore', () => new MyStore(connection));
 * ```
 */
export function testIdentityRules(name: string, makeStore: MakeStore): void {
  describe(`Identity rules: ${name}`, () => {
    verificationCodeCases(makeStore);
    proofCases(makeStore);
  });
}
