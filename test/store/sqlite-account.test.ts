// SQLiteStore's account document against MemoryStore, the contract's
// reference (commit 3667e61), on better-sqlite3:
// - random sequences of every operation that writes the document or carries
//   an account write (versions read, one behind and one ahead), with factor
//   changes, reservations, erasure, admin resets and deleteExpired between
//   them: the same answers, and the same records after every step (order:
//   erased → conflict → the operation's rules; a conflict or a refusal writes
//   nothing; the document is written iff the change is made);
// - documents round-trip exactly (arrays in order, numbers exact, nulls kept,
//   any string);
// - retention: a factorless row is kept while keepUntil is null or ahead.
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/index.ts';
import type {
  AccountState,
  AccountWrite,
  AttemptPolicy,
  MFAStore,
  PendingEnrollment,
} from '../../src/store/contract.ts';
import { betterSqlite3Driver, SQLiteStore } from '../../src/store/sqlite.ts';

const db = new Database(':memory:');
const driver = betterSqlite3Driver(db);
afterAll(() => db.close());

let tables = 0;
async function fresh(): Promise<SQLiteStore> {
  const store = new SQLiteStore({ driver, table: `account_${++tables}`, throttleRetentionMs: 0 });
  await store.migrate();
  return store;
}

const T = 1_750_000_000_000;
const MINUTE = 60_000;
const USERS = ['a', 'b'] as const;
const policy: AttemptPolicy = {
  freeAttempts: 1,
  baseDelayMs: 1000,
  maxDelayMs: 4000,
  maxFailures: 4,
};

/** A document; `keep` chooses its keepUntil relative to `now`. */
function doc(generation: number, keep: 'null' | 'ahead' | 'past', now: number): AccountState {
  return {
    generation,
    keepUntil: keep === 'null' ? null : keep === 'ahead' ? now + 10 * MINUTE : now - MINUTE,
    codes: [],
    budgets: [{ purpose: 'enroll', failures: generation % 3, windowStart: now }],
    sends: [],
    proofs: [],
    devices: [],
  };
}

function pending(id: string, now: number, name: string): PendingEnrollment {
  return {
    id,
    name,
    nameKey: name.toLowerCase(),
    sealedSecret: `sealed-${id}`,
    secretDigest: `digest-${id}`,
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    createdAt: now,
    expiresAt: now + 5 * MINUTE,
    replaceFactorId: null,
  };
}

/** One step of a run; `write(version)` makes the account write from the version read. */
type Step =
  | { op: 'tick'; minutes: number }
  | { op: 'deleteExpired' }
  | {
      op: string;
      user: (typeof USERS)[number];
      id: 'x' | 'y' | 'z';
      name: 'A' | 'B';
      delta: -1 | 0 | 1;
      keep: 'null' | 'ahead' | 'past';
      withAccount: boolean;
    };

const userStep = fc.record({
  op: fc.constantFrom(
    'putPending',
    'activatePending',
    'addFactor',
    'reserveAttempt',
    'replaceRecoveryCodes',
    'removeFactor',
    'deleteFactors',
    'updateAccount',
    'resetUser',
    'deleteUser',
  ),
  user: fc.constantFrom(...USERS),
  id: fc.constantFrom('x' as const, 'y' as const, 'z' as const),
  name: fc.constantFrom('A' as const, 'B' as const),
  delta: fc.constantFrom(0 as const, 0 as const, 0 as const, -1 as const, 1 as const),
  keep: fc.constantFrom('null' as const, 'ahead' as const, 'past' as const),
  withAccount: fc.boolean(),
});
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 8, arbitrary: userStep },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('tick'), minutes: fc.integer({ min: 1, max: 20 }) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('deleteExpired') }) },
);

