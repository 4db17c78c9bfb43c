// PostgresStore's account document (store contract 0.3, issues 20 and 21) on
// every client (PGlite, pg, PgBouncer): the document read back equal to the
// one written (key order, numbers, nulls, arrays in order) although `jsonb`
// reorders keys; the compare-and-set on every operation that carries an
// account write, in the contract's order (erasure guard, then version, then
// the operation's own rules), where a conflict or a refusal writes nothing;
// resetUser; deleteUser; retention by `keepUntil`; and exactly one winner
// among parallel writers at one version. The oracle is the contract's text
// (src/store/contract.ts), not the store's SQL.
import { describe, expect, it } from 'vitest';
import type {
  AccountState,
  ActiveFactor,
  MFAStore,
  PendingEnrollment,
  UserRecord,
} from '../../src/store/contract.ts';
import type { PostgresStore } from '../../src/store/postgres.ts';

const T = 1_700_000_000_000;
const DAY = 24 * 60 * 60 * 1000;

/** A document with something in every list, in the contract's key order. */
export function fullAccount(generation = 3, keepUntil: number | null = null): AccountState {
  return {
    generation,
    keepUntil,
    codes: [
      {
        id: 'c-1',
        purpose: 'enroll',
        channel: 'email',
        destinationKey: 'dk-\u00e9\u{1F511}',
        codeHash: 'h"\\\'x',
        sentAt: T,
        expiresAt: T + 600_000,
        attempts: 0,
      },
      {
        id: 'c-0',
        purpose: 'app_purpose_9',
        channel: 'sms',
        destinationKey: 'dk2',
        codeHash: 'h2',
        sentAt: T - 1,
        expiresAt: Number.MAX_SAFE_INTEGER,
        attempts: 5,
      },
    ],
    budgets: [{ purpose: 'enroll', failures: 20, windowStart: T - DAY }],
    sends: [
      { key: '', count: 1, windowStart: T, lastSentAt: T },
      { key: 'dk2', count: 1000, windowStart: 0, lastSentAt: -1 },
    ],
    proofs: [
      { hash: 'p2', purpose: 'disable', kind: 'totp', createdAt: T, expiresAt: T + 1 },
      { hash: 'p1', purpose: 'enroll', kind: 'verification', createdAt: T, expiresAt: T + 2 },
    ],
    devices: [
      {
        id: 'd-b',
        name: 'Firefox on Linux \u{1F98A} "quoted" \\',
        hash: 'dh',
        createdAt: T,
        lastUsedAt: null,
        expiresAt: T + 30 * DAY,
        generation,
      },
      {
        id: 'd-a',
        name: 'x',
        hash: 'dh2',
        createdAt: T - 5,
        lastUsedAt: T - 1,
        expiresAt: T + 1.5,
        generation: 0,
      },
    ],
  };
}

/** A document with nothing in it. */
export function emptyDocument(generation = 0, keepUntil: number | null = null): AccountState {
  return { generation, keepUntil, codes: [], budgets: [], sends: [], proofs: [], devices: [] };
}

function pending(id: string, overrides: Partial<PendingEnrollment> = {}): PendingEnrollment {
  return {
    id,
    name: `N ${id}`,
    nameKey: `n ${id}`,
    sealedSecret: `sealed-${id}`,
    secretDigest: `digest-${id}`,
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    createdAt: T,
    expiresAt: T + 600_000,
    replaceFactorId: null,
    ...overrides,
  };
}

function factor(id: string, overrides: Partial<ActiveFactor> = {}): ActiveFactor {
  return {
    id,
    name: `N ${id}`,
    nameKey: `n ${id}`,
    sealedSecret: `sealed-${id}`,
    secretDigest: `digest-${id}`,
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    lastStep: -1,
    drift: 0,
    createdAt: T,
    activatedAt: T,
    lastUsedAt: null,
    ...overrides,
  };
}

const codes = { salt: 's', hashes: ['h1', 'h2'] };
const POLICY = { freeAttempts: 10, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 10 };

