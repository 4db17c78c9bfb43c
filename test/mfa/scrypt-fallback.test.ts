/**
 * src/mfa/_scrypt.ts falls back to noble's scrypt where `node:crypto` cannot
 * be used: it is missing (a Worker without Node compatibility), it has no
 * `scrypt`, or its scrypt fails or gives wrong bytes. Recovery codes keep
 * working, with the same hashes.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import rfc7914 from '../vectors/rfc7914.json' with { type: 'json' };

const v = rfc7914.vectors[1] as (typeof rfc7914.vectors)[number];
const ascii = (text: string) => new TextEncoder().encode(text);

async function freshLoad() {
  vi.resetModules();
  const { loadScrypt } = await import('../../src/mfa/_scrypt.ts');
  return loadScrypt();
}

type Callback = (error: Error | null, key: Buffer) => void;

const CASES: [string, () => object][] = [
  [
    'node:crypto cannot be imported',
    () => {
      throw new Error('No such built-in module: node:crypto');
    },
  ],
  ['node:crypto has no scrypt', () => ({ randomBytes: () => new Uint8Array(0) })],
  [
    "node:crypto's scrypt fails",
    () => ({
      scrypt: (...args: unknown[]) =>
        (args.at(-1) as Callback)(new Error('unsupported'), Buffer.alloc(0)),
    }),
  ],
  [
    "node:crypto's scrypt gives wrong bytes",
    () => ({
      scrypt: (_p: unknown, _s: unknown, len: number, _o: unknown, cb: Callback) =>
        cb(null, Buffer.alloc(len, 7)),
    }),
  ],
];

describe('the native scrypt module falls back to noble', () => {
  afterEach(() => {
    vi.doUnmock('node:crypto');
    vi.resetModules();
  });

  for (const [name, factory] of CASES) {
    it(`when ${name}`, async () => {
      vi.doMock('node:crypto', factory);
      const scrypt = await freshLoad();
      expect(scrypt.name).toBe('@noble/hashes');
      expect(scrypt.concurrency).toBe(1);
      const key = await scrypt.derive(ascii(v.password), ascii(v.salt), v, v.dkLen);
      expect(Buffer.from(key).toString('hex')).toBe(v.hex);
    });
  }

  it('and keeps the native path when node:crypto works', async () => {
    const scrypt = await freshLoad();
    expect(scrypt.name).toBe('node:crypto');
    const key = await scrypt.derive(ascii(v.password), ascii(v.salt), v, v.dkLen);
    expect(Buffer.from(key).toString('hex')).toBe(v.hex);
  });
});
