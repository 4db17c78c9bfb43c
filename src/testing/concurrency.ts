/**
 * Atomicity under concurrent calls: every race ends in one order or the other.
 * @module
 * @internal
 */
import { describe, expect, it } from 'vitest';
import { activation, addOptions, digestOf, NOW, POLICY, type Suite } from './harness.ts';

/** Registers these conformance cases (inside `testMFAStore`'s describe). */
export function concurrencyCases(suite: Suite): void {
  const {
    makeStore,
    user,
    pending,
    imported,
    codeSet,
    activate,
    factorIds,
    throttleOf,
    as,
    change,
  } = suite;
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
      const results = await Promise.all(steps.map((s) => store.recordSuccess(id, 'f1', s, 0, NOW)));
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
        Array.from({ length: 200 }, () =>
          store.reserveAttempt(id, { scope: 'otp', now: NOW, policy: policy, weight: 1 }),
        ),
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
        Array.from({ length: 200 }, () =>
          store.reserveAttempt(id, { scope: 'recovery', now: NOW, policy: policy, weight: 1 }),
        ),
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
        Array.from({ length: 20 }, () =>
          change(store, id, (a) => store.activatePending(id, 'p1', activation(a))),
        ),
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
          change(store, id, (a) => store.activatePending(id, 'a', activation(a))),
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
        await change(store, id, (a) => store.addFactor(id, imported('first'), addOptions(3, a)));
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            change(store, id, (a) =>
              store.addFactor(id, imported(`i${i}`), addOptions(3, a, codeSet(`c${i}`))),
            ),
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
          change(store, id, (a) =>
            store.activatePending(id, 'p2', { ...activation(a), maxFactors: 2 }),
          ),
          change(store, id, (a) => store.addFactor(id, imported('i2'), addOptions(2, a))),
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
          change(store, id, (a) =>
            store.addFactor(id, imported(`i${i}`), addOptions(20, a, codeSet(`set${i}`))),
          ),
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
          change(store, id, (a) =>
            store.addFactor(id, imported(`i${i}`, { nameKey: 'phone' }), addOptions(20, a)),
          ),
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
          change(store, id, (a) => store.removeFactor(id, 'f1', { account: a })),
          change(store, id, (a) => store.removeFactor(id, 'f2', { account: a })),
          change(store, id, (a) => store.removeFactor(id, 'f1', { account: a })),
        ]);
        expect(results.filter((r) => r !== 'conflict' && r.removed)).toHaveLength(2);
        expect(
          results.filter((r) => r !== 'conflict' && r.removed && r.remaining === 0),
        ).toHaveLength(1);
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
          change(store, id, (a) =>
            store.activatePending(id, 'f2', { ...activation(a), maxFactors: 1 }),
          ),
          change(store, id, (a) => store.removeFactor(id, 'f1', { account: a })),
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

    it('parallel addFactor of one secret under ten names: exactly one is added', async () => {
      const store = await makeStore();
      const id = user('dup-race');
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          change(store, id, (a) =>
            store.addFactor(
              id,
              imported(`i${i}`, { secretDigest: digestOf('same-secret') }),
              addOptions(20, a),
            ),
          ),
        ),
      );
      const ids = await factorIds(store, id);
      expect(ids).toHaveLength(1);
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      for (const r of results.filter((r) => !r.ok)) {
        expect(r).toEqual({ ok: false, reason: 'duplicate_secret', factorId: ids[0] });
      }
    });

    it('activatePending racing addFactor of the same secret: exactly one becomes a factor', async () => {
      const store = await makeStore();
      for (let round = 0; round < 10; round++) {
        const id = user(`dup-bind-race-${round}`);
        const digest = digestOf(`secret-${round}`);
        await store.putPending(id, pending('p1', { secretDigest: digest }));
        const calls = [
          change(store, id, (a) => store.activatePending(id, 'p1', activation(a))),
          change(store, id, (a) =>
            store.addFactor(id, imported('i1', { secretDigest: digest }), addOptions(20, a)),
          ),
        ];
        if (round % 2 === 1) calls.reverse();
        const results = await Promise.all(calls);
        const ids = await factorIds(store, id);
        expect(ids).toHaveLength(1);
        expect(results.filter((r) => r.ok)).toHaveLength(1);
        expect(results.find((r) => !r.ok)).toEqual({
          ok: false,
          reason: 'duplicate_secret',
          factorId: ids[0],
        });
      }
    });
  });
}
