/**
 * Login: `recordSuccess` (replay state per factor, and the reset of the otp scope).
 * @module
 * @internal
 */
import { describe, expect, it } from 'vitest';
import { NOW, POLICY, type Suite } from './harness.ts';

/** Registers these conformance cases (inside `testMFAStore`'s describe). */
export function loginCases(suite: Suite): void {
  const { makeStore, user, activate, throttleOf } = suite;
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
      await store.reserveAttempt(id, { scope: 'otp', now: NOW, policy: POLICY, weight: 1 });
      await store.reserveAttempt(id, { scope: 'recovery', now: NOW, policy: POLICY, weight: 1 });
      expect(await store.recordSuccess(id, 'f1', 1001, 0, NOW)).toBe(true);
      expect(await throttleOf(store, id)).toEqual({
        otp: { failures: 0, guesses: 0, blockedUntil: 0 },
        recovery: { failures: 1, guesses: 1, blockedUntil: NOW },
      });
    });

    it('refuses, writing nothing, for another factor id or no factor', async () => {
      const store = await makeStore();
      const id = user('wrong-factor');
      expect(await store.recordSuccess(id, 'f1', 5, 0, NOW)).toBe(false);
      await activate(store, id, 'f1');
      await store.reserveAttempt(id, { scope: 'otp', now: NOW, policy: POLICY, weight: 1 });
      expect(await store.recordSuccess(id, 'f2', 2000, 3, NOW)).toBe(false);
      const record = await store.getUser(id, NOW);
      expect(record?.factors[0]?.lastStep).toBe(1000);
      expect(record?.factors[0]?.drift).toBe(0);
      expect(record?.throttle.otp.failures).toBe(1);
    });
  });
}
