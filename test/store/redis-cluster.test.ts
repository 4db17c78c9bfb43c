// RedisStore on a real 3-master Redis Cluster (test/helpers/redis-cluster.ts),
// through ioredis `Cluster` and node-redis `createCluster`: the conformance
// suite, ids that used to empty the hash tag, NOSCRIPT after SCRIPT FLUSH and
// inside ioredis's wrapped error, the key migration from earlier layouts, a
// least-privilege ACL user, the cross-process race, and slots moved between
// masters while logins run.
import fc from 'fast-check';
import { Cluster, Redis } from 'ioredis';
import { createCluster } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTOTP, MFAError } from '../../src/index.ts';
import { RedisStore, type RedisScriptClient } from '../../src/store/redis.ts';
import { testMFAStore } from '../../src/testing.ts';
import { emptyAccount, nextWrite } from '../helpers/account-write.ts';
import { keySlot } from '../helpers/keyslot.ts';
import { clusterUnsettled, redisClusterPlan, type TestCluster } from '../helpers/redis-cluster.ts';
import { waitFor } from '../helpers/servers.ts';
import { describeAdapterCases } from './adapter-cases.ts';
import { describeRedisAccountCases } from './redis-account-cases.ts';
import { accountRaces } from './cross-process-account.ts';
import { crossProcessCases } from './cross-process-cases.ts';
import { crossProcessRaces } from './cross-process-races.ts';
import { enroll, OPEN_THROTTLE, T0, testMFA } from './mfa-setup.ts';
import { startWorkers, type WorkerSpec, type Workers } from './workers.ts';

const plan = redisClusterPlan();
const run = Math.random().toString(36).slice(2, 8);
const T = 1_700_000_000_000;
/**
 * The shared suites run at fixed times in the past, and Redis expires a
 * factorless user's throttle hash at such a time plus the retention, by its
 * own clock: a century keeps them for the suites (as in redis.test.ts).
 */
const throttleRetentionMs = 100 * 365 * 86_400_000;
type NodeRedisCluster = ReturnType<typeof nodeRedisCluster>;

function nodeRedisCluster(
  nodes: readonly { host: string; port: number }[],
  auth: { username?: string; password?: string } = {},
) {
  const cluster = createCluster({
    rootNodes: nodes.map((n) => ({ url: `redis://${n.host}:${n.port}` })),
    defaults: auth,
  });
  cluster.on('error', () => {});
  return cluster;
}

/** A pending enrollment as the store takes it. */
const enrollment = {
  id: 'p',
  name: 'Phone',
  nameKey: 'phone',
  replaceFactorId: null,
  sealedSecret: 'sealed',
  secretDigest: null,
  algorithm: 'SHA1' as const,
  digits: 6 as const,
  period: 30,
  createdAt: T,
  expiresAt: T + 600_000,
};

