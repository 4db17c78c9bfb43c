/**
 * The optional `readAndReserve`: call for call the same as `getUser` then
 * `reserveAttempt` (with the weight it decides from the record), nothing
 * written when the requirement is not met, and no more reservations than the
 * policy allows under parallel calls.
 * @module
 * @internal
 */
import { describe, expect, it } from 'vitest';
import type { AttemptReservation } from '../store/contract.ts';
import { attemptDelayMs } from '../store/throttle.ts';
import { NOW, TTL, POLICY, type Suite } from './harness.ts';

/** Registers these conformance cases (inside `testMFAStore`'s describe). */
export function readAndReserveCases(suite: Suite): void {
  const {
    makeStore,
    user,
    pending,
    codeSet,
    activate,
    throttleOf,
    readAndReserveOf,
    as,
    hasReadAndReserve,
    change,
  } = suite;
  if (hasReadAndReserve) {
    describe('readAndReserve (optional)', () => {
      it('returns the record as it was and the reservation, and counts the attempt', async () => {
        const store = await makeStore();
        const readAndReserve = readAndReserveOf(store);
        const id = user('read-reserve');
        await activate(store, id, 'f1', codeSet('rr', 4));
        await store.putPending(id, pending('p2'));
        await store.reserveAttempt(id, { scope: 'recovery', now: NOW, policy: POLICY, weight: 1 });
        const before = await store.getUser(id, NOW);
        expect(before?.factors[0]?.id).toBe('f1');
        expect(
          await readAndReserve(id, {
            scope: 'otp',
            now: NOW + 7,
            policy: POLICY,
            requirement: 'active',
          }),
        ).toEqual({
          record: before,
          reservation: { ok: true, failures: 1, guesses: 1 },
        });
        expect(await throttleOf(store, id)).toEqual({
          otp: { failures: 1, guesses: 1, blockedUntil: NOW + 7 },
          recovery: { failures: 1, guesses: 1, blockedUntil: NOW },
        });
        const after = await store.getUser(id, NOW);
        expect(
          await readAndReserve(id, {
            scope: 'recovery',
            now: NOW,
            policy: POLICY,
            requirement: 'pending',
          }),
        ).toEqual({
          record: after,
          reservation: { ok: true, failures: 2, guesses: 2 },
        });
      });

      for (const [scope, requirement, factors] of [
        ['otp', 'active', 1],
        ['otp', 'active', 3],
        ['recovery', 'active', 3],
        ['otp', 'pending', 0],
        ['otp', 'pending', 2],
      ] as const) {
        // The weight readAndReserve charges: every factor for a login code, else 1.
        const weight = scope === 'otp' && requirement === 'active' ? factors : 1;
        it(`equals getUser then reserveAttempt (weight ${weight}), call for call, to the lock (${scope}, ${requirement}, ${factors} factors)`, async () => {
          const store = await makeStore();
          const readAndReserve = readAndReserveOf(store);
          const [a, b] = [user(`equal-a-${scope}`), user(`equal-b-${scope}`)];
          for (const id of [a, b]) {
            for (let i = 1; i <= factors; i++) await activate(store, id, `f${i}`);
            if (requirement === 'pending') await store.putPending(id, pending('p1'));
            await store.reserveAttempt(id, {
              scope: scope === 'otp' ? 'recovery' : 'otp',
              now: NOW,
              policy: POLICY,
              weight: 1,
            });
          }
          // The same schedule of delays for every weight: the budget scales with it.
          const policy = { ...POLICY, maxFailures: POLICY.maxFailures * weight };
          const outcomes: AttemptReservation[] = [];
          // Every 700 ms for 21 s: free attempts, back-off delays, then the lock.
          for (let now = NOW; now <= NOW + 21_000; now += 700) {
            const record = await store.getUser(b, now);
            const reservation = await store.reserveAttempt(b, {
              scope: scope,
              now: now,
              policy,
              weight,
            });
            expect(
              await readAndReserve(a, {
                scope: scope,
                now: now,
                policy,
                requirement: requirement,
              }),
            ).toEqual({
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
          expect(
            await readAndReserve(unknown, {
              scope: scope,
              now: NOW,
              policy: POLICY,
              requirement: 'active',
            }),
          ).toEqual(none);
          expect(
            await readAndReserve(unknown, {
              scope: scope,
              now: NOW,
              policy: POLICY,
              requirement: 'pending',
            }),
          ).toEqual(none);
        }
        expect(await store.getUser(unknown, NOW)).toBeNull(); // no throttle state created

        const onlyPending = user('rr-only-pending');
        await store.putPending(onlyPending, pending('p1'));
        const pendingRecord = await store.getUser(onlyPending, NOW);
        expect(
          await readAndReserve(onlyPending, {
            scope: 'otp',
            now: NOW,
            policy: POLICY,
            requirement: 'active',
          }),
        ).toEqual({
          record: pendingRecord,
          reservation: null,
        });
        const onlyActive = user('rr-only-active');
        await activate(store, onlyActive, 'f1');
        const activeRecord = await store.getUser(onlyActive, NOW);
        expect(
          await readAndReserve(onlyActive, {
            scope: 'otp',
            now: NOW,
            policy: POLICY,
            requirement: 'pending',
          }),
        ).toEqual({
          record: activeRecord,
          reservation: null,
        });
        expect(await store.getUser(onlyPending, NOW)).toEqual(pendingRecord);
        expect(await store.getUser(onlyActive, NOW)).toEqual(activeRecord);

        // Disabled: the throttle state is kept, and not added to.
        const disabled = user('rr-disabled');
        await activate(store, disabled, 'f1');
        await store.reserveAttempt(disabled, { scope: 'otp', now: NOW, policy: POLICY, weight: 1 });
        await change(store, disabled, (a) => store.deleteFactors(disabled, { account: a }));
        const result = await readAndReserve(disabled, {
          scope: 'otp',
          now: NOW,
          policy: POLICY,
          requirement: 'active',
        });
        expect(result.reservation).toBeNull();
        expect(result.record?.factors).toEqual([]);
        expect(result.record?.throttle.otp).toEqual({ failures: 1, guesses: 1, blockedUntil: NOW });
        expect((await throttleOf(store, disabled))?.otp.failures).toBe(1);
      });

      it("'pending' requires now < expiresAt", async () => {
        const store = await makeStore();
        const readAndReserve = readAndReserveOf(store);
        const id = user('rr-expiry');
        await store.putPending(id, pending('p1'));
        for (const now of [NOW + TTL, NOW + TTL + 60_000]) {
          const late = await readAndReserve(id, {
            scope: 'otp',
            now: now,
            policy: POLICY,
            requirement: 'pending',
          });
          expect(late.reservation).toBeNull();
          // Past expiresAt a store may still return the enrollment, or not.
          if (late.record?.pending) expect(late.record.pending).toEqual(pending('p1'));
        }
        expect((await throttleOf(store, id))?.otp.failures ?? 0).toBe(0);
        expect(
          await readAndReserve(id, {
            scope: 'otp',
            now: NOW + TTL - 1,
            policy: POLICY,
            requirement: 'pending',
          }),
        ).toEqual({
          record: expect.objectContaining({ pending: pending('p1') }),
          reservation: { ok: true, failures: 1, guesses: 1 },
        });
      });

      it('hands out copies', async () => {
        const store = await makeStore();
        const readAndReserve = readAndReserveOf(store);
        const id = user('rr-copies');
        await activate(store, id, 'f1');
        const { record } = await readAndReserve(id, {
          scope: 'otp',
          now: NOW,
          policy: POLICY,
          requirement: 'active',
        });
        if (record?.factors[0]) record.factors[0].lastStep = 99_999;
        if (record) record.throttle.otp.failures = 42;
        const stored = await store.getUser(id, NOW);
        expect(stored?.factors[0]?.lastStep).toBe(1000);
        expect(stored?.throttle.otp.failures).toBe(1);
      });

      it('200 parallel calls never exceed the budget (throttle)', async () => {
        const store = await makeStore();
        const readAndReserve = readAndReserveOf(store);
        const id = user('rr-reserve-race');
        await activate(store, id, 'f1');
        const policy = { ...POLICY, freeAttempts: 10, maxFailures: 50 };
        const results = await Promise.all(
          Array.from({ length: 200 }, () =>
            readAndReserve(id, { scope: 'otp', now: NOW, policy: policy, requirement: 'active' }),
          ),
        );
        const granted = results.flatMap(({ reservation: r }) => (r?.ok ? [r.failures] : []));
        expect(granted.sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
        const throttled = results.filter(({ reservation: r }) => r?.ok === false);
        expect(throttled.map(({ reservation }) => reservation)).toEqual(
          Array.from({ length: 190 }, () => ({
            ok: false,
            reason: 'throttled',
            retryAfterMs: attemptDelayMs(policy, 10),
          })),
        );
        expect(results.every(({ record }) => record?.factors[0]?.id === 'f1')).toBe(true);
        expect((await throttleOf(store, id))?.otp.failures).toBe(10);
      });

      it('parallel calls for a 3-factor user charge 3 guesses each, shared with reserveAttempt', async () => {
        const store = await makeStore();
        const readAndReserve = readAndReserveOf(store);
        const id = user('rr-lock-3');
        for (const f of ['f1', 'f2', 'f3']) await activate(store, id, f);
        const policy = { freeAttempts: 100, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 10 };
        const results = await Promise.all(
          Array.from({ length: 60 }, (_, i) =>
            i % 2 === 0
              ? readAndReserve(id, {
                  scope: 'otp',
                  now: NOW,
                  policy: policy,
                  requirement: 'active',
                }).then((r) => r.reservation)
              : store.reserveAttempt(id, { scope: 'otp', now: NOW, policy: policy, weight: 3 }),
          ),
        );
        const granted = results.flatMap((r) => (r?.ok ? [r.failures] : []));
        expect(granted.sort((a, b) => a - b)).toEqual([1, 2, 3, 4]); // ceil(10 / 3)
        expect((await throttleOf(store, id))?.otp).toEqual({
          failures: 4,
          guesses: 12,
          blockedUntil: NOW,
        });
        // The recovery scope's budget does not depend on the factors.
        for (let i = 1; i <= 10; i++) {
          expect(
            await store.reserveAttempt(id, {
              scope: 'recovery',
              now: NOW,
              policy: policy,
              weight: 1,
            }),
          ).toEqual({
            ok: true,
            failures: i,
            guesses: i,
          });
        }
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
              ? readAndReserve(id, {
                  scope: 'recovery',
                  now: NOW,
                  policy: policy,
                  requirement: 'active',
                }).then((r) => r.reservation)
              : store.reserveAttempt(id, {
                  scope: 'recovery',
                  now: NOW,
                  policy: policy,
                  weight: 1,
                }),
          ),
        );
        const granted = results.flatMap((r) => (r?.ok ? [r.failures] : []));
        expect(granted.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7]);
        expect(results.filter((r) => r?.ok === false && r.reason === 'locked')).toHaveLength(193);
        expect((await throttleOf(store, id))?.recovery.failures).toBe(7);
      });

      it('racing removeFactor: an attempt is reserved exactly when the record it returns has a factor', async () => {
        const store = await makeStore();
        const readAndReserve = readAndReserveOf(store);
        const open = { freeAttempts: 1000, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 1000 };
        for (let round = 0; round < 10; round++) {
          const id = user(`rr-delete-race-${round}`);
          await activate(store, id, 'f1');
          const call = () =>
            readAndReserve(id, { scope: 'otp', now: NOW, policy: open, requirement: 'active' });
          const first = Array.from({ length: 20 }, call);
          const deleted = change(store, id, (a) => store.removeFactor(id, 'f1', { account: a }));
          const results = await Promise.all([...first, ...Array.from({ length: 20 }, call)]);
          expect(await deleted).toEqual({ removed: true, remaining: 0 });
          for (const { record, reservation } of results) {
            expect(reservation !== null).toBe((record?.factors.length ?? 0) > 0);
          }
          const reserved = results.filter(({ reservation }) => reservation?.ok).length;
          expect((await throttleOf(store, id))?.otp.failures ?? 0).toBe(reserved);
        }
      });
    });
  }
}
