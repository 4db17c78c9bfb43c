/**
 * The account document around the factors: `resetUser`, erasure, retention
 * by `keepUntil`, and compare-and-set under parallel writes (exactly one of
 * N writes at the same version wins). Written from the contract's claims.
 * @module
 * @internal
 */
import { describe, expect, it } from 'vitest';
import type {
  AccountWrite,
  DeleteExpiredOptions,
  DeleteExpiredResult,
  MFAStore,
} from '../store/contract.ts';
import { ACCOUNT_OPS, callOp, richAccount, seedUser, type AccountOp } from './account-fixtures.ts';
import { emptyAccount, NOW, POLICY, type Suite } from './harness.ts';

const DAY = 86_400_000;

/** A store's `deleteExpired`, bound, or `undefined` for a store without one. */
function deleteExpiredOf(
  store: MFAStore,
): ((now: number, options?: DeleteExpiredOptions) => Promise<DeleteExpiredResult>) | undefined {
  const method = (store as { deleteExpired?: unknown }).deleteExpired;
  return typeof method === 'function'
    ? (method.bind(store) as (
        now: number,
        o?: DeleteExpiredOptions,
      ) => Promise<DeleteExpiredResult>)
    : undefined;
}

/** Registers these conformance cases (inside `testMFAStore`'s describe). */
export function accountResetCases(suite: Suite, withDeleteExpired: boolean): void {
  const { makeStore, user, pending, activate, change } = suite;
  const write = (version: number, label: string, generation = 7): AccountWrite => ({
    version,
    account: richAccount(label, generation),
  });

  describe('resetUser', () => {
    it('removes factors, pending with previous, recovery codes, resets both scopes, writes the document', async () => {
      const store = await makeStore();
      const id = user('reset');
      const before = await seedUser(suite, store, id);
      const reset = write(before.accountVersion, 'reset', 8);
      expect(await store.resetUser(id, { ...reset, now: NOW })).toBe('reset');
      expect(await store.getUser(id, NOW)).toEqual({
        userId: id,
        factors: [],
        pending: null,
        recoveryCodes: null,
        throttle: {
          otp: { failures: 0, guesses: 0, blockedUntil: 0 },
          recovery: { failures: 0, guesses: 0, blockedUntil: 0 },
        },
        account: richAccount('reset', 8),
        accountVersion: before.accountVersion + 1,
      });
      // Nothing of the old state can be used any more.
      expect(await store.replaceSealedSecret(id, 'p1', 'x')).toBe(false); // previous
      expect(await store.replaceSealedSecret(id, 'p2', 'x')).toBe(false);
      expect(await store.recordSuccess(id, 'f1', 5000, 0, NOW)).toBe(false);
      expect(await store.consumeRecoveryCode(id, 'hash-f1-0')).toBe(false);
      // A lock is lifted: the reset is an admin's unlock too.
      const locked = user('reset-locked');
      await activate(store, locked, 'f1');
      for (let i = 0; i < 8; i++) {
        await store.reserveAttempt(locked, {
          scope: 'otp',
          now: NOW,
          policy: { ...POLICY, freeAttempts: 100 },
          weight: 1,
        });
      }
      expect(
        await store.reserveAttempt(locked, { scope: 'otp', now: NOW, policy: POLICY, weight: 1 }),
      ).toEqual({ ok: false, reason: 'locked' });
      const v = (await store.getUser(locked, NOW))!.accountVersion;
      expect(await store.resetUser(locked, { ...write(v, 'unlock'), now: NOW })).toBe('reset');
      expect(
        await store.reserveAttempt(locked, { scope: 'otp', now: NOW, policy: POLICY, weight: 1 }),
      ).toEqual({ ok: true, failures: 1, guesses: 1 });
    });

    it("answers 'reset' for a user with nothing, creating the record with the document", async () => {
      const store = await makeStore();
      const id = user('reset-nobody');
      expect(await store.resetUser(id, { ...write(0, 'fresh', 1), now: NOW })).toBe('reset');
      const record = await store.getUser(id, NOW);
      expect([record?.factors, record?.pending, record?.account, record?.accountVersion]).toEqual([
        [],
        null,
        richAccount('fresh', 1),
        1,
      ]);
      expect(await store.resetUser(id, { ...write(0, 'again'), now: NOW })).toBe('conflict');
      expect(await store.resetUser(id, { ...write(1, 'again'), now: NOW })).toBe('reset');
      expect((await store.getUser(id, NOW))?.accountVersion).toBe(2);
    });
  });

  describe('account document and erasure', () => {
    it("the guard answers 'erased' to updateAccount and resetUser, creating nothing", async () => {
      const store = await makeStore();
      const id = user('erase-doc');
      await store.updateAccount(id, { ...write(0, 'before'), now: NOW });
      const t = Date.now();
      expect(await store.deleteUser(id, { now: t, guardMs: 3_600_000 })).toBe(true);
      for (const at of [t, t + 1, t + 3_599_999]) {
        expect(await store.updateAccount(id, { ...write(0, 'after'), now: at })).toBe('erased');
        expect(await store.resetUser(id, { ...write(0, 'after'), now: at })).toBe('erased');
        expect(await store.getUser(id, at)).toBeNull();
      }
    });

    it('deleteUser removes the document: a record with only a document counts, and the version starts again at 0', async () => {
      const store = await makeStore();
      const id = user('erase-only-doc');
      await store.updateAccount(id, { ...write(0, 'one'), now: NOW });
      await store.updateAccount(id, { ...write(1, 'two'), now: NOW });
      const t = Date.now();
      // A guard of 0 ms ends at once, so what is left can be read.
      expect(await store.deleteUser(id, { now: t, guardMs: 0 })).toBe(true);
      expect(await store.getUser(id, t)).toBeNull();
      expect(await store.updateAccount(id, { ...write(2, 'three'), now: t })).toBe('conflict');
      expect(await store.updateAccount(id, { ...write(0, 'three'), now: t })).toBe('updated');
      const record = await store.getUser(id, t);
      expect([record?.account, record?.accountVersion]).toEqual([richAccount('three', 7), 1]);
      expect(await store.deleteUser(user('erase-nothing'), { now: t, guardMs: 0 })).toBe(false);
    });
  });

  // Registered only for stores with deleteExpired (testMFAStore's option).
  if (withDeleteExpired) retentionCases(suite);
}

