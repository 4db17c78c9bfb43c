// The least-privilege ACL that docs/stores.md gives for a single Redis server
// (or the data servers behind Sentinel), read from the docs themselves and
// applied to a throwaway server: the whole store conformance suite, check(),
// migrateKeys() and a write with `replicas` run through it, with both clients.
// A command the scripts or those methods need and the docs leave out fails
// here with NOPERM (0.2's list lacked `scan`, which migrateKeys() needs).
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore, type RedisScriptClient } from '../../src/store/redis.ts';
import { testMFAStore } from '../../src/testing.ts';
import { emptyAccount } from '../helpers/account-write.ts';
import { noteSkip } from '../helpers/integration.ts';
import { redisPlan, type TestServer } from '../helpers/servers.ts';

const plan = redisPlan();
const external = Boolean(process.env.TOTPKIT_REDIS_URL);
if (plan.run && external) {
  noteSkip('Redis ACL', 'TOTPKIT_REDIS_URL is set: this test creates ACL users of its own');
}

/**
 * The `ACL SETUSER` rules of the code block that follows `marker` in
 * docs/stores.md, joined into one line, without `ACL SETUSER <name>`.
 */
function documentedACL(marker: string): string[] {
  const docs = readFileSync(new URL('../../docs/stores.md', import.meta.url), 'utf8');
  const at = docs.indexOf(marker);
  if (at < 0) throw new Error(`docs/stores.md has no "${marker}"`);
  const block = /```\n(ACL SETUSER [^`]+)```/.exec(docs.slice(at))?.[1];
  if (block === undefined) throw new Error(`no ACL SETUSER block after "${marker}"`);
  const [, , , ...rules] = block.trim().split(/\s+/);
  return rules;
}

const run = Math.random().toString(36).slice(2, 8);
const PASSWORD = 'acl-test-password';
/** Inside the documented key pattern `~totpkit:*`. */
const prefix = (name: string) => `totpkit:acl-${run}:${name}:`;
/** As in redis.test.ts: keep factorless users' throttle hashes for the suites' fixed times. */
const throttleRetentionMs = 100 * 365 * 86_400_000;

describe.skipIf(!plan.run || external)(
  'RedisStore through the documented ACL (single server)',
  () => {
    let server: TestServer;
    let admin: Redis;
    let ioredis: Redis;
    let nodeRedis: ReturnType<typeof createClient>;
    let stores = 0;
    const rules = documentedACL('**ACL.** A least-privilege user on a single server');

    beforeAll(async () => {
      if (!plan.run) return;
      server = await plan.start();
      admin = new Redis(server.url);
      const password = rules.map((rule) => (rule.startsWith('>') ? `>${PASSWORD}` : rule));
      await admin.call('ACL', 'SETUSER', 'totpkit', 'reset', ...password);
      await admin.call('ACL', 'SETUSER', 'totpkit-wait', 'reset', ...password, '+wait');
      const url = new URL(server.url);
      ioredis = new Redis({
        host: url.hostname,
        port: Number(url.port),
        username: 'totpkit',
        password: PASSWORD,
      });
      ioredis.on('error', () => {});
      nodeRedis = createClient({ url: `redis://totpkit:${PASSWORD}@${url.host}` });
      nodeRedis.on('error', () => {});
      await nodeRedis.connect();
    });

    afterAll(async () => {
      ioredis?.disconnect();
      await nodeRedis?.close().catch(() => {});
      admin?.disconnect();
      await server?.stop();
    });

    it('reads the rules from docs/stores.md: scripts, check() and migrateKeys() (scan)', () => {
      expect(rules).toEqual(expect.arrayContaining(['+evalsha', '+eval', '+config|get', '+scan']));
      expect(rules).not.toContain('+@all');
    });

    for (const name of ['ioredis', 'node-redis'] as const) {
      const client = () =>
        (name === 'ioredis' ? ioredis : nodeRedis) as unknown as RedisScriptClient;

      testMFAStore(
        `RedisStore (${name}) through the documented ACL`,
        () =>
          new RedisStore({
            client: client(),
            prefix: prefix(`${name}:${++stores}`),
            throttleRetentionMs,
          }),
        { deleteExpired: false },
      );

      it(`${name}: check() and migrateKeys() work through it, and nothing outside the prefix`, async () => {
        const p = prefix(`${name}:methods`);
        // An earlier layout's key, which migrateKeys() must find by SCAN and move.
        const earlier = `${p}{acl-user}:recovery:salt`;
        await admin.set(earlier, 'c2FsdA');
        const store = new RedisStore({ client: client(), prefix: p });
        await store.check();
        expect(await store.migrateKeys()).toEqual({ users: 1 });
        expect(await admin.exists(earlier)).toBe(0);
        const denied = name === 'ioredis' ? ioredis.get('elsewhere') : nodeRedis.get('elsewhere');
        await expect(denied).rejects.toThrow(/NOPERM/);
      });
    }

    // The 0.3 account document: every script that writes it (HSET, PERSIST,
    // PEXPIRE, PEXPIREAT on …/account), whatever the shared suite covers.
    for (const name of ['ioredis', 'node-redis'] as const) {
      it(`${name}: the account document's writes and TTLs work through it`, async () => {
        const client = (name === 'ioredis' ? ioredis : nodeRedis) as unknown as RedisScriptClient;
        const store = new RedisStore({ client, prefix: prefix(`${name}:account`) });
        const now = Date.now();
        const held = { ...emptyAccount(0), keepUntil: now + 60_000 };
        expect(await store.updateAccount('a', { version: 0, account: held, now })).toBe('updated');
        await store.putPending('a', {
          id: 'f',
          name: 'Phone',
          nameKey: 'phone',
          sealedSecret: 's',
          secretDigest: null,
          algorithm: 'SHA1',
          digits: 6,
          period: 30,
          createdAt: now,
          expiresAt: now + 600_000,
          replaceFactorId: null,
        });
        const bound = await store.activatePending('a', 'f', {
          lastStep: 1,
          drift: 0,
          now,
          maxFactors: 5,
          recoveryCodes: { salt: 's', hashes: ['h'] },
          account: { version: 1, account: emptyAccount(1) },
        });
        expect(bound).toMatchObject({ ok: true });
        const codes = { salt: 't', hashes: ['i'] };
        const write = (version: number) => ({ version, account: held });
        expect(await store.replaceRecoveryCodes('a', codes, { account: write(2) })).toBe(
          'replaced',
        );
        expect(await store.removeFactor('a', 'f', { account: write(3) })).toMatchObject({
          removed: true,
        });
        expect(await store.deleteFactors('a', { account: write(4) })).toBe('nothing');
        expect(await store.resetUser('a', { ...write(4), now })).toBe('reset');
        expect(await store.getUser('a', now)).toMatchObject({ account: held, accountVersion: 5 });
        expect(await store.deleteUser('a', { now, guardMs: 1_000 })).toBe(true);
      });
    }

    it('with +wait added for the replicas option, a write reaches WAIT (NOREPLICAS, not NOPERM)', async () => {
      const url = new URL(server.url);
      const waiting = new Redis({
        host: url.hostname,
        port: Number(url.port),
        username: 'totpkit-wait',
        password: PASSWORD,
      });
      waiting.on('error', () => {});
      try {
        const store = new RedisStore({
          client: waiting,
          prefix: prefix('wait'),
          replicas: { count: 1, timeoutMs: 10 },
        });
        await expect(
          store.deleteUser('alice', { now: Date.now(), guardMs: 60_000 }),
        ).rejects.toThrow(/NOREPLICAS WAIT/);
      } finally {
        waiting.disconnect();
      }
    });
  },
);
