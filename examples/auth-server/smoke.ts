// Starts server.ts as `npm run demo` does (PGlite in a fresh data directory,
// port chosen by the system), checks that it serves the sign-in page, and
// stops it. Part of `npm run examples`.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dataDir = mkdtempSync(join(tmpdir(), 'totpkit-demo-'));
const child = spawn(process.execPath, ['--import', 'tsx', 'examples/auth-server/server.ts'], {
  env: { ...process.env, DATA_DIR: dataDir, PORT: '0' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
try {
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no URL within 60 s:\n${out}`)), 60_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      // The whole line: a chunk can end inside the port number.
      const match = /on (http:\/\/localhost:\d+) {2}\(Ctrl\+C to stop\)/.exec(out);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (status) => reject(new Error(`server exited with ${status}:\n${out}`)));
  });
  const res = await fetch(`${url}/signin`);
  const body = await res.text();
  if (res.status !== 200 || !body.includes('<h1>Sign in</h1>')) {
    throw new Error(`GET /signin: ${res.status}\n${body}`);
  }
  console.log(`auth server smoke test: ${url}/signin served the sign-in page`);
} finally {
  // Stopped, and gone, before its data directory is removed.
  const exited = new Promise((resolve) => child.once('exit', resolve));
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    await exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
}
