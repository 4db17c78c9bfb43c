/**
 * Fault injection: a store that fails at its N-th operation, for every N
 * through a script of every flow, either before the operation (it has no
 * effect) or after it (the effect happened but the response was lost).
 *
 * Each time: the call rejects with MFAError 'ERR_STORE' carrying the store's
 * error as `cause`; the store is left exactly as it was at the failure (no
 * further writes, nothing half-done); no `ok: true` is ever returned without
 * the step recorded; and the service works again once the store does.
 *
 * Twice: with the store's optional readAndReserve, and without it.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore, MFAError, type MFAStore } from '../../src/index.ts';
import {
  deviceCode,
  harness,
  NO_THROTTLE,
  REQUIRED_STORE_METHODS,
  T0,
  type Harness,
} from '../helpers/mfa.ts';

const OPERATIONS = [
  ...REQUIRED_STORE_METHODS,
  'readAndReserve',
] as const satisfies readonly (keyof MFAStore)[];

/** The store operations of the script, in order, on each path. */
const EXPECTED_LOG = {
  // One read, then at most a reservation and one conditional write per call.
  'getUser + reserveAttempt': [
    ...['getUser', 'putPending'], // beginEnrollment
    ...['getUser', 'reserveAttempt', 'activatePending'], // completeEnrollment
    ...['getUser', 'reserveAttempt', 'recordSuccess'], // verify: ok
    ...['getUser', 'reserveAttempt'], // verify: replayed
    ...['getUser', 'reserveAttempt'], // verify: mismatch
    ...['getUser', 'reserveAttempt', 'consumeRecoveryCode'], // useRecoveryCode
    ...['getUser', 'replaceRecoveryCodes'], // regenerateRecoveryCodes
    ...['getUser', 'reserveAttempt', 'recordSuccess', 'recordSuccess'], // resync: both steps
    ...['getUser', 'replaceSealedSecret'], // reencryptSecret
    ...['resetThrottle', 'resetThrottle'], // unlock
    ...['getUser'], // status
    ...['getUser', 'addFactor'], // importFactor
    ...['getUser'], // listFactors
    ...['renameFactor'], // renameFactor
    ...['getUser', 'removeFactor'], // removeFactor (the account version read, then CAS)
    ...['getUser', 'deleteUser'], // deleteUserData
    ...['getUser', 'deleteFactors'], // disable (the account version read, then CAS)
  ],
  // The read and the reservation are one operation.
  readAndReserve: [
    ...['getUser', 'putPending'], // beginEnrollment
    ...['readAndReserve', 'activatePending'], // completeEnrollment
    ...['readAndReserve', 'recordSuccess'], // verify: ok
    ...['readAndReserve'], // verify: replayed
    ...['readAndReserve'], // verify: mismatch
    ...['readAndReserve', 'consumeRecoveryCode'], // useRecoveryCode
    ...['getUser', 'replaceRecoveryCodes'], // regenerateRecoveryCodes
    ...['readAndReserve', 'recordSuccess', 'recordSuccess'], // resync: both steps
    ...['getUser', 'replaceSealedSecret'], // reencryptSecret
    ...['resetThrottle', 'resetThrottle'], // unlock
    ...['getUser'], // status
    ...['getUser', 'addFactor'], // importFactor
    ...['getUser'], // listFactors
    ...['renameFactor'], // renameFactor
    ...['getUser', 'removeFactor'], // removeFactor (the account version read, then CAS)
    ...['getUser', 'deleteUser'], // deleteUserData
    ...['getUser', 'deleteFactors'], // disable (the account version read, then CAS)
  ],
};
type Path = keyof typeof EXPECTED_LOG;

type Mode = 'before' | 'after';

class Faults {
  readonly inner = new MemoryStore();
  constructor(readonly path: Path) {}
  readonly error = new Error('injected store failure');
  readonly log: string[] = [];
  failAt = Infinity;
  mode: Mode = 'before';
  /** The inner store's state for USER when the fault fired. */
  atFault: string | undefined;

  store(): MFAStore {
    const store: Partial<Record<keyof MFAStore, unknown>> = {};
    for (const name of OPERATIONS) {
      if (name === 'readAndReserve' && this.path !== 'readAndReserve') continue;
      store[name] = async (...args: unknown[]) => {
        this.log.push(name);
        const call = () => (this.inner[name] as (...a: unknown[]) => Promise<unknown>)(...args);
        if (this.log.length !== this.failAt) return call();
        if (this.mode === 'after') await call();
        this.atFault = await this.dump();
        throw this.error;
      };
    }
    return store as MFAStore;
  }

