/**
 * A user's factors: `renameFactor`, `removeFactor`, `deleteFactors`, `resetThrottle`.
 * @module
 * @internal
 */
import { describe, expect, it } from 'vitest';
import {
  activation,
  addOptions,
  emptyAccount,
  lockOnly,
  NOW,
  POLICY,
  type Suite,
} from './harness.ts';

/** Registers these conformance cases (inside `testMFAStore`'s describe). */
export function factorCases(suite: Suite): void {
  const {
    makeStore,
    user,
    pending,
    imported,
    codeSet,
    activate,
    throttleOf,
    readAndReserveOf,
    hasReadAndReserve,
    change,
  } = suite;
  describe('resetThrottle and deleteFactor', () => {
    it('resetThrottle resets one scope', async () => {
      const store = await makeStore();
      const id = user('unlock');
      await store.resetThrottle(user('nobody'), 'otp'); // no record: no error
      for (let i = 0; i < 3; i++) {
        await store.reserveAttempt(id, { scope: 'otp', now: NOW, policy: POLICY, weight: 1 });
        await store.reserveAttempt(id, { scope: 'recovery', now: NOW, policy: POLICY, weight: 1 });
      }
      await store.resetThrottle(id, 'otp');
      expect(await throttleOf(store, id)).toEqual({
        otp: { failures: 0, guesses: 0, blockedUntil: 0 },
        recovery: { failures: 3, guesses: 3, blockedUntil: NOW + 1_000 },
      });
      await store.resetThrottle(id, 'recovery');
      expect(await store.getUser(id, NOW)).toBeNull(); // nothing left
    });

    it('deleteFactors removes factors, pending and codes but keeps throttle state', async () => {
      const store = await makeStore();
      const id = user('delete');
      expect(await change(store, id, (a) => store.deleteFactors(id, { account: a }))).toBe(
        'nothing',
      );
      await activate(store, id, 'f1');
      await activate(store, id, 'f2');
      await store.putPending(id, pending('p3'));
      await store.reserveAttempt(id, { scope: 'otp', now: NOW, policy: POLICY, weight: 1 });
      expect(await change(store, id, (a) => store.deleteFactors(id, { account: a }))).toBe(
        'deleted',
      );
      const record = await store.getUser(id, NOW);
      expect(record?.factors).toEqual([]);
      expect(record?.pending ?? null).toBeNull();
      expect(record?.recoveryCodes ?? null).toBeNull();
      expect(record?.throttle.otp.failures).toBe(1);
      expect(await change(store, id, (a) => store.deleteFactors(id, { account: a }))).toBe(
        'nothing',
      );
      expect(await store.recordSuccess(id, 'f1', 2000, 0, NOW)).toBe(false);
      expect(await store.consumeRecoveryCode(id, 'hash-f1-0')).toBe(false);
      expect(
        await change(store, id, (a) => store.activatePending(id, 'p3', activation(a))),
      ).toMatchObject({ ok: false });
    });

    it('deleteFactors removes a pending enrollment on its own', async () => {
      const store = await makeStore();
      const id = user('delete-pending');
      await store.putPending(id, pending('p1'));
      expect(await change(store, id, (a) => store.deleteFactors(id, { account: a }))).toBe(
        'deleted',
      );
      // Nothing left but the account document the change wrote.
      expect(await store.getUser(id, NOW)).toEqual({
        userId: id,
        factors: [],
        pending: null,
        recoveryCodes: null,
        throttle: {
          otp: { failures: 0, guesses: 0, blockedUntil: 0 },
          recovery: { failures: 0, guesses: 0, blockedUntil: 0 },
        },
        account: emptyAccount(1),
        accountVersion: 1,
      });
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
      expect(await change(store, id, (a) => store.removeFactor(id, 'f9', { account: a }))).toEqual({
        removed: false,
        remaining: 2,
      });
      expect(await change(store, id, (a) => store.removeFactor(id, 'f1', { account: a }))).toEqual({
        removed: true,
        remaining: 1,
      });
      const record = await store.getUser(id, NOW);
      expect(record?.factors.map((f) => f.id)).toEqual(['f2']);
      expect(record?.recoveryCodes).toEqual(codeSet('c'));
      expect(record?.pending).toEqual(pending('p3'));
      expect(await change(store, id, (a) => store.removeFactor(id, 'f1', { account: a }))).toEqual({
        removed: false,
        remaining: 1,
      });
    });

    it('removing the last factor removes the codes and the pending enrollment, keeps throttle', async () => {
      const store = await makeStore();
      const id = user('remove-last');
      await activate(store, id, 'f1');
      await store.putPending(id, pending('p2'));
      await store.reserveAttempt(id, { scope: 'otp', now: NOW, policy: POLICY, weight: 1 });
      expect(await change(store, id, (a) => store.removeFactor(id, 'f1', { account: a }))).toEqual({
        removed: true,
        remaining: 0,
      });
      const record = await store.getUser(id, NOW);
      expect(record?.factors).toEqual([]);
      expect(record?.pending ?? null).toBeNull();
      expect(record?.recoveryCodes ?? null).toBeNull();
      expect(record?.throttle.otp.failures).toBe(1);
    });
  });

  describe('the lock survives factor changes', () => {
    for (const n of [1, 2, 3, 4, 5]) {
      it(`locked with ${n} factor(s): removing them one by one, importing, disabling never unlock`, async () => {
        const store = await makeStore();
        const policy = lockOnly(10);
        const id = user(`lock-kept-${n}`);
        for (let i = 1; i <= n; i++) await activate(store, id, `f${i}`);
        // Each attempt is compared with all n factors: charged n guesses.
        let attempts = 0;
        for (;;) {
          const r = await store.reserveAttempt(id, { scope: 'otp', now: NOW, policy, weight: n });
          if (!r.ok) {
            expect(r).toEqual({ ok: false, reason: 'locked' });
            break;
          }
          attempts += 1;
        }
        expect(attempts).toBe([10, 5, 4, 3, 2][n - 1]); // ceil(10 / n)
        const locked = (await throttleOf(store, id))?.otp;
        expect(locked).toEqual({ failures: attempts, guesses: attempts * n, blockedUntil: NOW });
        const stillLocked = async (step: string) => {
          for (const weight of [1, n]) {
            expect(
              await store.reserveAttempt(id, { scope: 'otp', now: NOW + 1, policy, weight }),
              step,
            ).toEqual({ ok: false, reason: 'locked' });
          }
          if (hasReadAndReserve) {
            const read = await readAndReserveOf(store)(id, {
              scope: 'otp',
              now: NOW + 1,
              policy,
              requirement: 'active',
            });
            if (read.reservation !== null) {
              expect(read.reservation, step).toEqual({ ok: false, reason: 'locked' });
            }
          }
          expect((await throttleOf(store, id))?.otp, step).toEqual(locked);
        };
        for (let i = n; i > 1; i--) {
          expect(
            await change(store, id, (a) => store.removeFactor(id, `f${i}`, { account: a })),
          ).toMatchObject({ removed: true });
          await stillLocked(`after removing f${i}`);
        }
        expect(
          await change(store, id, (a) => store.removeFactor(id, 'f1', { account: a })),
        ).toEqual({ removed: true, remaining: 0 });
        await stillLocked('after removing the last factor');
        expect(
          await change(store, id, (a) => store.addFactor(id, imported('i1'), addOptions(20, a))),
        ).toMatchObject({
          ok: true,
        });
        await stillLocked('after an import');
        expect(await store.putPending(id, pending('p9'))).toBe('stored');
        expect(await change(store, id, (a) => store.deleteFactors(id, { account: a }))).toBe(
          'deleted',
        );
        await stillLocked('after disabling');
      });
    }

    it('the charged guesses stay as they are when factors come and go mid-cycle', async () => {
      const store = await makeStore();
      const policy = lockOnly(10);
      const id = user('lock-mid-cycle');
      for (let i = 1; i <= 4; i++) await activate(store, id, `f${i}`);
      // 4 + 4 = 8 guesses with four factors, then down to one: 2 attempts left, not 10.
      for (let i = 0; i < 2; i++) {
        await store.reserveAttempt(id, { scope: 'otp', now: NOW, policy, weight: 4 });
      }
      for (const f of ['f2', 'f3', 'f4'])
        await change(store, id, (a) => store.removeFactor(id, f, { account: a }));
      expect((await throttleOf(store, id))?.otp).toEqual({
        failures: 2,
        guesses: 8,
        blockedUntil: NOW,
      });
      const granted = [];
      for (let i = 0; i < 5; i++) {
        const r = await store.reserveAttempt(id, { scope: 'otp', now: NOW, policy, weight: 1 });
        if (r.ok) granted.push(r.guesses);
      }
      expect(granted).toEqual([9, 10]);
    });

    it('only a reset lowers the guesses: a success, a recovery code, resetThrottle', async () => {
      const store = await makeStore();
      const policy = lockOnly(10);
      const id = user('lock-reset');
      await activate(store, id, 'f1', codeSet('r', 3));
      await activate(store, id, 'f2');
      const lock = async () => {
        for (let i = 0; i < 5; i++) {
          await store.reserveAttempt(id, { scope: 'otp', now: NOW, policy, weight: 2 });
        }
        expect(
          await store.reserveAttempt(id, { scope: 'otp', now: NOW, policy, weight: 1 }),
        ).toEqual({ ok: false, reason: 'locked' });
      };
      await lock();
      expect(await store.consumeRecoveryCode(id, 'hash-r-0')).toBe(true);
      expect((await throttleOf(store, id))?.otp).toEqual({
        failures: 0,
        guesses: 0,
        blockedUntil: 0,
      });
      await lock();
      await store.resetThrottle(id, 'otp');
      expect((await throttleOf(store, id))?.otp).toEqual({
        failures: 0,
        guesses: 0,
        blockedUntil: 0,
      });
      await store.reserveAttempt(id, { scope: 'otp', now: NOW, policy, weight: 2 });
      expect(await store.recordSuccess(id, 'f2', 2000, 0, NOW)).toBe(true);
      expect((await throttleOf(store, id))?.otp).toEqual({
        failures: 0,
        guesses: 0,
        blockedUntil: 0,
      });
    });
  });
}
