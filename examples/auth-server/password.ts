// Password hashing for the example: scrypt (RFC 7914) from @noble/hashes, a
// random 16-byte salt per password, parameters stored with the hash so they
// can be raised later without breaking old accounts.
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { randomBytes, timingSafeEqual } from 'node:crypto';

/** scrypt cost; N = 2^15, r = 8 is 32 MiB and roughly 0.1–0.2 s per hash. */
export interface PasswordHashParams {
  N: number;
  r: number;
  p: number;
}

export const DEFAULT_PASSWORD_PARAMS: PasswordHashParams = Object.freeze({
  N: 2 ** 15,
  r: 8,
  p: 1,
});

/** NIST SP 800-63B: at least 8 characters, and long passphrases allowed. */
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;

// NFKC, so the same passphrase typed on different keyboards hashes the same.
const normalize = (password: string): string => password.normalize('NFKC');

/** Hashes a password as `scrypt$N$r$p$salt$hash` (salt and hash in base64url). */
export async function hashPassword(
  password: string,
  params: PasswordHashParams = DEFAULT_PASSWORD_PARAMS,
): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(normalize(password), salt, { ...params, dkLen: 32 });
  return [
    'scrypt',
    params.N,
    params.r,
    params.p,
    salt.toString('base64url'),
    Buffer.from(hash).toString('base64url'),
  ].join('$');
}

/** Checks a password against a stored hash in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, N, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scryptAsync(normalize(password), Buffer.from(salt, 'base64url'), {
    N: Number(N),
    r: Number(r),
    p: Number(p),
    dkLen: expected.length,
  });
  return timingSafeEqual(Buffer.from(actual), expected);
}

let dummy: Promise<string> | undefined;

/**
 * Spends the time of one password check for an unknown email address, so that
 * response times do not tell which addresses have accounts.
 */
export async function verifyNoPassword(
  password: string,
  params: PasswordHashParams,
): Promise<false> {
  dummy ??= hashPassword('not a real password', params);
  await verifyPassword(password, await dummy);
  return false;
}
