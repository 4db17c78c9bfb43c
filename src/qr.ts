/**
 * QR codes of `otpauth://` key URIs, for an enrollment page (SVG or an `<img>`
 * data URL) or a terminal. Import from `totpkit/qr`; built on `@paulmillr/qr`.
 *
 * The URI is checked with {@link parseKeyURI} before it is drawn: a code that
 * an authenticator app cannot read fails on the user's phone, far from the bug.
 *
 * Defaults: error correction `'medium'` (about 15 % of the code can be damaged
 * and still read), which keeps a typical key URI (100–200 characters) at
 * version 6–10, 41–57 modules across; and a quiet zone of 4 light modules on
 * each side, the minimum ISO/IEC 18004 requires for reliable scanning.
 * @module totpkit/qr
 */
import encodeQR, { utils, type ErrorCorrection } from '@paulmillr/qr';
import { checkInteger, checkOptions, describe } from './_assert.ts';
import { parseKeyURI } from './uri-parse.ts';

/**
 * How much of the symbol can be damaged and still be read: `'low'` ≈ 7 %,
 * `'medium'` ≈ 15 %, `'quartile'` ≈ 25 %, `'high'` ≈ 30 %. Higher levels make
 * the code denser (more modules for the same URI).
 */
export type QRErrorCorrection = 'low' | 'medium' | 'quartile' | 'high';

/** Options shared by every QR renderer. */
export interface QRCodeOptions {
  /** Error correction level. Default `'medium'`. */
  errorCorrection?: QRErrorCorrection;
  /**
   * Width of the light margin around the code, in modules, 0 to 16. Default 4,
   * the ISO/IEC 18004 minimum; use less only if the page supplies a light margin.
   */
  quietZone?: number;
}

/** Options for {@link renderQRCodeSVG} and {@link renderQRCodeDataURL}. */
export interface QRCodeSVGOptions extends QRCodeOptions {
  /**
   * Side of one module in CSS pixels, 1 to 64; sets the SVG's `width` and
   * `height`. Default 4 (a typical code is then about 200 px across). The
   * image scales cleanly if CSS resizes it.
   */
  moduleSize?: number;
}

const LEVELS: readonly QRErrorCorrection[] = ['low', 'medium', 'quartile', 'high'];
const DEFAULTS = Object.freeze({ errorCorrection: 'medium', quietZone: 4, moduleSize: 4 } as const);

interface Checked {
  ecc: ErrorCorrection;
  quietZone: number;
  moduleSize: number;
}

function checkQROptions(options: QRCodeSVGOptions | undefined): Checked {
  const {
    errorCorrection = DEFAULTS.errorCorrection,
    quietZone = DEFAULTS.quietZone,
    moduleSize = DEFAULTS.moduleSize,
  } = checkOptions(options);
  if (!LEVELS.includes(errorCorrection)) {
    const message = `"errorCorrection" must be 'low', 'medium', 'quartile' or 'high'`;
    if (typeof errorCorrection !== 'string') {
      throw new TypeError(`${message}, got ${describe(errorCorrection)}`);
    }
    throw new RangeError(message);
  }
  return {
    ecc: errorCorrection,
    quietZone: checkInteger(quietZone, 'quietZone', 0, 16),
    moduleSize: checkInteger(moduleSize, 'moduleSize', 1, 64),
  };
}

/**
 * The most bytes a version 40 code holds in byte mode at a level: the data
 * capacity less the 4-bit mode indicator and the 16-bit length field.
 */
function byteCapacity(ecc: ErrorCorrection): number {
  return Math.floor((utils.info.capacity(40, ecc).capacity - 4 - 16) / 8);
}

/** Validates the URI and returns the module matrix (true = dark), quiet zone included. */
function encodeMatrix(uri: string, { ecc, quietZone }: Checked): boolean[][] {
  if (typeof uri !== 'string') {
    throw new TypeError(`"uri" must be a string, got ${describe(uri)}`);
  }
  // Byte mode carries no character set, so scanners would have to guess one
  // for anything but ASCII. buildKeyURI percent-encodes everything else.
  if (!/^[\x21-\x7e]*$/.test(uri)) {
    throw new RangeError(
      '"uri" must contain only printable ASCII characters; percent-encode the rest (buildKeyURI does)',
    );
  }
  const capacity = byteCapacity(ecc);
  if (uri.length > capacity) {
    throw new RangeError(
      `"uri" is too long for a QR code at error correction '${ecc}': ` +
        `${uri.length} characters, at most ${capacity}`,
    );
  }
  parseKeyURI(uri);
  return encodeQR(uri, 'raw', { ecc, encoding: 'byte', border: quietZone });
}

