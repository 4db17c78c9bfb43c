// Issue 21.5, rollback-safe reservations: PostgresStore refuses a client that
// is inside the caller's open transaction, because a rollback of it would undo
// the attempt reservation (CVE-2026-35597: accounts that never lock). The
// refusal writes nothing, so neither the caller's ROLLBACK nor its COMMIT
// leaves a trace of the call. The supported path, a pool (directly or through
// PgBouncer in transaction mode), reserves as always. On a real server
// (throwaway, or TOTPKIT_PG_URL) and on PGlite.
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTOTP } from '../../src/index.ts';
import { MFAError } from '../../src/errors.ts';
import type { MFAStore } from '../../src/store/contract.ts';
import { PostgresStore, type PostgresQueryClient } from '../../src/store/postgres.ts';
import { pgbouncerPlanned, startPgBouncer, type PgBouncer } from '../helpers/pgbouncer.ts';
import { postgresPlan, type TestServer } from '../helpers/servers.ts';
import { OPEN_THROTTLE, T0, testCipher, testMFA } from './mfa-setup.ts';

const ADVICE =
  'PostgresStore was given a client inside an open transaction; a rollback would undo ' +
  'attempt reservations (CVE-2026-35597); pass a pool or a client outside transactions';
const SECRET = new Uint8Array(20).fill(0x42);
const DOC = { generation: 1, keepUntil: null, codes: [], budgets: [], sends: [], proofs: [] };
const account = (version: number) => ({ version, account: { ...DOC, devices: [] } });
const POLICY = { freeAttempts: 5, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 5 };

/** A user with one factor whose secret is SECRET, written through `store`. */
async function activeUser(store: MFAStore, userId: string): Promise<void> {
  const factor = {
    id: 'f1',
    name: 'Phone',
    nameKey: 'phone',
    sealedSecret: await testCipher.encrypt(SECRET, userId),
    secretDigest: null,
    algorithm: 'SHA1' as const,
    digits: 6 as const,
    period: 30,
    lastStep: -1,
    drift: 0,
    createdAt: T0,
    activatedAt: T0,
    lastUsedAt: null,
  };
  const added = await store.addFactor(userId, factor, {
    maxFactors: 5,
    recoveryCodes: { salt: 's', hashes: ['h1'] },
    account: account(0),
  });
  expect(added).toMatchObject({ ok: true });
}

/** A wrong code at T0 (the right one, off by one digit). */
const wrongCode = () => {
  const right = generateTOTP(SECRET, { now: T0 });
  return right.slice(0, 5) + String((Number(right[5]) + 1) % 10);
};

/** Every write of the store, each as a call on a user who has a factor ('u'). */
function writes(store: MFAStore): Record<string, () => Promise<unknown>> {
  const pendingEnrollment = {
    id: 'p9',
    name: 'P',
    nameKey: 'p',
    sealedSecret: 'x',
    secretDigest: null,
    algorithm: 'SHA1' as const,
    digits: 6 as const,
    period: 30,
    createdAt: T0,
    expiresAt: T0 + 600_000,
    replaceFactorId: null,
  };
  const now = T0;
  return {
    reserveAttempt: () =>
      store.reserveAttempt('u', { scope: 'otp', now, policy: POLICY, weight: 1 }),
    readAndReserve: () =>
      store.readAndReserve!('u', { scope: 'otp', now, policy: POLICY, requirement: 'active' }),
    recordSuccess: () => store.recordSuccess('u', 'f1', 99, 0, now),
    resetThrottle: () => store.resetThrottle('u', 'otp'),
    refundAttempt: () =>
      store.refundAttempt('u', {
        scope: 'otp',
        failures: 1,
        guesses: 1,
        weight: 1,
        blockedUntil: 0,
      }),
    putPending: () => store.putPending('u', pendingEnrollment),
    activatePending: () =>
      store.activatePending('u', 'p9', {
        lastStep: 1,
        drift: 0,
        now,
        maxFactors: 5,
        recoveryCodes: null,
        account: account(1),
      }),
    renameFactor: () => store.renameFactor('u', 'f1', 'Other', 'other'),
    removeFactor: () => store.removeFactor('u', 'f1', { account: account(1) }),
    replaceSealedSecret: () => store.replaceSealedSecret('u', 'f1', 'resealed'),
    deleteFactors: () => store.deleteFactors('u', { account: account(1) }),
    replaceRecoveryCodes: () =>
      store.replaceRecoveryCodes('u', { salt: 't', hashes: ['x'] }, { account: account(1) }),
    consumeRecoveryCode: () => store.consumeRecoveryCode('u', 'h1'),
    updateAccount: () => store.updateAccount('u', { ...account(1), now }),
    resetUser: () => store.resetUser('u', { ...account(1), now }),
    deleteUser: () => store.deleteUser('u', { now, guardMs: 60_000 }),
  };
}

