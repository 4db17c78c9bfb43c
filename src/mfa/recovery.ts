/**
 * Recovery codes (internal): generation, input normalisation, and salted
 * scrypt hashes.
 *
 * A code is 12 characters of Crockford base32 (60 random bits), shown as
 * `XXXX-XXXX-XXXX`. A set shares one random salt, so checking an attempt costs
 * one KDF evaluation however many codes are left; the hash input also binds the
 * user id, so a set copied into another user's record matches nothing.
 * @module
 * @internal
 */
import { timingSafeEqual } from '../compare.ts';
import type { RecoveryCodeSet } from '../store/contract.ts';
import { decodeBase64url, encodeBase64url, utf8 } from '../_encoding.ts';
import type { ScryptParams } from './policy.ts';
import { loadScrypt, type ScryptBackend } from './_scrypt.ts';

// Crockford base32: digits and letters without I, L, O and U.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CODE_CHARS = 12;
const GROUP_CHARS = 4;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
const SEPARATORS = /[\s_\-\u2010-\u2015\u2212]/g;

/** Random bits in one recovery code. */
export const RECOVERY_CODE_BITS = CODE_CHARS * 5;

/** A new random recovery code, grouped for reading: `XXXX-XXXX-XXXX`. */
export function generateRecoveryCode(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(CODE_CHARS));
  let code = '';
  for (let i = 0; i < CODE_CHARS; i++) {
    if (i > 0 && i % GROUP_CHARS === 0) code += '-';
    code += ALPHABET[(bytes[i] as number) & 31]; // 256 is a multiple of 32: uniform
  }
  return code;
}

/**
 * The canonical form of a typed recovery code, or `null` if it cannot be one:
 * case, spaces and dashes are ignored, and O, I, L are read as 0, 1, 1.
 */
export function normalizeRecoveryCode(input: string): string | null {
  if (input.length > 64) return null;
  const compact = input
    .normalize('NFKC')
    .replace(SEPARATORS, '')
    .toUpperCase()
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1');
  return compact.length === CODE_CHARS && /^[0-9A-HJKMNP-TV-Z]+$/.test(compact) ? compact : null;
}

/** The parameters and salt decoded from {@link RecoveryCodeSet.salt}. */
interface Salt {
  params: ScryptParams;
  bytes: Uint8Array;
}

const SALT_FORMAT = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]{1,64})$/;

/** Encodes parameters and salt in a PHC-like string: `$scrypt$ln=14,r=8,p=1$<salt>`. */
function encodeSalt({ N, r, p }: ScryptParams, bytes: Uint8Array): string {
  return `$scrypt$ln=${Math.log2(N)},r=${r},p=${p}$${encodeBase64url(bytes)}`;
}

/** Decodes a stored salt string; `undefined` if it is not one this module writes. */
function decodeSalt(text: string): Salt | undefined {
  const match = SALT_FORMAT.exec(text);
  if (match === null) return undefined;
  const [ln, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const bytes = decodeBase64url(match[4] as string);
  // The same bounds as the policy, so a tampered record cannot demand a huge KDF.
  if (ln < 10 || ln > 20 || r < 1 || r > 32 || p < 1 || p > 16) return undefined;
  if (bytes === undefined || bytes.length !== SALT_BYTES) return undefined;
  return { params: { N: 2 ** ln, r, p }, bytes };
}

/**
 * Hashes recovery codes with scrypt, a bounded number of evaluations at a
 * time. Natively (`node:crypto`, in libuv's pool) two run at once; with
 * noble's scrypt, which runs on the main thread, one: more would finish none
 * sooner. Either way memory stays bounded (128 · N · r bytes per evaluation)
 * however many attempts arrive together: the rest wait in a queue.
 */
export class RecoveryCodeHasher {
  readonly #load: () => Promise<ScryptBackend>;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  /** @param load - the scrypt backend; the runtime's own by default (tests pass one). */
  constructor(load: () => Promise<ScryptBackend> = loadScrypt) {
    this.#load = load;
  }

  /** Runs `task` once fewer than `limit` tasks of this hasher are running. */
  async #bounded<T>(limit: number, task: () => Promise<T>): Promise<T> {
    while (this.#running >= limit) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    this.#running++;
    try {
      return await task();
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }

  /** One KDF evaluation of `code` (canonical form) for `userId`. */
  async #hash(code: string, salt: Salt, userId: string): Promise<string> {
    const id = utf8(userId);
    const input = new Uint8Array(salt.bytes.length + id.length);
    input.set(salt.bytes);
    input.set(id, salt.bytes.length);
    const scrypt = await this.#load();
    const key = await this.#bounded(scrypt.concurrency, () =>
      scrypt.derive(utf8(code), input, salt.params, HASH_BYTES),
    );
    return encodeBase64url(key);
  }

  /** Creates `count` codes and their set (one KDF evaluation per code). */
  async createSet(
    count: number,
    params: ScryptParams,
    userId: string,
  ): Promise<{ codes: string[]; set: RecoveryCodeSet }> {
    const codes = new Set<string>();
    while (codes.size < count) codes.add(generateRecoveryCode());
    const salt = { params, bytes: globalThis.crypto.getRandomValues(new Uint8Array(SALT_BYTES)) };
    // All queued at once: the bound above decides how many run together.
    const hashes = await Promise.all(
      [...codes].map((code) => this.#hash(normalizeRecoveryCode(code) as string, salt, userId)),
    );
    return { codes: [...codes], set: { salt: encodeSalt(params, salt.bytes), hashes } };
  }

  /**
   * The stored hash that `code` (canonical form) matches, `null` if none, or
   * `undefined` if the set's salt is not valid. One KDF evaluation, then a
   * constant-time comparison with every stored hash.
   */
  async find(
    code: string,
    set: RecoveryCodeSet,
    userId: string,
  ): Promise<string | null | undefined> {
    const salt = decodeSalt(set.salt);
    if (salt === undefined) return undefined;
    const candidate = utf8(await this.#hash(code, salt, userId));
    let found: string | null = null;
    for (const hash of set.hashes) {
      if (timingSafeEqual(utf8(hash), candidate) && found === null) found = hash;
    }
    return found;
  }
}
