// Cases for the database adapters beyond the shared conformance suite: exact
// round trips of every field at the edges of their ranges, the throttle
// arithmetic against attemptDelayMs over long runs, awkward user ids and hash
// strings, and concurrency at a volume only a real server makes interesting.
import { describe, expect, it } from 'vitest';
import type {
  AccountWrite,
  AttemptPolicy,
  MFAStore,
  PendingEnrollment,
} from '../../src/store/contract.ts';
import { attemptDelayMs } from '../../src/store/throttle.ts';
import { emptyAccount } from '../helpers/account-write.ts';

const T = 1_700_000_000_000;

function pending(overrides: Partial<PendingEnrollment> = {}): PendingEnrollment {
  return {
    id: 'pending-1',
    name: 'Authenticator',
    nameKey: 'authenticator',
    sealedSecret: 'v1.key-a.c2VhbGVk',
    secretDigest: null,
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    createdAt: T,
    expiresAt: T + 600_000,
    replaceFactorId: null,
    previous: null,
    ...overrides,
  };
}

const codes = { salt: 'scrypt$n=16384$salt', hashes: ['h1', 'h2', 'h3'] };

/** The account write of a user's first factor change (no document yet: version 0). */
const first: AccountWrite = { version: 0, account: emptyAccount(1) };

const bind = (now: number, lastStep = 1, drift = 0, recoveryCodes = codes) => ({
  lastStep,
  drift,
  now,
  maxFactors: 20,
  recoveryCodes,
  account: first,
});

async function activeUser(store: MFAStore, userId: string) {
  await store.putPending(userId, pending({ id: 'factor-1' }));
  expect(await store.activatePending(userId, 'factor-1', bind(T, 100))).toMatchObject({
    ok: true,
  });
}