/** Expects `call` to be refused with the advice, as MFAError('ERR_STORE'). */
async function expectRefused(call: Promise<unknown>): Promise<void> {
  const error = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MFAError);
  expect((error as MFAError).code).toBe('ERR_STORE');
  expect((error as MFAError).message).toContain(ADVICE);
}

/** Everything the table holds, to compare before and after. */
async function dump(client: PostgresQueryClient, table: string): Promise<unknown[]> {
  const { rows } = await client.query(`SELECT * FROM ${table} ORDER BY user_id`, []);
  return rows;
}

const plan = postgresPlan();
const run = Math.random().toString(36).slice(2, 8);

describe.skipIf(!plan.run)('PostgresStore and the caller’s transaction, on PostgreSQL', () => {
  let server: TestServer;
  let pool: pg.Pool;
  let bouncer: PgBouncer | undefined;
  let bouncerPool: pg.Pool | undefined;
  let tables = 0;
  const newTable = () => `totpkit_tx_${run}_${++tables}`;

  beforeAll(async () => {
    if (!plan.run) return;
    server = await plan.start();
    pool = new pg.Pool({ connectionString: server.url, max: 8 });
    pool.on('error', () => {});
    if (pgbouncerPlanned()) {
      bouncer = await startPgBouncer(server.url, { poolMode: 'transaction', poolSize: 4 });
      bouncerPool = new pg.Pool({ connectionString: bouncer.url, max: 8 });
      bouncerPool.on('error', () => {});
    }
  }, 60_000);

  afterAll(async () => {
    await bouncerPool?.end();
    await bouncer?.stop();
    await pool?.end();
    await server?.stop();
  });

  async function setUp(): Promise<{ table: string; store: PostgresStore }> {
    const table = newTable();
    const store = new PostgresStore({ client: pool, table });
    await store.migrate();
    await activeUser(store, 'u');
    return { table, store };
  }

  for (const end of ['ROLLBACK', 'COMMIT'] as const) {
    it(`refuses a pg.Client after BEGIN: verify throws the advice, and after ${end} no reservation was ever written`, async () => {
      const { table, store } = await setUp();
      const before = await dump(pool, table);
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      try {
        await client.query('BEGIN');
        // The caller's own work in its transaction, before and beside ours.
        await client.query(`SELECT count(*) FROM ${table}`);
        const { mfa, clock } = testMFA(new PostgresStore({ client, table }), {
          throttle: POLICY,
        });
        clock.now = T0;
        await expectRefused(mfa.verify('u', wrongCode()));
        await client.query(end);
        expect(client.getTransactionStatus()).toBe('I');
        expect(await dump(pool, table)).toEqual(before);
        expect((await store.getUser('u', T0))?.throttle.otp).toEqual({
          failures: 0,
          guesses: 0,
          blockedUntil: 0,
        });
        // The same client, outside a transaction now, reserves as it should.
        const outside = new PostgresStore({ client, table });
        expect(
          await outside.reserveAttempt('u', { scope: 'otp', now: T0, policy: POLICY, weight: 1 }),
        ).toEqual({ ok: true, failures: 1, guesses: 1 });
      } finally {
        await client.end();
      }
    });
  }

  it('refuses every write inside BEGIN, writing nothing whatever the caller does next', async () => {
    const { table } = await setUp();
    const before = await dump(pool, table);
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      const store = new PostgresStore({ client, table });
      const calls = writes(store);
      expect(Object.keys(calls)).toHaveLength(16);
      for (const [name, call] of Object.entries(calls)) {
        await client.query('BEGIN');
        await client.query(`SELECT 1`);
        await expectRefused(call()).catch((error: unknown) => {
          throw new Error(`${name} was not refused`, { cause: error });
        });
        await client.query(name.length % 2 === 0 ? 'COMMIT' : 'ROLLBACK');
      }
      // Straight after BEGIN too: the guard does not depend on earlier work.
      await client.query('BEGIN');
      await expectRefused(calls.reserveAttempt!());
      await client.query('COMMIT');
      expect(await dump(pool, table)).toEqual(before);
    } finally {
      await client.end();
    }
  });

  it('reserves through a pool: verify counts the attempt (the supported path)', async () => {
    const { table, store } = await setUp();
    const { mfa, clock } = testMFA(new PostgresStore({ client: pool, table }), {
      throttle: POLICY,
    });
    clock.now = T0;
    expect(await mfa.verify('u', wrongCode())).toEqual({ ok: false, reason: 'mismatch' });
    expect((await store.getUser('u', T0))?.throttle.otp).toMatchObject({ failures: 1, guesses: 1 });
  });

  it('reserves through PgBouncer in transaction mode, and refuses its pooled client in BEGIN', async () => {
    if (bouncerPool === undefined) {
      console.warn('pgbouncer is not installed: the PgBouncer part of this case is left out');
      return;
    }
    const { table, store } = await setUp();
    const through = new PostgresStore({ client: bouncerPool, table });
    const reservations = await Promise.all(
      Array.from({ length: 5 }, () =>
        through.reserveAttempt('u', { scope: 'otp', now: T0, policy: POLICY, weight: 1 }),
      ),
    );
    expect(reservations.filter((r) => r.ok)).toHaveLength(5);
    const before = await dump(pool, table);
    const client = await bouncerPool.connect();
    try {
      await client.query('BEGIN');
      await expectRefused(new PostgresStore({ client, table }).resetThrottle('u', 'otp'));
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect(await dump(pool, table)).toEqual(before);
    expect((await store.getUser('u', T0))?.throttle.otp.failures).toBe(5);
  });
});

