/**
 * The recovery-code flows (internal): spending a code (single use under
 * concurrency, with its own attempt budget) and issuing a new set; the codes'
 * format and hashes are `recovery-hash.ts`. A user has one set, shared
 * by all of the user's factors: it is created with the first factor and
 * deleted with the last.
 * @module
 * @internal
 */
import { MFAError } from '../errors.ts';
import type { RecoveryCodeSet, ReplaceRecoveryCodesOutcome } from '../store/contract.ts';
import { accountWrite, nextGeneration, RETRY, withAccount } from './account-state.ts';
import type { MFAContext } from './context.ts';
import { checkCodeType } from '../code-input.ts';
import { checkUserId, withHidden } from './input.ts';
import { normalizeRecoveryCode } from './recovery-hash.ts';
import { checkOptions } from '../_assert.ts';
import type { UseRecoveryCodeOptions } from './call-options.ts';
import { checkProofOption, proofAfterLogin, spendProof } from './proofs.ts';
import { checkPurpose } from './verification-input.ts';
import type { RegenerateRecoveryCodesResult, UseRecoveryCodeResult } from './results.ts';

/** See {@link MFA.useRecoveryCode}. */
export async function useRecoveryCode(
  ctx: MFAContext,
  userId: string,
  code: string,
  options?: UseRecoveryCodeOptions,
): Promise<UseRecoveryCodeResult> {
  checkUserId(userId);
  const input = normalizeRecoveryCode(checkCodeType(code, 'code'));
  const { proofFor } = checkOptions(options);
  if (proofFor !== undefined) checkPurpose(proofFor, 'proofFor');
  const now = ctx.now();
  const fail = (reason: 'not_enrolled' | 'malformed' | 'mismatch' | 'replayed') => {
    ctx.emit({ type: 'recovery_code_failed', userId, at: now, reason });
    return { ok: false as const, reason };
  };
  const read = await ctx.readForAttempt({
    userId,
    scope: 'recovery',
    now,
    flow: 'recovery',
    requirement: 'active',
    wellFormed: input !== null,
    select: (record) => {
      if (!record?.factors.length) return fail('not_enrolled');
      if (input === null) return fail('malformed');
      return { set: record.recoveryCodes, normalized: input };
    },
    // One recovery code is one guess, however many codes are left.
    weightOf: () => 1,
  });
  if (!read.ok) return read;
  const { set, normalized } = read.selected;
  const unused = set?.hashes.length ?? 0;
  const match = set && unused > 0 ? await ctx.hasher.find(normalized, set, userId) : null;
  if (match === undefined) {
    throw new MFAError('ERR_STORE', 'the stored recovery code set has an invalid salt');
  }
  let outcome: UseRecoveryCodeResult;
  if (match === null) {
    outcome = fail('mismatch');
  } else if (!(await ctx.store.consumeRecoveryCode(userId, match))) {
    outcome = fail('replayed');
  } else {
    const remaining = unused - 1;
    // The generation the call read (a recovery code changes no factor).
    const generation = read.record?.account?.generation ?? 0;
    ctx.emit({ type: 'recovery_code_used', userId, at: now, remaining, generation });
    if (proofFor === undefined) return { ok: true, remaining, generation };
    // Only if the factors did not change since the read (the generation read).
    const made = await proofAfterLogin(ctx, userId, now, generation, proofFor, 'recovery');
    return {
      ok: true,
      remaining,
      generation,
      proof: made?.token ?? null,
      proofExpiresAt: made?.expiresAt ?? null,
    };
  }
  ctx.failed(userId, 'recovery', now, read.guesses);
  return outcome;
}

/** See {@link MFA.regenerateRecoveryCodes}. */
export async function regenerateRecoveryCodes(
  ctx: MFAContext,
  userId: string,
  proof?: unknown,
): Promise<RegenerateRecoveryCodesResult> {
  checkUserId(userId);
  const given = checkProofOption(proof);
  const now = ctx.now();
  const made: { codes: string[]; set: RecoveryCodeSet }[] = [];
  let generation = 0;
  const replaced = await withAccount(ctx, userId, now, async (state) => {
    if (!state.record?.factors.length) return false;
    await spendProof(ctx, state, userId, given, 'regenerate_recovery_codes');
    // Hashing is the costly part: one set, whatever the retries.
    if (made.length === 0) made.push(await ctx.createRecoverySet(userId));
    const next = nextGeneration(state.account);
    generation = next.generation;
    const outcome = await ctx.store.replaceRecoveryCodes(userId, made[0]!.set, {
      account: accountWrite(ctx, state, next, now),
    });
    return settle(outcome);
  });
  if (!replaced || made[0] === undefined) return { ok: false, reason: 'not_enrolled' };
  const { codes } = made[0];
  ctx.emit({
    type: 'recovery_codes_regenerated',
    userId,
    at: now,
    count: codes.length,
    generation,
  });
  return withHidden({ ok: true as const, generation }, { recoveryCodes: Object.freeze(codes) });
}

/** A `replaceRecoveryCodes` outcome: whether it replaced, or {@link RETRY} on a conflict. */
function settle(outcome: ReplaceRecoveryCodesOutcome): boolean | typeof RETRY {
  if (outcome === 'conflict') return RETRY;
  if (outcome === 'replaced' || outcome === 'no_factor') return outcome === 'replaced';
  throw new MFAError('ERR_STORE', 'store.replaceRecoveryCodes returned an invalid outcome');
}

/**
 * Issues a set for a user whose first factor was bound without one: the
 * service read other factors (so made no set), and they all went before the
 * bind. Part of that bind, so the generation does not move again (the
 * document is written as it is). Returns the codes, or `undefined` if the
 * user has no factor any more.
 */
export async function issueMissingRecoveryCodes(
  ctx: MFAContext,
  userId: string,
  now: number,
): Promise<string[] | undefined> {
  const { codes, set } = await ctx.createRecoverySet(userId);
  const replaced = await withAccount(ctx, userId, now, async (state) =>
    settle(
      await ctx.store.replaceRecoveryCodes(userId, set, {
        account: accountWrite(ctx, state, state.account, now),
      }),
    ),
  );
  return replaced ? codes : undefined;
}
