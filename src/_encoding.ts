/**
 * Base64url without padding (RFC 4648 §5) and UTF-8 (internal), below both
 * the service and the stores: sealed secrets and recovery code hashes
 * (`mfa/`), and the hash tag of a user's Redis keys (`store/redis/`). Built
 * on `btoa`/`atob`, which every supported runtime has, so neither needs the
 * Node-only `Buffer`.
 * @module
 * @internal
 */

/** Encodes bytes as unpadded base64url. */
export function encodeBase64url(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i] as number);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Decodes unpadded base64url strictly: `undefined` for any other character,
 * an impossible length or non-zero trailing bits (the canonical form only).
 */
export function decodeBase64url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return encodeBase64url(bytes) === text ? bytes : undefined;
}

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
