// Part of `npm run bench:stores`: the cost of out-of-band verification codes
// (issue 20) per store, concurrency 1. Each iteration sends a code
// (sendVerificationCode: read, compare-and-set write, the sender, which here
// only keeps the code), checks a wrong code (charged, compared, refused) and
// then the right one (charged, the code used up, a proof made): each a read
// and a compare-and-set write of the user's account document. The clock moves
// an hour per iteration (the budget's window, set to its least), so no check
// is ever throttled and every call does its whole work.
import { performance } from 'node:perf_hooks';
import type { MFAStore } from '../src/store/contract.ts';
import { OPEN_THROTTLE, testMFA } from '../test/store/mfa-setup.ts';
import { percentile, SECONDS_PER_LEVEL } from './_verify-load.ts';

/** p50 and p99 in ms, and the store round trips of the last call. */
export interface CallCost {
  p50: number;
  p99: number;
  trips: number;
}

/** What {@link verificationCost} measured. */
export interface VerificationCost {
  send: CallCost;
  wrong: CallCost;
  right: CallCost;
}

const HOUR = 3_600_000;

/**
 * Times send, wrong check and right check for one user of `store` for about
 * SECONDS_PER_LEVEL seconds; `trips()` counts the store's round trips.
 */
export async function verificationCost(
  store: MFAStore,
  trips: () => number,
  userId: string,
): Promise<VerificationCost> {
  const { mfa, clock, sent } = testMFA(store, {
    throttle: OPEN_THROTTLE,
    verificationCodes: {
      resendCooldownMs: 0,
      dailyLimitPerDestination: 1000,
      dailyLimitPerUser: 1000,
      budgetWindowMs: HOUR,
    },
  });
  const options = {
    channel: 'email' as const,
    destination: 'bench@example.com',
    purpose: 'enroll',
  };
  const latencies = { send: [] as number[], wrong: [] as number[], right: [] as number[] };
  const last = { send: 0, wrong: 0, right: 0 };
  const timed = async (name: keyof typeof latencies, call: () => Promise<{ ok: boolean }>) => {
    const before = trips();
    const t = performance.now();
    const result = await call();
    latencies[name].push(performance.now() - t);
    last[name] = trips() - before;
    return result;
  };
  const deadline = performance.now() + SECONDS_PER_LEVEL * 1000;
  while (performance.now() < deadline || latencies.send.length < 3) {
    clock.now += HOUR;
    if (!(await timed('send', () => mfa.sendVerificationCode(userId, options))).ok) {
      throw new Error('sendVerificationCode refused');
    }
    const code = sent.at(-1)!.code;
    const wrong = code === '000000' ? '111111' : '000000';
    const refused = await timed('wrong', () =>
      mfa.checkVerificationCode(userId, wrong, { purpose: 'enroll' }),
    );
    if (refused.ok) throw new Error('a wrong verification code passed');
    const passed = await timed('right', () =>
      mfa.checkVerificationCode(userId, code, { purpose: 'enroll' }),
    );
    if (!passed.ok) throw new Error('the right verification code failed');
  }
  const cost = (name: keyof typeof latencies): CallCost => {
    const sorted = latencies[name].sort((a, b) => a - b);
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), trips: last[name] };
  };
  return { send: cost('send'), wrong: cost('wrong'), right: cost('right') };
}
