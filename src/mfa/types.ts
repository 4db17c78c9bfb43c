/**
 * The service's interface: {@link createMFA}'s options and the {@link MFA}
 * interface, each method with its contract. What the methods return is
 * results.ts.
 * @module
 */
import type { MFAIdentityMethods } from './identity-api.ts';
import type { VerificationOptions } from './account-types.ts';
import type { HashAlgorithm } from '../_assert.ts';
import type { FactorParams, MFAStore, ThrottleScope } from '../store/contract.ts';
import type { MFAAccountMethods } from './account-api.ts';
import type {
  CallOptions,
  ProofOptions,
  UseRecoveryCodeOptions,
  VerifyOptions,
} from './call-options.ts';
import type { RequestContext } from './request-context.ts';
import type { SecretCipher } from './cipher.ts';
import type { MFAEvent } from './events.ts';
import type { MFAPolicyOptions } from './policy.ts';
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

/** Options for {@link createMFA}. */
export interface MFAOptions {
  /** Where enrollments, factors, recovery code hashes and throttle state live. */
  store: MFAStore;
  /** The service name authenticator apps show, e.g. `'Acme'`. No colon. */
  issuer: string;
  /**
   * Seals secrets at rest: {@link createAESGCMCipher}, your own
   * {@link SecretCipher}, or, as an explicit choice, {@link plaintextCipher}.
   */
  cipher: SecretCipher;
  /** Returns the time in Unix ms; read once per call. Default `Date.now`. */
  clock?: () => number;
  /** Overrides of {@link DEFAULT_MFA_POLICY}. */
  policy?: MFAPolicyOptions;
  /**
   * Parameters of new factors: `algorithm` (default `'SHA1'`, the only one every
   * app supports), `digits` (6), `period` (30 s; 10 to 120, the periods
   * authenticator apps use). Existing factors keep theirs.
   */
  totp?: Partial<FactorParams>;
  /**
   * Receives audit events, synchronously, after the store write they report.
   * If it throws, the call rejects with that error after the write has
   * happened. If it returns a promise (an `async` handler), the call does not
   * wait for it; a rejection goes to `onEventError`, so it neither ends the
   * process as an unhandled rejection nor vanishes.
   */
  onEvent?: (event: MFAEvent) => void;
  /**
   * Receives the rejection of a promise returned by `onEvent`, with the event
   * it was given. Default: the error is written with `console.error`. If this
   * handler throws, that error is written with `console.error` too.
   */
  onEventError?: (error: unknown, event: MFAEvent) => void;
  /**
   * Out-of-band verification codes: the app's `sender` and the codes' HMAC
   * `key` (at least 32 bytes). Needed by {@link MFA.sendVerificationCode} and
   * {@link MFA.checkVerificationCode} only.
   */
  verification?: VerificationOptions;
}

/** Options for {@link MFA.beginEnrollment}. */
export interface BeginEnrollmentOptions {
  /** The account as the authenticator app shows it, e.g. the user's email. No colon. */
  accountName: string;
  /**
   * The new factor's name, unique among the user's factors (compared after
   * NFKC and case folding), 1–64 characters, no control or format characters (zero-width, bidi controls). Default
   * "Authenticator", or "Authenticator 2", … the first one free.
   */
  name?: string;
  /**
   * An active factor to remove in the same atomic step that binds the new one
   * ("I replaced my phone"). Re-authenticate the user first.
   */
  replaceFactorId?: string;
  /**
   * A proof for `'enroll'` (or `'replace_factor'` with `replaceFactorId`),
   * consumed by this call in the same store op that stores the enrollment.
   * Under the default `policy.proofs` (`'seed'`): for a first enrollment a
   * proof from {@link MFA.checkVerificationCode}; once the user has a factor,
   * one from `verify` or `useRecoveryCode` with `{ proofFor }`.
   */
  proof?: string;
  /** Your request context for the events (see {@link CallOptions.context}). */
  context?: RequestContext;
}
/** Options for {@link MFA.importFactor}: `secret` or `uri`, not both. */
export interface ImportFactorOptions {
  /** The existing secret: bytes, or base32 text (case, spaces and padding as `decodeBase32` allows). */
  secret?: Uint8Array | string;
  /** An `otpauth://totp/` key URI holding the secret and its parameters. */
  uri?: string;
  /** The factor's name (as in {@link BeginEnrollmentOptions.name}). */
  name?: string;
  /** HMAC hash; default the URI's, else `'SHA1'`. */
  algorithm?: HashAlgorithm;
  /** Code length; default the URI's, else 6. */
  digits?: 6 | 7 | 8;
  /** Time step in seconds, 10 to 120 (the periods authenticator apps use); default the URI's, else 30. */
  period?: number;
  /**
   * The last time step the old system accepted (RFC 6238's T, in the
   * factor's own period), carried over so that a code used there cannot be
   * used again here; -1 for none. At most the factor's current step plus
   * `policy.window` (the furthest step a code can be accepted at now): a
   * later one would make a factor that never verifies.
   *
   * Default: that furthest step. The factor then accepts no code of a step at
   * or before the import's current step plus `policy.window`, so that no code
   * the old system, or an earlier copy of this factor that was removed, may
   * have accepted up to the import is accepted again; the user's first code
   * is one of a later step (with `window` 1, up to about a minute after the
   * import).
   */
  lastStep?: number;
  /**
   * Whether to make recovery codes when this is the user's first factor;
   * default `false`: imported users never see codes made for them, so none
   * are made, `status().recoveryCodesRemaining` is 0, and the user makes a
   * set with {@link MFA.regenerateRecoveryCodes} after signing in. `true`
   * makes the user's first set (returned once in `recoveryCodes`, as at a
   * first enrollment) for an import the user watches; a user who already
   * has a factor keeps the set they have either way.
   */
  recoveryCodes?: boolean;
  /** Your request context for the events (see {@link CallOptions.context}). */
  context?: RequestContext;
}

