/**
 * scrypt (RFC 7914) for recovery codes on Node, Bun and Deno (internal):
 * `node:crypto`'s asynchronous scrypt, which runs in libuv's thread pool, so
 * hashing ten recovery codes does not hold up the event loop and two of them
 * run at once. `node:crypto` is imported dynamically and checked against an
 * RFC 7914 vector on first use; where it is missing or wrong, noble's scrypt
 * from `./_scrypt.web.ts` (the browser and Worker build's module), imported
 * then, takes over.
 * Both give the same bytes for the same input.
 * @module
 * @internal
 */
import type { ScryptBackend } from './_scrypt.web.ts';

export type { ScryptBackend };

/**
 * Native evaluations at once: both cores of a small machine, while leaving
 * libuv's other two (of four) pool threads to file, DNS and zlib work.
 */
const NATIVE_CONCURRENCY = 2;

/** RFC 7914 §12, the first vector (`P = ""`, `S = ""`, N = 16, r = 1, p = 1), first 16 bytes. */
const PROBE = { N: 16, r: 1, p: 1 } as const;
const PROBE_KEY = '77d6576238657b203b19ca42c18a0497';

type NodeScrypt = (typeof import('node:crypto'))['scrypt'];

function nativeBackend(scrypt: NodeScrypt): ScryptBackend {
  return Object.freeze({
    name: 'node:crypto',
    concurrency: NATIVE_CONCURRENCY,
    derive: (password, salt, { N, r, p }, dkLen) =>
      new Promise<Uint8Array>((resolve, reject) => {
        // OpenSSL's memory check counts 128 · r · (N + 2) for V plus 128 · r · p
        // for B; its default limit (32 MiB) is below what the policy allows.
        const maxmem = 128 * r * (N + p + 2) + 65_536;
        scrypt(password, salt, dkLen, { N, r, p, maxmem }, (error, key) => {
          if (error) reject(error);
          else resolve(new Uint8Array(key)); // a plain copy, not a pooled Buffer
        });
      }),
  } satisfies ScryptBackend);
}

/**
 * Noble's scrypt, loaded only when it is needed: a process that never falls
 * back to it (nearly every one) never loads @noble/hashes at start-up.
 */
async function loadNoble(): Promise<ScryptBackend> {
  return (await import('./_scrypt.web.ts')).loadScrypt();
}

async function load(): Promise<ScryptBackend> {
  try {
    const { scrypt } = await import('node:crypto');
    if (typeof scrypt !== 'function') return await loadNoble();
    const native = nativeBackend(scrypt);
    const probe = await native.derive(new Uint8Array(0), new Uint8Array(0), PROBE, 16);
    let hex = '';
    for (const byte of probe) hex += byte.toString(16).padStart(2, '0');
    return hex === PROBE_KEY ? native : await loadNoble();
  } catch {
    return loadNoble(); // no node:crypto here, or a scrypt that fails
  }
}

let backend: Promise<ScryptBackend> | undefined;

/** The scrypt backend of this runtime, chosen once: native if it works, else noble's. */
export function loadScrypt(): Promise<ScryptBackend> {
  backend ??= load();
  return backend;
}
