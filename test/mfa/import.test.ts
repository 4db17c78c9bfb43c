// Issue 23.4: a migration teams can run twice. importFactor makes no recovery
// codes unless asked (status says there are none, nothing is hashed), a
// re-run without names (or with other ones) is recognised instead of adding
// 'Authenticator 2', and without `lastStep` an imported factor accepts no code
// of a step at or before the import's current step plus policy.window (so a
// code accepted before the import, by the old system or by an earlier copy
// of the factor, is refused after it).
//
// The oracle is the documented rule (docs/enrollment.md, "Importing existing
// secrets"; ImportFactorOptions in src/mfa/types.ts), not the code.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildKeyURI,
  encodeBase32,
  generateTOTP,
  MemoryStore,
  type MFAStore,
} from '../../src/index.ts';
import type { UserRecord } from '../../src/store.ts';
import {
  harness,
  newUser,
  NO_THROTTLE,
  REQUIRED_STORE_METHODS,
  T0,
  withoutReadAndReserve,
} from '../helpers/mfa.ts';

/** A 20-byte secret of its own for each `seed`. */
function secretOf(seed: number): Uint8Array {
  return Uint8Array.from({ length: 20 }, (_, i) => (seed * 53 + i * 7 + 3) & 0xff);
}

const STORES: [string, () => MFAStore][] = [
  ['readAndReserve', () => new MemoryStore()],
  ['getUser + reserveAttempt', () => withoutReadAndReserve(new MemoryStore())],
];

describe.each(STORES)('importFactor: recovery codes (%s)', (_path, makeStore) => {
  it('by default an import makes none: none returned, nothing hashed, status says 0', async () => {
    const h = harness({ store: makeStore() });
    const user = newUser('no-codes');
    const result = await h.mfa.importFactor(user, { secret: secretOf(1) });
    expect(result).toEqual({
      ok: true,
      factorId: expect.any(String),
      weak: false,
      alreadyImported: false,
      generation: expect.any(Number),
    });
    expect('recoveryCodes' in result).toBe(false);
    const record = await h.store.getUser(user, h.now);
    expect(record?.factors).toHaveLength(1);
    expect(record?.recoveryCodes ?? null, 'no set stored').toBeNull();
    expect(await h.mfa.status(user)).toMatchObject({
      state: 'active',
      factors: 1,
      recoveryCodesRemaining: 0,
    });
    // The user makes a set after signing in; status follows.
    const regenerated = await h.mfa.regenerateRecoveryCodes(user);
    expect(regenerated.ok && regenerated.recoveryCodes).toHaveLength(10);
    expect((await h.mfa.status(user)).recoveryCodesRemaining).toBe(10);
  });

  it('recoveryCodes: false says the same explicitly; recoveryCodes: true makes the first set', async () => {
    const h = harness({ store: makeStore() });
    const without = newUser('codes-false');
    const a = await h.mfa.importFactor(without, { secret: secretOf(2), recoveryCodes: false });
    expect(a.ok && 'recoveryCodes' in a).toBe(false);
    expect((await h.mfa.status(without)).recoveryCodesRemaining).toBe(0);

    const withCodes = newUser('codes-true');
    const b = await h.mfa.importFactor(withCodes, { secret: secretOf(3), recoveryCodes: true });
    if (!b.ok) throw new Error(b.reason);
    expect(b.recoveryCodes).toHaveLength(10);
    expect(new Set(b.recoveryCodes).size).toBe(10);
    expect((await h.mfa.status(withCodes)).recoveryCodesRemaining).toBe(10);
    // Hidden from JSON and logs, like the codes of a first enrollment.
    expect(JSON.stringify(b)).not.toContain(b.recoveryCodes![0]!);
    // One of them works, once.
    expect(await h.mfa.useRecoveryCode(withCodes, b.recoveryCodes![0]!)).toEqual({
      ok: true,
      remaining: 9,
      generation: expect.any(Number),
    });
    // A second factor with recoveryCodes: true keeps the set the user has.
    const c = await h.mfa.importFactor(withCodes, { secret: secretOf(4), recoveryCodes: true });
    expect(c.ok && 'recoveryCodes' in c).toBe(false);
    expect((await h.mfa.status(withCodes)).recoveryCodesRemaining).toBe(9);
  });

  it('recoveryCodes must be a boolean; nothing is written', async () => {
    const h = harness({ store: makeStore() });
    const user = newUser('codes-type');
    for (const [bad, expected] of [
      ['true', 'a string of length 4'],
      [1, '1'],
      [null, 'null'],
    ] as const) {
      await expect(
        h.mfa.importFactor(user, { secret: secretOf(5), recoveryCodes: bad as never }),
      ).rejects.toThrow(new TypeError(`"recoveryCodes" must be a boolean, got ${expected}`));
    }
    expect(await h.store.getUser(user, h.now)).toBeNull();
  });

  it('when the other factors go while it imports, recoveryCodes decides whether a set is made', async () => {
    for (const recoveryCodes of [false, true]) {
      // The import reads one factor (so makes no set), which is removed
      // before its own factor is added: the store reports a first factor.
      const inner = makeStore();
      const user = newUser(`race-${recoveryCodes}`);
      let h: ReturnType<typeof harness>;
      let armed = false;
      const store = Object.fromEntries(
        [...REQUIRED_STORE_METHODS, 'readAndReserve' as const]
          .filter((name) => typeof inner[name] === 'function')
          .map((name) => [name, (inner[name] as (...a: unknown[]) => unknown).bind(inner)]),
      ) as unknown as MFAStore;
      store.getUser = async (userId: string, now: number): Promise<UserRecord | null> => {
        const record = await inner.getUser(userId, now);
        if (armed) {
          armed = false;
          await h.mfa.removeFactor(userId, record!.factors[0]!.id);
        }
        return record;
      };
      h = harness({ store });
      expect(await h.mfa.importFactor(user, { secret: secretOf(6), name: 'Old' })).toMatchObject({
        ok: true,
      });
      armed = true;
      const result = await h.mfa.importFactor(user, { secret: secretOf(7), recoveryCodes });
      expect(result).toMatchObject({ ok: true, alreadyImported: false });
      expect((await h.mfa.listFactors(user)).map((f) => f.name)).toEqual(['Authenticator']);
      expect(result.ok && result.recoveryCodes?.length).toBe(recoveryCodes ? 10 : undefined);
      expect((await h.mfa.status(user)).recoveryCodesRemaining).toBe(recoveryCodes ? 10 : 0);
    }
  });
});

