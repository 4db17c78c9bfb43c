// SQLiteStore when the database fails: an error (SQLITE_IOERR, as a failing
// disk gives) thrown by the driver right before an operation runs, or right
// after it ran and committed (the answer lost), at every operation:
// - of a scripted sequence of every store method, against MemoryStore as the
//   reference: the record afterwards is exactly the reference's before the
//   operation (fault before) or after it (fault after), never anything half;
// - of rounds of 20 concurrent logins with one valid code: the service throws
//   MFAError('ERR_STORE') with the driver's error, scrubbed, as its cause, or
//   gives a whole outcome; never a success whose step was not recorded, and a
//   step recorded is never accepted again.
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { generateTOTP, MemoryStore, MFAError } from '../../src/index.ts';
import type { MFAStore } from '../../src/store/contract.ts';
import { betterSqlite3Driver, SQLiteStore, type SQLiteDriver } from '../../src/store/sqlite.ts';
import { enroll, OPEN_THROTTLE, T0, testMFA } from './mfa-setup.ts';

const db = new Database(':memory:');
const driver = betterSqlite3Driver(db);
afterAll(() => db.close());

/** The error a failing disk gives. */
function ioError(): Error {
  return Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
}

/** `inner`, failing its `at`-th call (counted from `arm`) before or after it runs. */
function faulty(inner: SQLiteDriver) {
  let calls = 0;
  const wire = { at: 0, when: 'before' as 'before' | 'after' };
  const trip = async <T>(run: () => Promise<T>): Promise<T> => {
    const hit = ++calls === wire.at;
    if (hit && wire.when === 'before') throw ioError();
    const result = await run();
    if (hit && wire.when === 'after') throw ioError();
    return result;
  };
  const driver: SQLiteDriver = {
    run: (statement) => trip(() => inner.run(statement)),
    transaction: (statements) => trip(() => inner.transaction(statements)),
  };
  return {
    driver,
    /** Fails the `after`-th call from now, `when`; 0 disarms. */
    arm(after: number, when: 'before' | 'after' = 'before') {
      wire.at = after === 0 ? 0 : calls + after;
      wire.when = when;
    },
  };
}

const T = 1_750_000_000_000;
const policy = { freeAttempts: 3, baseDelayMs: 1000, maxDelayMs: 4000, maxFailures: 8 };
const pending = (id: string, digest: string | null = `digest-${id}`) => ({
  id,
  name: `Name ${id}`,
  nameKey: `name ${id}`,
  sealedSecret: `sealed-${id}`,
  secretDigest: digest,
  algorithm: 'SHA1' as const,
  digits: 6 as const,
  period: 30,
  createdAt: T,
  expiresAt: T + 600_000,
  replaceFactorId: null,
  previous: null,
});
const factor = (id: string, digest: string) => ({
  id,
  name: `Name ${id}`,
  nameKey: `name ${id}`,
  sealedSecret: `sealed-${id}`,
  secretDigest: digest,
  algorithm: 'SHA1' as const,
  digits: 6 as const,
  period: 30,
  lastStep: 5,
  drift: 1,
  createdAt: T,
  activatedAt: T,
  lastUsedAt: null,
});
const codes = { salt: 'salt', hashes: ['h1', 'h2', 'h3'] };
/** An account document of generation `generation`, with some of everything in it. */
const doc = (generation: number) => ({
  generation,
  keepUntil: generation > 0 ? null : T + 600_000,
  codes: [],
  budgets: [{ purpose: 'enroll', failures: generation, windowStart: T }],
  sends: [{ key: '', count: 1, windowStart: T, lastSentAt: T }],
  proofs: [],
  devices: [],
});
/** The account write from version `version` to a document of generation `generation`. */
const at = (version: number, generation = version) => ({
  account: { version, account: doc(generation) },
});