/** The retention cases: a document's keepUntil holds a factorless record. */
function retentionCases(suite: Suite): void {
  const { makeStore, user, pending, activate, change } = suite;
  const write = (version: number, label: string, generation = 7): AccountWrite => ({
    version,
    account: richAccount(label, generation),
  });
  describe('retention by keepUntil (stores with deleteExpired)', () => {
    it('keeps a factorless record while keepUntil is null or in the future', async () => {
      const store = await makeStore();
      const deleteExpired = deleteExpiredOf(store);
      if (deleteExpired === undefined) {
        throw new TypeError('the store has no deleteExpired: pass { deleteExpired: false }');
      }
      const sweep = async (now: number) => {
        for (let i = 0; i < 1_000; i++) if (!(await deleteExpired(now)).more) return;
      };
      const forever = user('keep-null');
      const until = user('keep-until');
      const throttled = user('keep-throttle');
      const disabled = user('keep-disabled');
      const keepUntil = NOW + 30 * DAY;
      await store.updateAccount(forever, {
        version: 0,
        account: richAccount('forever', 1),
        now: NOW,
      });
      await store.updateAccount(until, {
        version: 0,
        account: { ...emptyAccount(0), keepUntil },
        now: NOW,
      });
      // Throttle state that stops mattering long before keepUntil.
      await store.reserveAttempt(throttled, { scope: 'otp', now: NOW, policy: POLICY, weight: 1 });
      await store.updateAccount(throttled, {
        version: 0,
        account: { ...emptyAccount(0), keepUntil },
        now: NOW,
      });
      // A user who disabled: no factor left, generation moved, keepUntil null.
      await activate(store, disabled, 'f1');
      expect(
        await change(store, disabled, (a) => store.deleteFactors(disabled, { account: a })),
      ).toBe('deleted');
      await store.putPending(disabled, pending('p9', { expiresAt: NOW + 1 }));
      for (const now of [NOW + DAY, keepUntil - 1]) {
        await sweep(now);
        expect((await store.getUser(forever, NOW))?.account, `at ${now}`).toEqual(
          richAccount('forever', 1),
        );
        expect((await store.getUser(until, NOW))?.account?.keepUntil, `at ${now}`).toBe(keepUntil);
        const held = await store.getUser(throttled, NOW);
        expect([held?.account?.keepUntil, held?.throttle.otp.failures]).toEqual([keepUntil, 1]);
        expect((await store.getUser(disabled, NOW))?.accountVersion, `at ${now}`).toBe(2);
      }
      await sweep(NOW + 4_000 * DAY);
      expect((await store.getUser(forever, NOW))?.account).toEqual(richAccount('forever', 1));
      expect((await store.getUser(disabled, NOW))?.account?.generation).toBe(2);
    });
  });

  describe('account writes in parallel', () => {
    it('N updateAccount at the same version: exactly one wins, and its document is stored', async () => {
      const store = await makeStore();
      for (let round = 0; round < 5; round++) {
        const id = user(`cas-race-${round}`);
        const start = round % 2 === 0 ? 0 : 1;
        if (start === 1) await store.updateAccount(id, { ...write(0, 'start'), now: NOW });
        const outcomes = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            store.updateAccount(id, { ...write(start, `w${i}`, i), now: NOW }),
          ),
        );
        const winners = outcomes.flatMap((o, i) => (o === 'updated' ? [i] : []));
        expect(winners).toHaveLength(1);
        expect(outcomes.filter((o) => o === 'conflict')).toHaveLength(11);
        const record = await store.getUser(id, NOW);
        expect([record?.account, record?.accountVersion]).toEqual([
          richAccount(`w${winners[0]}`, winners[0]),
          start + 1,
        ]);
      }
    });

    it('a mix of factor changes, updateAccount and resetUser at the same version: exactly one wins', async () => {
      const store = await makeStore();
      const conflict = (o: unknown) =>
        o === 'conflict' || (o as { reason?: unknown } | null)?.reason === 'conflict';
      for (let round = 0; round < 4; round++) {
        const id = user(`cas-mix-${round}`);
        const before = await seedUser(suite, store, id);
        const v = before.accountVersion;
        // Rotate the order so that every op gets to go first now and then.
        const ops = ACCOUNT_OPS.map((_, i) => ACCOUNT_OPS[(i + round * 3) % ACCOUNT_OPS.length]!);
        const outcomes = await Promise.all(
          ops.map((op, i) => callOp(suite, store, op, id, write(v, `m${i}`, i))),
        );
        const winners = outcomes.flatMap((o, i) => (conflict(o) ? [] : [i]));
        expect(winners, JSON.stringify(outcomes)).toHaveLength(1);
        const winner = winners[0]!;
        const after = await store.getUser(id, NOW);
        expect([after?.account, after?.accountVersion]).toEqual([
          richAccount(`m${winner}`, winner),
          v + 1,
        ]);
        // Only the winner's change was made.
        const factors: Record<AccountOp, string[]> = {
          putPending: ['f1', 'f2'],
          activatePending: ['f1', 'f2', 'p2'],
          addFactor: ['f1', 'f2', 'i9'],
          replaceRecoveryCodes: ['f1', 'f2'],
          removeFactor: ['f2'],
          deleteFactors: [],
          updateAccount: ['f1', 'f2'],
          resetUser: [],
        };
        expect(after?.factors.map((f) => f.id)).toEqual(factors[ops[winner]!]);
      }
    });
  });
}