describe('PostgresStore and the caller’s transaction, on PGlite', () => {
  const db = new PGlite();
  beforeAll(() => db.waitReady, 60_000);
  afterAll(() => db.close());

  it('refuses PGlite inside transaction(), writing nothing; the instance outside works', async () => {
    const table = 'tx_pglite';
    const store = new PostgresStore({ client: db, table });
    await store.migrate();
    await activeUser(store, 'u');
    const before = await dump(db, table);
    for (const end of ['rollback', 'commit'] as const) {
      await db.transaction(async (tx) => {
        const inside = new PostgresStore({ client: tx, table });
        const { mfa, clock } = testMFA(inside, { throttle: POLICY });
        clock.now = T0;
        await expectRefused(mfa.verify('u', wrongCode()));
        for (const call of Object.values(writes(inside))) await expectRefused(call());
        if (end === 'rollback') await tx.rollback();
      });
      expect(await dump(db, table)).toEqual(before);
    }
    // The instance after a BEGIN of the caller's own.
    await db.query('BEGIN');
    await expectRefused(
      store.reserveAttempt('u', { scope: 'otp', now: T0, policy: OPEN_THROTTLE, weight: 1 }),
    );
    await db.query('COMMIT');
    expect(await dump(db, table)).toEqual(before);
    expect(
      await store.reserveAttempt('u', { scope: 'otp', now: T0, policy: OPEN_THROTTLE, weight: 1 }),
    ).toEqual({ ok: true, failures: 1, guesses: 1 });
  });
});