describe.each(STORES)('importFactor: a re-run is recognised (%s)', (_path, makeStore) => {
  const rows = Array.from({ length: 6 }, (_, i) => ({
    userId: `rerun-${i}`,
    base32Secret: encodeBase32(secretOf(100 + i)),
  }));

  it('a whole table imported twice without names: no "Authenticator 2", nothing written, no event', async () => {
    const h = harness({ store: makeStore() });
    const first = [];
    for (const row of rows)
      first.push(await h.mfa.importFactor(row.userId, { secret: row.base32Secret }));
    for (const r of first) expect(r).toMatchObject({ ok: true, alreadyImported: false });
    const events = h.events.length;
    const before = await Promise.all(rows.map((r) => h.store.getUser(r.userId, h.now)));
    h.advance(90_000);
    // The second run: no names, or other names, or the same secret as a URI
    // or in lower case with spaces, and asking for recovery codes this time.
    const again = [
      { secret: rows[0]!.base32Secret },
      { secret: rows[1]!.base32Secret, name: 'Authenticator 2' },
      { secret: rows[2]!.base32Secret.toLowerCase().replace(/(.{4})/g, '$1 ') },
      { uri: buildKeyURI({ secret: secretOf(103), accountName: 'x', issuer: 'Old' }) },
      { secret: secretOf(104), recoveryCodes: true },
      { secret: rows[5]!.base32Secret, lastStep: 5 },
    ];
    for (const [i, options] of again.entries()) {
      const r = await h.mfa.importFactor(rows[i]!.userId, options);
      const firstId = first[i]!.ok ? first[i]!.factorId : 'none';
      expect(r).toEqual({
        ok: true,
        factorId: firstId,
        weak: false,
        alreadyImported: true,
        generation: expect.any(Number),
      });
      expect('recoveryCodes' in r).toBe(false);
    }
    expect(h.events.length, 'a re-run emits nothing').toBe(events);
    const after = await Promise.all(rows.map((r) => h.store.getUser(r.userId, h.now)));
    expect(after, 'a re-run writes nothing').toEqual(before);
    for (const row of rows) {
      expect((await h.mfa.listFactors(row.userId)).map((f) => f.name)).toEqual(['Authenticator']);
      expect((await h.mfa.status(row.userId)).recoveryCodesRemaining).toBe(0);
    }
  });

  it('parallel re-runs of one row leave one factor, and every answer names it', async () => {
    const h = harness({ store: makeStore() });
    const user = newUser('rerun-race');
    const results = await Promise.all(
      Array.from({ length: 12 }, () => h.mfa.importFactor(user, { secret: secretOf(200) })),
    );
    const factors = await h.mfa.listFactors(user);
    expect(factors.map((f) => f.name)).toEqual(['Authenticator']);
    for (const r of results) expect(r).toMatchObject({ ok: true, factorId: factors[0]!.id });
    expect(results.filter((r) => r.ok && !r.alreadyImported)).toHaveLength(1);
    expect(h.ofType('factor_imported')).toHaveLength(1);
  });
});

const PERIOD_MS = 30_000;
const stepAt = (now: number, periodMs = PERIOD_MS) => Math.floor(now / periodMs);

