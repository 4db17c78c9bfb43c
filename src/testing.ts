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
    sealedSecret: `sealed-${id}`,
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    createdAt: NOW,
    expiresAt: NOW + TTL,
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
  ) => {
    expect(await store.putPending(userId, pending(`p-${factorId}`), true)).toBe(true);
    expect(
      await store.activatePending(userId, `p-${factorId}`, {
        factorId,
        lastStep: 1000,
        drift: 0,
        now: NOW,
        recoveryCodes: codes,
      }),
    ).toBe(true);
  };
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
        await store.putPending(id, pending('p1'), false);
        expect(await store.getUser(id, NOW)).toEqual({
          userId: id,
          active: null,
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
        expect(await store.recordSuccess(b, 'fa', 2000, 0)).toBe(false);
        expect(await store.consumeRecoveryCode(b, 'hash-fa-0')).toBe(false);
        expect(await store.deleteFactor(b)).toBe(false);
        expect((await store.getUser(a, NOW))?.active?.id).toBe('fa');
      });

      it('hands out copies: changing a returned or passed-in object changes nothing', async () => {
        const store = await makeStore();
        const id = user('copies');
        const input = pending('p1');
        await store.putPending(id, input, false);
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
        expect(await store.putPending(id, pending('p1'), false)).toBe(true);
        expect(await store.putPending(id, pending('p2', { digits: 8, period: 60 }), false)).toBe(
          true,
        );
        expect((await store.getUser(id, NOW))?.pending).toEqual(
          pending('p2', { digits: 8, period: 60 }),
        );
        expect(await store.activatePending(id, 'p1', activation('f1'))).toBe(false);
      });

      it('refuses, writing nothing, when a factor is active and replaceActive is false', async () => {
        const store = await makeStore();
        const id = user('active');
        await activate(store, id, 'f1');
        expect(await store.putPending(id, pending('p9'), false)).toBe(false);
        expect((await store.getUser(id, NOW))?.pending).toBeNull();
        expect(await store.putPending(id, pending('p9'), true)).toBe(true);
        const record = await store.getUser(id, NOW);
        expect(record?.pending).toEqual(pending('p9'));
        expect(record?.active?.id).toBe('f1');
      });
    });

    describe('activatePending', () => {
      it('promotes the pending enrollment, sets the factor, codes and resets both scopes', async () => {
        const store = await makeStore();
        const id = user('promote');
        await store.putPending(
          id,
          pending('p1', { algorithm: 'SHA256', digits: 8, period: 60 }),
          false,
        );
        await store.reserveAttempt(id, 'otp', NOW, POLICY);
        await store.reserveAttempt(id, 'recovery', NOW, POLICY);
        const codes = codeSet('c1', 10);
        expect(
          await store.activatePending(id, 'p1', {
            factorId: 'f1',
            lastStep: 58_333_334,
            drift: -3,
            now: NOW + 5,
            recoveryCodes: codes,
          }),
        ).toBe(true);
        expect(await store.getUser(id, NOW)).toEqual({
          userId: id,
          active: {
            id: 'f1',
            sealedSecret: 'sealed-p1',
            algorithm: 'SHA256',
            digits: 8,
            period: 60,
            lastStep: 58_333_334,
            drift: -3,
            activatedAt: NOW + 5,
          },
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
        expect(await store.activatePending(id, 'p1', activation('f0'))).toBe(false);
        await store.putPending(id, pending('p1'), false);
        expect(await store.activatePending(id, 'p2', activation('f1'))).toBe(false);
        expect((await store.getUser(id, NOW))?.active).toBeNull();
        expect(await store.activatePending(id, 'p1', activation('f1'))).toBe(true);
        expect(await store.activatePending(id, 'p1', activation('f2'))).toBe(false);
        expect((await store.getUser(id, NOW))?.active?.id).toBe('f1');
      });

      it('refuses at and after expiresAt, accepts just before', async () => {
        const store = await makeStore();
        const id = user('expiry');
        await store.putPending(id, pending('p1'), false);
        const at = (now: number) => ({ ...activation('f1'), now });
        expect(await store.activatePending(id, 'p1', at(NOW + TTL))).toBe(false);
        expect(await store.activatePending(id, 'p1', at(NOW + TTL + 60_000))).toBe(false);
        expect((await store.getUser(id, NOW))?.active).toBeNull();
        expect(await store.activatePending(id, 'p1', at(NOW + TTL - 1))).toBe(true);
      });

      it('replaces the previous factor and its recovery codes', async () => {
        const store = await makeStore();
        const id = user('reenroll');
        await activate(store, id, 'f1', codeSet('old'));
        await activate(store, id, 'f2', codeSet('new'));
        const record = await store.getUser(id, NOW);
        expect(record?.active?.id).toBe('f2');
        expect(record?.recoveryCodes).toEqual(codeSet('new'));
        expect(await store.recordSuccess(id, 'f1', 5000, 0)).toBe(false);
        expect(await store.consumeRecoveryCode(id, 'hash-old-0')).toBe(false);
      });
    });

    describe('pending expiry', () => {
      it('after expiresAt getUser returns the same pending enrollment or none, never another', async () => {
        const store = await makeStore();
        const id = user('expired-read');
        await store.putPending(id, pending('p1'), false);
        const later = (await store.getUser(id, NOW + TTL + 1))?.pending ?? null;
        if (later !== null) expect(later).toEqual(pending('p1'));
        expect(
          await store.activatePending(id, 'p1', { ...activation('f1'), now: NOW + TTL + 1 }),
        ).toBe(false);
      });

      it('an expired enrollment can be replaced by a new one, which then activates', async () => {
        const store = await makeStore();
        const id = user('expired-replace');
        await store.putPending(id, pending('p1'), false);
        const later = NOW + TTL + 1;
        const fresh = pending('p2', { createdAt: later, expiresAt: later + TTL });
        expect(await store.putPending(id, fresh, false)).toBe(true);
        expect((await store.getUser(id, later))?.pending).toEqual(fresh);
        expect(await store.activatePending(id, 'p2', { ...activation('f2'), now: later })).toBe(
          true,
        );
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
        expect(record?.active).toBeNull();
        expect(record?.pending).toBeNull();
        expect(record?.throttle.recovery).toEqual({ failures: 1, blockedUntil: NOW });
      });
    });

    describe('recordSuccess', () => {
      it('advances the last step only forward, and stores the drift', async () => {
        const store = await makeStore();
        const id = user('advance');
        await activate(store, id, 'f1');
        expect(await store.recordSuccess(id, 'f1', 1000, 0)).toBe(false); // = lastStep
        expect(await store.recordSuccess(id, 'f1', 999, 0)).toBe(false);
        expect(await store.recordSuccess(id, 'f1', 1001, -2)).toBe(true);
        expect(await store.recordSuccess(id, 'f1', 1001, 5)).toBe(false);
        const big = 2 ** 40 + 5;
        expect(await store.recordSuccess(id, 'f1', big, 7)).toBe(true);
        const active = (await store.getUser(id, NOW))?.active;
        expect(active?.lastStep).toBe(big);
        expect(active?.drift).toBe(7);
      });

      it('resets the otp scope only', async () => {
        const store = await makeStore();
        const id = user('reset-otp');
        await activate(store, id, 'f1');
        await store.reserveAttempt(id, 'otp', NOW, POLICY);
        await store.reserveAttempt(id, 'recovery', NOW, POLICY);
        expect(await store.recordSuccess(id, 'f1', 1001, 0)).toBe(true);
        expect(await throttleOf(store, id)).toEqual({
          otp: { failures: 0, blockedUntil: 0 },
          recovery: { failures: 1, blockedUntil: NOW },
        });
      });

      it('refuses, writing nothing, for another factor id or no factor', async () => {
        const store = await makeStore();
        const id = user('wrong-factor');
        expect(await store.recordSuccess(id, 'f1', 5, 0)).toBe(false);
        await activate(store, id, 'f1');
        await store.reserveAttempt(id, 'otp', NOW, POLICY);
        expect(await store.recordSuccess(id, 'f2', 2000, 3)).toBe(false);
        const record = await store.getUser(id, NOW);
        expect(record?.active?.lastStep).toBe(1000);
        expect(record?.active?.drift).toBe(0);
        expect(record?.throttle.otp.failures).toBe(1);
      });
    });

    describe('recovery codes and secrets', () => {
      it('replaceRecoveryCodes replaces the whole set, only for the active factor', async () => {
        const store = await makeStore();
        const id = user('replace-codes');
        expect(await store.replaceRecoveryCodes(id, 'f1', codeSet('x'))).toBe(false);
        await activate(store, id, 'f1', codeSet('old'));
        expect(await store.replaceRecoveryCodes(id, 'f2', codeSet('x'))).toBe(false);
        expect(await store.replaceRecoveryCodes(id, 'f1', codeSet('new', 5))).toBe(true);
        expect((await store.getUser(id, NOW))?.recoveryCodes).toEqual(codeSet('new', 5));
        expect(await store.consumeRecoveryCode(id, 'hash-old-1')).toBe(false);
        expect(await store.consumeRecoveryCode(id, 'hash-new-1')).toBe(true);
      });

      it('replaceSealedSecret changes only the sealed secret of the active factor', async () => {
        const store = await makeStore();
        const id = user('reseal');
        expect(await store.replaceSealedSecret(id, 'f1', 'x')).toBe(false);
        await activate(store, id, 'f1');
        const before = await store.getUser(id, NOW);
        expect(await store.replaceSealedSecret(id, 'f2', 'resealed')).toBe(false);
        expect(await store.replaceSealedSecret(id, 'f1', 'resealed')).toBe(true);
        const after = await store.getUser(id, NOW);
        expect(after).toEqual({
          ...before,
          active: { ...before?.active, sealedSecret: 'resealed' },
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

      it('deleteFactor removes factor, pending and codes but keeps throttle state', async () => {
        const store = await makeStore();
        const id = user('delete');
        expect(await store.deleteFactor(id)).toBe(false);
        await activate(store, id, 'f1');
        await store.putPending(id, pending('p2'), true);
        await store.reserveAttempt(id, 'otp', NOW, POLICY);
        expect(await store.deleteFactor(id)).toBe(true);
        const record = await store.getUser(id, NOW);
        expect(record?.active ?? null).toBeNull();
        expect(record?.pending ?? null).toBeNull();
        expect(record?.recoveryCodes ?? null).toBeNull();
        expect(record?.throttle.otp.failures).toBe(1);
        expect(await store.deleteFactor(id)).toBe(false);
        expect(await store.recordSuccess(id, 'f1', 2000, 0)).toBe(false);
        expect(await store.consumeRecoveryCode(id, 'hash-f1-0')).toBe(false);
        expect(await store.activatePending(id, 'p2', activation('f3'))).toBe(false);
      });

      it('deleteFactor removes a pending enrollment on its own', async () => {
        const store = await makeStore();
        const id = user('delete-pending');
        await store.putPending(id, pending('p1'), false);
        expect(await store.deleteFactor(id)).toBe(true);
        expect((await store.getUser(id, NOW))?.pending ?? null).toBeNull();
        expect(await store.getUser(id, NOW)).toBeNull(); // nothing left
      });
    });

    if (hasReadAndReserve)
      describe('readAndReserve (optional)', () => {
        it('returns the record as it was and the reservation, and counts the attempt', async () => {
          const store = await makeStore();
          const readAndReserve = readAndReserveOf(store);
          const id = user('read-reserve');
          await activate(store, id, 'f1', codeSet('rr', 4));
          await store.putPending(id, pending('p2'), true);
          await store.reserveAttempt(id, 'recovery', NOW, POLICY);
          const before = await store.getUser(id, NOW);
          expect(before?.active?.id).toBe('f1');
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
              else await store.putPending(id, pending('p1'), false);
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
          await store.putPending(onlyPending, pending('p1'), false);
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
          await store.deleteFactor(disabled);
          const result = await readAndReserve(disabled, 'otp', NOW, POLICY, 'active');
          expect(result.reservation).toBeNull();
          expect(result.record?.active ?? null).toBeNull();
          expect(result.record?.throttle.otp).toEqual({ failures: 1, blockedUntil: NOW });
          expect((await throttleOf(store, disabled))?.otp.failures).toBe(1);
        });

        it("'pending' requires now < expiresAt", async () => {
          const store = await makeStore();
          const readAndReserve = readAndReserveOf(store);
          const id = user('rr-expiry');
          await store.putPending(id, pending('p1'), false);
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
          if (record?.active) record.active.lastStep = 99_999;
          if (record) record.throttle.otp.failures = 42;
          const stored = await store.getUser(id, NOW);
          expect(stored?.active?.lastStep).toBe(1000);
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
          expect(results.every(({ record }) => record?.active?.id === 'f1')).toBe(true);
          expect((await throttleOf(store, id))?.otp.failures).toBe(10);
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

        it('racing deleteFactor: an attempt is reserved exactly when the record it returns is active', async () => {
          const store = await makeStore();
          const readAndReserve = readAndReserveOf(store);
          const open = { freeAttempts: 1000, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 1000 };
          for (let round = 0; round < 10; round++) {
            const id = user(`rr-delete-race-${round}`);
            await activate(store, id, 'f1');
            const call = () => readAndReserve(id, 'otp', NOW, open, 'active');
            const first = Array.from({ length: 20 }, call);
            const deleted = store.deleteFactor(id);
            const results = await Promise.all([...first, ...Array.from({ length: 20 }, call)]);
            expect(await deleted).toBe(true);
            for (const { record, reservation } of results) {
              expect(reservation !== null).toBe(Boolean(record?.active));
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
          Array.from({ length: 100 }, (_, i) => store.recordSuccess(id, 'f1', 1001, i % 3)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        expect((await store.getUser(id, NOW))?.active?.lastStep).toBe(1001);
      });

      it('100 parallel recordSuccess with rising steps: the last step ends at the highest', async () => {
        const store = await makeStore();
        const id = user('rising');
        await activate(store, id, 'f1');
        const steps = Array.from({ length: 100 }, (_, i) => 1001 + ((i * 37) % 100));
        const results = await Promise.all(steps.map((s) => store.recordSuccess(id, 'f1', s, 0)));
        expect(results[steps.indexOf(1100)]).toBe(true);
        expect((await store.getUser(id, NOW))?.active?.lastStep).toBe(1100);
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
        await store.putPending(id, pending('p1'), false);
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            store.activatePending(id, 'p1', activation(`f${i}`)),
          ),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        expect((await store.getUser(id, NOW))?.active?.id).toBe(`f${results.indexOf(true)}`);
      });

      it('activatePending racing putPending: the outcome is one order or the other', async () => {
        const store = await makeStore();
        for (let round = 0; round < 20; round++) {
          const id = user(`activate-put-${round}`);
          await store.putPending(id, pending('a'), false);
          const [activated, put] = await Promise.all([
            store.activatePending(id, 'a', activation('fa')),
            store.putPending(id, pending('b'), true),
          ]);
          expect(put).toBe(true);
          const record = await store.getUser(id, NOW);
          expect(record?.pending?.id).toBe('b');
          expect(record?.active?.id ?? null).toBe(activated ? 'fa' : null);
        }
      });
    });
  });
}

function activation(factorId: string) {
  return {
    factorId,
    lastStep: 1000,
    drift: 0,
    now: NOW,
    recoveryCodes: { salt: 's', hashes: ['h'] },
  };
}
