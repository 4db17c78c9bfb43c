/**
 * Login (internal): `verify` checks one code against every active factor for
 * the price of one attempt, and `resync` finds the factor two consecutive
 * codes belong to. Each factor keeps its own replay state (`lastStep`) and
 * drift; success is made final by one conditional store write for that factor.
 * @module
 * @internal
 */
import { verifyConsecutiveTOTP } from '../binding.ts';
import type { ActiveFactor } from '../store/contract.ts';
import { createTOTPKey } from '../totp.ts';
import { isCipherError, type MFAContext } from './context.ts';
import { diagnosisBudget } from '../diagnose.ts';
import { diagnoseResync, runSliced } from './detailed-refusals.ts';
import { normalizeCode } from '../code-input.ts';
import { checkOptions } from '../_assert.ts';
import type { VerifyOptions } from './call-options.ts';
import { checkRememberDevice, rememberDevice } from './devices.ts';
import { proofAfterLogin } from './proofs.ts';
import { checkPurpose } from './verification-input.ts';
import { checkUserId, isCode, pairProblem, paramsOf } from './input.ts';
import { skewSearchSteps } from './policy.ts';
import type { ResyncFailure, ResyncResult, VerifyResult } from './results.ts';

/** See {@link MFA.verify}. */
export async function verify(
  ctx: MFAContext,
  userId: string,
  code: string,
  options?: VerifyOptions,
): Promise<VerifyResult> {
  checkUserId(userId);
  const input = normalizeCode(code, 'code');
  const { rememberDevice: rememberOption, proofFor } = checkOptions(options);
  const remember = checkRememberDevice(rememberOption);
  if (proofFor !== undefined) checkPurpose(proofFor, 'proofFor');
  const now = ctx.now();
  const fail = (reason: 'not_enrolled' | 'malformed' | 'mismatch' | 'resync_required') => {
    ctx.emit({ type: 'verify_failed', userId, at: now, reason });
    return { ok: false as const, reason };
  };
  const replayed = () => {
    ctx.emit({ type: 'verify_replayed', userId, at: now });
    return { ok: false as const, reason: 'replayed' as const };
  };
  const read = await ctx.readForAttempt({
    userId,
    scope: 'otp',
    now,
    flow: 'verify',
    requirement: 'active',
    wellFormed: isCode(input, ctx.params.digits),
    select: (record) => {
      const factors = record?.factors ?? [];
      if (factors.length === 0) return fail('not_enrolled');
      const candidates = factors.filter((factor) => isCode(input, factor.digits));
      return candidates.length === 0 ? fail('malformed') : { candidates };
    },
    // The code is compared with every candidate factor: one guess each.
    weightOf: ({ candidates }) => candidates.length,
  });
  if (!read.ok) return read;
  // Each candidate factor is checked in turn (in createdAt order); the first
  // that accepts the code wins. A factor whose secret cannot be opened is
  // skipped; if no other factor accepts the code, the attempt is taken back
  // and the cipher's error is thrown.
  let match: { factor: ActiveFactor; step: number; drift: number } | undefined;
  let sawReplay = false;
  let sawDrift = false;
  let cipherError: unknown;
  for (const factor of read.selected.candidates) {
    let checked;
    try {
      checked = await ctx.withSecret(userId, factor.sealedSecret, (secret) => {
        const key = createTOTPKey(secret, paramsOf(factor));
        const result = key.verify(input, {
          // The window is centred on the device's estimated clock: whole steps ahead.
          now: now + factor.drift * factor.period * 1000,
          window: ctx.policy.window,
          afterStep: factor.lastStep,
        });
        return { result, current: key.step(now) };
      });
    } catch (error) {
      if (!isCipherError(error)) throw error;
      cipherError ??= error;
      continue;
    }
    const { result, current } = checked;
    if (!result.ok) {
      sawReplay ||= result.reason === 'replayed';
      continue;
    }
    const drift = result.step - current;
    // verify follows a drifting clock only up to maxDrift (or the offset last
    // proven by two consecutive codes); further needs a resync.
    if (Math.abs(drift) > Math.max(ctx.policy.maxDrift, Math.abs(factor.drift))) {
      sawDrift = true;
      continue;
    }
    match = { factor, step: result.step, drift };
    break;
  }
  if (match === undefined && cipherError !== undefined) {
    await read.refund();
    throw cipherError;
  }
  let outcome: VerifyResult;
  if (match !== undefined) {
    const { factor, step, drift } = match;
    if (await ctx.store.recordSuccess(userId, factor.id, step, drift, now)) {
      // The generation the call read: a device (or a proof) is issued only if
      // it has not moved since.
      const generation = read.record?.account?.generation ?? 0;
      ctx.emit({
        type: 'verify_succeeded',
        userId,
        at: now,
        factorId: factor.id,
        drift,
        generation,
      });
      const result: VerifyResult = { ok: true as const, factorId: factor.id, generation };
      if (remember !== undefined) {
        result.device = await rememberDevice(
          ctx,
          userId,
          remember.name,
          now,
          generation,
          read.record,
        );
      }
      if (proofFor !== undefined) {
        const made = await proofAfterLogin(ctx, userId, now, generation, proofFor, 'totp');
        result.proof = made?.token ?? null;
        result.proofExpiresAt = made?.expiresAt ?? null;
      }
      return result;
    }
    outcome = replayed();
  } else if (sawDrift) {
    outcome = fail('resync_required');
  } else if (sawReplay) {
    outcome = replayed();
  } else {
    outcome = fail('mismatch');
  }
  ctx.failed(userId, 'otp', now, read.guesses);
  return outcome;
}

