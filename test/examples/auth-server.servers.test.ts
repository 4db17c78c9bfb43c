// The example auth server's DATABASE_URL and REDIS_URL switches, on real
// PostgreSQL and Redis servers (throwaway ones on loopback, or
// TOTPKIT_PG_URL / TOTPKIT_REDIS_URL): the storage that server.ts opens, then
// the seed flow (harness.ts walkSeedFlow: a code by e-mail, enrollment,
// binding, sign-in with TOTP and a replay refused), over HTTP.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from 'totpkit/postgres';
import { RedisStore } from 'totpkit/redis';
import { openStorage, type Storage } from '../../examples/auth-server/storage.ts';
import { oathtoolTOTP, skipWithoutOathtool } from '../helpers/oathtool.ts';
import { postgresPlan, redisPlan, type TestServer } from '../helpers/servers.ts';
import { startAuthServer, walkSeedFlow, type CodesNow } from './harness.ts';

const noOathtool = skipWithoutOathtool();
const pgPlan = postgresPlan();
const redis = redisPlan();

/** Codes from oathtool (an independent implementation) for the flow's phone. */
const oathtoolCodes: CodesNow = async (secret) =>
  (await oathtoolTOTP({
    secretHex: Buffer.from(secret).toString('hex'),
    now: Date.now() - 30_000,
    window: 2,
  })) as [string, string, string];

/** Walks the seed flow for `email`, then returns that user's MFA record from the storage's store. */
async function walk(storage: Storage, email: string, databaseURL: string) {
  const server = await startAuthServer({ storage });
  try {
    await walkSeedFlow(server, email, oathtoolCodes);
  } finally {
    await server.close();
  }
  // The account is in PostgreSQL, and its factor in the storage's store.
  const pool = new pg.Pool({ connectionString: databaseURL });
  // pool.end() resolves before its connections have closed; one still closing
  // when afterAll stops the server gets an 'error' event, harmless here.
  pool.on('error', () => {});
  try {
    const { rows } = await pool.query('SELECT id FROM demo_users WHERE email = $1', [email]);
    const id = (rows[0] as { id: string } | undefined)?.id;
    expect(id).toBeDefined();
    return storage.store.getUser(id as string, Date.now());
  } finally {
    await pool.end();
  }
}

describe.skipIf(noOathtool || !pgPlan.run)('example auth server on real servers', () => {
  let postgres: TestServer | undefined;
  let redisServer: TestServer | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'totpkit-example-'));
  const run = Math.random().toString(36).slice(2, 8);

  beforeAll(async () => {
    if (pgPlan.run) postgres = await pgPlan.start();
    if (redis.run) redisServer = await redis.start();
  }, 120_000);
  afterAll(async () => {
    await postgres?.stop();
    await redisServer?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('DATABASE_URL: accounts and MFA state in PostgreSQL', async () => {
    const storage = await openStorage({ DATABASE_URL: postgres?.url }, dataDir);
    try {
      expect(storage.description).toBe('accounts and MFA state in PostgreSQL (DATABASE_URL)');
      expect(storage.store).toBeInstanceOf(PostgresStore);
      const record = await walk(storage, `pg-${run}@example.com`, postgres?.url as string);
      expect(record?.factors[0]?.sealedSecret).toMatch(/^A256GCM\./);
    } finally {
      await storage.close();
    }
  });

  it.skipIf(!redis.run)('REDIS_URL: MFA state in Redis, accounts in PostgreSQL', async () => {
    const storage = await openStorage(
      { DATABASE_URL: postgres?.url, REDIS_URL: redisServer?.url },
      dataDir,
    );
    try {
      expect(storage.description).toBe(
        'accounts in PostgreSQL (DATABASE_URL); MFA state in Redis (REDIS_URL)',
      );
      expect(storage.store).toBeInstanceOf(RedisStore);
      const record = await walk(storage, `redis-${run}@example.com`, postgres?.url as string);
      expect(record?.factors[0]?.sealedSecret).toMatch(/^A256GCM\./);
    } finally {
      await storage.close();
    }
  });
});
