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
import { normalizeCode } from '../code-input.ts';
import { verifyConsecutiveTOTP } from '../binding.ts';
import { MFAError } from '../errors.ts';
import { generateSecret } from '../secret.ts';
import type { EnrollmentFailedEvent } from './events.ts';
import { skewSearchSteps } from './policy.ts';
import { diagnosisBudget } from '../diagnose.ts';
import {
  diagnoseEnrollment,
  runSliced,
  type EnrollmentDiagnosis,
  type OpenedFactor,
} from './detailed-refusals.ts';
import type {
  ActiveFactor,
  FactorParams,
  PendingEnrollment,
  ReplacedPending,
} from '../store/contract.ts';
import { buildKeyURI } from '../uri-build.ts';
import { isCipherError, type MFAContext } from './context.ts';
import { accountWrite, nextGeneration, RETRY, withAccount, type Settled } from './account-state.ts';
import { secretDigest } from './_digest.ts';
import { issueMissingRecoveryCodes } from './recovery-codes.ts';
import { checkProofOption, spendProof } from './proofs.ts';
import {
  checkFactorName,
  checkUserId,
  defaultFactorName,
  factorNameKey,
  pairProblem,
  paramsOf,
  withHidden,
} from './input.ts';
import type { BeginEnrollmentOptions } from './types.ts';
import type { BeginEnrollmentResult, CompleteEnrollmentResult } from './results.ts';

