/**
 * A user's factors (internal): listing, renaming and removing them, and
 * importing an existing secret from another system without codes. Every
 * change is one store operation; the factor limit and the unique name are
 * enforced by the store in the same atomic step.
 * @module
 * @internal
 */
import {
  checkAlgorithm,
  checkBytes,
  checkDigits,
  checkInteger,
  checkOptions,
  checkAppPeriod,
  describe,
  OTP_DEFAULTS,
} from '../_assert.ts';
import { decodeBase32 } from '../base32.ts';
import { timingSafeEqual } from '../compare.ts';
import { MFAError } from '../errors.ts';
import type { ActiveFactor, FactorParams, RecoveryCodeSet } from '../store/contract.ts';
import { accountWrite, nextGeneration, RETRY, withAccount } from './account-state.ts';
import { parseKeyURI } from '../uri-parse.ts';
import type { MFAContext } from './context.ts';
import { secretDigest } from './_digest.ts';
import {
  checkFactorName,
  checkUserId,
  defaultFactorName,
  factorNameKey,
  withHidden,
} from './input.ts';
import { issueMissingRecoveryCodes } from './recovery-codes.ts';
import { checkProofOption, spendProof } from './proofs.ts';
import type { ImportFactorOptions } from './types.ts';
import type {
  FactorInfo,
  ImportFactorResult,
  RemoveFactorResult,
  RenameFactorResult,
} from './results.ts';

/** Secrets shorter than this are refused: 80 bits, what legacy systems commonly used. */
const MIN_IMPORT_BYTES = 10;
/** Secrets shorter than this are accepted but `weak`: RFC 4226 R6 asks for 128 bits. */
const STRONG_BYTES = 16;

function checkFactorId(factorId: unknown): string {
  if (typeof factorId !== 'string' || factorId.length === 0 || factorId.length > 256) {
    throw new TypeError(
      `"factorId" must be a string of 1 to 256 characters, got ${describe(factorId)}`,
    );
  }
  return factorId;
}

/** See {@link MFA.listFactors}. */
export async function listFactors(ctx: MFAContext, userId: string): Promise<FactorInfo[]> {
  checkUserId(userId);
  const record = await ctx.store.getUser(userId, ctx.now());
  return (record?.factors ?? []).map((f) => ({
    id: f.id,
    name: f.name,
    algorithm: f.algorithm,
    digits: f.digits,
    period: f.period,
    createdAt: f.createdAt,
    activatedAt: f.activatedAt,
    lastUsedAt: f.lastUsedAt,
    drift: f.drift,
  }));
}

/** See {@link MFA.renameFactor}. */
export async function renameFactor(
  ctx: MFAContext,
  userId: string,
  factorId: string,
  name: string,
): Promise<RenameFactorResult> {
  checkUserId(userId);
  checkFactorId(factorId);
  checkFactorName(name);
  const now = ctx.now();
  const outcome = await ctx.store.renameFactor(userId, factorId, name, factorNameKey(name));
  if (outcome === 'renamed') {
    ctx.emit({ type: 'factor_renamed', userId, at: now, factorId });
    return { ok: true };
  }
  if (outcome === 'not_found' || outcome === 'name_taken') return { ok: false, reason: outcome };
  throw new TypeError(`store.renameFactor returned ${describe(outcome)}`);
}

/** See {@link MFA.removeFactor}. */
export async function removeFactor(
  ctx: MFAContext,
  userId: string,
  factorId: string,
  proof?: unknown,
): Promise<RemoveFactorResult> {
  checkUserId(userId);
  checkFactorId(factorId);
  const given = checkProofOption(proof);
  const now = ctx.now();
  let generation = 0;
  const removal = await withAccount(ctx, userId, now, async (state) => {
    // Only a factor read as active is removed; the generation moves with it.
    if (!state.record?.factors.some((f) => f.id === factorId)) return null;
    // The proof is judged only for a change that would be made, and consumed with it.
    await spendProof(ctx, state, userId, given, 'remove_factor');
    const next = nextGeneration(state.account);
    generation = next.generation;
    const outcome = await ctx.store.removeFactor(userId, factorId, {
      account: accountWrite(ctx, state, next, now),
    });
    if (outcome === 'conflict') return RETRY;
    if (typeof outcome?.removed !== 'boolean' || !Number.isInteger(outcome.remaining)) {
      throw new MFAError('ERR_STORE', 'store.removeFactor returned an invalid outcome');
    }
    return outcome;
  });
  if (removal === null || !removal.removed) return { ok: false, reason: 'not_found' };
  const { remaining } = removal;
  ctx.emit({ type: 'factor_removed', userId, at: now, factorId, remaining, generation });
  if (remaining === 0) ctx.emit({ type: 'disabled', userId, at: now, generation });
  return { ok: true, remaining, generation };
}

