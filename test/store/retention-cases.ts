// The throttle retention rule, the same for every store with deleteExpired
// (MemoryStore, PostgresStore on PGlite and on a real server): the throttle
// state of a user with no active factor stops mattering at
// max(otp.blockedUntil, recovery.blockedUntil, pending expiresAt if any)
// + throttleRetentionMs (default 7 days), then deleteExpired removes it; a
// user with an active factor is never touched. And the per-call bound.
import { describe, expect, it } from 'vitest';
import type {
  AccountWrite,
  AttemptPolicy,
  DeleteExpiredOptions,
  DeleteExpiredResult,
  MFAStore,
  PendingEnrollment,
} from '../../src/store/contract.ts';

const T = 1_700_000_000_000;
const DAY = 24 * 60 * 60 * 1000;
const WEEK = 7 * DAY;
// Three failures lock; each failure makes the next attempt wait a minute.
const POLICY: AttemptPolicy = {
  freeAttempts: 0,
  baseDelayMs: 60_000,
  maxDelayMs: 60_000,
  maxFailures: 3,
};

export type CleanableStore = MFAStore & {
  deleteExpired(now?: number, options?: DeleteExpiredOptions): Promise<DeleteExpiredResult>;
};

function pending(id: string, createdAt: number, expiresAt: number): PendingEnrollment {
  return {
    id,
    name: 'Phone',
    nameKey: 'phone',
    sealedSecret: 'v1.k.c2VhbGVk',
    secretDigest: null,
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    createdAt,
    expiresAt,
    replaceFactorId: null,
  };
}

const codes = { salt: 's', hashes: ['h1'] };

/**
 * The account write of a factor change, built from the record as the service
 * builds it, except that its `keepUntil` has passed: the document itself holds
 * nothing here, so these cases stay about the throttle state (the document's
 * own retention is in the conformance suite, src/testing/account.ts).
 */
async function accountWrite(store: MFAStore, userId: string): Promise<AccountWrite> {
  const record = await store.getUser(userId, T);
  return {
    version: record?.accountVersion ?? 0,
    account: {
      generation: (record?.account?.generation ?? 0) + 1,
      keepUntil: T,
      codes: [],
      budgets: [],
      sends: [],
      proofs: [],
      devices: [],
    },
  };
}

async function enable(store: MFAStore, userId: string, now: number) {
  await store.putPending(userId, pending(`f-${userId}`, now, now + 600_000));
  const bound = await store.activatePending(userId, `f-${userId}`, {
    lastStep: 1,
    drift: 0,
    now,
    maxFactors: 5,
    recoveryCodes: codes,
    account: await accountWrite(store, userId),
  });
  expect(bound).toMatchObject({ ok: true });
}

/** Fails `n` otp attempts at `now`, `now + 1 min`, …; returns the last blockedUntil. */
async function fail(store: MFAStore, userId: string, now: number, n: number): Promise<number> {
  for (let i = 0; i < n; i++) {
    expect(
      await store.reserveAttempt(userId, {
        scope: 'otp',
        now: now + i * 60_000,
        policy: POLICY,
        weight: 1,
      }),
    ).toMatchObject({
      ok: true,
    });
  }
  const record = await store.getUser(userId, now);
  return record!.throttle.otp.blockedUntil;
}

/**
 * Registers the cases. `makeStore` returns a fresh, empty store; with
 * `throttleRetentionMs` undefined it must use the store's default.
 */