describe.each(STORES)('importFactor: the default lastStep (%s)', (_path, makeStore) => {
  it('import, verify, remove, import again: the same code is refused', async () => {
    const h = harness({ store: makeStore() });
    const user = newUser('reimport');
    const secret = secretOf(300);
    const first = await h.mfa.importFactor(user, { secret });
    if (!first.ok) throw new Error(first.reason);
    // A code accepted a minute after the first import (step s).
    h.advance(2 * PERIOD_MS);
    const code = generateTOTP(secret, { now: h.now });
    expect(await h.mfa.verify(user, code)).toEqual({
      ok: true,
      factorId: first.factorId,
      generation: expect.any(Number),
    });
    // The factor goes, and the same secret is imported again shortly after.
    h.advance(10_000);
    expect(await h.mfa.removeFactor(user, first.factorId)).toEqual({
      ok: true,
      remaining: 0,
      generation: expect.any(Number),
    });
    const second = await h.mfa.importFactor(user, { secret });
    expect(second).toMatchObject({ ok: true, alreadyImported: false });
    expect(await h.mfa.verify(user, code)).toEqual({ ok: false, reason: 'replayed' });
  });

  it("a code of the import's own step, or of any step up to policy.window ahead, is refused; the next is accepted", async () => {
    const h = harness({ store: makeStore() });
    const user = newUser('own-step');
    const secret = secretOf(301);
    // The old system accepted the current code just before the migration.
    h.advance(12_000);
    const current = generateTOTP(secret, { now: h.now });
    const result = await h.mfa.importFactor(user, { secret });
    if (!result.ok) throw new Error(result.reason);
    const c = stepAt(h.now);
    expect((await h.store.getUser(user, h.now))?.factors[0]?.lastStep).toBe(c + 1);
    expect(await h.mfa.verify(user, current)).toEqual({ ok: false, reason: 'replayed' });
    // A device 30 s fast shows the code of c + 1: also at or before c + window.
    const ahead = generateTOTP(secret, { now: h.now + PERIOD_MS });
    expect(await h.mfa.verify(user, ahead)).toEqual({ ok: false, reason: 'replayed' });
    // Still refused when its step comes.
    h.advance(PERIOD_MS);
    expect(await h.mfa.verify(user, ahead)).toEqual({ ok: false, reason: 'replayed' });
    // The first code of a later step works.
    h.advance(PERIOD_MS);
    const next = generateTOTP(secret, { now: h.now });
    expect(stepAt(h.now)).toBe(c + 2);
    expect(await h.mfa.verify(user, next)).toEqual({
      ok: true,
      factorId: result.factorId,
      generation: expect.any(Number),
    });
  });

  it('an explicit lastStep is kept: -1 accepts the current code at once', async () => {
    const h = harness({ store: makeStore() });
    const user = newUser('explicit');
    const secret = secretOf(302);
    const result = await h.mfa.importFactor(user, { secret, lastStep: -1 });
    if (!result.ok) throw new Error(result.reason);
    expect((await h.store.getUser(user, h.now))?.factors[0]?.lastStep).toBe(-1);
    expect(await h.mfa.verify(user, generateTOTP(secret, { now: h.now }))).toEqual({
      ok: true,
      factorId: result.factorId,
      generation: expect.any(Number),
    });
    const other = newUser('explicit-old');
    const old = stepAt(h.now) - 5;
    await h.mfa.importFactor(other, { secret: secretOf(303), lastStep: old });
    expect((await h.store.getUser(other, h.now))?.factors[0]?.lastStep).toBe(old);
  });

  it('property: with any clock, period and window, no code of a step up to now + window is accepted', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        fc.constantFrom(30, 60, 15),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 1, max: 1_000 }),
        async (now, period, window, seed) => {
          const h = harness({ store: makeStore(), policy: { window, throttle: NO_THROTTLE } });
          h.now = now;
          const secret = secretOf(seed);
          const user = newUser('prop');
          const result = await h.mfa.importFactor(user, { secret, period });
          if (!result.ok) throw new Error(result.reason);
          const periodMs = period * 1000;
          const c = stepAt(now, periodMs);
          // Every code the window reaches now: the past ones and the ones ahead.
          for (let k = Math.max(0, c - window); k <= c + window; k++) {
            const code = generateTOTP(secret, { now: k * periodMs, period });
            expect(await h.mfa.verify(user, code), `step c${k - c} of window ${window}`).toEqual({
              ok: false,
              reason: 'replayed',
            });
          }
          // The first step after: accepted when it comes.
          h.now = (c + window + 1) * periodMs;
          const first = generateTOTP(secret, { now: h.now, period });
          expect(await h.mfa.verify(user, first)).toEqual({
            ok: true,
            factorId: result.factorId,
            generation: expect.any(Number),
          });
        },
      ),
      { numRuns: 60, seed: 23_004 },
    );
  });

  it('the default is the largest lastStep allowed: one more is a RangeError', async () => {
    const h = harness({ store: makeStore(), policy: { window: 2 } });
    const user = newUser('bound');
    const c = stepAt(h.now);
    await expect(
      h.mfa.importFactor(user, { secret: secretOf(304), lastStep: c + 3 }),
    ).rejects.toThrow(RangeError);
    await h.mfa.importFactor(user, { secret: secretOf(304) });
    expect((await h.store.getUser(user, h.now))?.factors[0]?.lastStep).toBe(c + 2);
  });
});

// T0 is the start of a 30 s step; the tests above rely on it.
expect(T0 % PERIOD_MS).toBe(0);
