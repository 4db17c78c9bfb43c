#!/usr/bin/env node
// Runs the README's set-up commands, exactly as written there, on a clean
// clone of this checkout (`git clone` of the committed HEAD into a temporary
// directory: no node_modules, no dist/, no .data/).
//
// The commands are read from README.md, from the ```sh block that follows the
// `<!-- readme-commands -->` marker: one line runs the demo (`npm run demo`),
// one the tests (`npm test`). Nothing is copied into this script.
//
// - The demo line runs with PORT set to a free port; it passes when the demo
//   answers HTTP 200 on `/`, and is then stopped by the pid of its process
//   group (never by name). The time from the command to the first 200 is the
//   demo's first start (npm ci included); `npm run demo` is then started once
//   more in the same clone and timed to its first 200: the second start.
// - The test line runs as written: `npm ci && npm test`, the whole suite, in
//   the clean clone. This is not an extra run: .ci/run has no other `npm test`
//   step; this is CI's test step. Its vitest output is shown as it runs.
//
//   node scripts/readme-commands.mjs [--demo-only] [--keep]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const keep = process.argv.includes('--keep');
const demoOnly = process.argv.includes('--demo-only');

/** The command lines of the README's marked ```sh block, comments removed. */
export function readmeCommands(markdown) {
  const match = /<!-- readme-commands -->\s*```sh\n([\s\S]*?)```/.exec(markdown);
  if (!match) throw new Error('README.md has no ```sh block after <!-- readme-commands -->');
  const lines = match[1]
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const demo = lines.find((line) => /\bnpm run demo\b/.test(line));
  const test = lines.find((line) => /\bnpm test\b/.test(line));
  if (!demo || !test) throw new Error('the README block must have a demo line and a test line');
  return { demo, test };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts `command` in a shell (its own process group) and waits for HTTP 200 on `/`. */
async function serveUntil200(command, cwd, label) {
  const port = await freePort();
  const started = Date.now();
  const child = spawn('sh', ['-c', command], {
    cwd,
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, PORT: String(port) },
  });
  let exited = false;
  child.on('exit', () => (exited = true));
  try {
    const deadline = started + 600_000;
    while (Date.now() < deadline && !exited) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/`);
        if (response.status === 200) {
          const seconds = ((Date.now() - started) / 1000).toFixed(1);
          console.log(`== ${label}: HTTP 200 on port ${port} after ${seconds} s`);
          return Number(seconds);
        }
        // The demo listens before its database is open and answers 503 with
        // Retry-After until it is ready: wait for that, fail on anything else.
        if (response.status !== 503 || !response.headers.has('retry-after')) {
          throw new Error(`${label}: HTTP ${response.status} on /`);
        }
        await response.arrayBuffer();
        await new Promise((resolve) => setTimeout(resolve, 250));
        continue;
      } catch (error) {
        if (error.message.startsWith(label)) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    throw new Error(`${label}: ${exited ? 'exited' : 'no HTTP 200 in 10 minutes'}`);
  } finally {
    if (!exited) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      process.kill(-child.pid, 'SIGTERM'); // the group we started, by pid
      await gone;
    }
  }
}

const { demo, test } = readmeCommands(readFileSync(join(root, 'README.md'), 'utf8'));
const work = mkdtempSync(join(tmpdir(), 'totpkit-readme-'));
let status = 0;
try {
  const clone = join(work, 'totpkit');
  const cloned = spawnSync('git', ['clone', '--quiet', root, clone], { stdio: 'inherit' });
  if (cloned.status !== 0) throw new Error('git clone failed');
  console.log(`== a clean clone in ${clone}`);
  console.log(`== the README's demo line: ${demo}`);
  await serveUntil200(demo, clone, 'first start (npm ci and the demo)');
  await serveUntil200('npm run demo', clone, 'second start (npm run demo, nothing changed)');
  if (!demoOnly) {
    console.log(`== the README's test line: ${test}`);
    const result = spawnSync('sh', ['-c', test], { cwd: clone, stdio: 'inherit' });
    if (result.status !== 0) throw new Error(`the test line exited with ${result.status}`);
    console.log('== the test line passed: the whole vitest suite ran on the clean clone');
  }
} catch (error) {
  console.error(`FAILED: ${error.message}`);
  status = 1;
} finally {
  if (keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
process.exit(status);
