/**
 * Fixtures of the account-document cases (account.ts, account-reset.ts): a
 * document with something in every field, a user with everything, and each
 * op that carries an account write, called with a change it allows.
 * @module
 * @internal
 */
import { expect } from 'vitest';
import type { AccountState, AccountWrite, MFAStore, UserRecord } from '../store/contract.ts';
import { activation, addOptions, NOW, POLICY, type Suite } from './harness.ts';

/**
 * A document with something in every field: arrays out of any sorted order,
 * `null`s, the largest exact integers, and names a codec could mangle. Two
 * labels give two different documents.
 */
export function richAccount(label: string, generation = 3): AccountState {
  return {
    generation,
    keepUntil: null,
    codes: [
      {
        id: `code-2-${label}`,
        purpose: 'remove_factor',
        channel: 'sms',
        destinationKey: `dk-sms-${label}`,
        codeHash: `hash-b-${label}`,
        sentAt: NOW - 5,
        expiresAt: NOW + 600_000,
        attempts: 0,
      },
      {
        id: `code-1-${label}`,
        purpose: 'enroll',
        channel: 'email',
        destinationKey: `dk-email-${label}`,
        codeHash: `hash-a-${label}`,
        sentAt: NOW,
        expiresAt: NOW + 600_001,
        attempts: 4,
      },
    ],
    budgets: [
      { purpose: 'enroll', failures: 19, windowStart: NOW - 86_399_999 },
      { purpose: 'app_purpose_1', failures: 0, windowStart: 0 },
    ],
    sends: [
      { key: `dk-sms-${label}`, count: 1, windowStart: NOW - 1, lastSentAt: NOW - 1 },
      { key: '', count: 20, windowStart: NOW - 2, lastSentAt: NOW },
    ],
    proofs: [
      {
        hash: `proof-z-${label}`,
        purpose: 'disable',
        kind: 'totp',
        createdAt: NOW,
        expiresAt: NOW + 1,
      },
      {
        hash: `proof-a-${label}`,
        purpose: 'app_purpose_1',
        kind: 'verification',
        createdAt: NOW - 1,
        expiresAt: NOW + 600_000,
      },
    ],
    devices: [
      {
        id: `device-2-${label}`,
        name: `Pixel 8 — “work” 🔑 \\ "q" ${label}`,
        hash: `device-hash-2-${label}`,
        createdAt: NOW,
        lastUsedAt: null,
        expiresAt: NOW + 400 * 86_400_000,
        generation,
      },
      {
        id: `device-1-${label}`,
        name: 'Ünïcode \u00a0 tab-free',
        hash: `device-hash-1-${label}`,
        createdAt: NOW - 10,
        lastUsedAt: Number.MAX_SAFE_INTEGER,
        expiresAt: Number.MAX_SAFE_INTEGER,
        generation: 0,
      },
    ],
  };
}

/** The outcome each op gives when its account write meets a moved version. */
export const CONFLICTS = {
  putPending: 'conflict',
  activatePending: { ok: false, reason: 'conflict' },
  addFactor: { ok: false, reason: 'conflict' },
  replaceRecoveryCodes: 'conflict',
  removeFactor: 'conflict',
  deleteFactors: 'conflict',
  updateAccount: 'conflict',
  resetUser: 'conflict',
} as const;

/** The ops that carry an account write. */
export type AccountOp = keyof typeof CONFLICTS;

/** The ops that carry an account write, in a fixed order. */
export const ACCOUNT_OPS = Object.keys(CONFLICTS) as AccountOp[];

/**
 * Calls `op` for `userId` with `write`, each with a change that the user set
 * up by {@link seedUser} allows (so only the version can refuse it).
 */
export function callOp(
  suite: Suite,
  store: MFAStore,
  op: AccountOp,
  userId: string,
  write: AccountWrite,
): Promise<unknown> {
  const { pending, imported, codeSet } = suite;
  switch (op) {
    case 'putPending':
      return store.putPending(userId, pending('p3'), { account: write });
    case 'activatePending':
      return store.activatePending(userId, 'p2', activation(write));
    case 'addFactor':
      return store.addFactor(userId, imported('i9'), addOptions(20, write));
    case 'replaceRecoveryCodes':
      return store.replaceRecoveryCodes(userId, codeSet('new', 2), { account: write });
    case 'removeFactor':
      return store.removeFactor(userId, 'f1', { account: write });
    case 'deleteFactors':
      return store.deleteFactors(userId, { account: write });
    case 'updateAccount':
      return store.updateAccount(userId, { ...write, now: NOW });
    case 'resetUser':
      return store.resetUser(userId, { ...write, now: NOW });
  }
}

/**
 * Sets up a user with everything: two factors (f1, f2), recovery codes, a
 * pending enrollment p2 with a `previous`, failures in both throttle scopes,
 * and a rich document. Returns the record.
 */
export async function seedUser(suite: Suite, store: MFAStore, userId: string): Promise<UserRecord> {
  const { activate, pending } = suite;
  await activate(store, userId, 'f1');
  await activate(store, userId, 'f2');
  expect(await store.putPending(userId, pending('p1'))).toBe('stored');
  expect(await store.putPending(userId, pending('p2', { createdAt: NOW + 1 }))).toBe('stored');
  for (const scope of ['otp', 'recovery'] as const) {
    const reserved = await store.reserveAttempt(userId, {
      scope,
      now: NOW,
      policy: POLICY,
      weight: 1,
    });
    expect(reserved).toMatchObject({ ok: true });
  }
  const read = await store.getUser(userId, NOW);
  const version = read?.accountVersion ?? 0;
  expect(
    await store.updateAccount(userId, { version, account: richAccount('seed'), now: NOW }),
  ).toBe('updated');
  const record = await store.getUser(userId, NOW);
  expect(record?.accountVersion).toBe(version + 1);
  expect(record?.pending?.previous?.id).toBe('p1');
  return record!;
}
