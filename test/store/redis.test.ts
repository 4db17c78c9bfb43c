// RedisStore on a real Redis server (a throwaway one on loopback, or
// TOTPKIT_REDIS_URL), through ioredis and through node-redis.
import { type Cluster, Redis } from 'ioredis';
import { createClient, type RedisClientType, type RedisClusterType } from 'redis';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { createMFA, MFAError, plaintextCipher } from '../../src/index.ts';
import { RedisStore, type RedisScriptClient } from '../../src/store/redis.ts';
import { testMFAStore } from '../../src/testing.ts';
import { redisPlan, type TestServer } from '../helpers/servers.ts';
import { startTCPProxy, type TCPProxy } from '../helpers/tcp-proxy.ts';
import { nextWrite } from '../helpers/account-write.ts';
import { NO_PROOFS } from '../helpers/mfa.ts';
import { describeAdapterCases } from './adapter-cases.ts';
import { describeRedisAccountCases } from './redis-account-cases.ts';
import { faultCases, restartCase, type FaultTarget } from './faults.ts';

const plan = redisPlan();
const external = Boolean(process.env.TOTPKIT_REDIS_URL);
if (external) console.warn('TOTPKIT_REDIS_URL is set: the server restart case is left out');

/**
 * Clients set to fail fast, as docs/stores.md recommends: a command sent while
 * the connection is down fails at once instead of waiting in a queue.
 */
async function failFastIORedis(url: string): Promise<Redis> {
  const client = new Redis(url, {
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    lazyConnect: true,
  });
  client.on('error', () => {});
  await client.connect();
  return client;
}
function failFastNodeRedis(url: string) {
  const client = createClient({ url, disableOfflineQueue: true });
  client.on('error', () => {});
  return client;
}
const run = Math.random().toString(36).slice(2, 8);
const T = 1_700_000_000_000;
/**
 * The shared suites run at fixed times in 2023 and 2025, and Redis expires a
 * factorless user's throttle hash at those times plus the retention by its own
 * clock (now): with the default 7 days, every such hash would be gone at once.
 * A century keeps them for the suites; the retention itself is tested below.
 */
const throttleRetentionMs = 100 * 365 * 86_400_000;

/** The hash tag of a user's keys: the id's UTF-8 bytes in base64url. */
const tagOf = (userId: string) => Buffer.from(userId).toString('base64url');

/** A factor as 0.2 stored it (3bc258e's scripts): no secretDigest, numbers as strings. */
function factor02(id: string) {
  return {
    id,
    name: `Key ${id}`,
    nameKey: `key ${id}`,
    sealedSecret: `sealed-${id}`,
    algorithm: 'SHA1' as const,
    digits: '6',
    period: '30',
    lastStep: '56666666',
    drift: '0',
    createdAt: String(T),
    activatedAt: String(T),
    lastUsedAt: null,
  };
}
/** factor02's numbers as the store takes them. */
const numbers = {
  digits: 6 as const,
  period: 30,
  lastStep: 56666666,
  drift: 0,
  createdAt: T,
  activatedAt: T,
};

