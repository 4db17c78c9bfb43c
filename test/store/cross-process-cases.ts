// The cross-process races (cross-process.test.ts, redis-cluster.test.ts):
// four child processes, each with its own connections, race on the same
// user through one store.
import { expect, it } from 'vitest';
import { generateTOTP } from '../../src/index.ts';
import type { MFAStore } from '../../src/store/contract.ts';
import type { CallOutcome } from '../fixtures/store-worker.ts';
import { enroll, OPEN_THROTTLE, T0, testMFA } from './mfa-setup.ts';
import type { Workers } from './workers.ts';

const ROUNDS = 50;
const PER_PROCESS = 25;

/** How many outcomes have each result: 'ok', a reason, or 'error:<code>'. */
function tally(outcomes: CallOutcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) {
    const key = 'error' in outcome ? `error:${outcome.error}` : outcome.ok ? 'ok' : outcome.reason!;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** A six-digit code that matches none of the steps around `now`. */
function wrongCode(secret: Uint8Array, now: number): string {
  const near = new Set([-1, 0, 1].map((k) => generateTOTP(secret, { now: now + k * 30_000 })));
  for (let n = 0; ; n++) {
    const code = String(n).padStart(6, '0');
    if (!near.has(code)) return code;
  }
}

/**
 * The races, against the store `context` gives and four worker processes on
 * it; `rounds` repeats of the verify and recovery races (default 50), and
 * `run` keeps this run's user ids apart from earlier runs'.
 */
export function crossProcessCases(
  context: () => { store: MFAStore; workers: Workers },
  run: string,
  rounds = ROUNDS,
) {
  const total = 4 * PER_PROCESS;

  it(
    `${total} concurrent verifies of one code from 4 processes: one success, ${rounds} rounds`,
    { timeout: 120_000 },
    async () => {
      const { store, workers } = context();
      const { mfa, clock } = testMFA(store);
      const userId = `verify-${run}`;
      const { secret } = await enroll(mfa, clock, userId, T0);
      for (let round = 1; round <= rounds; round++) {
        const now = T0 + round * 30_000;
        const code = generateTOTP(secret, { now });
        const outcomes = await workers.run({
          method: 'verify',
          userId,
          code,
          now,
          count: PER_PROCESS,
          policy: { throttle: OPEN_THROTTLE },
        });
        expect(tally(outcomes), `round ${round}`).toEqual({ ok: 1, replayed: total - 1 });
        expect((await store.getUser(userId, now))?.factors[0]?.lastStep).toBe(
          Math.floor(now / 30_000),
        );
        await mfa.unlock(userId); // the 99 replays counted as failures
      }
    },
  );

  it(
    `${total} concurrent uses of one recovery code from 4 processes: one success, ${rounds} rounds`,
    { timeout: 120_000 },
    async () => {
      const { store, workers } = context();
      const { mfa, clock } = testMFA(store, { recoveryCodeCount: rounds });
      const userId = `recovery-${run}`;
      const { recoveryCodes } = await enroll(mfa, clock, userId, T0);
      for (let round = 1; round <= rounds; round++) {
        const outcomes = await workers.run({
          method: 'useRecoveryCode',
          userId,
          code: recoveryCodes[round - 1]!,
          now: T0 + round * 1000,
          count: PER_PROCESS,
          policy: { recoveryThrottle: OPEN_THROTTLE },
        });
        const counts = tally(outcomes);
        expect(counts.ok, `round ${round}`).toBe(1);
        expect((counts.mismatch ?? 0) + (counts.replayed ?? 0), `round ${round}`).toBe(total - 1);
        await mfa.unlock(userId);
      }
      expect((await store.getUser(userId, T0))?.recoveryCodes?.hashes).toEqual([]);
    },
  );

  it(
    'a user with 3 factors: one success per code from 4 processes, and the shared budget is exact',
    {
      timeout: 120_000,
    },
    async () => {
      const { store, workers } = context();
      const { mfa, clock } = testMFA(store);
      const userId = `three-${run}`;
      const { secret: first } = await enroll(mfa, clock, userId, T0);
      const others = [new Uint8Array(20).fill(7), new Uint8Array(20).fill(9)];
      for (const [i, secret] of others.entries()) {
        // lastStep -1: every round's code is new to the factor (the default would refuse round 1's).
        const imported = await mfa.importFactor(userId, {
          secret,
          name: `Imported ${i}`,
          lastStep: -1,
        });
        expect(imported.ok).toBe(true);
      }
      const secrets = [first, ...others];
      expect((await store.getUser(userId, T0))?.factors).toHaveLength(3);
      for (let round = 1; round <= 10; round++) {
        const now = T0 + round * 30_000;
        // Each factor's code of this step, sent 100 times at once. With 3 factors
        // the lock comes after ceil(100 / 3) = 34 failures, and replays count:
        // the other 99 are refused as replayed or, once 34 replays counted, locked.
        for (const [i, secret] of secrets.entries()) {
          const result = tally(
            await workers.run({
              method: 'verify',
              userId,
              code: generateTOTP(secret, { now }),
              now,
              count: PER_PROCESS,
              policy: { throttle: OPEN_THROTTLE },
            }),
          );
          expect(result.ok, `round ${round}, factor ${i}`).toBe(1);
          expect((result.replayed ?? 0) + (result.locked ?? 0)).toBe(total - 1);
          await mfa.unlock(userId);
        }
        const steps = (await store.getUser(userId, now))?.factors.map((f) => f.lastStep);
        expect(steps).toEqual([1, 2, 3].map(() => Math.floor(now / 30_000)));
        await mfa.unlock(userId);
      }
      // The budget of 10 failures, shared out among 3 factors: ceil(10 / 3) = 4 codes checked.
      const now = T0 + 11 * 30_000;
      const wrong = wrongCode(first, now);
      const lock = { freeAttempts: 10, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 10 };
      const guesses = await workers.run({
        method: 'verify',
        userId,
        code: secrets.some((s) => generateTOTP(s, { now }) === wrong) ? '999999' : wrong,
        now,
        count: PER_PROCESS,
        policy: { throttle: lock },
      });
      expect(tally(guesses)).toEqual({ mismatch: 4, locked: total - 4 });
    },
  );

  it('wrong guesses from 4 processes never evaluate more codes than the budget', async () => {
    const { store, workers } = context();
    const { mfa, clock } = testMFA(store);
    const userId = `guess-${run}`;
    const { secret } = await enroll(mfa, clock, userId, T0);
    const now = T0 + 30_000;
    const guess = (throttle: object) =>
      workers.run({
        method: 'verify',
        userId,
        code: wrongCode(secret, now),
        now,
        count: PER_PROCESS,
        policy: { throttle },
      });

    // The hard cap: 10 failures, then locked. 'mismatch' means the code was checked.
    const lock = { freeAttempts: 10, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 10 };
    expect(tally(await guess(lock))).toEqual({ mismatch: 10, locked: total - 10 });
    const right = generateTOTP(secret, { now });
    const locked = await workers.run({
      method: 'verify',
      userId,
      code: right,
      now,
      count: 1,
      policy: { throttle: lock },
    });
    expect(tally(locked)).toEqual({ locked: 4 });
    await mfa.unlock(userId);

    // The back-off: 3 attempts, the third opening a one-minute delay.
    const backOff = { freeAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 60_000, maxFailures: 100 };
    const outcomes = await guess(backOff);
    expect(tally(outcomes)).toEqual({ mismatch: 3, throttled: total - 3 });
    for (const outcome of outcomes) {
      if ('reason' in outcome && outcome.reason === 'throttled') {
        expect(outcome.retryAfterMs).toBe(60_000);
      }
    }
  });
}