/** The service returned by {@link createMFA}. All methods are safe to call concurrently. */
export interface MFA extends MFAAccountMethods, MFAIdentityMethods {
  /**
   * Starts (or restarts) an enrollment of a factor: a new secret, sealed and
   * stored as pending until two consecutive codes bind it (see
   * {@link MFA.completeEnrollment}), whether or not the user has active
   * factors. There is one pending enrollment per user: a previous one is
   * replaced (if unexpired, its sealed secret is kept until its own expiry,
   * so that its codes are recognised as `'stale_qr'`). For a user who already
   * has a factor, re-authenticate first: pass `proof`, which
   * `policy.proofs` requires by default (`'seed'`: a verification code's
   * for a first factor, one from a current factor after that).
   *
   * @param userId - your stable user id: 1–256 characters of well-formed
   *   Unicode (no lone surrogate, which would reach the stores as U+FFFD, the
   *   same bytes as another id), without U+0000 or U+FFFD; the same rule for
   *   every method, and every built-in store checks it too
   * @param options - `accountName`, and optionally the factor's `name` and a
   *   `replaceFactorId` to remove when this one is bound
   * @returns `{ factorId, secret, uri, expiresAt }`; `secret` and `uri` are non-enumerable
   * @throws TypeError / RangeError for an invalid argument; {@link MFAError}
   *   `'ERR_FACTOR_LIMIT'` (the user has `policy.maxFactors` factors and none
   *   is replaced), `'ERR_PROOF'` (the proof policy refused; nothing
   *   written), `'ERR_CONTENDED'`, `'ERR_NAME_TAKEN'`, `'ERR_FACTOR_NOT_FOUND'` (no active
   *   factor `replaceFactorId`), `'ERR_STORE'`, `'ERR_CIPHER'`, `'ERR_ERASED'`
   *   (the user's data was erased within `policy.erasureGuardMs`)
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * const { secret, uri, expiresAt } = await mfa.beginEnrollment(user.id, {
   *   accountName: user.email,
   * });
   * // show `uri` as a QR code and `secret` as text, then ask for two consecutive codes
   * ```
   */
  beginEnrollment(userId: string, options: BeginEnrollmentOptions): Promise<BeginEnrollmentResult>;

  /**
   * Binds the pending enrollment with two consecutive codes from the app
   * (searched within `bindingWindow` steps of now), measures the device clock's
   * offset, and issues recovery codes if this is the user's first factor.
   * The second code's step counts as used.
   *
   * When the codes are refused as not matching, the service searches further
   * to say why (each search runs only after the normal check refused, costs
   * the attempt like any refusal, and never accepts more): `existing_factor`,
   * `stale_qr`, `app_ignored_parameters`, `clock_skew` (see
   * {@link CompleteEnrollmentFailure}). With `policy.acceptAppParameters`,
   * codes that match the app's parameters inside the binding window bind the
   * factor with those parameters instead. Codes of 6 digits for a 7- or
   * 8-digit enrollment (or of another factor's length) reach this search
   * rather than being refused as `malformed`.
   *
   * @param userId - the user
   * @param code1 - the first code the app showed (spaces are ignored)
   * @param code2 - the code that followed it
   * @param options - `context` for the events
   * @returns `{ ok: true, factorId, generation, clockOffsetSeconds, parameters, recoveryCodes? }`
   *   or a refusal with a {@link CompleteEnrollmentFailure}
   * @throws TypeError if a code is not a string; {@link MFAError} `'ERR_STORE'`,
   *   `'ERR_CIPHER'`, `'ERR_ERASED'` (the data was erased while it ran)
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * const result = await mfa.completeEnrollment(user.id, form.code1, form.code2);
   * if (result.ok && result.recoveryCodes) showOnce(result.recoveryCodes);
   * else if (!result.ok && result.reason === 'same_code') say('Wait for the next code, then enter it.');
   * else if (!result.ok && result.reason === 'clock_skew') say(`Your phone's clock is ${result.skewSeconds} s off.`);
   * ```
   */
  completeEnrollment(
    userId: string,
    code1: string,
    code2: string,
    options?: CallOptions,
  ): Promise<CompleteEnrollmentResult>;

