// SQLiteStore on Bun's bun:sqlite: runs sqlite.bun.ts with `bun test` (the
// `bun` devDependency) and checks that every test ran and passed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { mayRun } from '../helpers/integration.ts';
import { bunPath } from './workers.ts';

const haveBun = mayRun(
  'bun:sqlite',
  'program',
  existsSync(bunPath()) ? undefined : 'the bun devDependency is not installed (npm ci installs it)',
);
const root = fileURLToPath(new URL('../../', import.meta.url));

describe.skipIf(!haveBun)('SQLiteStore on bun:sqlite (bun test)', () => {
  it('passes the conformance suite, the adapter cases and the SQL-level cases', () => {
    const result = spawnSync(bunPath(), ['test', './test/store/sqlite.bun.ts'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 240_000,
    });
    const output = `${result.stdout}${result.stderr}`;
    const count = (word: string) => Number(new RegExp(`^ *(\\d+) ${word}$`, 'm').exec(output)?.[1]);
    expect(result.status, output.slice(-4000)).toBe(0);
    expect(count('fail'), output.slice(-4000)).toBe(0);
    // The whole suite ran: its tests are many more than these (65 conformance
    // tests alone in 0.2).
    expect(count('pass')).toBeGreaterThan(80);
    expect(output).toContain('MFAStore conformance: SQLiteStore (bun:sqlite)');
  }, 300_000);
});
