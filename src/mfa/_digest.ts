/**
 * The per-user digest of a factor's secret (internal): what a store compares
 * to refuse a secret the user already has, without opening any secret.
 *
 * base64url(SHA-256("totpkit secret digest v1\0" ‖ UTF-8(userId) ‖ "\0" ‖ secret)),
 * 43 characters. Secrets have at least 80 bits (the import floor; enrolled
 * ones 160), so the digest gives no practical way back to the secret, and
 * the user id in the input makes the digests of one secret differ between
 * users: it tells nothing across users. The version tag lets a later digest
 * coexist with this one.
 * @module
 * @internal
 */
import { encodeBase64url, utf8 } from '../_encoding.ts';

const TAG = /* @__PURE__ */ utf8('totpkit secret digest v1\0');

/** The digest of `secret` for `userId` (see the module comment). */
export async function secretDigest(userId: string, secret: Uint8Array): Promise<string> {
  const id = utf8(userId);
  const input = new Uint8Array(TAG.length + id.length + 1 + secret.length);
  input.set(TAG);
  input.set(id, TAG.length);
  input[TAG.length + id.length] = 0;
  input.set(secret, TAG.length + id.length + 1);
  try {
    return encodeBase64url(new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', input)));
  } finally {
    input.fill(0); // it holds the secret
  }
}
