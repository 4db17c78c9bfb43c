// Store failures against real servers: each reaches the caller as
// MFAError('ERR_STORE') with a message that says what to do, and a cause that
// keeps the driver's code and message but none of the call's values (the
// sealed secret, which under plaintextCipher() is the secret itself).
// RedisStore.check() refuses a maxmemory-policy that can evict its keys.
import { PGlite } from '@electric-sql/pglite';
import { inspect } from 'node:util';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMFA,
  encodeBase32,
  MFAError,
  plaintextCipher,
  type MFAStore,
  type SecretCipher,
} from '../../src/index.ts';
import { PostgresStore } from '../../src/store/postgres.ts';
import { RedisStore } from '../../src/store/redis.ts';
import { emptyAccount } from '../helpers/account-write.ts';
import { NO_PROOFS } from '../helpers/mfa.ts';
import { redisPlan, type TestServer } from '../helpers/servers.ts';

/** A plaintext cipher that remembers what it sealed, so a test can look for it. */
function recordingCipher(): SecretCipher & { leaks: string[] } {
  const plain = plaintextCipher();
  const leaks: string[] = [];
  return {
    leaks,
    async encrypt(plaintext, context) {
      const sealed = await plain.encrypt(plaintext, context);
      leaks.push(encodeBase32(plaintext), sealed, sealed.slice('plain.'.length));
      return sealed;
    },
    decrypt: (sealed, context) => plain.decrypt(sealed, context),
  };
}

/**
 * Starts an enrollment through `store` and returns what it threw, printed in
 * full; `sealed`, if given, is how many values the cipher must have sealed by
 * then (the leaks looked for).
 */
async function failedEnrollment(
  store: MFAStore,
  sealed?: number,
): Promise<{ error: MFAError; printed: string; leaks: string[] }> {
  const cipher = recordingCipher();
  // No proof asked: the enrollment must reach the store (proofs are tested elsewhere).
  const mfa = createMFA({ store, issuer: 'Acme', cipher, policy: { proofs: NO_PROOFS } });
  const error = await mfa.beginEnrollment('user-1', { accountName: 'a@example.com' }).then(
    () => {
      throw new Error('the enrollment should have failed');
    },
    (e: unknown) => e as MFAError,
  );
  expect(error).toBeInstanceOf(MFAError);
  expect(error.code).toBe('ERR_STORE');
  if (sealed !== undefined) expect(cipher.leaks.length).toBe(sealed);
  return { error, printed: inspect(error, { depth: Infinity }), leaks: cipher.leaks };
}

describe('PostgresStore errors (PGlite)', () => {
  const db = new PGlite();
  beforeAll(() => db.waitReady, 60_000);
  afterAll(() => db.close());

  it('a missing table says to run migrate()', async () => {
    const store = new PostgresStore({ client: db, table: 'never_migrated' });
    const mfa = createMFA({ store, issuer: 'Acme', cipher: plaintextCipher() });
    const error = (await mfa.status('u').catch((e: unknown) => e)) as MFAError;
    expect(error).toBeInstanceOf(MFAError);
    expect(error.code).toBe('ERR_STORE');
    expect(error.message).toBe(
      'store.getUser failed: its table does not exist: run `await store.migrate()` once at startup',
    );
    expect(error.cause).toMatchObject({ code: '42P01' });
  });

  it('a missing schema says to create it, from migrate() too', async () => {
    const store = new PostgresStore({ client: db, table: 'no_such_schema.t' });
    const error = (await store.migrate().catch((e: unknown) => e)) as MFAError;
    expect(error).toBeInstanceOf(MFAError);
    expect(error.code).toBe('ERR_STORE');
    expect(error.message).toMatch(/^PostgresStore\.migrate failed: its schema does not exist/);
    expect(error.cause).toMatchObject({ code: '3F000' });
  });

  it("a failing row's values (PostgreSQL's detail) are not in the cause", async () => {
    const store = new PostgresStore({ client: db, table: 'refuses_pending' });
    await store.migrate();
    // A constraint that makes every enrollment fail, quoting the row in `detail`.
    await db.query('ALTER TABLE refuses_pending ADD CONSTRAINT no_pending CHECK (pending IS NULL)');
    const { error, printed, leaks } = await failedEnrollment(store, 3);
    expect(error.message).toBe('store.putPending failed');
    expect(error.cause).toMatchObject({ code: '23514', constraint: 'no_pending' });
    for (const leak of leaks) expect(printed).not.toContain(leak);
  });
});

