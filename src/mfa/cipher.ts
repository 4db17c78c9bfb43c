/**
 * Sealing TOTP secrets at rest: the {@link SecretCipher} interface, the
 * built-in AES-256-GCM cipher with key ids for rotation, and the explicit
 * opt-out {@link plaintextCipher}.
 * @module
 */
import { checkBytes, checkOptions, checkString, describe } from '../_assert.ts';
import { MFAError } from '../errors.ts';
import { decodeBase64url, encodeBase64url, utf8 } from '../_encoding.ts';

/**
 * Seals and opens the TOTP secrets the service keeps in its store. `context`
 * is the user id: a cipher should bind it to the sealed value (as associated
 * data), so that a sealed secret copied into another user's record does not
 * open.
 *
 * Implement it to use a KMS or an HSM; the service wraps any error a custom
 * cipher throws in an {@link MFAError} with code `'ERR_CIPHER'`.
 */
export interface SecretCipher {
  /**
   * Seals a secret.
   *
   * @param plaintext - the secret bytes
   * @param context - the user id the secret belongs to
   * @returns the sealed secret as a string the store can hold
   */
  encrypt(plaintext: Uint8Array, context: string): Promise<string>;

  /**
   * Opens a sealed secret; rejects if it was tampered with or sealed for
   * another context.
   *
   * @param sealed - a value from {@link SecretCipher.encrypt}
   * @param context - the user id it was sealed for
   * @returns the secret bytes
   */
  decrypt(sealed: string, context: string): Promise<Uint8Array>;

  /**
   * Whether `sealed` should be sealed again (e.g. it uses a key that is no
   * longer the primary one). Used by `reencryptSecret`; if absent, every
   * secret is re-sealed.
   *
   * @param sealed - a value from {@link SecretCipher.encrypt}
   * @returns `true` if re-sealing would change the key or format
   */
  needsReencryption?(sealed: string): boolean;
}

/** Options for {@link createAESGCMCipher}. */
export interface AESGCMCipherOptions {
  /**
   * Key id → 32-byte AES-256 key. Ids are 1–64 characters from `A–Z a–z 0–9 _ -`
   * and are written into every sealed secret, so keep old keys here until
   * nothing sealed with them is left (see `reencryptSecret`).
   */
  keys: Readonly<Record<string, Uint8Array>>;
  /** The id of the key new secrets are sealed with. */
  primaryKeyId: string;
}

const FORMAT = 'A256GCM';
const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;
const IV_BYTES = 12;
const TAG_BYTES = 16;

// The associated data binds the format, the key id and the context (user id).
// Key ids contain no '.', so the string is unambiguous.
function additionalData(keyId: string, context: string): Uint8Array<ArrayBuffer> {
  return utf8(`totpkit.${FORMAT}.${keyId}.${context}`) as Uint8Array<ArrayBuffer>;
}

// WebCrypto's CryptoKey, named without depending on DOM or Node type libraries.
type AESKey = Awaited<ReturnType<typeof globalThis.crypto.subtle.importKey>>;

function cipherError(message: string, cause?: unknown): MFAError {
  return new MFAError('ERR_CIPHER', message, cause === undefined ? undefined : { cause });
}

/**
 * Creates the built-in {@link SecretCipher}: AES-256-GCM over WebCrypto
 * (`globalThis.crypto.subtle`), a random 96-bit IV per secret, and the key id,
 * format and user id as associated data. Sealed secrets look like
 * `A256GCM.<keyId>.<base64url(iv ‖ ciphertext ‖ tag)>`.
 *
 * Rotation: add a new key, make it `primaryKeyId`, keep the old ones for
 * opening, and move old records with `mfa.reencryptSecret(userId)`. Random
 * IVs limit one key to about 2^32 encryptions (NIST SP 800-38D §8.3), one per
 * enrollment; rotate long before that.
 *
 * @param options - `keys` (id → 32 bytes) and `primaryKeyId`
 * @returns the cipher; its `encrypt`/`decrypt` reject with {@link MFAError}
 *   `'ERR_CIPHER'` for an unknown key id, a malformed or tampered value, or a
 *   value sealed for another user
 * @throws TypeError / RangeError naming the invalid option
 * @example
 * ```ts fragment
 * import { createAESGCMCipher, createMFA, MemoryStore } from 'totpkit';
 * const cipher = createAESGCMCipher({
 *   keys: { '2025-01': keyBytesFromYourSecretManager }, // 32 bytes
 *   primaryKeyId: '2025-01',
 * });
 * const mfa = createMFA({ store: new MemoryStore(), issuer: 'Acme', cipher });
 * ```
 */