/** The secret and parameters of an import, checked. */
function readImport(options: ImportFactorOptions): {
  secret: Uint8Array;
  params: FactorParams;
  lastStep: number | undefined;
  name: string | undefined;
  recoveryCodes: boolean;
} {
  const o = checkOptions(options);
  const { secret, uri, name, lastStep, recoveryCodes = false } = o;
  if ((secret === undefined) === (uri === undefined)) {
    throw new TypeError('exactly one of "secret" and "uri" must be given');
  }
  if (typeof recoveryCodes !== 'boolean') {
    throw new TypeError(`"recoveryCodes" must be a boolean, got ${describe(recoveryCodes)}`);
  }
  let bytes: Uint8Array;
  let fromURI: Partial<FactorParams> = {};
  if (uri !== undefined) {
    if (typeof uri !== 'string')
      throw new TypeError(`"uri" must be a string, got ${describe(uri)}`);
    const key = parseKeyURI(uri);
    if (key.type !== 'totp') throw new RangeError('"uri" must be an otpauth://totp/ key URI');
    bytes = key.secret;
    fromURI = { algorithm: key.algorithm, digits: key.digits, period: key.period };
  } else if (typeof secret === 'string') {
    bytes = decodeBase32(secret);
  } else {
    bytes = checkBytes(secret, 'secret', 1, 1024).slice();
  }
  if (bytes.length < MIN_IMPORT_BYTES || bytes.length > 1024) {
    const length = bytes.length;
    bytes.fill(0);
    throw new RangeError(
      `"secret" must be ${MIN_IMPORT_BYTES} to 1024 bytes long (at least 80 bits), got ${length} bytes`,
    );
  }
  const param = <K extends keyof FactorParams>(
    field: K,
    check: (value: unknown, field: string) => FactorParams[K],
  ): FactorParams[K] => {
    const given = o[field];
    const value = given === undefined ? undefined : check(given, field);
    const known = fromURI[field];
    if (value !== undefined && known !== undefined && value !== known) {
      throw new RangeError(`"${field}" is ${describe(value)} but the URI says ${describe(known)}`);
    }
    return value ?? known ?? OTP_DEFAULTS[field];
  };
  return {
    secret: bytes,
    params: {
      algorithm: param('algorithm', checkAlgorithm),
      digits: param('digits', (v, f) => checkDigits(v, f)),
      // A URI's period was checked by parseKeyURI; a given one here.
      period: param('period', checkAppPeriod),
    },
    lastStep:
      lastStep === undefined
        ? undefined
        : checkInteger(lastStep, 'lastStep', -1, Number.MAX_SAFE_INTEGER),
    name: name === undefined ? undefined : checkFactorName(name),
    recoveryCodes,
  };
}

/**
 * The active factor that already has `secret`: by digest, then, among
 * factors stored without a digest (0.2), by opening them. Those cannot be
 * created any more, so the store's duplicate rule covers the rest. A factor
 * that cannot be opened fails the import (`ERR_CIPHER`) rather than risk a
 * second copy of its secret.
 */
async function findTwin(
  ctx: MFAContext,
  userId: string,
  factors: readonly ActiveFactor[],
  secret: Uint8Array,
  digest: string,
): Promise<ActiveFactor | undefined> {
  const byDigest = factors.find((f) => f.secretDigest === digest);
  if (byDigest !== undefined) return byDigest;
  for (const factor of factors) {
    if (factor.secretDigest !== null) continue;
    const same = await ctx.withSecret(userId, factor.sealedSecret, (stored) =>
      timingSafeEqual(stored, secret),
    );
    if (same) return factor;
  }
  return undefined;
}

