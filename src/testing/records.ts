/**
 * The user record: what `getUser` returns, users kept apart, copies handed out.
 * @module
 * @internal
 */
import { describe, expect, it } from 'vitest';
import { NOW, GUARD, POLICY, type Suite } from './harness.ts';

/** Registers these conformance cases (inside `testMFAStore`'s describe). */
export function recordCases(suite: Suite): void {
  const { makeStore, user, pending, activate, factorIds, change } = suite;
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
          otp: { failures: 0, guesses: 0, blockedUntil: 0 },
          recovery: { failures: 0, guesses: 0, blockedUntil: 0 },
        },
        account: null,
        accountVersion: 0,
      });
    });

    it('keeps users apart', async () => {
      const store = await makeStore();
      const [a, b] = [user('a'), user('b')];
      await activate(store, a, 'fa');
      await store.reserveAttempt(a, { scope: 'otp', now: NOW, policy: POLICY, weight: 1 });
      expect(await store.getUser(b, NOW)).toBeNull();
      expect(await store.recordSuccess(b, 'fa', 2000, 0, NOW)).toBe(false);
      expect(await store.consumeRecoveryCode(b, 'hash-fa-0')).toBe(false);
      expect(await change(store, b, (a) => store.deleteFactors(b, { account: a }))).toBe('nothing');
      expect(await change(store, b, (a) => store.removeFactor(b, 'fa', { account: a }))).toEqual({
        removed: false,
        remaining: 0,
      });
      expect(await store.renameFactor(b, 'fa', 'x', 'x')).toBe('not_found');
      expect(await store.deleteUser(b, { now: NOW, guardMs: GUARD })).toBe(false);
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
}