describe.skipIf(!plan.run)('RedisStore on Redis', () => {
  let server: TestServer;
  let ioredis: Redis;
  let nodeRedis: ReturnType<typeof createClient>;
  let stores = 0;
  const prefix = () => `totpkit-test:${run}:${++stores}:`;

  beforeAll(async () => {
    if (!plan.run) return;
    server = await plan.start();
    ioredis = new Redis(server.url, { lazyConnect: true });
    await ioredis.connect();
    nodeRedis = createClient({ url: server.url });
    nodeRedis.on('error', () => {});
    await nodeRedis.connect();
  });

  afterAll(async () => {
    if (server && !server.owned) {
      const keys = await ioredis.keys(`totpkit-test:${run}:*`);
      if (keys.length > 0) await ioredis.del(...keys);
    }
    ioredis?.disconnect();
    await nodeRedis?.close();
    await server?.stop();
  });

  testMFAStore(
    'RedisStore (ioredis)',
    () => new RedisStore({ client: ioredis, prefix: prefix(), throttleRetentionMs }),
    { deleteExpired: false },
  );
  testMFAStore(
    'RedisStore (node-redis)',
    () => new RedisStore({ client: nodeRedis, prefix: prefix(), throttleRetentionMs }),
    { deleteExpired: false },
  );
  describeAdapterCases('RedisStore (ioredis)', async () => {
    return new RedisStore({ client: ioredis, prefix: prefix(), throttleRetentionMs });
  });
  describeAdapterCases('RedisStore (node-redis)', async () => {
    return new RedisStore({ client: nodeRedis, prefix: prefix(), throttleRetentionMs });
  });
  for (const [name, client] of [
    ['ioredis', () => ioredis],
    ['node-redis', () => nodeRedis],
  ] as const) {
    describeRedisAccountCases(
      `RedisStore (${name})`,
      async () => {
        const p = prefix();
        return {
          store: new RedisStore({ client: client(), prefix: p, throttleRetentionMs }),
          prefix: p,
        };
      },
      () => ioredis,
    );
  }

  const enrollment = {
    id: 'p',
    name: 'Phone',
    nameKey: 'phone',
    replaceFactorId: null,
    sealedSecret: 'sealed',
    secretDigest: 'D'.repeat(43),
    algorithm: 'SHA1' as const,
    digits: 6 as const,
    period: 30,
    createdAt: T,
    expiresAt: T + 600_000,
  };

  /** Writes a user as 0.2 left it in the current layout: factors and a throttle hash without guesses. */
  async function write02(
    p: string,
    userId: string,
    ids: string[],
    throttle: Record<string, string>,
  ) {
    const base = `${p}{${tagOf(userId)}}/`;
    for (const id of ids) await ioredis.hset(`${base}factors`, id, JSON.stringify(factor02(id)));
    await ioredis.hset(`${base}throttle`, throttle);
  }

  it('lays out keys as documented, the base64url user id as the hash tag', async () => {
    const p = prefix();
    const store = new RedisStore({ client: ioredis, prefix: p });
    await store.putPending('alice', enrollment);
    const pttl = await ioredis.pttl(`${p}{YWxpY2U}/enrollment`);
    expect(pttl).toBeGreaterThan(600_000);
    expect(pttl).toBeLessThanOrEqual(660_000); // the lifetime plus the margin
    const recoveryCodes = { salt: 's', hashes: ['h1', 'h2'] };
    const account = await nextWrite(store, 'alice');
    const activation = { lastStep: 5, drift: 0, now: T, maxFactors: 5, recoveryCodes, account };
    await store.activatePending('alice', 'p', activation);
    await store.reserveAttempt('alice', {
      scope: 'otp',
      now: T,
      policy: { freeAttempts: 5, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 5 },
      weight: 1,
    });
    expect((await ioredis.keys(`${p}*`)).sort()).toEqual(
      ['account', 'factors', 'recovery:codes', 'recovery:salt', 'throttle'].map(
        (k) => `${p}{YWxpY2U}/${k}`,
      ),
    );
    expect(await ioredis.hgetall(`${p}{YWxpY2U}/account`)).toEqual({
      v: '1',
      doc: JSON.stringify(account.account),
    });
    const stored = await ioredis.hgetall(`${p}{YWxpY2U}/factors`);
    expect(Object.keys(stored)).toEqual(['p']);
    expect(JSON.parse(stored.p!)).toEqual({
      id: 'p',
      name: 'Phone',
      nameKey: 'phone',
      sealedSecret: 'sealed',
      secretDigest: 'D'.repeat(43),
      algorithm: 'SHA1',
      digits: '6',
      period: '30',
      lastStep: '5',
      drift: '0',
      createdAt: String(T),
      activatedAt: String(T),
      lastUsedAt: null,
    });
    expect(await ioredis.lrange(`${p}{YWxpY2U}/recovery:codes`, 0, -1)).toEqual(['h1', 'h2']);
    expect(await ioredis.hgetall(`${p}{YWxpY2U}/throttle`)).toEqual({
      'otp:failures': '1',
      'otp:guesses': '1',
      'otp:blockedUntil': String(T),
    });
    // Failure counts must outlive any clock: no TTL on the throttle state.
    expect(await ioredis.pttl(`${p}{YWxpY2U}/throttle`)).toBe(-1);
    expect(await ioredis.pttl(`${p}{YWxpY2U}/factors`)).toBe(-1);
  });

  it('reads records written by 0.1.0 and upgrades them in place, with either client', async () => {
    for (const client of [ioredis, nodeRedis] as RedisScriptClient[]) {
      const p = prefix();
      // 0.1.0's layout: a factor hash, a pending hash with a TTL, codes, throttle.
      await ioredis.hset(`${p}{bob}:factor`, {
        id: 'f1',
        secret: 'sealed-1',
        algorithm: 'SHA256',
        digits: '8',
        period: '60',
        lastStep: '29166666',
        drift: '-2',
        activatedAt: String(T),
      });
      await ioredis.hset(`${p}{bob}:pending`, {
        id: 'p2',
        secret: 'sealed-p2',
        algorithm: 'SHA1',
        digits: '6',
        period: '30',
        createdAt: String(T),
        expiresAt: String(T + 600_000),
      });
      await ioredis.pexpire(`${p}{bob}:pending`, 600_000);
      await ioredis.set(`${p}{bob}:recovery:salt`, 'salt');
      await ioredis.rpush(`${p}{bob}:recovery:codes`, 'h1', 'h2');
      await ioredis.hset(`${p}{bob}:throttle`, { 'otp:failures': '3', 'otp:blockedUntil': '7' });
      const store = new RedisStore({ client, prefix: p });
      expect(await store.getUser('bob', T)).toEqual({
        userId: 'bob',
        factors: [
          {
            id: 'f1',
            name: 'Authenticator',
            nameKey: 'authenticator',
            sealedSecret: 'sealed-1',
            secretDigest: null,
            algorithm: 'SHA256',
            digits: 8,
            period: 60,
            lastStep: 29166666,
            drift: -2,
            createdAt: T,
            activatedAt: T,
            lastUsedAt: null,
          },
        ],
        // 0.1.0 bound a re-enrollment in place of the factor: it still will.
        pending: {
          id: 'p2',
          name: 'Authenticator',
          nameKey: 'authenticator',
          sealedSecret: 'sealed-p2',
          secretDigest: null,
          algorithm: 'SHA1',
          digits: 6,
          period: 30,
          createdAt: T,
          expiresAt: T + 600_000,
          replaceFactorId: 'f1',
          previous: null, // 0.1.0 kept no replaced enrollment
        },
        recoveryCodes: { salt: 'salt', hashes: ['h1', 'h2'] },
        throttle: {
          otp: { failures: 3, guesses: 3, blockedUntil: 7 },
          recovery: { failures: 0, guesses: 0, blockedUntil: 0 },
        },
        account: null, // 0.1.0 wrote no account document: version 0
        accountVersion: 0,
      });
      expect(await ioredis.exists(`${p}{bob}:factor`, `${p}{bob}:pending`)).toBe(0);
      const ttl = await ioredis.pttl(`${p}{Ym9i}/enrollment`);
      expect(ttl).toBeGreaterThan(590_000);
      expect(await store.recordSuccess('bob', 'f1', 29166667, 0, T)).toBe(true);
      expect(await store.recordSuccess('bob', 'f1', 29166667, 0, T)).toBe(false);
      const bound = await store.activatePending('bob', 'p2', {
        account: await nextWrite(store, 'bob'),
        lastStep: 58333340,
        drift: 0,
        now: T + 1,
        maxFactors: 5,
        recoveryCodes: null,
      });
      expect(bound).toEqual({ ok: true, firstFactor: false, replaced: true });
      expect((await store.getUser('bob', T))?.factors.map((f) => f.id)).toEqual(['p2']);
      expect((await store.getUser('bob', T))?.recoveryCodes).toEqual({
        salt: 'salt',
        hashes: ['h1', 'h2'],
      });
    }
  });

  it('moves keys of the layout before 0.2 ({userId}:…) in place, with either client', async () => {
    for (const client of [ioredis, nodeRedis] as RedisScriptClient[]) {
      const p = prefix();
      // Main before 0.2: the raw id as the hash tag, a factors hash, a lock.
      const factor = JSON.stringify({
        id: 'c1',
        name: 'Phone',
        nameKey: 'phone',
        sealedSecret: 'sealed-c1',
        algorithm: 'SHA1',
        digits: '6',
        period: '30',
        lastStep: '56666666',
        drift: '0',
        createdAt: String(T),
        activatedAt: String(T),
        lastUsedAt: null,
      });
      const pending = JSON.stringify({
        ...enrollment,
        digits: '6',
        period: '30',
        createdAt: String(T),
        expiresAt: String(T + 600_000),
      });
      for (const user of ['carol', 'd}ave', '}x']) {
        await ioredis.hset(`${p}{${user}}:factors`, 'c1', factor);
        await ioredis.set(`${p}{${user}}:enrollment`, pending, 'PX', 600_000);
        await ioredis.hset(`${p}{${user}}:throttle`, { 'otp:failures': '100' });
      }
      const store = new RedisStore({ client, prefix: p });
      // carol is moved by her first call, the others by migrateKeys().
      const carol = await store.getUser('carol', T);
      expect(carol?.factors.map((f) => [f.id, f.lastStep])).toEqual([['c1', 56666666]]);
      expect(carol?.pending?.id).toBe('p');
      expect(carol?.throttle.otp.failures).toBe(100); // not unlocked, not unenrolled
      expect(await ioredis.pttl(`${p}{Y2Fyb2w}/enrollment`)).toBeGreaterThan(500_000);
      expect(await store.recordSuccess('carol', 'c1', 56666666, 0, T)).toBe(false); // no replay
      expect(await store.migrateKeys()).toEqual({ users: 2 });
      expect(await store.migrateKeys()).toEqual({ users: 0 });
      expect(await ioredis.keys(`${p}{*}:*`)).toEqual([]);
      for (const user of ['d}ave', '}x']) {
        const record = await store.getUser(user, T);
        expect(record?.factors[0]?.lastStep).toBe(56666666);
        expect(record?.throttle.otp.failures).toBe(100);
      }
      // A key already in the current layout wins over a stale earlier one.
      await ioredis.hset(`${p}{carol}:throttle`, { 'otp:failures': '1' });
      expect((await store.getUser('carol', T))?.throttle.otp.failures).toBe(100);
      expect(await ioredis.exists(`${p}{carol}:throttle`)).toBe(0);
    }
  });

  // Issue 19.1: a throttle hash written by 0.2 (3bc258e's scripts: failures
  // and blockedUntil, no guesses) reads as 0.2 counted it, failures × max(1,
  // factors) in otp, and the first script that touches it writes that down,
  // so a lock of 0.2 survives the removal of factors and a disable.
  it('reads 0.2 throttle state and factors, and a user locked under 0.2 stays locked whatever happens to the factors, with either client', async () => {
    const policy = { freeAttempts: 100, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 100 };
    for (const client of [ioredis, nodeRedis] as RedisScriptClient[]) {
      const p = prefix();
      const store = new RedisStore({ client, prefix: p, throttleRetentionMs });
      await write02(p, 'locked', ['f1', 'f2'], {
        'otp:failures': '50', // 0.2's lock with 2 factors: ceil(100 / 2) = 50
        'otp:blockedUntil': String(T),
        'recovery:failures': '7',
        'recovery:blockedUntil': '0',
      });
      const record = await store.getUser('locked', T);
      expect(record?.throttle).toEqual({
        otp: { failures: 50, guesses: 100, blockedUntil: T },
        recovery: { failures: 7, guesses: 7, blockedUntil: 0 },
      });
      expect(record?.factors.map((f) => [f.id, f.secretDigest])).toEqual([
        ['f1', null],
        ['f2', null],
      ]);
      const reserve = { scope: 'otp', now: T + 1, policy, weight: 1 } as const;
      expect(await store.reserveAttempt('locked', reserve)).toEqual({
        ok: false,
        reason: 'locked',
      });
      expect(
        await store.removeFactor('locked', 'f2', { account: await nextWrite(store, 'locked') }),
      ).toEqual({ removed: true, remaining: 1 });
      expect(await store.reserveAttempt('locked', reserve)).toEqual({
        ok: false,
        reason: 'locked',
      });
      const login = { scope: 'otp', now: T + 1, policy, requirement: 'active' } as const;
      expect((await store.readAndReserve('locked', login)).reservation).toEqual({
        ok: false,
        reason: 'locked',
      });
      expect(
        await store.deleteFactors('locked', { account: await nextWrite(store, 'locked') }),
      ).toBe('deleted'); // disable
      await store.putPending('locked', { ...enrollment, createdAt: T, expiresAt: T + 600_000 });
      const binding = { ...login, requirement: 'pending' } as const;
      expect((await store.readAndReserve('locked', binding)).reservation).toEqual({
        ok: false,
        reason: 'locked',
      });
      expect(await ioredis.hget(`${p}{${tagOf('locked')}}/throttle`, 'otp:guesses')).toBe('100');

      // Not locked: 10 failures with 3 factors are 30 guesses; a login adds 3.
      await write02(p, 'three', ['a', 'b', 'c'], { 'otp:failures': '10' });
      expect(await store.readAndReserve('three', login)).toMatchObject({
        reservation: { ok: true, failures: 11, guesses: 33 },
      });
      // A 0.2 factor has no digest: it never counts as a duplicate (the service compares those).
      const added = await store.addFactor(
        'three',
        { ...factor02('d'), secretDigest: 'S'.repeat(43), ...numbers },
        { maxFactors: 5, recoveryCodes: null, account: await nextWrite(store, 'three') },
      );
      expect(added).toEqual({ ok: true, firstFactor: false, replaced: false });
      expect(
        await store.refundAttempt('three', {
          scope: 'otp',
          failures: 11,
          guesses: 33,
          weight: 3,
          blockedUntil: 0,
        }),
      ).toBe(true);
      expect((await store.getUser('three', T))?.throttle.otp).toEqual({
        failures: 10,
        guesses: 30,
        blockedUntil: 0,
      });
    }
  });

  // Issue 19.3: the erasure guard is a key in the user's slot, and no script
  // creates any other key for the user while it holds (the audit of every
  // write on a possibly missing key, as a test).
  it('deleteUser leaves only the guard key, which expires guardMs later, and no operation creates a key under it, with either client', async () => {
    const policy = { freeAttempts: 5, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 10 };
    for (const client of [ioredis, nodeRedis] as RedisScriptClient[]) {
      const p = prefix();
      const store = new RedisStore({ client, prefix: p, throttleRetentionMs });
      const keysOf = async (userId: string) =>
        (await ioredis.keys(`${p}{${tagOf(userId)}}/*`)).map((k) => k.slice(p.length)).sort();
      const codes = { salt: 's', hashes: ['h1'] };
      await store.putPending('gone', enrollment);
      const activation = {
        lastStep: 5,
        drift: 0,
        now: T,
        maxFactors: 5,
        recoveryCodes: codes,
        account: await nextWrite(store, 'gone'),
      };
      expect((await store.activatePending('gone', 'p', activation)).ok).toBe(true);
      await store.reserveAttempt('gone', { scope: 'recovery', now: T, policy, weight: 1 });
      await store.putPending('gone', { ...enrollment, id: 'p2' });
      expect(await keysOf('gone')).toHaveLength(6);

      const until = T + 60_000;
      expect(await store.deleteUser('gone', { now: T, guardMs: 60_000 })).toBe(true);
      const guard = `{${tagOf('gone')}}/erased`;
      expect(await keysOf('gone')).toEqual([guard]);
      expect(await ioredis.get(p + guard)).toBe(String(until));
      expect(await ioredis.pttl(p + guard)).toBeGreaterThan(55_000);
      expect(await ioredis.pttl(p + guard)).toBeLessThanOrEqual(60_000);

      // Every operation, just before until: refusals, or nothing to change.
      const at = until - 1;
      const f = { ...factor02('g'), secretDigest: null, ...numbers, activatedAt: at };
      expect(await store.putPending('gone', { ...enrollment, createdAt: at })).toBe('erased');
      expect(await store.activatePending('gone', 'p2', { ...activation, now: at })).toEqual({
        ok: false,
        reason: 'erased',
      });
      const account = { version: 0, account: activation.account.account };
      expect(
        await store.addFactor('gone', f, { maxFactors: 5, recoveryCodes: codes, account }),
      ).toEqual({
        ok: false,
        reason: 'erased',
      });
      for (const scope of ['otp', 'recovery'] as const) {
        expect(await store.reserveAttempt('gone', { scope, now: at, policy, weight: 2 })).toEqual({
          ok: false,
          reason: 'erased',
        });
        for (const requirement of ['active', 'pending'] as const) {
          expect(
            await store.readAndReserve('gone', { scope, now: at, policy, requirement }),
          ).toEqual({ record: null, reservation: null });
        }
        await store.resetThrottle('gone', scope);
        const refund = { scope, failures: 1, guesses: 1, weight: 1, blockedUntil: 0 };
        expect(await store.refundAttempt('gone', refund)).toBe(false);
      }
      expect(await store.recordSuccess('gone', 'p', 99, 0, at)).toBe(false);
      expect(await store.replaceRecoveryCodes('gone', codes, { account })).toBe('no_factor');
      expect(await store.replaceSealedSecret('gone', 'p', 'x')).toBe(false);
      expect(await store.consumeRecoveryCode('gone', 'h1')).toBe(false);
      expect(await store.renameFactor('gone', 'p', 'X', 'x')).toBe('not_found');
      expect(await store.removeFactor('gone', 'p', { account })).toEqual({
        removed: false,
        remaining: 0,
      });
      expect(await store.deleteFactors('gone', { account })).toBe('nothing');
      expect(await store.updateAccount('gone', { ...account, now: at })).toBe('erased');
      expect(await store.resetUser('gone', { ...account, now: at })).toBe('erased');
      expect(await store.getUser('gone', at)).toBeNull();
      expect(await keysOf('gone')).toEqual([guard]);

      // From until on (the service's time), state can be created again.
      expect(await store.putPending('gone', { ...enrollment, createdAt: until })).toBe('stored');
      // Erasing again replaces the guard; guardMs 0 leaves none.
      expect(await store.deleteUser('gone', { now: T, guardMs: 0 })).toBe(true);
      expect(await keysOf('gone')).toEqual([]);
      expect(await store.putPending('gone', enrollment)).toBe('stored');
      // A user the store had nothing for gets a guard too.
      expect(await store.deleteUser('nobody', { now: T, guardMs: 60_000 })).toBe(false);
      expect(await keysOf('nobody')).toEqual([`{${tagOf('nobody')}}/erased`]);
    }
  });

  it('loads its scripts again after SCRIPT FLUSH (NOSCRIPT), with either client', async () => {
    for (const client of [ioredis, nodeRedis] as RedisScriptClient[]) {
      const store = new RedisStore({ client, prefix: prefix() });
      await store.putPending('u', enrollment);
      await ioredis.script('FLUSH');
      expect((await store.getUser('u', T))?.pending?.id).toBe('p');
      expect(await store.deleteFactors('u', { account: await nextWrite(store, 'u') })).toBe(
        'deleted',
      );
    }
  });

  // Point 6 of issue 13: the throttle state of a user without an active factor
  // expires at max(otp.blockedUntil, recovery.blockedUntil, pending expiresAt)
  // + throttleRetentionMs; users with a factor keep it without expiry.
  it("expires a factorless user's throttle hash by the rule, and persists it with a factor, with either client", async () => {
    const DAY = 86_400_000;
    for (const client of [ioredis, nodeRedis] as RedisScriptClient[]) {
      const p = prefix();
      const store = new RedisStore({ client, prefix: p }); // default retention: 7 days
      const throttleKey = `${p}{dQ}/throttle`;
      const expireTime = async () => Number(await ioredis.call('PEXPIRETIME', throttleKey));
      const now = Date.now();
      const slow = { freeAttempts: 0, baseDelayMs: 60_000, maxDelayMs: 60_000, maxFailures: 10 };
      const rule = async (pendingExpiresAt = 0) => {
        const t = (await store.getUser('u', now))!.throttle;
        const at = Math.max(t.otp.blockedUntil, t.recovery.blockedUntil, pendingExpiresAt);
        return at + 7 * DAY;
      };
      const factor = { ...enrollment, createdAt: now, expiresAt: now + 600_000 };
      await store.putPending('u', factor);
      await store.activatePending('u', 'p', {
        account: await nextWrite(store, 'u'),
        lastStep: 5,
        drift: 0,
        now,
        maxFactors: 5,
        recoveryCodes: null,
      });
      await store.reserveAttempt('u', { scope: 'otp', now: now, policy: slow, weight: 1 }); // blockedUntil now + 60 s
      await store.reserveAttempt('u', { scope: 'recovery', now: now + 1, policy: slow, weight: 1 }); // now + 60.001 s
      expect(await ioredis.pttl(throttleKey)).toBe(-1); // a factor: no expiry

      expect(await store.deleteFactors('u', { account: await nextWrite(store, 'u') })).toBe(
        'deleted',
      ); // disable
      expect(await expireTime()).toBe(now + 1 + 60_000 + 7 * DAY);
      expect(await expireTime()).toBe(await rule());

      // An enrollment that outlives the lock moves the expiry with it.
      const later = { ...enrollment, id: 'p2', createdAt: now, expiresAt: now + 3_600_000 };
      await store.putPending('u', later);
      expect(await expireTime()).toBe(now + 3_600_000 + 7 * DAY);
      // An attempt at completing it (no factor yet) keeps the rule.
      const fast = { ...slow, baseDelayMs: 0, maxDelayMs: 0 };
      const attempt = await store.readAndReserve('u', {
        scope: 'otp',
        now: now + 120_000,
        policy: fast,
        requirement: 'pending',
      });
      expect(attempt.reservation).toEqual({ ok: true, failures: 2, guesses: 2 });
      expect(await expireTime()).toBe(await rule(later.expiresAt));

      // A factor again (imported): no expiry.
      await store.addFactor(
        'u',
        {
          id: 'f2',
          name: 'Key',
          nameKey: 'key',
          sealedSecret: 'sealed',
          secretDigest: null,
          algorithm: 'SHA1',
          digits: 6,
          period: 30,
          lastStep: 0,
          drift: 0,
          createdAt: now,
          activatedAt: now,
          lastUsedAt: null,
        },
        { maxFactors: 5, recoveryCodes: null, account: await nextWrite(store, 'u') },
      );
      expect(await ioredis.pttl(throttleKey)).toBe(-1);
      await store.reserveAttempt('u', {
        scope: 'otp',
        now: now + 180_000,
        policy: slow,
        weight: 1,
      });
      expect(await ioredis.pttl(throttleKey)).toBe(-1);

      // Removing the last factor starts the expiry again (the enrollment went with it).
      expect(await store.removeFactor('u', 'f2', { account: await nextWrite(store, 'u') })).toEqual(
        { removed: true, remaining: 0 },
      );
      expect(await expireTime()).toBe(now + 180_000 + 60_000 + 7 * DAY);
      expect(await expireTime()).toBe(await rule());
    }
  });

  it('removes the throttle hash once its retention has passed, with either client', async () => {
    for (const client of [ioredis, nodeRedis] as RedisScriptClient[]) {
      const p = prefix();
      const store = new RedisStore({ client, prefix: p, throttleRetentionMs: 1_000 });
      const past = Date.now() - 60_000; // an attempt a minute ago; retention 1 s
      const policy = { freeAttempts: 5, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 10 };
      await store.putPending('v', { ...enrollment, createdAt: past, expiresAt: past + 1 });
      await store.activatePending('v', 'p', {
        account: await nextWrite(store, 'v'),
        lastStep: 1,
        drift: 0,
        now: past,
        maxFactors: 5,
        recoveryCodes: null,
      });
      await store.reserveAttempt('v', { scope: 'otp', now: past, policy: policy, weight: 1 });
      expect((await store.getUser('v', past))?.throttle.otp.failures).toBe(1);
      await store.deleteFactors('v', { account: await nextWrite(store, 'v') });
      // past + 1 s is over: Redis removed the hash; the account document
      // (generation 2, keepUntil null) is all that is left of the user.
      expect(await ioredis.exists(`${p}{dg}/throttle`)).toBe(0);
      expect(await store.getUser('v', past)).toMatchObject({
        factors: [],
        pending: null,
        recoveryCodes: null,
        throttle: { otp: { failures: 0 }, recovery: { failures: 0 } },
        account: { generation: 2, keepUntil: null },
        accountVersion: 2,
      });
      expect(await ioredis.pttl(`${p}{dg}/account`)).toBe(-1);
      // A lock that still counts is kept (blockedUntil an hour ahead).
      const ahead = { ...policy, freeAttempts: 0, baseDelayMs: 3_600_000, maxDelayMs: 3_600_000 };
      await store.putPending('v', { ...enrollment, createdAt: past, expiresAt: past + 1 });
      await store.activatePending('v', 'p', {
        account: await nextWrite(store, 'v'),
        lastStep: 1,
        drift: 0,
        now: past,
        maxFactors: 5,
        recoveryCodes: null,
      });
      await store.reserveAttempt('v', { scope: 'otp', now: past, policy: ahead, weight: 1 });
      await store.deleteFactors('v', { account: await nextWrite(store, 'v') });
      expect(await ioredis.pttl(`${p}{dg}/throttle`)).toBeGreaterThan(3_500_000);
    }
  });

  // Point 1 of issue 13: with `replicas`, a write that too few replicas
  // acknowledged is a failure, never a success. This server has no replica.
  it('with replicas set and no replica, every write fails as NOREPLICAS and reads still work, with either client', async () => {
    for (const client of [ioredis, nodeRedis] as RedisScriptClient[]) {
      const p = prefix();
      const store = new RedisStore({ client, prefix: p, replicas: { count: 1, timeoutMs: 10 } });
      const error = (await store.putPending('w', enrollment).catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(Error);
      expect(error.message).toBe(
        'NOREPLICAS WAIT: 0 of 1 replica(s) acknowledged the write within 10 ms; ' +
          'the write was applied on the primary and a failover may lose it',
      );
      // The write did happen on this server: a failed call may have taken effect.
      expect((await store.getUser('w', T))?.pending?.id).toBe('p');
      const account = await nextWrite(store, 'w');
      await expect(store.deleteFactors('w', { account })).rejects.toThrow(/^NOREPLICAS/);
      expect(await store.getUser('w', T)).toMatchObject({ pending: null, accountVersion: 1 });
      await expect(store.updateAccount('w', { ...account, version: 1, now: T })).rejects.toThrow(
        /^NOREPLICAS/,
      );
      await expect(store.resetUser('w', { ...account, version: 2, now: T })).rejects.toThrow(
        /^NOREPLICAS/,
      );
      expect(await store.getUser('w', T)).toMatchObject({ accountVersion: 3 });

      const sent: string[] = [];
      const mfa = createMFA({
        store,
        issuer: 'Acme',
        cipher: plaintextCipher(),
        policy: { proofs: NO_PROOFS },
        verification: { key: new Uint8Array(32), sender: async ({ code }) => void sent.push(code) },
      });
      expect(await mfa.status('w')).toMatchObject({ state: 'none' }); // a read: no WAIT
      // An account write of the service (a code's compare-and-set) fails the same way, unsent.
      const unsent = (await mfa
        .sendVerificationCode('w', {
          channel: 'email',
          destination: 'w@example.com',
          purpose: 'enroll',
        })
        .catch((e: unknown) => e)) as MFAError;
      expect(unsent).toBeInstanceOf(MFAError);
      expect(unsent.code).toBe('ERR_STORE');
      expect(unsent.message).toMatch(
        /^store\.updateAccount failed: too few Redis replicas acknowledged the write/,
      );
      expect(sent).toEqual([]);
      const failed = (await mfa
        .beginEnrollment('w', { accountName: 'w@example.com' })
        .catch((e: unknown) => e)) as MFAError;
      expect(failed).toBeInstanceOf(MFAError);
      expect(failed.code).toBe('ERR_STORE');
      expect(failed.message).toMatch(
        /^store\.putPending failed: too few Redis replicas acknowledged the write/,
      );
      expect(String((failed.cause as Error).message)).toMatch(/^NOREPLICAS WAIT: 0 of 1/);
    }
  });

  it('works under an ioredis keyPrefix', async () => {
    const prefixed = new Redis(server.url, { keyPrefix: `totpkit-test:${run}:kp:` });
    try {
      const store = new RedisStore({ client: prefixed, prefix: '' });
      await store.putPending('u', enrollment);
      expect(await ioredis.exists(`totpkit-test:${run}:kp:{dQ}/enrollment`)).toBe(1);
      expect((await store.getUser('u', T))?.pending?.id).toBe('p');
    } finally {
      prefixed.disconnect();
    }
  });

  describe('faults', () => {
    let proxy: TCPProxy;
    let proxiedUrl: string;
    const closers: (() => Promise<unknown>)[] = [];

    beforeAll(async () => {
      const url = new URL(server.url);
      proxy = await startTCPProxy(url.hostname, Number(url.port));
      url.port = String(proxy.port);
      proxiedUrl = url.toString();
    });

    afterAll(async () => {
      for (const close of closers) await close().catch(() => {});
      await proxy?.close();
    });

    describe('ioredis', () => {
      let target: FaultTarget;
      beforeAll(async () => {
        const client = await failFastIORedis(proxiedUrl);
        closers.push(async () => client.disconnect());
        const p = prefix();
        const proxied = new RedisStore({ client, prefix: p });
        target = { proxied, proxy, direct: new RedisStore({ client: ioredis, prefix: p }) };
      });
      faultCases(() => target);
    });

    describe('node-redis', () => {
      let target: FaultTarget;
      beforeAll(async () => {
        const client = failFastNodeRedis(proxiedUrl);
        await client.connect();
        closers.push(() => client.close());
        const p = prefix();
        const proxied = new RedisStore({ client, prefix: p });
        target = { proxied, proxy, direct: new RedisStore({ client: ioredis, prefix: p }) };
      });
      faultCases(() => target);
    });
  });

  // A server of its own, with an fsynced append-only file, so that it comes
  // back from a kill with its data; without one, Redis forgets every used step.
  describe.skipIf(external)('restart', () => {
    let persistent: TestServer;
    let target: FaultTarget & { server: TestServer };
    const closers: (() => Promise<unknown>)[] = [];

    beforeAll(async () => {
      if (!plan.run) return;
      persistent = await plan.start({ persistent: true });
      const url = new URL(persistent.url);
      const proxy = await startTCPProxy(url.hostname, Number(url.port));
      closers.push(() => proxy.close());
      url.port = String(proxy.port);
      const proxiedClient = await failFastIORedis(url.toString());
      const directClient = await failFastIORedis(persistent.url);
      closers.push(async () => proxiedClient.disconnect());
      closers.push(async () => directClient.disconnect());
      target = {
        proxied: new RedisStore({ client: proxiedClient }),
        direct: new RedisStore({ client: directClient }),
        proxy,
        server: persistent,
      };
    });

    afterAll(async () => {
      for (const close of closers) await close().catch(() => {});
      await persistent?.stop();
    });

    restartCase(() => target);
  });
});

describe('RedisStore options', () => {
  const client = { evalsha: async () => 0, eval: async () => 0, pipeline: () => ({}) };

  it('checks the prefix, naming the field', () => {
    for (const prefix of ['a{b', 'a}b', 'x'.repeat(101)]) {
      expect(() => new RedisStore({ client, prefix })).toThrow(RangeError);
      expect(() => new RedisStore({ client, prefix })).toThrow(/"prefix"/);
    }
    expect(() => new RedisStore({ client, prefix: 1 as never })).toThrow(TypeError);
  });

  it('checks replicas and throttleRetentionMs, naming the field', () => {
    const bad: [unknown, ErrorConstructor, RegExp][] = [
      [null, TypeError, /"replicas" must be an object/],
      [
        { count: 0, timeoutMs: 100 },
        RangeError,
        /"replicas.count" must be an integer from 1 to 100/,
      ],
      [{ count: 1.5, timeoutMs: 100 }, RangeError, /"replicas.count"/],
      [{ count: '1', timeoutMs: 100 }, TypeError, /"replicas.count"/],
      [{ count: 1 }, TypeError, /"replicas.timeoutMs" must be an integer/],
      [
        { count: 1, timeoutMs: 0 },
        RangeError,
        /"replicas.timeoutMs" must be an integer from 1 to 60000/,
      ],
      [{ count: 1, timeoutMs: 60_001 }, RangeError, /"replicas.timeoutMs"/],
    ];
    for (const [replicas, type, message] of bad) {
      const make = () => new RedisStore({ client, replicas: replicas as never });
      expect(make).toThrow(type);
      expect(make).toThrow(message);
    }
    expect(() => new RedisStore({ client, replicas: { count: 2, timeoutMs: 500 } })).not.toThrow();
    // replicas needs pipeline() (ioredis) or sendCommand() (node-redis).
    expect(() => new RedisStore({ client, replicas: { count: 1, timeoutMs: 1 } })).not.toThrow();
    const noPipeline = { evalsha: async () => 0, eval: async () => 0 };
    expect(
      () => new RedisStore({ client: noPipeline as never, replicas: { count: 1, timeoutMs: 1 } }),
    ).toThrow(/"replicas" needs an ioredis client with pipeline\(\)/);
    for (const throttleRetentionMs of [-1, 1.5, Number.MAX_SAFE_INTEGER + 2]) {
      expect(() => new RedisStore({ client, throttleRetentionMs })).toThrow(RangeError);
      expect(() => new RedisStore({ client, throttleRetentionMs })).toThrow(
        /"throttleRetentionMs"/,
      );
    }
    expect(() => new RedisStore({ client, throttleRetentionMs: '1' as never })).toThrow(TypeError);
    expect(() => new RedisStore({ client, throttleRetentionMs: 0 })).not.toThrow();
  });

  it('takes the client types of ioredis and node-redis, clusters included (checked by tsc)', () => {
    expectTypeOf<Redis>().toExtend<RedisScriptClient>();
    expectTypeOf<Cluster>().toExtend<RedisScriptClient>();
    expectTypeOf<RedisClientType>().toExtend<RedisScriptClient>();
    expectTypeOf<RedisClusterType>().toExtend<RedisScriptClient>();
    expectTypeOf<{ evalsha: () => void }>().not.toExtend<RedisScriptClient>();
  });

  it('recognises ioredis and node-redis clients, and nothing else', () => {
    expect(() => new RedisStore({ client: {} as never })).toThrow(/"client"/);
    expect(() => new RedisStore({ client: { eval: () => 0 } as never })).toThrow(TypeError);
    expect(() => new RedisStore({ client })).not.toThrow();
    const nodeShape = { evalSha: async () => 0, eval: async () => 0 };
    expect(() => new RedisStore({ client: nodeShape })).not.toThrow();
  });

  it('checks the scope, policy, weight, guard and user id before anything reaches the server', async () => {
    let calls = 0;
    const counting = {
      evalsha: async () => {
        calls += 1;
        return 0;
      },
      eval: async () => 0,
    };
    const store = new RedisStore({ client: counting });
    const policy = { freeAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, maxFailures: 1 };
    const reserve = (options: object) => store.reserveAttempt('u', options as never);
    await expect(reserve({ scope: 'sms', now: T, policy, weight: 1 })).rejects.toThrow(/"scope"/);
    await expect(
      reserve({ scope: 'otp', now: T, policy: { ...policy, baseDelayMs: 0.5 }, weight: 1 }),
    ).rejects.toThrow(/"policy.baseDelayMs"/);
    for (const weight of [0, 21, 1.5]) {
      await expect(reserve({ scope: 'otp', now: T, policy, weight })).rejects.toThrow(
        /"weight" must be an integer from 1 to 20/,
      );
    }
    await expect(
      store.refundAttempt('u', {
        scope: 'otp',
        failures: 1,
        guesses: 1,
        weight: 0,
        blockedUntil: 0,
      }),
    ).rejects.toThrow(/"weight"/);
    await expect(store.resetThrottle('u', 'x' as never)).rejects.toThrow(TypeError);
    const read = (options: object) => store.readAndReserve('u', options as never);
    await expect(read({ scope: 'otp', now: T, policy, requirement: 'all' })).rejects.toThrow(
      /"requirement" must be 'active' or 'pending'/,
    );
    await expect(read({ scope: 'sms', now: T, policy, requirement: 'active' })).rejects.toThrow(
      /"scope"/,
    );
    for (const guardMs of [-1, 0.5]) {
      await expect(store.deleteUser('u', { now: T, guardMs })).rejects.toThrow(/"guardMs"/);
    }
    // Ill-formed ids, refused before the server is asked (the client would answer).
    for (const userId of ['', 'a\uD800', '\uFFFD', 'x'.repeat(257)]) {
      await expect(store.getUser(userId, T), JSON.stringify(userId)).rejects.toThrow(/"userId"/);
      await expect(store.deleteUser(userId, { now: T, guardMs: 1 })).rejects.toThrow(/"userId"/);
    }
    expect(calls).toBe(0);
  });
});
