/**
 * A minimal TOTP on `node:crypto`'s `createHmac`: the native baseline the
 * benchmark compares totpkit with. Plain and correct rather than clever, as an
 * application would write it in a few lines: one HMAC per candidate step,
 * checking the current step, then -1, +1, and so on.
 * @module
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (unpadded, uppercase) to bytes. */
export function decodeBase32(text: string): Uint8Array {
  const out = new Uint8Array(Math.floor((text.length * 5) / 8));
  let bits = 0;
  let value = 0;
  let n = 0;
  for (const char of text) {
    const digit = ALPHABET.indexOf(char);
    if (digit < 0) throw new RangeError('not base32');
    value = (value << 5) | digit;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (value >>> bits) & 0xff;
    }
  }
  return out;
}

/** A secret held as a `KeyObject`, node:crypto's way to keep a key around. */
export function importKey(secret: Uint8Array): KeyObject {
  return createSecretKey(secret);
}

/** The 6-digit HOTP value (RFC 4226 §5.3) of `counter`, with HMAC-SHA1 (or `hash`). */
export function hotp(
  key: KeyObject | Uint8Array,
  counter: number,
  hash: 'sha1' | 'sha256' | 'sha512' = 'sha1',
): number {
  const message = Buffer.alloc(8);
  message.writeUInt32BE(Math.floor(counter / 2 ** 32), 0);
  message.writeUInt32BE(counter >>> 0, 4);
  const mac = createHmac(hash, key).update(message).digest();
  const offset = (mac[mac.length - 1] as number) & 0x0f;
  return (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
}

/** The time step of `now` (Unix ms) for a 30-second period. */
export const stepAt = (now: number): number => Math.floor(now / 30_000);

/** The TOTP code at `now`. */
export function generate(key: KeyObject | Uint8Array, now: number): string {
  return String(hotp(key, stepAt(now))).padStart(6, '0');
}

/** Whether `code` is the code of a step within `window` steps of `now`. */
export function verify(
  key: KeyObject | Uint8Array,
  code: string,
  now: number,
  window: number,
  hash: 'sha1' | 'sha256' | 'sha512' = 'sha1',
): boolean {
  if (!/^\d{6}$/.test(code)) return false;
  const wanted = Number(code);
  const current = stepAt(now);
  if (hotp(key, current, hash) === wanted) return true;
  for (let d = 1; d <= window; d++) {
    if (hotp(key, current - d, hash) === wanted || hotp(key, current + d, hash) === wanted)
      return true;
  }
  return false;
}
