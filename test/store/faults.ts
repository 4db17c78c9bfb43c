// Fault cases for the server stores: connections cut in the middle of a run
// of concurrent verifies, a refused reconnection (an outage), and a server
// killed and started again. The service must then throw MFAError 'ERR_STORE'
// (with the driver's error as its cause), accept no code whose step it did
// not record, and work again once the server is reachable.
import { expect, it } from 'vitest';
import { generateTOTP, MFAError } from '../../src/index.ts';
import type { MFAStore } from '../../src/store/contract.ts';
import type { TestServer } from '../helpers/servers.ts';
import type { TCPProxy } from '../helpers/tcp-proxy.ts';
import { enroll, OPEN_THROTTLE, T0, testMFA } from './mfa-setup.ts';

/** What the fault cases need from a server store. */
export interface FaultTarget {
  /** The store, connected through `proxy`. */
  proxied: MFAStore;
  /** The proxy in front of the server. */
  proxy: TCPProxy;
  /** The same data through a connection of its own, to check what was recorded. */
  direct: MFAStore;
}

type Outcome = { kind: 'ok' } | { kind: 'refused'; reason: string } | { kind: 'store-error' };

/** Runs `calls` and sorts each outcome; any error other than ERR_STORE fails the test. */
async function outcomes(calls: Promise<{ ok: boolean; reason?: string }>[]): Promise<Outcome[]> {
  const settled = await Promise.allSettled(calls);
  return settled.map((result) => {
    if (result.status === 'fulfilled') {
      return result.value.ok
        ? { kind: 'ok' }
        : { kind: 'refused', reason: result.value.reason ?? '?' };
    }
    const error: unknown = result.reason;
    expect(error).toBeInstanceOf(MFAError);
    expect((error as MFAError).code).toBe('ERR_STORE');
    expect((error as MFAError).cause).toBeDefined();
    return { kind: 'store-error' };
  });
}

/** The last step the store holds for `userId`'s factor. */
async function lastStep(store: MFAStore, userId: string): Promise<number | undefined> {
  return (await store.getUser(userId, T0))?.factors[0]?.lastStep;
}

const stepOf = (now: number) => Math.floor(now / 30_000);

/** `store`, calling `trip()` right after the `at`-th operation has been sent. */
function tripwire(store: MFAStore, trip: () => void) {
  let calls = 0;
  const wire = { at: 0 };
  const wrapped = new Proxy(store, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result: unknown = value.apply(object, args);
        if (++calls === wire.at) trip();
        return result;
      };
    },
  });
  return { store: wrapped, arm: (after: number) => (wire.at = calls + after) };
}

/**
 * Runs rounds of 20 concurrent verifies with one valid code, cutting every
 * connection right after a different operation of each round (the 5th, the
 * 10th, … the 65th: a round takes up to 40 operations, 20 readAndReserve and 20
 * recordSuccess, so the cuts land among both and the last rounds run whole),
 * then checks what each round recorded.
 */
async function cutRounds(target: FaultTarget, user: string) {
  const wire = tripwire(target.proxied, () => target.proxy.cut());
  const { mfa, clock } = testMFA(wire.store, { throttle: OPEN_THROTTLE });
  const { secret } = await retry(() => enroll(mfa, clock, user, T0));
  let storeErrors = 0;
  let accepted = 0;
  for (let round = 1; round <= 13; round++) {
    clock.now = T0 + round * 30_000;
    const code = generateTOTP(secret, { now: clock.now });
    wire.arm(round * 5);
    const results = await outcomes(Array.from({ length: 20 }, () => mfa.verify(user, code)));
    wire.arm(0);
    storeErrors += results.filter((r) => r.kind === 'store-error').length;
    const oks = results.filter((r) => r.kind === 'ok').length;
    expect(oks).toBeLessThanOrEqual(1);
    for (const r of results) {
      if (r.kind === 'refused') expect(['replayed', 'throttled', 'locked']).toContain(r.reason);
    }
    if (oks === 1) {
      accepted++;
      expect(await lastStep(target.direct, user)).toBe(stepOf(clock.now));
    }
    // Once reconnected, the same code is never accepted a second time.
    await retry(() => mfa.unlock(user));
    const again = await retry(() => mfa.verify(user, code));
    if (oks === 1) expect(again).toEqual({ ok: false, reason: 'replayed' });
    else expect(again.ok || again.reason === 'replayed').toBe(true);
    expect(await lastStep(target.direct, user)).toBe(stepOf(clock.now));
  }
  return { storeErrors, accepted };
}

