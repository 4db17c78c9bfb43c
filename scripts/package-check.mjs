#!/usr/bin/env node
// Checks the PACKED package, as a user receives it:
//
// 1. `npm pack` builds it (the `prepack` script) and the tarball holds every
//    target of `exports` (every condition, types included), `main`, `types` and
//    the `bin`; no source maps (they pointed to src/, which is not shipped);
//    every relative link in a shipped Markdown file points to a shipped file.
// 2. TypeScript in a new project, against the installed tarball: the settings
//    the README's install section recommends compile; the ones it warns about
//    fail with the errors it names (TS1479, TS2307). If TypeScript changes its
//    behaviour, this fails and the README must change with it.
//
//   npm run check:package            (add -- --keep to keep the temporary project)
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const keep = process.argv.includes('--keep');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

function run(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', stdio: 'pipe' });
  if (result.error) throw result.error;
  return {
    status: result.status,
    stdout: result.stdout,
    output: `${result.stdout}${result.stderr}`,
  };
}

function must(command, args, cwd) {
  const result = run(command, args, cwd);
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${result.status}:\n${result.output}`);
  }
  return result.stdout;
}

/** Every string target under an `exports` value (conditions nested at any depth). */
function exportTargets(value) {
  if (typeof value === 'string') return [value];
  if (value === null || typeof value !== 'object') return [];
  return Object.values(value).flatMap(exportTargets);
}

const problems = [];
const work = mkdtempSync(join(tmpdir(), 'totpkit-package-'));
try {
  console.log('== npm pack (prepack builds)');
  rmSync(join(root, 'dist'), { recursive: true, force: true }); // packing must build it
  // The prepack script's own output comes before npm's JSON.
  const out = must('npm', ['pack', '--json', '--pack-destination', work], root);
  const [packed] = JSON.parse(out.slice(out.search(/^\[/m)));
  const files = new Set(packed.files.map((file) => normalize(file.path)));
  console.log(
    `packed ${packed.filename}: ${packed.entryCount} files, ` +
      `${packed.size} bytes packed, ${packed.unpackedSize} bytes unpacked`,
  );

  const wanted = new Set(
    [
      ...exportTargets(pkg.exports),
      pkg.main,
      pkg.types,
      ...Object.values(typeof pkg.bin === 'string' ? { totpkit: pkg.bin } : (pkg.bin ?? {})),
    ].filter((target) => typeof target === 'string' && !target.includes('*')),
  );
  for (const target of wanted) {
    if (!files.has(normalize(target)))
      problems.push(`${target} is named in package.json but not packed`);
  }
  console.log(`${wanted.size} targets of exports/main/types/bin checked`);

  for (const file of files) {
    if (file.endsWith('.map')) problems.push(`${file}: a source map is packed`);
  }

  let links = 0;
  for (const file of files) {
    if (!file.endsWith('.md')) continue;
    const text = readFileSync(join(root, file), 'utf8').replace(/```[\s\S]*?```/g, '');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z][a-z0-9+.-]*:|^#/i.test(target)) continue; // absolute URL or anchor
      links++;
      // A file, or a folder (with or without a trailing slash) holding packed files.
      const path = normalize(join(dirname(file), decodeURI(target.split('#')[0]))).replace(
        /\/$/,
        '',
      );
      const isDir = [...files].some((f) => f.startsWith(`${path}/`));
      if (!files.has(path) && !isDir) {
        problems.push(`${file}: the link ${target} points to ${path}, which is not packed`);
      }
    }
  }
  console.log(`${links} relative links in packed Markdown checked`);

  console.log('== TypeScript in a new project, against the installed tarball');
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
  must(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, packed.filename)],
    app,
  );
  const source = [
    "import { createMFA, generateTOTP, MemoryStore, plaintextCipher } from 'totpkit';",
    "import { renderQRCodeSVG } from 'totpkit/qr';",
    "import type { PostgresStore } from 'totpkit/postgres';",
    "import { attemptDelayMs, type UserRecord } from 'totpkit/store';",
    "import type { RedisStore } from 'totpkit/redis';",
    "import type { SQLiteStore } from 'totpkit/sqlite';",
    "import type { MySQLStore } from 'totpkit/mysql';",
    "import type { testMFAStore } from 'totpkit/testing';",
    "const mfa = createMFA({ store: new MemoryStore(), issuer: 'Acme', cipher: plaintextCipher() });",
    'const code: string = generateTOTP(new Uint8Array(20), { now: 59_000 });',
    "const svg: string = renderQRCodeSVG('otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&issuer=A');",
    'export type Used = [typeof mfa, typeof code, typeof svg, PostgresStore, RedisStore, SQLiteStore, MySQLStore, typeof testMFAStore];',
    'export type Store = [typeof attemptDelayMs, UserRecord];',
    '',
  ].join('\n');
  const base = { strict: true, skipLibCheck: true, noEmit: true, target: 'es2022', types: [] };
  const cases = [
    // [name, package.json "type", compilerOptions, expected error code or undefined]
    ['ESM, module nodenext', 'module', { module: 'nodenext', moduleResolution: 'nodenext' }],
    ['ESM, moduleResolution bundler', 'module', { module: 'esnext', moduleResolution: 'bundler' }],
    ['CommonJS, module nodenext', 'commonjs', { module: 'nodenext', moduleResolution: 'nodenext' }],
    [
      'CommonJS, module node16',
      'commonjs',
      { module: 'node16', moduleResolution: 'node16' },
      'TS1479',
    ],
    [
      'CommonJS, module commonjs',
      'commonjs',
      { module: 'commonjs', moduleResolution: 'node10' },
      'TS2307',
    ],
  ];
  for (const [name, type, options, expected] of cases) {
    const dir = join(app, name.replace(/\W+/g, '-'));
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type }));
    writeFileSync(join(dir, 'index.ts'), source);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { ...base, ...options }, files: ['index.ts'] }),
    );
    const result = run(process.execPath, [tsc, '-p', 'tsconfig.json'], dir);
    const codes = [...new Set(result.output.match(/TS\d+/g) ?? [])];
    const ok =
      expected === undefined
        ? result.status === 0
        : result.status !== 0 && codes.includes(expected);
    console.log(
      `${ok ? 'ok' : 'FAILED'} ${name}: ${result.status === 0 ? 'compiles' : `fails with ${codes.join(', ')}`}` +
        `${expected === undefined ? '' : ` (the README says ${expected})`}`,
    );
    if (!ok) problems.push(`${name}: ${result.output.trim()}`);
  }
} catch (error) {
  problems.push(error.message);
} finally {
  if (keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
for (const problem of problems) console.error(`FAILED: ${problem}`);
console.log(
  problems.length === 0 ? 'package check passed' : `package check: ${problems.length} failed`,
);
process.exit(problems.length === 0 ? 0 : 1);
