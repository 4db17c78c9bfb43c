/**
 * One secret per user: `activatePending` and `addFactor` refuse a secret
 * (by its digest) that another factor of the user has.
 * @module
 * @internal
 */
import { describe, expect, it } from 'vitest';
import { activation, addOptions, digestOf, NOW, type Suite } from './harness.ts';

/** Registers these conformance cases (inside `testMFAStore`'s describe). */
export function duplicateSecretCases(suite: Suite): void {
  const { makeStore, user, pending, imported, codeSet, activate, factorIds, as, change } = suite;
  describe('one secret per user (secretDigest)', () => {
    it('addFactor refuses a secret another factor has, whatever the name, even at the limit', async () => {
      const store = await makeStore();
      const id = user('dup-add');
      await activate(store, id, 'f1');
      const before = await store.getUser(id, NOW);
      const twin = (overrides = {}) =>
        imported('i2', { secretDigest: digestOf('f1'), ...overrides });
      const refused = { ok: false, reason: 'duplicate_secret', factorId: 'f1' };
      expect(
        await change(store, id, (a) => store.addFactor(id, twin(), addOptions(20, a))),
      ).toEqual(refused);
      expect(
        await change(store, id, (a) =>
          store.addFactor(id, twin({ nameKey: 'name f1' }), addOptions(20, a)),
        ),
      ).toEqual(refused);
      expect(await change(store, id, (a) => store.addFactor(id, twin(), addOptions(1, a)))).toEqual(
        refused,
      );
      expect(await store.getUser(id, NOW)).toEqual(before);
      // The secret and digest of a factor round-trip.
      expect(before?.factors[0]?.secretDigest).toBe(digestOf('f1'));
    });

    it('activatePending refuses an enrollment whose secret is a factor, keeping it pending', async () => {
      const store = await makeStore();
      const id = user('dup-bind');
      await activate(store, id, 'f1');
      await change(store, id, (a) => store.addFactor(id, imported('i2'), addOptions(20, a)));
      expect(await store.putPending(id, pending('p3', { secretDigest: digestOf('i2') }))).toBe(
        'stored',
      );
      const before = await store.getUser(id, NOW);
      expect(before?.pending?.secretDigest).toBe(digestOf('i2'));
      expect(
        await change(store, id, (a) => store.activatePending(id, 'p3', activation(a))),
      ).toEqual({
        ok: false,
        reason: 'duplicate_secret',
        factorId: 'i2',
      });
      expect(await store.getUser(id, NOW)).toEqual(before);
    });

    it('binding that replaces the factor with the same secret is no duplicate', async () => {
      const store = await makeStore();
      const id = user('dup-replace');
      await activate(store, id, 'f1');
      await store.putPending(
        id,
        pending('p2', { secretDigest: digestOf('f1'), replaceFactorId: 'f1' }),
      );
      expect(
        await change(store, id, (a) => store.activatePending(id, 'p2', activation(a))),
      ).toEqual({
        ok: true,
        firstFactor: false,
        replaced: true,
      });
      expect(await factorIds(store, id)).toEqual(['p2']);
      expect((await store.getUser(id, NOW))?.factors[0]?.secretDigest).toBe(digestOf('f1'));
    });

    it('a null digest (a 0.2 factor) is unknown: it never matches, not even another null', async () => {
      const store = await makeStore();
      const id = user('dup-null');
      for (const f of ['n1', 'n2']) {
        expect(
          await change(store, id, (a) =>
            store.addFactor(id, imported(f, { secretDigest: null }), addOptions(20, a)),
          ),
        ).toMatchObject({ ok: true });
      }
      await store.putPending(id, pending('p3', { secretDigest: null }));
      expect(
        await change(store, id, (a) => store.activatePending(id, 'p3', activation(a))),
      ).toMatchObject({ ok: true });
      expect(
        await change(store, id, (a) => store.addFactor(id, imported('d4'), addOptions(20, a))),
      ).toMatchObject({ ok: true });
      const factors = (await store.getUser(id, NOW))?.factors ?? [];
      expect(Object.fromEntries(factors.map((f) => [f.id, f.secretDigest]))).toEqual({
        n1: null,
        n2: null,
        p3: null,
        d4: digestOf('d4'),
      });
    });

    it('digests are compared per user: two users may hold the same digest', async () => {
      const store = await makeStore();
      const [a, b] = [user('dup-a'), user('dup-b')];
      for (const id of [a, b]) {
        expect(
          await change(store, id, (a) =>
            store.addFactor(
              id,
              imported('i1', { secretDigest: digestOf('shared') }),
              addOptions(20, a),
            ),
          ),
        ).toMatchObject({ ok: true });
      }
    });
  });
}
