// npm run bench:enroll — the cost of recovery codes on each scrypt path:
// `node:crypto` (Node, Bun, Deno: libuv's thread pool) and noble (the web
// build's fallback, on the main thread), run in child processes; the noble
// one loads the web variants (bench/web-variants.mjs).
//
// For each path and scrypt cost it prints:
// - completeEnrollment with 10 recovery codes, wall time (median and worst of
//   several rounds; target ≤ 300 ms), and the CPU time it took on all threads
//   (what a loaded machine cannot hide: on 2 idle cores the native path's
//   wall time is about half of it, the fallback's all of it);
// - the event loop's delay (perf_hooks.monitorEventLoopDelay, p99 and max)
//   while 4 enrollments run at once (target p99 ≤ 20 ms), and their wall time;
//   and, for scale, the p99 of an idle event loop over as long right after
//   (what other processes on the machine add);
// - one recovery attempt with a right and with a wrong code (the same cost is
//   the point: one scrypt evaluation either way).
//
// Figures, not assertions: the machine is shared and noisy. BENCH_ROUNDS sets
// the rounds (default 7).
import { spawnSync } from 'node:child_process';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import {
  createMFA,
  decodeBase32,
  DEFAULT_MFA_POLICY,
  generateTOTP,
  MemoryStore,
  plaintextCipher,
  type ScryptParams,
} from '../src/index.ts';
import { loadScrypt } from '../src/mfa/_scrypt.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const T0 = 1_750_000_020_000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const ms = (x: number) => `${x.toFixed(0)} ms`;

/** One child: measures the path it was started on, prints one JSON line. */
async function measure(params: ScryptParams): Promise<void> {
  const backend = (await loadScrypt()).name;
  const mfa = createMFA({
    store: new MemoryStore(),
    issuer: 'Bench',
    cipher: plaintextCipher(),
    clock: () => T0,
    policy: {
      recoveryCodeScrypt: params,
      recoveryThrottle: { freeAttempts: 100 },
      proofs: { required: { enroll: 'none' } },
    },
  });
  let users = 0;
  const begin = async () => {
    const user = `u${++users}`;
    const { secret } = await mfa.beginEnrollment(user, { accountName: 'bench' });
    const key = decodeBase32(secret);
    return {
      user,
      codes: [generateTOTP(key, { now: T0 - 30_000 }), generateTOTP(key, { now: T0 })],
    };
  };
  const complete = async ({ user, codes }: { user: string; codes: string[] }) => {
    const result = await mfa.completeEnrollment(user, codes[0] as string, codes[1] as string);
    if (!result.ok) throw new Error(`enrollment failed: ${result.reason}`);
    return result.recoveryCodes ?? [];
  };

  await complete(await begin()); // warm-up
  const single: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const pending = await begin();
    const used = process.cpuUsage();
    const start = performance.now();
    await complete(pending);
    single.push(performance.now() - start);
    const { user, system } = process.cpuUsage(used);
    cpu.push((user + system) / 1000);
  }

  const p99: number[] = [];
  const max: number[] = [];
  const batch: number[] = [];
  const idleP99: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const pending = await Promise.all([begin(), begin(), begin(), begin()]);
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    histogram.enable();
    const start = performance.now();
    await Promise.all(pending.map(complete));
    batch.push(performance.now() - start);
    histogram.disable();
    p99.push(histogram.percentile(99) / 1e6);
    max.push(histogram.max / 1e6);
    // The same histogram over as long with nothing to do: what the machine adds.
    const idle = monitorEventLoopDelay({ resolution: 1 });
    idle.enable();
    await new Promise((resolve) => setTimeout(resolve, batch.at(-1)));
    idle.disable();
    idleP99.push(idle.percentile(99) / 1e6);
  }

  const enrolled = await begin();
  const recovery = await complete(enrolled);
  const right: number[] = [];
  const wrong: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    let start = performance.now();
    const ok = await mfa.useRecoveryCode(enrolled.user, recovery[i % recovery.length] as string);
    right.push(performance.now() - start);
    start = performance.now();
    const no = await mfa.useRecoveryCode(enrolled.user, '0000-0000-0000');
    wrong.push(performance.now() - start);
    if (!ok.ok || no.ok) throw new Error('unexpected recovery outcome');
  }
  console.log(
    JSON.stringify({
      backend,
      single: [median(single), Math.max(...single)],
      cpu: median(cpu),
      p99: [median(p99), Math.max(...p99)],
      max: Math.max(...max),
      idle: median(idleP99),
      batch: median(batch),
      right: median(right),
      wrong: median(wrong),
    }),
  );
}

/** The parent: one child per path and cost, then the table. */
function main(): void {
  const costs: [string, ScryptParams][] = [
    ['default', DEFAULT_MFA_POLICY.recoveryCodeScrypt],
    ['0.1.0', { N: 2 ** 14, r: 8, p: 1 }],
  ];
  const paths: [string, string[]][] = [
    ['native', []],
    ['fallback', ['--import', fileURLToPath(new URL('./web-variants.mjs', import.meta.url))]],
  ];
  const tsx = fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url));
  console.log(
    `completeEnrollment with 10 recovery codes, ${ROUNDS} rounds each` +
      ' (targets: ≤ 300 ms; event-loop p99 ≤ 20 ms during 4 enrollments)\n',
  );
  const header = [
    'path',
    'scrypt',
    'backend',
    'enroll median / worst',
    'enroll CPU',
    'loop p99 median / worst',
    'loop max',
    'idle loop p99',
    '4 at once',
    'recovery right / wrong',
  ];
  const rows: string[][] = [];
  for (const [label, params] of costs) {
    for (const [path, flags] of paths) {
      const child = spawnSync(
        process.execPath,
        [tsx, ...flags, fileURLToPath(import.meta.url), 'child', JSON.stringify(params)],
        { encoding: 'utf8' },
      );
      if (child.status !== 0) throw new Error(`${path} child failed:\n${child.stderr}`);
      const r = JSON.parse(child.stdout.trim().split('\n').at(-1) as string);
      rows.push([
        path,
        `${label}: N=2^${Math.log2(params.N)} r=${params.r} p=${params.p} (${(128 * params.N * params.r) / 2 ** 20} MiB)`,
        r.backend,
        `${ms(r.single[0])} / ${ms(r.single[1])}`,
        ms(r.cpu),
        `${r.p99[0].toFixed(1)} / ${r.p99[1].toFixed(1)} ms`,
        `${r.max.toFixed(1)} ms`,
        `${r.idle.toFixed(1)} ms`,
        ms(r.batch),
        `${ms(r.right)} / ${ms(r.wrong)}`,
      ]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
}

if (process.argv[2] === 'child') await measure(JSON.parse(process.argv[3] as string));
else main();
