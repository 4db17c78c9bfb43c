// Finding the external programs the tests compare against (zbarimg, chromium,
// oathtool). Whether a missing one fails the run or skips the tests that need
// it is decided by ./integration.ts.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { type Dependency, mayRun } from './integration.ts';

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
 * Returns whether the tests that need `name` run. If it is missing: throws
 * under `CI` (the run must not pass by skipping), otherwise records why the
 * dependent tests are skipped. `kind` 'browser' is also left out of the unit tier.
 */
export function requireProgram(
  name: string,
  debianPackage: string,
  kind: Dependency = 'program',
): boolean {
  const missing =
    findProgram(name) === undefined
      ? `${name} not found on PATH (Debian package ${debianPackage})`
      : undefined;
  return mayRun(name, kind, missing);
}
