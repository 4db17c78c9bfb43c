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
import { describe, expect, it } from 'vitest';
import {
  attemptDelayMs,
  attemptLimit,
  type ActiveFactor,
  type AttemptPolicy,
  type AttemptReservation,
  type MFAStore,
  type PendingEnrollment,
  type RecoveryCodeSet,
  type ThrottleScope,
  type UserRecord,
} from './store/types.ts';

/** Returns the store to test: a new one per call, or the same shared one. */
export type MakeStore = () => MFAStore | Promise<MFAStore>;

/** Options for {@link testMFAStore}. */
export interface TestMFAStoreOptions {
  /**
   * Whether the store implements the optional {@link MFAStore.readAndReserve}.
   * Default `true`: its tests are registered, and a store without the method
   * fails them. Pass `false` for a store without it: those tests are then not
   * registered at all (the service falls back to `getUser` + `reserveAttempt`).
   */
  readAndReserve?: boolean;
}

const NOW = 1_750_000_000_000;
const TTL = 600_000;
const POLICY: AttemptPolicy = {
  freeAttempts: 3,
  baseDelayMs: 1_000,
  maxDelayMs: 4_000,
  maxFailures: 8,
};

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
 * @param options - `readAndReserve: false` for a store without that optional method
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
  const { readAndReserve: hasReadAndReserve = true } = options;
  const run = globalThis.crypto.randomUUID().slice(0, 8);
  let counter = 0;
  /** A user id no other test (or earlier run on the same database) uses. */
  const user = (label: string) => `totpkit-conformance:${run}:${++counter}:${label}`;

  const pending = (id: string, overrides: Partial<PendingEnrollment> = {}): PendingEnrollment => ({
    id,
    name: `Name ${id}`,
    nameKey: `name ${id}`,
    sealedSecret: `sealed-${id}`,
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    createdAt: NOW,
    expiresAt: NOW + TTL,
    replaceFactorId: null,
    previous: null,
    ...overrides,
  });
  /** An imported factor `id`, as addFactor takes it. */
  const imported = (id: string, overrides: Partial<ActiveFactor> = {}): ActiveFactor => ({
    id,
    name: `Name ${id}`,
    nameKey: `name ${id}`,
    sealedSecret: `sealed-${id}`,
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    lastStep: 500,
    drift: 0,
    createdAt: NOW,
    activatedAt: NOW,
    lastUsedAt: null,
    ...overrides,
  });
  const codeSet = (label: string, count = 3): RecoveryCodeSet => ({
    salt: `salt-${label}`,
    hashes: Array.from({ length: count }, (_, i) => `hash-${label}-${i}`),
  });
  /** Binds a factor `factorId` for `userId` with last step 1000, drift 0. */
  const activate = async (
    store: MFAStore,
    userId: string,
    factorId: string,
    codes = codeSet(factorId),
    overrides: Partial<PendingEnrollment> = {},
  ) => {
    await store.putPending(userId, pending(factorId, overrides));
    expect(await store.activatePending(userId, factorId, activation(codes))).toMatchObject({
      ok: true,
    });
  };
  const factorIds = async (store: MFAStore, userId: string) =>
    (await store.getUser(userId, NOW))?.factors.map((f) => f.id) ?? [];
  const throttleOf = async (store: MFAStore, userId: string) =>
    (await store.getUser(userId, NOW))?.throttle;
  /** The store's readAndReserve, bound; a store declared to have one must. */
  const readAndReserveOf = (store: MFAStore) => {
    const method = store.readAndReserve;
    if (typeof method !== 'function') {
      throw new TypeError(
        'the store has no readAndReserve: implement it, or pass { readAndReserve: false } to testMFAStore',
      );
    }
    return method.bind(store);
  };
  /** `record` as it would read for `userId` (two users set up alike differ only in their id). */
  const as = (record: UserRecord | null, userId: string) => record && { ...record, userId };

  describe(`MFAStore conformance: ${name}`, () => {
    describe('getUser', () => {
      it('returns null for a user the store has nothing for', async () => {
        const store = await makeStore();
        expect(await store.getUser(user('unknown'), NOW)).toBeNull();
      });

      it('returns the whole record, and a user id with any characters round-trips', async () => {
        const store = await makeStore();
        const id = user('ünïcode 🔑 o\'brien \\ "x" %_');
        await store.putPending(id, pending('p1'));
        expect(await store.getUser(id, NOW)).toEqual({
          userId: id,
          factors: [],
          pending: pending('p1'),
          recoveryCodes: null,
          throttle: {
            otp: { failures: 0, blockedUntil: 0 },
            recovery: { failures: 0, blockedUntil: 0 },
          },
        });
      });

      it('keeps users apart', async () => {
        const store = await makeStore();
        const [a, b] = [user('a'), user('b')];
        await activate(store, a, 'fa');
        await store.reserveAttempt(a, 'otp', NOW, POLICY);
        expect(await store.getUser(b, NOW)).toBeNull();
        expect(await store.recordSuccess(b, 'fa', 2000, 0, NOW)).toBe(false);
        expect(await store.consumeRecoveryCode(b, 'hash-fa-0')).toBe(false);
        expect(await store.deleteFactors(b)).toBe(false);
        expect(await store.removeFactor(b, 'fa')).toEqual({ removed: false, remaining: 0 });
        expect(await store.renameFactor(b, 'fa', 'x', 'x')).toBe('not_found');
        expect(await store.deleteUser(b)).toBe(false);
        expect(await factorIds(store, a)).toEqual(['fa']);
      });

      it('hands out copies: changing a returned or passed-in object changes nothing', async () => {
        const store = await makeStore();
        const id = user('copies');
        const input = pending('p1');
        await store.putPending(id, input);
        input.sealedSecret = 'changed';
        const read = await store.getUser(id, NOW);
        if (read?.pending) read.pending.sealedSecret = 'changed too';
        expect((await store.getUser(id, NOW))?.pending?.sealedSecret).toBe('sealed-p1');
      });
    });

    describe('putPending', () => {
      it('creates, then replaces, the pending enrollment', async () => {
        const store = await makeStore();
        const id = user('replace');
        await store.putPending(id, pending('p1'));
        await store.putPending(id, pending('p2', { digits: 8, period: 60, replaceFactorId: 'fx' }));
        // p1 was unexpired: it is kept as the new enrollment's previous.
        expect((await store.getUser(id, NOW))?.pending).toEqual(
          pending('p2', {
            digits: 8,
            period: 60,
            replaceFactorId: 'fx',
            previous: {
              id: 'p1',
              sealedSecret: 'sealed-p1',
              algorithm: 'SHA1',
              digits: 6,
              period: 30,
              expiresAt: NOW + TTL,
            },
          }),
        );
        expect(await store.activatePending(id, 'p1', activation())).toEqual({
          ok: false,
          reason: 'not_pending',
        });
      });

      it('stores a pending enrollment beside active factors, changing none of them', async () => {
        const store = await makeStore();
        const id = user('active');
        await activate(store, id, 'f1');
        const before = await store.getUser(id, NOW);
        await store.putPending(id, pending('p9'));
        const record = await store.getUser(id, NOW);
        expect(record).toEqual({ ...before, pending: pending('p9') });
      });
    });

    describe('activatePending', () => {
      it('binds the pending enrollment as a factor with its id, sets codes, resets both scopes', async () => {
        const store = await makeStore();
        const id = user('promote');
        await store.putPending(
          id,
          pending('p1', { algorithm: 'SHA256', digits: 8, period: 60, createdAt: NOW - 9 }),
        );
        await store.reserveAttempt(id, 'otp', NOW, POLICY);
        await store.reserveAttempt(id, 'recovery', NOW, POLICY);
        const codes = codeSet('c1', 10);
        expect(
          await store.activatePending(id, 'p1', {
            lastStep: 58_333_334,
            drift: -3,
            now: NOW + 5,
            maxFactors: 5,
            recoveryCodes: codes,
          }),
        ).toEqual({ ok: true, firstFactor: true, replaced: false });
        expect(await store.getUser(id, NOW)).toEqual({
          userId: id,
          factors: [
            {
              id: 'p1',
              name: 'Name p1',
              nameKey: 'name p1',
              sealedSecret: 'sealed-p1',
              algorithm: 'SHA256',
              digits: 8,
              period: 60,
              lastStep: 58_333_334,
              drift: -3,
              createdAt: NOW - 9,
              activatedAt: NOW + 5,
              lastUsedAt: null,
            },
          ],
          pending: null,
          recoveryCodes: codes,
          throttle: {
            otp: { failures: 0, blockedUntil: 0 },
            recovery: { failures: 0, blockedUntil: 0 },
          },
        });
      });

      it('refuses a wrong id, a second activation, and nothing pending', async () => {
        const store = await makeStore();
        const id = user('refuse');
        const notPending = { ok: false, reason: 'not_pending' };
        expect(await store.activatePending(id, 'p1', activation())).toEqual(notPending);
        await store.putPending(id, pending('p1'));
        expect(await store.activatePending(id, 'p2', activation())).toEqual(notPending);
        expect(await factorIds(store, id)).toEqual([]);
        expect(await store.activatePending(id, 'p1', activation())).toMatchObject({ ok: true });
        expect(await store.activatePending(id, 'p1', activation())).toEqual(notPending);
        expect(await factorIds(store, id)).toEqual(['p1']);
      });

      it('refuses at and after expiresAt, accepts just before', async () => {
        const store = await makeStore();
        const id = user('expiry');
        await store.putPending(id, pending('p1'));
        const at = (now: number) => ({ ...activation(), now });
        expect(await store.activatePending(id, 'p1', at(NOW + TTL))).toMatchObject({ ok: false });
        expect(await store.activatePending(id, 'p1', at(NOW + TTL + 60_000))).toMatchObject({
          ok: false,
        });
        expect(await factorIds(store, id)).toEqual([]);
        expect(await store.activatePending(id, 'p1', at(NOW + TTL - 1))).toMatchObject({
          ok: true,
        });
      });

      it('adds a second factor, keeping the first one, its state and the recovery codes', async () => {
        const store = await makeStore();
        const id = user('second');
        await activate(store, id, 'f1', codeSet('old'));
        expect(await store.recordSuccess(id, 'f1', 1005, 2, NOW + 1)).toBe(true);
        await store.putPending(id, pending('f2', { createdAt: NOW + 10 }));
        expect(await store.activatePending(id, 'f2', activation(codeSet('new')))).toEqual({
          ok: true,
          firstFactor: false,
          replaced: false,
        });
        const record = await store.getUser(id, NOW);
        expect(record?.factors.map((f) => [f.id, f.lastStep, f.drift, f.lastUsedAt])).toEqual([
          ['f1', 1005, 2, NOW + 1],
          ['f2', 1000, 0, null],
        ]);
        expect(record?.recoveryCodes).toEqual(codeSet('old'));
      });

      it('lists factors by createdAt, whatever order they were bound in', async () => {
        const store = await makeStore();
        const id = user('order');
        await activate(store, id, 'fb', codeSet('b'), { createdAt: NOW + 2 });
        await activate(store, id, 'fa', codeSet('a'), { createdAt: NOW + 1 });
        await store.addFactor(id, imported('fc', { createdAt: NOW }), addOptions(20));
        expect(await factorIds(store, id)).toEqual(['fc', 'fa', 'fb']);
      });

      it('replaceFactorId removes that factor in the same step, and frees its place', async () => {
        const store = await makeStore();
        const id = user('replace-factor');
        await activate(store, id, 'f1', codeSet('c'));
        await activate(store, id, 'f2');
        await store.putPending(id, pending('f3', { replaceFactorId: 'f1', nameKey: 'name f1' }));
        expect(await store.activatePending(id, 'f3', { ...activation(), maxFactors: 2 })).toEqual({
          ok: true,
          firstFactor: false,
          replaced: true,
        });
        const record = await store.getUser(id, NOW);
        expect(record?.factors.map((f) => f.id)).toEqual(['f2', 'f3']);
        expect(record?.recoveryCodes).toEqual(codeSet('c'));
        expect(await store.recordSuccess(id, 'f1', 5000, 0, NOW)).toBe(false);
      });

      it('replaceFactorId naming a factor already gone binds like a plain enrollment', async () => {
        const store = await makeStore();
        const id = user('replace-gone');
        await activate(store, id, 'f1');
        await store.putPending(id, pending('f2', { replaceFactorId: 'nope' }));
        expect(await store.activatePending(id, 'f2', activation())).toEqual({
          ok: true,
          firstFactor: false,
          replaced: false,
        });
        expect(await factorIds(store, id)).toEqual(['f1', 'f2']);
      });

      it('refuses past maxFactors and for a taken name, writing nothing', async () => {
        const store = await makeStore();
        const id = user('limit');
        await activate(store, id, 'f1');
        await activate(store, id, 'f2');
        await store.reserveAttempt(id, 'otp', NOW, POLICY);
        await store.putPending(id, pending('f3'));
        const before = await store.getUser(id, NOW);
        expect(await store.activatePending(id, 'f3', { ...activation(), maxFactors: 2 })).toEqual({
          ok: false,
          reason: 'factor_limit',
        });
        await store.putPending(id, pending('f3', { nameKey: 'name f2' }));
        const before2 = await store.getUser(id, NOW);
        expect(before2).toEqual({ ...before, pending: pending('f3', { nameKey: 'name f2' }) });
        expect(await store.activatePending(id, 'f3', activation())).toEqual({
          ok: false,
          reason: 'name_taken',
        });
        expect(await store.getUser(id, NOW)).toEqual(before2);
        expect(await store.activatePending(id, 'f3', { ...activation(), maxFactors: 3 })).toEqual({
          ok: false,
          reason: 'name_taken',
        });
      });
    });

    describe('addFactor', () => {
      it('adds an imported factor as given, with the first set of recovery codes', async () => {
        const store = await makeStore();
        const id = user('import');
        await store.putPending(id, pending('p1'));
        await store.reserveAttempt(id, 'otp', NOW, POLICY);
        const factor = imported('i1', { lastStep: 1234, algorithm: 'SHA512', digits: 7 });
        expect(await store.addFactor(id, factor, addOptions(5, codeSet('imp')))).toEqual({
          ok: true,
          firstFactor: true,
          replaced: false,
        });
        expect(await store.getUser(id, NOW)).toEqual({
          userId: id,
          factors: [factor],
          pending: pending('p1'),
          recoveryCodes: codeSet('imp'),
          throttle: {
            otp: { failures: 1, blockedUntil: NOW },
            recovery: { failures: 0, blockedUntil: 0 },
          },
        });
        expect(await store.addFactor(id, imported('i2'), addOptions(5, codeSet('x')))).toEqual({
          ok: true,
          firstFactor: false,
          replaced: false,
        });
        expect((await store.getUser(id, NOW))?.recoveryCodes).toEqual(codeSet('imp'));
      });

      it('refuses past maxFactors and for a taken name, writing nothing', async () => {
        const store = await makeStore();
        const id = user('import-limit');
        await store.addFactor(id, imported('i1'), addOptions(1));
        const before = await store.getUser(id, NOW);
        expect(await store.addFactor(id, imported('i2'), addOptions(1))).toEqual({
          ok: false,
          reason: 'factor_limit',
        });
        expect(
          await store.addFactor(id, imported('i2', { nameKey: 'name i1' }), addOptions(5)),
        ).toEqual({ ok: false, reason: 'name_taken' });
        expect(await store.getUser(id, NOW)).toEqual(before);
      });
    });

    describe('pending expiry', () => {
      it('after expiresAt getUser returns the same pending enrollment or none, never another', async () => {
        const store = await makeStore();
        const id = user('expired-read');
        await store.putPending(id, pending('p1'));
        const later = (await store.getUser(id, NOW + TTL + 1))?.pending ?? null;
        if (later !== null) expect(later).toEqual(pending('p1'));
        expect(
          await store.activatePending(id, 'p1', { ...activation(), now: NOW + TTL + 1 }),
        ).toEqual({ ok: false, reason: 'not_pending' });
      });

      it('an expired enrollment can be replaced by a new one, which then activates', async () => {
        const store = await makeStore();
        const id = user('expired-replace');
        await store.putPending(id, pending('p1'));
        const later = NOW + TTL + 1;
        const fresh = pending('p2', { createdAt: later, expiresAt: later + TTL });
        await store.putPending(id, fresh);
        expect((await store.getUser(id, later))?.pending).toEqual(fresh);
        expect(await store.activatePending(id, 'p2', { ...activation(), now: later })).toEqual({
          ok: true,
          firstFactor: true,
          replaced: false,
        });
      });
    });

    describe('reserveAttempt', () => {
      it('allows freeAttempts back to back, then throttles for exactly attemptDelayMs', async () => {
        const store = await makeStore();
        const id = user('free');
        for (let i = 1; i <= POLICY.freeAttempts; i++) {
          expect(await store.reserveAttempt(id, 'otp', NOW, POLICY)).toEqual({
            ok: true,
            failures: i,
          });
        }
        const delay = attemptDelayMs(POLICY, POLICY.freeAttempts);
        expect(delay).toBe(1_000);
        expect(await store.reserveAttempt(id, 'otp', NOW + 400, POLICY)).toEqual({
          ok: false,
          reason: 'throttled',
          retryAfterMs: delay - 400,
        });
        expect((await throttleOf(store, id))?.otp).toEqual({
          failures: POLICY.freeAttempts,
          blockedUntil: NOW + delay,
        });
      });

      it('follows the back-off schedule to the cap, then stays locked', async () => {
        const store = await makeStore();
        const id = user('schedule');
        let now = NOW;
        for (let failures = 1; failures <= POLICY.maxFailures; failures++) {
          if (failures > 1) {
            const wait = attemptDelayMs(POLICY, failures - 1);
            if (wait > 0) {
              expect(await store.reserveAttempt(id, 'otp', now + wait - 1, POLICY)).toEqual({
                ok: false,
                reason: 'throttled',
                retryAfterMs: 1,
              });
            }
            now += wait;
          }
          expect(await store.reserveAttempt(id, 'otp', now, POLICY)).toEqual({
            ok: true,
            failures,
          });
        }
        // Failures 3 to 7 are each followed by a delay: 1 s doubling, capped at 4 s.
        expect(now - NOW).toBe(1_000 + 2_000 + 4_000 + 4_000 + 4_000);
        for (const later of [now, now + 4_000, now + 365 * 86_400_000]) {
          expect(await store.reserveAttempt(id, 'otp', later, POLICY)).toEqual({
            ok: false,
            reason: 'locked',
          });
        }
        expect((await throttleOf(store, id))?.otp.failures).toBe(POLICY.maxFailures);
      });

      it('keeps the otp and recovery scopes apart', async () => {
        const store = await makeStore();
        const id = user('scopes');
        const strict = { ...POLICY, maxFailures: 2 };
        await store.reserveAttempt(id, 'otp', NOW, strict);
        await store.reserveAttempt(id, 'otp', NOW, strict);
        expect(await store.reserveAttempt(id, 'otp', NOW, strict)).toEqual({
          ok: false,
          reason: 'locked',
        });
        expect(await store.reserveAttempt(id, 'recovery', NOW, strict)).toEqual({
          ok: true,
          failures: 1,
        });
        expect(await throttleOf(store, id)).toEqual({
          otp: { failures: 2, blockedUntil: NOW },
          recovery: { failures: 1, blockedUntil: NOW },
        });
      });

      it('creates state for a user with no record', async () => {
        const store = await makeStore();
        const id = user('no-record');
        expect(await store.reserveAttempt(id, 'recovery', NOW, POLICY)).toEqual({
          ok: true,
          failures: 1,
        });
        const record = await store.getUser(id, NOW);
        expect(record?.factors).toEqual([]);
        expect(record?.pending).toBeNull();
        expect(record?.throttle.recovery).toEqual({ failures: 1, blockedUntil: NOW });
      });

      it('locks at attemptLimit(maxFailures, active factors): the budget is shared out', async () => {
        const store = await makeStore();
        const open = { freeAttempts: 100, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 10 };
        for (const count of [1, 2, 3, 5]) {
          const id = user(`limit-${count}`);
          for (let i = 0; i < count; i++) {
            await store.addFactor(id, imported(`i${i}`), addOptions(20));
          }
          const granted: number[] = [];
          for (let i = 0; i < 12; i++) {
            const r = await store.reserveAttempt(id, 'otp', NOW, open);
            if (r.ok) granted.push(r.failures);
            else expect(r).toEqual({ ok: false, reason: 'locked' });
          }
          // 10, 5, 4 (ceil(10 / 3)) and 2 attempts.
          expect(granted.length).toBe(attemptLimit(10, count));
          expect(granted.length).toBe([10, 5, 4, 2][[1, 2, 3, 5].indexOf(count)]);
        }
      });
    });

    describe('recordSuccess', () => {
      it('advances the last step only forward, and stores the drift', async () => {
        const store = await makeStore();
        const id = user('advance');
        await activate(store, id, 'f1');
        expect(await store.recordSuccess(id, 'f1', 1000, 0, NOW)).toBe(false); // = lastStep
        expect(await store.recordSuccess(id, 'f1', 999, 0, NOW)).toBe(false);
        expect(await store.recordSuccess(id, 'f1', 1001, -2, NOW + 1)).toBe(true);
        expect(await store.recordSuccess(id, 'f1', 1001, 5, NOW + 2)).toBe(false);
        const big = 2 ** 40 + 5;
        expect(await store.recordSuccess(id, 'f1', big, 7, NOW + 3)).toBe(true);
        const factor = (await store.getUser(id, NOW))?.factors[0];
        expect(factor?.lastStep).toBe(big);
        expect(factor?.drift).toBe(7);
        expect(factor?.lastUsedAt).toBe(NOW + 3);
      });

      it("keeps each factor's replay state apart", async () => {
        const store = await makeStore();
        const id = user('per-factor');
        await activate(store, id, 'f1');
        await activate(store, id, 'f2');
        expect(await store.recordSuccess(id, 'f1', 1010, 1, NOW)).toBe(true);
        expect(await store.recordSuccess(id, 'f2', 1005, -1, NOW + 1)).toBe(true);
        expect(await store.recordSuccess(id, 'f1', 1005, 0, NOW)).toBe(false);
        const record = await store.getUser(id, NOW);
        expect(record?.factors.map((f) => [f.id, f.lastStep, f.drift, f.lastUsedAt])).toEqual([
          ['f1', 1010, 1, NOW],
          ['f2', 1005, -1, NOW + 1],
        ]);
      });

      it('resets the otp scope only', async () => {
        const store = await makeStore();
        const id = user('reset-otp');
        await activate(store, id, 'f1');
        await store.reserveAttempt(id, 'otp', NOW, POLICY);
        await store.reserveAttempt(id, 'recovery', NOW, POLICY);
        expect(await store.recordSuccess(id, 'f1', 1001, 0, NOW)).toBe(true);
        expect(await throttleOf(store, id)).toEqual({
          otp: { failures: 0, blockedUntil: 0 },
          recovery: { failures: 1, blockedUntil: NOW },
        });
      });

      it('refuses, writing nothing, for another factor id or no factor', async () => {
        const store = await makeStore();
        const id = user('wrong-factor');
        expect(await store.recordSuccess(id, 'f1', 5, 0, NOW)).toBe(false);
        await activate(store, id, 'f1');
        await store.reserveAttempt(id, 'otp', NOW, POLICY);
        expect(await store.recordSuccess(id, 'f2', 2000, 3, NOW)).toBe(false);
        const record = await store.getUser(id, NOW);
        expect(record?.factors[0]?.lastStep).toBe(1000);
        expect(record?.factors[0]?.drift).toBe(0);
        expect(record?.throttle.otp.failures).toBe(1);
      });
    });

    describe('recovery codes and secrets', () => {
      it('replaceRecoveryCodes replaces the whole set, only for a user with a factor', async () => {
        const store = await makeStore();
        const id = user('replace-codes');
        expect(await store.replaceRecoveryCodes(id, codeSet('x'))).toBe(false);
        await store.putPending(id, pending('p1'));
        expect(await store.replaceRecoveryCodes(id, codeSet('x'))).toBe(false);
        expect((await store.getUser(id, NOW))?.recoveryCodes).toBeNull();
        await activate(store, id, 'f1', codeSet('old'));
        expect(await store.replaceRecoveryCodes(id, codeSet('new', 5))).toBe(true);
        expect((await store.getUser(id, NOW))?.recoveryCodes).toEqual(codeSet('new', 5));
        expect(await store.consumeRecoveryCode(id, 'hash-old-1')).toBe(false);
        expect(await store.consumeRecoveryCode(id, 'hash-new-1')).toBe(true);
      });

      it('replaceSealedSecret changes only the sealed secret of one factor or the pending one', async () => {
        const store = await makeStore();
        const id = user('reseal');
        expect(await store.replaceSealedSecret(id, 'f1', 'x')).toBe(false);
        await activate(store, id, 'f1');
        await activate(store, id, 'f2');
        await store.putPending(id, pending('p3'));
        const before = await store.getUser(id, NOW);
        expect(await store.replaceSealedSecret(id, 'f9', 'resealed')).toBe(false);
        expect(await store.replaceSealedSecret(id, 'f2', 'resealed')).toBe(true);
        expect(await store.replaceSealedSecret(id, 'p3', 'resealed-p')).toBe(true);
        const after = await store.getUser(id, NOW);
        expect(after).toEqual({
          ...before,
          factors: [before?.factors[0], { ...before?.factors[1], sealedSecret: 'resealed' }],
          pending: { ...before?.pending, sealedSecret: 'resealed-p' },
        });
      });

      it('consumeRecoveryCode removes one hash once and resets both scopes', async () => {
        const store = await makeStore();
        const id = user('consume');
        await activate(store, id, 'f1', codeSet('c', 3));
        await store.reserveAttempt(id, 'otp', NOW, POLICY);
        await store.reserveAttempt(id, 'recovery', NOW, POLICY);
        expect(await store.consumeRecoveryCode(id, 'hash-unknown')).toBe(false);
        expect((await throttleOf(store, id))?.recovery.failures).toBe(1);
        expect(await store.consumeRecoveryCode(id, 'hash-c-1')).toBe(true);
        expect(await store.consumeRecoveryCode(id, 'hash-c-1')).toBe(false);
        const record = await store.getUser(id, NOW);
        expect([...(record?.recoveryCodes?.hashes ?? [])].sort()).toEqual(['hash-c-0', 'hash-c-2']);
        expect(record?.recoveryCodes?.salt).toBe('salt-c');
        expect(record?.throttle).toEqual({
          otp: { failures: 0, blockedUntil: 0 },
          recovery: { failures: 0, blockedUntil: 0 },
        });
      });
    });

    describe('resetThrottle and deleteFactor', () => {
      it('resetThrottle resets one scope', async () => {
        const store = await makeStore();
        const id = user('unlock');
        await store.resetThrottle(user('nobody'), 'otp'); // no record: no error
        for (let i = 0; i < 3; i++) {
          await store.reserveAttempt(id, 'otp', NOW, POLICY);
          await store.reserveAttempt(id, 'recovery', NOW, POLICY);
        }
        await store.resetThrottle(id, 'otp');
        expect(await throttleOf(store, id)).toEqual({
          otp: { failures: 0, blockedUntil: 0 },
          recovery: { failures: 3, blockedUntil: NOW + 1_000 },
        });
        await store.resetThrottle(id, 'recovery');
        expect(await store.getUser(id, NOW)).toBeNull(); // nothing left
      });

      it('deleteFactors removes factors, pending and codes but keeps throttle state', async () => {
        const store = await makeStore();
        const id = user('delete');
        expect(await store.deleteFactors(id)).toBe(false);
        await activate(store, id, 'f1');
        await activate(store, id, 'f2');
        await store.putPending(id, pending('p3'));
        await store.reserveAttempt(id, 'otp', NOW, POLICY);
        expect(await store.deleteFactors(id)).toBe(true);
        const record = await store.getUser(id, NOW);
        expect(record?.factors).toEqual([]);
        expect(record?.pending ?? null).toBeNull();
        expect(record?.recoveryCodes ?? null).toBeNull();
        expect(record?.throttle.otp.failures).toBe(1);
        expect(await store.deleteFactors(id)).toBe(false);
        expect(await store.recordSuccess(id, 'f1', 2000, 0, NOW)).toBe(false);
        expect(await store.consumeRecoveryCode(id, 'hash-f1-0')).toBe(false);
        expect(await store.activatePending(id, 'p3', activation())).toMatchObject({ ok: false });
      });

      it('deleteFactors removes a pending enrollment on its own', async () => {
        const store = await makeStore();
        const id = user('delete-pending');
        await store.putPending(id, pending('p1'));
        expect(await store.deleteFactors(id)).toBe(true);
        expect(await store.getUser(id, NOW)).toBeNull(); // nothing left
      });

      it('deleteUser erases everything, throttle state included', async () => {
        const store = await makeStore();
        const id = user('erase');
        const other = user('erase-other');
        expect(await store.deleteUser(id)).toBe(false);
        for (const u of [id, other]) {
          await activate(store, u, 'f1');
          await store.putPending(u, pending('p2'));
          await store.reserveAttempt(u, 'otp', NOW, POLICY);
          await store.reserveAttempt(u, 'recovery', NOW, POLICY);
        }
        const kept = await store.getUser(other, NOW);
        expect(await store.deleteUser(id)).toBe(true);
        expect(await store.getUser(id, NOW)).toBeNull();
        expect(await store.deleteUser(id)).toBe(false);
        expect(await store.getUser(other, NOW)).toEqual(kept);
        // A locked-out user with nothing else is erased too.
        const locked = user('erase-locked');
        await store.reserveAttempt(locked, 'otp', NOW, POLICY);
        expect(await store.deleteUser(locked)).toBe(true);
        expect(await store.getUser(locked, NOW)).toBeNull();
      });
    });

    describe('refundAttempt', () => {
      it('takes back the last reservation only while nothing else changed the scope', async () => {
        const store = await makeStore();
        const id = user('refund');
        expect(await store.refundAttempt(id, 'otp', 1, 0)).toBe(false);
        await activate(store, id, 'f1');
        for (let i = 0; i < 3; i++) await store.reserveAttempt(id, 'otp', NOW, POLICY);
        const before = (await throttleOf(store, id))?.otp;
        expect(before).toEqual({ failures: 3, blockedUntil: NOW + 1_000 });
        await store.reserveAttempt(id, 'otp', NOW + 1_000, POLICY); // 4, blocked to NOW + 3000
        expect(await store.refundAttempt(id, 'otp', 3, NOW + 1_000)).toBe(false); // stale count
        expect(await store.refundAttempt(id, 'recovery', 4, 0)).toBe(false); // other scope
        expect(await store.refundAttempt(id, 'otp', 4, NOW + 1_000)).toBe(true);
        expect((await throttleOf(store, id))?.otp).toEqual(before);
        expect(await store.refundAttempt(id, 'otp', 4, NOW + 1_000)).toBe(false); // once
        await store.resetThrottle(id, 'otp');
        expect(await store.refundAttempt(id, 'otp', 0, 0)).toBe(false);
        expect((await throttleOf(store, id))?.otp).toEqual({ failures: 0, blockedUntil: 0 });
      });

      it('racing reservations: refunds never take back more than they reserved', async () => {
        const store = await makeStore();
        const id = user('refund-race');
        const open = { freeAttempts: 1000, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 1000 };
        const results = await Promise.all(
          Array.from({ length: 40 }, async () => {
            const r = await store.reserveAttempt(id, 'otp', NOW, open);
            return r.ok ? store.refundAttempt(id, 'otp', r.failures, NOW) : false;
          }),
        );
        const refunded = results.filter(Boolean).length;
        expect(refunded).toBeGreaterThanOrEqual(1);
        expect((await throttleOf(store, id))?.otp.failures ?? 0).toBe(40 - refunded);
      });
    });

    describe('renameFactor and removeFactor', () => {
      it('renames one factor, refusing a name another factor has', async () => {
        const store = await makeStore();
        const id = user('rename');
        await activate(store, id, 'f1');
        await activate(store, id, 'f2');
        expect(await store.renameFactor(id, 'f9', 'X', 'x')).toBe('not_found');
        expect(await store.renameFactor(id, 'f2', 'NAME F1', 'name f1')).toBe('name_taken');
        expect(await store.renameFactor(id, 'f1', 'NAME P1', 'name f1')).toBe('renamed'); // its own
        expect(await store.renameFactor(id, 'f2', 'Tablet', 'tablet')).toBe('renamed');
        const record = await store.getUser(id, NOW);
        expect(record?.factors.map((f) => [f.id, f.name, f.nameKey])).toEqual([
          ['f1', 'NAME P1', 'name f1'],
          ['f2', 'Tablet', 'tablet'],
        ]);
      });

      it('removes one factor, keeping the rest, the codes and the pending enrollment', async () => {
        const store = await makeStore();
        const id = user('remove');
        await activate(store, id, 'f1', codeSet('c'));
        await activate(store, id, 'f2');
        await store.putPending(id, pending('p3'));
        expect(await store.removeFactor(id, 'f9')).toEqual({ removed: false, remaining: 2 });
        expect(await store.removeFactor(id, 'f1')).toEqual({ removed: true, remaining: 1 });
        const record = await store.getUser(id, NOW);
        expect(record?.factors.map((f) => f.id)).toEqual(['f2']);
        expect(record?.recoveryCodes).toEqual(codeSet('c'));
        expect(record?.pending).toEqual(pending('p3'));
        expect(await store.removeFactor(id, 'f1')).toEqual({ removed: false, remaining: 1 });
      });

      it('removing the last factor removes the codes and the pending enrollment, keeps throttle', async () => {
        const store = await makeStore();
        const id = user('remove-last');
        await activate(store, id, 'f1');
        await store.putPending(id, pending('p2'));
        await store.reserveAttempt(id, 'otp', NOW, POLICY);
        expect(await store.removeFactor(id, 'f1')).toEqual({ removed: true, remaining: 0 });
        const record = await store.getUser(id, NOW);
        expect(record?.factors).toEqual([]);
        expect(record?.pending ?? null).toBeNull();
        expect(record?.recoveryCodes ?? null).toBeNull();
        expect(record?.throttle.otp.failures).toBe(1);
      });
    });

    if (hasReadAndReserve)
      describe('readAndReserve (optional)', () => {
        it('returns the record as it was and the reservation, and counts the attempt', async () => {
          const store = await makeStore();
          const readAndReserve = readAndReserveOf(store);
          const id = user('read-reserve');
          await activate(store, id, 'f1', codeSet('rr', 4));
          await store.putPending(id, pending('p2'));
          await store.reserveAttempt(id, 'recovery', NOW, POLICY);
          const before = await store.getUser(id, NOW);
          expect(before?.factors[0]?.id).toBe('f1');
          expect(await readAndReserve(id, 'otp', NOW + 7, POLICY, 'active')).toEqual({
            record: before,
            reservation: { ok: true, failures: 1 },
          });
          expect(await throttleOf(store, id)).toEqual({
            otp: { failures: 1, blockedUntil: NOW + 7 },
            recovery: { failures: 1, blockedUntil: NOW },
          });
          const after = await store.getUser(id, NOW);
          expect(await readAndReserve(id, 'recovery', NOW, POLICY, 'pending')).toEqual({
            record: after,
            reservation: { ok: true, failures: 2 },
          });
        });

        for (const [scope, requirement] of [
          ['otp', 'active'],
          ['recovery', 'active'],
          ['otp', 'pending'],
        ] as const) {
          it(`equals getUser then reserveAttempt, call for call, to the lock (${scope}, ${requirement})`, async () => {
            const store = await makeStore();
            const readAndReserve = readAndReserveOf(store);
            const [a, b] = [user(`equal-a-${scope}`), user(`equal-b-${scope}`)];
            for (const id of [a, b]) {
              if (requirement === 'active') await activate(store, id, 'f1');
              else await store.putPending(id, pending('p1'));
              await store.reserveAttempt(id, scope === 'otp' ? 'recovery' : 'otp', NOW, POLICY);
            }
            const outcomes: AttemptReservation[] = [];
            // Every 700 ms for 21 s: free attempts, back-off delays, then the lock.
            for (let now = NOW; now <= NOW + 21_000; now += 700) {
              const record = await store.getUser(b, now);
              const reservation = await store.reserveAttempt(b, scope, now, POLICY);
              expect(await readAndReserve(a, scope, now, POLICY, requirement)).toEqual({
                record: as(record, a),
                reservation,
              });
              outcomes.push(reservation);
            }
            expect(as(await store.getUser(a, NOW), b)).toEqual(await store.getUser(b, NOW));
            const reasons = new Set(outcomes.map((r) => (r.ok ? 'ok' : r.reason)));
            expect(reasons).toEqual(new Set(['ok', 'throttled', 'locked']));
          });
        }

        it('reserves nothing and writes nothing when the requirement is not met', async () => {
          const store = await makeStore();
          const readAndReserve = readAndReserveOf(store);
          const none = { record: null, reservation: null };
          const unknown = user('rr-unknown');
          for (const scope of ['otp', 'recovery'] as const) {
            expect(await readAndReserve(unknown, scope, NOW, POLICY, 'active')).toEqual(none);
            expect(await readAndReserve(unknown, scope, NOW, POLICY, 'pending')).toEqual(none);
          }
          expect(await store.getUser(unknown, NOW)).toBeNull(); // no throttle state created

          const onlyPending = user('rr-only-pending');
          await store.putPending(onlyPending, pending('p1'));
          const pendingRecord = await store.getUser(onlyPending, NOW);
          expect(await readAndReserve(onlyPending, 'otp', NOW, POLICY, 'active')).toEqual({
            record: pendingRecord,
            reservation: null,
          });
          const onlyActive = user('rr-only-active');
          await activate(store, onlyActive, 'f1');
          const activeRecord = await store.getUser(onlyActive, NOW);
          expect(await readAndReserve(onlyActive, 'otp', NOW, POLICY, 'pending')).toEqual({
            record: activeRecord,
            reservation: null,
          });
          expect(await store.getUser(onlyPending, NOW)).toEqual(pendingRecord);
          expect(await store.getUser(onlyActive, NOW)).toEqual(activeRecord);

          // Disabled: the throttle state is kept, and not added to.
          const disabled = user('rr-disabled');
          await activate(store, disabled, 'f1');
          await store.reserveAttempt(disabled, 'otp', NOW, POLICY);
          await store.deleteFactors(disabled);
          const result = await readAndReserve(disabled, 'otp', NOW, POLICY, 'active');
          expect(result.reservation).toBeNull();
          expect(result.record?.factors).toEqual([]);
          expect(result.record?.throttle.otp).toEqual({ failures: 1, blockedUntil: NOW });
          expect((await throttleOf(store, disabled))?.otp.failures).toBe(1);
        });

        it("'pending' requires now < expiresAt", async () => {
          const store = await makeStore();
          const readAndReserve = readAndReserveOf(store);
          const id = user('rr-expiry');
          await store.putPending(id, pending('p1'));
          for (const now of [NOW + TTL, NOW + TTL + 60_000]) {
            const late = await readAndReserve(id, 'otp', now, POLICY, 'pending');
            expect(late.reservation).toBeNull();
            // Past expiresAt a store may still return the enrollment, or not.
            if (late.record?.pending) expect(late.record.pending).toEqual(pending('p1'));
          }
          expect((await throttleOf(store, id))?.otp.failures ?? 0).toBe(0);
          expect(await readAndReserve(id, 'otp', NOW + TTL - 1, POLICY, 'pending')).toEqual({
            record: expect.objectContaining({ pending: pending('p1') }),
            reservation: { ok: true, failures: 1 },
          });
        });

        it('hands out copies', async () => {
          const store = await makeStore();
          const readAndReserve = readAndReserveOf(store);
          const id = user('rr-copies');
          await activate(store, id, 'f1');
          const { record } = await readAndReserve(id, 'otp', NOW, POLICY, 'active');
          if (record?.factors[0]) record.factors[0].lastStep = 99_999;
          if (record) record.throttle.otp.failures = 42;
          const stored = await store.getUser(id, NOW);
          expect(stored?.factors[0]?.lastStep).toBe(1000);
          expect(stored?.throttle.otp.failures).toBe(1);
        });

        it('200 parallel calls never exceed the budget (throttle)', async () => {
          const store = await makeStore();
          const readAndReserve = readAndReserveOf(store);
          const id = user('rr-reserve-race');
          await activate(store, id, 'f1');
          const policy = { ...POLICY, freeAttempts: 10, maxFailures: 50 };
          const results = await Promise.all(
            Array.from({ length: 200 }, () => readAndReserve(id, 'otp', NOW, policy, 'active')),
          );
          const granted = results.flatMap(({ reservation: r }) => (r?.ok ? [r.failures] : []));
          expect(granted.sort((a, b) => a - b)).toEqual(
            Array.from({ length: 10 }, (_, i) => i + 1),
          );
          const throttled = results.filter(({ reservation: r }) => r?.ok === false);
          expect(throttled.map(({ reservation }) => reservation)).toEqual(
            Array.from({ length: 190 }, () => ({
              ok: false,
              reason: 'throttled',
              retryAfterMs: attemptDelayMs(policy, 10),
            })),
          );
          expect(results.every(({ record }) => record?.factors[0]?.id === 'f1')).toBe(true);
          expect((await throttleOf(store, id))?.otp.failures).toBe(10);
        });

        it('parallel calls for a 3-factor user lock at attemptLimit, shared with reserveAttempt', async () => {
          const store = await makeStore();
          const readAndReserve = readAndReserveOf(store);
          const id = user('rr-lock-3');
          for (const f of ['f1', 'f2', 'f3']) await activate(store, id, f);
          const policy = { freeAttempts: 100, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 10 };
          const results = await Promise.all(
            Array.from({ length: 60 }, (_, i) =>
              i % 2 === 0
                ? readAndReserve(id, 'otp', NOW, policy, 'active').then((r) => r.reservation)
                : store.reserveAttempt(id, 'otp', NOW, policy),
            ),
          );
          const granted = results.flatMap((r) => (r?.ok ? [r.failures] : []));
          expect(granted.sort((a, b) => a - b)).toEqual([1, 2, 3, 4]); // ceil(10 / 3)
          expect((await throttleOf(store, id))?.otp.failures).toBe(4);
          // The recovery scope's budget does not depend on the factors.
          for (let i = 1; i <= 10; i++) {
            expect(await store.reserveAttempt(id, 'recovery', NOW, policy)).toEqual({
              ok: true,
              failures: i,
            });
          }
        });

        it('200 parallel calls never exceed the budget (lock), shared with reserveAttempt', async () => {
          const store = await makeStore();
          const readAndReserve = readAndReserveOf(store);
          const id = user('rr-lock-race');
          await activate(store, id, 'f1');
          const policy = { freeAttempts: 7, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 7 };
          const results = await Promise.all(
            Array.from({ length: 200 }, (_, i) =>
              i % 2 === 0
                ? readAndReserve(id, 'recovery', NOW, policy, 'active').then((r) => r.reservation)
                : store.reserveAttempt(id, 'recovery', NOW, policy),
            ),
          );
          const granted = results.flatMap((r) => (r?.ok ? [r.failures] : []));
          expect(granted.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7]);
          expect(results.filter((r) => r?.ok === false && r.reason === 'locked')).toHaveLength(193);
          expect((await throttleOf(store, id))?.recovery.failures).toBe(7);
        });

        it('racing removeFactor: an attempt is reserved exactly when the record it returns has a factor', async () => {
          const store = await makeStore();
          const readAndReserve = readAndReserveOf(store);
          const open = { freeAttempts: 1000, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 1000 };
          for (let round = 0; round < 10; round++) {
            const id = user(`rr-delete-race-${round}`);
            await activate(store, id, 'f1');
            const call = () => readAndReserve(id, 'otp', NOW, open, 'active');
            const first = Array.from({ length: 20 }, call);
            const deleted = store.removeFactor(id, 'f1');
            const results = await Promise.all([...first, ...Array.from({ length: 20 }, call)]);
            expect(await deleted).toEqual({ removed: true, remaining: 0 });
            for (const { record, reservation } of results) {
              expect(reservation !== null).toBe((record?.factors.length ?? 0) > 0);
            }
            const reserved = results.filter(({ reservation }) => reservation?.ok).length;
            expect((await throttleOf(store, id))?.otp.failures ?? 0).toBe(reserved);
          }
        });
      });

    describe('concurrency', () => {
      it('100 parallel recordSuccess with the same step: exactly one succeeds', async () => {
        const store = await makeStore();
        const id = user('replay');
        await activate(store, id, 'f1');
        const results = await Promise.all(
          Array.from({ length: 100 }, (_, i) => store.recordSuccess(id, 'f1', 1001, i % 3, NOW)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        expect((await store.getUser(id, NOW))?.factors[0]?.lastStep).toBe(1001);
      });

      it('parallel recordSuccess on three factors: one success per factor and step', async () => {
        const store = await makeStore();
        const id = user('replay-3');
        for (const f of ['f1', 'f2', 'f3']) await activate(store, id, f);
        const calls = Array.from({ length: 90 }, (_, i) => [`f${(i % 3) + 1}`, 1001 + (i % 2)]);
        const results = await Promise.all(
          calls.map(([f, step]) => store.recordSuccess(id, f as string, step as number, 0, NOW)),
        );
        // Per factor: 1001 then 1002 both succeed, or 1002 first and 1001 is refused.
        for (const f of ['f1', 'f2', 'f3']) {
          const won = calls.filter(([g], i) => g === f && results[i]);
          expect(won.length === 1 || won.length === 2).toBe(true);
          expect(new Set(won.map(([, step]) => step)).size).toBe(won.length);
        }
        const record = await store.getUser(id, NOW);
        expect(record?.factors.map((f) => f.lastStep)).toEqual([1002, 1002, 1002]);
      });

      it('100 parallel recordSuccess with rising steps: the last step ends at the highest', async () => {
        const store = await makeStore();
        const id = user('rising');
        await activate(store, id, 'f1');
        const steps = Array.from({ length: 100 }, (_, i) => 1001 + ((i * 37) % 100));
        const results = await Promise.all(
          steps.map((s) => store.recordSuccess(id, 'f1', s, 0, NOW)),
        );
        expect(results[steps.indexOf(1100)]).toBe(true);
        expect((await store.getUser(id, NOW))?.factors[0]?.lastStep).toBe(1100);
      });

      it('50 parallel consumeRecoveryCode of one hash: exactly one succeeds', async () => {
        const store = await makeStore();
        const id = user('consume-race');
        await activate(store, id, 'f1', codeSet('r', 4));
        const results = await Promise.all(
          Array.from({ length: 50 }, () => store.consumeRecoveryCode(id, 'hash-r-2')),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const hashes = (await store.getUser(id, NOW))?.recoveryCodes?.hashes ?? [];
        expect([...hashes].sort()).toEqual(['hash-r-0', 'hash-r-1', 'hash-r-3']);
      });

      it('parallel consumeRecoveryCode of different hashes: each succeeds once', async () => {
        const store = await makeStore();
        const id = user('consume-all');
        await activate(store, id, 'f1', codeSet('all', 20));
        const hashes = codeSet('all', 20).hashes;
        const results = await Promise.all(
          [...hashes, ...hashes].map((h) => store.consumeRecoveryCode(id, h)),
        );
        expect(results.filter(Boolean)).toHaveLength(20);
        expect((await store.getUser(id, NOW))?.recoveryCodes?.hashes).toEqual([]);
      });

      it('200 parallel reserveAttempt never exceed the budget (throttle)', async () => {
        const store = await makeStore();
        const id = user('reserve-race');
        const policy = { ...POLICY, freeAttempts: 10, maxFailures: 50 };
        const results = await Promise.all(
          Array.from({ length: 200 }, () => store.reserveAttempt(id, 'otp', NOW, policy)),
        );
        const granted = results.flatMap((r) => (r.ok ? [r.failures] : []));
        expect(granted.sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
        expect(results.filter((r) => !r.ok && r.reason === 'throttled')).toHaveLength(190);
        expect((await throttleOf(store, id))?.otp.failures).toBe(10);
      });

      it('200 parallel reserveAttempt never exceed the budget (lock)', async () => {
        const store = await makeStore();
        const id = user('lock-race');
        const policy = { freeAttempts: 7, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 7 };
        const results = await Promise.all(
          Array.from({ length: 200 }, () => store.reserveAttempt(id, 'recovery', NOW, policy)),
        );
        expect(results.filter((r) => r.ok)).toHaveLength(7);
        expect(results.filter((r) => !r.ok && r.reason === 'locked')).toHaveLength(193);
        expect((await throttleOf(store, id))?.recovery.failures).toBe(7);
      });

      it('parallel activatePending of one enrollment: exactly one succeeds', async () => {
        const store = await makeStore();
        const id = user('activate-race');
        await store.putPending(id, pending('p1'));
        const results = await Promise.all(
          Array.from({ length: 20 }, () => store.activatePending(id, 'p1', activation())),
        );
        expect(results.filter((r) => r.ok)).toHaveLength(1);
        expect(results.filter((r) => !r.ok && r.reason === 'not_pending')).toHaveLength(19);
        expect(await factorIds(store, id)).toEqual(['p1']);
      });

      it('activatePending racing putPending: the outcome is one order or the other', async () => {
        const store = await makeStore();
        for (let round = 0; round < 20; round++) {
          const id = user(`activate-put-${round}`);
          await store.putPending(id, pending('a'));
          const [activated] = await Promise.all([
            store.activatePending(id, 'a', activation()),
            store.putPending(id, pending('b')),
          ]);
          const record = await store.getUser(id, NOW);
          expect(record?.pending?.id).toBe('b');
          expect(record?.factors.map((f) => f.id)).toEqual(activated.ok ? ['a'] : []);
        }
      });

      it('parallel addFactor never leaves more than maxFactors active', async () => {
        const store = await makeStore();
        for (let round = 0; round < 5; round++) {
          const id = user(`add-race-${round}`);
          await store.addFactor(id, imported('first'), addOptions(3));
          const results = await Promise.all(
            Array.from({ length: 12 }, (_, i) =>
              store.addFactor(id, imported(`i${i}`), addOptions(3, codeSet(`c${i}`))),
            ),
          );
          expect(results.filter((r) => r.ok)).toHaveLength(2);
          expect(results.filter((r) => r.ok && r.firstFactor)).toHaveLength(0);
          expect((await store.getUser(id, NOW))?.factors).toHaveLength(3);
        }
      });

      it('activatePending racing addFactor at the limit: exactly one takes the last place', async () => {
        const store = await makeStore();
        for (let round = 0; round < 10; round++) {
          const id = user(`bind-import-race-${round}`);
          await activate(store, id, 'f1');
          await store.putPending(id, pending('p2'));
          const [bound, added] = await Promise.all([
            store.activatePending(id, 'p2', { ...activation(), maxFactors: 2 }),
            store.addFactor(id, imported('i2'), addOptions(2)),
          ]);
          expect([bound.ok, added.ok].filter(Boolean)).toHaveLength(1);
          expect(await factorIds(store, id)).toHaveLength(2);
        }
      });

      it('parallel first factors: exactly one creates the recovery set', async () => {
        const store = await makeStore();
        const id = user('first-race');
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            store.addFactor(id, imported(`i${i}`), addOptions(20, codeSet(`set${i}`))),
          ),
        );
        const first = results.flatMap((r, i) => (r.ok && r.firstFactor ? [i] : []));
        expect(first).toHaveLength(1);
        expect((await store.getUser(id, NOW))?.recoveryCodes).toEqual(codeSet(`set${first[0]}`));
      });

      it('parallel same-name addFactor: exactly one gets the name', async () => {
        const store = await makeStore();
        const id = user('name-race');
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            store.addFactor(id, imported(`i${i}`, { nameKey: 'phone' }), addOptions(20)),
          ),
        );
        expect(results.filter((r) => r.ok)).toHaveLength(1);
        expect(results.filter((r) => !r.ok && r.reason === 'name_taken')).toHaveLength(9);
      });

      it('parallel removeFactor of the last two factors: sign-in is off exactly once', async () => {
        const store = await makeStore();
        for (let round = 0; round < 10; round++) {
          const id = user(`remove-race-${round}`);
          await activate(store, id, 'f1');
          await activate(store, id, 'f2');
          const results = await Promise.all([
            store.removeFactor(id, 'f1'),
            store.removeFactor(id, 'f2'),
            store.removeFactor(id, 'f1'),
          ]);
          expect(results.filter((r) => r.removed)).toHaveLength(2);
          expect(results.filter((r) => r.removed && r.remaining === 0)).toHaveLength(1);
          const record = await store.getUser(id, NOW);
          expect(record?.factors ?? []).toEqual([]);
          expect(record?.recoveryCodes ?? null).toBeNull();
        }
      });

      it('replace-on-bind racing removeFactor of the replaced factor: one order or the other', async () => {
        const store = await makeStore();
        for (let round = 0; round < 10; round++) {
          const id = user(`replace-race-${round}`);
          await activate(store, id, 'f1');
          await store.putPending(id, pending('f2', { replaceFactorId: 'f1' }));
          const [bound, removed] = await Promise.all([
            store.activatePending(id, 'f2', { ...activation(), maxFactors: 1 }),
            store.removeFactor(id, 'f1'),
          ]);
          const ids = await factorIds(store, id);
          if (bound.ok) {
            // Bound first: f1 went with it, and the removal found nothing.
            expect([bound.replaced, removed, ids]).toEqual([
              true,
              { removed: false, remaining: 1 },
              ['f2'],
            ]);
          } else {
            // Removed first: the last factor took the pending enrollment with it.
            expect([bound.reason, removed, ids]).toEqual([
              'not_pending',
              { removed: true, remaining: 0 },
              [],
            ]);
          }
        }
      });
    });
  });
}

function activation(codes: RecoveryCodeSet = { salt: 's', hashes: ['h'] }) {
  return { lastStep: 1000, drift: 0, now: NOW, maxFactors: 20, recoveryCodes: codes };
}

function addOptions(maxFactors: number, codes: RecoveryCodeSet = { salt: 's', hashes: ['h'] }) {
  return { maxFactors, recoveryCodes: codes };
}
