/**
 * The service's identity step: out-of-band verification codes, proofs for
 * an app's own purposes, and showing a pending enrollment again. {@link MFA}
 * has them all; they are listed here so that each file of the interface
 * reads in one sitting.
 * @module
 */
import type {
  CheckVerificationCodeOptions,
  CheckVerificationCodeResult,
  PendingEnrollmentInfo,
  PendingEnrollmentOptions,
  SendVerificationCodeOptions,
  SendVerificationCodeResult,
  UseProofOptions,
} from './account-types.ts';
import type { CallOptions } from './call-options.ts';

/** Verification codes, proofs and the pending enrollment; part of {@link MFA}. */
export interface MFAIdentityMethods {
  /**
   * Sends a verification code to the user's e-mail address or phone, through
   * the app's `verification.sender`: the identity step before a first
   * enrollment (purpose `'enroll'`), or before any of the app's own actions
   * (its own purpose). A new code replaces the purpose's earlier one (one
   * live code per user and purpose). Nothing is sent inside the resend
   * cooldown or over a daily cap (`policy.verificationCodes`). The answer is
   * the same whether or not the user exists or has a factor.
   *
   * @param userId - the user (from your session)
   * @param options - `channel`, `destination` (the user's own address or
   *   number, which only the app can vouch for), `purpose`, `context`
   * @returns `{ ok: true, expiresAt, codeLength }`, or `{ ok: false, reason:
   *   'cooldown' | 'daily_limit', retryAfterMs }` (nothing sent)
   * @throws TypeError if the service was created without `verification`, or
   *   for an invalid argument (the field named); {@link MFAError}
   *   `'ERR_SENDER'` (the sender failed: no code is live, no send counted),
   *   `'ERR_STORE'`, `'ERR_ERASED'`, `'ERR_CONTENDED'`
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * const sent = await mfa.sendVerificationCode(user.id, {
   *   channel: 'email',
   *   destination: user.email,
   *   purpose: 'enroll',
   * });
   * if (!sent.ok) say(`Try again in ${Math.ceil(sent.retryAfterMs / 1000)} s.`);
   * ```
   */
  sendVerificationCode(
    userId: string,
    options: SendVerificationCodeOptions & CallOptions,
  ): Promise<SendVerificationCodeResult>;

  /**
   * Checks a verification code. One attempt is charged to the purpose's
   * budget (and the live code's attempts) in the same store write that
   * decides the answer, before it is returned, so parallel guesses never
   * exceed either cap; neither a new code nor a success resets the budget.
   * A right code is used up and yields a single-use proof of kind
   * `'verification'` for the purpose.
   *
   * @param userId - the user
   * @param code - what the user typed (spaces ignored)
   * @param options - `purpose`, optionally `destination`, `context`
   * @returns `{ ok: true, proof, expiresAt }` or a refusal with a
   *   {@link CheckVerificationCodeFailure} (`retryAfterMs` with `'throttled'`)
   * @throws TypeError if the service was created without `verification`, if
   *   `code` is not a string, or for an invalid option; {@link MFAError}
   *   `'ERR_STORE'`, `'ERR_ERASED'`, `'ERR_CONTENDED'`
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * const checked = await mfa.checkVerificationCode(user.id, form.code, { purpose: 'enroll' });
   * if (checked.ok) {
   *   const { uri } = await mfa.beginEnrollment(user.id, {
   *     accountName: user.email,
   *     proof: checked.proof,
   *   });
   * }
   * ```
   */
  checkVerificationCode(
    userId: string,
    code: string,
    options: CheckVerificationCodeOptions & CallOptions,
  ): Promise<CheckVerificationCodeResult>;

  /**
   * Consumes a proof for one of the app's own purposes (e.g. before changing
   * the account's e-mail address): `true` only for the one call that removed
   * an unexpired proof made for `purpose`, of any kind. A proof for another
   * purpose is not consumed. Check the kind you need yourself by choosing
   * how you make it (`checkVerificationCode`, or `verify` / `useRecoveryCode`
   * with `proofFor`).
   *
   * @param userId - the user
   * @param proof - the proof token
   * @param options - `purpose`, `context`
   * @returns whether the proof was valid and is now used
   * @throws TypeError if `proof` is not a string or `purpose` invalid;
   *   {@link MFAError} `'ERR_STORE'`, `'ERR_ERASED'`, `'ERR_CONTENDED'`
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * const checked = await mfa.checkVerificationCode(user.id, form.code, {
   *   purpose: 'change_email',
   * });
   * // … later, in the request that changes the address:
   * if (checked.ok && (await mfa.useProof(user.id, checked.proof, { purpose: 'change_email' }))) {
   *   say('Your e-mail address is changed.');
   * }
   * ```
   */
  useProof(userId: string, proof: string, options: UseProofOptions & CallOptions): Promise<boolean>;

  /**
   * The unexpired pending enrollment, shown again (after a reload or a
   * mistyped code): its `factorId`, `expiresAt`, and non-enumerable `secret`
   * and `uri`, the URI built as `beginEnrollment` builds it. Writes nothing.
   *
   * @param userId - the user
   * @param options - `accountName` (as given to `beginEnrollment`), `context`
   * @returns the enrollment, or `null` if none is pending or it expired
   * @throws TypeError / RangeError for an invalid `accountName`;
   *   {@link MFAError} `'ERR_STORE'`, `'ERR_CIPHER'`
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * const pending = await mfa.pendingEnrollment(user.id, { accountName: user.email });
   * if (pending) showQR(pending.uri);
   * ```
   */
  pendingEnrollment(
    userId: string,
    options: PendingEnrollmentOptions & CallOptions,
  ): Promise<PendingEnrollmentInfo | null>;
}
