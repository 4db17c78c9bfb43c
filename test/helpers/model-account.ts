/**
 * The model test's side of issues 20 and 21 (test/helpers/model-run.ts): the
 * account document as the store holds it, compared with the reference model
 * (test/helpers/account-model.ts); the proofs the sensitive calls pass; and
 * the effects of the 0.2 calls on the account (the generation, proofs
 * consumed, proofs and devices issued by a code check).
 */
import { expect } from 'vitest';
import { MFAError } from '../../src/index.ts';
import type { UserRecord } from '../../src/store.ts';
import { type ModelAccount } from './account-model.ts';
import {
  destinationKey,
  normalizeProjection,
  projectAccount,
  tokenHash,
  type AccountProjection,
} from './account-projection.ts';
import type { ModelUser, Outcome } from './mfa-model.ts';
import type { Call, ProofPick, Purpose } from './model-steps.ts';
import type { Run } from './model-system.ts';

/** A well-formed token no one was ever given. */
export const BOGUS_TOKEN = 'bm90LWEtcmVhbC10b2tlbi1hdC1hbGwh';
const TOKEN = /^[A-Za-z0-9_-]{32}$/;

/** The account as the store holds it, reduced to what the documents determine. */
export function storedAccount(run: Run, record: UserRecord | null): AccountProjection {
  const a = record?.account;
  return normalizeProjection(run.account, run.now, {
    generation: a?.generation ?? 0,
    codes: (a?.codes ?? []).map((c) => ({
      purpose: c.purpose,
      channel: c.channel,
      destinationKey: c.destinationKey,
      codeHash: c.codeHash,
      sentAt: c.sentAt,
      expiresAt: c.expiresAt,
      attempts: c.attempts,
    })),
    budgets: (a?.budgets ?? []).map(({ purpose, failures, windowStart }) => ({
      purpose,
      failures,
      windowStart,
    })),
    sends: (a?.sends ?? []).map(({ key, count, windowStart, lastSentAt }) => ({
      key,
      count,
      windowStart,
      lastSentAt,
    })),
    proofs: (a?.proofs ?? []).map(({ hash, purpose, kind, createdAt, expiresAt }) => ({
      hash,
      purpose,
      kind,
      createdAt,
      expiresAt,
    })),
    devices: (a?.devices ?? []).map(
      ({ id, name, hash, createdAt, lastUsedAt, expiresAt, generation }) => ({
        id,
        name,
        hash,
        createdAt,
        lastUsedAt,
        expiresAt,
        generation,
      }),
    ),
  });
}

/** The model's account as the store should show it. */
export function modelAccount(run: Run, u: number, account: ModelAccount): AccountProjection {
  return projectAccount(run.account, account, run.users[u] as string, run.key, run.now);
}

/** Without the hashes of what the test never saw (after a fault). */
export function loose(p: AccountProjection): unknown {
  return {
    ...p,
    codes: p.codes.map(({ codeHash: _, ...rest }) => rest),
    proofs: p.proofs.map(({ hash: _, ...rest }) => rest),
  };
}

/**
 * The model takes the store's document: what the documents leave open
 * (expired or revoked entries kept or pruned) is the store's choice. Tokens
 * and codes are mapped back from their hashes; ones the test never saw keep
 * only their hash.
 */
export function adopt(run: Run, u: number, record: UserRecord | null): ModelAccount {
  const a = record?.account;
  if (!a) return { generation: 0, codes: [], budgets: [], sends: [], proofs: [], devices: [] };
  const dest = (key: string) => (run.byHash.get(key) ?? `?:${key}`).split(/:(.*)/s);
  return {
    generation: a.generation,
    codes: a.codes.map((c) => {
      const code = run.byHash.get(c.codeHash) ?? null;
      return {
        purpose: c.purpose,
        channel: c.channel,
        destination: dest(c.destinationKey)[1] as string,
        code,
        ...(code === null ? { codeHash: c.codeHash } : {}),
        sentAt: c.sentAt,
        expiresAt: c.expiresAt,
        attempts: c.attempts,
      };
    }),
    budgets: a.budgets.map(({ purpose, failures, windowStart }) => ({
      purpose,
      failures,
      windowStart,
    })),
    sends: a.sends.map(({ key, count, windowStart, lastSentAt }) => ({
      key: key === '' ? '' : (run.byHash.get(key) ?? `?:${key}`),
      count,
      windowStart,
      lastSentAt,
    })),
    proofs: a.proofs.map(({ hash, purpose, kind, createdAt, expiresAt }) => {
      const token = run.byHash.get(hash);
      return {
        token: token ?? '',
        ...(token ? {} : { hash }),
        purpose,
        kind,
        createdAt,
        expiresAt,
      };
    }),
    devices: a.devices.map(({ id, name, hash, createdAt, lastUsedAt, expiresAt, generation }) => {
      const token = run.byHash.get(hash);
      return {
        id,
        name,
        token: token ?? '',
        ...(token ? {} : { hash }),
        createdAt,
        lastUsedAt,
        expiresAt,
        generation,
      };
    }),
  };
}

