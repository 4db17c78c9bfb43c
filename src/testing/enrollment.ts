/**
 * Enrollment: `putPending`, `activatePending`, `addFactor`, and the expiry of a pending enrollment.
 * @module
 * @internal
 */
import { describe, expect, it } from 'vitest';
import type { AccountWrite } from '../store/contract.ts';
import {
  activation,
  addOptions,
  emptyAccount,
  digestOf,
  NOW,
  POLICY,
  TTL,
  type Suite,
} from './harness.ts';

/** Registers these conformance cases (inside `testMFAStore`'s describe). */
export function enrollmentCases(suite: Suite): void {
  const { makeStore, user, pending, imported, codeSet, activate, factorIds, as, change } = suite;
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
      expect(
        await change(store, id, (a) => store.activatePending(id, 'p1', activation(a))),
      ).toEqual({
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
      await store.reserveAttempt(id, { scope: 'otp', now: NOW, policy: POLICY, weight: 1 });
      await store.reserveAttempt(id, { scope: 'recovery', now: NOW, policy: POLICY, weight: 1 });
      const codes = codeSet('c1', 10);
      expect(
        await change(store, id, (a) =>
          store.activatePending(id, 'p1', {
            lastStep: 58_333_334,
            drift: -3,
            now: NOW + 5,
            maxFactors: 5,
            recoveryCodes: codes,
            account: a,
          }),
        ),
      ).toEqual({ ok: true, firstFactor: true, replaced: false });
      expect(await store.getUser(id, NOW)).toEqual({
        userId: id,
        factors: [
          {
            id: 'p1',
            name: 'Name p1',
            nameKey: 'name p1',
            sealedSecret: 'sealed-p1',
            secretDigest: digestOf('p1'),
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
          otp: { failures: 0, guesses: 0, blockedUntil: 0 },
          recovery: { failures: 0, guesses: 0, blockedUntil: 0 },
        },
        // The activation's account write (generation 0 → 1 on a new document).
        account: emptyAccount(1),
        accountVersion: 1,
      });
    });

    it('refuses a wrong id, a second activation, and nothing pending', async () => {
      const store = await makeStore();
      const id = user('refuse');
      const notPending = { ok: false, reason: 'not_pending' };
      expect(
        await change(store, id, (a) => store.activatePending(id, 'p1', activation(a))),
      ).toEqual(notPending);
      await store.putPending(id, pending('p1'));
      expect(
        await change(store, id, (a) => store.activatePending(id, 'p2', activation(a))),
      ).toEqual(notPending);
      expect(await factorIds(store, id)).toEqual([]);
      expect(
        await change(store, id, (a) => store.activatePending(id, 'p1', activation(a))),
      ).toMatchObject({ ok: true });
      expect(
        await change(store, id, (a) => store.activatePending(id, 'p1', activation(a))),
      ).toEqual(notPending);
      expect(await factorIds(store, id)).toEqual(['p1']);
    });

    it('refuses at and after expiresAt, accepts just before', async () => {
      const store = await makeStore();
      const id = user('expiry');
      await store.putPending(id, pending('p1'));
      const at = (a: AccountWrite, now: number) => ({ ...activation(a), now });
      expect(
        await change(store, id, (a) => store.activatePending(id, 'p1', at(a, NOW + TTL))),
      ).toMatchObject({ ok: false });
      expect(
        await change(store, id, (a) => store.activatePending(id, 'p1', at(a, NOW + TTL + 60_000))),
      ).toMatchObject({
        ok: false,
      });
      expect(await factorIds(store, id)).toEqual([]);
      expect(
        await change(store, id, (a) => store.activatePending(id, 'p1', at(a, NOW + TTL - 1))),
      ).toMatchObject({
        ok: true,
      });
    });

    it('adds a second factor, keeping the first one, its state and the recovery codes', async () => {
      const store = await makeStore();
      const id = user('second');
      await activate(store, id, 'f1', codeSet('old'));
      expect(await store.recordSuccess(id, 'f1', 1005, 2, NOW + 1)).toBe(true);
      await store.putPending(id, pending('f2', { createdAt: NOW + 10 }));
      expect(
        await change(store, id, (a) =>
          store.activatePending(id, 'f2', activation(a, codeSet('new'))),
        ),
      ).toEqual({
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
      await change(store, id, (a) =>
        store.addFactor(id, imported('fc', { createdAt: NOW }), addOptions(20, a)),
      );
      expect(await factorIds(store, id)).toEqual(['fc', 'fa', 'fb']);
    });

    it('replaceFactorId removes that factor in the same step, and frees its place', async () => {
      const store = await makeStore();
      const id = user('replace-factor');
      await activate(store, id, 'f1', codeSet('c'));
      await activate(store, id, 'f2');
      await store.putPending(id, pending('f3', { replaceFactorId: 'f1', nameKey: 'name f1' }));
      expect(
        await change(store, id, (a) =>
          store.activatePending(id, 'f3', { ...activation(a), maxFactors: 2 }),
        ),
      ).toEqual({
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
      expect(
        await change(store, id, (a) => store.activatePending(id, 'f2', activation(a))),
      ).toEqual({
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
      await store.reserveAttempt(id, { scope: 'otp', now: NOW, policy: POLICY, weight: 1 });
      await store.putPending(id, pending('f3'));
      const before = await store.getUser(id, NOW);
      expect(
        await change(store, id, (a) =>
          store.activatePending(id, 'f3', { ...activation(a), maxFactors: 2 }),
        ),
      ).toEqual({
        ok: false,
        reason: 'factor_limit',
      });
      await store.putPending(id, pending('f3', { nameKey: 'name f2' }));
      const before2 = await store.getUser(id, NOW);
      expect(before2).toEqual({ ...before, pending: pending('f3', { nameKey: 'name f2' }) });
      expect(
        await change(store, id, (a) => store.activatePending(id, 'f3', activation(a))),
      ).toEqual({
        ok: false,
        reason: 'name_taken',
      });
      expect(await store.getUser(id, NOW)).toEqual(before2);
      expect(
        await change(store, id, (a) =>
          store.activatePending(id, 'f3', { ...activation(a), maxFactors: 3 }),
        ),
      ).toEqual({
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
      await store.reserveAttempt(id, { scope: 'otp', now: NOW, policy: POLICY, weight: 1 });
      const factor = imported('i1', { lastStep: 1234, algorithm: 'SHA512', digits: 7 });
      expect(
        await change(store, id, (a) =>
          store.addFactor(id, factor, addOptions(5, a, codeSet('imp'))),
        ),
      ).toEqual({
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
          otp: { failures: 1, guesses: 1, blockedUntil: NOW },
          recovery: { failures: 0, guesses: 0, blockedUntil: 0 },
        },
        account: emptyAccount(1),
        accountVersion: 1,
      });
      expect(
        await change(store, id, (a) =>
          store.addFactor(id, imported('i2'), addOptions(5, a, codeSet('x'))),
        ),
      ).toEqual({
        ok: true,
        firstFactor: false,
        replaced: false,
      });
      expect((await store.getUser(id, NOW))?.recoveryCodes).toEqual(codeSet('imp'));
    });

    it('refuses past maxFactors and for a taken name, writing nothing', async () => {
      const store = await makeStore();
      const id = user('import-limit');
      await change(store, id, (a) => store.addFactor(id, imported('i1'), addOptions(1, a)));
      const before = await store.getUser(id, NOW);
      expect(
        await change(store, id, (a) => store.addFactor(id, imported('i2'), addOptions(1, a))),
      ).toEqual({
        ok: false,
        reason: 'factor_limit',
      });
      expect(
        await change(store, id, (a) =>
          store.addFactor(id, imported('i2', { nameKey: 'name i1' }), addOptions(5, a)),
        ),
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
        await change(store, id, (a) =>
          store.activatePending(id, 'p1', { ...activation(a), now: NOW + TTL + 1 }),
        ),
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
      expect(
        await change(store, id, (a) =>
          store.activatePending(id, 'p2', { ...activation(a), now: later }),
        ),
      ).toEqual({
        ok: true,
        firstFactor: true,
        replaced: false,
      });
    });
  });
}