  /**
   * Checks a login code against every active factor: within `window` steps
   * of `now + drift`, not a step already used by that factor, inside the
   * attempt budget. One attempt is reserved before the check, however many
   * factors there are; the budget is shared out among them (`attemptLimit`).
   * Success records the step, so the same code never works twice.
   *
   * A refused code gets no diagnosis: even one that would match a factor
   * far outside the window (a skewed clock) or under other parameters is a
   * plain `'mismatch'`. A single code is too weak a signal (a random code
   * matches one of the 5,761 steps of ±24 h with odds of about 1 in 170), so saying more
   * would turn `verify` into an oracle for guessing. Diagnoses need two
   * consecutive codes: {@link MFA.completeEnrollment} and {@link MFA.resync}.
   *
   * @param userId - the user
   * @param code - the code as typed (surrounding and inner spaces are ignored)
   * @param options - `proofFor` (make a single-use proof of kind `'totp'`
   *   for a sensitive call), `rememberDevice: { name }` to issue a
   *   remembered-device token on success (`device` in the result), `context`
   * @returns `{ ok: true, factorId, generation, device?, proof?, proofExpiresAt? }`
   *   or a refusal with a {@link VerifyFailure}
   * @throws TypeError if `code` is not a string; {@link MFAError} `'ERR_STORE'`,
   *   `'ERR_CIPHER'` (never `ok: true` unless the step was recorded),
   *   `'ERR_ERASED'` (the data was erased while it ran)
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * const result = await mfa.verify(user.id, '123 456');
   * if (result.ok) signIn(user);
   * else if (result.reason === 'throttled') say(`Try again in ${Math.ceil(result.retryAfterMs / 1000)} s`);
   * ```
   */
  verify(userId: string, code: string, options?: VerifyOptions): Promise<VerifyResult>;

  /**
   * Measures a drifted device clock again from two consecutive codes (as at
   * binding) and records their steps as used. Use it after `'resync_required'`
   * or repeated `'mismatch'` from a user whose codes look right.
   *
   * If the codes match no factor inside `bindingWindow` but two consecutive
   * steps of one factor within `policy.skewSearch`, the refusal is
   * `'clock_skew'` with `skewSeconds`: nothing is recorded, and the attempt
   * counts like any refusal. `existing_factor` does not apply here: every
   * factor of the user is checked.
   *
   * @param userId - the user
   * @param code1 - a code
   * @param code2 - the code that followed it
   * @param options - `context` for the events
   * @returns `{ ok: true, factorId, drift, clockOffsetSeconds }` (the factor the
   *   codes belong to) or a refusal with a {@link ResyncFailure}
   * @throws TypeError if a code is not a string; {@link MFAError} `'ERR_STORE'`, `'ERR_CIPHER'`,
   *   `'ERR_ERASED'` (the data was erased while it ran)
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * const result = await mfa.resync(user.id, form.code1, form.code2);
   * ```
   */
  resync(
    userId: string,
    code1: string,
    code2: string,
    options?: CallOptions,
  ): Promise<ResyncResult>;

  /**
   * Spends one recovery code: one KDF evaluation, compared with every unused
   * hash, then removed atomically (single use under concurrency). Success also
   * resets both throttle scopes, so it unlocks a locked user. Recovery codes
   * have their own attempt budget.
   *
   * @param userId - the user
   * @param code - the code as typed (case, spaces and dashes are ignored)
   * @param options - `proofFor` (make a single-use proof of kind
   *   `'recovery'` for a sensitive call), `context`
   * @returns `{ ok: true, remaining, generation, proof?, proofExpiresAt? }` or a
   *   refusal with a {@link RecoveryCodeFailure}
   * @throws TypeError if `code` is not a string; {@link MFAError} `'ERR_STORE'`,
   *   `'ERR_ERASED'` (the data was erased while it ran)
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * const result = await mfa.useRecoveryCode(user.id, 'abcd efgh jkmn');
   * if (result.ok && result.remaining < 3) suggestNewCodes();
   * ```
   */
  useRecoveryCode(
    userId: string,
    code: string,
    options?: UseRecoveryCodeOptions,
  ): Promise<UseRecoveryCodeResult>;

