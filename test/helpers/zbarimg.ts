// Decoding QR codes with zbarimg (Debian zbar-tools), an implementation
// independent of the encoder under test.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Decodes the one QR code in an image file; rejects if there is none. */
export function decodeQRFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'zbarimg',
      ['--quiet', '--raw', '-Sdisable', '-Sqrcode.enable', path],
      { encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`zbarimg found no QR code in ${path}: ${stderr || error}`));
        else resolve(stdout.replace(/\n$/, ''));
      },
    );
  });
}

/**
 * Encodes a module matrix (true = dark) as a binary PGM image, `scale` pixels
 * per module, so that the matrix itself can be handed to zbarimg.
 */
export function matrixToPGM(matrix: readonly (readonly boolean[])[], scale = 4): Uint8Array {
  const size = matrix.length * scale;
  const header = new TextEncoder().encode(`P5\n${size} ${size}\n255\n`);
  const pixels = new Uint8Array(size * size).fill(255);
  matrix.forEach((row, y) =>
    row.forEach((dark, x) => {
      if (!dark) return;
      for (let dy = 0; dy < scale; dy++) {
        pixels.fill(
          0,
          (y * scale + dy) * size + x * scale,
          (y * scale + dy) * size + (x + 1) * scale,
        );
      }
    }),
  );
  const out = new Uint8Array(header.length + pixels.length);
  out.set(header);
  out.set(pixels, header.length);
  return out;
}

/** A temporary directory for images, removed by `cleanup`. */
export function imageDir(): {
  path: (name: string) => string;
  write: (name: string, data: Uint8Array) => string;
  cleanup: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'totpkit-qr-'));
  return {
    path: (name) => join(dir, name),
    write: (name, data) => {
      const file = join(dir, name);
      writeFileSync(file, data);
      return file;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const ANSI_START = '\x1b[30;107m';
const ANSI_END = '\x1b[0m';

/**
 * Reads a terminal rendering (half blocks, black on white, two module rows per
 * line) back into a module matrix (true = dark). Throws if it is not exactly
 * that form.
 */
export function terminalToMatrix(text: string): boolean[][] {
  const lines = text.split('\n');
  if (lines.pop() !== '') throw new Error('the rendering must end with a newline');
  const rows: boolean[][] = [];
  for (const line of lines) {
    if (!line.startsWith(ANSI_START) || !line.endsWith(ANSI_END)) {
      throw new Error(
        `a line is not wrapped in black-on-white colour codes: ${JSON.stringify(line)}`,
      );
    }
    const chars = [...line.slice(ANSI_START.length, -ANSI_END.length)];
    if (chars.some((c) => !' ▀▄█'.includes(c))) throw new Error('a character is not a half block');
    rows.push(chars.map((c) => c === '▀' || c === '█'));
    rows.push(chars.map((c) => c === '▄' || c === '█'));
  }
  const width = rows[0]?.length ?? 0;
  // An odd number of module rows leaves one light padding row at the bottom.
  if (rows.length === width + 1 && !rows[width]?.some(Boolean)) rows.pop();
  if (rows.length !== width || rows.some((row) => row.length !== width)) {
    throw new Error(`the rendering is not square: ${width} wide, ${rows.length} high`);
  }
  return rows;
}