/** Remembers a destination's key, so that the store's counters map back to it. */
export function registerDestination(run: Run, u: number, channel: string, destination: string) {
  const userId = run.users[u] as string;
  run.byHash.set(destinationKey(userId, channel, destination), `${channel}:${destination}`);
}

export function registerToken(run: Run, u: number, what: 'proof' | 'device', token: string) {
  run.byHash.set(tokenHash(what, run.users[u] as string, token), token);
}

/** The token a sensitive call passes for `purpose` (undefined: none). */
export function pickProof(
  run: Run,
  u: number,
  pick: ProofPick,
  purpose: string,
  salt: number,
): string | undefined {
  const account = (run.states[u] as ModelUser).account;
  switch (pick) {
    case 'none':
      return undefined;
    case 'match':
    case 'verification':
      return [...account.proofs]
        .reverse()
        .find(
          (p) =>
            p.token !== '' &&
            p.purpose === purpose &&
            run.now < p.expiresAt &&
            (pick === 'match' || p.kind === 'verification'),
        )?.token;
    case 'other':
      return (
        [...account.proofs]
          .reverse()
          .find((p) => p.token !== '' && p.purpose !== purpose && run.now < p.expiresAt)?.token ??
        BOGUS_TOKEN
      );
    case 'expired':
      return (
        (run.proofsGiven[u] ?? []).find((p) => p.purpose === purpose && p.expiresAt <= run.now)
          ?.token ?? BOGUS_TOKEN
      );
    case 'any': {
      const given = run.proofsGiven[u] as { token: string }[];
      return given.length === 0
        ? BOGUS_TOKEN
        : (given[salt % given.length] as { token: string }).token;
    }
    case 'bogus':
      return BOGUS_TOKEN;
  }
}

/** The purpose a sensitive call's proof must have, or null if the call takes none. */
export function purposeOf(c: Call): Purpose | null {
  if (c.m === 'begin') return c.replace === null ? 'enroll' : 'replace_factor';
  if (c.m === 'remove') return 'remove_factor';
  if (c.m === 'regenerate') return 'regenerate_recovery_codes';
  if (c.m === 'disable') return 'disable';
  return null;
}

/** Whether a 0.2 call's result says it changed the second factor (the generation moves). */
export function moved(c: Call, result: unknown): boolean {
  const r = result as { ok?: boolean; alreadyImported?: boolean; disabled?: boolean } | null;
  if (c.m === 'disable') return result === true || r?.disabled === true;
  if (r === null || typeof r !== 'object' || r.ok !== true) return false;
  if (c.m === 'import') return r.alreadyImported === false;
  return c.m === 'complete' || c.m === 'remove' || c.m === 'regenerate';
}

/**
 * A 0.2 call's outcome with the 0.3 rules applied: a proof refused
 * (ERR_PROOF, or the call's own refusal: the documents do not order them;
 * nothing written either way), or the change made with the proof consumed
 * and the generation moved, or a code check that issued a proof or a device.
 */
export function withAccountRules(
  run: Run,
  u: number,
  c: Call,
  before: ModelUser,
  outcome: Outcome,
  real: unknown,
  proof: string | undefined,
): Outcome & { alternatives?: unknown[] } {
  const purpose = purposeOf(c);
  const M = run.account;
  if (purpose !== null) {
    const problem = M.proofProblem(
      before.account,
      run.now,
      purpose,
      proof,
      before.factors.length > 0,
    );
    if (problem !== null) {
      const own = outcome.next === before || outcome.result === false ? [outcome.result] : [];
      return { result: 'ERR_PROOF', alternatives: ['ERR_PROOF', ...own], next: before };
    }
  }
  const next = outcome.next;
  if (next === before) return outcome;
  const account = structuredClone(before.account);
  if (moved(c, outcome.result)) M.move(account);
  const changed =
    moved(c, outcome.result) || (c.m === 'begin' && typeof outcome.result === 'object');
  if (changed) M.consume(account, proof);
  const r = real as {
    ok?: boolean;
    proof?: string | null;
    device?: { token: string; id: string } | null;
  } | null;
  if ((c.m === 'verify' || c.m === 'recovery') && r?.ok && c.proofFor !== undefined) {
    expect(r.proof, `${c.m} with proofFor: a proof`).toMatch(TOKEN);
    const token = r.proof as string;
    registerToken(run, u, 'proof', token);
    run.proofsGiven[u]?.push({
      token,
      purpose: c.proofFor,
      expiresAt: run.now + M.policy.proofTtlMs,
    });
    M.addProof(account, run.now, {
      token,
      purpose: c.proofFor,
      kind: c.m === 'verify' ? 'totp' : 'recovery',
      createdAt: run.now,
      expiresAt: run.now + M.policy.proofTtlMs,
    });
  }
  if (c.m === 'verify' && r?.ok && c.remember) {
    const device = r.device as { token: string; id: string; expiresAt: number };
    expect(device?.token, 'verify with rememberDevice: a token').toMatch(TOKEN);
    expect(device.expiresAt).toBe(run.now + M.policy.devices.ttlMs);
    registerToken(run, u, 'device', device.token);
    run.devicesGiven[u]?.push({ token: device.token, id: device.id });
    M.remember(account, run.now, { id: device.id, token: device.token, name: DEVICE_NAME });
  }
  if (c.m === 'erase') return outcome;
  return { ...outcome, next: { ...next, account } };
}

