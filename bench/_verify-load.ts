// The load every store benchmark runs: `concurrency` workers, each its own
// enrolled user and clock, calling the service's verify() with the next
// code (every call a success) for SECONDS_PER_LEVEL seconds.
import { performance } from 'node:perf_hooks';
import { generateTOTP } from '../src/index.ts';
import type { MFAStore } from '../src/store/contract.ts';
import { enroll, OPEN_THROTTLE, T0, testMFA } from '../test/store/mfa-setup.ts';

/** Seconds each concurrency level runs (`BENCH_SECONDS`, default 2). */
export const SECONDS_PER_LEVEL = Number(process.env.BENCH_SECONDS ?? 2);

/** The `p`-th percentile of ascending `sorted` (nearest rank), NaN if empty. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Verifies per second, and latency percentiles in ms. */
export interface VerifyLoad {
  perSecond: number;
  p50: number;
  p99: number;
}

/**
 * Runs the load on `store`. `name` keeps the users of each run apart and
 * names the run in a failure.
 */
export async function verifyLoad(
  store: MFAStore,
  concurrency: number,
  name: string,
): Promise<VerifyLoad> {
  const workers = await Promise.all(
    Array.from({ length: concurrency }, async (_, i) => {
      const { mfa, clock } = testMFA(store, { throttle: OPEN_THROTTLE });
      const userId = `bench-${name}-${concurrency}-${i}`;
      const { secret } = await enroll(mfa, clock, userId, T0);
      return { mfa, clock, userId, secret };
    }),
  );
  const latencies: number[] = [];
  let done = 0;
  const started = performance.now();
  const deadline = started + SECONDS_PER_LEVEL * 1000;
  await Promise.all(
    workers.map(async (worker) => {
      while (performance.now() < deadline) {
        worker.clock.now += 30_000;
        const code = generateTOTP(worker.secret, { now: worker.clock.now });
        const t = performance.now();
        const result = await worker.mfa.verify(worker.userId, code);
        latencies.push(performance.now() - t);
        if (!result.ok) throw new Error(`${name}: verify failed: ${result.reason}`);
        done++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    perSecond: done / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}
