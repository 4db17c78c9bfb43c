/**
 * The MFA service: enrollment bound by two consecutive codes, login
 * verification against every factor of a user with replay protection, drift
 * tracking and throttling, recovery codes, and secrets sealed at rest, on top
 * of any {@link MFAStore}.
 *
 * Every method reads the clock once, reads at most one record, checks codes
 * with the primitives and makes each decision final with one conditional
 * store write (after reserving an attempt, for methods that check a code).
 * With a store that has the optional `readAndReserve`, the read and the
 * reservation are one store operation, so a code check costs two round trips
 * when it succeeds and one when it fails, however many factors the user has.
 *
 * The flows live beside this file: `enrollment.ts`, `login.ts`,
 * `recovery-codes.ts`, `factors.ts`, `account.ts`, `devices.ts` and
 * `admin-reset.ts`, over the shared `context.ts`. Every method takes a
 * trailing options object whose `context` reaches every event of the call.
 * @module
 */
import { checkOptions, describe } from '../_assert.ts';
import type {
  CheckVerificationCodeOptions,
  CheckVerificationCodeResult,
  PendingEnrollmentInfo,
  PendingEnrollmentOptions,
  SendVerificationCodeOptions,
  SendVerificationCodeResult,
  UseProofOptions,
} from './account-types.ts';
import { pendingEnrollment } from './pending.ts';
import { useProof } from './proofs.ts';
import * as verification from './verification.ts';
import { Verifier } from './verification.ts';
import type { ThrottleScope } from '../store/contract.ts';
import * as account from './account.ts';
import { adminReset } from './admin-reset.ts';
import type {
  AdminResetOptions,
  CallOptions,
  ProofOptions,
  UseRecoveryCodeOptions,
  VerifyOptions,
} from './call-options.ts';
import { MFAContext } from './context.ts';
import * as devices from './devices.ts';
import { beginEnrollment, completeEnrollment } from './enrollment.ts';
import * as factors from './factors.ts';
import { resync, verify } from './login.ts';
import { regenerateRecoveryCodes, useRecoveryCode } from './recovery-codes.ts';
import type { BeginEnrollmentOptions, ImportFactorOptions, MFA, MFAOptions } from './types.ts';
import type {
  BeginEnrollmentResult,
  CompleteEnrollmentResult,
  DisableResult,
  FactorInfo,
  ImportFactorResult,
  MFAStatus,
  ReencryptSecretResult,
  RegenerateRecoveryCodesResult,
  RemoveFactorResult,
  RenameFactorResult,
  ResyncResult,
  UseRecoveryCodeResult,
  VerifyResult,
} from './results.ts';
import type {
  AdminResetResult,
  CheckRememberedDeviceResult,
  RememberedDeviceInfo,
} from './results-account.ts';

/**
 * The options object a method was given, checked, with its `context`: the
 * service's context for this one call.
 */
function callOf(ctx: MFAContext, options: unknown): MFAContext {
  if (options === undefined) return ctx;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`"options" must be an object, got ${describe(options)}`);
  }
  // An own property only: a polluted Object.prototype.context is not the caller's.
  const context = Object.hasOwn(options, 'context')
    ? (options as { context?: unknown }).context
    : undefined;
  return ctx.forCall(context);
}

/** The `proof` option of a sensitive call (an own property only), unchecked. */
function proofOf(options: ProofOptions | undefined): unknown {
  return options !== null && typeof options === 'object' && Object.hasOwn(options, 'proof')
    ? options.proof
    : undefined;
}

class MFAService implements MFA {
  readonly #ctx: MFAContext;
  readonly #verifier: Verifier | null;

  constructor(options: MFAOptions) {
    this.#ctx = new MFAContext(options);
    const { verification } = checkOptions(options);
    this.#verifier = verification === undefined ? null : new Verifier(verification);
  }

