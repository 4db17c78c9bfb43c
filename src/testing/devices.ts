/**
 * Remembered devices, through the service, over the store under test (issue
 * 21.2): absolute expiry, revocation by every factor change, the per-user
 * cap, tokens bound to their user, and a forget-all racing checks. The
 * oracles are the claims and the documented defaults (30 days, 10
 * devices), never the service's own code.
 * @module
 * @internal
 */
import { describe, expect, it } from 'vitest';
import type { RememberedDevice } from '../mfa/results-account.ts';
import type { Suite } from './harness.ts';
import {
  codeAt,
  DAY_MS,
  enrollUser,
  jittered,
  serviceOver,
  withOverrides,
  type Service,
} from './service-fixtures.ts';
import { generateSecret } from '../secret.ts';

/** Signs in with a fresh code and "remember this device"; returns the device. */
async function remember(service: Service, userId: string, secret: string, name = 'Laptop') {
  service.now += 30_000;
  const result = await service.mfa.verify(userId, codeAt(secret, service.now), {
    rememberDevice: { name },
  });
  if (!result.ok) throw new Error(`verify refused: ${result.reason}`);
  if (result.device == null) throw new Error('no device was remembered');
  return result.device;
}

/** Registers these conformance cases (inside `testMFAStore`'s describe). */
export function deviceCases(suite: Suite): void {
  const { makeStore, user } = suite;

  describe('remembered devices (through the service)', () => {
    it('issues an opaque 32-character token after a correct code, stored only hashed', async () => {
      const store = await makeStore();
      const service = serviceOver(store);
      const userId = user('device-issue');
      const { secret } = await enrollUser(service, userId);
      const issuedAt = service.now + 30_000;
      const device = await remember(service, userId, secret, 'Firefox on Linux');
      expect(device.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
      // Left out of JSON, as secrets are.
      expect(JSON.parse(JSON.stringify(device))).toEqual({
        id: device.id,
        expiresAt: issuedAt + 30 * DAY_MS,
      });
      expect(await service.mfa.listRememberedDevices(userId)).toEqual([
        {
          id: device.id,
          name: 'Firefox on Linux',
          createdAt: issuedAt,
          lastUsedAt: null,
          expiresAt: issuedAt + 30 * DAY_MS,
        },
      ]);
      // The store holds no copy of the token.
      expect(JSON.stringify(await store.getUser(userId, service.now))).not.toContain(device.token);
      // A wrong code remembers nothing.
      const refused = await service.mfa.verify(userId, '000000', {
        rememberDevice: { name: 'x' },
      });
      expect(refused).toMatchObject({ ok: false });
      expect(await service.mfa.listRememberedDevices(userId)).toHaveLength(1);
    });

    it('expires 30 days after issue, whatever the use: day 29 passes, day 30 does not', async () => {
      const store = await makeStore();
      const service = serviceOver(store);
      const userId = user('device-expiry');
      const { secret } = await enrollUser(service, userId);
      const device = await remember(service, userId, secret);
      const issuedAt = service.now;
      const check = async (at: number) => {
        service.now = at;
        return service.mfa.checkRememberedDevice(userId, device.token);
      };
      expect(await check(issuedAt + 29 * DAY_MS)).toMatchObject({ ok: true, deviceId: device.id });
      // The use at day 29 did not move the expiry.
      expect(await service.mfa.listRememberedDevices(userId)).toEqual([
        expect.objectContaining({
          lastUsedAt: issuedAt + 29 * DAY_MS,
          expiresAt: issuedAt + 30 * DAY_MS,
        }),
      ]);
      expect(await check(issuedAt + 30 * DAY_MS - 1)).toMatchObject({ ok: true });
      expect(await check(issuedAt + 30 * DAY_MS)).toEqual({ ok: false, reason: 'expired' });
      // Removed: it is gone from the list and no longer known.
      expect(await service.mfa.listRememberedDevices(userId)).toEqual([]);
      expect(await check(issuedAt + 31 * DAY_MS)).toEqual({ ok: false, reason: 'invalid' });
    });

    it('is revoked by every factor change and by an admin reset', async () => {
      const store = await makeStore();
      const service = serviceOver(store);
      type Change = {
        label: string;
        /** Runs before the devices are issued. */
        setup?: (userId: string) => Promise<unknown>;
        change: (userId: string) => Promise<unknown>;
        /** The answer for a device of the user afterwards. */
        reason: 'revoked' | 'invalid';
      };
      const spareOf = async (u: string) =>
        (await service.mfa.listFactors(u)).find((f) => f.name === 'Spare')!.id;
      const changes: Change[] = [
        {
          label: 'a factor added',
          change: (u) => enrollUser(service, u, 'Second'),
          reason: 'revoked',
        },
        {
          label: 'a factor imported',
          change: (u) => service.mfa.importFactor(u, { secret: generateSecret() }),
          reason: 'revoked',
        },
        {
          label: 'recovery codes regenerated',
          change: (u) => service.mfa.regenerateRecoveryCodes(u),
          reason: 'revoked',
        },
        {
          label: 'a factor removed',
          setup: (u) => enrollUser(service, u, 'Spare'),
          change: async (u) => service.mfa.removeFactor(u, await spareOf(u)),
          reason: 'revoked',
        },
        {
          label: 'a factor replaced',
          setup: (u) => enrollUser(service, u, 'Spare'),
          change: async (u) => {
            const begun = await service.mfa.beginEnrollment(u, {
              accountName: 'user@example.com',
              name: 'New phone',
              replaceFactorId: await spareOf(u),
            });
            return service.mfa.completeEnrollment(
              u,
              codeAt(begun.secret, service.now - 30_000),
              codeAt(begun.secret, service.now),
            );
          },
          reason: 'revoked',
        },
        { label: 'disable', change: (u) => service.mfa.disable(u), reason: 'revoked' },
        {
          label: 'an admin reset (which removes them)',
          change: (u) => service.mfa.adminReset(u, { actor: 'test', reason: 'test' }),
          reason: 'invalid',
        },
      ];
      for (const { label, setup, change, reason } of changes) {
        const userId = user(`device-revoke-${label}`);
        const { secret } = await enrollUser(service, userId);
        await setup?.(userId);
        const first = await remember(service, userId, secret, 'One');
        const second = await remember(service, userId, secret, 'Two');
        expect(await service.mfa.checkRememberedDevice(userId, first.token)).toMatchObject({
          ok: true,
        });
        const before = (await service.mfa.status(userId)).generation;
        expect({ label, done: await change(userId) }).toMatchObject({ label });
        expect({ label, generation: (await service.mfa.status(userId)).generation }).toEqual({
          label,
          generation: before + 1,
        });
        for (const device of [first, second]) {
          expect({
            label,
            check: await service.mfa.checkRememberedDevice(userId, device.token),
          }).toEqual({
            label,
            check: { ok: false, reason },
          });
          // Removed at that check: known no more.
          expect(await service.mfa.checkRememberedDevice(userId, device.token)).toEqual({
            ok: false,
            reason: 'invalid',
          });
        }
        expect({ label, list: await service.mfa.listRememberedDevices(userId) }).toEqual({
          label,
          list: [],
        });
      }
    });

    it('keeps at most 10 per user, dropping the oldest', async () => {
      const store = await makeStore();
      const service = serviceOver(store);
      const userId = user('device-cap');
      const { secret } = await enrollUser(service, userId);
      const devices: RememberedDevice[] = [];
      for (let i = 0; i < 11; i++) devices.push(await remember(service, userId, secret, `D${i}`));
      const listed = await service.mfa.listRememberedDevices(userId);
      expect(listed.map((d) => d.name)).toEqual(devices.slice(1).map((_, i) => `D${i + 1}`));
      expect(await service.mfa.checkRememberedDevice(userId, devices[0]!.token)).toEqual({
        ok: false,
        reason: 'invalid',
      });
      for (const device of devices.slice(1)) {
        expect(await service.mfa.checkRememberedDevice(userId, device.token)).toMatchObject({
          ok: true,
          deviceId: device.id,
        });
      }
    });

    it("never passes one user's token for another, even with the record copied across", async () => {
      const store = await makeStore();
      const service = serviceOver(store);
      const alice = user('device-alice');
      const mallory = user('device-mallory');
      const a = await enrollUser(service, alice);
      const m = await enrollUser(service, mallory);
      const aliceDevice = await remember(service, alice, a.secret);
      await remember(service, mallory, m.secret);
      expect(await service.mfa.checkRememberedDevice(mallory, aliceDevice.token)).toEqual({
        ok: false,
        reason: 'invalid',
      });
      // Alice's device record, hash and all, written into Mallory's document.
      const aliceRecord = await store.getUser(alice, service.now);
      const malloryRecord = await store.getUser(mallory, service.now);
      const copied = {
        ...malloryRecord!.account!,
        devices: [...malloryRecord!.account!.devices, ...aliceRecord!.account!.devices].map(
          (d) => ({ ...d, generation: malloryRecord!.account!.generation }),
        ),
      };
      expect(
        await store.updateAccount(mallory, {
          version: malloryRecord!.accountVersion,
          account: copied,
          now: service.now,
        }),
      ).toBe('updated');
      expect(await service.mfa.checkRememberedDevice(mallory, aliceDevice.token)).toEqual({
        ok: false,
        reason: 'invalid',
      });
      expect(await service.mfa.checkRememberedDevice(alice, aliceDevice.token)).toMatchObject({
        ok: true,
      });
    });

    it('forgets one device, or all of them', async () => {
      const store = await makeStore();
      const service = serviceOver(store);
      const userId = user('device-forget');
      const { secret } = await enrollUser(service, userId);
      const [one, two, three] = [
        await remember(service, userId, secret, 'One'),
        await remember(service, userId, secret, 'Two'),
        await remember(service, userId, secret, 'Three'),
      ];
      expect(await service.mfa.forgetRememberedDevice(userId, one.id)).toBe(true);
      expect(await service.mfa.forgetRememberedDevice(userId, one.id)).toBe(false);
      expect(await service.mfa.checkRememberedDevice(userId, one.token)).toMatchObject({
        ok: false,
      });
      expect(await service.mfa.checkRememberedDevice(userId, two.token)).toMatchObject({
        ok: true,
      });
      expect(await service.mfa.forgetRememberedDevices(userId)).toBe(2);
      expect(await service.mfa.forgetRememberedDevices(userId)).toBe(0);
      for (const device of [two, three]) {
        expect(await service.mfa.checkRememberedDevice(userId, device.token)).toMatchObject({
          ok: false,
        });
      }
    });

    it('issues nothing when the factors change while verify runs', async () => {
      const inner = await makeStore();
      const other = serviceOver(inner);
      const userId = user('device-moved');
      const { secret } = await enrollUser(other, userId);
      // A factor change lands right after verify recorded its step.
      const store = withOverrides(inner, {
        recordSuccess: async (...args) => {
          const recorded = await inner.recordSuccess(...args);
          other.now = service.now;
          expect(await other.mfa.regenerateRecoveryCodes(userId)).toMatchObject({ ok: true });
          return recorded;
        },
      });
      const service = serviceOver(store);
      service.now = other.now + 30_000;
      const result = await service.mfa.verify(userId, codeAt(secret, service.now), {
        rememberDevice: { name: 'Late' },
      });
      expect(result).toMatchObject({ ok: true, device: null });
      expect(await service.mfa.listRememberedDevices(userId)).toEqual([]);
    });

    it('a forget-all racing checks ends with no token passing', async () => {
      const inner = await makeStore();
      const service = serviceOver(jittered(inner));
      const userId = user('device-race');
      const { secret } = await enrollUser(service, userId);
      for (let round = 0; round < 4; round++) {
        const devices: RememberedDevice[] = [];
        for (let i = 0; i < 4; i++) devices.push(await remember(service, userId, secret, `R${i}`));
        const checks = devices.flatMap((d) =>
          [0, 1, 2].map(() => service.mfa.checkRememberedDevice(userId, d.token)),
        );
        const forgot = service.mfa.forgetRememberedDevices(userId);
        const late = forgot.then(() =>
          Promise.all(devices.map((d) => service.mfa.checkRememberedDevice(userId, d.token))),
        );
        const [results, forgotten, after] = await Promise.all([Promise.all(checks), forgot, late]);
        expect(forgotten).toBe(4);
        expect(results.every((r) => r.ok || r.reason === 'invalid')).toBe(true);
        expect(after.map((r) => r.ok)).toEqual([false, false, false, false]);
        for (const device of devices) {
          expect(await service.mfa.checkRememberedDevice(userId, device.token)).toEqual({
            ok: false,
            reason: 'invalid',
          });
        }
        expect(await service.mfa.listRememberedDevices(userId)).toEqual([]);
      }
    });
  });
}