/** Registers the adapter cases for a store factory (a fresh, empty store per call). */
export function describeAdapterCases(name: string, makeStore: () => Promise<MFAStore>): void {
  describe(`${name}: adapter cases`, () => {
    it('round-trips every field, at the edges of its range', async () => {
      const store = await makeStore();
      const big = Number.MAX_SAFE_INTEGER - 10;
      const enrollment = pending({
        id: 'p-\u00e9\u{1F511}',
        name: 'Ph\u00f6ne "1" \\ \u{1F511}',
        nameKey: 'ph\u00f6ne "1" \\ \u{1F511}',
        sealedSecret: 'x'.repeat(500),
        secretDigest: '-_09AZaz'.repeat(5) + 'x-_',
        algorithm: 'SHA512',
        digits: 8,
        period: 2 ** 32 - 1,
        createdAt: big - 5,
        expiresAt: big,
      });
      await store.putPending('u', enrollment);
      expect((await store.getUser('u', big - 1))?.pending).toEqual(enrollment);
      const recoveryCodes = { salt: 's\'"{}\\\n', hashes: ['b', 'a', '$x$"y"', 'a,b', ''] };
      const activation = bind(big - 2, -1, -7, recoveryCodes);
      expect(await store.activatePending('u', enrollment.id, activation)).toMatchObject({
        ok: true,
      });
      const record = await store.getUser('u', big);
      expect(record).toEqual({
        userId: 'u',
        factors: [
          {
            id: enrollment.id,
            name: enrollment.name,
            nameKey: enrollment.nameKey,
            sealedSecret: enrollment.sealedSecret,
            secretDigest: enrollment.secretDigest,
            algorithm: 'SHA512',
            digits: 8,
            period: 2 ** 32 - 1,
            lastStep: -1,
            drift: -7,
            createdAt: big - 5,
            activatedAt: big - 2,
            lastUsedAt: null,
          },
        ],
        pending: null,
        recoveryCodes, // order kept, odd characters intact
        throttle: {
          otp: { failures: 0, guesses: 0, blockedUntil: 0 },
          recovery: { failures: 0, guesses: 0, blockedUntil: 0 },
        },
        account: emptyAccount(1),
        accountVersion: 1,
      });
      expect(await store.recordSuccess('u', enrollment.id, 2 ** 40, 3, big)).toBe(true);
      expect((await store.getUser('u', big))?.factors[0]).toMatchObject({
        lastStep: 2 ** 40,
        drift: 3,
        lastUsedAt: big,
      });
    });

    it('readAndReserve returns what getUser does, at the edges of every field', async (context) => {
      const store = await makeStore();
      if (!store.readAndReserve) context.skip('the store has no readAndReserve');
      const big = Number.MAX_SAFE_INTEGER - 10;
      const recoveryCodes = { salt: 's\'"{}\\\n', hashes: ['b', 'a', '$x$"y"', 'a,b', ''] };
      const activation = bind(big - 2, -1, -7, recoveryCodes);
      const enrollment = pending({ algorithm: 'SHA512', digits: 8, period: 2 ** 32 - 1 });
      await store.putPending('u', { ...enrollment, createdAt: big - 5, expiresAt: big });
      expect(await store.activatePending('u', enrollment.id, activation)).toMatchObject({
        ok: true,
      });
      await store.putPending('u', { ...enrollment, id: 'p-\u00e9\u{1F511}', expiresAt: big });
      const policy = {
        freeAttempts: 0,
        baseDelayMs: 1,
        maxDelayMs: 2 ** 40,
        maxFailures: Infinity,
      };
      for (const [scope, requirement] of [
        ['otp', 'active'],
        ['recovery', 'pending'],
      ] as const) {
        const record = await store.getUser('u', big - 1);
        const result = await store.readAndReserve?.('u', {
          scope,
          now: big - 1,
          policy,
          requirement,
        });
        expect(result).toEqual({ record, reservation: { ok: true, failures: 1, guesses: 1 } });
      }
      const blockedUntil = big - 1 + attemptDelayMs(policy, 1);
      expect((await store.getUser('u', big - 1))?.throttle).toEqual({
        otp: { failures: 1, guesses: 1, blockedUntil },
        recovery: { failures: 1, guesses: 1, blockedUntil },
      });
    });

    it('keeps users apart, whatever their ids contain', async () => {
      const store = await makeStore();
      const ids = ['a', 'a}b', '{a}', 'a:factor', "o'brien", 'Ä\u{1F600}', ' ', 'a}'];
      for (const id of ids) {
        await store.putPending(id, pending({ id: `p:${id}` }));
      }
      for (const id of ids) {
        const record = await store.getUser(id, T);
        expect(record?.userId).toBe(id);
        expect(record?.pending?.id).toBe(`p:${id}`);
      }
      expect(await store.getUser('b', T)).toBeNull();
    });

    it('refuses to activate a pending enrollment from its expiresAt on', async () => {
      const store = await makeStore();
      await store.putPending('u', pending());
      const expiresAt = T + 600_000;
      expect((await store.getUser('u', expiresAt - 1))?.pending?.id).toBe('pending-1');
      // Past expiresAt a store may still return it (the service checks), or not.
      const late = (await store.getUser('u', expiresAt))?.pending ?? null;
      if (late !== null) expect(late).toEqual(pending());
      expect(await store.activatePending('u', 'pending-1', bind(expiresAt))).toEqual({
        ok: false,
        reason: 'not_pending',
      });
      expect((await store.getUser('u', expiresAt - 1))?.pending?.id).toBe('pending-1');
      expect((await store.getUser('u', expiresAt))?.factors).toEqual([]);
    });

    it('computes every delay exactly as attemptDelayMs, up to the lock', async () => {
      const store = await makeStore();
      const policy: AttemptPolicy = {
        freeAttempts: 3,
        baseDelayMs: 750,
        maxDelayMs: 3_600_000,
        maxFailures: 30,
      };
      let now = T;
      for (let failures = 1; failures <= 30; failures++) {
        const reservation = await store.reserveAttempt('u', {
          scope: 'otp',
          now,
          policy,
          weight: 1,
        });
        expect(reservation).toEqual({ ok: true, failures, guesses: failures });
        const delay = attemptDelayMs(policy, failures);
        const state = (await store.getUser('u', now))?.throttle.otp;
        expect(state).toEqual({ failures, guesses: failures, blockedUntil: now + delay });
        if (delay > 0 && failures < policy.maxFailures) {
          expect(
            await store.reserveAttempt('u', {
              scope: 'otp',
              now: now + delay - 1,
              policy,
              weight: 1,
            }),
          ).toEqual({
            ok: false,
            reason: 'throttled',
            retryAfterMs: 1,
          });
        }
        now += delay;
      }
      expect(
        await store.reserveAttempt('u', { scope: 'otp', now: now + 10 ** 9, policy, weight: 1 }),
      ).toEqual({
        ok: false,
        reason: 'locked',
      });
      expect((await store.getUser('u', now))?.throttle.otp.failures).toBe(30);
      expect((await store.getUser('u', now))?.throttle.recovery).toEqual({
        failures: 0,
        guesses: 0,
        blockedUntil: 0,
      });
    });

    it('refuses a policy it cannot apply exactly, writing nothing', async () => {
      const store = await makeStore();
      const valid: AttemptPolicy = {
        freeAttempts: 3,
        baseDelayMs: 1000,
        maxDelayMs: 60_000,
        maxFailures: 10,
      };
      for (const [field, value] of [
        ['maxFailures', 0],
        ['maxFailures', -1],
        ['maxFailures', 1.5],
        ['maxFailures', NaN],
        ['freeAttempts', -1],
        ['baseDelayMs', 2 ** 53],
        ['maxDelayMs', Infinity],
      ] as const) {
        const policy = { ...valid, [field]: value };
        await expect(
          store.reserveAttempt('u', { scope: 'otp', now: T, policy, weight: 1 }),
        ).rejects.toThrow(new RegExp(`^"policy\\.${field}" must be a safe integer ≥ [01], got `));
        await expect(
          store.readAndReserve?.('u', { scope: 'otp', now: T, policy, requirement: 'active' }),
        ).rejects.toThrow(`"policy.${field}"`);
      }
      expect(await store.getUser('u', T)).toBeNull();
    });

    it('caps the exponent at 52 and takes maxFailures = Infinity as no lock', async () => {
      const store = await makeStore();
      const policy: AttemptPolicy = {
        freeAttempts: 0,
        baseDelayMs: 1,
        maxDelayMs: 1_000_000,
        maxFailures: Infinity,
      };
      let now = T;
      for (let failures = 1; failures <= 120; failures++) {
        expect(
          await store.reserveAttempt('u', { scope: 'recovery', now, policy, weight: 1 }),
        ).toEqual({
          ok: true,
          failures,
          guesses: failures,
        });
        now += attemptDelayMs(policy, failures);
        expect((await store.getUser('u', now))?.throttle.recovery.blockedUntil).toBe(now);
      }
    });

    it('resets only the otp scope on a success, both on a recovery code', async () => {
      const store = await makeStore();
      await activeUser(store, 'u');
      const policy = { freeAttempts: 10, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 10 };
      await store.reserveAttempt('u', { scope: 'otp', now: T, policy, weight: 1 });
      await store.reserveAttempt('u', { scope: 'recovery', now: T, policy, weight: 1 });
      expect(await store.recordSuccess('u', 'factor-1', 101, 0, T)).toBe(true);
      let throttle = (await store.getUser('u', T))?.throttle;
      expect(throttle).toEqual({
        otp: { failures: 0, guesses: 0, blockedUntil: 0 },
        recovery: { failures: 1, guesses: 1, blockedUntil: T },
      });
      await store.reserveAttempt('u', { scope: 'otp', now: T, policy, weight: 1 });
      expect(await store.consumeRecoveryCode('u', 'h2')).toBe(true);
      throttle = (await store.getUser('u', T))?.throttle;
      expect(throttle).toEqual({
        otp: { failures: 0, guesses: 0, blockedUntil: 0 },
        recovery: { failures: 0, guesses: 0, blockedUntil: 0 },
      });
      expect((await store.getUser('u', T))?.recoveryCodes?.hashes).toEqual(['h1', 'h3']);
    });

    it('putPending keeps the one replaced, unexpired enrollment as previous (issue 12)', async () => {
      const store = await makeStore();
      const first = pending({ id: 'p1', sealedSecret: 'sealed-1', algorithm: 'SHA256', digits: 8 });
      await store.putPending('u', first);
      expect((await store.getUser('u', T))?.pending?.previous).toBeNull();
      const second = pending({ id: 'p2', sealedSecret: 'sealed-2', createdAt: T + 1_000 });
      await store.putPending('u', { ...second, previous: null });
      const kept = {
        id: 'p1',
        sealedSecret: 'sealed-1',
        algorithm: 'SHA256',
        digits: 8,
        period: 30,
        expiresAt: T + 600_000,
      };
      expect((await store.getUser('u', T + 1_000))?.pending).toEqual({ ...second, previous: kept });
      // The previous secret is sealed again by id, and only it.
      expect(await store.replaceSealedSecret('u', 'p1', 'resealed-1')).toBe(true);
      expect((await store.getUser('u', T + 1_000))?.pending).toEqual({
        ...second,
        previous: { ...kept, sealedSecret: 'resealed-1' },
      });
      // Only the last one: p3 replaces p2, p1 goes.
      const third = pending({ id: 'p3', sealedSecret: 'sealed-3', createdAt: T + 2_000 });
      await store.putPending('u', third);
      expect((await store.getUser('u', T + 2_000))?.pending?.previous).toEqual({
        id: 'p2',
        sealedSecret: 'sealed-2',
        algorithm: 'SHA1',
        digits: 6,
        period: 30,
        expiresAt: T + 600_000,
      });
      expect(await store.replaceSealedSecret('u', 'p1', 'x')).toBe(false);
      // Replacing an expired one keeps nothing; so does rewriting the same id.
      const late = pending({ id: 'p4', createdAt: T + 600_000, expiresAt: T + 1_200_000 });
      await store.putPending('u', late);
      expect((await store.getUser('u', T + 600_000))?.pending?.previous).toBeNull();
      await store.putPending('u', { ...late, createdAt: T + 600_001 });
      expect((await store.getUser('u', T + 600_001))?.pending?.previous).toBeNull();
    });

    it('activation binds without previous, with the given parameters; deletion drops previous', async () => {
      const store = await makeStore();
      await store.putPending('u', pending({ id: 'p1', sealedSecret: 'sealed-1' }));
      await store.putPending('u', pending({ id: 'p2', algorithm: 'SHA256', digits: 8 }));
      expect(
        await store.activatePending('u', 'p2', {
          ...bind(T, 7, 1),
          params: { algorithm: 'SHA1', digits: 6, period: 60 },
        }),
      ).toMatchObject({ ok: true });
      const record = await store.getUser('u', T);
      expect(record?.pending ?? null).toBeNull();
      expect(record?.factors).toEqual([
        expect.objectContaining({ id: 'p2', algorithm: 'SHA1', digits: 6, period: 60, drift: 1 }),
      ]);
      expect(JSON.stringify(record)).not.toContain('sealed-1');
      expect(await store.replaceSealedSecret('u', 'p1', 'x')).toBe(false);
      for (const drop of ['deleteFactors', 'deleteUser'] as const) {
        await store.putPending('v', pending({ id: 'q1', sealedSecret: 'sealed-q1' }));
        await store.putPending('v', pending({ id: 'q2' }));
        const dropped =
          drop === 'deleteUser'
            ? await store.deleteUser('v', { now: T, guardMs: 60_000 })
            : await store.deleteFactors('v', { account: first });
        expect(dropped).toBe(drop === 'deleteUser' ? true : 'deleted');
        expect(JSON.stringify(await store.getUser('v', T))).not.toContain('sealed-q1');
        expect(await store.replaceSealedSecret('v', 'q1', 'x')).toBe(false);
      }
    });

    it('replaces the sealed secret of the named factor only', async () => {
      const store = await makeStore();
      await activeUser(store, 'u');
      expect(await store.replaceSealedSecret('u', 'other', 'v2.new')).toBe(false);
      expect(await store.replaceSealedSecret('nobody', 'factor-1', 'v2.new')).toBe(false);
      const before = await store.getUser('u', T);
      expect(await store.replaceSealedSecret('u', 'factor-1', 'v2.new')).toBe(true);
      const after = await store.getUser('u', T);
      expect(after).toEqual({
        ...before,
        factors: [{ ...before?.factors[0], sealedSecret: 'v2.new' }],
      });
    });

    it('removes one occurrence of a consumed hash', async () => {
      const store = await makeStore();
      await activeUser(store, 'u');
      const account = { version: 1, account: emptyAccount(2) };
      expect(
        await store.replaceRecoveryCodes('u', { salt: 's', hashes: ['x', 'y', 'x'] }, { account }),
      ).toBe('replaced');
      expect(await store.consumeRecoveryCode('u', 'x')).toBe(true);
      expect((await store.getUser('u', T))?.recoveryCodes).toEqual({
        salt: 's',
        hashes: ['y', 'x'],
      });
      expect(await store.consumeRecoveryCode('u', 'x')).toBe(true);
      expect(await store.consumeRecoveryCode('u', 'x')).toBe(false);
      expect(await store.consumeRecoveryCode('u', 'y')).toBe(true);
      expect((await store.getUser('u', T))?.recoveryCodes).toEqual({ salt: 's', hashes: [] });
    });

    it('gives exactly one success to concurrent writers of the same step or code', async () => {
      const store = await makeStore();
      await activeUser(store, 'u');
      const steps = await Promise.all(
        Array.from({ length: 100 }, () => store.recordSuccess('u', 'factor-1', 200, 1, T)),
      );
      expect(steps.filter(Boolean)).toHaveLength(1);
      const uses = await Promise.all(
        Array.from({ length: 100 }, () => store.consumeRecoveryCode('u', 'h1')),
      );
      expect(uses.filter(Boolean)).toHaveLength(1);
      await store.putPending('v', pending());
      const activations = await Promise.all(
        Array.from({ length: 50 }, () => store.activatePending('v', 'pending-1', bind(T))),
      );
      expect(activations.filter((r) => r.ok)).toHaveLength(1);
    });

    it('counts concurrent reservations exactly, from the first one of a new user', async () => {
      const store = await makeStore();
      const open = { freeAttempts: 1000, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 1000 };
      const all = await Promise.all(
        Array.from({ length: 200 }, () =>
          store.reserveAttempt('fresh', { scope: 'otp', now: T, policy: open, weight: 3 }),
        ),
      );
      const counts = all
        .map((r) => (r.ok ? [r.failures, r.guesses] : [-1, -1]))
        .sort((a, b) => a[0]! - b[0]!);
      expect(counts).toEqual(Array.from({ length: 200 }, (_, i) => [i + 1, 3 * (i + 1)]));
      // Locked once the charged guesses reach 10: 0, 3, 6 and 9 were below it.
      const capped = { freeAttempts: 1000, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 10 };
      const guesses = await Promise.all(
        Array.from({ length: 200 }, () =>
          store.reserveAttempt('capped', { scope: 'otp', now: T, policy: capped, weight: 3 }),
        ),
      );
      expect(guesses.filter((r) => r.ok)).toHaveLength(4);
      expect(guesses.filter((r) => !r.ok && r.reason === 'locked')).toHaveLength(196);
      const slow = { freeAttempts: 2, baseDelayMs: 1000, maxDelayMs: 10_000, maxFailures: 10 };
      const throttled = await Promise.all(
        Array.from({ length: 200 }, () =>
          store.reserveAttempt('slow', { scope: 'otp', now: T, policy: slow, weight: 1 }),
        ),
      );
      // Two attempts back to back; the second opens a one-second delay.
      expect(throttled.filter((r) => r.ok)).toHaveLength(2);
      for (const r of throttled.filter((r) => !r.ok)) {
        expect(r).toEqual({ ok: false, reason: 'throttled', retryAfterMs: 1000 });
      }
    });
  });
}