  /**
   * Issues a new set of recovery codes, replacing (invalidating) the old set.
   * Needs a proof for `'regenerate_recovery_codes'` as `policy.proofs`
   * says (by default one from a current factor).
   *
   * @param userId - the user
   * @param options - `proof`, `context`
   * @returns `{ ok: true, generation, recoveryCodes }` (`recoveryCodes` non-enumerable) or
   *   `{ ok: false, reason: 'not_enrolled' }`
   * @throws {@link MFAError} `'ERR_PROOF'` (nothing written), `'ERR_STORE'`, `'ERR_CONTENDED'`
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * const result = await mfa.regenerateRecoveryCodes(user.id);
   * if (result.ok) showOnce(result.recoveryCodes);
   * ```
   */
  regenerateRecoveryCodes(
    userId: string,
    options?: ProofOptions,
  ): Promise<RegenerateRecoveryCodesResult>;

  /**
   * Reads a user's state.
   *
   * @param userId - the user
   * @param options - `context` (this call emits no event)
   * @returns the {@link MFAStatus}, with the security `generation`
   * @throws {@link MFAError} `'ERR_STORE'`
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * const { state } = await mfa.status(user.id); // 'none' | 'pending' | 'active'
   * ```
   */
  status(userId: string, options?: CallOptions): Promise<MFAStatus>;

  /**
   * Removes every factor, any pending enrollment and the recovery codes.
   * Throttle state is kept, so disabling does not lift a lock (use
   * {@link MFA.deleteUserData} to erase everything). Needs a proof for
   * `'disable'` as `policy.proofs` says (by default one from a current
   * factor), judged only if there is anything to remove.
   *
   * @param userId - the user
   * @param options - `proof`, `context`
   * @returns `{ disabled, generation }`: whether there was anything to remove
   *   (the generation then moved by one), and the generation afterwards
   * @throws {@link MFAError} `'ERR_PROOF'` (nothing written), `'ERR_STORE'`, `'ERR_CONTENDED'`
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * const { disabled, generation } = await mfa.disable(user.id);
   * ```
   */
  disable(userId: string, options?: ProofOptions): Promise<DisableResult>;

  /**
   * Admin unlock: resets the throttle of one scope, or both.
   *
   * @param userId - the user
   * @param scope - `'otp'` or `'recovery'`; default both
   * @param options - `context` for the event
   * @returns when done
   * @throws RangeError for an unknown scope; {@link MFAError} `'ERR_STORE'`
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * await mfa.unlock(userId); // after verifying the user's identity out of band
   * ```
   */
  unlock(userId: string, scope?: ThrottleScope, options?: CallOptions): Promise<void>;

  /**
   * Seals the user's secrets again, every active factor's, the pending
   * enrollment's and that of the unexpired enrollment it replaced (kept to
   * recognise a stale QR code), where the cipher says they are not under the current key
   * (`needsReencryption`), e.g. after a key rotation. Run it over all your
   * users (see "Key rotation" in docs/security-model.md for a sweep that
   * misses no one).
   *
   * @param userId - the user
   * @param options - `context` for the event
   * @returns `{ ok: true, reencrypted, count }` or `{ ok: false, reason: 'not_enrolled' }`
   * @throws {@link MFAError} `'ERR_STORE'`, `'ERR_CIPHER'`
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * for (const id of userIds) await mfa.reencryptSecret(id);
   * ```
   */
  reencryptSecret(userId: string, options?: CallOptions): Promise<ReencryptSecretResult>;

  /**
   * Lists the user's active factors, without any secret, ordered by `createdAt`.
   *
   * @param userId - the user
   * @param options - `context` (this call emits no event)
   * @returns the factors (empty if none)
   * @throws {@link MFAError} `'ERR_STORE'`
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * for (const f of await mfa.listFactors(user.id)) console.log(f.name, f.lastUsedAt);
   * ```
   */
  listFactors(userId: string, options?: CallOptions): Promise<FactorInfo[]>;

