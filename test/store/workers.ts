// Child processes for the cross-process tests (see test/fixtures/store-worker.ts):
// each with its own database client, all sharing one store.
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type {
  CallOutcome,
  CallsRequest,
  CallsResult,
  RunRequest,
} from '../fixtures/store-worker.ts';

const WORKER = fileURLToPath(new URL('../fixtures/store-worker.ts', import.meta.url));

/** The Bun binary of the `bun` devDependency. */
export function bunPath(): string {
  return fileURLToPath(new URL('../../node_modules/.bin/bun', import.meta.url));
}

/** Where a worker connects: its client library, the server URL, the table or key prefix. */
export interface WorkerSpec {
  client:
    | 'pg'
    | 'mysql'
    | 'ioredis'
    | 'node-redis'
    | 'ioredis-cluster'
    | 'node-redis-cluster'
    | 'better-sqlite3'
    | 'bun-sqlite';
  url: string;
  name: string;
}

/** Processes that run the same request at once, each `count` times concurrently. */
export interface Workers {
  /** Sends `request` to every worker at once; resolves with all their outcomes. */
  run(request: Omit<RunRequest, 'type' | 'id'>): Promise<CallOutcome[]>;
  /**
   * Sends `requests[i]` to worker `i` (as many requests as workers) at once;
   * resolves with each worker's result, in the same order.
   */
  each(requests: Omit<CallsRequest, 'type' | 'id'>[]): Promise<CallsResult[]>;
  /** Asks every worker to close its connections and exit. */
  close(): Promise<void>;
}

/** Forks one worker per spec and waits until all are connected. */
export async function startWorkers(specs: WorkerSpec[]): Promise<Workers> {
  let nextId = 0;
  const pending = new Map<number, { left: number; outcomes: CallOutcome[]; done: () => void }>();
  const each = new Map<number, (result: CallsResult) => void>();
  const children: ChildProcess[] = [];
  await Promise.all(
    specs.map(
      (spec) =>
        new Promise<void>((resolve, reject) => {
          const child = fork(WORKER, [], {
            // bun:sqlite workers run on Bun (it runs TypeScript itself).
            ...(spec.client === 'bun-sqlite'
              ? { execPath: bunPath(), execArgv: [] }
              : { execArgv: ['--import', 'tsx'] }),
            env: {
              ...process.env,
              TOTPKIT_WORKER_CLIENT: spec.client,
              TOTPKIT_WORKER_URL: spec.url,
              TOTPKIT_WORKER_NAME: spec.name,
            },
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          });
          children.push(child);
          child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
          type Message = {
            type: string;
            id?: number;
            results?: CallOutcome[];
            result?: CallsResult;
          };
          child.on('message', (message: Message) => {
            if (message.type === 'ready') resolve();
            if (message.type !== 'done' || message.id === undefined) return;
            if (message.result !== undefined) {
              each.get(message.id)?.(message.result);
              each.delete(message.id);
              return;
            }
            const entry = pending.get(message.id);
            if (entry === undefined) return;
            entry.outcomes.push(...(message.results ?? []));
            if (--entry.left === 0) entry.done();
          });
        }),
    ),
  );
  return {
    run(request) {
      const id = ++nextId;
      return new Promise((resolve) => {
        const outcomes: CallOutcome[] = [];
        pending.set(id, { left: children.length, outcomes, done: () => resolve(outcomes) });
        for (const child of children) child.send({ ...request, type: 'run', id });
      });
    },
    each(requests) {
      if (requests.length !== children.length) {
        throw new RangeError(`each() takes ${children.length} requests, got ${requests.length}`);
      }
      return Promise.all(
        requests.map(
          (request, i) =>
            new Promise<CallsResult>((resolve) => {
              const id = ++nextId;
              each.set(id, resolve);
              children[i]!.send({ ...request, type: 'calls', id });
            }),
        ),
      );
    },
    async close() {
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null) return resolve();
              const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
              child.once('exit', () => {
                clearTimeout(timer);
                resolve();
              });
              child.send({ type: 'exit' });
            }),
        ),
      );
    },
  };
}
