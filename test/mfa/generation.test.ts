/**
 * The security generation (issue 21.1): it moves by exactly one with every
 * change of the user's second-factor state (a factor added, replaced,
 * removed or imported, disable, recovery codes regenerated, an admin reset),
 * and never on a refused or failed call; status, the results of those calls
 * and their events carry it.
 *
 * Oracles: the list of changes (a model counts them), and for
 * failures the store itself: a write that failed before it happened leaves
 * the generation where it was, one that happened (its answer lost) moved it
 * by exactly one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateSecret, MemoryStore, MFAError, type MFAStore } from '../../src/index.ts';
import {
  deviceCode,
  enroll,
  harness,
  newUser,
  NO_THROTTLE,
  REQUIRED_STORE_METHODS,
  type Harness,
} from '../helpers/mfa.ts';

const NO_PROOFS = {
  required: {
    enroll: 'none',
    replace_factor: 'none',
    remove_factor: 'none',
    regenerate_recovery_codes: 'none',
    disable: 'none',
  },
} as const;

function service(store?: MFAStore): Harness {
  return harness({
    ...(store === undefined ? {} : { store }),
    policy: { throttle: NO_THROTTLE, proofs: NO_PROOFS },
  });
}

const generationOf = async (h: Harness, user: string) => (await h.mfa.status(user)).generation;

/** Events of the last call that carry a generation. */
function generationsIn(h: Harness, from: number): number[] {
  return h.events
    .slice(from)
    .flatMap((e) => ('generation' in e && typeof e.generation === 'number' ? [e.generation] : []));
}

/** Binds a second factor named `name` (or replacing `replaceFactorId`). */
async function bind(h: Harness, user: string, name: string, replaceFactorId?: string) {
  const { secret } = await h.mfa.beginEnrollment(user, {
    accountName: 'u',
    name,
    ...(replaceFactorId === undefined ? {} : { replaceFactorId }),
  });
  h.advance(30_000);
  return h.mfa.completeEnrollment(
    user,
    deviceCode(secret, h.now - 30_000),
    deviceCode(secret, h.now),
  );
}

