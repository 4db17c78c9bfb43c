/**
 * The service's tests once more, with every store seen without its optional
 * readAndReserve: the path a custom adapter without it takes (getUser, then
 * reserveAttempt, one round trip each). The same outcomes are expected on
 * both paths, except where a test says otherwise (it checks
 * `h.readAndReserve`). faults.test.ts runs both paths itself.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/index.ts';
import {
  deviceCode,
  enroll,
  harness,
  newUser,
  useStoresWithoutReadAndReserve,
} from '../helpers/mfa.ts';

useStoresWithoutReadAndReserve();
await import('./flows.test.ts');
await import('./concurrency.test.ts');
await import('./recovery.test.ts');
await import('./policy.test.ts');
await import('./cipher.test.ts');
await import('./leaks.test.ts');

describe('on this run', () => {
  it('the service never calls readAndReserve, and works through getUser and reserveAttempt', async () => {
    const store = new MemoryStore();
    const calls: string[] = [];
    store.readAndReserve = async () => {
      throw new Error('readAndReserve must not be called on this run');
    };
    const reserveAttempt = store.reserveAttempt.bind(store);
    store.reserveAttempt = async (...args) => {
      calls.push('reserveAttempt');
      return reserveAttempt(...args);
    };
    const h = harness({ store });
    expect(h.readAndReserve).toBe(false);
    const user = newUser();
    const { secret } = await enroll(h, user);
    h.advance(30_000);
    expect(await h.mfa.verify(user, deviceCode(secret, h.now))).toEqual({
      ok: true,
      factorId: expect.any(String),
      generation: expect.any(Number),
    });
    expect(calls).toEqual(['reserveAttempt', 'reserveAttempt']); // binding, login
  });
});
