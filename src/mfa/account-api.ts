/**
 * The service's calls around the factors: remembered devices and the admin
 * reset. {@link MFA} has them all; they are listed here so that each file of
 * the interface reads in one sitting.
 * @module
 */
import type { AdminResetOptions, CallOptions } from './call-options.ts';
import type {
  AdminResetResult,
  CheckRememberedDeviceResult,
  RememberedDeviceInfo,
} from './results-account.ts';

/** Remembered devices and the admin reset; part of {@link MFA}. */
export interface MFAAccountMethods {
  /**
   * Checks a remembered-device token (from `verify` with `rememberDevice`):
   * whether this sign-in may skip the second factor. The token's hash is
   * compared in constant time with each of the user's devices, so a token
   * issued to another user never passes. A device passes only before its
   * absolute expiry (using it never extends it) and only in the security
   * generation it was issued in: any factor change or admin reset since
   * revokes it. An expired or revoked device is removed, with an event.
   *
   * The answer is decided on the account version it writes (`lastUsedAt`, or
   * the removal): a {@link MFAAccountMethods.forgetRememberedDevices} that
   * committed first wins.
   *
   * @param userId - the user the token was issued to (from the password step)
   * @param token - the token as the device sent it (a cookie)
   * @param options - `context` for the events
   * @returns `{ ok: true, deviceId, generation }` or `{ ok: false, reason:
   *   'invalid' | 'expired' | 'revoked' }`
   * @throws TypeError if `token` is not a string; {@link MFAError}
   *   `'ERR_STORE'`, `'ERR_ERASED'`
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * const device = await mfa.checkRememberedDevice(user.id, typed); // the device cookie
   * if (device.ok) signIn(user); // bind the session to device.generation
   * else say('Enter the code from your authenticator app.');
   * ```
   */
  checkRememberedDevice(
    userId: string,
    token: string,
    options?: CallOptions,
  ): Promise<CheckRememberedDeviceResult>;

  /**
   * Lists the user's remembered devices that can still pass (unexpired, of
   * the current generation), oldest first: names and times, never a token
   * or its hash.
   *
   * @param userId - the user
   * @param options - `context` (this call emits no event)
   * @returns the devices (empty if none)
   * @throws {@link MFAError} `'ERR_STORE'`
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * for (const d of await mfa.listRememberedDevices(user.id)) console.log(d.name, d.expiresAt);
   * ```
   */
  listRememberedDevices(userId: string, options?: CallOptions): Promise<RememberedDeviceInfo[]>;

  /**
   * Forgets one remembered device: its token stops passing.
   *
   * @param userId - the user
   * @param deviceId - the device's id (from {@link MFAAccountMethods.listRememberedDevices})
   * @param options - `context` for the event
   * @returns whether a device that could still pass was forgotten
   * @throws TypeError for an invalid `deviceId`; {@link MFAError} `'ERR_STORE'`, `'ERR_ERASED'`
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * const [oldest] = await mfa.listRememberedDevices(user.id);
   * if (oldest) await mfa.forgetRememberedDevice(user.id, oldest.id);
   * ```
   */
  forgetRememberedDevice(userId: string, deviceId: string, options?: CallOptions): Promise<boolean>;

  /**
   * Forgets every remembered device of the user ("sign out everywhere").
   * Once it returns, no token of the user passes, including against checks
   * that were in flight.
   *
   * @param userId - the user
   * @param options - `context` for the event
   * @returns how many devices that could still pass were forgotten
   * @throws {@link MFAError} `'ERR_STORE'`, `'ERR_ERASED'`
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * const count = await mfa.forgetRememberedDevices(user.id);
   * ```
   */
  forgetRememberedDevices(userId: string, options?: CallOptions): Promise<number>;

  /**
   * Support's reset of a user who lost their factors, in one atomic store
   * step: removes every factor, the pending enrollment, the recovery codes,
   * the remembered devices, live verification codes and proofs; resets both
   * throttle scopes (unlocks); moves the security generation by one (so
   * sessions bound to it end). Daily send counters of verification codes are
   * kept. Idempotent: a user with nothing to reset gets `{ reset: false }`
   * and nothing is written. Safe against the user's own calls at the same
   * moment: each either happened before the reset and is wiped by it, or is
   * judged again on the reset state. Verify the user's identity out of band
   * first (docs/support-runbook.md).
   *
   * Emits one `admin_reset` event with `actor`, `reason`, the generation and
   * the counts of what was removed.
   *
   * @param userId - the user
   * @param options - `actor` (who, 1–256 characters) and `reason` (why,
   *   1–1000 characters), neither with control characters; `context`
   * @returns `{ reset, generation }`
   * @throws TypeError / RangeError naming `actor` or `reason`;
   *   {@link MFAError} `'ERR_STORE'`, `'ERR_ERASED'`, `'ERR_CONTENDED'`
   * @example
   * ```ts fragment
   * import { createMFA } from 'totpkit';
   * await mfa.adminReset(userId, { actor: 'agent:jo', reason: 'ticket 4711: lost phone, ID checked' });
   * ```
   */
  adminReset(userId: string, options: AdminResetOptions): Promise<AdminResetResult>;
}
