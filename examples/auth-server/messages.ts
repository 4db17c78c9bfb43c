// The app's words for every refusal: what the service's `{ ok: false, reason }`
// results, a refused name, an unusable email address and a per-IP limit mean
// to the person at the form. Plain text; the html`` template escapes it.
import { MFAError } from 'totpkit';
import {
  clockOffsetWarning,
  diagnosisMessage,
  skewMessage,
  type CodeParameters,
} from './diagnosis.ts';

const plural = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? '' : 's'}`;

/** "3 seconds", "1 second", "2 minutes", "5 hours": how long to wait, in words. */
export function waitText(retryAfterMs: number): string {
  const seconds = Math.ceil(retryAfterMs / 1000);
  if (seconds < 90) return plural(seconds, 'second');
  const minutes = Math.ceil(seconds / 60);
  return minutes < 90 ? plural(minutes, 'minute') : plural(Math.ceil(minutes / 60), 'hour');
}

/** A refusal from the service, as far as the words need it. */
export type Refusal = { reason: string; retryAfterMs?: number; skewSeconds?: number };

/**
 * Two codes refused at binding or resync. The service diagnoses some
 * refusals (a phone clock hours off, an app that ignored the account's
 * settings, an older QR code, another authenticator's codes): those get
 * diagnosis.ts's words, which need the factor's parameters to say what the app
 * changed.
 */
export function bindingMessage(result: Refusal, factor?: CodeParameters): string {
  const diagnosed = factor === undefined ? null : diagnosisMessage(result, factor);
  if (diagnosed !== null) return diagnosed;
  switch (result.reason) {
    case 'clock_skew':
      return skewMessage(result.skewSeconds ?? 0);
    case 'malformed':
      return `Each code is ${factor?.digits ?? 6} digits. Type them exactly as your app shows them.`;
    case 'same_code':
      return 'Both boxes have the same code. Wait until your app shows a new code, then enter the code from before it in the first box and the new one in the second.';
    case 'wrong_order':
      return 'The codes are in the wrong order: put the older code in the first box and the newer one in the second.';
    case 'mismatch':
      return "These codes don't match. Check that your app shows the account you just added from this page, and that your phone sets its clock automatically.";
    case 'replayed':
      return 'These codes have already been used. Wait for your app to show two new codes.';
    case 'expired':
    case 'not_pending':
      return 'This setup has expired. Start again to get a new QR code.';
    default:
      return throttleMessage(result);
  }
}

/** After a resync: codes work again, but a clock still off will drift further. */
export function inSyncAgain(clockOffsetSeconds: number): string {
  const warning = clockOffsetWarning(clockOffsetSeconds);
  return `Your authenticator app is in sync again.${warning === null ? '' : ` ${warning}`}`;
}

/** The notice after a recovery code signed the user in. */
export function recoveryCodeAccepted(remaining: number): string {
  return `Recovery code accepted. You have ${plural(remaining, 'recovery code')} left.`;
}

export function verifyMessage(result: Refusal): string {
  switch (result.reason) {
    case 'malformed':
    case 'mismatch':
    case 'not_enrolled':
      return "That code isn't right. Enter the 6-digit code your app shows now.";
    case 'replayed':
      return 'That code has already been used. Wait for your app to show the next code and enter that one.';
    case 'resync_required':
      return "Your phone's clock seems to be off by a few minutes. Set it to update automatically, or resynchronise below with two codes in a row.";
    default:
      return throttleMessage(result);
  }
}

export function recoveryMessage(result: Refusal): string {
  switch (result.reason) {
    case 'malformed':
      return "That isn't a recovery code. They look like ABCD-EFGH-JKMN.";
    case 'mismatch':
    case 'not_enrolled':
      return "That recovery code isn't right, or it has already been used.";
    case 'replayed':
      return 'That recovery code has just been used.';
    default:
      return throttleMessage(result);
  }
}

function throttleMessage(result: Refusal): string {
  if (result.reason === 'throttled') {
    return `Too many attempts. Try again in ${waitText(result.retryAfterMs ?? 1000)}.`;
  }
  if (result.reason === 'locked') {
    return 'Too many wrong codes: sign-in with codes from your app is locked. Use a recovery code instead.';
  }
  return 'Something went wrong. Please try again.';
}

/** A per-IP limit refused the request (429). */
export function perIPLimitMessage(retryAfterMs: number): string {
  return `Too many attempts from your network. Try again in ${waitText(retryAfterMs)}.`;
}

export const NAME_TAKEN = 'You already have an authenticator with this name. Choose another.';

/** The message for a name the service refused, or rethrows anything else. */
export function nameRefusal(error: unknown): string {
  if (error instanceof MFAError && error.code === 'ERR_NAME_TAKEN') return NAME_TAKEN;
  if (error instanceof MFAError && error.code === 'ERR_FACTOR_LIMIT') {
    return 'You have as many authenticators as you can. Remove one first.';
  }
  // The name is the only input the app does not check itself.
  if (error instanceof RangeError || error instanceof TypeError) {
    return 'Choose a name of 1 to 64 characters, without control characters.';
  }
  throw error;
}

/** Why `email` cannot be an account name in an authenticator app, or null if it can. */
export function emailProblem(email: string): string | null {
  if (!/^[^\s@]+@[^\s@]+$/.test(email) || email.length > 254) {
    return 'Enter a valid email address.';
  }
  // Authenticator apps show "Issuer:account"; a ':' would split the label
  // in the wrong place, so otpauth:// URIs cannot carry it.
  if (email.includes(':')) return "An email address for this site cannot contain ':'.";
  // Control characters (no address has them) would be refused in the URI too.
  if (/\p{Cc}/u.test(email)) return 'Enter a valid email address.';
  return null;
}

/** A verification code refused (`checkVerificationCode`): what to do next. */
export function verificationCodeMessage(result: Refusal): string {
  switch (result.reason) {
    case 'malformed':
      return 'The code is the 6 digits from the e-mail. Type them exactly as they are there.';
    case 'wrong_code':
      return "That code isn't right. Check that it is from the newest e-mail we sent.";
    case 'expired':
      return 'That code has expired. Send a new one.';
    case 'no_code':
      return 'There is no code waiting for you. Send a new one.';
    case 'attempts_exhausted':
      return 'Too many wrong tries for that code. Send a new one.';
    default:
      return throttleMessage(result);
  }
}

/** A new code refused (`sendVerificationCode`): the earlier one, if any, still works. */
export function sendRefusalMessage(result: { reason: string; retryAfterMs: number }): string {
  return result.reason === 'cooldown'
    ? `We sent you a code a moment ago. If you have it, enter it below; otherwise ask for a new one in ${waitText(result.retryAfterMs)}.`
    : `You have asked for too many codes today. Try again in ${waitText(result.retryAfterMs)}.`;
}

/** The sender failed (`MFAError('ERR_SENDER')`): nothing was sent, nothing counted. */
export const SEND_FAILED =
  'We could not send the e-mail just now. Nothing was sent; please try again in a few minutes.';

/**
 * A proof that is no longer good: the code was right, but the factors changed
 * meanwhile (`proof: null`), or the proof expired or was refused
 * (`MFAError('ERR_PROOF')`).
 */
export const PROOF_STALE =
  'Your two-factor settings changed meanwhile, or this confirmation expired. Please try again.';
