#!/usr/bin/env node
// Smoke test of the PACKED package on Node, Bun and Deno: builds, runs
// `npm pack`, installs the tarball into a temporary project, and runs
// runtime-smoke.check.mjs under each runtime (and the .cjs check with require()
// on Node), then the installed `totpkit` binary. Then the web build as a
// bundler gets it: the same check bundled by esbuild from the installed package
// with the `browser` condition and no Node polyfills (the bundle must come from
// dist/web/ and need no `node:` module nor thirty-two), run on Node and Deno.
// Exits 1 if any of them fails.
//
//   npm run smoke:runtimes            (add -- --keep to keep the temporary project)
//
// Bun and Deno come from the npm packages `bun` and `deno` (dev dependencies).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const keep = process.argv.includes('--keep');
const bin = (name) => join(root, 'node_modules', '.bin', name);

function sh(command, args, cwd, { capture = false } = {}) {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit',
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    if (capture) process.stderr.write(result.stdout + result.stderr);
    throw new Error(`${command} ${args.join(' ')} exited with ${result.status}`);
  }
  return result.stdout;
}

const work = mkdtempSync(join(tmpdir(), 'totpkit-smoke-'));
let failed = 0;
try {
  console.log('== build and pack');
  sh('npm', ['run', '--silent', 'build'], root);
  const [packed] = JSON.parse(
    sh('npm', ['pack', '--json', '--pack-destination', work], root, { capture: true }),
  );
  const tarball = join(work, packed.filename);
  console.log(`packed ${packed.filename}: ${packed.entryCount} files, ${packed.size} bytes`);

  console.log('== install the tarball into a new project');
  const app = join(work, 'app');
  sh('mkdir', ['-p', app]);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'totpkit-smoke', private: true, type: 'module' }, null, 2),
  );
  sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], app);
  for (const file of ['runtime-smoke.check.mjs', 'runtime-smoke.check.cjs']) {
    copyFileSync(join(root, 'scripts', file), join(app, file));
  }

  console.log('== bundle the check for the browser from the installed package');
  const esbuild = await import('esbuild');
  const bundled = await esbuild.build({
    entryPoints: [join(app, 'runtime-smoke.check.mjs')],
    absWorkingDir: app,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    metafile: true,
    outfile: join(app, 'runtime-smoke.web.mjs'),
    // The check imports bun:sqlite only when it runs on Bun.
    external: ['bun:sqlite'],
    logLevel: 'error',
  });
  const inputs = Object.keys(bundled.metafile.inputs);
  const web = inputs.filter((file) => file.startsWith('node_modules/totpkit/dist/web/'));
  const wrong = inputs.filter((file) =>
    /^node:|thirty-two|node_modules\/totpkit\/dist\/[^/]+$/.test(file),
  );
  if (web.length === 0 || wrong.length > 0) {
    throw new Error(`the browser bundle took ${wrong.join(', ') || 'nothing from dist/web/'}`);
  }
  console.log(`${inputs.length} files, ${web.length} of them from totpkit/dist/web/`);

  const runs = [
    ['node', process.execPath, ['runtime-smoke.check.mjs']],
    ['node require()', process.execPath, ['runtime-smoke.check.cjs']],
    ['bun', bin('bun'), ['runtime-smoke.check.mjs']],
    // No permissions granted: the library needs none.
    ['deno', bin('deno'), ['run', '--no-prompt', 'runtime-smoke.check.mjs']],
    ['web build on node', process.execPath, ['runtime-smoke.web.mjs']],
    ['web build on deno', bin('deno'), ['run', '--no-prompt', 'runtime-smoke.web.mjs']],
    [
      'totpkit binary',
      join(app, 'node_modules', '.bin', 'totpkit'),
      ['code', '--secret', 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', '--time', '59', '--digits', '8'],
      '94287082\n',
    ],
  ];
  for (const [name, command, args, expected] of runs) {
    console.log(`== ${name}`);
    const result = spawnSync(command, args, { cwd: app, encoding: 'utf8' });
    process.stdout.write(result.stdout ?? '');
    process.stderr.write(result.stderr ?? '');
    const ok =
      !result.error &&
      result.status === 0 &&
      (expected === undefined || result.stdout === expected);
    if (!ok) {
      failed++;
      console.error(
        `FAILED: ${name} (${result.error?.message ?? `exit status ${result.status}`}` +
          `${expected === undefined ? '' : `, expected output ${JSON.stringify(expected)}`})`,
      );
    }
  }
} catch (error) {
  failed++;
  console.error(`FAILED: ${error.message}`);
} finally {
  if (keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
console.log(failed === 0 ? 'runtime smoke test passed' : `runtime smoke test: ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