/** See {@link MFA.resync}. */
export async function resync(
  ctx: MFAContext,
  userId: string,
  code1: string,
  code2: string,
): Promise<ResyncResult> {
  checkUserId(userId);
  const first = normalizeCode(code1, 'code1');
  const second = normalizeCode(code2, 'code2');
  const now = ctx.now();
  const fail = (reason: Exclude<ResyncFailure, 'throttled' | 'locked' | 'clock_skew'>) => {
    ctx.emit({ type: 'resync_failed', userId, at: now, reason });
    return { ok: false as const, reason };
  };
  const read = await ctx.readForAttempt({
    userId,
    scope: 'otp',
    now,
    flow: 'resync',
    requirement: 'active',
    wellFormed: pairProblem(first, second, ctx.params.digits) === null,
    select: (record) => {
      const factors = record?.factors ?? [];
      if (factors.length === 0) return fail('not_enrolled');
      const candidates = factors.filter((f) => pairProblem(first, second, f.digits) === null);
      if (candidates.length > 0) return { candidates };
      // The same reason the first factor gives: 'same_code' or 'malformed'.
      return fail(pairProblem(first, second, factors[0]!.digits) ?? 'malformed');
    },
    weightOf: ({ candidates }) => candidates.length,
  });
  if (!read.ok) return read;
  let reason: 'wrong_order' | 'mismatch' | 'replayed' = 'mismatch';
  let cipherError: unknown;
  let skewSeconds: number | null = null;
  // One search budget for the whole pair, however many factors it searches.
  const budget = diagnosisBudget();
  for (const factor of read.selected.candidates) {
    let binding;
    // A copy of the secret for the diagnosis, which runs in slices after the
    // check (yielding to the event loop), wiped when it ends.
    let toDiagnose: Uint8Array | null = null;
    const options = { now, window: ctx.policy.bindingWindow, afterStep: factor.lastStep };
    try {
      binding = await ctx.withSecret(userId, factor.sealedSecret, (secret) => {
        const checked = verifyConsecutiveTOTP(secret, [first, second], {
          ...paramsOf(factor),
          ...options,
        });
        // Only after the check refused, and only the first explanation found.
        if (!checked.ok && checked.reason === 'mismatch' && skewSeconds === null) {
          toDiagnose = secret.slice();
        }
        return checked;
      });
    } catch (error) {
      if (!isCipherError(error)) throw error;
      cipherError ??= error;
      continue;
    }
    if (toDiagnose !== null) {
      const copy: Uint8Array = toDiagnose;
      try {
        skewSeconds = await runSliced(
          diagnoseResync(
            copy,
            paramsOf(factor),
            [first, second],
            { ...options, skewSearch: skewSearchSteps(ctx.policy, factor.period) },
            budget,
          ),
        );
      } finally {
        copy.fill(0);
      }
    }
    if (binding.ok) {
      // Both steps must be new at the write too, not only in the record read
      // before: claim the first code's step, then the second's (each write is
      // conditional on a newer step), so a step verify accepts meanwhile is
      // never accepted again as part of the pair.
      const { step, drift } = binding;
      if (
        !(await ctx.store.recordSuccess(userId, factor.id, step - 1, drift, now)) ||
        !(await ctx.store.recordSuccess(userId, factor.id, step, drift, now))
      ) {
        reason = 'replayed';
        break;
      }
      ctx.emit({ type: 'resynced', userId, at: now, factorId: factor.id, drift: binding.drift });
      return {
        ok: true,
        factorId: factor.id,
        drift: binding.drift,
        // `+ 0` turns a drift of -0 into 0.
        clockOffsetSeconds: binding.drift * factor.period + 0,
      };
    }
    // The most telling reason of all factors: replayed, then wrong_order, then mismatch.
    if (binding.reason === 'replayed') reason = 'replayed';
    else if (binding.reason === 'wrong_order' && reason === 'mismatch') reason = 'wrong_order';
  }
  if (cipherError !== undefined && reason === 'mismatch') {
    await read.refund();
    throw cipherError;
  }
  let result: ResyncResult;
  if (reason === 'mismatch' && skewSeconds !== null) {
    ctx.emit({ type: 'resync_failed', userId, at: now, reason: 'clock_skew' });
    result = { ok: false, reason: 'clock_skew', skewSeconds };
  } else {
    result = fail(reason);
  }
  ctx.failed(userId, 'otp', now, read.guesses);
  return result;
}
