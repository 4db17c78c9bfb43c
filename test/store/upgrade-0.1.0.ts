// A PostgreSQL table as totpkit 0.1.0 created and filled it (the DDL of
// 0.1.0's migrate(), kept in test/fixtures/schema-0.1.0.sql), and what
// PostgresStore.migrate() must make of it: every factor, pending enrollment,
// recovery set and lock kept.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { PostgresQueryClient } from '../../src/store/postgres.ts';
import type { MFAStore, UserRecord } from '../../src/store/contract.ts';

export const T = 1_750_000_000_000;
const DDL = readFileSync(new URL('../fixtures/schema-0.1.0.sql', import.meta.url), 'utf8');

/** Creates `table` with 0.1.0's schema and four users in 0.1.0's layout. */
export async function seed010(client: PostgresQueryClient, table: string): Promise<void> {
  const bare = table.split('.').at(-1)!;
  await client.query(
    `DO $$ BEGIN ${DDL.replaceAll('__TABLE__', table).replaceAll('__BARE__', bare)} END $$`,
    [],
  );
  const factor = `factor_id, factor_secret, factor_algorithm, factor_digits, factor_period,
    factor_last_step, factor_drift, factor_activated_at`;
  const pending = `pending_id, pending_secret, pending_algorithm, pending_digits, pending_period,
    pending_created_at, pending_expires_at`;
  await client.query(
    `INSERT INTO ${table} (user_id, ${factor}, recovery_salt, recovery_hashes, otp_failures,
      otp_blocked_until, recovery_failures, recovery_blocked_until)
     VALUES ('active', 'f1', 'sealed-1', 'SHA256', 8, 60, 29166666, -2, $1, 'salt', ARRAY['h1', 'h2'],
       3, $2, 1, $1)`,
    [T, T + 5000],
  );
  await client.query(
    `INSERT INTO ${table} (user_id, ${factor}, ${pending}, recovery_salt, recovery_hashes)
     VALUES ('reenroll', 'f2', 'sealed-2', 'SHA1', 6, 30, 58333333, 0, $1,
       'p2', 'sealed-p2', 'SHA1', 6, 30, $1, $2, 'salt2', ARRAY['h3'])`,
    [T, T + 600_000],
  );
  await client.query(
    `INSERT INTO ${table} (user_id, ${pending}) VALUES ('pending', 'p3', 'sealed-p3', 'SHA512', 7, 30, $1, $2)`,
    [T, T + 600_000],
  );
  await client.query(`INSERT INTO ${table} (user_id, otp_failures) VALUES ('locked', 100)`, []);
}

const fresh = { failures: 0, guesses: 0, blockedUntil: 0 };

/** What getUser must return for each seeded user after the upgrade. */
export const UPGRADED: Record<string, Omit<UserRecord, 'account' | 'accountVersion'>> = {
  active: {
    userId: 'active',
    factors: [
      {
        id: 'f1',
        name: 'Authenticator',
        nameKey: 'authenticator',
        sealedSecret: 'sealed-1',
        secretDigest: null, // unknown: written before 0.3
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
    pending: null,
    recoveryCodes: { salt: 'salt', hashes: ['h1', 'h2'] },
    throttle: {
      // 0.1.0 counted failures alone, with one factor: as many guesses.
      otp: { failures: 3, guesses: 3, blockedUntil: T + 5000 },
      recovery: { failures: 1, guesses: 1, blockedUntil: T },
    },
  },
  reenroll: {
    userId: 'reenroll',
    factors: [
      {
        id: 'f2',
        name: 'Authenticator',
        nameKey: 'authenticator',
        sealedSecret: 'sealed-2',
        secretDigest: null,
        algorithm: 'SHA1',
        digits: 6,
        period: 30,
        lastStep: 58333333,
        drift: 0,
        createdAt: T,
        activatedAt: T,
        lastUsedAt: null,
      },
    ],
    // 0.1.0 bound a re-enrollment in place of the active factor: it still will.
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
      replaceFactorId: 'f2',
      previous: null, // 0.1.0 kept no replaced enrollment
    },
    recoveryCodes: { salt: 'salt2', hashes: ['h3'] },
    throttle: { otp: fresh, recovery: fresh },
  },
  pending: {
    userId: 'pending',
    factors: [],
    pending: {
      id: 'p3',
      name: 'Authenticator',
      nameKey: 'authenticator',
      sealedSecret: 'sealed-p3',
      secretDigest: null,
      algorithm: 'SHA512',
      digits: 7,
      period: 30,
      createdAt: T,
      expiresAt: T + 600_000,
      replaceFactorId: null,
      previous: null, // 0.1.0 kept no replaced enrollment
    },
    recoveryCodes: null,
    throttle: { otp: fresh, recovery: fresh },
  },
  locked: {
    userId: 'locked',
    factors: [],
    pending: null,
    recoveryCodes: null,
    throttle: { otp: { failures: 100, guesses: 100, blockedUntil: 0 }, recovery: fresh },
  },
};

/** Checks every seeded user, then that the upgraded store works on them. */
export async function checkUpgraded(store: MFAStore): Promise<void> {
  for (const [userId, record] of Object.entries(UPGRADED)) {
    // No account document: an upgraded record has none, at version 0.
    expect(await store.getUser(userId, T)).toEqual({ ...record, account: null, accountVersion: 0 });
  }
  // The re-enrollment binds in place of f2, keeping the recovery codes.
  expect(
    await store.activatePending('reenroll', 'p2', {
      lastStep: 58333340,
      drift: 0,
      now: T + 1,
      maxFactors: 5,
      recoveryCodes: null,
      account: {
        version: 0,
        account: {
          generation: 1,
          keepUntil: null,
          codes: [],
          budgets: [],
          sends: [],
          proofs: [],
          devices: [],
        },
      },
    }),
  ).toEqual({ ok: true, firstFactor: false, replaced: true });
  expect((await store.getUser('reenroll', T))?.factors.map((f) => f.id)).toEqual(['p2']);
  expect(await store.recordSuccess('active', 'f1', 29166667, 0, T)).toBe(true);
  expect(await store.recordSuccess('active', 'f1', 29166667, 0, T)).toBe(false);
  const policy = { freeAttempts: 5, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 100 };
  expect(await store.reserveAttempt('locked', { scope: 'otp', now: T, policy, weight: 1 })).toEqual(
    {
      ok: false,
      reason: 'locked',
    },
  );
}
