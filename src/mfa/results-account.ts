/**
 * What the calls around the factors return: remembered devices and the admin
 * reset (the factor flows' results are results.ts).
 * @module
 */

/**
 * A device remembered by {@link MFA.verify} with `rememberDevice`. `token` is
 * non-enumerable (left out of `JSON.stringify`, `console.log` and spreads, as
 * secrets are): read it directly and set it as a long-lived, `HttpOnly`,
 * `Secure` cookie; the library keeps only its hash.
 */
export interface RememberedDevice {
  /** The opaque token, 32 characters (base64url of 24 random bytes). Non-enumerable. */
  readonly token: string;
  /** The device's id, for {@link MFA.forgetRememberedDevice}. */
  readonly id: string;
  /** Its absolute expiry, Unix ms; using the device never extends it. */
  readonly expiresAt: number;
}

/**
 * The outcome of {@link MFA.checkRememberedDevice}. `ok: true`: the second
 * factor may be skipped for this sign-in. Refusals: `invalid` (no device of
 * this user has this token: never issued, forgotten, or another user's),
 * `expired` (past its absolute expiry; now removed), `revoked` (a factor
 * change or an admin reset since it was issued; now removed).
 */
export type CheckRememberedDeviceResult =
  | {
      /** The device is remembered and valid; its `lastUsedAt` is now. */
      ok: true;
      /** The device. */
      deviceId: string;
      /** The current security generation (bind the new session to it). */
      generation: number;
    }
  | {
      /** Ask for the second factor. */
      ok: false;
      /** Why. */
      reason: 'invalid' | 'expired' | 'revoked';
    };

/** A remembered device as {@link MFA.listRememberedDevices} describes it: never the token or its hash. */
export interface RememberedDeviceInfo {
  /** Its id. */
  id: string;
  /** The name the app gave it at `verify` (e.g. from the user agent). */
  name: string;
  /** When it was issued, Unix ms. */
  createdAt: number;
  /** When it last let a sign-in skip the second factor, Unix ms, or `null`. */
  lastUsedAt: number | null;
  /** Its absolute expiry, Unix ms. */
  expiresAt: number;
}

/** The outcome of {@link MFA.adminReset}. */
export interface AdminResetResult {
  /**
   * Whether anything was reset; `false` (nothing written) when the user had
   * no factor, pending enrollment, recovery codes, remembered device, proof,
   * verification code or throttle failure.
   */
  reset: boolean;
  /** The security generation afterwards (one more than before when `reset`). */
  generation: number;
}
