/**
 * Account administration (internal): status, disabling, erasure, admin
 * unlock, and sealing secrets again after a key rotation.
 * @module
 * @internal
 */
import { describe } from '../_assert.ts';
import { MFAError } from '../errors.ts';
import { accountWrite, nextGeneration, RETRY, withAccount } from './account-state.ts';
import { checkProofOption, spendProof } from './proofs.ts';
import type { ThrottleScope } from '../store/contract.ts';
import type { MFAContext } from './context.ts';
import { checkUserId } from './input.ts';
import type { DisableResult, MFAStatus, ReencryptSecretResult } from './results.ts';

/** See {@link MFA.status}. */
export async function status(ctx: MFAContext, userId: string): Promise<MFAStatus> {
  checkUserId(userId);
  const now = ctx.now();
  const record = await ctx.store.getUser(userId, now);
  const factors = record?.factors.length ?? 0;
  const pending = record?.pending && record.pending.expiresAt > now ? record.pending : null;
  const otp = record?.throttle.otp ?? { failures: 0, guesses: 0, blockedUntil: 0 };
  const recovery = record?.throttle.recovery ?? { failures: 0, guesses: 0, blockedUntil: 0 };
  return {
    state: factors > 0 ? 'active' : pending ? 'pending' : 'none',
    factors,
    pendingExpiresAt: pending?.expiresAt ?? null,
    recoveryCodesRemaining: factors > 0 ? (record?.recoveryCodes?.hashes.length ?? 0) : 0,
    locked: ctx.isLocked('otp', otp.guesses),
    recoveryLocked: ctx.isLocked('recovery', recovery.guesses),
    retryAfterMs: Math.max(0, otp.blockedUntil - now),
    generation: record?.account?.generation ?? 0,
  };
}

/** See {@link MFA.disable}. */
export async function disable(
  ctx: MFAContext,
  userId: string,
  proof?: unknown,
): Promise<DisableResult> {
  checkUserId(userId);
  const given = checkProofOption(proof);
  const now = ctx.now();
  let generation = 0;
  const removed = await withAccount(ctx, userId, now, async (state) => {
    const r = state.record;
    // Nothing to disable: no proof is judged (the store answers 'nothing', writing nothing).
    const nothing =
      r === null || (r.factors.length === 0 && r.pending === null && r.recoveryCodes === null);
    if (!nothing) await spendProof(ctx, state, userId, given, 'disable');
    const next = nextGeneration(state.account);
    generation = state.account.generation;
    const outcome = await ctx.store.deleteFactors(userId, {
      account: accountWrite(ctx, state, next, now),
    });
    if (outcome === 'conflict') return RETRY;
    if (outcome === 'deleted') generation = next.generation;
    if (outcome === 'deleted' || outcome === 'nothing') return outcome === 'deleted';
    throw new MFAError('ERR_STORE', 'store.deleteFactors returned an invalid outcome');
  });
  if (removed) ctx.emit({ type: 'disabled', userId, at: now, generation });
  return { disabled: removed, generation };
}

/** See {@link MFA.deleteUserData}. */
export async function deleteUserData(ctx: MFAContext, userId: string): Promise<boolean> {
  checkUserId(userId);
  const now = ctx.now();
  const factorIds = (await ctx.store.getUser(userId, now))?.factors.map((f) => f.id) ?? [];
  // The guard keeps calls in flight (and new ones) from bringing state back.
  const removed =
    (await ctx.store.deleteUser(userId, { now, guardMs: ctx.policy.erasureGuardMs })) === true;
  if (removed) ctx.emit({ type: 'user_data_deleted', userId, at: now, factorIds });
  return removed;
}

/** See {@link MFA.unlock}. */
export async function unlock(
  ctx: MFAContext,
  userId: string,
  scope?: ThrottleScope,
): Promise<void> {
  checkUserId(userId);
  if (scope !== undefined && scope !== 'otp' && scope !== 'recovery') {
    throw new RangeError(`"scope" must be 'otp' or 'recovery', got ${describe(scope)}`);
  }
  const now = ctx.now();
  const scopes: ThrottleScope[] = scope === undefined ? ['otp', 'recovery'] : [scope];
  for (const s of scopes) await ctx.store.resetThrottle(userId, s);
  ctx.emit({ type: 'unlocked', userId, at: now, scopes });
}

/**
 * See {@link MFA.reencryptSecret}. Every active factor, the pending
 * enrollment and the unexpired one it replaced (`previous`): a user who finishes an enrollment started under the old key
 * must not be left with a factor the retired key alone can open.
 */
export async function reencryptSecret(
  ctx: MFAContext,
  userId: string,
): Promise<ReencryptSecretResult> {
  checkUserId(userId);
  const now = ctx.now();
  const record = await ctx.store.getUser(userId, now);
  const pending = record?.pending ?? null;
  // The enrollment it replaced too, while the service may still open it (stale_qr).
  const previous =
    pending?.previous != null && now < pending.previous.expiresAt ? pending.previous : null;
  const sealed = [
    ...(record?.factors ?? []),
    ...(pending ? [pending] : []),
    ...(previous ? [previous] : []),
  ];
  if (sealed.length === 0) return { ok: false, reason: 'not_enrolled' };
  let count = 0;
  for (const { id, sealedSecret } of sealed) {
    if (ctx.cipher.needsReencryption?.(sealedSecret) === false) continue;
    // Seal a copy: withSecret wipes the plaintext when the callback returns.
    const copy = await ctx.withSecret(userId, sealedSecret, (secret) => secret.slice());
    const resealed = await ctx.seal(userId, copy).finally(() => copy.fill(0));
    // false: the factor was removed or the enrollment replaced meanwhile; the
    // replacement was sealed under the current key, so nothing is left behind.
    if (await ctx.store.replaceSealedSecret(userId, id, resealed)) count++;
  }
  if (count > 0) ctx.emit({ type: 'secret_reencrypted', userId, at: now, count });
  return { ok: true, reencrypted: count > 0, count };
}