/** The record, for comparing before and after a refused write. */
const snapshot = (store: MFAStore, userId: string) => store.getUser(userId, T);

async function activeUser(store: MFAStore, userId: string): Promise<UserRecord> {
  const account = { version: 0, account: emptyDocument(1) };
  expect(
    await store.addFactor(userId, factor('f1'), { maxFactors: 5, account, recoveryCodes: codes }),
  ).toEqual({
    ok: true,
    firstFactor: true,
    replaced: false,
  });
  return (await snapshot(store, userId))!;
}

/** Registers the cases for a factory of fresh stores. */
export function describeAccountCases(
  name: string,
  makeStore: (throttleRetentionMs?: number) => Promise<PostgresStore>,
): void {
  describe(`${name}: the account document`, () => {
    it('reads back the document written, key order, numbers, nulls and array order included', async () => {
      const store = await makeStore();
      const written = fullAccount();
      // An extra key the contract does not name, and keys out of order, are kept too.
      const { devices, ...rest } = emptyDocument(7);
      const odd = { devices, extra: { z: 1, a: [null, 2.5e-7] }, ...rest };
      expect(await store.updateAccount('u', { version: 0, account: written, now: T })).toBe(
        'updated',
      );
      const read = await snapshot(store, 'u');
      expect(read).toMatchObject({ userId: 'u', factors: [], accountVersion: 1 });
      expect(JSON.stringify(read!.account)).toBe(JSON.stringify(written));
      expect(await store.updateAccount('u', { version: 1, account: odd, now: T })).toBe('updated');
      const again = await snapshot(store, 'u');
      expect(again!.account).toEqual(odd);
      expect(again!.accountVersion).toBe(2);
      // A record with nothing but a document is a record (getUser is not null).
      expect(again!.pending).toBeNull();
    });

    it('creates the record at version 0 only; a wrong version is a conflict that writes nothing', async () => {
      const store = await makeStore();
      expect(
        await store.updateAccount('none', { version: 1, account: emptyDocument(), now: T }),
      ).toBe('conflict');
      expect(await snapshot(store, 'none')).toBeNull();
      expect(
        await store.updateAccount('u', { version: 0, account: emptyDocument(1), now: T }),
      ).toBe('updated');
      for (const version of [0, 2, 5]) {
        expect(await store.updateAccount('u', { version, account: emptyDocument(9), now: T })).toBe(
          'conflict',
        );
      }
      expect(await snapshot(store, 'u')).toMatchObject({
        account: emptyDocument(1),
        accountVersion: 1,
      });
    });

    it('leaves the document alone in the operations without an account write', async () => {
      const store = await makeStore();
      const before = await activeUser(store, 'u');
      expect(
        await store.reserveAttempt('u', { scope: 'otp', now: T, policy: POLICY, weight: 1 }),
      ).toMatchObject({ ok: true });
      expect(await store.recordSuccess('u', 'f1', 5, 0, T)).toBe(true);
      expect(await store.renameFactor('u', 'f1', 'New', 'new')).toBe('renamed');
      expect(await store.consumeRecoveryCode('u', 'h1')).toBe(true);
      await store.resetThrottle('u', 'otp');
      expect(await store.replaceSealedSecret('u', 'f1', 'resealed')).toBe(true);
      const after = await snapshot(store, 'u');
      expect(after!.account).toEqual(before.account);
      expect(after!.accountVersion).toBe(before.accountVersion);
    });

    it('putPending: optional write; erased, then conflict, both writing nothing', async () => {
      const store = await makeStore();
      expect(await store.putPending('u', pending('p0'))).toBe('stored');
      expect((await snapshot(store, 'u'))!.accountVersion).toBe(0);
      const before = await snapshot(store, 'u');
      const stale = { version: 3, account: emptyDocument(1) };
      expect(await store.putPending('u', pending('p1'), { account: stale })).toBe('conflict');
      expect(await snapshot(store, 'u')).toEqual(before);
      const write = { version: 0, account: fullAccount(0, T + DAY) };
      expect(await store.putPending('u', pending('p1'), { account: write })).toBe('stored');
      expect(await snapshot(store, 'u')).toMatchObject({
        pending: { id: 'p1', previous: { id: 'p0' } },
        account: fullAccount(0, T + DAY),
        accountVersion: 1,
      });
      // A user without a record: only version 0 writes.
      expect(await store.putPending('v', pending('q'), { account: stale })).toBe('conflict');
      expect(await snapshot(store, 'v')).toBeNull();
      // Under an erasure guard, 'erased' comes before the version.
      await store.deleteUser('u', { now: T, guardMs: 60_000 });
      expect(await store.putPending('u', pending('p2'), { account: stale })).toBe('erased');
      expect(await store.putPending('u', pending('p2'), { account: write })).toBe('erased');
      expect(await snapshot(store, 'u')).toBeNull();
    });

    it('activatePending: the document with the binding; conflict before not_pending; refusals write nothing', async () => {
      const store = await makeStore();
      const bind = (version: number, account: AccountState, maxFactors = 5) => ({
        lastStep: 1,
        drift: 0,
        now: T,
        maxFactors,
        recoveryCodes: codes,
        account: { version, account },
      });
      expect(await store.activatePending('u', 'p', bind(1, emptyDocument()))).toEqual({
        ok: false,
        reason: 'conflict',
      });
      expect(await store.activatePending('u', 'p', bind(0, emptyDocument()))).toEqual({
        ok: false,
        reason: 'not_pending',
      });
      await store.putPending('u', pending('p'));
      const before = await snapshot(store, 'u');
      expect(await store.activatePending('u', 'p', bind(2, emptyDocument(1)))).toEqual({
        ok: false,
        reason: 'conflict',
      });
      expect(await store.activatePending('u', 'gone', bind(2, emptyDocument(1)))).toEqual({
        ok: false,
        reason: 'conflict',
      });
      expect(await store.activatePending('u', 'p', bind(0, emptyDocument(1), 0))).toEqual({
        ok: false,
        reason: 'factor_limit',
      });
      expect(await snapshot(store, 'u')).toEqual(before);
      expect(await store.activatePending('u', 'p', bind(0, emptyDocument(1)))).toMatchObject({
        ok: true,
        firstFactor: true,
      });
      expect(await snapshot(store, 'u')).toMatchObject({
        factors: [{ id: 'p' }],
        pending: null,
        account: emptyDocument(1),
        accountVersion: 1,
      });
      await store.deleteUser('u', { now: T, guardMs: 60_000 });
      await store.putPending('w', pending('x'));
      expect(await store.activatePending('u', 'p', bind(4, emptyDocument(1)))).toEqual({
        ok: false,
        reason: 'erased',
      });
    });

    it('addFactor: conflict before duplicate_secret and the limit; a refusal writes nothing', async () => {
      const store = await makeStore();
      const add = (f: ActiveFactor, version: number, generation: number, maxFactors = 5) =>
        store.addFactor('u', f, {
          maxFactors,
          recoveryCodes: codes,
          account: { version, account: emptyDocument(generation) },
        });
      expect(await add(factor('f1'), 1, 1)).toEqual({ ok: false, reason: 'conflict' });
      expect(await snapshot(store, 'u')).toBeNull();
      expect(await add(factor('f1'), 0, 1)).toMatchObject({ ok: true, firstFactor: true });
      const before = await snapshot(store, 'u');
      expect(await add(factor('f2', { secretDigest: 'digest-f1' }), 0, 2)).toEqual({
        ok: false,
        reason: 'conflict',
      });
      expect(await add(factor('f2', { secretDigest: 'digest-f1' }), 1, 2)).toEqual({
        ok: false,
        reason: 'duplicate_secret',
        factorId: 'f1',
      });
      expect(await add(factor('f2'), 1, 2, 1)).toEqual({ ok: false, reason: 'factor_limit' });
      expect(await snapshot(store, 'u')).toEqual(before);
      expect(await add(factor('f2'), 1, 2)).toMatchObject({ ok: true, firstFactor: false });
      expect(await snapshot(store, 'u')).toMatchObject({
        account: emptyDocument(2),
        accountVersion: 2,
      });
      await store.deleteUser('u', { now: T, guardMs: 60_000 });
      expect(await add(factor('f3'), 7, 3)).toEqual({ ok: false, reason: 'erased' });
    });

    it('replaceRecoveryCodes, removeFactor, deleteFactors: conflict first; written only with the change', async () => {
      const store = await makeStore();
      const write = (version: number, generation: number) => ({
        account: { version, account: emptyDocument(generation) },
      });
      // No record: no factor at version 0, a conflict at any other.
      expect(await store.replaceRecoveryCodes('u', codes, write(0, 1))).toBe('no_factor');
      expect(await store.replaceRecoveryCodes('u', codes, write(1, 1))).toBe('conflict');
      expect(await store.removeFactor('u', 'f1', write(0, 1))).toEqual({
        removed: false,
        remaining: 0,
      });
      expect(await store.removeFactor('u', 'f1', write(1, 1))).toBe('conflict');
      expect(await store.deleteFactors('u', write(0, 1))).toBe('nothing');
      expect(await store.deleteFactors('u', write(1, 1))).toBe('conflict');
      expect(await snapshot(store, 'u')).toBeNull();

      await activeUser(store, 'u'); // version 1
      await store.addFactor('u', factor('f2'), {
        maxFactors: 5,
        recoveryCodes: null,
        ...write(1, 2),
      });
      const before = await snapshot(store, 'u'); // version 2
      const fresh = { salt: 's2', hashes: ['x'] };
      expect(await store.replaceRecoveryCodes('u', fresh, write(1, 3))).toBe('conflict');
      expect(await store.removeFactor('u', 'f1', write(1, 3))).toBe('conflict');
      expect(await store.removeFactor('u', 'missing', write(2, 3))).toEqual({
        removed: false,
        remaining: 2,
      });
      expect(await store.deleteFactors('u', write(3, 3))).toBe('conflict');
      expect(await snapshot(store, 'u')).toEqual(before);

      expect(await store.replaceRecoveryCodes('u', fresh, write(2, 3))).toBe('replaced');
      expect(await store.removeFactor('u', 'f1', write(3, 4))).toEqual({
        removed: true,
        remaining: 1,
      });
      expect(await store.deleteFactors('u', write(4, 5))).toBe('deleted');
      expect(await snapshot(store, 'u')).toMatchObject({
        factors: [],
        recoveryCodes: null,
        account: emptyDocument(5),
        accountVersion: 5,
      });
      // Nothing left to delete: 'nothing', and the document stays as it was.
      expect(await store.deleteFactors('u', write(5, 6))).toBe('nothing');
      expect(await snapshot(store, 'u')).toMatchObject({ accountVersion: 5 });
    });

    it('resetUser: clears factors, enrollment, codes and both scopes with the document; erased, then conflict', async () => {
      const store = await makeStore();
      expect(
        await store.resetUser('nobody', { version: 0, account: emptyDocument(1), now: T }),
      ).toBe('reset');
      expect(await snapshot(store, 'nobody')).toMatchObject({
        factors: [],
        account: emptyDocument(1),
        accountVersion: 1,
      });
      await activeUser(store, 'u');
      await store.putPending('u', pending('p'));
      for (const scope of ['otp', 'recovery'] as const) {
        await store.reserveAttempt('u', { scope, now: T, policy: POLICY, weight: 1 });
      }
      const before = await snapshot(store, 'u');
      expect(await store.resetUser('u', { version: 0, account: emptyDocument(2), now: T })).toBe(
        'conflict',
      );
      expect(await snapshot(store, 'u')).toEqual(before);
      expect(await store.resetUser('u', { version: 1, account: emptyDocument(2), now: T })).toBe(
        'reset',
      );
      expect(await snapshot(store, 'u')).toEqual({
        userId: 'u',
        factors: [],
        pending: null,
        recoveryCodes: null,
        throttle: {
          otp: { failures: 0, guesses: 0, blockedUntil: 0 },
          recovery: { failures: 0, guesses: 0, blockedUntil: 0 },
        },
        account: emptyDocument(2),
        accountVersion: 2,
      });
      await store.deleteUser('u', { now: T, guardMs: 60_000 });
      expect(await store.resetUser('u', { version: 9, account: emptyDocument(3), now: T })).toBe(
        'erased',
      );
      expect(
        await store.updateAccount('u', { version: 9, account: emptyDocument(3), now: T }),
      ).toBe('erased');
      expect(await snapshot(store, 'u')).toBeNull();
      // The guard ends: the record starts again at version 0.
      const later = T + 60_000;
      expect(
        await store.updateAccount('u', { version: 0, account: emptyDocument(3), now: later }),
      ).toBe('updated');
      expect((await snapshot(store, 'u'))!.accountVersion).toBe(1);
    });

    it('deleteUser removes the document with the rest', async () => {
      const store = await makeStore();
      await store.updateAccount('u', { version: 0, account: fullAccount(), now: T });
      expect(await store.deleteUser('u', { now: T, guardMs: 0 })).toBe(true);
      expect(await snapshot(store, 'u')).toBeNull();
    });

    it('gives exactly one of 12 writers at the same version the write', async () => {
      const store = await makeStore();
      await activeUser(store, 'u'); // version 1
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          i % 3 === 0
            ? store.updateAccount('u', { version: 1, account: emptyDocument(10 + i), now: T })
            : i % 3 === 1
              ? store.resetUser('u', { version: 1, account: emptyDocument(10 + i), now: T })
              : store.replaceRecoveryCodes('u', codes, {
                  account: { version: 1, account: emptyDocument(10 + i) },
                }),
        ),
      );
      const winners = results.filter((r) => r !== 'conflict');
      expect(winners).toHaveLength(1);
      const record = await snapshot(store, 'u');
      expect(record!.accountVersion).toBe(2);
      expect(record!.account!.generation).toBe(10 + results.findIndex((r) => r !== 'conflict'));
    });

    it('keeps a factorless record while its keepUntil is null or ahead, then deletes it with the throttle rule', async () => {
      const retention = DAY;
      const store = await makeStore(retention);
      await store.updateAccount('forever', { version: 0, account: emptyDocument(2), now: T });
      await store.updateAccount('until', {
        version: 0,
        account: emptyDocument(0, T + 10 * DAY),
        now: T,
      });
      await store.updateAccount('locked', {
        version: 0,
        account: emptyDocument(0, T + 1),
        now: T,
      });
      for (let i = 0; i < 3; i++) {
        await store.reserveAttempt('locked', {
          scope: 'otp',
          now: T + 5 * DAY,
          policy: { freeAttempts: 0, baseDelayMs: 1000, maxDelayMs: 1000, maxFailures: 3 },
          weight: 1,
        });
      }
      const disabled = await activeUser(store, 'disabled');
      expect(
        await store.deleteFactors('disabled', {
          account: { version: disabled.accountVersion, account: emptyDocument(2) },
        }),
      ).toBe('deleted');
      const alive = async (now: number) => {
        while ((await store.deleteExpired(now)).more);
        const ids = [];
        for (const id of ['forever', 'until', 'locked', 'disabled']) {
          if ((await store.getUser(id, now)) !== null) ids.push(id);
        }
        return ids;
      };
      expect(await alive(T + 5 * DAY)).toEqual(['forever', 'until', 'locked', 'disabled']);
      // keepUntil passed but the lock still matters until T + 5 days + 1 s + retention.
      expect(await alive(T + 6 * DAY)).toEqual(['forever', 'until', 'locked', 'disabled']);
      expect(await alive(T + 6 * DAY + 1000)).toEqual(['forever', 'until', 'disabled']);
      expect(await alive(T + 10 * DAY - 1)).toEqual(['forever', 'until', 'disabled']);
      expect(await alive(T + 10 * DAY)).toEqual(['forever', 'disabled']);
      // keepUntil null (generation > 0): kept for as long as the record exists.
      expect(await alive(T + 10_000 * DAY)).toEqual(['forever', 'disabled']);
    });
  });
}
