// scripts/import-graph.mjs (`npm run check:imports`, in CI) on small trees
// with one known fault each, and on the repository itself: it must find each
// fault, and pass a tree without one. The rules are CONTRIBUTING.md's
// "Layers and imports".
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const script = join(import.meta.dirname, '..', 'scripts', 'import-graph.mjs');
const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** Writes `files` (path → source) under a new directory and runs the script on it. */
async function graph(files: Record<string, string>): Promise<{ status: number; output: string }> {
  const root = mkdtempSync(join(tmpdir(), 'totpkit-graph-'));
  made.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return new Promise((done) => {
    execFile(process.execPath, [script, '--root', root], (error, stdout, stderr) => {
      done({ status: error === null ? 0 : Number(error.code), output: `${stdout}${stderr}` });
    });
  });
}

/** A tree that keeps every rule: each layer imports the one below. */
const sound = {
  'src/index.ts': "export { flow } from './mfa/flow.ts';\nexport { hash } from './hash.ts';\n",
  'src/hash.ts': "import { check } from './_check.ts';\nexport const hash = check;\n",
  'src/_check.ts': 'export const check = 1;\n',
  'src/store/memory.ts': "import { hash } from '../hash.ts';\nexport const memory = hash;\n",
  'src/store/_codec.ts':
    "import type { memory } from './memory.ts';\nexport type C = typeof memory;\n",
  'src/store/redis/script.ts': "import type { C } from '../_codec.ts';\nexport type S = C;\n",
  'src/mfa/flow.ts': "import { memory } from '../store/memory.ts';\nexport const flow = memory;\n",
  'src/cli.ts': "import { run } from './cli/run.ts';\nrun();\n",
  'src/cli/run.ts':
    "/**\n * The command (internal).\n * @module\n * @internal\n */\nimport { flow } from '../mfa/flow.ts';\nexport const run = () => flow;\n",
};

// Each run loads TypeScript (a second or two): they run side by side.
describe.concurrent('scripts/import-graph.mjs', () => {
  it('passes a tree that keeps the rules, and counts its layers and imports', async () => {
    const { status, output } = await graph(sound);
    expect(output).toContain('import graph: 0 imports back up, 0 cycles, 0 private imports');
    expect(output).toMatch(/primitives\s+2 files/);
    expect(output).toMatch(/store\s+3 files/);
    expect(output).toContain('(9 files, 9 imports)');
    expect(status).toBe(0);
  });

  it('fails on an import back up the layers (store → mfa), naming both files', async () => {
    const { status, output } = await graph({
      ...sound,
      'src/store/memory.ts':
        "import { hash } from '../hash.ts';\nimport type { flow } from '../mfa/flow.ts';\nexport const memory = hash;\nexport type F = typeof flow;\n",
    });
    expect(output).toContain('Imports back up the layers: 1');
    expect(output).toContain('src/store/memory.ts (store) → src/mfa/flow.ts (mfa)');
    expect(status).toBe(1);
  });

  it('fails on a cycle, type-only imports included', async () => {
    const { status, output } = await graph({
      ...sound,
      'src/_check.ts':
        "import type { hash } from './hash.ts';\nexport const check = 1;\nexport type H = typeof hash;\n",
    });
    expect(output).toContain('Cycles: 1');
    expect(output).toContain('src/_check.ts ⇄ src/hash.ts');
    expect(status).toBe(1);
  });

  it("fails on another folder's private file: a `_` file, or a module marked @internal", async () => {
    const { status, output } = await graph({
      ...sound,
      'src/store/redis/script.ts':
        "/**\n * Lua (internal).\n * @module\n * @internal\n */\nimport type { C } from '../_codec.ts';\nexport type S = C;\n",
      'src/mfa/flow.ts':
        "import { memory } from '../store/memory.ts';\nimport type { C } from '../store/_codec.ts';\nimport type { S } from '../store/redis/script.ts';\nexport const flow = memory;\nexport type D = [C, S];\n",
    });
    expect(output).toContain("Imports of another folder's private file: 2");
    expect(output).toContain('src/mfa/flow.ts → src/store/_codec.ts (private to src/store/)');
    expect(output).toContain(
      'src/mfa/flow.ts → src/store/redis/script.ts (private to src/store/redis/)',
    );
    // Its own folder may use it (store/redis/script.ts → store/_codec.ts is
    // from below), and so may the file that fronts a folder (cli.ts → cli/run.ts).
    expect(output).not.toContain('src/store/redis/script.ts →');
    expect(output).not.toContain('src/cli.ts →');
    expect(status).toBe(1);
  });

  it('fails when a file imports an entry point that gathers the layers', async () => {
    const { status, output } = await graph({
      ...sound,
      'src/mfa/flow.ts':
        "import { memory } from '../store/memory.ts';\nimport type { hash } from '../index.ts';\nexport const flow = memory;\nexport type H = typeof hash;\n",
    });
    expect(output).toContain('src/mfa/flow.ts (mfa) → src/index.ts (entries)');
    expect(status).toBe(1);
  });
});
