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
 * `recovery-codes.ts`, `factors.ts` and `account.ts`, over the shared
 * `context.ts`.
 * @module
 */
import type { ThrottleScope } from '../store/contract.ts';
import * as account from './account.ts';
import { MFAContext } from './context.ts';
import { beginEnrollment, completeEnrollment } from './enrollment.ts';
import * as factors from './factors.ts';
import { resync, verify } from './login.ts';
import { regenerateRecoveryCodes, useRecoveryCode } from './recovery-codes.ts';
import type {
  BeginEnrollmentOptions,
  BeginEnrollmentResult,
  CompleteEnrollmentResult,
  FactorInfo,
  ImportFactorOptions,
  ImportFactorResult,
  MFA,
  MFAOptions,
  MFAStatus,
  ReencryptSecretResult,
  RegenerateRecoveryCodesResult,
  RemoveFactorResult,
  RenameFactorResult,
  ResyncResult,
  UseRecoveryCodeResult,
  VerifyResult,
} from './types.ts';

class MFAService implements MFA {
  readonly #ctx: MFAContext;

  constructor(options: MFAOptions) {
    this.#ctx = new MFAContext(options);
  }

  beginEnrollment(userId: string, options: BeginEnrollmentOptions): Promise<BeginEnrollmentResult> {
    return beginEnrollment(this.#ctx, userId, options);
  }

  completeEnrollment(
    userId: string,
    code1: string,
    code2: string,
  ): Promise<CompleteEnrollmentResult> {
    return completeEnrollment(this.#ctx, userId, code1, code2);
  }

  verify(userId: string, code: string): Promise<VerifyResult> {
    return verify(this.#ctx, userId, code);
  }

  resync(userId: string, code1: string, code2: string): Promise<ResyncResult> {
    return resync(this.#ctx, userId, code1, code2);
  }

  useRecoveryCode(userId: string, code: string): Promise<UseRecoveryCodeResult> {
    return useRecoveryCode(this.#ctx, userId, code);
  }

  regenerateRecoveryCodes(userId: string): Promise<RegenerateRecoveryCodesResult> {
    return regenerateRecoveryCodes(this.#ctx, userId);
  }

  listFactors(userId: string): Promise<FactorInfo[]> {
    return factors.listFactors(this.#ctx, userId);
  }

  renameFactor(userId: string, factorId: string, name: string): Promise<RenameFactorResult> {
    return factors.renameFactor(this.#ctx, userId, factorId, name);
  }

  removeFactor(userId: string, factorId: string): Promise<RemoveFactorResult> {
    return factors.removeFactor(this.#ctx, userId, factorId);
  }

  importFactor(userId: string, options: ImportFactorOptions): Promise<ImportFactorResult> {
    return factors.importFactor(this.#ctx, userId, options);
  }

  status(userId: string): Promise<MFAStatus> {
    return account.status(this.#ctx, userId);
  }

  disable(userId: string): Promise<boolean> {
    return account.disable(this.#ctx, userId);
  }

  deleteUserData(userId: string): Promise<boolean> {
    return account.deleteUserData(this.#ctx, userId);
  }

  unlock(userId: string, scope?: ThrottleScope): Promise<void> {
    return account.unlock(this.#ctx, userId, scope);
  }

  reencryptSecret(userId: string): Promise<ReencryptSecretResult> {
    return account.reencryptSecret(this.#ctx, userId);
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