/** Runs `s` on `store` at `now`, the version read from `reference` (the same before the step). */
async function run(
  store: MFAStore & { deleteExpired(now: number): Promise<unknown> },
  s: Step,
  now: number,
  version: number,
) {
  if (s.op === 'tick') return null;
  if (s.op === 'deleteExpired') return store.deleteExpired(now);
  const { user, id, name, delta, keep } = s as Exclude<
    Step,
    { op: 'tick' } | { op: 'deleteExpired' }
  >;
  const v = Math.max(0, version + delta);
  const write: AccountWrite = { version: v, account: doc(v + 1, keep, now) };
  const account = { account: write };
  const codes = { salt: `salt-${now}`, hashes: [`h-${id}`, 'h-2'] };
  switch (s.op) {
    case 'putPending':
      return (s as { withAccount: boolean }).withAccount
        ? store.putPending(user, pending(id, now, name), account)
        : store.putPending(user, pending(id, now, name));
    case 'activatePending':
      return store.activatePending(user, id, {
        lastStep: 1,
        drift: 0,
        now,
        maxFactors: 2,
        recoveryCodes: codes,
        ...account,
      });
    case 'addFactor': {
      const p = pending(id, now, name);
      const factor = { ...p, lastStep: -1, drift: 0, activatedAt: now, lastUsedAt: null };
      delete (factor as { expiresAt?: number }).expiresAt;
      delete (factor as { replaceFactorId?: string | null }).replaceFactorId;
      return store.addFactor(user, factor, { maxFactors: 2, recoveryCodes: codes, ...account });
    }
    case 'reserveAttempt':
      return store.reserveAttempt(user, {
        scope: id === 'x' ? 'recovery' : 'otp',
        now,
        policy,
        weight: 1,
      });
    case 'replaceRecoveryCodes':
      return store.replaceRecoveryCodes(user, codes, account);
    case 'removeFactor':
      return store.removeFactor(user, id, account);
    case 'deleteFactors':
      return store.deleteFactors(user, account);
    case 'updateAccount':
      return store.updateAccount(user, { ...write, now });
    case 'resetUser':
      return store.resetUser(user, { ...write, now });
    case 'deleteUser':
      return store.deleteUser(user, { now, guardMs: 3 * MINUTE });
  }
  throw new Error(`unknown step ${s.op}`);
}

