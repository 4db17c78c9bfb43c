#!/usr/bin/env node
// Type-checks every TypeScript sample users read: each ```ts (or
// ```typescript) block in README.md, docs/**/*.md (not the generated
// docs/api/) and examples/**/README.md, and each ```ts block of a TSDoc
// `@example` in src/. The convention (CONTRIBUTING.md, "Code samples"):
//
// - A ```ts block is a complete module: its imports, its declarations. Values
//   the reader brings (a pg.Pool, the user) are declared in the block with
//   `declare const pool: Pool;`, so the sample states their types.
// - A deliberately partial block is marked ```ts fragment. It is checked as
//   part of a larger program: the values an application supplies (`user`,
//   `mfa`, `pool`, `code`, …; scripts/sample-context.d.ts) are declared for it,
//   and every export of `totpkit` it uses but does not import is imported.
// - ```ts skip: not checked at all (an interface member, a signature); the
//   run counts them, so that they stay few.
//
// Each sample becomes a module under node_modules/.cache/totpkit-samples/,
// checked in one tsc run with the repository's tsconfig (strict, `totpkit/…`
// mapped to src/, otplib, otpauth and speakeasy from devDependencies). Errors
// are reported at the sample's own file and line. Exit status 1 on any error.
//
//   npm run check:samples
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'node_modules', '.cache', 'totpkit-samples');

function walk(dir, keep) {
  const found = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && path !== join('docs', 'api'))
        found.push(...walk(path, keep));
    } else if (keep(path)) found.push(path);
  }
  return found;
}

/**
 * The fenced blocks of `text` (lines already stripped of any comment prefix):
 * [info string, first line number (1-based), code].
 */
function blocks(lines, lineOf) {
  const found = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,})\s*(\S*)\s*(.*)$/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, lang, rest] = open;
    const body = [];
    let j = i + 1;
    for (; j < lines.length && !new RegExp(`^\\s*${fence}\\s*$`).test(lines[j]); j++) {
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j]);
    }
    found.push({ lang, info: rest, line: lineOf(i + 1), code: body.join('\n') });
    i = j;
  }
  return found;
}

const samples = [];
for (const file of [
  'README.md',
  ...walk('docs', (path) => path.endsWith('.md')),
  ...walk('examples', (path) => path.endsWith('README.md')),
]) {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  for (const block of blocks(lines, (i) => i)) samples.push({ file, ...block });
}
for (const file of walk('src', (path) => path.endsWith('.ts'))) {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  // The lines of each /** … */ comment, without the leading " * ".
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*\/\*\*/.test(lines[i])) continue;
    const start = i;
    const body = [];
    for (; i < lines.length; i++) {
      body.push(lines[i].replace(/^\s*\/?\*+\/?\s?/, '').replace(/\*\/\s*$/, ''));
      if (lines[i].includes('*/')) break;
    }
    const text = body.join('\n');
    if (!text.includes('@example')) continue;
    // Only the blocks after an @example tag.
    const exampleAt = body.findIndex((line) => line.includes('@example'));
    for (const block of blocks(body.slice(exampleAt), (n) => start + exampleAt + n)) {
      samples.push({ file, ...block });
    }
  }
}

const typescript = samples.filter((s) => s.lang === 'ts' || s.lang === 'typescript');
const checked = typescript.filter((s) => !/\bskip\b/.test(s.info));
const skipped = typescript.length - checked.length;

// The value and type exports of `totpkit`, `totpkit/qr` and `totpkit/store`,
// for fragments.
const qrExports = [
  ...readFileSync(join(root, 'src', 'qr.ts'), 'utf8').matchAll(
    /^export (?:function|const|type|interface) (\w+)/gm,
  ),
].map(([, name]) => name);
/** The names an entry point re-exports (`export { … }` and `export type { … }`). */
const reexports = (file) =>
  [
    ...readFileSync(join(root, 'src', file), 'utf8').matchAll(/export (?:type )?\{([^}]*)\}/g),
  ].flatMap(([, names]) =>
    names
      .split(',')
      .map((name) => name.replace(/^\s*type\s+/, '').trim())
      .filter(Boolean),
  );
const exported = reexports('index.ts');
// `totpkit/store`'s own names (the ones `totpkit` does not export too).
const storeExports = reexports('store.ts').filter((name) => !exported.includes(name));

/** The code of a fragment with the totpkit exports it uses but does not import. */
function completeFragment(code) {
  const imported = new Set(
    [...code.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}/g)].flatMap(([, names]) =>
      names.split(',').map((name) =>
        name
          .replace(/^\s*type\s+/, '')
          .split(/\s+as\s+/)
          .pop()
          .trim(),
      ),
    ),
  );
  const uses = (names) =>
    names.filter((name) => !imported.has(name) && new RegExp(`\\b${name}\\b`).test(code));
  // On the same line as the code's first line, so that line numbers stay right.
  const lines = [
    [uses(exported), 'totpkit'],
    [uses(qrExports), 'totpkit/qr'],
    [uses(storeExports), 'totpkit/store'],
  ].map(([names, from]) =>
    names.length === 0 ? '' : `import { ${names.join(', ')} } from '${from}'; `,
  );
  return `${lines.join('')}${code}`;
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const names = checked.map((sample, n) => {
  const name = `${String(n).padStart(3, '0')}-${sample.file.replace(/\W+/g, '_')}-${sample.line}.ts`;
  // `export {}` makes every sample a module of its own, so their names never clash.
  const code = /\bfragment\b/.test(sample.info) ? completeFragment(sample.code) : sample.code;
  writeFileSync(join(out, name), `${code}\nexport {};\n`);
  return name;
});
// Two programs: complete samples alone, fragments with the application context.
const isFragment = (sample) => /\bfragment\b/.test(sample.info);
const errors = [];
let failed = false;
for (const [config, fragments] of [
  ['tsconfig.complete.json', false],
  ['tsconfig.fragments.json', true],
]) {
  const files = names.filter((_, n) => isFragment(checked[n]) === fragments);
  if (files.length === 0) continue;
  if (fragments) {
    for (const file of ['sample-context.d.ts', 'sample-modules.d.ts']) {
      files.push(relative(out, join(root, 'scripts', file)));
    }
  }
  writeFileSync(
    join(out, config),
    JSON.stringify({
      extends: relative(out, join(root, 'tsconfig.json')),
      compilerOptions: { noUnusedLocals: false, noEmit: true },
      files,
    }),
  );
  const result = spawnSync(
    process.execPath,
    [
      join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
      ['-p', join(out, config), '--pretty', 'false'],
    ].flat(),
    { cwd: root, encoding: 'utf8' },
  );
  if (result.status !== 0) failed = true;
  for (const line of `${result.stdout}${result.stderr}`.split('\n')) {
    const match = /totpkit-samples\/(\d{3})-[^(]*\((\d+),(\d+)\): (.*)$/.exec(line);
    if (match) {
      const sample = checked[Number(match[1])];
      errors.push(`${sample.file}:${sample.line + Number(match[2])}: ${match[4]}`);
    } else if (line.trim() !== '') errors.push(line);
  }
}
for (const error of errors) console.error(error);
console.log(
  `${checked.length} TypeScript samples type-checked ` +
    `(${checked.filter(isFragment).length} of them fragments; ` +
    `${skipped} marked skip): ` +
    (errors.length === 0 && !failed ? 'all pass' : `${errors.length} errors`),
);
process.exit(errors.length === 0 && !failed ? 0 : 1);
