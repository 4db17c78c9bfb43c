// The account document's compare-and-set cycle (CONTRACT2 "The one idea"):
// every factor change moves the generation by exactly one in the same store
// op, never on a refusal or a no-op, and a 'conflict' is retried on a new read.
import { describe, expect, it } from 'vitest';
import { MemoryStore, type MFAStore } from '../../src/index.ts';
import { deviceCode, enroll, harness, newUser, sameAccount } from '../helpers/mfa.ts';

const NO_PROOFS = {
  required: {
    enroll: 'none',
    replace_factor: 'none',
    remove_factor: 'none',
    regenerate_recovery_codes: 'none',
    disable: 'none',
  },
} as const;

async function generation(store: MFAStore, userId: string, now: number) {
  return (await store.getUser(userId, now))?.account?.generation ?? 0;
}

describe('the security generation moves by exactly one per factor change', () => {
  it('activate, import, replace, regenerate, remove, disable: +1 each; refusals and no-ops: 0', async () => {
    const h = harness({ policy: { proofs: NO_PROOFS } });
    const user = newUser('gen');
    const g = () => generation(h.store, user, h.now);
    expect(await g()).toBe(0);
    await h.mfa.beginEnrollment(user, { accountName: 'a@example.com' });
    expect(await g()).toBe(0); // a pending enrollment is not a factor change
    const { secret } = await enroll(h, user);
    expect(await g()).toBe(1);
    const imported = await h.mfa.importFactor(user, { secret: new Uint8Array(20).fill(7) });
    expect(imported).toMatchObject({ ok: true, alreadyImported: false });
    expect(await g()).toBe(2);
    // Re-running the import is a no-op.
    expect(await h.mfa.importFactor(user, { secret: new Uint8Array(20).fill(7) })).toMatchObject({
      alreadyImported: true,
    });
    expect(await g()).toBe(2);
    expect(await h.mfa.regenerateRecoveryCodes(user)).toMatchObject({ ok: true });
    expect(await g()).toBe(3);
    // Replacing the first factor: one move for the bind that removes it.
    const [first] = await h.mfa.listFactors(user);
    const begun = await h.mfa.beginEnrollment(user, {
      accountName: 'a@example.com',
      replaceFactorId: first!.id,
      name: 'Phone 2',
    });
    h.advance(30_000);
    const completed = await h.mfa.completeEnrollment(
      user,
      deviceCode(begun.secret, h.now - 30_000),
      deviceCode(begun.secret, h.now),
    );
    expect(completed).toMatchObject({ ok: true });
    expect(await h.mfa.listFactors(user)).toHaveLength(2);
    expect(await g()).toBe(4);
    // A refused removal (unknown factor) writes nothing.
    expect(await h.mfa.removeFactor(user, 'no-such-factor')).toEqual({
      ok: false,
      reason: 'not_found',
    });
    expect(await g()).toBe(4);
    const [a] = await h.mfa.listFactors(user);
    expect(await h.mfa.removeFactor(user, a!.id)).toEqual({
      ok: true,
      remaining: 1,
      generation: expect.any(Number),
    });
    expect(await g()).toBe(5);
    expect(await h.mfa.disable(user)).toMatchObject({ disabled: true });
    expect(await g()).toBe(6);
    // Nothing left to disable: no move.
    expect(await h.mfa.disable(user)).toMatchObject({ disabled: false });
    expect(await g()).toBe(6);
    // A generation > 0 is kept for ever (keepUntil null).
    expect((await h.store.getUser(user, h.now))?.account?.keepUntil).toBeNull();
    void secret;
  });
});

describe('a conflict is read again and retried', () => {
  /** A MemoryStore whose next `n` account writes are beaten by another writer. */
  function contendedStore(n: { left: number }): MFAStore {
    const inner = new MemoryStore();
    const racing =
      <A extends unknown[]>(name: keyof MFAStore) =>
      async (userId: string, ...args: A) => {
        if (n.left > 0) {
          n.left--;
          // Another call's account write lands between this call's read and write.
          const { account } = await sameAccount(inner, userId, 0);
          expect(await inner.updateAccount(userId, { ...account, now: 0 })).toBe('updated');
        }
        return (inner[name] as (...a: unknown[]) => Promise<unknown>).call(inner, userId, ...args);
      };
    return new Proxy(inner, {
      get(target, prop, receiver) {
        if (
          prop === 'activatePending' ||
          prop === 'addFactor' ||
          prop === 'replaceRecoveryCodes' ||
          prop === 'removeFactor' ||
          prop === 'deleteFactors'
        ) {
          return racing(prop);
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  it('every factor change succeeds after conflicts, moving the generation once', async () => {
    const left = { left: 0 };
    const store = contendedStore(left);
    const h = harness({ store, policy: { proofs: NO_PROOFS } });
    const user = newUser('race');
    const g = () => generation(store, user, h.now);
    const { secret } = await h.mfa.beginEnrollment(user, { accountName: 'a@example.com' });
    left.left = 3;
    h.advance(30_000);
    expect(
      await h.mfa.completeEnrollment(
        user,
        deviceCode(secret, h.now - 30_000),
        deviceCode(secret, h.now),
      ),
    ).toMatchObject({ ok: true });
    expect(left.left).toBe(0);
    expect(await g()).toBe(1);
    left.left = 2;
    expect(await h.mfa.regenerateRecoveryCodes(user)).toMatchObject({ ok: true });
    expect(await g()).toBe(2);
    left.left = 2;
    expect(await h.mfa.importFactor(user, { secret: new Uint8Array(20).fill(9) })).toMatchObject({
      ok: true,
      alreadyImported: false,
    });
    expect(await g()).toBe(3);
    const [f] = await h.mfa.listFactors(user);
    left.left = 2;
    expect(await h.mfa.removeFactor(user, f!.id)).toEqual({
      ok: true,
      remaining: 1,
      generation: expect.any(Number),
    });
    expect(await g()).toBe(4);
    left.left = 2;
    expect(await h.mfa.disable(user)).toMatchObject({ disabled: true });
    expect(await g()).toBe(5);
    // Each retried write counted once, and the racing writes moved only the version.
    const record = await store.getUser(user, h.now);
    expect(record?.accountVersion).toBe(5 + 11);
  });
});
