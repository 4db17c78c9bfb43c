// totpkit/qr: every rendering of random key URIs is decoded by zbarimg (an
// independent decoder) back to the exact URI. SVG and the <img> data URL are
// rasterised by a real browser; the terminal form is read back into modules.
import encodeQR from '@paulmillr/qr';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildKeyURI,
  KeyURIError,
  type BuildKeyURIInput,
  type HashAlgorithm,
} from '../src/index.ts';
import {
  renderQRCodeDataURL,
  renderQRCodeSVG,
  renderQRCodeTerminal,
  type QRErrorCorrection,
} from '../src/qr.ts';
import { launchChromium, requireChromium } from './helpers/browser.ts';
import { requireProgram } from './helpers/tools.ts';
import { decodeQRFile, imageDir, matrixToPGM, terminalToMatrix } from './helpers/zbarimg.ts';

const haveZbar = requireProgram('zbarimg', 'zbar-tools');
const haveChromium = requireChromium();

// A seeded generator, so that a failure can be replayed with QR_SEED=….
const seed = Number(process.env.QR_SEED ?? Date.now() % 2 ** 31);
function mulberry32(a: number): () => number {
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
const random = mulberry32(seed);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const int = (min: number, max: number): number => min + Math.floor(random() * (max - min + 1));

// Characters real labels contain, including ones that must be percent-encoded.
const LABEL_CHARS = [
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  ...' .-_+@&=?%#/é日本ü€😀',
];
function label(min: number, max: number): string {
  let text = pick([...'abcdefghijklmnopqrstuvwxyz']);
  const length = int(min, max);
  while ([...text].length < length) text += pick(LABEL_CHARS);
  return text;
}

function randomKeyURI(): string {
  const input: BuildKeyURIInput = {
    secret: Uint8Array.from({ length: int(16, 64) }, () => int(0, 255)),
    accountName: label(1, 40),
    algorithm: pick<HashAlgorithm>(['SHA1', 'SHA256', 'SHA512']),
    digits: pick([6, 7, 8] as const),
    // Any period authenticator apps use (10 to 120 s; buildKeyURI refuses others).
    period: pick([30, 30, 60, 15, int(10, 120)]),
  };
  if (random() < 0.8) input.issuer = label(1, 30);
  if (random() < 0.2) input.image = `https://example.com/logo/${label(1, 20)}.png`;
  return buildKeyURI(input);
}

const URIS = Array.from({ length: 50 }, randomKeyURI);
const LEVELS: readonly QRErrorCorrection[] = ['low', 'medium', 'quartile', 'high'];
// Each URI at one error correction level, so that all four are covered.
const CASES = URIS.map((uri, i) => ({
  uri,
  level: LEVELS[i % LEVELS.length] as QRErrorCorrection,
}));

/** Runs `task` over `items`, `limit` at a time. */
async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

describe('QR output decoded by zbarimg', () => {
  const images = imageDir();
  let browser: Browser | undefined;
  let page: Page;

  beforeAll(async () => {
    console.log(`QR_SEED=${seed}`);
    if (!haveChromium || !haveZbar) return;
    browser = await launchChromium();
    page = await browser.newPage({ deviceScaleFactor: 1 });
  });
  afterAll(async () => {
    await browser?.close();
    images.cleanup();
  });

  it.skipIf(!haveZbar)(
    'the terminal rendering, read back into modules, decodes to the exact URI',
    async () => {
      const decoded = await mapLimit(CASES, 4, ({ uri, level }, i) => {
        const matrix = terminalToMatrix(renderQRCodeTerminal(uri, { errorCorrection: level }));
        return decodeQRFile(images.write(`term-${i}.pgm`, matrixToPGM(matrix)));
      });
      expect(decoded).toEqual(CASES.map((c) => c.uri));
    },
  );

  it.skipIf(!haveZbar || !haveChromium)(
    'inline SVG and the <img> data URL, rasterised by Chromium, decode to the exact URI',
    async () => {
      const items = CASES.map(({ uri, level }) => ({
        svg: renderQRCodeSVG(uri, { errorCorrection: level }),
        dataURL: renderQRCodeDataURL(uri, { errorCorrection: level, moduleSize: 3 }),
      }));
      // No margins or background of the page's own: the quiet zone must come from the image.
      await page.setContent(
        `<!doctype html><body style="margin:0;background:#888">${items
          .map(
            ({ svg, dataURL }, i) =>
              `<div id="svg-${i}" style="display:inline-block;line-height:0">${svg}</div>` +
              `<img id="img-${i}" src="${dataURL}" style="display:inline-block">`,
          )
          .join('')}</body>`,
      );
      // A string, not a function: the test tsconfig has no DOM types.
      await page.waitForFunction(
        '[...document.images].every((img) => img.complete && img.naturalWidth > 0)',
      );
      const files: string[] = [];
      for (let i = 0; i < items.length; i++) {
        for (const kind of ['svg', 'img']) {
          const path = images.path(`${kind}-${i}.png`);
          await page.locator(`#${kind}-${i}`).screenshot({ path });
          files.push(path);
        }
      }
      const decoded = await mapLimit(files, 4, decodeQRFile);
      expect(decoded).toEqual(CASES.flatMap((c) => [c.uri, c.uri]));
    },
    120_000,
  );

  it.skipIf(!haveZbar || !haveChromium)(
    'a URI at the full capacity of a version 40 code decodes, and one more character is refused',
    async () => {
      const base = buildKeyURI({
        secret: new Uint8Array(20).fill(7),
        issuer: 'Acme',
        accountName: 'alice',
      });
      // 2953 bytes: version 40 at level low in byte mode.
      const uri = `${base}&image=${'x'.repeat(2953 - base.length - '&image='.length)}`;
      expect(uri.length).toBe(2953);
      await page.setContent(
        `<body style="margin:0">${renderQRCodeSVG(uri, { errorCorrection: 'low', moduleSize: 4 })}</body>`,
      );
      const path = images.path('v40.png');
      await page.locator('svg').screenshot({ path });
      expect(await decodeQRFile(path)).toBe(uri);
      expect(() => renderQRCodeSVG(`${uri}x`, { errorCorrection: 'low' })).toThrow(
        /"uri" is too long for a QR code at error correction 'low': 2954 characters, at most 2953/,
      );
    },
    60_000,
  );
});

describe('renderQRCodeSVG', () => {
  const uri = URIS[0] as string;

  it('draws exactly the encoder matrix, with a white background and the quiet zone', () => {
    for (const quietZone of [0, 1, 4, 16]) {
      const matrix = encodeQR(uri, 'raw', { ecc: 'medium', encoding: 'byte', border: quietZone });
      const n = matrix.length;
      const svg = renderQRCodeSVG(uri, { quietZone, moduleSize: 5 });
      expect(
        svg.startsWith(
          `<svg xmlns="http://www.w3.org/2000/svg" width="${n * 5}" height="${n * 5}" viewBox="0 0 ${n} ${n}"`,
        ),
      ).toBe(true);
      expect(svg).toContain(`<rect width="${n}" height="${n}" fill="#fff"/>`);
      // Replay the path's runs onto an empty grid and compare module by module.
      const drawn = Array.from({ length: n }, () => new Array<boolean>(n).fill(false));
      const path = /<path d="([^"]*)" fill="#000"\/>/.exec(svg)?.[1] ?? '';
      for (const [, x, y, w] of path.matchAll(/M(\d+) (\d+)h(\d+)v1h-\3z/g)) {
        for (let i = 0; i < Number(w); i++) {
          const row = drawn[Number(y)] as boolean[];
          expect(row[Number(x) + i]).toBe(false);
          row[Number(x) + i] = true;
        }
      }
      expect(path.replace(/M(\d+) (\d+)h(\d+)v1h-\3z/g, '')).toBe('');
      expect(drawn).toEqual(matrix.map((row) => row.map(Boolean)));
      for (let i = 0; i < quietZone; i++) {
        expect(drawn[i]?.some(Boolean)).toBe(false);
        expect(drawn.some((row) => row[i] || row[n - 1 - i])).toBe(false);
      }
    }
  });

  it('defaults to error correction medium, quiet zone 4 and 4 px modules', () => {
    const n = encodeQR(uri, 'raw', { ecc: 'medium', encoding: 'byte', border: 4 }).length;
    expect(renderQRCodeSVG(uri)).toBe(
      renderQRCodeSVG(uri, { errorCorrection: 'medium', quietZone: 4, moduleSize: 4 }),
    );
    expect(renderQRCodeSVG(uri)).toContain(`width="${4 * n}"`);
    // A higher level needs more modules for the same data.
    const high = encodeQR(uri, 'raw', { ecc: 'high', encoding: 'byte', border: 4 }).length;
    expect(high).toBeGreaterThan(n);
    expect(renderQRCodeSVG(uri, { errorCorrection: 'high' })).toContain(
      `viewBox="0 0 ${high} ${high}"`,
    );
  });

  it('does not change the options object it is given', () => {
    const options = Object.freeze({ errorCorrection: 'low', quietZone: 2 } as const);
    expect(() => renderQRCodeSVG(uri, options)).not.toThrow();
  });
});