/** See {@link MFA.beginEnrollment}. */
export async function beginEnrollment(
  ctx: MFAContext,
  userId: string,
  options: BeginEnrollmentOptions,
): Promise<BeginEnrollmentResult> {
  checkUserId(userId);
  const { accountName, name, replaceFactorId, proof: given } = checkOptions(options);
  if (name !== undefined) checkFactorName(name);
  if (replaceFactorId !== undefined && typeof replaceFactorId !== 'string') {
    throw new TypeError(
      `"replaceFactorId" must be a string or undefined, got ${describe(replaceFactorId)}`,
    );
  }
  const proof = checkProofOption(given);
  const purpose = replaceFactorId === undefined ? 'enroll' : 'replace_factor';
  const now = ctx.now();
  const secret = generateSecret({ bytes: 20 });
  let uri: string, base32: string, sealedSecret: string, digest: string;
  try {
    uri = buildKeyURI({
      secret,
      accountName: accountName as string,
      issuer: ctx.issuer,
      ...ctx.params,
    });
    base32 = encodeBase32(secret);
    sealedSecret = await ctx.seal(userId, secret);
    digest = await secretDigest(userId, secret);
  } finally {
    secret.fill(0); // best effort: `base32` and `uri` are strings and cannot be wiped
  }
  const pending: PendingEnrollment = {
    id: globalThis.crypto.randomUUID(),
    name: '',
    nameKey: '',
    sealedSecret,
    secretDigest: digest,
    ...ctx.params,
    createdAt: now,
    expiresAt: now + ctx.policy.pendingTtlMs,
    replaceFactorId: replaceFactorId ?? null,
  };
  // Judged on each read; the proof is consumed by the same putPending.
  await withAccount(ctx, userId, now, async (state) => {
    const factors = state.record?.factors ?? [];
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
    pending.name = name ?? defaultFactorName(taken);
    pending.nameKey = factorNameKey(pending.name);
    if (taken.has(pending.nameKey)) {
      throw new MFAError('ERR_NAME_TAKEN', 'another factor of the user has this name');
    }
    const spent = await spendProof(ctx, state, userId, proof, purpose);
    const stored = await ctx.store.putPending(
      userId,
      pending,
      spent ? { account: accountWrite(ctx, state, state.account, now) } : undefined,
    );
    if (stored === 'conflict') return RETRY;
    if (stored === 'erased') throw ctx.erased();
    if (stored !== 'stored') {
      throw new MFAError('ERR_STORE', `store.putPending returned ${describe(stored)}`);
    }
    return stored;
  });
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

/**
 * The code lengths a diagnosis could explain for this enrollment: its own,
 * 6 (an app that dropped the digits), and those of the user's factors and of
 * the replaced enrollment (codes of another secret).
 */
function explainableLengths(
  pending: PendingEnrollment,
  factors: readonly ActiveFactor[],
  now: number,
) {
  const lengths = new Set<number>([pending.digits, 6]);
  for (const f of factors) lengths.add(f.digits);
  const previous = livePrevious(pending, now);
  if (previous !== null) lengths.add(previous.digits);
  return lengths;
}

/** The replaced enrollment, if the store kept it and it has not expired. */
function livePrevious(pending: PendingEnrollment, now: number): ReplacedPending | null {
  const previous = pending.previous;
  return previous != null && now < previous.expiresAt ? previous : null;
}

/**
 * Opens a secret for the diagnosis only, as a copy the caller wipes: one the
 * cipher cannot open (a retired key) is left out rather than failing a call
 * whose answer is already a refusal.
 */
async function openForDiagnosis(
  ctx: MFAContext,
  userId: string,
  sealed: string,
): Promise<Uint8Array | null> {
  try {
    return await ctx.withSecret(userId, sealed, (secret) => secret.slice());
  } catch (error) {
    if (isCipherError(error)) return null;
    throw error;
  }
}

/**
 * Runs the diagnosis of refused codes: opens the user's factors and the
 * replaced enrollment, then searches (see {@link diagnoseEnrollment}). The
 * opened copies are wiped before it returns.
 */
async function diagnose(
  ctx: MFAContext,
  userId: string,
  pending: PendingEnrollment,
  factors: readonly ActiveFactor[],
  codes: readonly [string, string],
  now: number,
): Promise<EnrollmentDiagnosis | null> {
  const opened: OpenedFactor[] = [];
  let previous: { secret: Uint8Array; params: FactorParams } | null = null;
  let secret: Uint8Array | null = null;
  try {
    for (const f of factors) {
      const copy = await openForDiagnosis(ctx, userId, f.sealedSecret);
      if (copy !== null) opened.push({ id: f.id, name: f.name, secret: copy, params: paramsOf(f) });
    }
    const replaced = livePrevious(pending, now);
    if (replaced !== null) {
      const copy = await openForDiagnosis(ctx, userId, replaced.sealedSecret);
      if (copy !== null) previous = { secret: copy, params: paramsOf(replaced) };
    }
    secret = await openForDiagnosis(ctx, userId, pending.sealedSecret);
    if (secret === null) return null;
    // In slices, yielding between them: at most MAX_DIAGNOSIS_WORK codes in all.
    return await runSliced(
      diagnoseEnrollment(
        {
          secret,
          params: paramsOf(pending),
          now,
          window: ctx.policy.bindingWindow,
          skewSearch: skewSearchSteps(ctx.policy, pending.period),
          factors: opened,
          previous,
        },
        codes,
        diagnosisBudget(),
      ),
    );
  } finally {
    for (const f of opened) f.secret.fill(0);
    previous?.secret.fill(0);
    secret?.fill(0);
  }
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
  type Plain = Exclude<EnrollmentFailedEvent['reason'], EnrollmentDiagnosis['reason']>;
  const refuse = <T extends EnrollmentDiagnosis | { ok: false; reason: Plain }>(result: T) => {
    ctx.emit({ type: 'enrollment_failed', userId, at: now, reason: result.reason });
    return result;
  };
  const fail = (reason: Plain) => refuse({ ok: false as const, reason });
  const read = await ctx.readForAttempt({
    userId,
    scope: 'otp',
    now,
    flow: 'enrollment',
    requirement: 'pending',
    wellFormed: pairProblem(first, second, ctx.params.digits) === null,
    select: (record) => {
      const pending = record?.pending;
      if (!pending) return fail('not_pending');
      if (pending.expiresAt <= now) return fail('expired');
      // Codes of a length a diagnosis could explain (6 digits for an 8-digit
      // enrollment, another factor's length) are checked, not refused here.
      const lengths = explainableLengths(pending, record.factors, now);
      const digits = lengths.has(first.length) ? first.length : pending.digits;
      const problem = pairProblem(first, second, digits);
      return problem === null
        ? { pending, factors: record.factors, firstFactor: record.factors.length === 0, record }
        : fail(problem);
    },
    // A binding checks the codes against the one pending secret.
    weightOf: () => 1,
  });
  if (!read.ok) return read;
  const { pending, factors, firstFactor } = read.selected;
  const codes = [first, second] as const;
  let params = paramsOf(pending);
  let binding;
  try {
    binding = await ctx.withSecret(userId, pending.sealedSecret, (secret) =>
      verifyConsecutiveTOTP(secret, codes, {
        ...params,
        now,
        window: ctx.policy.bindingWindow,
      }),
    );
  } catch (error) {
    if (isCipherError(error)) await read.refund();
    throw error;
  }
  if (!binding.ok && (binding.reason === 'mismatch' || binding.reason === 'malformed')) {
    // Only now, after the normal check refused, search for an explanation.
    const found = await diagnose(ctx, userId, pending, factors, codes, now);
    if (found?.reason === 'app_ignored_parameters' && ctx.policy.acceptAppParameters) {
      // The app's parameters, inside the same window: bind with those.
      const app = found.appParameters;
      const appBinding = await ctx.withSecret(userId, pending.sealedSecret, (secret) =>
        verifyConsecutiveTOTP(secret, codes, { ...app, now, window: ctx.policy.bindingWindow }),
      );
      if (appBinding.ok) {
        binding = appBinding;
        params = app;
      }
    }
    if (!binding.ok && found !== null) {
      const result = refuse(found);
      ctx.failed(userId, 'otp', now, read.guesses);
      return result;
    }
  }
  if (!binding.ok) {
    const result = fail(binding.reason === 'replayed' ? 'mismatch' : binding.reason);
    ctx.failed(userId, 'otp', now, read.guesses);
    return result;
  }
  // Recovery codes only for a first factor: hashing them is the costly part.
  const issued = firstFactor ? await ctx.createRecoverySet(userId) : null;
  // The bind carries the generation's move; on a conflict the store's rules
  // (still pending, limit, names) are judged again on the new read.
  let generation = 0;
  const activated = await withAccount(
    ctx,
    userId,
    now,
    async (state) => {
      const next = nextGeneration(state.account);
      generation = next.generation;
      const outcome = await ctx.store.activatePending(userId, pending.id, {
        lastStep: binding.step,
        drift: binding.drift,
        now,
        maxFactors: ctx.policy.maxFactors,
        recoveryCodes: issued?.set ?? null,
        // The app's parameters, when acceptAppParameters bound those.
        ...(sameParams(params, pending) ? {} : { params }),
        account: accountWrite(ctx, state, next, now),
      });
      if (!outcome.ok && outcome.reason === 'conflict') return RETRY;
      return outcome as Settled<typeof outcome>;
    },
    read.selected.record,
  );
  if (!activated.ok) {
    if (activated.reason === 'erased') throw ctx.erased();
    if (activated.reason === 'duplicate_secret') {
      // A fresh 160-bit secret already bound: the store's record is not ours.
      throw new MFAError('ERR_STORE', 'store.activatePending found the new secret already bound');
    }
    return fail(activated.reason);
  }
  // The user's factors all went between the read and the bind: issue a set now.
  const recoveryCodes =
    activated.firstFactor && issued === null
      ? await issueMissingRecoveryCodes(ctx, userId, now)
      : activated.firstFactor
        ? issued?.codes
        : undefined;
  ctx.emit({
    type: 'enrollment_completed',
    userId,
    at: now,
    factorId: pending.id,
    drift: binding.drift,
    recoveryCodes: recoveryCodes?.length ?? 0,
    generation,
  });
  const factorCount = read.factorCount + 1 - (activated.replaced ? 1 : 0);
  if (activated.replaced && pending.replaceFactorId !== null) {
    ctx.emit({
      type: 'factor_removed',
      userId,
      at: now,
      factorId: pending.replaceFactorId,
      remaining: factorCount,
      generation,
    });
  }
  ctx.emit({
    type: 'factor_added',
    userId,
    at: now,
    factorId: pending.id,
    factors: factorCount,
    generation,
  });
  const result = {
    ok: true as const,
    factorId: pending.id,
    generation,
    // `+ 0` turns a drift of -0 into 0.
    clockOffsetSeconds: binding.drift * params.period + 0,
    parameters: params,
  };
  return recoveryCodes === undefined
    ? result
    : withHidden(result, { recoveryCodes: Object.freeze(recoveryCodes) });
}

function sameParams(a: FactorParams, b: FactorParams): boolean {
  return a.algorithm === b.algorithm && a.digits === b.digits && a.period === b.period;
}
