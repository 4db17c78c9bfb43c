// A PostgreSQL table as totpkit 0.2 created it (test/fixtures/schema-0.2.sql,
// the DDL of 3bc258e's migrate()) holding rows 0.2's own service wrote
// (test/fixtures/data-0.2.sql), and what the service must make of them once
// PostgresStore.migrate() has upgraded the table: the claims of
// docs/security-model.md and docs/stores.md, checked through the service.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { decodeBase32, generateTOTP } from '../../src/index.ts';
import type { PostgresQueryClient } from '../../src/store/postgres.ts';
import type { MFAStore } from '../../src/store/contract.ts';
import { testMFA } from './mfa-setup.ts';

/** The clock of the fixture's rows (a step boundary). */
export const T = 1_750_000_020_000;
const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
const DDL = fixture('schema-0.2.sql');
const DDL_03_DEV = fixture('schema-0.3-dev.sql');
const DATA = fixture('data-0.2.sql');
/** What data-0.2.sql's header noted when 0.2 wrote the rows. */
const noted = (what: string) => new RegExp(`^-- ${what}: (.+)$`, 'm').exec(DATA)![1]!;

/** Creates `table` with 0.2's schema and fills it with 0.2's rows. */
export async function seed02(client: PostgresQueryClient, table: string): Promise<void> {
  const bare = table.split('.').at(-1)!;
  const sql = `${DDL}\n${DATA}`.replaceAll('__TABLE__', table).replaceAll('__BARE__', bare);
  await client.query(`DO $$ BEGIN ${sql} END $$`, []);
}

/**
 * Creates `table` with the 0.3 development schema before the account document
 * (schema-0.3-dev.sql) holding 0.2's rows as that schema's migrate() left
 * them (the guesses as 0.2 counted), and an erasure guard in force.
 */
export async function seed03dev(client: PostgresQueryClient, table: string): Promise<void> {
  const bare = table.split('.').at(-1)!;
  const sql = `${DDL_03_DEV}\n${DATA}`.replaceAll('__TABLE__', table).replaceAll('__BARE__', bare);
  await client.query(`DO $$ BEGIN ${sql} END $$`, []);
  await client.query(
    `UPDATE ${table} SET otp_guesses = otp_failures * GREATEST(1,
       (SELECT count(*) FROM jsonb_object_keys(factors))), recovery_guesses = recovery_failures`,
    [],
  );
  await client.query(`INSERT INTO ${table} (user_id, erased_until) VALUES ('erased', $1)`, [
    T + 3_600_000,
  ]);
}

/**
 * Checks, through the store alone, what an upgraded table holds: every row
 * with no account document at version 0, its factors and throttle state as
 * they were; a compare-and-set then works on an upgraded row.
 */
export async function checkUpgradedRecords(store: MFAStore): Promise<void> {
  const now = T + 60_000;
  const users = ['locked5', 'partial3', 'pending', 'recovery7', 'verifier'];
  const records = await Promise.all(users.map((user) => store.getUser(user, now)));
  expect(records.map((r) => [r?.account, r?.accountVersion, r?.factors.length])).toEqual([
    [null, 0, 5],
    [null, 0, 3],
    [null, 0, 0],
    [null, 0, 1],
    [null, 0, 1],
  ]);
  expect(records[0]!.throttle.otp).toEqual({ failures: 20, guesses: 100, blockedUntil: T });
  expect(records[2]!.pending?.expiresAt).toBe(T + 600_000);
  const account = { generation: 0, keepUntil: now, codes: [], budgets: [], sends: [], proofs: [] };
  const write = { account: { ...account, devices: [] }, now };
  expect(await store.updateAccount('recovery7', { ...write, version: 1 })).toBe('conflict');
  expect(await store.updateAccount('recovery7', { ...write, version: 0 })).toBe('updated');
  const after = await store.getUser('recovery7', now);
  expect(after).toEqual({ ...records[3], account: write.account, accountVersion: 1 });
}

