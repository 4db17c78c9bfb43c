/**
 * The public types of the identity step: out-of-band verification codes
 * ({@link MFA.sendVerificationCode}, {@link MFA.checkVerificationCode}),
 * proofs ({@link MFA.useProof} and the `proof` options of the sensitive
 * calls) and showing a pending enrollment again ({@link MFA.pendingEnrollment}).
 * Their audit events are in `events.ts`.
 * @module
 */
/** A channel a verification code is sent over. */
export type VerificationChannel = 'email' | 'sms';

/**
 * What a verification code or a proof is for: one of the library's
 * sensitive calls, or an app's own purpose (`/^[a-z][a-z0-9_]{0,31}$/`,
 * e.g. `'change_email'`). A code or proof made for one purpose never passes
 * for another.
 */
export type VerificationPurpose =
  | 'enroll'
  | 'replace_factor'
  | 'remove_factor'
  | 'regenerate_recovery_codes'
  | 'disable'
  | (string & {});

/** What the app's `sender` is given: everything to deliver one code. */
export interface VerificationMessage {
  /** The user the code is for. */
  userId: string;
  /** `'email'` or `'sms'`. */
  channel: VerificationChannel;
  /** The address or phone number, exactly as the app passed it. */
  destination: string;
  /** The code to deliver: digits only. Never log it. */
  code: string;
  /** What the code is for. */
  purpose: VerificationPurpose;
  /** When it stops passing, Unix ms. */
  expiresAt: number;
}

/** The `verification` option of {@link createMFA}. */
export interface VerificationOptions {
  /**
   * Delivers a code (by e-mail, SMS, …): the library stores only a keyed
   * hash of it. If it throws or rejects, the code is taken back (no code is
   * live, no send counted) and the call throws `MFAError('ERR_SENDER')`.
   */
  sender: (message: VerificationMessage) => Promise<void>;
  /**
   * The HMAC key of the code hashes: at least 32 random bytes, the same on
   * every instance of the app (a code sent by one is checked by another).
   * Copied and kept only in memory, as a non-extractable WebCrypto key.
   * Losing it only invalidates the codes live at that moment.
   */
  key: Uint8Array;
}

/** Options of {@link MFA.sendVerificationCode}. */
export interface SendVerificationCodeOptions {
  /** `'email'` or `'sms'`. */
  channel: VerificationChannel;
  /**
   * Where to send it: 1–320 characters, no control characters; an e-mail
   * address must contain `@`, a phone number match `/^\+?[0-9 ()-]{4,32}$/`.
   * The library checks only this shape: that it belongs to the user is the
   * app's to know.
   */
  destination: string;
  /** What the code will prove. */
  purpose: VerificationPurpose;
}

/**
 * The outcome of {@link MFA.sendVerificationCode}. Refusals (nothing sent,
 * nothing written): `'cooldown'` (a code went to this destination less than
 * `policy.verificationCodes.resendCooldownMs` ago), `'daily_limit'` (the
 * destination's or the user's cap of sends per 24 hours is reached).
 * `retryAfterMs`: when a send can succeed again.
 */
export type SendVerificationCodeResult =
  | {
      /** The code was handed to the sender. */
      ok: true;
      /** When it stops passing, Unix ms. */
      expiresAt: number;
      /** Its digits, to size the input field. */
      codeLength: number;
    }
  | {
      /** Nothing was sent. */
      ok: false;
      /** Why. */
      reason: 'cooldown' | 'daily_limit';
      /** Milliseconds until a send can succeed. */
      retryAfterMs: number;
    };

/** Options of {@link MFA.checkVerificationCode}. */
export interface CheckVerificationCodeOptions {
  /** The purpose the code was sent for. */
  purpose: VerificationPurpose;
  /**
   * The destination the code must have been sent to. Optional: the live code
   * of the purpose is bound to its destination anyway; given, a code sent to
   * another destination is a `'wrong_code'`.
   */
  destination?: string;
}

/**
 * Why {@link MFA.checkVerificationCode} refused:
 *
 * - `'malformed'`: not `policy.verificationCodes.length` digits (spaces
 *   ignored); nothing was charged or read.
 * - `'wrong_code'`: not the live code (or not for `destination`).
 * - `'expired'`: the right code, too late; it is removed: send a new one.
 * - `'no_code'`: no live code for this purpose (none sent, or used, or
 *   removed).
 * - `'attempts_exhausted'`: this wrong attempt reached
 *   `maxAttemptsPerCode`; the code is removed: send a new one.
 * - `'throttled'`: the purpose's budget of attempts is spent for this window
 *   (no new code resets it); `retryAfterMs` says when it ends.
 *
 * Every answer but `'malformed'` and `'throttled'` charged one attempt to the
 * purpose's budget, whoever the user is and whatever they have.
 */
export type CheckVerificationCodeFailure =
  'malformed' | 'wrong_code' | 'expired' | 'no_code' | 'attempts_exhausted' | 'throttled';

/** The outcome of {@link MFA.checkVerificationCode}. */
export type CheckVerificationCodeResult =
  | {
      /** The code was right: it is used up. */
      ok: true;
      /**
       * A single-use proof of kind `'verification'` for the purpose, to pass
       * as `{ proof }` to the call it authorises (or to {@link MFA.useProof}).
       * Opaque, 32 characters; stored only hashed.
       */
      proof: string;
      /** When the proof expires, Unix ms (`policy.proofs.ttlMs` after now). */
      expiresAt: number;
    }
  | {
      /** The code was not accepted. */
      ok: false;
      /** See {@link CheckVerificationCodeFailure}. */
      reason: Exclude<CheckVerificationCodeFailure, 'throttled'>;
    }
  | {
      /** The code was not checked. */
      ok: false;
      /** The budget is spent. */
      reason: 'throttled';
      /** Milliseconds until the window ends. */
      retryAfterMs: number;
    };

/** Options of {@link MFA.useProof}. */
export interface UseProofOptions {
  /** The app's purpose the proof must have been made for. */
  purpose: VerificationPurpose;
}

/** Options of {@link MFA.pendingEnrollment}. */
export interface PendingEnrollmentOptions {
  /** The account name for the URI, as given to `beginEnrollment`. No colon. */
  accountName: string;
}

/**
 * The unexpired pending enrollment, shown again: `secret` (base32) and `uri`
 * are non-enumerable, as in `beginEnrollment`'s result, so logging the
 * object does not print them.
 */
export interface PendingEnrollmentInfo {
  /** The id the factor will have once bound. */
  factorId: string;
  /** The secret, base32 (non-enumerable). */
  readonly secret: string;
  /** The `otpauth://` URI for the QR code (non-enumerable). */
  readonly uri: string;
  /** When it expires, Unix ms. */
  expiresAt: number;
}

/**
 * A destination as events show it: an e-mail's first character and domain
 * (`a•••@example.com`), a phone number's last two digits (`•••••89`).
 */
export type MaskedDestination = string;
