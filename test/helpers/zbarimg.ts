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