export function describeRetentionCases(
  name: string,
  makeStore: (throttleRetentionMs?: number) => Promise<CleanableStore>,
): void {
  describe(`${name}: throttle retention and deleteExpired`, () => {
    it('keeps the lock of a user who disabled for 7 days after it last mattered, then deletes it', async () => {
      const store = await makeStore();
      await enable(store, 'locked', T);
      await enable(store, 'enabled', T);
      const blockedUntil = await fail(store, 'locked', T, 3);
      await fail(store, 'enabled', T, 3);
      expect(blockedUntil).toBe(T + 2 * 60_000 + 60_000);
      expect(
        await store.deleteFactors('locked', { account: await accountWrite(store, 'locked') }),
      ).toBe('deleted');
      // Disabling did not lift the lock.
      expect(
        await store.reserveAttempt('locked', {
          scope: 'otp',
          now: T + DAY,
          policy: POLICY,
          weight: 1,
        }),
      ).toEqual({
        ok: false,
        reason: 'locked',
      });
      expect(await store.deleteExpired(blockedUntil + WEEK - 1)).toEqual({
        enrollments: 0,
        records: 0,
        more: false,
      });
      expect((await store.getUser('locked', T))?.throttle.otp).toEqual({
        failures: 3,
        guesses: 3,
        blockedUntil,
      });
      expect(await store.deleteExpired(blockedUntil + WEEK)).toEqual({
        enrollments: 0,
        records: 1,
        more: false,
      });
      expect(await store.getUser('locked', T)).toBeNull();
      expect(
        await store.reserveAttempt('locked', {
          scope: 'otp',
          now: blockedUntil + WEEK,
          policy: POLICY,
          weight: 1,
        }),
      ).toEqual({
        ok: true,
        failures: 1,
        guesses: 1,
      });
      // A user with an active factor is never touched, however old the lock.
      expect(await store.deleteExpired(T + 1000 * WEEK)).toMatchObject({ records: 1 });
      const kept = await store.getUser('enabled', T);
      expect(kept?.factors.map((f) => f.id)).toEqual(['f-enabled']);
      expect(kept?.throttle.otp.failures).toBe(3);
      expect(kept?.recoveryCodes).toEqual(codes);
    });

    it('counts from the latest of both scopes and a pending enrollment, plus throttleRetentionMs', async () => {
      const R = 3_600_000;
      const store = await makeStore(R);
      // Recovery failures later than the otp ones.
      await fail(store, 'scopes', T, 2);
      expect(
        await store.reserveAttempt('scopes', {
          scope: 'recovery',
          now: T + DAY,
          policy: POLICY,
          weight: 1,
        }),
      ).toMatchObject({
        ok: true,
      });
      const recoveryUntil = (await store.getUser('scopes', T))!.throttle.recovery.blockedUntil;
      expect(recoveryUntil).toBe(T + DAY + 60_000);
      // Failures long ago, then a new enrollment: kept while it and then R pass.
      const otpUntil = await fail(store, 'enrolling', T, 1);
      const expiresAt = T + DAY + 600_000;
      await store.putPending('enrolling', pending('p', T + DAY, expiresAt));
      // No failures, an expired enrollment: nothing to keep.
      await store.putPending('abandoned', pending('q', T, T + 600_000));

      expect(await store.deleteExpired(recoveryUntil + R - 1)).toEqual({
        enrollments: 1, // the abandoned one
        records: 1, // and its row, now empty
        more: false,
      });
      expect(await store.getUser('abandoned', T)).toBeNull();
      const enrolling = await store.getUser('enrolling', T);
      expect(enrolling?.pending?.id).toBe('p'); // expired, kept with the throttle state
      expect(enrolling?.throttle.otp).toEqual({ failures: 1, guesses: 1, blockedUntil: otpUntil });
      expect((await store.getUser('scopes', T))?.throttle.recovery.failures).toBe(1);

      expect(await store.deleteExpired(recoveryUntil + R)).toEqual({
        enrollments: 0,
        records: 1,
        more: false,
      });
      expect(await store.getUser('scopes', T)).toBeNull();
      expect(await store.deleteExpired(expiresAt + R - 1)).toMatchObject({ records: 0 });
      expect((await store.getUser('enrolling', T))?.pending?.id).toBe('p');
      expect(await store.deleteExpired(expiresAt + R)).toMatchObject({ records: 1 });
      expect(await store.getUser('enrolling', T)).toBeNull();
    });

    it('clears expired enrollments of users with factors, keeping the rest of the record', async () => {
      const store = await makeStore();
      await enable(store, 'u', T);
      await store.putPending('u', pending('re', T, T + 600_000));
      await fail(store, 'u', T, 1);
      expect(await store.deleteExpired(T + 600_000)).toEqual({
        enrollments: 1,
        records: 0,
        more: false,
      });
      const record = await store.getUser('u', T);
      expect(record?.pending).toBeNull();
      expect(record?.factors).toHaveLength(1);
      expect(record?.throttle.otp.failures).toBe(1);
    });

    it('changes at most `limit` rows per step and says when to call again', async () => {
      const store = await makeStore(0);
      for (let i = 0; i < 7; i++) {
        await store.putPending(`p${i}`, pending(`p${i}`, T, T + 1000));
        await fail(store, `t${i}`, T, 1);
      }
      const results: DeleteExpiredResult[] = [];
      for (;;) {
        const result = await store.deleteExpired(T + WEEK, { limit: 3 });
        results.push(result);
        expect(result.enrollments).toBeLessThanOrEqual(3);
        expect(result.records).toBeLessThanOrEqual(3);
        if (!result.more) break;
      }
      const total = (key: 'enrollments' | 'records') => results.reduce((sum, r) => sum + r[key], 0);
      expect(total('enrollments')).toBe(7);
      expect(total('records')).toBe(14);
      expect(results.length).toBeGreaterThanOrEqual(5); // 14 records, 3 per call
      for (let i = 0; i < 7; i++) {
        expect(await store.getUser(`p${i}`, T)).toBeNull();
        expect(await store.getUser(`t${i}`, T)).toBeNull();
      }
    });

    it('removes an erasure guard once its until has passed, counting it in records', async () => {
      const store = await makeStore();
      await enable(store, 'erased', T);
      expect(await store.deleteUser('erased', { now: T, guardMs: 60_000 })).toBe(true);
      expect(await store.putPending('erased', pending('p', T + 59_999, T + DAY))).toBe('erased');
      expect(await store.deleteExpired(T + 59_999)).toEqual({
        enrollments: 0,
        records: 0,
        more: false,
      });
      expect(await store.deleteExpired(T + 60_000)).toEqual({
        enrollments: 0,
        records: 1,
        more: false,
      });
      expect(await store.putPending('erased', pending('p', T + 60_000, T + DAY))).toBe('stored');
      expect((await store.getUser('erased', T + 60_000))?.pending?.id).toBe('p');
    });

    it('checks now, limit and throttleRetentionMs, naming the field', async () => {
      const store = await makeStore();
      await expect(store.deleteExpired(T, { limit: 0 })).rejects.toThrow(RangeError);
      await expect(store.deleteExpired(T, { limit: 0 })).rejects.toThrow(/"limit"/);
      await expect(store.deleteExpired(T, { limit: 1_000_001 })).rejects.toThrow(/"limit"/);
      await expect(store.deleteExpired(T, { limit: 1.5 })).rejects.toThrow(/"limit"/);
      await expect(store.deleteExpired(T, { limit: '5' as never })).rejects.toThrow(TypeError);
      await expect(store.deleteExpired(-1)).rejects.toThrow(/"now"/);
      await expect(store.deleteExpired(T, 5 as never)).rejects.toThrow(/"options"/);
      await expect(makeStore(-1)).rejects.toThrow(/"throttleRetentionMs"/);
      await expect(makeStore(0.5)).rejects.toThrow(RangeError);
      await expect(makeStore('1' as never)).rejects.toThrow(TypeError);
    });
  });
}
