/**
 * Races: parallel verifications of one code, and parallel guessing against
 * the throttle, counted through the audit events.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_MFA_POLICY } from '../../src/index.ts';
import { attemptDelayMs } from '../../src/store.ts';
import {
  deviceCode,
  enroll,
  harness,
  newUser,
  NO_THROTTLE,
  readAndReserveHidden,
  REQUIRED_STORE_METHODS,
} from '../helpers/mfa.ts';

describe('100 concurrent verify calls with the same valid code', () => {
  it('exactly one succeeds when every call gets to check the code', async () => {
    const h = harness({ policy: { throttle: NO_THROTTLE } });
    const user = newUser();
    const { secret } = await enroll(h, user);
    h.advance(30_000);
    const code = deviceCode(secret, h.now);
    const results = await Promise.all(Array.from({ length: 100 }, () => h.mfa.verify(user, code)));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok && r.reason === 'replayed')).toHaveLength(99);
    expect(h.ofType('verify_succeeded')).toHaveLength(1);
    expect(h.ofType('verify_replayed')).toHaveLength(99);
    const step = Math.floor(h.now / 30_000);
    expect((await h.store.getUser(user, h.now))?.factors[0]?.lastStep).toBe(step);
  });

  it('exactly one succeeds under the default throttle', async () => {
    const h = harness();
    const user = newUser();
    const { secret } = await enroll(h, user);
    h.advance(30_000);
    const code = deviceCode(secret, h.now);
    const results = await Promise.all(Array.from({ length: 100 }, () => h.mfa.verify(user, code)));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    const refused = results.filter((r) => !r.ok).map((r) => (r.ok ? '' : r.reason));
    expect(new Set(refused)).toEqual(new Set(['replayed', 'throttled']));
    expect(refused).toHaveLength(99);
  });
});

/**
 * The most attempts the policy allows within `elapsedMs` of the first one,
 * computed from the policy alone: attempt k + 1 may start once the delays
 * after attempts 1..k have passed.
 */
function budget(elapsedMs: number): number {
  const policy = DEFAULT_MFA_POLICY.throttle;
  let attempts = 1;
  let waited = 0;
  while (attempts < policy.maxFailures) {
    waited += attemptDelayMs(policy, attempts);
    if (waited > elapsedMs) break;
    attempts++;
  }
  return attempts;
}

