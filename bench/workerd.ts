// npm run bench:workerd — CPU time in workerd (Cloudflare's Workers runtime)
// of completeEnrollment and useRecoveryCode under several recovery-code
// policies, against the Workers Free plan's 10 ms of CPU per request.
//
// A Worker's own clocks do not advance while it computes (Spectre
// mitigation), so the time is measured outside: the CPU time of the workerd
// process (all threads, from /proc) across each request, less the median of
// an empty request. Median of RUNS requests each.
import { fileURLToPath } from 'node:url';
import { bundleForWeb } from '../test/helpers/web-bundle.ts';
import { begin, call } from '../test/helpers/worker-client.ts';
import { startWorker } from '../test/helpers/workerd.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const NOW = 1_700_000_000_000;
const POLICIES = [
  { name: 'default: 10 codes, N=2^11 r=8', count: 10, N: 2 ** 11, r: 8 },
  { name: '10 codes, N=2^10 r=8', count: 10, N: 2 ** 10, r: 8 },
  { name: '10 codes, N=2^10 r=1', count: 10, N: 2 ** 10, r: 1 },
  { name: 'Workers Free (docs/runtimes.md): 5 codes, N=2^10 r=1', count: 5, N: 2 ** 10, r: 1 },
];

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[values.length >> 1] as number;

const entry = fileURLToPath(new URL('../test/runtimes/fixtures/worker.ts', import.meta.url));
const worker = await startWorker((await bundleForWeb(entry, 'workerd')).code);
let users = 0;
try {
  /** CPU milliseconds of one request to `path`, and its JSON body. */
  async function cpu(
    path: string,
    params: Record<string, string | number>,
  ): Promise<{ ms: number; body: Record<string, unknown> }> {
    const before = worker.cpuNs();
    const body = await call(worker.url, path, params);
    return { ms: (worker.cpuNs() - before) / 1e6, body };
  }
  for (let i = 0; i < 3; i++) await cpu('/noop', {}); // warm-up
  const noop: number[] = [];
  for (let i = 0; i < RUNS; i++) noop.push((await cpu('/noop', {})).ms);
  const base = median(noop);
  console.log(
    `workerd ${process.platform}-${process.arch}, empty request ${base.toFixed(2)} ms CPU`,
  );
  console.log('| recovery-code policy | completeEnrollment | useRecoveryCode |');
  console.log('|---|---:|---:|');
  for (const { name, ...policy } of POLICIES) {
    const complete: number[] = [];
    const recover: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const user = `user-${++users}`;
      const { first, second } = await begin(worker.url, user, NOW, policy);
      const done = await cpu('/complete', { user, now: NOW, first, second, ...policy });
      const [code] = done.body.recoveryCodes as string[];
      if (code === undefined) throw new Error(`enrollment failed: ${JSON.stringify(done.body)}`);
      complete.push(done.ms - base);
      const used = await cpu('/recover', { user, now: NOW, code, ...policy });
      if (used.body.ok !== true)
        throw new Error(`recovery code refused: ${JSON.stringify(used.body)}`);
      recover.push(used.ms - base);
    }
    console.log(
      `| ${name} | ${median(complete).toFixed(1)} ms | ${median(recover).toFixed(1)} ms |`,
    );
  }
} finally {
  await worker.stop();
}