  async dump(): Promise<string> {
    return JSON.stringify(await this.inner.getUser(USER, 0));
  }
}

const USER = 'fault-user';
const needsReencryption = { needsReencryption: () => true };

/** Every flow once. `step` names each call, for the report of a failure. */
async function script(h: Harness, steps: string[], inner: MFAStore): Promise<void> {
  const user = USER;
  const code = (now: number) => deviceCode(secret, now);
  const step = <T>(name: string, run: () => Promise<T>) => {
    steps.push(name);
    return run();
  };
  /** A verify that returned ok must have recorded its step. */
  const verified = async (c: string, at: number) => {
    const result = await step('verify', () => h.mfa.verify(user, c));
    if (result.ok) {
      const lastStep = (await inner.getUser(user, h.now))?.factors[0]?.lastStep;
      expect(lastStep).toBe(Math.floor(at / 30_000));
    }
    return result;
  };

  h.now = T0;
  const { secret } = await step('beginEnrollment', () =>
    h.mfa.beginEnrollment(user, { accountName: 'a' }),
  );
  h.now = T0 + 35_000;
  const bound = await step('completeEnrollment', () =>
    h.mfa.completeEnrollment(user, code(T0), code(T0 + 30_000)),
  );
  expect(bound.ok).toBe(true);
  const recoveryCodes = (bound.ok ? bound.recoveryCodes : undefined) ?? [];
  h.now = T0 + 65_000;
  expect(await verified(code(h.now), h.now)).toEqual({
    ok: true,
    factorId: expect.any(String),
    generation: expect.any(Number),
  });
  expect(await verified(code(h.now), h.now)).toEqual({ ok: false, reason: 'replayed' });
  const wrong = String((Number(code(h.now)) + 500_000) % 1_000_000).padStart(6, '0');
  expect(await verified(wrong, h.now)).toEqual({ ok: false, reason: 'mismatch' });
  expect(
    await step('useRecoveryCode', () => h.mfa.useRecoveryCode(user, recoveryCodes[0] ?? '')),
  ).toEqual({
    ok: true,
    remaining: 2,
    generation: expect.any(Number),
  });
  expect(
    (await step('regenerateRecoveryCodes', () => h.mfa.regenerateRecoveryCodes(user))).ok,
  ).toBe(true);
  h.now = T0 + 125_000;
  expect(await step('resync', () => h.mfa.resync(user, code(h.now - 30_000), code(h.now)))).toEqual(
    { ok: true, factorId: expect.any(String), drift: 0, clockOffsetSeconds: 0 },
  );
  expect(await step('reencryptSecret', () => h.mfa.reencryptSecret(user))).toEqual({
    ok: true,
    reencrypted: true,
    count: 1,
  });
  await step('unlock', () => h.mfa.unlock(user));
  expect((await step('status', () => h.mfa.status(user))).state).toBe('active');
  const imported = await step('importFactor', () =>
    h.mfa.importFactor(user, { secret: new Uint8Array(20).fill(9), name: 'Imported' }),
  );
  expect(imported).toEqual({
    ok: true,
    factorId: expect.any(String),
    alreadyImported: false,
    weak: false,
    generation: 3,
  });
  const factorId = imported.ok ? imported.factorId : '';
  expect((await step('listFactors', () => h.mfa.listFactors(user))).map((f) => f.name)).toEqual([
    'Authenticator',
    'Imported',
  ]);
  expect(await step('renameFactor', () => h.mfa.renameFactor(user, factorId, 'Tablet'))).toEqual({
    ok: true,
  });
  expect(await step('removeFactor', () => h.mfa.removeFactor(user, factorId))).toEqual({
    ok: true,
    remaining: 1,
    generation: expect.any(Number),
  });
  expect(await step('deleteUserData', () => h.mfa.deleteUserData(user))).toBe(true);
  expect(await step('disable', () => h.mfa.disable(user))).toMatchObject({ disabled: false });
}

function setup(faults: Faults): Harness {
  return harness({
    store: faults.store(),
    policy: { throttle: NO_THROTTLE, recoveryThrottle: NO_THROTTLE, recoveryCodeCount: 3 },
    cipher: plaintextWithRotation(),
  });
}

function plaintextWithRotation() {
  // plaintextCipher that always asks to be re-sealed, so reencryptSecret writes.
  return {
    encrypt: async (plaintext: Uint8Array) =>
      `plain.${Buffer.from(plaintext).toString('base64url')}`,
    decrypt: async (sealed: string) => new Uint8Array(Buffer.from(sealed.slice(6), 'base64url')),
    ...needsReencryption,
  };
}

