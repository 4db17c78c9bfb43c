/**
 * Proofs (internal): single-use, purpose-bound, short-lived tokens that a
 * right verification code, TOTP code or recovery code yields, and that the
 * sensitive calls consume in the same store op as the change they authorise.
 *
 * A token is base64url of 24 random bytes (192 bits, 32 characters). The
 * document keeps only base64url(SHA-256("totpkit proof v1\0" ‖ userId ‖ "\0"
 * ‖ token)), so a token never passes for another user and a copy of the
 * store holds nothing usable. At most {@link MAX_PROOFS} live per user (the
 * oldest dropped); expired ones are pruned at every write (account-state.ts).
 *
 * The rule per purpose (`policy.proofs.required`): `'seed'` = any kind while
 * the user has no active factor, only `'totp'` / `'recovery'` once they have
 * one (judged on the record read in the same compare-and-set cycle, so a
 * factor added meanwhile makes the write conflict and the rule is judged
 * again); `'any'` = any kind; `'none'` = none needed (one passed is still
 * checked and consumed).
 * @module
 * @internal
 */
import { describeType } from '../_assert.ts';
import { encodeBase64url, utf8 } from '../_encoding.ts';
import { MFAError } from '../errors.ts';
import type { AccountState, ProofRecord } from '../store/contract.ts';
import type { SensitivePurpose } from './account-policy.ts';
import { updateAccountState, type AccountRead } from './account-state.ts';
import type { MFAContext } from './context.ts';
import { checkPurpose } from './verification-input.ts';

/** The most live proofs a user has; a new one beyond drops the oldest. */
export const MAX_PROOFS = 10;

const TAG = /* @__PURE__ */ utf8('totpkit proof v1\0');

/** The stored hash of `token` for `userId` (see the module comment). */
export async function proofHash(userId: string, token: string): Promise<string> {
  const id = utf8(userId);
  const t = utf8(token);
  const input = new Uint8Array(TAG.length + id.length + 1 + t.length);
  input.set(TAG);
  input.set(id, TAG.length);
  input.set(t, TAG.length + id.length + 1);
  return encodeBase64url(new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', input)));
}

/**
 * Adds a new proof to `account` (in place) and returns its token: expired
 * proofs dropped, then the oldest beyond {@link MAX_PROOFS}.
 */
export async function addProof(
  ctx: MFAContext,
  account: AccountState,
  userId: string,
  purpose: string,
  kind: ProofRecord['kind'],
  now: number,
): Promise<{ token: string; expiresAt: number }> {
  const token = encodeBase64url(globalThis.crypto.getRandomValues(new Uint8Array(24)));
  const expiresAt = now + ctx.policy.proofs.ttlMs;
  const record: ProofRecord = {
    hash: await proofHash(userId, token),
    purpose,
    kind,
    createdAt: now,
    expiresAt,
  };
  account.proofs = [...account.proofs.filter((p) => p.expiresAt > now), record].slice(-MAX_PROOFS);
  return { token, expiresAt };
}

/** Checks a `proof` option: `undefined` or a string (anything else is a TypeError). */
export function checkProofOption(proof: unknown): string | undefined {
  if (proof === undefined) return undefined;
  if (typeof proof !== 'string') {
    throw new TypeError(`"proof" must be a string or undefined, got ${describeType(proof)}`);
  }
  return proof;
}

/** The shape every token has: 32 base64url characters. */
function wellFormed(token: string): boolean {
  return /^[A-Za-z0-9_-]{32}$/.test(token);
}

/**
 * Judges a sensitive call's proof on `read` and, if it passes, removes it
 * from `read.account` (in place): the caller then writes that document with
 * its change, in one store op. Throws `MFAError('ERR_PROOF')` (nothing
 * written) stating which rule refused, never the token.
 *
 * @returns whether the document changed (a proof was consumed), so that the
 *   change must carry the account write
 */
export async function spendProof(
  ctx: MFAContext,
  read: AccountRead,
  userId: string,
  proof: string | undefined,
  purpose: SensitivePurpose,
): Promise<boolean> {
  const required = ctx.policy.proofs.required[purpose];
  if (proof === undefined) {
    if (required === 'none') return false;
    throw new MFAError(
      'ERR_PROOF',
      `this call needs a proof for '${purpose}' (policy.proofs.required.${purpose} is ` +
        `'${required}'): pass { proof } from checkVerificationCode, or from verify or ` +
        `useRecoveryCode with { proofFor: '${purpose}' }`,
    );
  }
  const hash = wellFormed(proof) ? await proofHash(userId, proof) : null;
  const index = hash === null ? -1 : read.account.proofs.findIndex((p) => p.hash === hash);
  const found = read.account.proofs[index];
  if (found === undefined) {
    throw new MFAError(
      'ERR_PROOF',
      'the proof is unknown, already used or expired (a proof is single use and lives ' +
        'policy.proofs.ttlMs)',
    );
  }
  if (found.purpose !== purpose) {
    throw new MFAError(
      'ERR_PROOF',
      `the proof was made for another purpose, not '${purpose}'; nothing was written`,
    );
  }
  const hasFactor = (read.record?.factors.length ?? 0) > 0;
  if (required === 'seed' && hasFactor && found.kind === 'verification') {
    throw new MFAError(
      'ERR_PROOF',
      `the user has an active factor, so '${purpose}' needs a proof from a current factor ` +
        `(verify or useRecoveryCode with { proofFor }); a verification code alone does not ` +
        `suffice (policy.proofs.required.${purpose} is 'seed')`,
    );
  }
  read.account.proofs.splice(index, 1);
  return true;
}

/**
 * Adds a proof after a login-path success (`verify`, `useRecoveryCode` with
 * `proofFor`), only if the generation is still `generation`, the one the
 * call read: if the factors changed meanwhile, `null` (ask again).
 */
export function proofAfterLogin(
  ctx: MFAContext,
  userId: string,
  now: number,
  generation: number,
  purpose: string,
  kind: 'totp' | 'recovery',
): Promise<{ token: string; expiresAt: number } | null> {
  return updateAccountState(ctx, userId, now, async (read) => {
    if (read.account.generation !== generation) return { result: null };
    const made = await addProof(ctx, read.account, userId, purpose, kind, now);
    return { result: made, account: read.account };
  });
}

/** See {@link MFA.useProof}. */
export async function useProof(
  ctx: MFAContext,
  userId: string,
  proof: unknown,
  purpose: unknown,
): Promise<boolean> {
  checkPurpose(purpose);
  if (typeof proof !== 'string') {
    throw new TypeError(`"proof" must be a string, got ${describeType(proof)}`);
  }
  if (!wellFormed(proof)) return false;
  const hash = await proofHash(userId, proof);
  const now = ctx.now();
  return updateAccountState(ctx, userId, now, (read) => {
    const index = read.account.proofs.findIndex((p) => p.hash === hash && p.purpose === purpose);
    if (index < 0) return { result: false };
    read.account.proofs.splice(index, 1);
    return { result: true, account: read.account };
  });
}