/**
 * Renders a key URI as an SVG image: one `<path>` of dark modules on a white
 * square, `shape-rendering="crispEdges"`, with `width` and `height` set from
 * `moduleSize` and a `viewBox` in modules. Embed it in HTML as is, or use
 * {@link renderQRCodeDataURL} for an `<img>`. Show the secret as text next to it
 * for users who cannot scan.
 *
 * @param uri - an `otpauth://` key URI, e.g. from `buildKeyURI`; printable ASCII only
 * @param options - `errorCorrection` (default `'medium'`), `quietZone` (4 modules),
 *   `moduleSize` (4 px)
 * @returns the SVG document as a string
 * @throws TypeError if `uri` is not a string or an option has the wrong type
 * @throws RangeError if `uri` has non-ASCII characters or is too long for a QR
 *   code at the chosen level, or an option is out of range
 * @throws KeyURIError if `uri` is not a valid key URI (see `parseKeyURI`)
 * @example
 * ```ts
 * import { buildKeyURI, generateSecret } from 'totpkit';
 * import { renderQRCodeSVG } from 'totpkit/qr';
 * const uri = buildKeyURI({ secret: generateSecret(), issuer: 'Acme', accountName: 'alice@example.com' });
 * const svg = renderQRCodeSVG(uri); // '<svg xmlns="http://www.w3.org/2000/svg" width="…'
 * ```
 */
export function renderQRCodeSVG(uri: string, options?: QRCodeSVGOptions): string {
  const checked = checkQROptions(options);
  const matrix = encodeMatrix(uri, checked);
  const n = matrix.length;
  const px = n * checked.moduleSize;
  let path = '';
  matrix.forEach((row, y) => {
    for (let x = 0; x < n;) {
      if (!row[x]) {
        x++;
        continue;
      }
      const start = x;
      while (row[x]) x++;
      path += `M${start} ${y}h${x - start}v1h${start - x}z`;
    }
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${px}" height="${px}" ` +
    `viewBox="0 0 ${n} ${n}" shape-rendering="crispEdges">` +
    `<rect width="${n}" height="${n}" fill="#fff"/><path d="${path}" fill="#000"/></svg>`
  );
}

/**
 * Renders a key URI as a `data:image/svg+xml;base64,…` URL for an `<img>` tag.
 * The image is the one {@link renderQRCodeSVG} draws. A Content Security
 * Policy must allow it with `img-src data:`; otherwise inline the SVG.
 *
 * @param uri - an `otpauth://` key URI; printable ASCII only
 * @param options - as for {@link renderQRCodeSVG}
 * @returns the data URL
 * @throws TypeError / RangeError / KeyURIError as {@link renderQRCodeSVG} does
 * @example
 * ```ts
 * import { buildKeyURI, generateSecret } from 'totpkit';
 * import { renderQRCodeDataURL } from 'totpkit/qr';
 * const uri = buildKeyURI({ secret: generateSecret(), issuer: 'Acme', accountName: 'alice@example.com' });
 * const html = `<img src="${renderQRCodeDataURL(uri)}" alt="QR code for your authenticator app">`;
 * ```
 */
export function renderQRCodeDataURL(uri: string, options?: QRCodeSVGOptions): string {
  // The SVG is ASCII, so btoa (present in Node, Bun, Deno and browsers) is exact.
  return `data:image/svg+xml;base64,${btoa(renderQRCodeSVG(uri, options))}`;
}

// Two rows of modules per line of text: [top dark][bottom dark] → character.
const HALF_BLOCKS = [' ', '▄', '▀', '█'] as const;
// Black on bright white, set explicitly so the code reads the same on dark and
// light terminal themes (many scanners cannot read an inverted code).
const ANSI_START = '\x1b[30;107m';
const ANSI_END = '\x1b[0m';

/**
 * Renders a key URI for a terminal: Unicode half blocks (`▀ ▄ █`), two module
 * rows per line, in black on bright white set with ANSI colour codes so that
 * dark and light terminal themes show the same, scannable code. Lines end with
 * `\n`. Needs a terminal at least as wide as the code (about 50–65 columns for
 * a typical key URI).
 *
 * @param uri - an `otpauth://` key URI; printable ASCII only
 * @param options - `errorCorrection` (default `'medium'`), `quietZone` (4 modules)
 * @returns the text to write to the terminal
 * @throws TypeError / RangeError / KeyURIError as {@link renderQRCodeSVG} does
 * @example
 * ```ts
 * import { buildKeyURI, generateSecret } from 'totpkit';
 * import { renderQRCodeTerminal } from 'totpkit/qr';
 * const uri = buildKeyURI({ secret: generateSecret(), issuer: 'Acme', accountName: 'alice@example.com' });
 * process.stdout.write(renderQRCodeTerminal(uri));
 * ```
 */
export function renderQRCodeTerminal(uri: string, options?: QRCodeOptions): string {
  const { errorCorrection, quietZone } = checkOptions(options);
  const checked = checkQROptions({
    ...(errorCorrection === undefined ? {} : { errorCorrection }),
    ...(quietZone === undefined ? {} : { quietZone }),
  });
  const matrix = encodeMatrix(uri, checked);
  let out = '';
  for (let y = 0; y < matrix.length; y += 2) {
    const top = matrix[y] as boolean[];
    // An odd last row is paired with a light one.
    const bottom = matrix[y + 1];
    let line = '';
    for (let x = 0; x < top.length; x++) {
      line += HALF_BLOCKS[(top[x] ? 2 : 0) + (bottom?.[x] ? 1 : 0)];
    }
    out += `${ANSI_START}${line}${ANSI_END}\n`;
  }
  return out;
}