const secret = (byte: number) => new Uint8Array(20).fill(byte);
/** 0.2's policy when it wrote the rows: the lock at 100, no delays. */
const throttle = { freeAttempts: 100, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 100 };

/** Checks, through the service, what the upgraded store must keep of 0.2's rows. */
export async function checkUpgraded02(store: MFAStore): Promise<void> {
  const { mfa, clock } = testMFA(store, { throttle });
  clock.now = T + 60_000;

  // The guesses as 0.2 counted them: 20 failures with 5 factors is 100.
  const locked = await store.getUser('locked5', clock.now);
  expect(locked?.throttle.otp).toEqual({ failures: 20, guesses: 100, blockedUntil: T });
  // 0.2 counted 5 of the 7 recovery attempts (the last two were throttled),
  // and it counted recovery failures alone, whatever the factors (3 here).
  expect((await store.getUser('recovery7', clock.now))?.throttle.recovery).toMatchObject({
    failures: 5,
    guesses: 5,
  });
  expect((await store.getUser('partial3', clock.now))?.throttle).toMatchObject({
    otp: { failures: 10, guesses: 30 },
    recovery: { failures: 4, guesses: 4 },
  });

  // A user 0.2 locked stays locked: a right code, then after removing four
  // of the five factors, then after disable and a re-enrollment.
  const right = (byte: number) => generateTOTP(secret(byte), { now: clock.now });
  expect(await mfa.verify('locked5', right(0x11))).toEqual({ ok: false, reason: 'locked' });
  const factors = await mfa.listFactors('locked5');
  expect(factors).toHaveLength(5);
  for (const factor of factors.filter((f) => f.name !== 'F1')) {
    expect(await mfa.removeFactor('locked5', factor.id)).toMatchObject({ ok: true });
  }
  expect(await mfa.verify('locked5', right(0x11))).toEqual({ ok: false, reason: 'locked' });
  // Four removals and disable: the generation moved once each, from 0 (no document).
  expect(await mfa.disable('locked5')).toEqual({ disabled: true, generation: 5 });
  const started = await mfa.beginEnrollment('locked5', { accountName: 'l@example.com' });
  const fresh = decodeBase32(started.secret);
  expect(
    await mfa.completeEnrollment(
      'locked5',
      generateTOTP(fresh, { now: clock.now - 30_000 }),
      generateTOTP(fresh, { now: clock.now }),
    ),
  ).toEqual({ ok: false, reason: 'locked' });

  // One partly through a cycle keeps what 0.2 left it: 10 failures of
  // ceil(100 / 3) = 34 with 3 factors, so 24 more wrong codes are checked.
  const outcomes: string[] = [];
  for (let i = 0; i < 30; i++) {
    const result = await mfa.verify('partial3', '000000');
    outcomes.push(result.ok ? 'ok' : result.reason);
  }
  expect(outcomes).toEqual([...Array(24).fill('mismatch'), ...Array(6).fill('locked')]);

  // A factor 0.2 wrote verifies once per code, and its recovery codes work.
  const code = right(0x01);
  expect(await mfa.verify('verifier', code)).toMatchObject({ ok: true });
  expect(await mfa.verify('verifier', code)).toEqual({ ok: false, reason: 'replayed' });
  expect(await mfa.useRecoveryCode('verifier', noted('verifier recovery code'))).toMatchObject({
    ok: true,
  });
  // Its secret has no digest, yet importing it again is recognised.
  const [existing] = await mfa.listFactors('verifier');
  const again = await mfa.importFactor('verifier', { secret: secret(0x01), name: 'Again' });
  expect(again).toMatchObject({ ok: true, factorId: existing!.id, alreadyImported: true });
  expect(await mfa.listFactors('verifier')).toHaveLength(1);

  // An enrollment 0.2 began can be completed.
  const pending = decodeBase32(noted('pending secret'));
  expect(
    await mfa.completeEnrollment(
      'pending',
      generateTOTP(pending, { now: clock.now - 30_000 }),
      generateTOTP(pending, { now: clock.now }),
    ),
  ).toMatchObject({ ok: true });
}