/** Every store method, in an order where each one has something to change. */
const SCRIPT: [string, (store: MFAStore, user: string) => Promise<unknown>][] = [
  ['updateAccount', (s, u) => s.updateAccount(u, { version: 0, account: doc(0), now: T })],
  ['putPending', (s, u) => s.putPending(u, pending('f1'))],
  ['putPending (conflict)', (s, u) => s.putPending(u, pending('f2'), at(0))],
  ['putPending (replacing)', (s, u) => s.putPending(u, pending('f2'), at(1))],
  [
    'activatePending (conflict)',
    (s, u) =>
      s.activatePending(u, 'f2', {
        lastStep: 10,
        drift: 0,
        now: T,
        maxFactors: 5,
        recoveryCodes: codes,
        ...at(1),
      }),
  ],
  [
    'activatePending',
    (s, u) =>
      s.activatePending(u, 'f2', {
        lastStep: 10,
        drift: 0,
        now: T,
        maxFactors: 5,
        recoveryCodes: codes,
        ...at(2),
      }),
  ],
  [
    'addFactor',
    (s, u) =>
      s.addFactor(u, factor('f3', 'digest-f3'), { maxFactors: 5, recoveryCodes: null, ...at(3) }),
  ],
  [
    'addFactor (duplicate)',
    (s, u) =>
      s.addFactor(u, factor('f4', 'digest-f3'), { maxFactors: 5, recoveryCodes: null, ...at(4) }),
  ],
  ['reserveAttempt', (s, u) => s.reserveAttempt(u, { scope: 'otp', now: T, policy, weight: 2 })],
  [
    'readAndReserve',
    (s, u) => s.readAndReserve!(u, { scope: 'recovery', now: T, policy, requirement: 'active' }),
  ],
  [
    'refundAttempt',
    (s, u) =>
      s.refundAttempt(u, {
        scope: 'recovery',
        failures: 1,
        guesses: 1,
        weight: 1,
        blockedUntil: 0,
      }),
  ],
  ['recordSuccess', (s, u) => s.recordSuccess(u, 'f2', 11, 1, T + 1)],
  [
    'replaceRecoveryCodes (conflict)',
    (s, u) => s.replaceRecoveryCodes(u, { salt: 's2', hashes: ['x', 'y'] }, at(3)),
  ],
  [
    'replaceRecoveryCodes',
    (s, u) => s.replaceRecoveryCodes(u, { salt: 's2', hashes: ['x', 'y'] }, at(4)),
  ],
  ['consumeRecoveryCode', (s, u) => s.consumeRecoveryCode(u, 'y')],
  ['renameFactor', (s, u) => s.renameFactor(u, 'f3', 'Phone', 'phone')],
  ['replaceSealedSecret', (s, u) => s.replaceSealedSecret(u, 'f3', 'resealed')],
  ['resetThrottle', (s, u) => s.resetThrottle(u, 'otp')],
  ['putPending (beside factors)', (s, u) => s.putPending(u, pending('f5'))],
  ['removeFactor (conflict)', (s, u) => s.removeFactor(u, 'f2', at(4))],
  ['removeFactor (none)', (s, u) => s.removeFactor(u, 'f9', at(5))],
  ['removeFactor', (s, u) => s.removeFactor(u, 'f2', at(5))],
  ['updateAccount (conflict)', (s, u) => s.updateAccount(u, { ...at(5).account, now: T })],
  ['updateAccount (again)', (s, u) => s.updateAccount(u, { ...at(6).account, now: T })],
  [
    'reserveAttempt (again)',
    (s, u) => s.reserveAttempt(u, { scope: 'otp', now: T, policy, weight: 1 }),
  ],
  ['deleteFactors (conflict)', (s, u) => s.deleteFactors(u, at(6))],
  ['deleteFactors', (s, u) => s.deleteFactors(u, at(7))],
  ['deleteFactors (nothing)', (s, u) => s.deleteFactors(u, at(8))],
  ['putPending (after disable)', (s, u) => s.putPending(u, pending('f7'), at(8))],
  [
    'reserveAttempt (then)',
    (s, u) => s.reserveAttempt(u, { scope: 'recovery', now: T, policy, weight: 1 }),
  ],
  ['resetUser (conflict)', (s, u) => s.resetUser(u, { ...at(8).account, now: T })],
  ['resetUser', (s, u) => s.resetUser(u, { ...at(9).account, now: T })],
  ['deleteUser', (s, u) => s.deleteUser(u, { now: T, guardMs: 60_000 })],
  ['putPending (erased)', (s, u) => s.putPending(u, pending('f6'))],
  ['updateAccount (erased)', (s, u) => s.updateAccount(u, { ...at(0).account, now: T })],
  ['resetUser (erased)', (s, u) => s.resetUser(u, { ...at(3).account, now: T })],
  [
    'updateAccount (guard over)',
    (s, u) => s.updateAccount(u, { ...at(0).account, now: T + 60_000 }),
  ],
];