describe('SQLiteStore account document against MemoryStore (the reference)', () => {
  it('random runs of every account-writing operation: the same answers and records', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (steps) => {
        const store = await fresh();
        const reference = new MemoryStore({ throttleRetentionMs: 0 });
        let now = T;
        for (const [i, s] of steps.entries()) {
          if (s.op === 'tick') now += (s as { minutes: number }).minutes * MINUTE;
          const user = 'user' in s ? s.user : 'a';
          const version = (await reference.getUser(user, now))?.accountVersion ?? 0;
          const expected = await run(reference, s, now, version);
          const actual = await run(store, s, now, version);
          const label = `step ${i}: ${JSON.stringify(s)}`;
          if (s.op === 'deleteExpired') {
            // MemoryStore drops an ended erasure guard when an operation meets
            // it, so deleteExpired may count fewer records there; what was
            // deleted is compared through getUser below.
            expect(actual, label).toMatchObject({
              enrollments: (expected as { enrollments: number }).enrollments,
            });
          } else {
            expect(actual, label).toEqual(expected);
          }
          for (const u of USERS) {
            expect(await store.getUser(u, now), `step ${i}, user ${u}`).toEqual(
              await reference.getUser(u, now),
            );
          }
        }
      }),
      { numRuns: 150 },
    );
  }, 120_000);

  it('documents round-trip exactly: arrays in order, numbers exact, nulls kept, any string', async () => {
    const store = await fresh();
    const number = fc.oneof(
      fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
      // -0 has no JSON form (JSON.stringify writes 0): no store keeps it.
      fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0)),
    );
    const text = fc.string({ unit: 'binary' });
    const document = fc.record({
      generation: fc.nat(),
      keepUntil: fc.option(fc.nat(), { nil: null }),
      codes: fc.array(
        fc.record({
          id: text,
          purpose: text,
          channel: fc.constantFrom('email' as const, 'sms' as const),
          destinationKey: text,
          codeHash: text,
          sentAt: number,
          expiresAt: number,
          attempts: fc.nat(),
        }),
      ),
      budgets: fc.array(fc.record({ purpose: text, failures: number, windowStart: number })),
      sends: fc.array(
        fc.record({ key: text, count: number, windowStart: number, lastSentAt: number }),
      ),
      proofs: fc.array(
        fc.record({
          hash: text,
          purpose: text,
          kind: fc.constantFrom('verification' as const, 'totp' as const, 'recovery' as const),
          createdAt: number,
          expiresAt: number,
        }),
      ),
      devices: fc.array(
        fc.record({
          id: text,
          name: text,
          hash: text,
          createdAt: number,
          lastUsedAt: fc.option(number, { nil: null }),
          expiresAt: number,
          generation: fc.nat(),
        }),
      ),
    });
    let n = 0;
    await fc.assert(
      fc.asyncProperty(document, async (generated) => {
        // Plain objects (fast-check makes some without a prototype); every value kept.
        const account = structuredClone(generated);
        const user = `round-trip-${++n}`;
        expect(await store.updateAccount(user, { version: 0, account, now: T })).toBe('updated');
        const record = await store.getUser(user, T);
        expect(record?.account).toStrictEqual(account);
        expect(record?.accountVersion).toBe(1);
        // Key order too: the text written is the text read.
        expect(JSON.stringify(record?.account)).toBe(JSON.stringify(account));
      }),
      { numRuns: 200 },
    );
  });

  it('keeps a factorless row while keepUntil is null or ahead, and only then lets it go', async () => {
    const store = await fresh();
    const write = (user: string, keepUntil: number | null) =>
      store.updateAccount(user, {
        version: 0,
        account: { ...doc(1, 'null', T), keepUntil },
        now: T,
      });
    await write('forever', null);
    await write('ahead', T + MINUTE);
    await write('at', T);
    await write('past', T - 1);
    // Throttle state past its retention (0 here) beside a held document.
    await write('throttled', null);
    await store.reserveAttempt('throttled', {
      scope: 'otp',
      now: T - 10 * MINUTE,
      policy,
      weight: 1,
    });
    expect(await store.deleteExpired(T)).toEqual({ enrollments: 0, records: 2, more: false });
    expect(await store.getUser('at', T)).toBeNull();
    expect(await store.getUser('past', T)).toBeNull();
    for (const user of ['forever', 'ahead', 'throttled']) {
      expect((await store.getUser(user, T))?.account?.generation).toBe(1);
    }
    expect(await store.deleteExpired(T + MINUTE)).toEqual({
      enrollments: 0,
      records: 1,
      more: false,
    });
    expect(await store.getUser('ahead', T + MINUTE)).toBeNull();
    expect(await store.deleteExpired(T + 1000 * 24 * 60 * MINUTE)).toMatchObject({ records: 0 });
    expect((await store.getUser('forever', T))?.accountVersion).toBe(1);
    expect((await store.getUser('throttled', T))?.throttle.otp.failures).toBe(1);
  });

  it('checks an account write before any statement, naming the field', async () => {
    const store = await fresh();
    const account = doc(1, 'null', T);
    await expect(store.updateAccount('u', { version: -1, account, now: T })).rejects.toThrow(
      /"options.version" must be a safe integer ≥ 0, got -1/,
    );
    await expect(store.updateAccount('u', { version: 0.5, account, now: T })).rejects.toThrow(
      RangeError,
    );
    await expect(
      store.updateAccount('u', { version: 0, account: null as never, now: T }),
    ).rejects.toThrow(/"options.account" must be an object/);
    await expect(store.deleteFactors('u', { account: undefined as never })).rejects.toThrow(
      /"options.account" must be an object, got undefined/,
    );
    expect(await store.getUser('u', T)).toBeNull();
  });
});