describe.each(Object.keys(EXPECTED_LOG) as Path[])(
  'store faults at every operation of every flow, %s',
  (path) => {
    const reference = new Faults(path);
    const referenceSteps: string[] = [];

    it('the script runs cleanly without faults', async () => {
      await script(setup(reference), referenceSteps, reference.inner);
      expect(reference.log).toEqual(EXPECTED_LOG[path]);
      const unused = path === 'readAndReserve' ? 'reserveAttempt' : 'readAndReserve';
      // refundAttempt runs only when a secret cannot be opened (test/mfa/cipher.test.ts);
      // updateAccount and resetUser only in flows this script does not run yet
      // (verification codes, proofs, adminReset: their own tests inject faults).
      const notRun = new Set([unused, 'refundAttempt', 'updateAccount', 'resetUser']);
      expect(new Set(reference.log)).toEqual(new Set(OPERATIONS.filter((op) => !notRun.has(op))));
    });

    for (const mode of ['before', 'after'] as const) {
      it(`fails whole or not at all, for a fault ${mode} each operation`, async () => {
        const total = reference.log.length;
        expect(total).toBe(path === 'readAndReserve' ? 30 : 36);
        for (let n = 1; n <= total; n++) {
          const faults = new Faults(path);
          faults.failAt = n;
          faults.mode = mode;
          const h = setup(faults);
          const steps: string[] = [];
          const error = await script(h, steps, faults.inner).then(
            () => undefined,
            (e: unknown) => e,
          );
          const where = `fault ${mode} operation ${n} (${reference.log[n - 1]}) in ${steps.at(-1)}`;
          expect(error, where).toBeInstanceOf(MFAError);
          expect((error as MFAError).code, where).toBe('ERR_STORE');
          // The cause is a scrubbed copy of the store's error (no call arguments).
          expect((error as MFAError).cause, where).not.toBe(faults.error);
          expect((error as MFAError).cause, where).toMatchObject({
            name: 'Error',
            message: faults.error.message,
          });
          expect((error as MFAError).message, where).toBe(`store.${reference.log[n - 1]} failed`);
          // The call stopped at the failed operation: the store is exactly as it was then.
          expect(faults.log.length, where).toBe(n);
          expect(await faults.dump(), where).toBe(faults.atFault);
          // The service works again once the store does.
          faults.failAt = Infinity;
          const status = await h.mfa.status(USER);
          if (status.state === 'active') {
            const secret = (await faults.inner.getUser(USER, 0))?.factors[0]?.sealedSecret ?? '';
            const base32 = await secretOf(secret);
            h.now += 60_000;
            expect(await h.mfa.verify(USER, deviceCode(base32, h.now)), where).toEqual({
              ok: true,
              factorId: expect.any(String),
              generation: expect.any(Number),
            });
          }
        }
      });
    }

    it('a lost recordSuccess response fails closed: the code is then used', async () => {
      const at = reference.log.indexOf('recordSuccess') + 1;
      for (const [mode, after] of [
        ['after', { ok: false, reason: 'replayed' }],
        ['before', { ok: true, factorId: expect.any(String), generation: expect.any(Number) }],
      ] as const) {
        const faults = new Faults(path);
        faults.failAt = at;
        faults.mode = mode;
        const h = setup(faults);
        await expect(script(h, [], faults.inner)).rejects.toThrow(MFAError);
        faults.failAt = Infinity;
        const sealed = (await faults.inner.getUser(USER, 0))?.factors[0]?.sealedSecret ?? '';
        expect(await h.mfa.verify(USER, deviceCode(await secretOf(sealed), h.now))).toEqual(after);
      }
    });

    it('a lost consumeRecoveryCode response fails closed: the code is then spent', async () => {
      const at = reference.log.indexOf('consumeRecoveryCode') + 1;
      const faults = new Faults(path);
      faults.failAt = at;
      faults.mode = 'after';
      const h = setup(faults);
      let codes: readonly string[] = [];
      const original = h.mfa.completeEnrollment.bind(h.mfa);
      h.mfa.completeEnrollment = async (...args) => {
        const result = await original(...args);
        if (result.ok) codes = result.recoveryCodes ?? [];
        return result;
      };
      await expect(script(h, [], faults.inner)).rejects.toThrow(MFAError);
      faults.failAt = Infinity;
      expect(await h.mfa.useRecoveryCode(USER, codes[0] ?? '')).toEqual({
        ok: false,
        reason: 'mismatch',
      });
      expect((await h.mfa.status(USER)).recoveryCodesRemaining).toBe(2);
    });
  },
);

async function secretOf(sealed: string): Promise<string> {
  const { encodeBase32 } = await import('../../src/index.ts');
  return encodeBase32(await plaintextWithRotation().decrypt(sealed));
}
