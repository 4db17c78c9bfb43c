/**
 * The store's view of the account document, for comparing it with the
 * reference model (test/helpers/account-model.ts): the hashes CONTRACT2
 * defines (destination keys, code hashes, proof and device token hashes) and
 * the projection of a document onto what the documents determine.
 */
import { createHash, createHmac } from 'node:crypto';
import { DAY_MS, type AccountModel, type ModelAccount } from './account-model.ts';

const b64 = (bytes: Buffer) => bytes.toString('base64url');

/** CONTRACT2: base64url(SHA-256("totpkit destination v1\0" ‖ userId ‖ "\0" ‖ channel ‖ "\0" ‖ destination)). */
export function destinationKey(userId: string, channel: string, destination: string): string {
  return b64(
    createHash('sha256')
      .update(`totpkit destination v1\0${userId}\0${channel}\0${destination}`)
      .digest(),
  );
}

/** CONTRACT2: base64url(HMAC-SHA-256(key, "totpkit code v1\0" ‖ userId ‖ "\0" ‖ purpose ‖ "\0" ‖ destinationKey ‖ "\0" ‖ code)). */
export function codeHash(
  key: Uint8Array,
  userId: string,
  purpose: string,
  destKey: string,
  code: string,
): string {
  return b64(
    createHmac('sha256', key)
      .update(`totpkit code v1\0${userId}\0${purpose}\0${destKey}\0${code}`)
      .digest(),
  );
}

/** CONTRACT2: base64url(SHA-256("totpkit proof v1\0" ‖ userId ‖ "\0" ‖ token)), and "device v1" likewise. */
export function tokenHash(what: 'proof' | 'device', userId: string, token: string): string {
  return b64(createHash('sha256').update(`totpkit ${what} v1\0${userId}\0${token}`).digest());
}

const live = (expiresAt: number, now: number) => now < expiresAt;

/** The parts of an account the documents determine at `now`, for comparing model and store. */
export interface AccountProjection {
  generation: number;
  codes: {
    purpose: string;
    channel: string;
    destinationKey: string;
    codeHash: string;
    sentAt: number;
    expiresAt: number;
    attempts: number;
  }[];
  budgets: { purpose: string; failures: number; windowStart: number }[];
  sends: { key: string; count: number; windowStart: number; lastSentAt: number }[];
  proofs: { hash: string; purpose: string; kind: string; createdAt: number; expiresAt: number }[];
  devices: {
    id: string;
    name: string;
    hash: string;
    createdAt: number;
    lastUsedAt: number | null;
    expiresAt: number;
    generation: number;
  }[];
}

const byKey =
  <T>(key: (x: T) => string) =>
  (a: T, b: T) =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;

export function projectAccount(
  model: AccountModel,
  account: ModelAccount,
  userId: string,
  key: Uint8Array,
  now: number,
): AccountProjection {
  const codes = account.codes.map((c) => {
    const destKey = destinationKey(userId, c.channel, c.destination);
    return {
      purpose: c.purpose,
      channel: c.channel,
      destinationKey: destKey,
      codeHash:
        c.code === null ? (c.codeHash ?? '?') : codeHash(key, userId, c.purpose, destKey, c.code),
      sentAt: c.sentAt,
      expiresAt: c.expiresAt,
      attempts: c.attempts,
    };
  });
  return normalizeProjection(model, now, {
    generation: account.generation,
    codes,
    budgets: account.budgets.map((b) => ({ ...b })),
    sends: account.sends.map((s) => ({
      ...s,
      key:
        s.key === ''
          ? ''
          : destinationKey(userId, ...(s.key.split(/:(.*)/s).slice(0, 2) as [string, string])),
    })),
    proofs: account.proofs.map(({ token, hash, purpose, kind, createdAt, expiresAt }) => ({
      hash: hash ?? tokenHash('proof', userId, token),
      purpose,
      kind,
      createdAt,
      expiresAt,
    })),
    devices: account.devices.map(
      ({ token, hash, id, name, createdAt, lastUsedAt, expiresAt, generation }) => ({
        id,
        name,
        hash: hash ?? tokenHash('device', userId, token),
        createdAt,
        lastUsedAt,
        expiresAt,
        generation,
      }),
    ),
  });
}

/**
 * Only what the documents determine: budgets and send counters in their
 * window, live proofs, valid devices, and every stored code (an expired one
 * still answers `expired` to its code), each in a fixed order.
 */
export function normalizeProjection(
  model: AccountModel,
  now: number,
  p: AccountProjection,
): AccountProjection {
  const c = model.policy.codes;
  return {
    generation: p.generation,
    codes: p.codes.filter(() => true).sort(byKey((x) => x.purpose)),
    budgets: p.budgets
      .filter((b) => now < b.windowStart + c.budgetWindowMs)
      .sort(byKey((x) => x.purpose)),
    sends: p.sends
      .filter((s) => s.count > 0 && now < s.windowStart + DAY_MS)
      .sort(byKey((x) => x.key)),
    proofs: p.proofs.filter((x) => live(x.expiresAt, now)).sort(byKey((x) => x.hash)),
    devices: p.devices
      .filter((d) => d.generation === p.generation && live(d.expiresAt, now))
      .sort(byKey((x) => x.id)),
  };
}