/** See {@link MFA.importFactor}. */
export async function importFactor(
  ctx: MFAContext,
  userId: string,
  options: ImportFactorOptions,
): Promise<ImportFactorResult> {
  checkUserId(userId);
  const { secret, params, lastStep: given, name, recoveryCodes } = readImport(options);
  const weak = secret.length < STRONG_BYTES;
  const now = ctx.now();
  const made: { codes: string[]; set: RecoveryCodeSet }[] = [];
  let generation = 0;
  let factor: ActiveFactor;
  let outcome: ImportFactorResult | { ok: true; firstFactor: boolean };
  try {
    // Beyond the furthest step a code can be accepted at now, a factor could never verify.
    const latest = Math.floor(now / 1000 / params.period) + ctx.policy.window;
    if (given !== undefined && given > latest) {
      throw new RangeError(
        `"lastStep" must be at most ${latest} (the factor's current step plus policy.window), got ${given}`,
      );
    }
    const digest = await secretDigest(userId, secret);
    const sealedSecret = await ctx.seal(userId, secret);
    factor = {
      id: globalThis.crypto.randomUUID(),
      name: '',
      nameKey: '',
      sealedSecret,
      secretDigest: digest,
      ...params,
      // Not given: every code that may have been accepted up to now (by the old
      // system, or by an earlier copy of this factor removed since) stays used.
      lastStep: given ?? latest,
      drift: 0,
      createdAt: now,
      activatedAt: now,
      lastUsedAt: null,
    };
    // Judged on every read: a conflict (the account moved) reads again.
    outcome = await withAccount(ctx, userId, now, async (state) => {
      const factors = state.record?.factors ?? [];
      // A re-run import changes nothing: the generation read.
      generation = state.account.generation;
      const twin = await findTwin(ctx, userId, factors, secret, digest);
      if (twin !== undefined) {
        return { ok: true as const, factorId: twin.id, weak, alreadyImported: true, generation };
      }
      if (factors.length >= ctx.policy.maxFactors) {
        return { ok: false as const, reason: 'factor_limit' as const };
      }
      const taken = new Set(factors.map((f) => f.nameKey));
      factor.name = name ?? defaultFactorName(taken);
      factor.nameKey = factorNameKey(factor.name);
      if (taken.has(factor.nameKey)) return { ok: false as const, reason: 'name_taken' as const };
      if (recoveryCodes && factors.length === 0 && made.length === 0) {
        made.push(await ctx.createRecoverySet(userId));
      }
      const added = await ctx.store.addFactor(userId, factor, {
        maxFactors: ctx.policy.maxFactors,
        recoveryCodes: factors.length === 0 ? (made[0]?.set ?? null) : null,
        account: accountWrite(ctx, state, nextGeneration(state.account), now),
      });
      if (added.ok) {
        generation = state.account.generation + 1;
        return { ok: true as const, firstFactor: added.firstFactor };
      }
      if (added.reason === 'conflict') return RETRY;
      if (added.reason === 'factor_limit' || added.reason === 'name_taken') {
        return { ok: false as const, reason: added.reason };
      }
      // Imported meanwhile by a call racing this one: the same answer as a re-run.
      if (added.reason === 'duplicate_secret' && typeof added.factorId === 'string') {
        return {
          ok: true as const,
          factorId: added.factorId,
          weak,
          alreadyImported: true,
          generation,
        };
      }
      if (added.reason === 'erased') throw ctx.erased();
      throw new MFAError('ERR_STORE', `store.addFactor returned ${describe(added)}`);
    });
  } finally {
    secret.fill(0);
  }
  if (!('firstFactor' in outcome)) return outcome;
  const codes = !(recoveryCodes && outcome.firstFactor)
    ? undefined
    : made[0] === undefined
      ? await issueMissingRecoveryCodes(ctx, userId, now)
      : made[0].codes;
  ctx.emit({ type: 'factor_imported', userId, at: now, factorId: factor.id, weak, generation });
  const result = {
    ok: true as const,
    factorId: factor.id,
    weak,
    alreadyImported: false,
    generation,
  };
  return codes === undefined ? result : withHidden(result, { recoveryCodes: Object.freeze(codes) });
}
