/**
 * Recovery codes and sealed secrets: `replaceRecoveryCodes`, `replaceSealedSecret`, `consumeRecoveryCode`.
 * @module
 * @internal
 */
import { describe, expect, it } from 'vitest';
import { NOW, POLICY, type Suite } from './harness.ts';

/** Registers these conformance cases (inside `testMFAStore`'s describe). */
export function recoveryCases(suite: Suite): void {
  const { makeStore, user, pending, codeSet, activate, throttleOf, change } = suite;
  describe('recovery codes and secrets', () => {
    it('replaceRecoveryCodes replaces the whole set, only for a user with a factor', async () => {
      const store = await makeStore();
      const id = user('replace-codes');
      expect(
        await change(store, id, (a) =>
          store.replaceRecoveryCodes(id, codeSet('x'), { account: a }),
        ),
      ).toBe('no_factor');
      await store.putPending(id, pending('p1'));
      expect(
        await change(store, id, (a) =>
          store.replaceRecoveryCodes(id, codeSet('x'), { account: a }),
        ),
      ).toBe('no_factor');
      expect((await store.getUser(id, NOW))?.recoveryCodes).toBeNull();
      await activate(store, id, 'f1', codeSet('old'));
      expect(
        await change(store, id, (a) =>
          store.replaceRecoveryCodes(id, codeSet('new', 5), { account: a }),
        ),
      ).toBe('replaced');
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
      await store.reserveAttempt(id, { scope: 'otp', now: NOW, policy: POLICY, weight: 1 });
      await store.reserveAttempt(id, { scope: 'recovery', now: NOW, policy: POLICY, weight: 1 });
      expect(await store.consumeRecoveryCode(id, 'hash-unknown')).toBe(false);
      expect((await throttleOf(store, id))?.recovery.failures).toBe(1);
      expect(await store.consumeRecoveryCode(id, 'hash-c-1')).toBe(true);
      expect(await store.consumeRecoveryCode(id, 'hash-c-1')).toBe(false);
      const record = await store.getUser(id, NOW);
      expect([...(record?.recoveryCodes?.hashes ?? [])].sort()).toEqual(['hash-c-0', 'hash-c-2']);
      expect(record?.recoveryCodes?.salt).toBe('salt-c');
      expect(record?.throttle).toEqual({
        otp: { failures: 0, guesses: 0, blockedUntil: 0 },
        recovery: { failures: 0, guesses: 0, blockedUntil: 0 },
      });
    });
  });
}