  /**
   * Renames a factor. The name must be unique among the user's factors
   * (compared after NFKC and case folding).
   *
   * @param userId - the user
   * @param factorId - the factor
   * @param name - 1–64 characters, well-formed, no control or format characters (Unicode Cc, Cf)
   * @param options - `context` for the event
   * @returns `{ ok: true }` or `{ ok: false, reason: 'not_found' | 'name_taken' }`
   * @throws TypeError / RangeError for an invalid name; {@link MFAError} `'ERR_STORE'`
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * await mfa.renameFactor(user.id, factorId, 'Work phone');
   * ```
   */
  renameFactor(
    userId: string,
    factorId: string,
    name: string,
    options?: CallOptions,
  ): Promise<RenameFactorResult>;

  /**
   * Removes one factor ("I lost my tablet"). Removing the last one turns
   * two-factor sign-in off and deletes the recovery codes and any pending
   * enrollment, exactly like {@link MFA.disable}. Needs a proof for
   * `'remove_factor'` as `policy.proofs` says (by default one from a
   * current factor), judged only if the factor is active.
   *
   * @param userId - the user
   * @param factorId - the factor
   * @param options - `proof`, `context`
   * @returns `{ ok: true, remaining, generation }` or `{ ok: false, reason: 'not_found' }`
   * @throws {@link MFAError} `'ERR_PROOF'` (nothing written), `'ERR_STORE'`, `'ERR_CONTENDED'`
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * const result = await mfa.removeFactor(user.id, factorId);
   * if (result.ok && result.remaining === 0) say('Two-factor sign-in is off.');
   * ```
   */
  removeFactor(
    userId: string,
    factorId: string,
    options?: ProofOptions,
  ): Promise<RemoveFactorResult>;

  /**
   * Binds an existing secret (from otplib, otpauth, speakeasy, …) as an active
   * factor without asking for codes, sealed with the service's cipher. It
   * counts against `policy.maxFactors`. A secret shorter than 10 bytes (80
   * bits) is refused; one shorter than 16 bytes is accepted and flagged
   * `weak` (ask the user to enroll a new factor later).
   *
   * No recovery codes are made unless `recoveryCodes: true` (the user never
   * sees codes made during a migration). Without `lastStep`, the factor
   * accepts no code of a step at or before the import's current step plus
   * `policy.window`, so a code accepted before the import is not accepted
   * again.
   *
   * A secret enters once per user: importing a secret that is already one of
   * the user's factors writes nothing and answers `{ ok: true, factorId: <that
   * factor>, alreadyImported: true }`, whatever the name or parameters given,
   * so a re-run import is idempotent (no event, no recovery codes). This holds
   * under concurrent imports too (the store compares a per-user digest of the
   * secret in the same atomic step); factors bound by 0.2, which have no
   * digest, are compared by opening them.
   *
   * @param userId - the user
   * @param options - `secret` (bytes or base32) or `uri`, and optionally
   *   `name`, `algorithm`, `digits`, `period`, `lastStep` and `recoveryCodes`
   * @returns `{ ok: true, factorId, weak, alreadyImported, recoveryCodes? }` or a refusal
   * @throws TypeError / RangeError for invalid options (neither or both of
   *   `secret` and `uri`, a short secret, a URI that is not `otpauth://totp/`
   *   or whose parameters contradict the options, a `lastStep` beyond the
   *   current step plus `policy.window`); {@link MFAError} `'ERR_STORE'`,
   *   `'ERR_CIPHER'` (also when a 0.2 factor it must compare cannot be
   *   opened), `'ERR_ERASED'` (the user's data was erased within
   *   `policy.erasureGuardMs`)
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * const result = await mfa.importFactor(row.userId, { secret: row.base32Secret });
   * ```
   */
  importFactor(userId: string, options: ImportFactorOptions): Promise<ImportFactorResult>;

  /**
   * Erasure: removes everything the store holds for the user, factors,
   * pending enrollment, recovery codes and throttle state (unlike
   * {@link MFA.disable}, which keeps a lock).
   *
   * Erasure is final: for `policy.erasureGuardMs` (default 1 hour) afterwards
   * no call creates any state for this user id. A call that was in flight
   * when the data was erased, or a new one in that time, that would write
   * (an enrollment, an import, a code check's attempt) writes nothing and
   * rejects with `MFAError('ERR_ERASED')`; calls that would write nothing
   * answer as for a user without state. A call in flight for longer than
   * `erasureGuardMs` is the stated limit.
   *
   * @param userId - the user
   * @param options - `context` for the event
   * @returns whether there was anything to remove
   * @throws {@link MFAError} `'ERR_STORE'`
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * await mfa.deleteUserData(user.id); // the account is being deleted
   * ```
   */
  deleteUserData(userId: string, options?: CallOptions): Promise<boolean>;
}