describe('renderQRCodeDataURL', () => {
  it('is the SVG as a base64 data URL', () => {
    const uri = URIS[1] as string;
    const url = renderQRCodeDataURL(uri, { moduleSize: 2 });
    expect(url.startsWith('data:image/svg+xml;base64,')).toBe(true);
    expect(atob(url.slice('data:image/svg+xml;base64,'.length))).toBe(
      renderQRCodeSVG(uri, { moduleSize: 2 }),
    );
  });
});

describe('renderQRCodeTerminal', () => {
  it('draws the encoder matrix two rows per line, black on white', () => {
    for (const quietZone of [0, 3, 4]) {
      const uri = URIS[2] as string;
      const matrix = encodeQR(uri, 'raw', { ecc: 'medium', encoding: 'byte', border: quietZone });
      const text = renderQRCodeTerminal(uri, { quietZone });
      expect(text.split('\n')).toHaveLength(Math.ceil(matrix.length / 2) + 1);
      expect(terminalToMatrix(text)).toEqual(matrix.map((row) => row.map(Boolean)));
    }
  });
});

describe('input checks', () => {
  const uri = URIS[3] as string;

  it.each([
    ['a number', 42, TypeError, /"uri" must be a string, got 42/],
    ['undefined', undefined, TypeError, /"uri" must be a string, got undefined/],
    ['bytes', new Uint8Array(3), TypeError, /"uri" must be a string, got a Uint8Array of length 3/],
    ['an https URL', 'https://example.com/', KeyURIError, /otpauth/],
    ['a bare secret', 'JBSWY3DPEHPK3PXP', KeyURIError, /otpauth/],
    ['an empty string', '', KeyURIError, /otpauth/],
    ['no secret', 'otpauth://totp/Acme:alice?issuer=Acme', KeyURIError, /"secret"/],
    [
      '9 digits',
      'otpauth://totp/Acme:alice?secret=JBSWY3DPEHPK3PXP&digits=9',
      KeyURIError,
      /"digits"/,
    ],
    [
      'a raw space',
      'otpauth://totp/Acme:alice smith?secret=JBSWY3DPEHPK3PXP',
      RangeError,
      /"uri" must contain only printable ASCII/,
    ],
    [
      'raw Unicode',
      'otpauth://totp/Acme:zoë?secret=JBSWY3DPEHPK3PXP',
      RangeError,
      /"uri" must contain only printable ASCII/,
    ],
    [
      'a newline',
      'otpauth://totp/Acme:alice?secret=JBSWY3DPEHPK3PXP\n',
      RangeError,
      /"uri" must contain only printable ASCII/,
    ],
    [
      'too long',
      `otpauth://totp/Acme:alice?secret=JBSWY3DPEHPK3PXP&image=${'x'.repeat(3000)}`,
      RangeError,
      /"uri" is too long for a QR code at error correction 'medium': \d+ characters, at most 2331/,
    ],
  ])('refuses %s', (_name, input, type, message) => {
    for (const render of [renderQRCodeSVG, renderQRCodeDataURL, renderQRCodeTerminal]) {
      expect(() => render(input as string)).toThrow(type);
      expect(() => render(input as string)).toThrow(message);
    }
  });

  it.each([
    ['low', 2953],
    ['medium', 2331],
    ['quartile', 1663],
    ['high', 1273],
  ] as const)('fits a URI of up to the version 40 byte capacity at %s (%i)', (level, capacity) => {
    const base = `otpauth://totp/Acme:alice?secret=JBSWY3DPEHPK3PXP&image=`;
    const fits = base + 'x'.repeat(capacity - base.length);
    expect(renderQRCodeSVG(fits, { errorCorrection: level })).toContain('viewBox="0 0 185 185"');
    expect(() => renderQRCodeSVG(`${fits}x`, { errorCorrection: level })).toThrow(
      new RangeError(
        `"uri" is too long for a QR code at error correction '${level}': ` +
          `${capacity + 1} characters, at most ${capacity}`,
      ),
    );
  });

  it('never quotes the secret in an error', () => {
    const secret = 'JBSWY3DPEHPK3PXP';
    for (const bad of [
      `otpauth://totp/Acme:alice?secret=${secret}&digits=9`,
      `otpauth://totp/Acme:é?secret=${secret}`,
    ]) {
      expect(() => renderQRCodeSVG(bad)).toThrow();
      try {
        renderQRCodeSVG(bad);
      } catch (error) {
        expect(String(error)).not.toContain(secret);
      }
    }
  });

  it.each([
    [
      { errorCorrection: 'L' },
      RangeError,
      /"errorCorrection" must be 'low', 'medium', 'quartile' or 'high'/,
    ],
    [{ errorCorrection: 1 }, TypeError, /"errorCorrection" must be .*, got 1/],
    [{ quietZone: -1 }, RangeError, /"quietZone" must be an integer from 0 to 16, got -1/],
    [{ quietZone: 17 }, RangeError, /"quietZone" must be an integer from 0 to 16, got 17/],
    [{ quietZone: 1.5 }, RangeError, /"quietZone"/],
    [{ quietZone: '4' }, TypeError, /"quietZone" must be an integer/],
    [{ moduleSize: 0 }, RangeError, /"moduleSize" must be an integer from 1 to 64, got 0/],
    [{ moduleSize: 65 }, RangeError, /"moduleSize"/],
    [null, TypeError, /"options" must be an object, got null/],
    ['big', TypeError, /"options" must be an object/],
  ])('refuses the options %o', (options, type, message) => {
    expect(() => renderQRCodeSVG(uri, options as never)).toThrow(type);
    expect(() => renderQRCodeSVG(uri, options as never)).toThrow(message);
  });

  it('checks the terminal options too', () => {
    expect(() => renderQRCodeTerminal(uri, { quietZone: 99 })).toThrow(/"quietZone"/);
    expect(() => renderQRCodeTerminal(uri, { errorCorrection: 'max' as never })).toThrow(
      /"errorCorrection"/,
    );
    expect(() => renderQRCodeTerminal(uri, null as never)).toThrow(/"options" must be an object/);
  });
});
