/**
 * The trailing options object every service method accepts ({@link
 * CallOptions}: the request context for its events), and the options of the
 * calls around the factors: remembering a device at `verify`, the admin reset.
 * @module
 */
import type { VerificationPurpose } from './account-types.ts';
import type { RequestContext } from './request-context.ts';

/**
 * The trailing options of every {@link MFA} method.
 *
 * @example
 * ```ts fragment
 * import { createMFA } from 'totpkit';
 * const context = { ip: '203.0.113.7', userAgent: 'Mozilla/5.0', requestId: 'req-81f2' };
 * await mfa.verify(user.id, code, { context }); // every event of this call has event.context
 * ```
 */
export interface CallOptions {
  /**
   * Your request context (an IP, a user agent, a request id, an actor, …):
   * a JSON-safe value (plain objects, arrays, strings, finite numbers,
   * booleans, `null`), nested at most 8 levels deep, at most 4096 bytes as
   * UTF-8 JSON. Every event the call emits carries a deep-frozen copy as
   * `event.context`. The library never stores it and never reads it: it does
   * not change any decision (throttling stays per user; see "Per-IP limits"
   * in docs/security-model.md). A value past a bound is a `RangeError`, one
   * that is not JSON-safe a `TypeError`, both naming `options.context`.
   */
  context?: RequestContext;
}

/** What {@link VerifyOptions.rememberDevice} takes. */
export interface RememberDeviceOptions {
  /**
   * A name for the device, shown in {@link MFA.listRememberedDevices} (e.g.
   * "Firefox on Linux", from the user agent): 1–64 characters, no control or
   * format characters.
   */
  name: string;
}

/** Options of {@link MFA.verify}. */
export interface VerifyOptions extends CallOptions {
  /**
   * Remember this device after a successful code: the result then has
   * `device: { token, id, expiresAt }` (or `device: null` if the user's
   * factors changed while the call ran). The token lets later sign-ins skip
   * the second factor through {@link MFA.checkRememberedDevice} until its
   * absolute expiry (`policy.rememberedDevices.ttlMs`, default 30 days) or
   * the next factor change, whichever comes first.
   */
  rememberDevice?: RememberDeviceOptions;
  /**
   * Make a proof of kind `'totp'` for this purpose after a successful code:
   * the result then has `proof` (single use, for `{ proof }` of the call it
   * authorises) and `proofExpiresAt`, or `proof: null` if the user's factors
   * changed while the call ran (ask for a code again). The code's step is
   * used up as at any login.
   */
  proofFor?: VerificationPurpose;
}

/** Options of {@link MFA.useRecoveryCode}. */
export interface UseRecoveryCodeOptions extends CallOptions {
  /**
   * Make a proof of kind `'recovery'` for this purpose after a right code
   * (which is used up): see {@link VerifyOptions.proofFor}.
   */
  proofFor?: VerificationPurpose;
}

/**
 * Options of the sensitive calls {@link MFA.removeFactor},
 * {@link MFA.regenerateRecoveryCodes} and {@link MFA.disable}.
 */
export interface ProofOptions extends CallOptions {
  /**
   * A proof for the call's purpose (`'remove_factor'`,
   * `'regenerate_recovery_codes'`, `'disable'`), consumed in the same store
   * op as the change, only if the change is made. Needed as
   * `policy.proofs.required` says (by default, once the user has a factor,
   * one from `verify` or `useRecoveryCode` with `{ proofFor }`).
   */
  proof?: string;
}

/** Options of {@link MFA.adminReset}. */
export interface AdminResetOptions extends CallOptions {
  /** Who resets the user (a support agent's id): 1–256 characters, no control characters. */
  actor: string;
  /** Why (a ticket reference, the check made): 1–1000 characters, no control characters. */
  reason: string;
}
