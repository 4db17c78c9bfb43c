/**
 * Constant-time comparison (internal).
 * @module
 * @internal
 */

/**
 * Compares two byte arrays in time that depends only on their length, so a
 * mismatch position cannot be learnt from timing. Lengths are not secret.
 *
 * @param a - first bytes
 * @param b - second bytes
 * @returns whether the two arrays hold the same bytes
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}
