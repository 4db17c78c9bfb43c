// workerd, Cloudflare's Workers runtime, from the npm package
// @cloudflare/workerd-linux-64 (the binary ships inside it; nothing is
// downloaded). Starts one Worker on a port of 127.0.0.1 that workerd picks and
// reports on its control descriptor, and measures the CPU time the process
// spends on a request (every thread's run time from /proc, in nanoseconds).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { mayRun } from './integration.ts';

/** The workerd binary from node_modules, or undefined on a platform without the package. */
export function workerdPath(): string | undefined {
  try {
    const path = createRequire(import.meta.url).resolve('@cloudflare/workerd-linux-64/bin/workerd');
    return existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

/** Whether workerd can run here; under CI its absence fails the run. */
export function requireWorkerd(): boolean {
  return mayRun(
    'workerd',
    'program',
    workerdPath() !== undefined
      ? undefined
      : '@cloudflare/workerd-linux-64 is not installed (npm ci on Linux x64 installs it)',
  );
}

/** A running Worker. */
export interface RunningWorker {
  /** Its base URL, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** The workerd process's CPU time so far, all threads, in nanoseconds. */
  cpuNs(): number;
  /** Stops workerd (the process this helper started) and removes its files. */
  stop(): Promise<void>;
}

// A newer date than the binary supports is refused; this one is older than it.
const COMPATIBILITY_DATE = '2026-11-01';

/**
 * Serves `moduleCode` (an ES module Worker) with workerd, without the
 * `nodejs_compat` flag: no `node:` module, no `Buffer`.
 */
export async function startWorker(moduleCode: string): Promise<RunningWorker> {
  const binary = workerdPath();
  if (binary === undefined) throw new Error('workerd is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'totpkit-workerd-'));
  writeFileSync(join(dir, 'worker.js'), moduleCode);
  writeFileSync(
    join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "${COMPATIBILITY_DATE}",
);
`,
  );
  const child: ChildProcess = spawn(binary, ['serve', 'config.capnp', '--control-fd=3'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let control = '';
      const timer = setTimeout(() => reject(new Error('workerd did not listen in 30 s')), 30_000);
      (child.stdio[3] as Readable).on('data', (chunk: Buffer) => {
        control += chunk.toString();
        for (const line of control.split('\n')) {
          const message = /^\{.*\}$/.test(line)
            ? (JSON.parse(line) as Record<string, unknown>)
            : {};
          if (message.event === 'listen' && message.socket === 'http') {
            clearTimeout(timer);
            resolve(Number(message.port));
          }
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`workerd exited (${child.exitCode ?? child.signalCode})`));
      });
    });
    const pid = child.pid as number;
    return {
      url: `http://127.0.0.1:${port}`,
      cpuNs: () =>
        readdirSync(`/proc/${pid}/task`).reduce(
          (sum, task) =>
            sum + Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]),
          0,
        ),
      stop,
    };
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${output}`);
  }
}