  async beginEnrollment(
    userId: string,
    options: BeginEnrollmentOptions,
  ): Promise<BeginEnrollmentResult> {
    return beginEnrollment(callOf(this.#ctx, options), userId, options);
  }

  async completeEnrollment(
    userId: string,
    code1: string,
    code2: string,
    options?: CallOptions,
  ): Promise<CompleteEnrollmentResult> {
    return completeEnrollment(callOf(this.#ctx, options), userId, code1, code2);
  }

  async verify(userId: string, code: string, options?: VerifyOptions): Promise<VerifyResult> {
    return verify(callOf(this.#ctx, options), userId, code, options);
  }

  async resync(
    userId: string,
    code1: string,
    code2: string,
    options?: CallOptions,
  ): Promise<ResyncResult> {
    return resync(callOf(this.#ctx, options), userId, code1, code2);
  }

  async useRecoveryCode(
    userId: string,
    code: string,
    options?: UseRecoveryCodeOptions,
  ): Promise<UseRecoveryCodeResult> {
    return useRecoveryCode(callOf(this.#ctx, options), userId, code, options);
  }

  async regenerateRecoveryCodes(
    userId: string,
    options?: ProofOptions,
  ): Promise<RegenerateRecoveryCodesResult> {
    return regenerateRecoveryCodes(callOf(this.#ctx, options), userId, proofOf(options));
  }

  async listFactors(userId: string, options?: CallOptions): Promise<FactorInfo[]> {
    return factors.listFactors(callOf(this.#ctx, options), userId);
  }

  async renameFactor(
    userId: string,
    factorId: string,
    name: string,
    options?: CallOptions,
  ): Promise<RenameFactorResult> {
    return factors.renameFactor(callOf(this.#ctx, options), userId, factorId, name);
  }

  async removeFactor(
    userId: string,
    factorId: string,
    options?: ProofOptions,
  ): Promise<RemoveFactorResult> {
    return factors.removeFactor(callOf(this.#ctx, options), userId, factorId, proofOf(options));
  }

  async importFactor(userId: string, options: ImportFactorOptions): Promise<ImportFactorResult> {
    return factors.importFactor(callOf(this.#ctx, options), userId, options);
  }

  async status(userId: string, options?: CallOptions): Promise<MFAStatus> {
    return account.status(callOf(this.#ctx, options), userId);
  }

  async disable(userId: string, options?: ProofOptions): Promise<DisableResult> {
    return account.disable(callOf(this.#ctx, options), userId, proofOf(options));
  }

  async deleteUserData(userId: string, options?: CallOptions): Promise<boolean> {
    return account.deleteUserData(callOf(this.#ctx, options), userId);
  }

  async unlock(userId: string, scope?: ThrottleScope, options?: CallOptions): Promise<void> {
    return account.unlock(callOf(this.#ctx, options), userId, scope);
  }

  async reencryptSecret(userId: string, options?: CallOptions): Promise<ReencryptSecretResult> {
    return account.reencryptSecret(callOf(this.#ctx, options), userId);
  }

  async checkRememberedDevice(
    userId: string,
    token: string,
    options?: CallOptions,
  ): Promise<CheckRememberedDeviceResult> {
    return devices.checkRememberedDevice(callOf(this.#ctx, options), userId, token);
  }

  async listRememberedDevices(
    userId: string,
    options?: CallOptions,
  ): Promise<RememberedDeviceInfo[]> {
    return devices.listRememberedDevices(callOf(this.#ctx, options), userId);
  }

  async forgetRememberedDevice(
    userId: string,
    deviceId: string,
    options?: CallOptions,
  ): Promise<boolean> {
    return devices.forgetRememberedDevice(callOf(this.#ctx, options), userId, deviceId);
  }

  async forgetRememberedDevices(userId: string, options?: CallOptions): Promise<number> {
    return devices.forgetRememberedDevices(callOf(this.#ctx, options), userId);
  }

  async adminReset(userId: string, options: AdminResetOptions): Promise<AdminResetResult> {
    return adminReset(callOf(this.#ctx, options), userId, options);
  }

  async sendVerificationCode(
    userId: string,
    options: SendVerificationCodeOptions & CallOptions,
  ): Promise<SendVerificationCodeResult> {
    const ctx = callOf(this.#ctx, options);
    return verification.sendVerificationCode(ctx, this.#verifier, userId, options);
  }

  async checkVerificationCode(
    userId: string,
    code: string,
    options: CheckVerificationCodeOptions & CallOptions,
  ): Promise<CheckVerificationCodeResult> {
    const ctx = callOf(this.#ctx, options);
    return verification.checkVerificationCode(ctx, this.#verifier, userId, code, options);
  }

  async useProof(
    userId: string,
    proof: string,
    options: UseProofOptions & CallOptions,
  ): Promise<boolean> {
    const ctx = callOf(this.#ctx, options);
    return useProof(ctx, userId, proof, checkOptions(options).purpose);
  }

  async pendingEnrollment(
    userId: string,
    options: PendingEnrollmentOptions & CallOptions,
  ): Promise<PendingEnrollmentInfo | null> {
    return pendingEnrollment(callOf(this.#ctx, options), userId, options);
  }

  /** A description without any state. */
  toString(): string {
    return `MFA(${this.#ctx.issuer})`;
  }
}

/**
 * Creates the MFA service. See the guide "Enrollment and verification" for
 * the whole flow and the reasons to show users.
 *
 * @param options - `store`, `issuer`, `cipher` (required), and `clock`,
 *   `policy`, `totp`, `onEvent`
 * @returns the {@link MFA} service
 * @throws TypeError / RangeError naming the invalid option
 * @example
 * ```ts fragment
 * import { createAESGCMCipher, createMFA, MemoryStore } from 'totpkit';
 * const mfa = createMFA({
 *   store: new MemoryStore(),
 *   issuer: 'Acme',
 *   cipher: createAESGCMCipher({ keys: { k1: key32Bytes }, primaryKeyId: 'k1' }),
 *   onEvent: (event) => auditLog.write(event),
 * });
 * const { uri } = await mfa.beginEnrollment('user-42', { accountName: 'alice@example.com' });
 * ```
 */
export function createMFA(options: MFAOptions): MFA {
  return new MFAService(options);
}
