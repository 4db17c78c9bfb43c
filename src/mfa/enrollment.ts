/**
 * Enrollment (internal): a new secret stored as pending, then bound as one
 * more factor by two consecutive codes. The pending enrollment's id becomes
 * the factor's id, and the store binds it in one atomic step that also
 * enforces `policy.maxFactors`, the unique name and `replaceFactorId`.
 * @module
 * @internal
 */
import { checkOptions, describe } from '../_assert.ts';
import { encodeBase32 } from '../base32.ts';
import { verifyConsecutiveTOTP } from '../binding.ts';
import { MFAError } from '../errors.ts';
import { generateSecret } from '../secret.ts';
import type { PendingEnrollment } from '../store/types.ts';
import { buildKeyURI } from '../uri.ts';
import { isCipherError, type MFAContext } from './context.ts';
import { issueMissingRecoveryCodes } from './recovery-codes.ts';
import {
  checkFactorName,
  checkUserId,
  defaultFactorName,
  factorNameKey,
  normalizeCode,
  pairProblem,
  paramsOf,
  withHidden,
} from './input.ts';
import type {
  BeginEnrollmentOptions,
  BeginEnrollmentResult,
  CompleteEnrollmentFailure,
  CompleteEnrollmentResult,
} from './types.ts';

/** See {@link MFA.beginEnrollment}. */
export async function beginEnrollment(
  ctx: MFAContext,
  userId: string,
  options: BeginEnrollmentOptions,
): Promise<BeginEnrollmentResult> {
  checkUserId(userId);
  const { accountName, name, replaceFactorId } = checkOptions(options);
  if (name !== undefined) checkFactorName(name);
  if (replaceFactorId !== undefined && typeof replaceFactorId !== 'string') {
    throw new TypeError(
      `"replaceFactorId" must be a string or undefined, got ${describe(replaceFactorId)}`,
    );
  }
  const now = ctx.now();
  const factors = (await ctx.store.getUser(userId, now))?.factors ?? [];
  if (replaceFactorId !== undefined && !factors.some((f) => f.id === replaceFactorId)) {
    throw new MFAError(
      'ERR_FACTOR_NOT_FOUND',
      'replaceFactorId is not an active factor of the user',
    );
  }
  const kept = factors.filter((f) => f.id !== replaceFactorId);
  if (kept.length >= ctx.policy.maxFactors) {
    throw new MFAError(
      'ERR_FACTOR_LIMIT',
      `the user has ${kept.length} factors, the most policy.maxFactors allows; ` +
        `remove one or pass replaceFactorId`,
    );
  }
  const taken = new Set(kept.map((f) => f.nameKey));
  const factorName = name ?? defaultFactorName(taken);
  const nameKey = factorNameKey(factorName);
  if (taken.has(nameKey)) {
    throw new MFAError('ERR_NAME_TAKEN', 'another factor of the user has this name');
  }
  const secret = generateSecret({ bytes: 20 });
  let uri: string, base32: string, sealedSecret: string;
  try {
    uri = buildKeyURI({
      secret,
      accountName: accountName as string,
      issuer: ctx.issuer,
      ...ctx.params,
    });
    base32 = encodeBase32(secret);
    sealedSecret = await ctx.seal(userId, secret);
  } finally {
    secret.fill(0); // best effort: `base32` and `uri` are strings and cannot be wiped
  }
  const pending: PendingEnrollment = {
    id: globalThis.crypto.randomUUID(),
    name: factorName,
    nameKey,
    sealedSecret,
    ...ctx.params,
    createdAt: now,
    expiresAt: now + ctx.policy.pendingTtlMs,
    replaceFactorId: replaceFactorId ?? null,
  };
  await ctx.store.putPending(userId, pending);
  ctx.emit({
    type: 'enrollment_started',
    userId,
    at: now,
    factorId: pending.id,
    expiresAt: pending.expiresAt,
    replaceFactorId: pending.replaceFactorId,
  });
  return withHidden(
    { factorId: pending.id, expiresAt: pending.expiresAt },
    { secret: base32, uri },
  );
}

/** See {@link MFA.completeEnrollment}. */
export async function completeEnrollment(
  ctx: MFAContext,
  userId: string,
  code1: string,
  code2: string,
): Promise<CompleteEnrollmentResult> {
  checkUserId(userId);
  const first = normalizeCode(code1, 'code1');
  const second = normalizeCode(code2, 'code2');
  const now = ctx.now();
  const fail = (reason: Exclude<CompleteEnrollmentFailure, 'throttled' | 'locked'>) => {
    ctx.emit({ type: 'enrollment_failed', userId, at: now, reason });
    return { ok: false as const, reason };
  };
  const read = await ctx.readForAttempt(
    userId,
    'otp',
    now,
    'enrollment',
    'pending',
    pairProblem(first, second, ctx.params.digits) === null,
    (record) => {
      const pending = record?.pending;
      if (!pending) return fail('not_pending');
      if (pending.expiresAt <= now) return fail('expired');
      const problem = pairProblem(first, second, pending.digits);
      return problem === null
        ? { pending, firstFactor: record.factors.length === 0 }
        : fail(problem);
    },
  );
  if ('ok' in read) return read;
  const { pending, firstFactor } = read.selected;
  let binding;
  try {
    binding = await ctx.withSecret(userId, pending.sealedSecret, (secret) =>
      verifyConsecutiveTOTP(secret, [first, second], {
        ...paramsOf(pending),
        now,
        window: ctx.policy.bindingWindow,
      }),
    );
  } catch (error) {
    if (isCipherError(error)) await read.refund();
    throw error;
  }
  if (!binding.ok) {
    const result = fail(binding.reason === 'replayed' ? 'mismatch' : binding.reason);
    ctx.failed(userId, 'otp', now, read.failures, read.factorCount);
    return result;
  }
  // Recovery codes only for a first factor: hashing them is the costly part.
  const issued = firstFactor ? await ctx.createRecoverySet(userId) : null;
  const activated = await ctx.store.activatePending(userId, pending.id, {
    lastStep: binding.step,
    drift: binding.drift,
    now,
    maxFactors: ctx.policy.maxFactors,
    recoveryCodes: issued?.set ?? null,
  });
  if (!activated.ok) return fail(activated.reason);
  // The user's factors all went between the read and the bind: issue a set now.
  const codes =
    activated.firstFactor && issued === null
      ? await issueMissingRecoveryCodes(ctx, userId)
      : activated.firstFactor
        ? issued?.codes
        : undefined;
  ctx.emit({
    type: 'enrollment_completed',
    userId,
    at: now,
    factorId: pending.id,
    drift: binding.drift,
    recoveryCodes: codes?.length ?? 0,
  });
  const factors = read.factorCount + 1 - (activated.replaced ? 1 : 0);
  if (activated.replaced && pending.replaceFactorId !== null) {
    ctx.emit({
      type: 'factor_removed',
      userId,
      at: now,
      factorId: pending.replaceFactorId,
      remaining: factors,
    });
  }
  ctx.emit({ type: 'factor_added', userId, at: now, factorId: pending.id, factors });
  const result = { ok: true as const, factorId: pending.id };
  return codes === undefined ? result : withHidden(result, { recoveryCodes: Object.freeze(codes) });
}
