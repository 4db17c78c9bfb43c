/**
 * The admin reset, through the service, over the store under test (issue
 * 21.3): afterwards the user's state is exactly "none" (status, the stored
 * record, the remembered devices), the generation moved by exactly one, one
 * `admin_reset` event names the actor and the reason; a second reset changes
 * nothing; and verify, resync, enrollment and recovery-code calls racing the
 * reset leave nothing behind. The store's own `resetUser` rules are
 * `account-reset.ts`.
 * @module
 * @internal
 */
import { describe, expect, it } from 'vitest';
import type { AdminResetEvent } from '../mfa/events.ts';
import type { MFAStore } from '../store/contract.ts';
import type { Suite } from './harness.ts';
import { codeAt, enrollUser, jittered, serviceOver, type Service } from './service-fixtures.ts';

/** Asserts that the user's state is exactly "none": nothing the reset removes is left. */
async function expectNone(store: MFAStore, service: Service, userId: string, generation: number) {
  expect(await service.mfa.status(userId)).toEqual({
    state: 'none',
    factors: 0,
    pendingExpiresAt: null,
    recoveryCodesRemaining: 0,
    locked: false,
    recoveryLocked: false,
    retryAfterMs: 0,
    generation,
  });
  expect(await service.mfa.listFactors(userId)).toEqual([]);
  expect(await service.mfa.listRememberedDevices(userId)).toEqual([]);
  const record = await store.getUser(userId, service.now);
  expect(record).toMatchObject({
    factors: [],
    pending: null,
    recoveryCodes: null,
    account: { generation, codes: [], proofs: [], devices: [], budgets: [] },
  });
}