const plan = redisPlan();
const run = Math.random().toString(36).slice(2, 8);

describe.skipIf(!plan.run)('RedisStore errors and check() on a real Redis', () => {
  let server: TestServer;
  let admin: Redis;
  const closers: (() => Promise<unknown>)[] = [];
  const users = [`nocfg-${run}`, `noeval-${run}`];

  async function ioredisAs(user?: string): Promise<Redis> {
    const client = new Redis(server.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      ...(user === undefined ? {} : { username: user, password: 'pw' }),
    });
    client.on('error', () => {});
    await client.connect();
    closers.push(async () => client.disconnect());
    return client;
  }
  async function nodeRedisAs(user?: string) {
    const client = createClient({
      url: server.url,
      ...(user === undefined ? {} : { username: user, password: 'pw' }),
    });
    client.on('error', () => {});
    await client.connect();
    closers.push(() => client.close());
    return client;
  }
  const makers = [
    ['ioredis', ioredisAs],
    ['node-redis', nodeRedisAs],
  ] as const;

  let previousPolicy: string | undefined;
  beforeAll(async () => {
    if (!plan.run) return;
    server = await plan.start({
      args: ['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru'],
    });
    admin = await ioredisAs();
    if (!server.owned) {
      // An external server: set the policy for the test, and restore it after.
      previousPolicy = ((await admin.config('GET', 'maxmemory-policy')) as string[])[1];
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
    }
    await admin.call('ACL', 'SETUSER', users[0]!, 'on', '>pw', '~*', '&*', '+@all', '-config');
    await admin.call('ACL', 'SETUSER', users[1]!, 'on', '>pw', '~*', '&*', '+@all', '-evalsha');
  });

  afterAll(async () => {
    if (admin && previousPolicy !== undefined) {
      await admin.config('SET', 'maxmemory-policy', previousPolicy);
    }
    // The test users' clients first (deleting a user cuts them off), the admin last.
    const [closeAdmin, ...others] = closers;
    for (const close of others.reverse()) await close().catch(() => {});
    if (admin) for (const user of users) await admin.call('ACL', 'DELUSER', user);
    await closeAdmin?.();
    await server?.stop();
  });

  // Issue 13 point 6: a factorless user's throttle hash now has a TTL, so a
  // volatile-* policy may evict it, like a pending enrollment. check() still
  // accepts volatile-*: what it can evict is a lock that no factor depends on
  // (it would expire after throttleRetentionMs anyway) and an enrollment in
  // progress (which then fails closed). A user with a factor keeps every key.
  it("under volatile-lru, only TTL keys go: a disabled user's lock, an enrollment and an erasure guard, never a factor user's keys", async () => {
    const store = new RedisStore({ client: admin, prefix: `evict:${run}:` });
    const now = Date.now();
    const key = (user: string, name: string) =>
      `evict:${run}:{${Buffer.from(user).toString('base64url')}}/${name}`;
    const policy = { freeAttempts: 0, baseDelayMs: 1_000, maxDelayMs: 1_000, maxFailures: 10 };
    const pending = (id: string) => ({
      id,
      name: 'Phone',
      nameKey: 'phone',
      replaceFactorId: null,
      sealedSecret: 'sealed',
      secretDigest: null,
      algorithm: 'SHA1' as const,
      digits: 6 as const,
      period: 30,
      createdAt: now,
      expiresAt: now + 600_000,
    });
    const activation = {
      lastStep: 1,
      drift: 0,
      now,
      maxFactors: 5,
      recoveryCodes: null,
      account: { version: 0, account: emptyAccount(1) },
    };
    for (const user of ['active', 'disabled']) {
      await store.putPending(user, pending('p'));
      await store.activatePending(user, 'p', activation);
      await store.reserveAttempt(user, { scope: 'otp', now, policy, weight: 1 });
    }
    await store.deleteFactors('disabled', { account: { version: 1, account: emptyAccount(2) } });
    await store.putPending('enrolling', pending('q'));
    await store.deleteUser('erased', { now, guardMs: 3_600_000 }); // the guard has a TTL too
    expect(await admin.pttl(key('disabled', 'throttle'))).toBeGreaterThan(0);
    expect(await admin.pttl(key('active', 'throttle'))).toBe(-1);

    const maxmemory = ((await admin.config('GET', 'maxmemory')) as string[])[1]!;
    await admin.config('SET', 'maxmemory-policy', 'volatile-lru');
    await expect(store.check()).resolves.toBeUndefined();
    try {
      // Far over the limit: Redis evicts every key with a TTL, then refuses writes.
      await admin.config('SET', 'maxmemory', '1');
      for (let i = 0; i < 100; i += 1) {
        await admin.set(`evict:${run}:filler`, 'x').catch(() => {});
        const left = await admin.exists(
          key('disabled', 'throttle'),
          key('enrolling', 'enrollment'),
          key('erased', 'erased'),
        );
        if (left === 0) break;
      }
      const oom = await admin.set(`evict:${run}:filler`, 'x').catch((e: unknown) => e);
      expect(String(oom)).toMatch(/OOM/);
    } finally {
      await admin.config('SET', 'maxmemory', maxmemory);
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
    }
    expect(await admin.exists(key('disabled', 'throttle'))).toBe(0);
    expect(await admin.exists(key('enrolling', 'enrollment'))).toBe(0);
    // An erasure guard can go early too (docs/stores.md says so): noeviction keeps it.
    expect(await admin.exists(key('erased', 'erased'))).toBe(0);
    const active = await store.getUser('active', now);
    expect(active?.factors.map((f) => f.id)).toEqual(['p']);
    expect(active?.throttle.otp.failures).toBe(1);
  });

  for (const [name, connect] of makers) {
    it(`refuses allkeys-lru and accepts noeviction and volatile-lru (${name})`, async () => {
      const store = new RedisStore({ client: await connect(), prefix: `t:${run}:` });
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const error = (await store.check().catch((e: unknown) => e)) as MFAError;
      expect(error).toBeInstanceOf(MFAError);
      expect(error.code).toBe('ERR_STORE');
      expect(error.message).toContain(`maxmemory-policy is "allkeys-lru"`);
      expect(error.message).toContain('noeviction, volatile-lru, volatile-lfu');
      // assumeNoEviction only covers a policy that cannot be read.
      await expect(store.check({ assumeNoEviction: true })).rejects.toThrow(/allkeys-lru/);
      for (const policy of ['noeviction', 'volatile-lru', 'volatile-ttl']) {
        await admin.config('SET', 'maxmemory-policy', policy);
        await expect(store.check()).resolves.toBeUndefined();
      }
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lfu');
      await expect(store.check()).rejects.toThrow(/allkeys-lfu/);
    });

    it(`fails closed when CONFIG GET is refused, unless told (${name})`, async () => {
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      const store = new RedisStore({ client: await connect(users[0]), prefix: `t:${run}:` });
      const error = (await store.check().catch((e: unknown) => e)) as MFAError;
      expect(error).toBeInstanceOf(MFAError);
      expect(error.code).toBe('ERR_STORE');
      expect(error.message).toMatch(/could not read maxmemory-policy/);
      expect(error.message).toContain('assumeNoEviction');
      expect(String((error.cause as Error).message)).toMatch(/^NOPERM/);
      await expect(store.check({ assumeNoEviction: true })).resolves.toBeUndefined();
    });

    it(`a NOPERM error says what to grant and keeps no secret in its cause (${name})`, async () => {
      const store = new RedisStore({ client: await connect(users[1]), prefix: `t:${run}:` });
      // Without EVAL, the first store call (the read) fails; whatever the
      // service sealed before it must not be in the error.
      const { error, printed, leaks } = await failedEnrollment(store);
      expect(error.message).toMatch(/^store\.getUser failed: the Redis user lacks a permission/);
      expect(String((error.cause as Error).message)).toMatch(/^NOPERM/);
      for (const leak of leaks) expect(printed).not.toContain(leak);
    });
  }
});