export function createAESGCMCipher(options: AESGCMCipherOptions): SecretCipher {
  const { keys, primaryKeyId } = checkOptions(options);
  if (keys === null || typeof keys !== 'object' || Array.isArray(keys)) {
    throw new TypeError(`"keys" must be an object of key id → Uint8Array, got ${describe(keys)}`);
  }
  const material = new Map<string, Uint8Array<ArrayBuffer>>();
  for (const [id, key] of Object.entries(keys)) {
    if (!KEY_ID.test(id)) {
      throw new RangeError(`"keys" ids must be 1–64 characters from A–Z a–z 0–9 _ -`);
    }
    material.set(id, new Uint8Array(checkBytes(key, `keys.${id}`, 32, 32)));
  }
  if (material.size === 0) throw new RangeError('"keys" must hold at least one key');
  const primary = checkString(primaryKeyId, 'primaryKeyId', 64);
  if (!material.has(primary)) {
    throw new RangeError(`"primaryKeyId" must be one of the ids in "keys"`);
  }
  const imported = new Map<string, Promise<AESKey>>();
  const cryptoKey = (id: string): Promise<AESKey> => {
    let key = imported.get(id);
    if (key === undefined) {
      const raw = material.get(id) as Uint8Array<ArrayBuffer>;
      key = globalThis.crypto.subtle.importKey('raw', raw, 'AES-GCM', false, [
        'encrypt',
        'decrypt',
      ]);
      imported.set(id, key);
    }
    return key;
  };

  return {
    async encrypt(plaintext, context) {
      checkBytes(plaintext, 'plaintext');
      checkString(context, 'context');
      const iv = globalThis.crypto.getRandomValues(new Uint8Array(IV_BYTES));
      let sealed: ArrayBuffer;
      try {
        sealed = await globalThis.crypto.subtle.encrypt(
          { name: 'AES-GCM', iv, additionalData: additionalData(primary, context) },
          await cryptoKey(primary),
          plaintext as Uint8Array<ArrayBuffer>,
        );
      } catch (cause) {
        throw cipherError('AES-GCM encryption failed', cause);
      }
      const out = new Uint8Array(IV_BYTES + sealed.byteLength);
      out.set(iv);
      out.set(new Uint8Array(sealed), IV_BYTES);
      return `${FORMAT}.${primary}.${encodeBase64url(out)}`;
    },

    async decrypt(sealed, context) {
      checkString(sealed, 'sealed', 4096);
      checkString(context, 'context');
      const [format, keyId, body, ...rest] = sealed.split('.');
      const data = body === undefined ? undefined : decodeBase64url(body);
      if (
        format !== FORMAT ||
        keyId === undefined ||
        !KEY_ID.test(keyId) ||
        rest.length > 0 ||
        data === undefined ||
        data.length <= IV_BYTES + TAG_BYTES
      ) {
        throw cipherError(`the sealed secret is not in the ${FORMAT} format`);
      }
      if (!material.has(keyId)) {
        throw cipherError(`the sealed secret uses key id "${keyId}", which is not in "keys"`);
      }
      try {
        const plaintext = await globalThis.crypto.subtle.decrypt(
          {
            name: 'AES-GCM',
            iv: data.subarray(0, IV_BYTES),
            additionalData: additionalData(keyId, context),
          },
          await cryptoKey(keyId),
          data.subarray(IV_BYTES),
        );
        return new Uint8Array(plaintext);
      } catch (cause) {
        throw cipherError(
          'the sealed secret failed authentication: a wrong key, a tampered value, ' +
            'or a value sealed for another user',
          cause,
        );
      }
    },

    needsReencryption(sealed) {
      return !sealed.startsWith(`${FORMAT}.${primary}.`);
    },
  };
}

/**
 * A {@link SecretCipher} that does not encrypt: secrets are stored as
 * `plain.<base64url>`, readable by anyone who can read the store, and not
 * bound to the user id. Use it only where the store itself is the protection
 * (tests, a demo, an encrypted database you trust); the name makes the choice
 * visible in code review.
 *
 * @returns the cipher; `decrypt` rejects with {@link MFAError} `'ERR_CIPHER'`
 *   for a value it did not produce
 * @example
 * ```ts
 * import { createMFA, MemoryStore, plaintextCipher } from 'totpkit';
 * const mfa = createMFA({ store: new MemoryStore(), issuer: 'Acme', cipher: plaintextCipher() });
 * ```
 */
export function plaintextCipher(): SecretCipher {
  return {
    async encrypt(plaintext) {
      checkBytes(plaintext, 'plaintext');
      return `plain.${encodeBase64url(plaintext)}`;
    },
    async decrypt(sealed) {
      checkString(sealed, 'sealed', 4096);
      const bytes = sealed.startsWith('plain.') ? decodeBase64url(sealed.slice(6)) : undefined;
      if (bytes === undefined || bytes.length === 0) {
        throw cipherError('the stored secret is not in the plaintext format');
      }
      return bytes;
    },
    needsReencryption() {
      return false;
    },
  };
}