/** Registers the fault cases; `target()` is called inside the tests. */
export function faultCases(target: () => FaultTarget): void {
  it('cut connections mid-run: ERR_STORE or a whole outcome, never an unrecorded success', async () => {
    const { storeErrors, accepted } = await cutRounds(target(), `cut-${Date.now()}`);
    // The cuts did land in the middle of calls, and calls around them succeeded.
    expect(storeErrors).toBeGreaterThan(0);
    expect(accepted).toBeGreaterThan(0);
  });

  it('an outage: every call fails with ERR_STORE, and the service works once it ends', async () => {
    const t = target();
    const { mfa, clock } = testMFA(t.proxied, { throttle: OPEN_THROTTLE });
    const user = `outage-${Date.now()}`;
    const { secret } = await retry(() => enroll(mfa, clock, user, T0));
    t.proxy.refuse();
    t.proxy.cut();
    clock.now = T0 + 30_000;
    const code = generateTOTP(secret, { now: clock.now });
    const during = await outcomes(Array.from({ length: 5 }, () => mfa.verify(user, code)));
    expect(during).toEqual(Array.from({ length: 5 }, () => ({ kind: 'store-error' })));
    await expect(mfa.status(user)).rejects.toMatchObject({ code: 'ERR_STORE' });
    expect(await lastStep(t.direct, user)).toBe(stepOf(T0));
    t.proxy.accept();
    expect(await retry(() => mfa.verify(user, code))).toEqual({
      ok: true,
      factorId: expect.any(String),
      generation: 1,
    });
    expect(await lastStep(t.direct, user)).toBe(stepOf(clock.now));
  });
}

/**
 * Registers the restart case: the server killed (SIGKILL) in the middle of
 * concurrent verifies and started again. `target()` must hold its data across
 * a restart (PostgreSQL; Redis with an fsynced append-only file).
 */
export function restartCase(target: () => FaultTarget & { server: TestServer }): void {
  it('a server killed mid-run and restarted: nothing accepted is forgotten', async () => {
    const t = target();
    const { mfa, clock } = testMFA(t.proxied, { throttle: OPEN_THROTTLE });
    const user = `restart-${Date.now()}`;
    const { secret } = await retry(() => enroll(mfa, clock, user, T0));
    clock.now = T0 + 30_000;
    const first = generateTOTP(secret, { now: clock.now });
    expect(await mfa.verify(user, first)).toEqual({
      ok: true,
      factorId: expect.any(String),
      generation: 1,
    });
    clock.now = T0 + 60_000;
    const second = generateTOTP(secret, { now: clock.now });
    // Collect outcomes at once: calls may fail while the server is being killed,
    // and a rejection must never be left without a handler.
    const settled = outcomes(Array.from({ length: 20 }, () => mfa.verify(user, second)));
    await new Promise((resolve) => setTimeout(resolve, 1));
    await t.server.kill();
    const results = await settled;
    expect(await outcomes([mfa.verify(user, second)])).toEqual([{ kind: 'store-error' }]);
    await t.server.start();
    const oks = results.filter((r) => r.kind === 'ok').length;
    expect(oks).toBeLessThanOrEqual(1);
    // Whatever was acknowledged before the kill is still there.
    const recorded = await retry(() => lastStep(t.direct, user));
    expect(recorded).toBe(oks === 1 ? stepOf(T0 + 60_000) : recorded);
    expect(recorded).toBeGreaterThanOrEqual(stepOf(T0 + 30_000));
    await retry(() => mfa.unlock(user));
    expect(await retry(() => mfa.verify(user, first))).toEqual({ ok: false, reason: 'replayed' });
    if (oks === 1)
      expect(await mfa.verify(user, second)).toEqual({ ok: false, reason: 'replayed' });
    // And the service works again.
    clock.now = T0 + 90_000;
    const next = generateTOTP(secret, { now: clock.now });
    expect(await retry(() => mfa.verify(user, next))).toEqual({
      ok: true,
      factorId: expect.any(String),
      generation: 1,
    });
    expect(await lastStep(t.direct, user)).toBe(stepOf(clock.now));
  });
}

/** Retries `call` while it fails (a client still reconnecting), for up to 10 s. */
async function retry<T>(call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
