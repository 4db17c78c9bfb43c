/**
 * Erasure: `deleteUser` removes everything and leaves an erasure guard; while
 * it is in force no operation creates state for the user, so that calls in
 * flight cannot bring any back. Every method refuses an ill-formed user id.
 * @module
 * @internal
 */
import { describe, expect, it } from 'vitest';
import type { MFAStore } from '../store/contract.ts';
import {
  activation,
  addOptions,
  nextAccount,
  GUARD,
  lockOnly,
  NOW,
  POLICY,
  type Suite,
} from './harness.ts';

/** Ids every store must refuse: empty, too long, a lone surrogate, U+FFFD, U+0000. */
const ILL_FORMED_IDS = ['', 'x'.repeat(257), '\uD800', 'a\uDC00b', '\uFFFD', 'a\u0000b'];

/** Registers these conformance cases (inside `testMFAStore`'s describe). */
export function erasureCases(suite: Suite): void {
  const {
    makeStore,
    user,
    pending,
    imported,
    codeSet,
    activate,
    readAndReserveOf,
    hasReadAndReserve,
    change,
  } = suite;

  /**
   * A time near the real clock: a store may expire a guard by a TTL on the
   * server's clock (Redis PEXPIREAT), so a guard in force must end in the future.
   */
  const realNow = () => Math.floor(Date.now() / 1000) * 1000;

  /** Every operation that could create state, at `at`; each must write nothing. */
  const tryToWrite = async (store: MFAStore, id: string, at: number) => {
    const outcomes: unknown[] = [];
    outcomes.push(
      await store.putPending(id, pending('p-after', { createdAt: at, expiresAt: at + 600_000 })),
    );
    outcomes.push(
      await change(store, id, (a) =>
        store.addFactor(
          id,
          imported('i-after', { createdAt: at, activatedAt: at }),
          addOptions(20, a),
        ),
      ),
    );
    outcomes.push(
      await change(store, id, (a) =>
        store.activatePending(id, 'p-after', { ...activation(a), now: at }),
      ),
    );
    for (const scope of ['otp', 'recovery'] as const) {
      outcomes.push(await store.reserveAttempt(id, { scope, now: at, policy: POLICY, weight: 3 }));
    }
    if (hasReadAndReserve) {
      const readAndReserve = readAndReserveOf(store);
      for (const requirement of ['active', 'pending'] as const) {
        outcomes.push(
          await readAndReserve(id, { scope: 'otp', now: at, policy: POLICY, requirement }),
        );
      }
    }
    await store.resetThrottle(id, 'otp');
    outcomes.push(
      await change(store, id, (a) =>
        store.replaceRecoveryCodes(id, codeSet('after'), { account: a }),
      ),
    );
    outcomes.push(await store.consumeRecoveryCode(id, 'hash-f1-0'));
    outcomes.push(await store.recordSuccess(id, 'f1', 5000, 0, at));
    outcomes.push(
      await store.refundAttempt(id, {
        scope: 'otp',
        failures: 1,
        guesses: 1,
        weight: 1,
        blockedUntil: 0,
      }),
    );
    outcomes.push(await store.replaceSealedSecret(id, 'f1', 'sealed-again'));
    outcomes.push(await store.renameFactor(id, 'f1', 'New', 'new'));
    outcomes.push(await change(store, id, (a) => store.removeFactor(id, 'f1', { account: a })));
    outcomes.push(await change(store, id, (a) => store.deleteFactors(id, { account: a })));
    outcomes.push(await change(store, id, (a) => store.updateAccount(id, { ...a, now: at })));
    outcomes.push(await change(store, id, (a) => store.resetUser(id, { ...a, now: at })));
    return outcomes;
  };

  describe('deleteUser and the erasure guard', () => {
    it('deleteUser erases everything, throttle state included', async () => {
      const store = await makeStore();
      const id = user('erase');
      const other = user('erase-other');
      // An erasure whose guard ended long ago: nothing to remove, and nothing refused now.
      expect(await store.deleteUser(id, { now: NOW - 2 * GUARD, guardMs: GUARD })).toBe(false);
      for (const u of [id, other]) {
        await activate(store, u, 'f1');
        await store.putPending(u, pending('p2'));
        await store.reserveAttempt(u, { scope: 'otp', now: NOW, policy: POLICY, weight: 1 });
        await store.reserveAttempt(u, { scope: 'recovery', now: NOW, policy: POLICY, weight: 1 });
      }
      const kept = await store.getUser(other, NOW);
      expect(await store.deleteUser(id, { now: NOW, guardMs: GUARD })).toBe(true);
      expect(await store.getUser(id, NOW)).toBeNull();
      expect(await store.deleteUser(id, { now: NOW, guardMs: GUARD })).toBe(false);
      expect(await store.getUser(other, NOW)).toEqual(kept);
      // A locked-out user with nothing else is erased too.
      const locked = user('erase-locked');
      await store.reserveAttempt(locked, { scope: 'otp', now: NOW, policy: POLICY, weight: 1 });
      expect(await store.deleteUser(locked, { now: NOW, guardMs: GUARD })).toBe(true);
      expect(await store.getUser(locked, NOW)).toBeNull();
    });

    it('leaves a guard: until it ends, no operation creates any state for the user', async () => {
      const store = await makeStore();
      const id = user('guard');
      const t = realNow();
      await activate(store, id, 'f1');
      await store.reserveAttempt(id, { scope: 'otp', now: NOW, policy: POLICY, weight: 1 });
      expect(await store.deleteUser(id, { now: t, guardMs: GUARD })).toBe(true);
      for (const at of [t, t + 1, t + GUARD - 1]) {
        const outcomes = await tryToWrite(store, id, at);
        expect(outcomes).toEqual([
          'erased',
          { ok: false, reason: 'erased' },
          { ok: false, reason: 'erased' },
          { ok: false, reason: 'erased' },
          { ok: false, reason: 'erased' },
          ...(hasReadAndReserve
            ? [
                { record: null, reservation: null },
                { record: null, reservation: null },
              ]
            : []),
          'no_factor',
          false,
          false,
          false,
          false,
          'not_found',
          { removed: false, remaining: 0 },
          'nothing',
          'erased',
          'erased',
        ]);
        expect(await store.getUser(id, at)).toBeNull();
        expect(await store.getUser(id, NOW)).toBeNull();
      }
    });

    it('leaves a guard for a user it had nothing for, too', async () => {
      const store = await makeStore();
      const id = user('guard-empty');
      const t = realNow();
      expect(await store.deleteUser(id, { now: t, guardMs: GUARD })).toBe(false);
      expect(
        await store.putPending(id, pending('p1', { createdAt: t, expiresAt: t + 600_000 })),
      ).toBe('erased');
      expect(
        await store.reserveAttempt(id, { scope: 'otp', now: t, policy: POLICY, weight: 1 }),
      ).toEqual({ ok: false, reason: 'erased' });
      expect(await store.getUser(id, t)).toBeNull();
    });

    it('the guard ends at now + guardMs: from then on state can be created again', async () => {
      const store = await makeStore();
      const id = user('guard-ends');
      const t = realNow();
      // A guard that ended a minute ago.
      expect(await store.deleteUser(id, { now: t - 120_000, guardMs: 60_000 })).toBe(false);
      expect(
        await store.putPending(id, pending('p1', { createdAt: t, expiresAt: t + 600_000 })),
      ).toBe('stored');
      expect(
        await store.reserveAttempt(id, { scope: 'otp', now: t, policy: POLICY, weight: 1 }),
      ).toMatchObject({ ok: true, failures: 1 });
      expect(
        await change(store, id, (a) =>
          store.activatePending(id, 'p1', { ...activation(a, codeSet('x')), now: t + 1 }),
        ),
      ).toMatchObject({ ok: true });
      expect((await store.getUser(id, t))?.factors.map((f) => f.id)).toEqual(['p1']);
    });

    it('a guard is decided by the time of the operation: refused just before until', async () => {
      const store = await makeStore();
      const id = user('guard-edge');
      const t = realNow();
      await store.deleteUser(id, { now: t, guardMs: 60_000 });
      const factor = imported('i1', { createdAt: t + 59_999, activatedAt: t + 59_999 });
      expect(
        await change(store, id, (a) => store.addFactor(id, factor, addOptions(20, a))),
      ).toEqual({
        ok: false,
        reason: 'erased',
      });
      expect(
        await store.reserveAttempt(id, {
          scope: 'recovery',
          now: t + 59_999,
          policy: POLICY,
          weight: 1,
        }),
      ).toEqual({ ok: false, reason: 'erased' });
      expect(await store.getUser(id, t)).toBeNull();
    });

    it('deleteUser racing every kind of write: nothing is left once all settle', async () => {
      const store = await makeStore();
      const t = realNow();
      for (let round = 0; round < 10; round++) {
        const id = user(`erase-race-${round}`);
        await activate(store, id, 'f1');
        await store.putPending(id, pending('p2', { createdAt: NOW }));
        const writes = [
          () =>
            store.putPending(id, pending(`p-${round}`, { createdAt: t, expiresAt: t + 600_000 })),
          () =>
            change(store, id, (a) =>
              store.addFactor(
                id,
                imported(`i-${round}`, { createdAt: t, activatedAt: t }),
                addOptions(20, a),
              ),
            ),
          () =>
            change(store, id, (a) =>
              store.activatePending(id, 'p2', { ...activation(a), now: NOW + 1 }),
            ),
          () =>
            store.reserveAttempt(id, { scope: 'otp', now: t, policy: lockOnly(100), weight: 2 }),
          () =>
            store.reserveAttempt(id, {
              scope: 'recovery',
              now: t,
              policy: lockOnly(100),
              weight: 1,
            }),
          () =>
            change(store, id, (a) =>
              store.replaceRecoveryCodes(id, codeSet(`r-${round}`), { account: a }),
            ),
          () => store.recordSuccess(id, 'f1', 9000, 0, t),
          () => store.resetThrottle(id, 'otp'),
        ];
        // The erasure lands at a different place among the writes each round.
        const at = round % (writes.length + 1);
        const calls = writes.map((write) => write());
        calls.splice(at, 0, store.deleteUser(id, { now: t, guardMs: GUARD }) as never);
        await Promise.all(calls);
        // Whatever ran before the erasure went with it; whatever ran after was refused.
        expect(await store.getUser(id, t)).toBeNull();
        for (const write of writes) await write();
        expect(await store.getUser(id, t)).toBeNull();
      }
    });
  });

  describe('ill-formed user ids', () => {
    it('every method refuses them itself, naming userId, and writes nothing', async () => {
      const store = await makeStore();
      // A write as for a user the store has nothing for (the id is never read).
      const write = nextAccount(null);
      const options = { account: write };
      const calls: [string, (id: string) => Promise<unknown>][] = [
        ['getUser', (id) => store.getUser(id, NOW)],
        ['putPending', (id) => store.putPending(id, pending('p1'))],
        ['activatePending', (id) => store.activatePending(id, 'p1', activation(write))],
        ['addFactor', (id) => store.addFactor(id, imported('i1'), addOptions(20, write))],
        [
          'reserveAttempt',
          (id) => store.reserveAttempt(id, { scope: 'otp', now: NOW, policy: POLICY, weight: 1 }),
        ],
        ['recordSuccess', (id) => store.recordSuccess(id, 'f1', 2000, 0, NOW)],
        ['replaceRecoveryCodes', (id) => store.replaceRecoveryCodes(id, codeSet('x'), options)],
        ['replaceSealedSecret', (id) => store.replaceSealedSecret(id, 'f1', 'x')],
        ['consumeRecoveryCode', (id) => store.consumeRecoveryCode(id, 'h')],
        ['resetThrottle', (id) => store.resetThrottle(id, 'otp')],
        [
          'refundAttempt',
          (id) =>
            store.refundAttempt(id, {
              scope: 'otp',
              failures: 1,
              guesses: 1,
              weight: 1,
              blockedUntil: 0,
            }),
        ],
        ['renameFactor', (id) => store.renameFactor(id, 'f1', 'x', 'x')],
        ['removeFactor', (id) => store.removeFactor(id, 'f1', options)],
        ['deleteFactors', (id) => store.deleteFactors(id, options)],
        ['updateAccount', (id) => store.updateAccount(id, { ...write, now: NOW })],
        ['resetUser', (id) => store.resetUser(id, { ...write, now: NOW })],
        ['deleteUser', (id) => store.deleteUser(id, { now: NOW, guardMs: GUARD })],
      ];
      if (hasReadAndReserve) {
        const readAndReserve = readAndReserveOf(store);
        calls.push([
          'readAndReserve',
          (id) =>
            readAndReserve(id, { scope: 'otp', now: NOW, policy: POLICY, requirement: 'active' }),
        ]);
      }
      for (const id of ILL_FORMED_IDS) {
        for (const [method, call] of calls) {
          let error: unknown;
          try {
            await call(id);
          } catch (caught) {
            error = caught;
          }
          const refused =
            (error instanceof TypeError || error instanceof RangeError) &&
            error.message.includes('"userId"');
          expect(refused, `${method}(${JSON.stringify(id)}) must reject naming "userId"`).toBe(
            true,
          );
        }
      }
    });
  });
}