describe('the generation moves exactly once per change', () => {
  it('is 0 for a new user and 1 after the first factor', async () => {
    const h = service();
    const user = newUser();
    expect(await generationOf(h, user)).toBe(0);
    await enroll(h, user);
    expect(await generationOf(h, user)).toBe(1);
  });

  const changes: [string, (h: Harness, user: string) => Promise<unknown>][] = [
    ['completeEnrollment (a factor added)', (h, u) => bind(h, u, 'Second')],
    [
      'completeEnrollment (a factor replaced)',
      async (h, u) => bind(h, u, 'New', (await h.mfa.listFactors(u))[0]!.id),
    ],
    ['importFactor', (h, u) => h.mfa.importFactor(u, { secret: generateSecret() })],
    ['removeFactor', async (h, u) => h.mfa.removeFactor(u, (await h.mfa.listFactors(u))[0]!.id)],
    ['regenerateRecoveryCodes', (h, u) => h.mfa.regenerateRecoveryCodes(u)],
    ['disable', (h, u) => h.mfa.disable(u)],
    ['adminReset', (h, u) => h.mfa.adminReset(u, { actor: 'a', reason: 'r' })],
  ];
  it.each(changes)('%s: +1 in status, the result and its events', async (_, change) => {
    const h = service();
    const user = newUser();
    await enroll(h, user);
    const before = await generationOf(h, user);
    const from = h.events.length;
    const result = (await change(h, user)) as { generation?: number };
    expect(await generationOf(h, user)).toBe(before + 1);
    expect(result.generation).toBe(before + 1);
    const carried = generationsIn(h, from);
    expect(carried.length).toBeGreaterThan(0);
    expect(new Set(carried)).toEqual(new Set([before + 1]));
  });

  it('verify and useRecoveryCode carry the generation they read, and move nothing', async () => {
    const h = service();
    const user = newUser();
    const { secret, recoveryCodes } = await enroll(h, user);
    await h.mfa.regenerateRecoveryCodes(user).then((r) => r.ok && r.recoveryCodes);
    const generation = await generationOf(h, user);
    expect(generation).toBe(2);
    h.advance(30_000);
    const from = h.events.length;
    expect(await h.mfa.verify(user, deviceCode(secret, h.now))).toMatchObject({
      ok: true,
      generation,
    });
    expect(recoveryCodes.length).toBeGreaterThan(0);
    const codes = await h.mfa.regenerateRecoveryCodes(user);
    if (!codes.ok) throw new Error('regenerateRecoveryCodes refused');
    expect(await h.mfa.useRecoveryCode(user, codes.recoveryCodes[0]!)).toMatchObject({
      ok: true,
      generation: generation + 1,
    });
    expect(generationsIn(h, from)).toEqual([generation, generation + 1, generation + 1]);
    expect(await generationOf(h, user)).toBe(generation + 1);
  });

  it('never moves on a refused call or one that changes no factor', async () => {
    const h = service();
    const user = newUser();
    const { secret } = await enroll(h, user);
    const factorId = (await h.mfa.listFactors(user))[0]!.id;
    const other = newUser();
    const refused: [string, () => Promise<unknown>][] = [
      [
        'completeEnrollment without a pending one',
        () => h.mfa.completeEnrollment(user, '123456', '234567'),
      ],
      [
        'completeEnrollment with wrong codes',
        async () => {
          await h.mfa.beginEnrollment(user, { accountName: 'u', name: 'X' });
          return h.mfa.completeEnrollment(user, '000000', '000001');
        },
      ],
      ['removeFactor of an unknown factor', () => h.mfa.removeFactor(user, 'no-such-factor')],
      [
        'importFactor of a secret already bound',
        async () => {
          const s = generateSecret();
          const first = await h.mfa.importFactor(other, { secret: s });
          expect(first).toMatchObject({ ok: true, alreadyImported: false });
          const again = await h.mfa.importFactor(other, { secret: s });
          expect(again).toMatchObject({ ok: true, alreadyImported: true });
          return again;
        },
      ],
      [
        'importFactor with a name taken',
        () => h.mfa.importFactor(user, { secret: generateSecret(), name: 'Authenticator' }),
      ],
      ['verify with a wrong code', () => h.mfa.verify(user, '000000')],
      ['resync with wrong codes', () => h.mfa.resync(user, '000000', '000001')],
      ['useRecoveryCode with a wrong code', () => h.mfa.useRecoveryCode(user, 'aaaa-bbbb-cccc')],
      ['renameFactor', () => h.mfa.renameFactor(user, factorId, 'Phone')],
      ['beginEnrollment', () => h.mfa.beginEnrollment(user, { accountName: 'u', name: 'Y' })],
      ['unlock', () => h.mfa.unlock(user)],
      ['reencryptSecret', () => h.mfa.reencryptSecret(user)],
      ['status and lists', () => Promise.all([h.mfa.status(user), h.mfa.listFactors(user)])],
      [
        'a device remembered',
        async () => {
          h.advance(30_000);
          return h.mfa.verify(user, deviceCode(secret, h.now), { rememberDevice: { name: 'D' } });
        },
      ],
    ];
    for (const [label, call] of refused) {
      const before = [await generationOf(h, user), await generationOf(h, other)];
      await call();
      expect({ label, after: [await generationOf(h, user), await generationOf(h, other)] }).toEqual(
        {
          label,
          after: label.startsWith('importFactor of a secret')
            ? [before[0], before[1]! + 1]
            : before,
        },
      );
    }
    // Nothing to disable, nothing to reset, no factor for new codes.
    const empty = newUser();
    expect(await h.mfa.disable(empty)).toEqual({ disabled: false, generation: 0 });
    expect(await h.mfa.regenerateRecoveryCodes(empty)).toEqual({
      ok: false,
      reason: 'not_enrolled',
    });
    expect(await h.mfa.adminReset(empty, { actor: 'a', reason: 'r' })).toEqual({
      reset: false,
      generation: 0,
    });
    const disabled = await h.mfa.disable(user);
    expect(await h.mfa.disable(user)).toEqual({ disabled: false, generation: disabled.generation });
    expect(await generationOf(h, user)).toBe(disabled.generation);
  });

  it('matches a model that counts the changes, over random sequences of calls', async () => {
    type Op =
      'bind' | 'import' | 'remove' | 'regenerate' | 'disable' | 'reset' | 'verify' | 'wrong';
    const op = fc.constantFrom<Op>(
      'bind',
      'import',
      'remove',
      'regenerate',
      'disable',
      'reset',
      'verify',
      'wrong',
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
        const h = service();
        const user = newUser('model');
        let model = 0;
        let n = 0;
        // Failed attempts since the last throttle reset (a binding or an admin
        // reset resets it; disabling keeps it): an admin reset removes them.
        let failed = false;
        for (const o of ops) {
          const factors = (await h.mfa.listFactors(user)).length;
          let changed = false;
          if (o === 'bind') {
            if (factors >= 5) {
              await expect(bind(h, user, `F${++n}`)).rejects.toMatchObject({
                code: 'ERR_FACTOR_LIMIT',
              });
            } else changed = (await bind(h, user, `F${++n}`)).ok;
            if (changed) failed = false;
          } else if (o === 'import') {
            const name = `I${++n}`;
            changed = (await h.mfa.importFactor(user, { secret: generateSecret(), name })).ok;
          } else if (o === 'remove') {
            const first = (await h.mfa.listFactors(user))[0];
            changed = first !== undefined && (await h.mfa.removeFactor(user, first.id)).ok;
          } else if (o === 'regenerate') changed = (await h.mfa.regenerateRecoveryCodes(user)).ok;
          else if (o === 'disable') changed = (await h.mfa.disable(user)).disabled;
          else if (o === 'reset') {
            changed = (await h.mfa.adminReset(user, { actor: 'a', reason: 'r' })).reset;
          } else {
            await h.mfa.verify(user, o === 'wrong' ? '000000' : '999999');
            failed ||= factors > 0; // a refused code counts a failure
          }
          // The oracle: the list of changes, each made when it applies.
          const expected =
            o === 'bind' || o === 'import'
              ? factors < 5
              : o === 'remove' || o === 'regenerate' || o === 'disable'
                ? factors > 0
                : o === 'reset'
                  ? factors > 0 || failed
                  : false;
          expect({ o, changed }).toEqual({ o, changed: expected });
          if (o === 'reset') failed = false;
          if (changed) model++;
          expect(await generationOf(h, user)).toBe(model);
        }
      }),
      { numRuns: 25 },
    );
  });
});

