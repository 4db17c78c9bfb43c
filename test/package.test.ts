// package.json and tsconfig.json as a newcomer meets them: the start scripts
// run from source (no build), with the same mapping of `totpkit/…` to src/
// that the tests use; packing builds; metadata is there.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entry as entries } from '../tsup.config.ts';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  scripts: Record<string, string>;
  homepage?: string;
  files: string[];
};
const tsconfig = JSON.parse(readFileSync('tsconfig.json', 'utf8')) as {
  compilerOptions: { paths: Record<string, string[]> };
};

describe('package.json and tsconfig.json', () => {
  it('demo, quickstart and examples start from source, without building dist/', () => {
    for (const name of ['demo', 'quickstart', 'examples']) {
      const script = pkg.scripts[name] ?? '';
      expect(script, name).toMatch(/^tsx /);
      expect(script, name).not.toMatch(/\btsup\b|npm run build/);
    }
  });

  it("maps every entry point to its source for tsx and tsc, as vitest's aliases do", () => {
    const expected = Object.fromEntries(
      Object.entries(entries)
        .filter(([name]) => name !== 'cli')
        .map(([name, source]) => [name === 'index' ? 'totpkit' : `totpkit/${name}`, source]),
    );
    const paths = Object.fromEntries(
      Object.entries(tsconfig.compilerOptions.paths).map(([name, [target]]) => [
        name,
        target ?? '',
      ]),
    );
    expect(Object.keys(paths).sort()).toEqual(Object.keys(expected).sort());
    for (const [name, source] of Object.entries(expected)) {
      expect(resolve(paths[name] ?? ''), name).toBe(resolve(source));
    }
  });

  it('packing builds dist/ first, and ships no source maps', () => {
    expect(pkg.scripts.prepack).toMatch(/\btsup\b|npm run build/);
    expect(pkg.files).toContain('dist');
    expect(pkg.files).toContain('!dist/**/*.map');
  });

  it('names a homepage, and ships the docs the README links to', () => {
    expect(pkg.homepage).toMatch(/^https:\/\//);
    expect(pkg.files).toEqual(expect.arrayContaining(['docs', '!docs/api', 'examples']));
  });
});
