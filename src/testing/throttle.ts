/**
 * The throttle: `reserveAttempt` (back-off, the lock on charged guesses, weights) and `refundAttempt`.
 * @module
 * @internal
 */
import { describe, expect, it } from 'vitest';
import { attemptDelayMs } from '../store/throttle.ts';
import { NOW, POLICY, addOptions, type Suite } from './harness.ts';

/** Registers these conformance cases (inside `testMFAStore`'s describe). */
export function throttleCases(suite: Suite): void {
  const { makeStore, user, imported, activate, throttleOf, as, change } = suite;
  describe('reserveAttempt', () => {
    it('allows freeAttempts back to back, then throttles for exactly attemptDelayMs', async () => {
      const store = await makeStore();
      const id = user('free');
      for (let i = 1; i <= POLICY.freeAttempts; i++) {
        expect(
          await store.reserveAttempt(id, { scope: 'otp', now: NOW, policy: POLICY, weight: 1 }),
        ).toEqual({
          ok: true,
          failures: i,
          guesses: i,
        });
      }
      const delay = attemptDelayMs(POLICY, POLICY.freeAttempts);
      expect(delay).toBe(1_000);
      expect(
        await store.reserveAttempt(id, { scope: 'otp', now: NOW + 400, policy: POLICY, weight: 1 }),
      ).toEqual({
        ok: false,
        reason: 'throttled',
        retryAfterMs: delay - 400,
      });
      expect((await throttleOf(store, id))?.otp).toEqual({
        failures: POLICY.freeAttempts,
        guesses: POLICY.freeAttempts,
        blockedUntil: NOW + delay,
      });
    });

    it('follows the back-off schedule to the cap, then stays locked', async () => {
      const store = await makeStore();
      const id = user('schedule');
      let now = NOW;
      for (let failures = 1; failures <= POLICY.maxFailures; failures++) {
        if (failures > 1) {
          const wait = attemptDelayMs(POLICY, failures - 1);
          if (wait > 0) {
            expect(
              await store.reserveAttempt(id, {
                scope: 'otp',
                now: now + wait - 1,
                policy: POLICY,
                weight: 1,
              }),
            ).toEqual({
              ok: false,
              reason: 'throttled',
              retryAfterMs: 1,
            });
          }
          now += wait;
        }
        expect(
          await store.reserveAttempt(id, { scope: 'otp', now: now, policy: POLICY, weight: 1 }),
        ).toEqual({
          ok: true,
          failures,
          guesses: failures,
        });
      }
      // Failures 3 to 7 are each followed by a delay: 1 s doubling, capped at 4 s.
      expect(now - NOW).toBe(1_000 + 2_000 + 4_000 + 4_000 + 4_000);
      for (const later of [now, now + 4_000, now + 365 * 86_400_000]) {
        expect(
          await store.reserveAttempt(id, { scope: 'otp', now: later, policy: POLICY, weight: 1 }),
        ).toEqual({
          ok: false,
          reason: 'locked',
        });
      }
      expect((await throttleOf(store, id))?.otp.failures).toBe(POLICY.maxFailures);
    });

    it('keeps the otp and recovery scopes apart', async () => {
      const store = await makeStore();
      const id = user('scopes');
      const strict = { ...POLICY, maxFailures: 2 };
      await store.reserveAttempt(id, { scope: 'otp', now: NOW, policy: strict, weight: 1 });
      await store.reserveAttempt(id, { scope: 'otp', now: NOW, policy: strict, weight: 1 });
      expect(
        await store.reserveAttempt(id, { scope: 'otp', now: NOW, policy: strict, weight: 1 }),
      ).toEqual({
        ok: false,
        reason: 'locked',
      });
      expect(
        await store.reserveAttempt(id, { scope: 'recovery', now: NOW, policy: strict, weight: 1 }),
      ).toEqual({
        ok: true,
        failures: 1,
        guesses: 1,
      });
      expect(await throttleOf(store, id)).toEqual({
        otp: { failures: 2, guesses: 2, blockedUntil: NOW },
        recovery: { failures: 1, guesses: 1, blockedUntil: NOW },
      });
    });

    it('creates state for a user with no record', async () => {
      const store = await makeStore();
      const id = user('no-record');
      expect(
        await store.reserveAttempt(id, { scope: 'recovery', now: NOW, policy: POLICY, weight: 1 }),
      ).toEqual({
        ok: true,
        failures: 1,
        guesses: 1,
      });
      const record = await store.getUser(id, NOW);
      expect(record?.factors).toEqual([]);
      expect(record?.pending).toBeNull();
      expect(record?.throttle.recovery).toEqual({ failures: 1, guesses: 1, blockedUntil: NOW });
    });

    it('locks once the charged guesses reach maxFailures: each attempt charged its weight', async () => {
      const store = await makeStore();
      const open = { freeAttempts: 100, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 10 };
      for (const weight of [1, 2, 3, 5]) {
        const id = user(`weight-${weight}`);
        const granted: number[] = [];
        for (let i = 0; i < 12; i++) {
          const r = await store.reserveAttempt(id, {
            scope: 'otp',
            now: NOW,
            policy: open,
            weight,
          });
          if (r.ok) {
            expect(r).toEqual({ ok: true, failures: i + 1, guesses: (i + 1) * weight });
            granted.push(r.guesses);
          } else expect(r).toEqual({ ok: false, reason: 'locked' });
        }
        // 10, 5, 4 (ceil(10 / 3)) and 2 attempts: the guesses reach 10 (or pass it).
        expect(granted.length).toBe([10, 5, 4, 2][[1, 2, 3, 5].indexOf(weight)]);
        expect((await throttleOf(store, id))?.otp).toEqual({
          failures: granted.length,
          guesses: granted.length * weight,
          blockedUntil: NOW,
        });
      }
    });

    it('the lock follows the charged guesses, not the factors the user has now', async () => {
      const store = await makeStore();
      const open = { freeAttempts: 100, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 10 };
      const id = user('mixed-weights');
      // Five factors, then weights as factors are removed and added: 5 + 1 + 3 = 9 < 10.
      for (let i = 0; i < 5; i++)
        await change(store, id, (a) => store.addFactor(id, imported(`w${i}`), addOptions(20, a)));
      for (const weight of [5, 1, 3]) {
        expect(
          await store.reserveAttempt(id, { scope: 'otp', now: NOW, policy: open, weight }),
        ).toMatchObject({ ok: true });
      }
      // One factor left: the next attempt is still granted (9 < 10), the one after is not.
      for (let i = 0; i < 4; i++)
        expect(
          await change(store, id, (a) => store.removeFactor(id, `w${i}`, { account: a })),
        ).toMatchObject({ removed: true });
      expect(
        await store.reserveAttempt(id, { scope: 'otp', now: NOW, policy: open, weight: 1 }),
      ).toEqual({ ok: true, failures: 4, guesses: 10 });
      expect(
        await store.reserveAttempt(id, { scope: 'otp', now: NOW, policy: open, weight: 1 }),
      ).toEqual({ ok: false, reason: 'locked' });
    });

    it('the recovery scope locks on its own guesses', async () => {
      const store = await makeStore();
      const id = user('recovery-lock');
      await activate(store, id, 'f1');
      const strict = { ...POLICY, freeAttempts: 10, maxFailures: 3 };
      for (let i = 1; i <= 3; i++) {
        expect(
          await store.reserveAttempt(id, {
            scope: 'recovery',
            now: NOW,
            policy: strict,
            weight: 1,
          }),
        ).toEqual({ ok: true, failures: i, guesses: i });
      }
      expect(
        await store.reserveAttempt(id, { scope: 'recovery', now: NOW, policy: strict, weight: 1 }),
      ).toEqual({ ok: false, reason: 'locked' });
      expect(
        await store.reserveAttempt(id, { scope: 'otp', now: NOW, policy: strict, weight: 1 }),
      ).toEqual({ ok: true, failures: 1, guesses: 1 });
    });
  });
  describe('refundAttempt', () => {
    it('takes back the last reservation only while nothing else changed the scope', async () => {
      const store = await makeStore();
      const id = user('refund');
      expect(
        await store.refundAttempt(id, {
          scope: 'otp',
          failures: 1,
          guesses: 1,
          weight: 1,
          blockedUntil: 0,
        }),
      ).toBe(false);
      await activate(store, id, 'f1');
      for (let i = 0; i < 3; i++)
        await store.reserveAttempt(id, { scope: 'otp', now: NOW, policy: POLICY, weight: 1 });
      const before = (await throttleOf(store, id))?.otp;
      expect(before).toEqual({ failures: 3, guesses: 3, blockedUntil: NOW + 1_000 });
      await store.reserveAttempt(id, { scope: 'otp', now: NOW + 1_000, policy: POLICY, weight: 1 }); // 4, blocked to NOW + 3000
      expect(
        await store.refundAttempt(id, {
          scope: 'otp',
          failures: 3,
          guesses: 3,
          weight: 1,
          blockedUntil: NOW + 1_000,
        }),
      ).toBe(false); // stale count
      expect(
        await store.refundAttempt(id, {
          scope: 'recovery',
          failures: 4,
          guesses: 4,
          weight: 1,
          blockedUntil: 0,
        }),
      ).toBe(false); // other scope
      expect(
        await store.refundAttempt(id, {
          scope: 'otp',
          failures: 4,
          guesses: 4,
          weight: 1,
          blockedUntil: NOW + 1_000,
        }),
      ).toBe(true);
      expect((await throttleOf(store, id))?.otp).toEqual(before);
      expect(
        await store.refundAttempt(id, {
          scope: 'otp',
          failures: 4,
          guesses: 4,
          weight: 1,
          blockedUntil: NOW + 1_000,
        }),
      ).toBe(false); // once
      await store.resetThrottle(id, 'otp');
      expect(
        await store.refundAttempt(id, {
          scope: 'otp',
          failures: 0,
          guesses: 0,
          weight: 1,
          blockedUntil: 0,
        }),
      ).toBe(false);
      expect((await throttleOf(store, id))?.otp).toEqual({
        failures: 0,
        guesses: 0,
        blockedUntil: 0,
      });
    });

    it('racing reservations: refunds never take back more than they reserved', async () => {
      const store = await makeStore();
      const id = user('refund-race');
      const open = { freeAttempts: 1000, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 1000 };
      const results = await Promise.all(
        Array.from({ length: 40 }, async () => {
          const r = await store.reserveAttempt(id, {
            scope: 'otp',
            now: NOW,
            policy: open,
            weight: 1,
          });
          return r.ok
            ? store.refundAttempt(id, {
                scope: 'otp',
                failures: r.failures,
                guesses: r.failures,
                weight: 1,
                blockedUntil: NOW,
              })
            : false;
        }),
      );
      const refunded = results.filter(Boolean).length;
      expect(refunded).toBeGreaterThanOrEqual(1);
      expect((await throttleOf(store, id))?.otp.failures ?? 0).toBe(40 - refunded);
    });
  });
}