describe('never moves on a failed write, and moves exactly once if the write happened', () => {
  const WRITES = [
    'activatePending',
    'addFactor',
    'removeFactor',
    'replaceRecoveryCodes',
    'deleteFactors',
    'resetUser',
  ] as const;
  const changeBy: Record<(typeof WRITES)[number], (h: Harness, user: string) => Promise<unknown>> =
    {
      activatePending: (h, u) => bind(h, u, 'Second'),
      addFactor: (h, u) => h.mfa.importFactor(u, { secret: generateSecret() }),
      removeFactor: async (h, u) => h.mfa.removeFactor(u, (await h.mfa.listFactors(u))[0]!.id),
      replaceRecoveryCodes: (h, u) => h.mfa.regenerateRecoveryCodes(u),
      deleteFactors: (h, u) => h.mfa.disable(u),
      resetUser: (h, u) => h.mfa.adminReset(u, { actor: 'a', reason: 'r' }),
    };
  for (const write of WRITES) {
    for (const mode of ['before', 'after'] as const) {
      it(`${write} failing ${mode} it happened: ${mode === 'before' ? 'unchanged' : '+1'}`, async () => {
        const inner = new MemoryStore();
        let fail = false;
        const error = new Error('injected store failure');
        const store = Object.fromEntries(
          REQUIRED_STORE_METHODS.map((name) => [
            name,
            async (...args: unknown[]) => {
              const call = () =>
                (inner[name] as (...a: unknown[]) => Promise<unknown>).apply(inner, args);
              if (!fail || name !== write) return call();
              fail = false;
              if (mode === 'after') await call();
              throw error;
            },
          ]),
        ) as unknown as MFAStore;
        const h = service(store);
        const user = newUser();
        await enroll(h, user);
        const before = await generationOf(h, user);
        fail = true;
        const from = h.events.length;
        const failed = changeBy[write](h, user);
        await expect(failed).rejects.toThrow(MFAError);
        await expect(failed).rejects.toMatchObject({ code: 'ERR_STORE', cause: error });
        expect(fail).toBe(false); // the fault fired
        expect(await generationOf(h, user)).toBe(mode === 'before' ? before : before + 1);
        expect(generationsIn(h, from)).toEqual([]); // no event reports a change
        // The service works again once the store does, and moves it once more.
        await changeBy.replaceRecoveryCodes(h, user);
        const now = await generationOf(h, user);
        expect(now - (mode === 'before' ? before : before + 1)).toBeLessThanOrEqual(1);
      });
    }
  }
});