/** Registers these conformance cases (inside `testMFAStore`'s describe). */
export function adminResetCases(suite: Suite): void {
  const { makeStore, user } = suite;

  describe('adminReset (through the service)', () => {
    it('leaves exactly "none", moves the generation once, and says who and why', async () => {
      const store = await makeStore();
      const service = serviceOver(store);
      const userId = user('reset-all');
      const { secret } = await enrollUser(service, userId);
      await enrollUser(service, userId, 'Second');
      service.now += 30_000;
      const verified = await service.mfa.verify(userId, codeAt(secret, service.now), {
        rememberDevice: { name: 'Laptop' },
      });
      const token = verified.ok ? verified.device?.token : undefined;
      expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
      await service.mfa.beginEnrollment(userId, { accountName: 'u@example.com', name: 'Third' });
      for (let i = 0; i < 3; i++) await service.mfa.verify(userId, '000000');
      const before = await service.mfa.status(userId);
      expect(before).toMatchObject({ state: 'active', factors: 2, recoveryCodesRemaining: 10 });
      expect((await store.getUser(userId, service.now))?.throttle.otp.failures).toBe(3);

      const reset = await service.mfa.adminReset(userId, {
        actor: 'agent:jo',
        reason: 'ticket 4711: lost phone, identity checked',
      });
      expect(reset).toEqual({ reset: true, generation: before.generation + 1 });
      await expectNone(store, service, userId, before.generation + 1);
      expect((await store.getUser(userId, service.now))?.throttle).toEqual({
        otp: { failures: 0, guesses: 0, blockedUntil: 0 },
        recovery: { failures: 0, guesses: 0, blockedUntil: 0 },
      });
      expect(await service.mfa.checkRememberedDevice(userId, token!)).toMatchObject({ ok: false });
      const events = service.events.filter((e): e is AdminResetEvent => e.type === 'admin_reset');
      expect(events).toEqual([
        {
          type: 'admin_reset',
          userId,
          at: service.now,
          actor: 'agent:jo',
          reason: 'ticket 4711: lost phone, identity checked',
          reset: true,
          generation: before.generation + 1,
          removed: {
            factors: 2,
            pendingEnrollments: 1,
            recoveryCodes: 10,
            devices: 1,
            proofs: 0,
            verificationCodes: 0,
          },
        },
      ]);
      // The user can enroll again from scratch.
      await enrollUser(service, userId);
      expect(await service.mfa.status(userId)).toMatchObject({
        state: 'active',
        generation: before.generation + 2,
      });
    });

    it('is idempotent: a second reset writes nothing and keeps the generation', async () => {
      const store = await makeStore();
      const service = serviceOver(store);
      const userId = user('reset-twice');
      await enrollUser(service, userId);
      const first = await service.mfa.adminReset(userId, { actor: 'a', reason: 'r' });
      const version = (await store.getUser(userId, service.now))?.accountVersion;
      const second = await service.mfa.adminReset(userId, { actor: 'a', reason: 'r' });
      expect(second).toEqual({ reset: false, generation: first.generation });
      expect((await store.getUser(userId, service.now))?.accountVersion).toBe(version);
      await expectNone(store, service, userId, first.generation);
      expect(service.events.filter((e) => e.type === 'admin_reset').map((e) => e.reset)).toEqual([
        true,
        false,
      ]);
    });

    it('creates nothing for a user the store has nothing for', async () => {
      const store = await makeStore();
      const service = serviceOver(store);
      const userId = user('reset-nobody');
      expect(await service.mfa.adminReset(userId, { actor: 'a', reason: 'r' })).toEqual({
        reset: false,
        generation: 0,
      });
      expect(await store.getUser(userId, service.now)).toBeNull();
    });

    it('refuses a missing or invalid actor or reason, naming it, before any store call', async () => {
      const store = await makeStore();
      const service = serviceOver(store);
      const userId = user('reset-args');
      await enrollUser(service, userId);
      const bad: [unknown, RegExp, ErrorConstructor][] = [
        [{ reason: 'r' }, /"actor" must be a string/, TypeError],
        [{ actor: 'a' }, /"reason" must be a string/, TypeError],
        [{ actor: '', reason: 'r' }, /"actor" must be 1 to 256 characters/, RangeError],
        [{ actor: 'a'.repeat(257), reason: 'r' }, /"actor" must be 1 to 256/, RangeError],
        [{ actor: 'a', reason: 'r'.repeat(1001) }, /"reason" must be 1 to 1000/, RangeError],
        [{ actor: 'a\n', reason: 'r' }, /"actor" must not contain control/, RangeError],
        [{ actor: 'a', reason: 'r\u0000' }, /"reason" must not contain control/, RangeError],
        [undefined, /"actor" must be a string/, TypeError],
      ];
      for (const [options, message, type] of bad) {
        const call = service.mfa.adminReset(userId, options as never);
        await expect(call).rejects.toThrow(type);
        await expect(call).rejects.toThrow(message);
      }
      expect(await service.mfa.status(userId)).toMatchObject({ state: 'active', factors: 1 });
    });

    it('leaves nothing behind when verify, resync, enrollment and recovery codes race it', async () => {
      const store = await makeStore();
      const service = serviceOver(jittered(store));
      for (let round = 0; round < 6; round++) {
        const userId = user(`reset-race-${round}`);
        const { secret, recoveryCodes } = await enrollUser(service, userId);
        const pending = await service.mfa.beginEnrollment(userId, {
          accountName: 'u@example.com',
          name: 'Second',
        });
        service.now += 90_000;
        const t = service.now;
        const generation = (await service.mfa.status(userId)).generation;
        const [verified, resynced, completed, recovered, reset] = await Promise.all([
          service.mfa.verify(userId, codeAt(secret, t), { rememberDevice: { name: 'Racer' } }),
          service.mfa.resync(userId, codeAt(secret, t - 60_000), codeAt(secret, t - 30_000)),
          service.mfa.completeEnrollment(
            userId,
            codeAt(pending.secret, t - 30_000),
            codeAt(pending.secret, t),
          ),
          service.mfa.useRecoveryCode(userId, recoveryCodes[0]!),
          service.mfa.adminReset(userId, { actor: 'agent:race', reason: `round ${round}` }),
        ]);
        // A bind that won moved the generation before the reset moved it again.
        const expected = generation + 1 + (completed.ok ? 1 : 0);
        expect(reset).toEqual({ reset: true, generation: expected });
        await expectNone(store, service, userId, expected);
        // Whatever each call answered, nothing it issued passes now.
        if (verified.ok && verified.device) {
          expect(
            await service.mfa.checkRememberedDevice(userId, verified.device.token),
          ).toMatchObject({ ok: false });
        }
        expect(await service.mfa.useRecoveryCode(userId, recoveryCodes[1]!)).toMatchObject({
          ok: false,
          reason: 'not_enrolled',
        });
        expect([resynced.ok, recovered.ok].every((ok) => typeof ok === 'boolean')).toBe(true);
      }
    });
  });
}