describe.skipIf(!plan.run)('RedisStore on a 3-master Redis Cluster', () => {
  let cluster: TestCluster;
  let io: Cluster;
  let nodeRedis: NodeRedisCluster;
  /** Plain connections to each master, for administration. */
  let admins: Redis[];
  let prefixes = 0;
  const prefix = () => `totpkit-cluster:${run}:${++prefixes}:`;
  const clients = () =>
    [
      ['ioredis', io],
      ['node-redis', nodeRedis],
    ] as const;

  /** A store whose layout marker is set (a fresh prefix holds no earlier keys). */
  async function freshStore(client: RedisScriptClient, p = prefix()): Promise<RedisStore> {
    const store = new RedisStore({ client, prefix: p, throttleRetentionMs });
    expect(await store.migrateKeys()).toEqual({ users: 0 });
    return store;
  }

  /** SCRIPT FLUSH on every master. */
  async function flushScripts() {
    for (const admin of admins) await admin.script('FLUSH');
  }

  beforeAll(async () => {
    if (!plan.run) return;
    cluster = await plan.start();
    io = new Cluster([...cluster.nodes]);
    io.on('error', () => {});
    nodeRedis = nodeRedisCluster(cluster.nodes);
    await nodeRedis.connect();
    admins = cluster.nodes.map((n) => new Redis(n.port, n.host));
    await io.ping();
  }, 120_000);

  afterAll(async () => {
    io?.disconnect();
    await nodeRedis?.close();
    for (const admin of admins ?? []) admin.disconnect();
    await cluster?.stop();
  });

  describe('conformance', () => {
    const ioPrefix = `totpkit-cluster:${run}:conformance-io:`;
    const nodePrefix = `totpkit-cluster:${run}:conformance-node:`;
    beforeAll(async () => {
      if (!plan.run) return;
      await freshStore(io, ioPrefix);
      await freshStore(nodeRedis, nodePrefix);
    });
    testMFAStore(
      'RedisStore on Cluster (ioredis)',
      () => new RedisStore({ client: io, prefix: ioPrefix, throttleRetentionMs }),
      { deleteExpired: false },
    );
    testMFAStore(
      'RedisStore on Cluster (node-redis)',
      () => new RedisStore({ client: nodeRedis, prefix: nodePrefix, throttleRetentionMs }),
      { deleteExpired: false },
    );
    describeAdapterCases('RedisStore on Cluster (ioredis)', () => freshStore(io));
    describeAdapterCases('RedisStore on Cluster (node-redis)', () => freshStore(nodeRedis));
    for (const [name, client] of [
      ['ioredis', () => io],
      ['node-redis', () => nodeRedis],
    ] as const) {
      describeRedisAccountCases(
        `RedisStore on Cluster (${name})`,
        async () => {
          const p = prefix();
          return { store: await freshStore(client(), p), prefix: p };
        },
        () => io,
      );
    }
  });

  it('computes the same slots as CLUSTER KEYSLOT', async () => {
    const ids = fc.sample(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }), 40);
    const keys = [
      ...ids.map((id) => `totpkit:{${Buffer.from(id).toString('base64url')}}/factors`),
      ...ids.map((id) => `totpkit:{${id}}:factors`), // the earlier layout, braces and all
      '123456789',
      '{}x',
      '}{a}',
    ];
    for (const key of keys) {
      expect(keySlot(key), key).toBe(await admins[0]!.cluster('KEYSLOT', key));
    }
  });

  it('serves ids that start with }, hold {} or astral characters, with either client', async () => {
    const ids = ['}', '}x', '{}', '}{a}', 'a}b{', '😀{', '{😀}', '}}}/factors'];
    for (const [name, client] of clients()) {
      const store = await freshStore(client);
      const { mfa, clock } = testMFA(store);
      for (const userId of ids) {
        const { secret } = await enroll(mfa, clock, userId, T0);
        const now = T0 + 30_000;
        clock.now = now;
        const code = generateTOTP(secret, { now });
        expect(await mfa.verify(userId, code), `${name} ${userId}`).toMatchObject({ ok: true });
        expect(await mfa.verify(userId, code), `${name} ${userId}`).toMatchObject({
          ok: false,
          reason: 'replayed',
        });
      }
    }
  });

  describe('NOSCRIPT', () => {
    it('loads its scripts again after SCRIPT FLUSH on every master, with either client', async () => {
      for (const [, client] of clients()) {
        const store = await freshStore(client);
        for (const userId of ['u1', 'u2', 'u3', 'u4']) {
          await flushScripts();
          await store.putPending(userId, enrollment);
          await flushScripts();
          expect((await store.getUser(userId, T))?.pending?.id).toBe('p');
        }
      }
    });

    it('recognises the NOSCRIPT that ioredis Cluster wraps once its redirections run out', async () => {
      // With maxRedirections 0, ioredis wraps the first error reply it gets,
      // as it does after 16 redirections during a failover or a resharding.
      const strict = new Cluster([...cluster.nodes], { maxRedirections: 0 });
      strict.on('error', () => {});
      try {
        const wrapped = await strict.evalsha('0'.repeat(40), 1, 'k').then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(wrapped).toBeInstanceOf(Error);
        expect((wrapped as Error).message).toMatch(
          /^Too many Cluster redirections\. Last error: ReplyError: NOSCRIPT/,
        );
        const store = await freshStore(strict);
        for (const userId of ['w1', 'w2', 'w3']) {
          await flushScripts();
          await store.putPending(userId, enrollment);
          await flushScripts();
          expect((await store.getUser(userId, T))?.pending?.id).toBe('p');
        }
      } finally {
        strict.disconnect();
      }
    });
  });

  describe('keys of earlier layouts', () => {
    /** Writes, through plain commands, bob in 0.1.0's layout and carol, d}ave in 0.1.x's. */
    async function seed(p: string) {
      await io.hset(`${p}{bob}:factor`, {
        id: 'f1',
        secret: 'sealed-1',
        algorithm: 'SHA256',
        digits: '8',
        period: '60',
        lastStep: '29166666',
        drift: '-2',
        activatedAt: String(T),
      });
      await io.hset(`${p}{bob}:pending`, {
        id: 'p2',
        secret: 'sealed-p2',
        algorithm: 'SHA1',
        digits: '6',
        period: '30',
        createdAt: String(T),
        expiresAt: String(T + 600_000),
      });
      await io.pexpire(`${p}{bob}:pending`, 600_000);
      await io.set(`${p}{bob}:recovery:salt`, 'salt');
      await io.rpush(`${p}{bob}:recovery:codes`, 'h1', 'h2');
      await io.hset(`${p}{bob}:throttle`, { 'otp:failures': '3', 'otp:blockedUntil': '7' });
      for (const user of ['carol', 'd}ave']) {
        const factor = {
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
        };
        await io.hset(`${p}{${user}}:factors`, 'c1', JSON.stringify(factor));
        await io.hset(`${p}{${user}}:throttle`, { 'otp:failures': '100' });
      }
    }

    const bob = {
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
        otp: { failures: 3, guesses: 3, blockedUntil: 7 }, // 1 factor: guesses as failures
        recovery: { failures: 0, guesses: 0, blockedUntil: 0 },
      },
      account: null, // no earlier layout has an account document: version 0
      accountVersion: 0,
    };

    it('refuses to run until migrateKeys() has moved them, then serves every user, with either client', async () => {
      for (const [name, client] of clients()) {
        const p = prefix();
        await seed(p);
        const store = new RedisStore({ client, prefix: p });
        // Before the migration nobody may look unenrolled: every call fails closed.
        const refused = await store.getUser('bob', T).catch((error: unknown) => error);
        expect(refused, name).toBeInstanceOf(MFAError);
        expect((refused as MFAError).code).toBe('ERR_STORE');
        expect((refused as Error).message).toMatch(/migrateKeys\(\)/);
        await expect(store.check({ assumeNoEviction: true })).rejects.toThrow(/migrateKeys\(\)/);

        // A run stopped after writing carol's current keys, before deleting her old ones.
        await io.hset(`${p}{${Buffer.from('carol').toString('base64url')}}/factors`, {
          c1: await io.hget(`${p}{carol}:factors`, 'c1'),
        });
        expect(await store.migrateKeys(), name).toEqual({ users: 3 });
        expect(await store.migrateKeys(), name).toEqual({ users: 0 }); // idempotent
        await store.check({ assumeNoEviction: true });

        expect(await store.getUser('bob', T)).toEqual(bob);
        const pttl = await io.pttl(`${p}{Ym9i}/enrollment`);
        expect(pttl).toBeGreaterThan(500_000);
        expect(pttl).toBeLessThanOrEqual(600_000);
        for (const user of ['carol', 'd}ave']) {
          const record = await store.getUser(user, T);
          expect(record?.factors.map((f) => [f.id, f.lastStep])).toEqual([['c1', 56666666]]);
          expect(record?.throttle.otp.failures).toBe(100); // the lock came along
          expect(await store.recordSuccess(user, 'c1', 56666666, 0, T)).toBe(false); // no replay
        }
        // Nothing is left in the earlier layout, on any master.
        for (const admin of admins) expect(await admin.keys(`${p}{*}:*`)).toEqual([]);
        // A second store on the same cluster sees the marker.
        const other = new RedisStore({ client, prefix: p });
        expect((await other.getUser('bob', T))?.factors[0]?.id).toBe('f1');
      }
    });

    it('moves a user again when an older version writes between the read and the delete', async () => {
      const p = prefix();
      const factor = (lastStep: number) =>
        JSON.stringify({
          id: 'e1',
          name: 'Phone',
          nameKey: 'phone',
          sealedSecret: 'sealed-e1',
          algorithm: 'SHA1',
          digits: '6',
          period: '30',
          lastStep: String(lastStep),
          drift: '0',
          createdAt: String(T),
          activatedAt: String(T),
          lastUsedAt: null,
        });
      await io.hset(`${p}{erin}:factors`, 'e1', factor(56666666));
      // The cluster client, but right after the first read of erin's earlier
      // keys an "older version" records a login there (lastStep + 5).
      let interfered = 0;
      const after = async (reply: unknown, numkeys: number, args: string[]) => {
        if (numkeys === 7 && args[0] === `${p}{erin}:factors` && interfered++ === 0) {
          await io.hset(`${p}{erin}:factors`, 'e1', factor(56666671));
        }
        return reply;
      };
      const client = {
        isCluster: true,
        nodes: (role: 'master') => io.nodes(role),
        evalsha: async (sha: string, numkeys: number, ...args: string[]) =>
          after(await io.evalsha(sha, numkeys, ...args), numkeys, args),
        eval: async (script: string, numkeys: number, ...args: string[]) =>
          after(await io.eval(script, numkeys, ...args), numkeys, args),
      };
      const store = new RedisStore({ client, prefix: p });
      expect(await store.migrateKeys()).toEqual({ users: 1 });
      expect(interfered).toBeGreaterThan(1); // read again after the change
      expect((await store.getUser('erin', T))?.factors[0]?.lastStep).toBe(56666671);
      expect(await store.recordSuccess('erin', 'e1', 56666671, 0, T)).toBe(false);
      expect(await io.exists(`${p}{erin}:factors`)).toBe(0);
    });

    it('check() sets the marker on a cluster that never held earlier keys', async () => {
      const p = prefix();
      const store = new RedisStore({ client: io, prefix: p });
      await expect(store.getUser('x', T)).rejects.toThrow(/migrateKeys\(\)/);
      await store.check();
      expect(await store.getUser('x', T)).toBeNull();
      expect(await io.get(`${p}layout`)).toBe('tagged-v1');
      // 0.3's account keys (…/account) are of the current layout: check() does not take them
      // for earlier keys, before or after the marker.
      const account = { version: 0, account: emptyAccount(1), now: T };
      for (const userId of ['a', '}b', 'c{']) {
        expect(await store.updateAccount(userId, account)).toBe('updated');
      }
      await io.del(`${p}layout`);
      await store.check();
      expect(await store.migrateKeys()).toEqual({ users: 0 });
      expect((await store.getUser('}b', T))?.accountVersion).toBe(1);
    });
  });

  it('works through a least-privilege ACL user, with either client (docs/stores.md)', async () => {
    const p = `totpkit-acl:${run}:`;
    // The ACL that docs/stores.md gives for Cluster, on every node (ACLs are per node).
    const rules =
      `on >acl-test-password resetkeys ~totpkit-acl:* resetchannels -@all ` +
      `+evalsha +eval +del +exists +get +set +hdel +hexists +hget +hgetall +hmget +hlen +hset +hvals ` +
      `+lrange +lrem +rpush +pexpire +pexpireat +persist +pttl +rename ` +
      `+config|get +scan +cluster|slots +cluster|info +info +client|setname`;
    for (const admin of admins)
      await admin.call('ACL', 'SETUSER', 'totpkit-app', ...rules.split(' '));
    const auth = { username: 'totpkit-app', password: 'acl-test-password' };
    const ioApp = new Cluster([...cluster.nodes], { redisOptions: auth });
    ioApp.on('error', () => {});
    const nodeApp = nodeRedisCluster(cluster.nodes, auth);
    try {
      await nodeApp.connect();
      for (const [name, client] of [
        ['ioredis', ioApp],
        ['node-redis', nodeApp],
      ] as const) {
        const store = new RedisStore({ client, prefix: `${p}${name}:` });
        await store.check({ assumeNoEviction: name === 'node-redis' });
        expect(await store.migrateKeys()).toEqual({ users: 0 });
        const { mfa, clock } = testMFA(store);
        const { secret } = await enroll(mfa, clock, `acl-${name}`, T0);
        clock.now = T0 + 30_000;
        const code = generateTOTP(secret, { now: clock.now });
        expect(await mfa.verify(`acl-${name}`, code)).toMatchObject({ ok: true });
        expect(await mfa.verify(`acl-${name}`, code)).toMatchObject({ reason: 'replayed' });
      }
      // And nothing outside its prefix.
      await expect(ioApp.get('elsewhere')).rejects.toThrow(/NOPERM/);
    } finally {
      ioApp.disconnect();
      await nodeApp.close().catch(() => {});
    }
  });

  describe('across processes', () => {
    let workers: Workers;
    let store: RedisStore;
    const p = `totpkit-cluster:${run}:cross:`;

    beforeAll(async () => {
      if (!plan.run) return;
      store = await freshStore(io, p);
      const url = cluster.nodes.map((n) => `${n.host}:${n.port}`).join(',');
      const ioSpec: WorkerSpec = { client: 'ioredis-cluster', url, name: p };
      const nodeSpec: WorkerSpec = { client: 'node-redis-cluster', url, name: p };
      workers = await startWorkers([ioSpec, nodeSpec, ioSpec, nodeSpec]);
    }, 60_000);

    afterAll(async () => {
      await workers?.close();
    });

    crossProcessCases(() => ({ store, workers }), `cluster-${run}`, 5);
    accountRaces(() => ({ store, workers }), `cluster-${run}`, 5);
    crossProcessRaces(
      () => ({
        store,
        workers,
        // Users with a key left beside the erasure guard: a SCAN of each one's
        // hash tag on every master (the slot's master holds them all).
        leftovers: async (userIds) => {
          let left = 0;
          for (const userId of userIds) {
            const match = `${p}{${Buffer.from(userId).toString('base64url')}}/*`;
            let keys = 0;
            for (const admin of admins) {
              let cursor = '0';
              do {
                const [next, batch] = await admin.scan(cursor, 'MATCH', match, 'COUNT', 1000);
                cursor = next;
                keys += batch.filter((key) => !key.endsWith('/erased')).length;
              } while (cursor !== '0');
            }
            if (keys > 0) left += 1;
          }
          return left;
        },
      }),
      `cluster-${run}`,
      3,
    );
  });

  // Issue 19.1 on Cluster: a throttle hash written by 0.2 (no guesses) is
  // upgraded by the scripts there too, in the user's slot.
  it('reads 0.2 throttle state as 0.2 counted it, and a locked 0.2 user stays locked after removing factors, with either client', async () => {
    const policy = { freeAttempts: 100, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 100 };
    for (const [name, client] of clients()) {
      const p = prefix();
      const store = await freshStore(client, p);
      const base = `${p}{${Buffer.from('locked').toString('base64url')}}/`;
      for (const id of ['f1', 'f2', 'f3', 'f4']) {
        const factor = {
          id,
          name: id,
          nameKey: id,
          sealedSecret: `sealed-${id}`,
          algorithm: 'SHA1',
          digits: '6',
          period: '30',
          lastStep: '1',
          drift: '0',
          createdAt: String(T),
          activatedAt: String(T),
          lastUsedAt: null,
        };
        await io.hset(`${base}factors`, id, JSON.stringify(factor));
      }
      // 0.2's lock with 4 factors: ceil(100 / 4) = 25 failures.
      await io.hset(`${base}throttle`, { 'otp:failures': '25', 'recovery:failures': '3' });
      expect((await store.getUser('locked', T))?.throttle, name).toEqual({
        otp: { failures: 25, guesses: 100, blockedUntil: 0 },
        recovery: { failures: 3, guesses: 3, blockedUntil: 0 },
      });
      for (const id of ['f4', 'f3', 'f2']) {
        const account = await nextWrite(store, 'locked', T);
        expect(await store.removeFactor('locked', id, { account })).toMatchObject({
          removed: true,
        });
        const login = { scope: 'otp', now: T, policy, requirement: 'active' } as const;
        expect((await store.readAndReserve('locked', login)).reservation, name).toEqual({
          ok: false,
          reason: 'locked',
        });
      }
      expect(await io.hget(`${base}throttle`, 'otp:guesses')).toBe('100');
    }
  });

  it(
    'moves the slots of enrolled users between masters while logins run: no error, no replay',
    { timeout: 120_000 },
    async () => {
      const p = `totpkit-cluster:${run}:reshard:`;
      const ioStore = await freshStore(io, p);
      const nodeStore = new RedisStore({ client: nodeRedis, prefix: p });
      const policy = { throttle: OPEN_THROTTLE };
      const services = [testMFA(ioStore, policy), testMFA(nodeStore, policy)];
      const users = Array.from({ length: 12 }, (_, i) => `reshard-${i}`);
      const secrets = new Map<string, Uint8Array>();
      for (const userId of users) {
        secrets.set(
          userId,
          (await enroll(services[0]!.mfa, services[0]!.clock, userId, T0)).secret,
        );
      }
      const slots = [
        ...new Set(users.map((u) => keySlot(`${p}{${Buffer.from(u).toString('base64url')}}/x`))),
      ];

      const ids = await Promise.all(admins.map(async (a) => String(await a.cluster('MYID'))));
      const owner = async (slot: number): Promise<number> => {
        const shards = (await admins[0]!.cluster('SLOTS')) as unknown as [
          number,
          number,
          [string, number],
        ][];
        const shard = shards.find(([from, to]) => slot >= from && slot <= to)!;
        return admins.findIndex((_, i) => cluster.nodes[i]!.port === shard[2][1]);
      };
      /** Until every master agrees on every master's epoch and slots. */
      const settle = async () => {
        let why: string | undefined;
        await waitFor(
          'the cluster to agree on its configuration',
          async () => {
            const views = await Promise.all(
              admins.map(async (a) => String(await a.cluster('NODES'))),
            );
            return (why = clusterUnsettled(views)) === undefined;
          },
          () => why ?? '',
        );
      };
      /**
       * Moves one slot to the next master, all of its keys in one MIGRATE, in
       * redis-cli's order (`clusterManagerMoveSlot`), from a settled cluster:
       * see clusterUnsettled for what a move from an unsettled one does.
       */
      const moveSlot = async (slot: number) => {
        await settle();
        const from = await owner(slot);
        const to = (from + 1) % admins.length;
        const [source, target] = [admins[from]!, admins[to]!];
        await target.cluster('SETSLOT', slot, 'IMPORTING', ids[from]!);
        await source.cluster('SETSLOT', slot, 'MIGRATING', ids[to]!);
        for (;;) {
          const keys = (await source.cluster('GETKEYSINSLOT', slot, 1000)) as string[];
          if (keys.length === 0) break;
          const { host, port } = cluster.nodes[to]!;
          await source.call('MIGRATE', host, port, '', 0, 10_000, 'KEYS', ...keys);
        }
        await target.cluster('SETSLOT', slot, 'NODE', ids[to]!);
        // What the settled start buys: the target now holds a config epoch
        // above the source's, so no claim of the source can take the slot back.
        const epoch = async (a: Redis) =>
          Number(/cluster_my_epoch:(\d+)/.exec(String(await a.cluster('INFO')))![1]);
        expect(await epoch(target), `slot ${slot}: target epoch`).toBeGreaterThan(
          await epoch(source),
        );
        for (const admin of [source, ...admins.filter((a) => a !== target && a !== source)]) {
          await admin.cluster('SETSLOT', slot, 'NODE', ids[to]!);
        }
      };

      // Logins: every user's code of each step sent by both clients at once,
      // three times each: exactly one success, the others replays.
      let stop = false;
      const outcomes: Record<string, number> = {};
      let steps = 0;
      const logins = (async () => {
        for (let step = 1; !stop || step < 4; step++) {
          steps = step;
          const now = T0 + step * 30_000;
          for (const s of services) s.clock.now = now;
          await Promise.all(
            users.map(async (userId) => {
              const code = generateTOTP(secrets.get(userId)!, { now });
              const calls = services.flatMap(({ mfa }) =>
                [0, 1, 2].map(() =>
                  mfa.verify(userId, code).then(
                    (r) => (r.ok ? 'ok' : r.reason),
                    (error: unknown) =>
                      `error:${error instanceof MFAError ? `${error.code} ${String((error.cause as Error | undefined)?.message)}` : String(error)}`,
                  ),
                ),
              );
              const results = await Promise.all(calls);
              for (const r of results) outcomes[r] = (outcomes[r] ?? 0) + 1;
              expect(
                results.filter((r) => r === 'ok'),
                `${userId} at step ${step}: ${results.join(', ')}`,
              ).toHaveLength(1);
              await services[0]!.mfa.unlock(userId);
            }),
          );
        }
      })();
      let during = 0;
      try {
        const first = steps;
        for (const slot of slots) await moveSlot(slot);
        for (const slot of slots) await moveSlot(slot); // and on again
        await settle();
        during = steps - first;
      } finally {
        stop = true;
        await logins;
      }
      expect(during, 'login steps while the slots moved').toBeGreaterThanOrEqual(2);
      expect(Object.keys(outcomes).sort()).toEqual(['ok', 'replayed']);
      expect(outcomes.ok).toBe(steps * users.length);
      expect(outcomes.replayed).toBe(5 * steps * users.length);
    },
  );
});
