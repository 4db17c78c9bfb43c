// User ids reach every store, the cipher's associated data and the recovery
// code hash as UTF-8. A lone surrogate encodes as U+FFFD, so '\uD800' and
// '\uFFFD' would be the same user there. The service refuses ids that are not
// well-formed, and any two distinct ids it accepts stay apart in every store:
// MemoryStore, SQLite (better-sqlite3), PGlite, PostgreSQL (pg.Pool) and
// Redis (ioredis, node-redis).
import { PGlite } from '@electric-sql/pglite';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import { isWellFormedText } from '../../src/_assert.ts';
import { MemoryStore, type MFAStore } from '../../src/index.ts';
import { PostgresStore } from '../../src/store/postgres.ts';
import { RedisStore } from '../../src/store/redis.ts';
import { betterSqlite3Driver, SQLiteStore } from '../../src/store/sqlite.ts';
import { postgresPlan, redisPlan, type TestServer } from '../helpers/servers.ts';
import { testMFA } from './mfa-setup.ts';

const run = Math.random().toString(36).slice(2, 8);

/** Ids rich in what goes wrong: lone surrogates, U+FFFD, pairs, braces, NUL. */
const piece = fc.oneof(
  fc.constantFrom('\uD800', '\uDBFF', '\uDC00', '\uDFFF', '\uFFFD', '😀', '}', '{', ':', '\0', 'a'),
  fc.string({ unit: 'binary', maxLength: 2 }),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
);
const userId = fc.array(piece, { minLength: 1, maxLength: 6 }).map((parts) => parts.join(''));

let iteration = 0;

/** The property, against one store. */
async function idsStayApart(store: MFAStore, numRuns: number): Promise<void> {
  const { mfa } = testMFA(store);
  await fc.assert(
    fc.asyncProperty(userId, userId, async (rawA, rawB) => {
      fc.pre(rawA !== rawB);
      // A prefix per run keeps earlier runs' users out of the way; it keeps
      // distinct ids distinct and well-formedness as it was.
      const prefix = `${run}:${++iteration}|`;
      const [a, b] = [prefix + rawA, prefix + rawB];
      for (const id of [a, b]) {
        if (!isWellFormedText(id)) {
          await expect(mfa.status(id)).rejects.toThrow(
            new TypeError('"userId" must be well-formed Unicode (it contains a lone surrogate)'),
          );
        } else if (id.includes('\0')) {
          // PostgreSQL text cannot hold U+0000, so no store takes it.
          await expect(mfa.status(id)).rejects.toThrow(
            new RangeError('"userId" must not contain U+0000'),
          );
        } else if (id.includes('\uFFFD')) {
          // What a lone surrogate becomes on the way: no id may be it.
          await expect(mfa.status(id)).rejects.toThrow(
            new RangeError('"userId" must not contain U+FFFD (what a lone surrogate becomes)'),
          );
        }
      }
      const accepted = (id: string) =>
        isWellFormedText(id) && !id.includes('\0') && !id.includes('\uFFFD');
      if (![a, b].every(accepted)) return;
      await mfa.beginEnrollment(a, { accountName: 'someone@example.com' });
      expect((await mfa.status(b)).state).toBe('none');
      expect(await mfa.disable(b)).toEqual({ disabled: false, generation: 0 });
      expect((await mfa.status(a)).state).toBe('pending');
    }),
    { numRuns, seed: 20261130 },
  );
}

describe('distinct accepted user ids stay apart', () => {
  it('refuses a lone surrogate, and U+FFFD that it would become', async () => {
    const { mfa } = testMFA(new MemoryStore());
    await expect(
      mfa.beginEnrollment('\uFFFD', { accountName: 'someone@example.com' }),
    ).rejects.toThrow(RangeError);
    for (const id of ['\uD800', 'x\uDC00', '\uDBFFx']) {
      await expect(mfa.status(id)).rejects.toThrow(TypeError);
      await expect(mfa.disable(id)).rejects.toThrow(/"userId"/);
    }
    // A proper pair is well-formed and its own user.
    expect((await mfa.status('\uD83D\uDE00')).state).toBe('none');
  });

  it('uses the same rule without String.prototype.isWellFormed', () => {
    const proto = String.prototype as { isWellFormed?: () => boolean };
    const native = proto.isWellFormed;
    expect(typeof native).toBe('function');
    const unit = fc.oneof(
      fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
      fc.constantFrom('\uD800', '\uDC00', '\uD800\uDC00'),
    );
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 8 }), (units) => {
        const text = units.join('');
        const expected = native!.call(text);
        delete proto.isWellFormed;
        try {
          expect(isWellFormedText(text)).toBe(expected);
        } finally {
          proto.isWellFormed = native!;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('MemoryStore', () => idsStayApart(new MemoryStore(), 100));

  it('SQLiteStore (better-sqlite3)', async () => {
    const db = new Database(':memory:');
    try {
      const store = new SQLiteStore({ driver: betterSqlite3Driver(db), table: 'user_ids' });
      await store.migrate();
      await idsStayApart(store, 100);
    } finally {
      db.close();
    }
  });

  it('PostgresStore (PGlite)', async () => {
    const db = new PGlite();
    try {
      const store = new PostgresStore({ client: db, table: 'user_ids' });
      await store.migrate();
      await idsStayApart(store, 60);
    } finally {
      await db.close();
    }
  }, 120_000);

  const pgPlan = postgresPlan();
  describe.skipIf(!pgPlan.run)('PostgreSQL', () => {
    let server: TestServer | undefined;
    let pool: pg.Pool | undefined;
    afterAll(async () => {
      if (server && !server.owned) await pool?.query(`DROP TABLE IF EXISTS user_ids_${run}`);
      await pool?.end();
      await server?.stop();
    });
    it('PostgresStore (pg.Pool)', async () => {
      if (!pgPlan.run) return;
      server = await pgPlan.start();
      pool = new pg.Pool({ connectionString: server.url, max: 4 });
      pool.on('error', () => {});
      const store = new PostgresStore({ client: pool, table: `user_ids_${run}` });
      await store.migrate();
      await idsStayApart(store, 60);
    }, 120_000);
  });

  const rPlan = redisPlan();
  describe.skipIf(!rPlan.run)('Redis', () => {
    let server: TestServer | undefined;
    let ioredis: Redis | undefined;
    let nodeRedis: ReturnType<typeof createClient> | undefined;
    afterAll(async () => {
      if (server && !server.owned && ioredis) {
        const keys = await ioredis.keys(`totpkit-ids:${run}:*`);
        if (keys.length > 0) await ioredis.del(...keys);
      }
      ioredis?.disconnect();
      await nodeRedis?.quit();
      await server?.stop();
    });
    it('RedisStore (ioredis, node-redis)', async () => {
      if (!rPlan.run) return;
      server = await rPlan.start();
      ioredis = new Redis(server.url, { lazyConnect: true });
      await ioredis.connect();
      nodeRedis = createClient({ url: server.url });
      nodeRedis.on('error', () => {});
      await nodeRedis.connect();
      await idsStayApart(new RedisStore({ client: ioredis, prefix: `totpkit-ids:${run}:io:` }), 60);
      await idsStayApart(
        new RedisStore({ client: nodeRedis, prefix: `totpkit-ids:${run}:node:` }),
        60,
      );
    }, 120_000);
  });
});
