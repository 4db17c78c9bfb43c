// The two base32 codecs (thirty-two for Node, Bun and Deno; @scure/base for
// browsers and Workers) against each other, behind the same grammar check:
// the raw codecs on well-formed text, and decodeBase32/encodeBase32 as each
// build carries them on any text at all.
import { build } from 'esbuild';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nodeCodec from '../src/_base32codec.ts';
import * as webCodec from '../src/_base32codec.web.ts';
import * as nodeBase32 from '../src/base32.ts';
import { webVariants } from '../tsup.config.ts';

type Base32 = typeof nodeBase32;
let webBase32: Base32;
let webSource: string;
const work = mkdtempSync(join(tmpdir(), 'totpkit-base32-'));

beforeAll(async () => {
  // src/base32.ts as the web build carries it: bundled with the same plugin
  // as dist/web/, for the browser, with @scure/base inlined.
  const result = await build({
    entryPoints: [new URL('../src/base32.ts', import.meta.url).pathname],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    plugins: [webVariants()],
    logLevel: 'silent',
  });
  webSource = result.outputFiles[0]!.text;
  const file = join(work, 'base32.web.mjs');
  writeFileSync(file, webSource);
  webBase32 = (await import(/* @vite-ignore */ pathToFileURL(file).href)) as Base32;
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The outcome of `f`: its value, or the class and message of what it threw. */
function outcome<T>(f: () => T): { value: T } | { error: string } {
  try {
    return { value: f() };
  } catch (error) {
    return { error: `${(error as Error).constructor.name}: ${(error as Error).message}` };
  }
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** Any text, biased towards base32-looking text so that both verdicts occur often. */
const anyText = fc.oneof(
  fc.string({ unit: fc.constantFrom(...ALPHABET, ...'abcz0189 =-_\u0131\u017f'), maxLength: 40 }),
  fc.uint8Array({ maxLength: 30 }).map((bytes) => nodeCodec.encodeBase32Bytes(bytes)),
  fc
    .tuple(fc.uint8Array({ maxLength: 30 }), fc.nat(), fc.constantFrom('', '=', '======', ' '))
    .map(([bytes, at, extra]) => {
      const text = nodeCodec.encodeBase32Bytes(bytes);
      const i = at % (text.length + 1);
      return text.slice(0, i) + extra + text.slice(i);
    }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);

describe('the raw codecs agree on well-formed text', () => {
  it('each build carries its own codec', () => {
    expect(nodeCodec.CODEC).toBe('thirty-two');
    expect(webCodec.CODEC).toBe('@scure/base');
  });

  it('encode any bytes to the same text, and decode it back to the same bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const text = nodeCodec.encodeBase32Bytes(bytes);
        expect(webCodec.encodeBase32Bytes(bytes)).toBe(text);
        expect(text).toMatch(/^[A-Z2-7]*$/);
        const fromNode = nodeCodec.decodeBase32Text(text);
        const fromWeb = webCodec.decodeBase32Text(text);
        expect(fromNode).toEqual(bytes);
        expect(fromWeb).toEqual(bytes);
        expect(Object.getPrototypeOf(fromNode)).toBe(Uint8Array.prototype);
        expect(Object.getPrototypeOf(fromWeb)).toBe(Uint8Array.prototype);
      }),
      { numRuns: 500 },
    );
  });

  it('differ on malformed text, which is why the grammar check runs first', () => {
    // thirty-two reads an impossible length and a foreign character without
    // complaint; @scure/base refuses both. decodeBase32 never passes them on.
    for (const text of ['A', 'MZXW6YTB1']) {
      expect(() => nodeCodec.decodeBase32Text(text)).not.toThrow();
      expect(() => webCodec.decodeBase32Text(text)).toThrow();
    }
  });
});

describe('decodeBase32 and encodeBase32 in the Node and web builds', () => {
  it('the web build has @scure/base and neither thirty-two nor Buffer', () => {
    expect(webSource).toContain('base32nopad');
    expect(webSource).not.toMatch(/thirty-two|thirtyTwo|\bBuffer\b/);
  });

  it('decode any text, valid or not, to the same bytes or the same error', () => {
    let accepted = 0;
    let rejected = 0;
    fc.assert(
      fc.property(anyText, (text) => {
        const fromNode = outcome(() => nodeBase32.decodeBase32(text));
        expect(outcome(() => webBase32.decodeBase32(text))).toEqual(fromNode);
        if ('value' in fromNode) accepted++;
        else rejected++;
      }),
      { numRuns: 3000 },
    );
    // Both verdicts were exercised, many times each.
    expect(accepted).toBeGreaterThan(300);
    expect(rejected).toBeGreaterThan(300);
  });

  it('encode any bytes to the same text, and refuse a non-Uint8Array alike', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        expect(webBase32.encodeBase32(bytes)).toBe(nodeBase32.encodeBase32(bytes));
      }),
      { numRuns: 300 },
    );
    for (const bad of [null, 'MZXW6YTB', [1, 2], new Uint16Array(2)] as unknown[]) {
      const fromNode = outcome(() => nodeBase32.encodeBase32(bad as Uint8Array));
      expect('error' in fromNode).toBe(true);
      expect(outcome(() => webBase32.encodeBase32(bad as Uint8Array))).toEqual(fromNode);
    }
  });
});