describe('1,000 concurrent wrong guesses per burst, default policy', () => {
  it('never evaluate more codes than the budget; the lock engages exactly at the cap', async () => {
    const h = harness({ policy: { throttle: DEFAULT_MFA_POLICY.throttle } });
    const user = newUser();
    const { secret, recoveryCodes } = await enroll(h, user);
    h.advance(30_000);
    const start = h.now;
    const cap = DEFAULT_MFA_POLICY.throttle.maxFailures;

    /** 1,000 codes none of which is valid in the current window. */
    const wrongGuesses = () => {
      const valid = new Set([-1, 0, 1].map((d) => deviceCode(secret, h.now + d * 30_000)));
      const guesses: string[] = [];
      for (let i = 0; guesses.length < 1000; i++) {
        const guess = String((i * 7919 + h.now / 1000) % 1_000_000).padStart(6, '0');
        if (!valid.has(guess)) guesses.push(guess);
      }
      return guesses;
    };
    const evaluated = () => h.ofType('verify_failed').length;

    const perBurst: number[] = [];
    let bursts = 0;
    while (!(await h.mfa.status(user)).locked) {
      expect(h.ofType('locked')).toHaveLength(0);
      const before = evaluated();
      const results = await Promise.all(wrongGuesses().map((g) => h.mfa.verify(user, g)));
      bursts++;
      expect(results.some((r) => r.ok)).toBe(false);
      perBurst.push(evaluated() - before);
      expect(evaluated()).toBeLessThanOrEqual(budget(h.now - start));
      expect(evaluated()).toBeLessThanOrEqual(cap);
      const { retryAfterMs, locked } = await h.mfa.status(user);
      if (!locked) {
        // The right code is refused too while throttled, with the wait.
        const right = await h.mfa.verify(user, deviceCode(secret, h.now));
        expect(right).toEqual({ ok: false, reason: 'throttled', retryAfterMs });
        h.advance(retryAfterMs);
      }
    }
    // 5 free attempts in the first burst, then exactly one per back-off delay.
    expect(perBurst[0]).toBe(DEFAULT_MFA_POLICY.throttle.freeAttempts);
    expect(perBurst.slice(1).every((n) => n === 1)).toBe(true);
    expect(evaluated()).toBe(cap);
    expect(bursts).toBe(cap - DEFAULT_MFA_POLICY.throttle.freeAttempts + 1);
    expect(h.ofType('locked')).toEqual([{ type: 'locked', userId: user, at: h.now, scope: 'otp' }]);
    // 1 + 2 + … + 512 s, then 85 delays of 15 minutes: about 21.5 hours to reach the cap.
    expect(h.now - start).toBe(1_023_000 + 85 * 900_000);
    const throttled = h.ofType('throttled');
    expect(throttled.length + evaluated()).toBe(bursts * 1000 + (bursts - 1));
    console.log(
      `throttle: ${bursts * 1000} wrong guesses in ${bursts} bursts of 1,000 over ` +
        `${((h.now - start) / 3_600_000).toFixed(1)} h → ${evaluated()} evaluated ` +
        `(budget ${budget(h.now - start)}, cap ${cap}), ${throttled.length} refused unchecked`,
    );

    // Locked: nothing is checked any more, however long one waits, and the
    // right code is refused (a lock has no retryAfterMs: it needs a reset).
    h.advance(365 * 86_400_000);
    const locked = await Promise.all(wrongGuesses().map((g) => h.mfa.verify(user, g)));
    expect(locked.every((r) => !r.ok && r.reason === 'locked')).toBe(true);
    expect(evaluated()).toBe(cap);
    expect(await h.mfa.verify(user, deviceCode(secret, h.now))).toEqual({
      ok: false,
      reason: 'locked',
    });

    // A recovery code has its own budget, and unlocks.
    expect(await h.mfa.useRecoveryCode(user, recoveryCodes[0] as string)).toEqual({
      ok: true,
      remaining: 9,
      generation: expect.any(Number),
    });
    expect(await h.mfa.status(user)).toMatchObject({ locked: false, retryAfterMs: 0 });
    expect(await h.mfa.verify(user, deviceCode(secret, h.now))).toEqual({
      ok: true,
      factorId: expect.any(String),
      generation: expect.any(Number),
    });
  });

  it('parallel binding attempts share the same budget', async () => {
    const h = harness();
    const user = newUser();
    await h.mfa.beginEnrollment(user, { accountName: 'a' });
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        h.mfa.completeEnrollment(user, String(i).padStart(6, '0'), String(i + 1).padStart(6, '0')),
      ),
    );
    expect(h.ofType('enrollment_failed')).toHaveLength(5);
    expect(results.filter((r) => !r.ok && r.reason === 'throttled')).toHaveLength(995);
  });
});

describe('resync racing verify (found by the model fuzz test)', () => {
  // The resync is held right after it read the record and reserved its
  // attempt: inside readAndReserve, or (without that method, the
  // without-read-and-reserve run) inside reserveAttempt, after its getUser.
  it("a step verify accepts while a resync is in flight is not accepted again as the pair's first code", async () => {
    const { MemoryStore } = await import('../../src/index.ts');
    const inner = new MemoryStore();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let resyncRead: () => void = () => {};
    const read = new Promise<void>((resolve) => (resyncRead = resolve));
    let holdNext = false;
    const held: string[] = [];
    const hold = async <T>(name: string, result: T): Promise<T> => {
      if (holdNext) {
        holdNext = false;
        held.push(name);
        resyncRead();
        await gate; // the resync has read the record; verify runs to the end meanwhile
      }
      return result;
    };
    const store = Object.fromEntries(
      REQUIRED_STORE_METHODS.map((name) => [name, inner[name].bind(inner)]),
    ) as unknown as typeof inner;
    store.reserveAttempt = async (...args) =>
      hold('reserveAttempt', await inner.reserveAttempt(...args));
    store.readAndReserve = async (...args) =>
      hold('readAndReserve', await inner.readAndReserve(...args));
    const h = harness({ store, policy: { throttle: NO_THROTTLE } });
    const user = newUser();
    const { secret } = await enroll(h, user);
    h.advance(60_000);
    holdNext = true;
    const resync = h.mfa.resync(
      user,
      deviceCode(secret, h.now),
      deviceCode(secret, h.now + 30_000),
    );
    await read;
    expect(held).toEqual([readAndReserveHidden() ? 'reserveAttempt' : 'readAndReserve']);
    expect(await h.mfa.verify(user, deviceCode(secret, h.now))).toEqual({
      ok: true,
      factorId: expect.any(String),
      generation: expect.any(Number),
    });
    release();
    expect(await resync).toEqual({ ok: false, reason: 'replayed' });
    const step = Math.floor(h.now / 30_000);
    expect((await h.store.getUser(user, h.now))?.factors[0]?.lastStep).toBe(step);
  });
});
