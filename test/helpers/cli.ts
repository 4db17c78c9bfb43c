// Runs the `totpkit` CLI from source as a subprocess. The source is bundled
// once with esbuild (dependencies left external, resolved from this repo's
// node_modules), so each run costs a plain `node` start, not a TypeScript one.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT_DIR = `${ROOT}node_modules/.cache/totpkit-test`;

/** Bundles src/cli.ts and returns the path of the bundle. */
export async function buildCLI(): Promise<string> {
  mkdirSync(OUT_DIR, { recursive: true });
  const outfile = `${OUT_DIR}/cli-${process.pid}.mjs`;
  await build({
    entryPoints: [`${ROOT}src/cli.ts`],
    outfile,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
  });
  return outfile;
}

/** What a run printed and how it exited. */
export interface CLIResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Options for {@link runCLI}. */
export interface RunOptions {
  /** Extra environment variables (TOTPKIT_SECRET is removed unless given here). */
  env?: Record<string, string>;
  /** Written to standard input, which is then closed. */
  input?: string;
}

/** Runs the bundled CLI with `args`. */
export function runCLI(cli: string, args: string[], options: RunOptions = {}): Promise<CLIResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
    if (options.env?.TOTPKIT_SECRET === undefined) delete env.TOTPKIT_SECRET;
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** A CLI process driven line by line, as a user at a terminal would. */
export interface InteractiveCLI {
  /** Resolves with all output so far once it matches `pattern` (after `from`). */
  waitFor(pattern: RegExp, from?: number): Promise<string>;
  /** Writes one line to standard input. */
  type(line: string): void;
  /** Closes standard input. */
  end(): void;
  /** Output so far. */
  readonly stdout: string;
  /** Resolves when the process exits. */
  exited: Promise<CLIResult>;
}

/** Starts the bundled CLI with `args` and returns a handle to drive it. */
export function startCLI(cli: string, args: string[]): InteractiveCLI {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.TOTPKIT_SECRET;
  const child = spawn(process.execPath, [cli, ...args], { env, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const wake of waiters) wake();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<CLIResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => {
      resolve({ status, stdout, stderr });
      for (const wake of waiters) wake();
    });
  });
  return {
    get stdout() {
      return stdout;
    },
    exited,
    type: (line) => child.stdin.write(`${line}\n`),
    end: () => child.stdin.end(),
    waitFor(pattern, from = 0) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (pattern.test(stdout.slice(from))) {
            waiters.delete(check);
            resolve(stdout);
          } else if (child.exitCode !== null) {
            waiters.delete(check);
            reject(new Error(`exited before printing ${pattern}:\n${stdout}\n${stderr}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}
