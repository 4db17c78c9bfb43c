/**
 * Checking what the identity step is given (internal): purposes, channels,
 * destinations; the destination's hash and its masked form for events.
 * @module
 * @internal
 */
import { describe, describeType, isWellFormedText } from '../_assert.ts';
import { encodeBase64url, utf8 } from '../_encoding.ts';
import type { VerificationChannel } from './account-types.ts';

const PURPOSE = /^[a-z][a-z0-9_]{0,31}$/;
const PHONE = /^\+?[0-9 ()-]{4,32}$/;

/** Checks a purpose: the library's or an app's own, `/^[a-z][a-z0-9_]{0,31}$/`. */
export function checkPurpose(purpose: unknown, field = 'purpose'): string {
  if (typeof purpose !== 'string') {
    throw new TypeError(`"${field}" must be a string, got ${describe(purpose)}`);
  }
  if (!PURPOSE.test(purpose)) {
    throw new RangeError(
      `"${field}" must match /^[a-z][a-z0-9_]{0,31}$/ (e.g. 'enroll' or 'change_email')`,
    );
  }
  return purpose;
}

/** Checks a channel. */
export function checkChannel(channel: unknown): VerificationChannel {
  if (channel !== 'email' && channel !== 'sms') {
    throw new RangeError(`"channel" must be 'email' or 'sms', got ${describe(channel)}`);
  }
  return channel;
}

/** Checks a destination for `channel` (its shape only). */
export function checkDestination(destination: unknown, channel: VerificationChannel): string {
  if (typeof destination !== 'string') {
    throw new TypeError(`"destination" must be a string, got ${describeType(destination)}`);
  }
  const length = [...destination].length;
  if (length === 0 || length > 320) {
    throw new RangeError(`"destination" must be 1 to 320 characters long, got ${length}`);
  }
  if (/\p{Cc}/u.test(destination)) {
    throw new RangeError('"destination" must not contain control characters');
  }
  // Hashed as UTF-8, a lone surrogate becomes U+FFFD: two destinations would
  // share one key (and one send counter).
  if (!isWellFormedText(destination)) {
    throw new RangeError('"destination" must be well-formed Unicode (no lone surrogates)');
  }
  if (channel === 'email' && !destination.includes('@')) {
    throw new RangeError(`"destination" must be an e-mail address (with "@") for channel 'email'`);
  }
  if (channel === 'sms' && !PHONE.test(destination)) {
    throw new RangeError(
      `"destination" must be a phone number (/^\\+?[0-9 ()-]{4,32}$/) for channel 'sms'`,
    );
  }
  return destination;
}

const DESTINATION_TAG = 'totpkit destination v1\0';

/**
 * base64url(SHA-256("totpkit destination v1\0" ‖ userId ‖ "\0" ‖ channel ‖
 * "\0" ‖ destination)): what the document keeps instead of the destination.
 */
export async function destinationKey(
  userId: string,
  channel: VerificationChannel,
  destination: string,
): Promise<string> {
  const input = utf8(`${DESTINATION_TAG}${userId}\0${channel}\0${destination}`);
  return encodeBase64url(new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', input)));
}

/**
 * A destination as events show it: `a•••@example.com` for an e-mail
 * address, `•••••89` for a phone number (its last two digits).
 */
export function maskDestination(channel: VerificationChannel, destination: string): string {
  if (channel === 'email') {
    const at = destination.lastIndexOf('@');
    const first = [...destination.slice(0, at)][0] ?? '';
    return `${first}•••${destination.slice(at)}`;
  }
  const digits = destination.replace(/[^0-9]/g, '');
  return `•••••${digits.slice(-2)}`;
}
