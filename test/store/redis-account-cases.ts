// RedisStore's account document (issues 20 and 21; decisions in the 0.3 store
// contract): where it lives (the `…/account` hash, `v` and `doc`, in the
// user's slot), what the raw keys hold after each operation, the
// compare-and-set made in the same script as each factor change (order:
// erased, conflict, the operation's own rules; a conflict or a refusal writes
// nothing), resetUser, the document's TTL against the throttle retention, and
// the in-place upgrade of 0.2 users. Registered on a single server
// (redis.test.ts) and on Cluster (redis-cluster.test.ts); `raw` is an ioredis
// client (or Cluster) that reads the keys behind the store's back.
import fc from 'fast-check';
import type { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type {
  AccountState,
  AccountWrite,
  ActiveFactor,
  PendingEnrollment,
} from '../../src/store/contract.ts';
import type { RedisStore } from '../../src/store/redis.ts';
import { emptyAccount } from '../helpers/account-write.ts';

const T = 1_700_000_000_000;
const NAMES = ['factors', 'enrollment', 'recovery:salt', 'recovery:codes', 'throttle', 'account'];
const policy = { freeAttempts: 100, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 100 };

function pending(id: string, overrides: Partial<PendingEnrollment> = {}): PendingEnrollment {
  return {
    id,
    name: `Phone ${id}`,
    nameKey: `phone ${id}`,
    sealedSecret: `sealed-${id}`,
    secretDigest: `${id}`.padEnd(43, 'D'),
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
    name: `Key ${id}`,
    nameKey: `key ${id}`,
    sealedSecret: `sealed-${id}`,
    secretDigest: `${id}`.padEnd(43, 'S'),
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    lastStep: 1,
    drift: 0,
    createdAt: T,
    activatedAt: T,
    lastUsedAt: null,
    ...overrides,
  };
}

/** A document with something in every list, numbers at the edges, nulls and odd text. */
function fullAccount(generation: number): AccountState {
  return {
    generation,
    keepUntil: null,
    codes: [
      {
        id: 'c-\u{1F511}',
        purpose: 'enroll',
        channel: 'sms',
        destinationKey: 'd'.repeat(43),
        codeHash: 'h"\\\n'.repeat(5),
        sentAt: Number.MAX_SAFE_INTEGER - 1,
        expiresAt: Number.MAX_SAFE_INTEGER,
        attempts: 0,
      },
    ],
    budgets: [
      { purpose: 'zeta', failures: 3, windowStart: 1 },
      { purpose: 'alpha', failures: 0, windowStart: 0 },
    ],
    sends: [
      { key: '', count: 2, windowStart: T, lastSentAt: T + 1 },
      { key: 'k', count: 1, windowStart: T, lastSentAt: T },
    ],
    proofs: [
      { hash: 'p2', purpose: 'disable', kind: 'totp', createdAt: T + 2, expiresAt: T + 3 },
      { hash: 'p1', purpose: 'enroll', kind: 'verification', createdAt: T, expiresAt: T + 1 },
    ],
    devices: [
      {
        id: 'dev',
        name: 'Fïrefox {on} "Linux"',
        hash: 'x',
        createdAt: T,
        lastUsedAt: null,
        expiresAt: T + 30 * 86_400_000,
        generation,
      },
    ],
  };
}

const tagOf = (userId: string) => Buffer.from(userId).toString('base64url');

/**
 * Registers the cases. `makeStore(prefix?)` returns a store on a fresh prefix
 * (or on `prefix`) and `prefixOf` its prefix; `throttleRetentionMs` is the
 * retention the factory gives it.
 */
export function describeRedisAccountCases(
  name: string,
  makeStore: () => Promise<{ store: RedisStore; prefix: string }>,
  raw: () => Redis | Cluster,
): void {
  describe(`${name}: account document`, () => {
    const keyOf = (prefix: string, userId: string, key: string) =>
      `${prefix}{${tagOf(userId)}}/${key}`;
    /** Everything Redis holds for a user: each key's type, value and whether it has a TTL. */
    async function dump(prefix: string, userId: string) {
      const out: Record<string, unknown> = {};
      for (const key of [...NAMES, 'erased']) {
        const full = keyOf(prefix, userId, key);
        const type = await raw().type(full);
        if (type === 'none') continue;
        const value =
          type === 'hash'
            ? await raw().hgetall(full)
            : type === 'list'
              ? await raw().lrange(full, 0, -1)
              : await raw().get(full);
        out[key] = { type, value, ttl: (await raw().pttl(full)) > 0 ? 'ttl' : 'none' };
      }
      return out;
    }
    /** A user with a factor, a pending enrollment, recovery codes, failures and a document at version 2. */
    async function fullUser(store: RedisStore, userId: string): Promise<void> {
      expect(
        await store.updateAccount(userId, { version: 0, account: emptyAccount(0), now: T }),
      ).toBe('updated');
      await store.putPending(userId, pending('f1'));
      const bound = await store.activatePending(userId, 'f1', {
        lastStep: 1,
        drift: 0,
        now: T,
        maxFactors: 2,
        recoveryCodes: { salt: 's', hashes: ['h1', 'h2'] },
        account: { version: 1, account: fullAccount(1) },
      });
      expect(bound).toEqual({ ok: true, firstFactor: true, replaced: false });
      await store.putPending(userId, pending('p1', { createdAt: T + 1 }));
      await store.putPending(userId, pending('p2', { createdAt: T + 2 })); // p1 becomes previous
      await store.reserveAttempt(userId, { scope: 'otp', now: T, policy, weight: 1 });
      await store.reserveAttempt(userId, { scope: 'recovery', now: T, policy, weight: 1 });
    }

    it('keeps the document in …/account (v, doc) exactly as written, and reads it back exactly', async () => {
      const { store, prefix } = await makeStore();
      const doc = fullAccount(7);
      expect(await store.updateAccount('alice', { version: 0, account: doc, now: T })).toBe(
        'updated',
      );
      expect(await raw().hgetall(keyOf(prefix, 'alice', 'account'))).toEqual({
        v: '1',
        doc: JSON.stringify(doc),
      });
      expect(await store.getUser('alice', T)).toEqual({
        userId: 'alice',
        factors: [],
        pending: null,
        recoveryCodes: null,
        throttle: {
          otp: { failures: 0, guesses: 0, blockedUntil: 0 },
          recovery: { failures: 0, guesses: 0, blockedUntil: 0 },
        },
        account: doc,
        accountVersion: 1,
      });
      // The document is all this user has: one key, no TTL (keepUntil null).
      expect(Object.keys(await dump(prefix, 'alice'))).toEqual(['account']);
      expect(await raw().pttl(keyOf(prefix, 'alice', 'account'))).toBe(-1);
      // readAndReserve returns the same record.
      const read = await store.readAndReserve('alice', {
        scope: 'otp',
        now: T,
        policy,
        requirement: 'active',
      });
      expect(read).toEqual({ record: await store.getUser('alice', T), reservation: null });
    });

    it('round-trips arbitrary documents exactly (order, safe integers, nulls, any text)', async () => {
      const { store } = await makeStore();
      const text = fc.string({ unit: 'grapheme', maxLength: 12 });
      const int = fc.maxSafeNat();
      const account = fc.record({
        generation: int,
        keepUntil: fc.constant(null),
        codes: fc.array(
          fc.record({
            id: text,
            purpose: text,
            channel: fc.constantFrom('email' as const, 'sms' as const),
            destinationKey: text,
            codeHash: text,
            sentAt: int,
            expiresAt: int,
            attempts: int,
          }),
          { maxLength: 3 },
        ),
        budgets: fc.array(fc.record({ purpose: text, failures: int, windowStart: int }), {
          maxLength: 3,
        }),
        sends: fc.array(fc.record({ key: text, count: int, windowStart: int, lastSentAt: int }), {
          maxLength: 3,
        }),
        proofs: fc.array(
          fc.record({
            hash: text,
            purpose: text,
            kind: fc.constantFrom('verification' as const, 'totp' as const, 'recovery' as const),
            createdAt: int,
            expiresAt: int,
          }),
          { maxLength: 3 },
        ),
        devices: fc.array(
          fc.record({
            id: text,
            name: text,
            hash: text,
            createdAt: int,
            lastUsedAt: fc.option(int),
            expiresAt: int,
            generation: int,
          }),
          { maxLength: 3 },
        ),
      });
      let version = 0;
      await fc.assert(
        fc.asyncProperty(account, async (doc) => {
          expect(await store.updateAccount('u', { version, account: doc, now: T })).toBe('updated');
          version += 1;
          const record = await store.getUser('u', T);
          expect(record?.account).toEqual(doc);
          expect(record?.accountVersion).toBe(version);
        }),
        { numRuns: 60 },
      );
    });

    it('a moved version is a conflict for every operation that carries a write, and writes nothing', async () => {
      const { store, prefix } = await makeStore();
      await fullUser(store, 'u');
      const before = await dump(prefix, 'u');
      const record = await store.getUser('u', T);
      expect(record?.accountVersion).toBe(2);
      for (const version of [0, 1, 3]) {
        const account: AccountWrite = { version, account: fullAccount(9) };
        const refused = [
          await store.putPending('u', pending('p3', { createdAt: T + 3 }), { account }),
          await store.activatePending('u', 'p2', {
            lastStep: 2,
            drift: 0,
            now: T + 3,
            maxFactors: 5,
            recoveryCodes: null,
            account,
          }),
          await store.addFactor('u', factor('f9'), { maxFactors: 5, recoveryCodes: null, account }),
          await store.replaceRecoveryCodes('u', { salt: 'x', hashes: ['y'] }, { account }),
          await store.removeFactor('u', 'f1', { account }),
          await store.deleteFactors('u', { account }),
          await store.updateAccount('u', { ...account, now: T }),
          await store.resetUser('u', { ...account, now: T }),
        ];
        expect(refused, `version ${version}`).toEqual([
          'conflict',
          { ok: false, reason: 'conflict' },
          { ok: false, reason: 'conflict' },
          'conflict',
          'conflict',
          'conflict',
          'conflict',
          'conflict',
        ]);
        expect(await dump(prefix, 'u')).toEqual(before);
      }
      expect(await store.getUser('u', T)).toEqual(record);
    });

    it('checks the guard first, then the version, then the operation’s own rules', async () => {
      const { store, prefix } = await makeStore();
      const stale: AccountWrite = { version: 5, account: emptyAccount(1) };
      // Conflict before the op's refusals: nothing pending, no factor, nothing to delete.
      expect(
        await store.activatePending('n', 'none', {
          lastStep: 1,
          drift: 0,
          now: T,
          maxFactors: 1,
          recoveryCodes: null,
          account: stale,
        }),
      ).toEqual({ ok: false, reason: 'conflict' });
      expect(
        await store.replaceRecoveryCodes('n', { salt: 's', hashes: [] }, { account: stale }),
      ).toBe('conflict');
      expect(await store.removeFactor('n', 'none', { account: stale })).toBe('conflict');
      expect(await store.deleteFactors('n', { account: stale })).toBe('conflict');
      expect(await store.getUser('n', T)).toBeNull();
      // The guard before the version.
      await fullUser(store, 'g');
      expect(await store.deleteUser('g', { now: T, guardMs: 60_000 })).toBe(true);
      expect(Object.keys(await dump(prefix, 'g'))).toEqual(['erased']); // the document went too
      expect(await store.updateAccount('g', { ...stale, now: T + 1 })).toBe('erased');
      expect(await store.resetUser('g', { ...stale, now: T + 1 })).toBe('erased');
      expect(
        await store.putPending('g', pending('p', { createdAt: T + 1 }), { account: stale }),
      ).toBe('erased');
      expect(
        await store.addFactor('g', factor('f', { activatedAt: T + 1 }), {
          maxFactors: 5,
          recoveryCodes: null,
          account: stale,
        }),
      ).toEqual({ ok: false, reason: 'erased' });
      const fresh = { version: 0, account: emptyAccount(1), now: T + 1 };
      expect(await store.updateAccount('g', fresh)).toBe('erased');
      expect(await store.resetUser('g', fresh)).toBe('erased');
      expect(Object.keys(await dump(prefix, 'g'))).toEqual(['erased']);
      // From until on, the document may be created again.
      expect(await store.updateAccount('g', { ...fresh, now: T + 60_000 })).toBe('updated');
    });

    it('a refusal by the operation’s own rules writes neither the change nor the document', async () => {
      const { store, prefix } = await makeStore();
      await fullUser(store, 'u');
      const before = await dump(prefix, 'u');
      const account: AccountWrite = { version: 2, account: fullAccount(9) };
      const activation = {
        lastStep: 2,
        drift: 0,
        now: T + 3,
        maxFactors: 5,
        recoveryCodes: null,
        account,
      };
      expect(await store.activatePending('u', 'p1', activation)).toEqual({
        ok: false,
        reason: 'not_pending',
      });
      expect(await store.activatePending('u', 'p2', { ...activation, maxFactors: 1 })).toEqual({
        ok: false,
        reason: 'factor_limit',
      });
      const twin = factor('f9', { secretDigest: 'f1'.padEnd(43, 'D') });
      expect(
        await store.addFactor('u', twin, { maxFactors: 5, recoveryCodes: null, account }),
      ).toEqual({ ok: false, reason: 'duplicate_secret', factorId: 'f1' });
      const sameName = factor('f9', { nameKey: 'phone f1' });
      expect(
        await store.addFactor('u', sameName, { maxFactors: 5, recoveryCodes: null, account }),
      ).toEqual({ ok: false, reason: 'name_taken' });
      expect(await store.removeFactor('u', 'nope', { account })).toEqual({
        removed: false,
        remaining: 1,
      });
      expect(await dump(prefix, 'u')).toEqual(before);
      // No factor: replaceRecoveryCodes refuses; deleteFactors finds nothing.
      const { store: other } = await makeStore();
      const write = { version: 0, account: emptyAccount(1) };
      expect(
        await other.replaceRecoveryCodes('v', { salt: 's', hashes: [] }, { account: write }),
      ).toBe('no_factor');
      expect(await other.deleteFactors('v', { account: write })).toBe('nothing');
      expect(await other.getUser('v', T)).toBeNull();
    });

    it('each change writes the document with it and moves the version by one', async () => {
      const { store } = await makeStore();
      const steps: [string, (w: AccountWrite) => Promise<unknown>, unknown][] = [
        ['putPending', (account) => store.putPending('u', pending('f1'), { account }), 'stored'],
        [
          'activatePending',
          (account) =>
            store.activatePending('u', 'f1', {
              lastStep: 1,
              drift: 0,
              now: T,
              maxFactors: 5,
              recoveryCodes: { salt: 's', hashes: ['h'] },
              account,
            }),
          { ok: true, firstFactor: true, replaced: false },
        ],
        [
          'addFactor',
          (account) =>
            store.addFactor('u', factor('f2'), { maxFactors: 5, recoveryCodes: null, account }),
          { ok: true, firstFactor: false, replaced: false },
        ],
        [
          'replaceRecoveryCodes',
          (account) => store.replaceRecoveryCodes('u', { salt: 't', hashes: ['i'] }, { account }),
          'replaced',
        ],
        [
          'removeFactor',
          (account) => store.removeFactor('u', 'f2', { account }),
          { removed: true, remaining: 1 },
        ],
        ['deleteFactors', (account) => store.deleteFactors('u', { account }), 'deleted'],
        ['updateAccount', (account) => store.updateAccount('u', { ...account, now: T }), 'updated'],
        ['resetUser', (account) => store.resetUser('u', { ...account, now: T }), 'reset'],
      ];
      for (const [i, [op, call, outcome]] of steps.entries()) {
        const doc = {
          ...fullAccount(i + 1),
          budgets: [{ purpose: op, failures: i, windowStart: T }],
        };
        expect(await call({ version: i, account: doc }), op).toEqual(outcome);
        const record = await store.getUser('u', T);
        expect(record?.account, op).toEqual(doc);
        expect(record?.accountVersion, op).toBe(i + 1);
      }
      // putPending without an account write leaves the document alone.
      expect(await store.putPending('u', pending('f3'))).toBe('stored');
      expect((await store.getUser('u', T))?.accountVersion).toBe(steps.length);
    });

    it('resetUser removes factors, pending (and previous), codes and both throttle scopes, and writes the document', async () => {
      const { store, prefix } = await makeStore();
      await fullUser(store, 'u');
      const doc = emptyAccount(2);
      expect(await store.resetUser('u', { version: 2, account: doc, now: T })).toBe('reset');
      expect(await store.getUser('u', T)).toEqual({
        userId: 'u',
        factors: [],
        pending: null,
        recoveryCodes: null,
        throttle: {
          otp: { failures: 0, guesses: 0, blockedUntil: 0 },
          recovery: { failures: 0, guesses: 0, blockedUntil: 0 },
        },
        account: doc,
        accountVersion: 3,
      });
      expect(await dump(prefix, 'u')).toEqual({
        account: { type: 'hash', value: { v: '3', doc: JSON.stringify(doc) }, ttl: 'none' },
      });
      expect(await store.replaceSealedSecret('u', 'p1', 'x')).toBe(false); // previous gone
      // A user the store has nothing for: 'reset', and the document is created.
      expect(await store.resetUser('nobody', { version: 0, account: doc, now: T })).toBe('reset');
      expect(await store.getUser('nobody', T)).toMatchObject({ account: doc, accountVersion: 1 });
    });

    it('expires a factorless user’s document a minute after keepUntil, counted from the call’s time; never with a factor or keepUntil null', async () => {
      const { store, prefix } = await makeStore();
      const key = keyOf(prefix, 'u', 'account');
      const HOUR = 3_600_000;
      // The call's time is 2023 (as in the shared suites): the TTL is keepUntil − now + 1 min.
      const held = { ...emptyAccount(0), keepUntil: T + HOUR };
      expect(await store.updateAccount('u', { version: 0, account: held, now: T })).toBe('updated');
      let pttl = await raw().pttl(key);
      expect(pttl).toBeGreaterThan(HOUR + 50_000);
      expect(pttl).toBeLessThanOrEqual(HOUR + 60_000);
      // keepUntil null (generation > 0): no TTL.
      await store.updateAccount('u', { version: 1, account: emptyAccount(1), now: T });
      expect(await raw().pttl(key)).toBe(-1);
      // A user with an active factor keeps the document whatever keepUntil says.
      await store.addFactor('u', factor('f1'), {
        maxFactors: 5,
        recoveryCodes: null,
        account: { version: 2, account: held },
      });
      expect(await raw().pttl(key)).toBe(-1);
      await store.updateAccount('u', { version: 3, account: held, now: T });
      expect(await raw().pttl(key)).toBe(-1);
      // The last factor goes (no time in the call): PEXPIREAT keepUntil + 1 min by Redis's clock.
      const now = Date.now();
      const later = { ...emptyAccount(0), keepUntil: now + HOUR };
      await store.removeFactor('u', 'f1', { account: { version: 4, account: later } });
      expect(Number(await raw().call('PEXPIRETIME', key))).toBe(now + HOUR + 60_000);
      // resetUser leaves the user factorless: keepUntil counts from its now.
      await store.addFactor('u', factor('f2'), {
        maxFactors: 5,
        recoveryCodes: null,
        account: { version: 5, account: emptyAccount(1) },
      });
      await store.resetUser('u', { version: 6, account: held, now: T });
      pttl = await raw().pttl(key);
      expect(pttl).toBeGreaterThan(HOUR + 50_000);
      // A keepUntil more than a minute before the call's time: the document goes at once.
      await store.updateAccount('u', {
        version: 7,
        account: { ...emptyAccount(0), keepUntil: T - 60_001 },
        now: T,
      });
      expect(await raw().exists(key)).toBe(0);
      expect(await store.getUser('u', T)).toBeNull();
    });

    it('the throttle hash’s retention never takes the document with it', async () => {
      const { store, prefix } = await makeStore();
      // The factory's retention keeps throttle hashes; expire this one by hand, as Redis would.
      await store.putPending('u', pending('f1'));
      await store.activatePending('u', 'f1', {
        lastStep: 1,
        drift: 0,
        now: T,
        maxFactors: 5,
        recoveryCodes: null,
        account: { version: 0, account: emptyAccount(1) },
      });
      await store.reserveAttempt('u', { scope: 'otp', now: T, policy, weight: 1 });
      expect(
        await store.deleteFactors('u', { account: { version: 1, account: emptyAccount(2) } }),
      ).toBe('deleted');
      const throttle = keyOf(prefix, 'u', 'throttle');
      expect(await raw().pttl(throttle)).toBeGreaterThan(0); // the retention runs
      expect(await raw().pttl(keyOf(prefix, 'u', 'account'))).toBe(-1);
      await raw().pexpire(throttle, 1);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await raw().exists(throttle)).toBe(0);
      expect(await store.getUser('u', T)).toMatchObject({
        factors: [],
        throttle: { otp: { failures: 0 } },
        account: { generation: 2, keepUntil: null },
        accountVersion: 2,
      });
    });

    it('reads a 0.2 user (no account hash) as no document, version 0, and upgrades on the first write', async () => {
      const { store, prefix } = await makeStore();
      const stored = JSON.stringify({
        id: 'f1',
        name: 'Phone',
        nameKey: 'phone',
        sealedSecret: 'sealed-f1',
        algorithm: 'SHA1',
        digits: '6',
        period: '30',
        lastStep: '5',
        drift: '0',
        createdAt: String(T),
        activatedAt: String(T),
        lastUsedAt: null,
      });
      await raw().hset(keyOf(prefix, 'old', 'factors'), 'f1', stored);
      await raw().hset(keyOf(prefix, 'old', 'throttle'), { 'otp:failures': '2' });
      expect(await store.getUser('old', T)).toMatchObject({
        factors: [{ id: 'f1', lastStep: 5 }],
        account: null,
        accountVersion: 0,
      });
      const write = { version: 1, account: emptyAccount(1) };
      expect(await store.removeFactor('old', 'f1', { account: write })).toBe('conflict');
      expect(await store.removeFactor('old', 'f1', { account: { ...write, version: 0 } })).toEqual({
        removed: true,
        remaining: 0,
      });
      expect(await store.getUser('old', T)).toMatchObject({
        factors: [],
        throttle: { otp: { failures: 2, guesses: 2 } },
        account: emptyAccount(1),
        accountVersion: 1,
      });
    });

    it('exactly one of concurrent writes at the same version wins, per operation', async () => {
      const { store } = await makeStore();
      await store.updateAccount('u', { version: 0, account: emptyAccount(0), now: T });
      const outcomes = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          store.updateAccount('u', { version: 1, account: emptyAccount(i + 1), now: T }),
        ),
      );
      expect(outcomes.filter((o) => o === 'updated')).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'conflict')).toHaveLength(39);
      const winner = outcomes.indexOf('updated') + 1;
      expect(await store.getUser('u', T)).toMatchObject({
        account: { generation: winner },
        accountVersion: 2,
      });
      const resets = await Promise.all(
        Array.from({ length: 20 }, () =>
          store.resetUser('u', { version: 2, account: emptyAccount(99), now: T }),
        ),
      );
      expect(resets.filter((o) => o === 'reset')).toHaveLength(1);
    });
  });
}
