/**
 * The account document and its compare-and-set: `updateAccount`, and the
 * account write every factor change carries. Written from the contract's
 * claims: the document round-trips exactly, a record without one reads as
 * version 0, a write happens only at the version read (then version + 1),
 * `'conflict'` and a refusal by the op's own rules write nothing, and ops
 * without an account write never touch it.
 * @module
 * @internal
 */
import { describe, expect, it } from 'vitest';
import type { AccountState, AccountWrite } from '../store/contract.ts';
import {
  ACCOUNT_OPS,
  callOp,
  CONFLICTS,
  richAccount,
  seedUser,
  type AccountOp,
} from './account-fixtures.ts';
import {
  activation,
  addOptions,
  digestOf,
  emptyAccount,
  NOW,
  POLICY,
  TTL,
  type Suite,
} from './harness.ts';

/** Registers these conformance cases (inside `testMFAStore`'s describe). */
export function accountCases(suite: Suite): void {
  const { makeStore, user, pending, imported, codeSet, activate, change, readAndReserveOf } = suite;
  const { hasReadAndReserve } = suite;
  const write = (version: number, label: string, generation = 7): AccountWrite => ({
    version,
    account: richAccount(label, generation),
  });

  describe('account document', () => {
    it('updateAccount creates a missing record; the document round-trips exactly, version by version', async () => {
      const store = await makeStore();
      const id = user('round-trip');
      expect(await store.updateAccount(id, { ...write(0, 'one'), now: NOW })).toBe('updated');
      expect(await store.getUser(id, NOW)).toEqual({
        userId: id,
        factors: [],
        pending: null,
        recoveryCodes: null,
        throttle: {
          otp: { failures: 0, guesses: 0, blockedUntil: 0 },
          recovery: { failures: 0, guesses: 0, blockedUntil: 0 },
        },
        account: richAccount('one', 7),
        accountVersion: 1,
      });
      // A smaller document replaces it whole: nothing of the first is merged in.
      const smaller: AccountState = { ...emptyAccount(2 ** 40), keepUntil: NOW + 1 };
      expect(await store.updateAccount(id, { version: 1, account: smaller, now: NOW })).toBe(
        'updated',
      );
      const second = await store.getUser(id, NOW);
      expect(second?.account).toEqual(smaller);
      expect(second?.accountVersion).toBe(2);
      const again = richAccount('three', 0);
      expect(await store.updateAccount(id, { version: 2, account: again, now: NOW })).toBe(
        'updated',
      );
      const third = await store.getUser(id, NOW);
      expect(third?.account).toEqual(richAccount('three', 0));
      expect(third?.accountVersion).toBe(3);
      // Array order is kept exactly (toEqual would not see a reordered key, but does an array).
      expect(third?.account?.devices.map((d) => d.id)).toEqual([
        'device-2-three',
        'device-1-three',
      ]);
      // The store keeps its own copy: changing what was passed or returned changes nothing.
      again.codes.length = 0;
      third!.account!.proofs.length = 0;
      expect((await store.getUser(id, NOW))?.account).toEqual(richAccount('three', 0));
    });

    it('a record without a document reads as account null, version 0', async () => {
      const store = await makeStore();
      const [enrolling, throttled, active] = [user('no-doc-1'), user('no-doc-2'), user('no-doc-3')];
      await store.putPending(enrolling, pending('p1'));
      await store.reserveAttempt(throttled, { scope: 'otp', now: NOW, policy: POLICY, weight: 1 });
      // An active factor written with its account write has a document; one
      // put in place without (putPending alone) has not.
      await activate(store, active, 'f1');
      for (const id of [enrolling, throttled]) {
        const record = await store.getUser(id, NOW);
        expect(record).not.toBeNull();
        expect([record?.account, record?.accountVersion]).toEqual([null, 0]);
      }
      expect((await store.getUser(active, NOW))?.accountVersion).toBe(1);
      // Version 0 is the one a write to such a record must name.
      expect(await store.updateAccount(enrolling, { ...write(1, 'x'), now: NOW })).toBe('conflict');
      expect(await store.updateAccount(enrolling, { ...write(0, 'x'), now: NOW })).toBe('updated');
    });

    it('updateAccount changes nothing but the document and its version', async () => {
      const store = await makeStore();
      const id = user('only-doc');
      const before = await seedUser(suite, store, id);
      const v = before.accountVersion;
      expect(await store.updateAccount(id, { ...write(v, 'next'), now: NOW })).toBe('updated');
      expect(await store.getUser(id, NOW)).toEqual({
        ...before,
        account: richAccount('next', 7),
        accountVersion: v + 1,
      });
    });

    for (const op of ACCOUNT_OPS) {
      it(`${op}: a moved version answers 'conflict' and writes nothing; the version read writes both`, async () => {
        const store = await makeStore();
        const id = user(`cas-${op}`);
        const before = await seedUser(suite, store, id);
        const v = before.accountVersion;
        for (const stale of [v - 1, v + 1, 0]) {
          expect(
            await callOp(suite, store, op, id, write(stale, 'lost')),
            `version ${stale}`,
          ).toEqual(CONFLICTS[op]);
          expect(await store.getUser(id, NOW), `after version ${stale}`).toEqual(before);
        }
        const outcome = await callOp(suite, store, op, id, write(v, 'won'));
        expect(outcome).not.toEqual(CONFLICTS[op]);
        const after = await store.getUser(id, NOW);
        expect([after?.account, after?.accountVersion]).toEqual([richAccount('won', 7), v + 1]);
        // The change itself was made, with the write.
        const changed: Record<AccountOp, () => void> = {
          putPending: () => expect(after?.pending?.id).toBe('p3'),
          activatePending: () =>
            expect(after?.factors.map((f) => f.id)).toEqual(['f1', 'f2', 'p2']),
          addFactor: () => expect(after?.factors.map((f) => f.id)).toEqual(['f1', 'f2', 'i9']),
          replaceRecoveryCodes: () => expect(after?.recoveryCodes).toEqual(codeSet('new', 2)),
          removeFactor: () => expect(after?.factors.map((f) => f.id)).toEqual(['f2']),
          deleteFactors: () => expect([after?.factors, after?.pending]).toEqual([[], null]),
          updateAccount: () =>
            expect({ ...after, account: before.account }).toEqual({
              ...before,
              accountVersion: v + 1,
            }),
          resetUser: () => expect([after?.factors, after?.recoveryCodes]).toEqual([[], null]),
        };
        changed[op]();
      });
    }

    it("'conflict' comes before the op's own rules, and 'erased' before 'conflict'", async () => {
      const store = await makeStore();
      const id = user('order');
      await store.updateAccount(id, { ...write(0, 'a'), now: NOW });
      // Each would be refused by its own rules (no factor, no pending, nothing to delete).
      const stale = write(0, 'b');
      expect(await store.activatePending(id, 'nope', activation(stale))).toEqual(
        CONFLICTS.activatePending,
      );
      expect(await store.replaceRecoveryCodes(id, codeSet('x'), { account: stale })).toBe(
        'conflict',
      );
      expect(await store.removeFactor(id, 'nope', { account: stale })).toBe('conflict');
      expect(await store.deleteFactors(id, { account: stale })).toBe('conflict');
      await activate(store, id, 'f1');
      expect(await store.addFactor(id, imported('f1'), addOptions(1, stale))).toEqual(
        CONFLICTS.addFactor,
      );
      const t = Date.now();
      expect(await store.deleteUser(id, { now: t, guardMs: 3_600_000 })).toBe(true);
      for (const version of [0, 2, 9]) {
        expect(await store.updateAccount(id, { ...write(version, 'c'), now: t })).toBe('erased');
        expect(await store.resetUser(id, { ...write(version, 'c'), now: t })).toBe('erased');
        expect(
          await store.putPending(id, pending('p', { createdAt: t }), {
            account: write(version, 'c'),
          }),
        ).toBe('erased');
      }
      expect(await store.getUser(id, t)).toBeNull();
    });

    it("a refusal by the op's own rules writes no document", async () => {
      const store = await makeStore();
      const id = user('refusals');
      const before = await seedUser(suite, store, id);
      const w = write(before.accountVersion, 'refused');
      const refusals: [string, () => Promise<unknown>, unknown][] = [
        [
          'name_taken',
          () => store.addFactor(id, imported('i1', { nameKey: 'name f1' }), addOptions(20, w)),
          { ok: false, reason: 'name_taken' },
        ],
        [
          'factor_limit',
          () => store.addFactor(id, imported('i1'), addOptions(2, w)),
          { ok: false, reason: 'factor_limit' },
        ],
        [
          'duplicate_secret (import)',
          () =>
            store.addFactor(
              id,
              imported('i1', { secretDigest: digestOf('f2') }),
              addOptions(20, w),
            ),
          { ok: false, reason: 'duplicate_secret', factorId: 'f2' },
        ],
        [
          'factor_limit (bind)',
          () => store.activatePending(id, 'p2', { ...activation(w), maxFactors: 2 }),
          { ok: false, reason: 'factor_limit' },
        ],
        [
          'not_pending',
          () => store.activatePending(id, 'p1', activation(w)),
          { ok: false, reason: 'not_pending' },
        ],
        [
          'not_pending (expired)',
          () => store.activatePending(id, 'p2', { ...activation(w), now: NOW + 1 + TTL }),
          { ok: false, reason: 'not_pending' },
        ],
        [
          'not removed',
          () => store.removeFactor(id, 'f9', { account: w }),
          { removed: false, remaining: 2 },
        ],
      ];
      for (const [label, call, expected] of refusals) {
        expect(await call(), label).toEqual(expected);
        expect(await store.getUser(id, NOW), label).toEqual(before);
      }
      // With no factor: no_factor, and 'nothing' once there is nothing either.
      const bare = user('refusals-bare');
      await store.updateAccount(bare, { ...write(0, 'bare'), now: NOW });
      const bareBefore = await store.getUser(bare, NOW);
      const bw = write(1, 'refused');
      expect(await store.replaceRecoveryCodes(bare, codeSet('x'), { account: bw })).toBe(
        'no_factor',
      );
      expect(await store.deleteFactors(bare, { account: bw })).toBe('nothing');
      expect(await store.removeFactor(bare, 'f1', { account: bw })).toEqual({
        removed: false,
        remaining: 0,
      });
      expect(await store.getUser(bare, NOW)).toEqual(bareBefore);
      // A twin secret at bind time.
      const twin = user('refusals-twin');
      await activate(store, twin, 'f1');
      await store.putPending(twin, pending('p2', { secretDigest: digestOf('f1') }));
      const twinBefore = await store.getUser(twin, NOW);
      const tw = write(twinBefore!.accountVersion, 'refused');
      expect(await store.activatePending(twin, 'p2', activation(tw))).toEqual({
        ok: false,
        reason: 'duplicate_secret',
        factorId: 'f1',
      });
      expect(await store.getUser(twin, NOW)).toEqual(twinBefore);
      // And for a user the store has nothing for, nothing is created.
      const nobody = user('refusals-nobody');
      expect(await store.deleteFactors(nobody, { account: write(0, 'x') })).toBe('nothing');
      expect(
        await store.replaceRecoveryCodes(nobody, codeSet('x'), { account: write(0, 'x') }),
      ).toBe('no_factor');
      expect(await store.removeFactor(nobody, 'f1', { account: write(0, 'x') })).toEqual({
        removed: false,
        remaining: 0,
      });
      expect(await store.getUser(nobody, NOW)).toBeNull();
    });

    it('ops without an account write never change account or accountVersion', async () => {
      const store = await makeStore();
      const id = user('no-write');
      const { account, accountVersion } = await seedUser(suite, store, id);
      const calls: [string, () => Promise<unknown>][] = [
        ['putPending', () => store.putPending(id, pending('p5'))],
        [
          'reserveAttempt',
          () =>
            store.reserveAttempt(id, { scope: 'otp', now: NOW + 9_000, policy: POLICY, weight: 2 }),
        ],
        ['recordSuccess', () => store.recordSuccess(id, 'f1', 2000, 1, NOW)],
        ['consumeRecoveryCode', () => store.consumeRecoveryCode(id, 'hash-f1-0')],
        ['resetThrottle', () => store.resetThrottle(id, 'recovery')],
        [
          'refundAttempt',
          () =>
            store.refundAttempt(id, {
              scope: 'otp',
              failures: 1,
              guesses: 2,
              weight: 2,
              blockedUntil: 0,
            }),
        ],
        ['renameFactor', () => store.renameFactor(id, 'f2', 'Other', 'other')],
        ['replaceSealedSecret', () => store.replaceSealedSecret(id, 'f1', 'sealed-new')],
      ];
      if (hasReadAndReserve) {
        const readAndReserve = readAndReserveOf(store);
        calls.push([
          'readAndReserve',
          () =>
            readAndReserve(id, {
              scope: 'otp',
              now: NOW + 99_000,
              policy: POLICY,
              requirement: 'active',
            }),
        ]);
      }
      for (const [label, call] of calls) {
        await call();
        const record = await store.getUser(id, NOW);
        expect([record?.account, record?.accountVersion], label).toEqual([account, accountVersion]);
      }
      // The calls did act (so the check above was not vacuous).
      const record = await store.getUser(id, NOW);
      expect(record?.pending?.id).toBe('p5');
      expect(record?.factors.map((f) => [f.id, f.name, f.lastStep])).toEqual([
        ['f1', 'Name f1', 2000],
        ['f2', 'Other', 1000],
      ]);
      // A user with no document keeps none.
      const plain = user('no-write-plain');
      await store.putPending(plain, pending('p1'));
      await store.reserveAttempt(plain, { scope: 'otp', now: NOW, policy: POLICY, weight: 1 });
      const read = await store.getUser(plain, NOW);
      expect([read?.account, read?.accountVersion]).toEqual([null, 0]);
    });
  });
}
