// Finding the external programs the tests compare against (zbarimg, chromium,
// oathtool). Under CI a missing program fails the run; locally the test is
// skipped with the reason printed, so a contributor without them can still run
// the rest.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { isCI } from './oathtool.ts';

/** The absolute path of `name` on PATH, or undefined. */
export function findProgram(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * Returns whether `name` is available. If not: throws under `CI` (the run must
 * not pass by skipping), otherwise prints why the dependent tests are skipped.
 */
export function requireProgram(name: string, debianPackage: string): boolean {
  if (findProgram(name) !== undefined) return true;
  const reason = `${name} not found on PATH (Debian package ${debianPackage})`;
  if (isCI) throw new Error(`${reason}; it is required under CI`);
  console.warn(`skipping tests that need ${name}: ${reason}`);
  return false;
}