describe('SQLiteStore with a failing database', () => {
  let table = 0;

  for (const when of ['before', 'after'] as const) {
    it(`an error ${when} each operation leaves the record exactly as the reference says`, async () => {
      for (const [at, [name]] of SCRIPT.entries()) {
        const wire = faulty(driver);
        const store = new SQLiteStore({ driver: wire.driver, table: `faults_${when}_${++table}` });
        await store.migrate();
        const reference = new MemoryStore();
        const user = `user-${at}`;
        for (const [, operation] of SCRIPT.slice(0, at)) {
          expect(await operation(store, user)).toEqual(await operation(reference, user));
        }
        const [, operation] = SCRIPT[at]!;
        wire.arm(1, when);
        await expect(operation(store, user), name).rejects.toThrow('disk I/O error');
        // The reference did the operation only if the fault came after it ran.
        if (when === 'after') await operation(reference, user);
        expect(await store.getUser(user, T), `${name}, fault ${when}`).toEqual(
          await reference.getUser(user, T),
        );
        // The rest of the script gives the reference's answers.
        for (const [label, next] of SCRIPT.slice(at + 1)) {
          expect(await next(store, user), `${label} after ${name}`).toEqual(
            await next(reference, user),
          );
        }
      }
    });
  }

  it('rounds of concurrent logins: ERR_STORE or a whole outcome, never an unrecorded success', async () => {
    const direct = new SQLiteStore({ driver, table: 'logins' });
    await direct.migrate();
    const wire = faulty(driver);
    const store = new SQLiteStore({ driver: wire.driver, table: 'logins' });
    const { mfa, clock } = testMFA(store, { throttle: OPEN_THROTTLE });
    const user = 'login';
    const { secret } = await enroll(mfa, clock, user, T0);
    let storeErrors = 0;
    let accepted = 0;
    // 20 logins make 20 readAndReserve calls and up to 20 recordSuccess; the
    // fault lands on the 1st, 3rd, … 39th call of a round, before or after it.
    for (let round = 1; round <= 40; round++) {
      clock.now = T0 + round * 30_000;
      const code = generateTOTP(secret, { now: clock.now });
      wire.arm(2 * Math.ceil(round / 2) - 1, round % 2 === 0 ? 'after' : 'before');
      const settled = await Promise.allSettled(
        Array.from({ length: 20 }, () => mfa.verify(user, code)),
      );
      wire.arm(0);
      let oks = 0;
      for (const result of settled) {
        if (result.status === 'rejected') {
          const error = result.reason as MFAError;
          expect(error).toBeInstanceOf(MFAError);
          expect(error.code).toBe('ERR_STORE');
          expect(error.message).toMatch(
            /^store\.(readAndReserve|recordSuccess) failed: the database file could not be read or written/,
          );
          expect(error.cause).toMatchObject({ code: 'SQLITE_IOERR', message: 'disk I/O error' });
          storeErrors++;
        } else if (result.value.ok) {
          oks++;
        } else {
          expect(['replayed', 'throttled', 'locked']).toContain(result.value.reason);
        }
      }
      expect(oks).toBeLessThanOrEqual(1);
      const step = Math.floor(clock.now / 30_000);
      const recorded = (await direct.getUser(user, clock.now))?.factors[0]?.lastStep;
      if (oks === 1) {
        accepted++;
        expect(recorded).toBe(step);
      }
      // Whatever happened, the code is accepted at most once in all: again
      // now only if no call of the round recorded its step.
      await mfa.unlock(user);
      const again = await mfa.verify(user, code);
      expect(again.ok).toBe(recorded !== step);
      expect((await direct.getUser(user, clock.now))?.factors[0]?.lastStep).toBe(step);
    }
    expect(storeErrors).toBe(40);
    expect(accepted).toBeGreaterThan(0);
  });
});
