// The issue-19 races (cross-process.test.ts): four worker processes, each
// with its own connections and service, race on the same users through one
// store. Each oracle is a claim the documents make, not the store's rules:
//
// 1. a lock is not shed by factor changes: one lock cycle compares a code
//    with at most `maxFailures + n - 1` factor secrets (n the most factors
//    the user had in it), whatever is removed, disabled or re-enrolled
//    meanwhile, and nothing but a reset (here `unlock`) ends the cycle;
// 2. a code is accepted at most once per user: one secret imported by 4
//    processes at once becomes one factor, and 100 verifies of one code
//    succeed once;
// 3. erasure is final: after `deleteUserData` returns, no call that was in
//    flight leaves any state, and the calls that lost get a clean answer
//    (never ERR_STORE).
import { expect, it } from 'vitest';
import { decodeBase32, encodeBase32, generateTOTP } from '../../src/index.ts';
import type { MFAStore } from '../../src/store/contract.ts';
import type { CallOutcome, CallsResult, ServiceCall } from '../fixtures/store-worker.ts';
import { enroll, OPEN_THROTTLE, T0, testMFA } from './mfa-setup.ts';
import type { Workers } from './workers.ts';

/** How many outcomes have each result: 'ok' (or 'ok:<detail>'), a reason, or 'error:<code>'. */
export function tally(outcomes: CallOutcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) {
    const key =
      'error' in outcome
        ? `error:${outcome.error}`
        : outcome.ok
          ? ['ok', outcome.reason].filter(Boolean).join(':')
          : outcome.reason!;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** A distinct 20-byte secret for `label`. */
function secretFor(label: string): Uint8Array {
  const bytes = new Uint8Array(20);
  for (let i = 0; i < label.length; i++)
    bytes[i % 20] = (bytes[i % 20]! * 31 + label.charCodeAt(i)) & 0xff;
  bytes[19] = 0x5a;
  return bytes;
}

/** A six-digit code that matches none of `secrets` around `now`. */
function wrongCode(secrets: Uint8Array[], now: number): string {
  const near = new Set(
    secrets.flatMap((secret) =>
      [-2, -1, 0, 1, 2].map((k) => generateTOTP(secret, { now: now + k * 30_000 })),
    ),
  );
  for (let n = 0; ; n++) {
    const code = String(n).padStart(6, '0');
    if (!near.has(code)) return code;
  }
}

const all = (results: CallsResult[]) => results.flatMap((result) => result.outcomes);
const compared = (results: CallsResult[]) => results.reduce((sum, r) => sum + r.compared, 0);

/** What the races need: the store, the workers, and optionally a raw count of leftovers. */
export interface RaceContext {
  store: MFAStore;
  workers: Workers;
  /**
   * How many of `userIds` have anything stored beyond an erasure guard,
   * read from the database itself (not through the store's own reading).
   */
  leftovers?: (userIds: string[]) => Promise<number>;
}

/** Registers the races; `run` keeps this run's user ids apart from earlier runs'. */
export function crossProcessRaces(context: () => RaceContext, run: string, rounds = 8) {
  it(
    `a lock is not shed: removals, disable and a re-enrollment racing wrong codes from 4 processes, ${rounds} lock cycles`,
    { timeout: 300_000 },
    async () => {
      const { workers } = context();
      const maxFailures = 100;
      const throttle = { freeAttempts: 100, baseDelayMs: 0, maxDelayMs: 0, maxFailures };
      const { mfa, clock } = testMFA(context().store, { throttle });
      const cycles: number[] = [];
      for (let round = 1; round <= rounds; round++) {
        const userId = `shed-${run}-${round}`;
        const now = T0 + round * 600_000;
        clock.now = now;
        const secrets = [1, 2, 3, 4, 5].map((i) => secretFor(`${userId}/${i}`));
        const factorIds: string[] = [];
        for (const [i, secret] of secrets.entries()) {
          const imported = await mfa.importFactor(userId, { secret, name: `F${i}` });
          if (!imported.ok) throw new Error(`import ${i}: ${imported.reason}`);
          factorIds.push(imported.factorId);
        }
        const newSecret = secretFor(`${userId}/new`);
        const wrong = wrongCode([...secrets, newSecret], now);
        const guess = (count: number): ServiceCall[] =>
          Array.from({ length: count }, (_, i) => ({
            method: 'verify',
            args: [userId, wrong],
            afterMs: i % 10,
          }));
        const request = (calls: ServiceCall[]) => ({ calls, now, policy: { throttle } });
        // The cycle: wrong codes until locked, while factors go, 5 → 1 → 0.
        const first = await workers.each([
          request([...guess(25), { method: 'removeFactor', args: [userId, factorIds[4]] }]),
          request([...guess(25), { method: 'removeFactor', args: [userId, factorIds[3]] }]),
          request([...guess(25), { method: 'removeFactor', args: [userId, factorIds[2]] }]),
          request([
            ...guess(25),
            { method: 'removeFactor', args: [userId, factorIds[1]], afterMs: 5 },
          ]),
        ]);
        const second = await workers.each([
          request(guess(25)),
          request([...guess(25), { method: 'disable', args: [userId], afterMs: 3 }]),
          request(guess(25)),
          request(guess(25)),
        ]);
        // Re-enrollment: the binding must be refused while the cycle lasts.
        const started = await mfa.beginEnrollment(userId, { accountName: 'shed@example.com' });
        const bind = decodeBase32(started.secret);
        const pair = [generateTOTP(bind, { now: now - 30_000 }), generateTOTP(bind, { now })];
        const third = await workers.each([
          request([{ method: 'completeEnrollment', args: [userId, ...pair] }, ...guess(10)]),
          request([
            {
              method: 'importFactor',
              args: [userId, { secret: encodeBase32(newSecret), name: 'New' }],
            },
            ...guess(10),
          ]),
          request(guess(10)),
          request([{ method: 'completeEnrollment', args: [userId, ...pair], afterMs: 8 }]),
        ]);
        const bindings = [third[0]!.outcomes[0]!, third[3]!.outcomes[0]!];
        expect(bindings, `round ${round}: a binding ended the lock cycle`).not.toContainEqual({
          ok: true,
        });
        for (const outcome of all([...first, ...second, ...third])) {
          expect(outcome, `round ${round}`).not.toHaveProperty('error');
        }
        const total = compared([...first, ...second, ...third]);
        cycles.push(total);
        expect(
          total,
          `round ${round}: factor secrets compared in one lock cycle`,
        ).toBeLessThanOrEqual(maxFailures + 4);
        // And the lock holds until a reset.
        const after = await mfa.verify(userId, wrong);
        expect(after).toEqual({ ok: false, reason: 'locked' });
        await mfa.unlock(userId);
      }
      console.log(
        `lock cycles, 4 processes: factor secrets compared ${cycles.join(', ')} (bound ${maxFailures + 4})`,
      );
    },
  );

  it(
    `one secret imported by 4 processes at once becomes one factor, and 100 verifies of a code succeed once, ${rounds * 3} users`,
    { timeout: 300_000 },
    async () => {
      const { store, workers } = context();
      const { mfa, clock } = testMFA(store, { throttle: OPEN_THROTTLE });
      const imports: CallOutcome[] = [];
      for (let round = 1; round <= rounds * 3; round++) {
        const userId = `dup-${run}-${round}`;
        const now = T0 + round * 30_000;
        clock.now = now;
        const secret = secretFor(userId);
        const base32 = encodeBase32(secret);
        const results = await workers.each(
          [0, 1, 2, 3].map((w) => ({
            calls: [
              // lastStep -1: the code of the import's own step is verified below
              // (without it, an import refuses codes up to its step + window).
              {
                method: 'importFactor',
                args: [userId, { secret: base32, name: `Imported ${w}`, lastStep: -1 }],
              },
            ] as ServiceCall[],
            now,
            policy: { throttle: OPEN_THROTTLE },
            startAt: Date.now() + 50,
          })),
        );
        imports.push(...all(results));
        // One import adds the factor; the other three recognise it.
        expect(tally(all(results)), `user ${round}: imports`).toEqual({
          ok: 1,
          'ok:alreadyImported': 3,
        });
        const factors = (await store.getUser(userId, now))?.factors ?? [];
        expect(factors, `user ${round}: factors after 4 imports of one secret`).toHaveLength(1);
        const code = generateTOTP(secret, { now });
        const verifies = await workers.run({
          method: 'verify',
          userId,
          code,
          now,
          count: 25,
          policy: { throttle: OPEN_THROTTLE },
        });
        expect(tally(verifies).ok, `user ${round}: successes of one code`).toBe(1);
        await mfa.unlock(userId);
      }
      console.log(`4 concurrent imports of one secret, ${rounds * 3} users:`, tally(imports));
    },
  );

  /**
   * `users` users, set up by `prepare`, each erased by one worker while
   * another runs `call` for them, the two at most 12 ms apart either way.
   */
  async function eraseRace(
    label: string,
    users: number,
    prepare: (userId: string) => Promise<void>,
    call: (userId: string) => ServiceCall,
  ) {
    const { store, workers, leftovers } = context();
    const userIds = Array.from({ length: users }, (_, i) => `erase-${label}-${run}-${i}`);
    for (const userId of userIds) await prepare(userId);
    const outcomes: CallOutcome[] = [];
    const batch = 50;
    for (let start = 0; start < users; start += batch) {
      const ids = userIds.slice(start, start + batch);
      const calls: ServiceCall[][] = [[], [], [], []];
      ids.forEach((userId, i) => {
        const jitter = (i * 7) % 13;
        calls[i % 4]!.push({ ...call(userId), afterMs: jitter });
        calls[(i + 1) % 4]!.push({
          method: 'deleteUserData',
          args: [userId],
          afterMs: 12 - jitter,
        });
      });
      const results = await workers.each(
        calls.map((list) => ({
          calls: list,
          now: T0,
          policy: { throttle: OPEN_THROTTLE },
          startAt: Date.now() + 50,
        })),
      );
      outcomes.push(...all(results));
    }
    const left: string[] = [];
    for (const userId of userIds) {
      if ((await store.getUser(userId, T0)) !== null) left.push(userId);
    }
    const raw = leftovers === undefined ? 0 : await leftovers(userIds);
    const counts = tally(outcomes);
    console.log(`erasure racing ${label}: leftovers ${left.length}/${users} (raw ${raw}),`, counts);
    expect({ leftovers: left.length, raw }, `${label}: users with state after erasure`).toEqual({
      leftovers: 0,
      raw: 0,
    });
    expect(
      Object.keys(counts).filter((key) => key.startsWith('error:') && key !== 'error:ERR_ERASED'),
    ).toEqual([]);
  }

  const N = 200;
  const setup = () => testMFA(context().store, { throttle: OPEN_THROTTLE });

  it(
    `erasure racing beginEnrollment from 4 processes: no leftovers of ${N}`,
    { timeout: 300_000 },
    async () => {
      await eraseRace(
        'begin',
        N,
        async () => {},
        (userId) => ({
          method: 'beginEnrollment',
          args: [userId, { accountName: 'a@example.com' }],
        }),
      );
    },
  );

  it(
    `erasure racing importFactor from 4 processes: no leftovers of ${N}`,
    { timeout: 300_000 },
    async () => {
      await eraseRace(
        'import',
        N,
        async () => {},
        (userId) => ({
          method: 'importFactor',
          args: [userId, { secret: encodeBase32(secretFor(userId)), name: 'Imported' }],
        }),
      );
    },
  );

  it(
    `erasure racing verify from 4 processes: no leftovers of ${N}`,
    { timeout: 300_000 },
    async () => {
      const { mfa, clock } = setup();
      const secrets = new Map<string, Uint8Array>();
      await eraseRace(
        'verify',
        N,
        async (userId) => {
          secrets.set(userId, (await enroll(mfa, clock, userId, T0 - 60_000)).secret);
        },
        (userId) => ({
          method: 'verify',
          args: [userId, generateTOTP(secrets.get(userId)!, { now: T0 })],
        }),
      );
    },
  );

  it(
    `erasure racing useRecoveryCode from 4 processes: no leftovers of ${N}`,
    { timeout: 300_000 },
    async () => {
      const { mfa, clock } = setup();
      const codes = new Map<string, string>();
      await eraseRace(
        'recovery',
        N,
        async (userId) => {
          codes.set(userId, (await enroll(mfa, clock, userId, T0 - 60_000)).recoveryCodes[0]!);
        },
        (userId) => ({ method: 'useRecoveryCode', args: [userId, codes.get(userId)!] }),
      );
    },
  );

  it(
    `erasure racing an 8-digit login (getUser, then reserveAttempt) from 4 processes: no leftovers of ${N}`,
    { timeout: 300_000 },
    async () => {
      const { mfa, clock } = setup();
      clock.now = T0 - 60_000;
      await eraseRace(
        'login8',
        N,
        async (userId) => {
          const imported = await mfa.importFactor(userId, { secret: secretFor(userId), digits: 8 });
          if (!imported.ok) throw new Error(imported.reason);
        },
        // The service's digits are 6: an 8-digit code takes the two-step path.
        (userId) => ({ method: 'verify', args: [userId, '12345678'] }),
      );
    },
  );
}