export const DEVICE_NAME = 'Fuzz phone';

/** The 0.3 options of a 0.2 call: its proof, a proof or device asked of a code check. */
export function optionsOf(c: Call, proof: string | undefined): Record<string, unknown> {
  const options: Record<string, unknown> = proof === undefined ? {} : { proof };
  if ((c.m === 'verify' || c.m === 'recovery') && c.proofFor !== undefined)
    options.proofFor = c.proofFor;
  if (c.m === 'verify' && c.remember) options.rememberDevice = { name: DEVICE_NAME };
  return options;
}

/**
 * The generation a result shows: required on status, disable, and every
 * success of a factor change, verify and useRecoveryCode (CONTRACT2, 21.1),
 * and wherever it shows, the model's.
 */
export function checkGeneration(c: Call, real: unknown, generation: number): void {
  if (real === null || typeof real !== 'object' || real instanceof Error) return;
  const r = real as { ok?: boolean; generation?: unknown; state?: unknown };
  const required =
    c.m === 'status' ||
    c.m === 'disable' ||
    (r.ok === true &&
      ['complete', 'import', 'remove', 'regenerate', 'verify', 'recovery'].includes(c.m));
  if (required || 'generation' in r) {
    expect(r.generation, `${c.m}: generation`).toBe(generation);
  }
  // A proof or a device only on success, and only when asked for.
  if (r.ok !== true) {
    expect((r as { proof?: unknown }).proof ?? null, `${c.m}: no proof on a refusal`).toBeNull();
    expect((r as { device?: unknown }).device ?? null, `${c.m}: no device on a refusal`).toBeNull();
  }
}

/** After a fault in a 0.2 call: the generation moved iff the change was made, and its proof went with it. */
export function checkFaultedAccount(
  run: Run,
  c: Call,
  before: ModelUser,
  after: ModelUser,
  record: UserRecord | null,
  proof: string | undefined,
): void {
  const sig = (x: ModelUser) =>
    JSON.stringify([x.factors.map((f) => f.id), x.pending?.id ?? null, x.recovery]);
  // An erasure that happened took the document with it.
  if (c.m === 'erase' && after.erasedUntil !== before.erasedUntil) {
    expect(record?.account ?? null, 'the document after an erasure').toBeNull();
    return;
  }
  const made = sig(after) !== sig(before);
  const moves = made && ['complete', 'import', 'remove', 'regenerate', 'disable'].includes(c.m);
  expect(record?.account?.generation ?? 0, `generation after a fault in ${c.m}`).toBe(
    before.account.generation + (moves ? 1 : 0),
  );
  if (proof !== undefined && purposeOf(c) !== null && c.m !== 'erase') {
    const held = (record?.account?.proofs ?? []).some((p) => run.byHash.get(p.hash) === proof);
    const wasLive = before.account.proofs.some((p) => p.token === proof && run.now < p.expiresAt);
    if (wasLive) expect(held, `the proof after a fault in ${c.m}`).toBe(!made);
  }
}

/**
 * After a race of factor changes: the generation moved exactly once per
 * change made, each proof authorised at most one change and went with it,
 * and a proof was refused only if another call could have used it or a
 * factor added meanwhile made its kind too weak.
 */
export function raceAccount(
  run: Run,
  u: number,
  calls: Call[],
  proofs: (string | undefined)[],
  results: unknown[],
  before: ModelUser,
  record: UserRecord | null,
): void {
  const moves = calls.filter((c, i) => moved(c, results[i])).length;
  const erasedAfter = record === null && before.account.generation === 0 && moves === 0;
  if (!erasedAfter)
    expect(record?.account?.generation ?? 0, 'generation after a race').toBe(
      before.account.generation + moves,
    );
  const uses = new Map<string, number>();
  for (const [i, c] of calls.entries()) {
    const token = proofs[i];
    if (token === undefined) continue;
    const r = results[i] as { ok?: boolean; proofRefused?: boolean } | boolean | null;
    const made = moved(c, r);
    if (made) uses.set(token, (uses.get(token) ?? 0) + 1);
    const shared = proofs.filter((p) => p === token).length > 1;
    const kind = before.account.proofs.find((p) => p.token === token)?.kind;
    const weakens = run.account.policy.proofRule === 'seed' && kind === 'verification';
    if (typeof r === 'object' && r?.proofRefused && !shared && !weakens) {
      throw new Error(
        `race: ${c.m} refused a proof no other call used (${JSON.stringify(results)})`,
      );
    }
  }
  for (const [token, n] of uses) {
    expect(n, 'changes authorised by one proof').toBe(1);
    const held = (record?.account?.proofs ?? []).some((p) => run.byHash.get(p.hash) === token);
    expect(held, 'a proof that authorised a change is gone').toBe(false);
  }
}

/** Whether `real` is the MFAError `code`. */
export function isError(real: unknown, code: string): boolean {
  return real instanceof MFAError && (real.code as string) === code;
}
