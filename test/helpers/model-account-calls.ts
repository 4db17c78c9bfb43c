/**
 * The calls of issues 20 and 21 run alone (test/helpers/model-run.ts), with
 * store faults and a failing sender: verification codes sent and checked,
 * proofs used, the pending enrollment shown again, remembered devices
 * checked, listed and forgotten, admin reset. Each result and the stored
 * record are compared with the reference models (mfa-model.ts for the
 * factors, account-model.ts for the document); after a fault, the call must
 * reject with ERR_STORE and leave one of the states the models allow.
 */
import { expect } from 'vitest';
import { decodeBase32, MFAError } from '../../src/index.ts';
import { type ModelAccount } from './account-model.ts';
import { codeHash, destinationKey } from './account-projection.ts';
import { clone, emptyUser, type ModelUser } from './mfa-model.ts';
import {
  adopt,
  BOGUS_TOKEN,
  isError,
  loose,
  modelAccount,
  pickProof,
  registerDestination,
  registerToken,
  storedAccount,
} from './model-account.ts';
import type { Call } from './model-steps.ts';
import { expected, projectRecord, Run, tally } from './model-system.ts';

type AccountCall = Extract<
  Call,
  {
    m:
      | 'send'
      | 'check'
      | 'useProof'
      | 'pendingEnrollment'
      | 'checkDevice'
      | 'listDevices'
      | 'forgetDevice'
      | 'forgetDevices'
      | 'adminReset';
  }
>;

export const ACCOUNT_CALLS = new Set<string>([
  'send',
  'check',
  'useProof',
  'pendingEnrollment',
  'checkDevice',
  'listDevices',
  'forgetDevice',
  'forgetDevices',
  'adminReset',
]);

/** What a call may answer, and the states it may leave: `next` (and `reserved`, after its first write only). */
interface Expected {
  results: unknown[];
  next: ModelUser;
  reserved?: ModelUser;
}

/** The comparable part of a result of the new calls. */
function summarize(real: unknown): unknown {
  if (real === null || typeof real !== 'object') return real;
  if (Array.isArray(real))
    return real.map(({ id, name, createdAt, lastUsedAt, expiresAt }) => ({
      id,
      name,
      createdAt,
      lastUsedAt,
      expiresAt,
    }));
  const out: Record<string, unknown> = {};
  const r = real as Record<string, unknown>;
  for (const key of ['ok', 'reason', 'retryAfterMs', 'expiresAt', 'codeLength', 'deviceId'])
    if (key in r) out[key] = r[key];
  for (const key of ['generation', 'reset', 'factorId']) if (key in r) out[key] = r[key];
  return out;
}

/** JSON with keys in order, to compare results whatever order their keys come in. */
const canonical = (x: unknown) =>
  JSON.stringify(x, (_, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );

function matches(real: unknown, wanted: unknown): boolean {
  if (typeof wanted === 'string' && wanted.startsWith('ERR_')) return isError(real, wanted);
  if (real instanceof Error) return false;
  return canonical(summarize(real)) === canonical(wanted);
}

/** A destination by index: an e-mail address or a phone number. */
export function destination(channel: 'email' | 'sms', i: number): string {
  return channel === 'email' ? `user${i}@example.com` : `+1 555 0100 ${i}`;
}

/** A well-formed code that is none of the user's live codes. */
function wrongCode(account: ModelAccount, salt: number): string {
  const taken = new Set(account.codes.map((c) => c.code));
  for (let n = salt * 7919 + 4_711; ; n += 104_729) {
    const code = String(n % 1_000_000).padStart(6, '0');
    if (!taken.has(code)) return code;
  }
}

export async function accountSequential(
  run: Run,
  u: number,
  c: AccountCall,
  fault: { at: number; mode: 'before' | 'after' } | null,
  salt: number,
): Promise<void> {
  const userId = run.users[u] as string;
  const before = run.states[u] as ModelUser;
  const acc = before.account;
  const now = run.now;
  const M = run.account;
  const beforeRecord = await run.record(u);
  const erased = run.model.erased(before, now);
  const withAcc = (account: ModelAccount): ModelUser => ({ ...clone(before), account });
  let invoke: () => Promise<unknown>;
  let expect_: (real: unknown) => Expected;

  switch (c.m) {
    case 'send': {
      const o = {
        channel: c.channel,
        destination: destination(c.channel, c.dest),
        purpose: c.purpose,
      };
      registerDestination(run, u, o.channel, o.destination);
      invoke = () => {
        run.outbox.length = 0;
        run.senderFails = c.fail;
        run.lastAttempt = null;
        return run.mfa.sendVerificationCode(userId, o);
      };
      expect_ = (real) => {
        const sent = run.outbox[0] ?? null;
        const code = sent?.code ?? null;
        if (code !== null) {
          const key = destinationKey(userId, o.channel, o.destination);
          run.byHash.set(codeHash(run.key, userId, o.purpose, key, code), code);
        }
        if (erased) return { results: ['ERR_ERASED'], next: before };
        if (real === undefined) {
          // After a fault: the code written (seen by the sender or not), or nothing.
          return { results: [], next: before, reserved: withAcc(M.send(acc, now, o, code).next) };
        }
        if (c.fail) {
          const out = M.sendFailed(acc, now, o);
          return { results: out.results, next: withAcc(out.next) };
        }
        const out = M.send(acc, now, o, code);
        if ((real as { ok?: boolean }).ok) {
          expect(run.outbox, 'the sender got one message').toHaveLength(1);
          expect({ ...sent, code: undefined }).toEqual({
            userId,
            channel: o.channel,
            destination: o.destination,
            purpose: o.purpose,
            code: undefined,
            expiresAt: now + M.policy.codes.ttlMs,
          });
          expect(code).toMatch(/^[0-9]{6}$/);
        } else {
          expect(run.outbox, 'a refused send sends nothing').toHaveLength(0);
        }
        return { results: out.results, next: withAcc(out.next) };
      };
      break;
    }
    case 'check': {
      // Mostly a purpose with a live code (else most checks would be no_code).
      const purpose =
        salt % 4 === 0 || acc.codes.some((x) => x.purpose === c.purpose)
          ? c.purpose
          : (acc.codes[salt % Math.max(1, acc.codes.length)]?.purpose ?? c.purpose);
      const stored = acc.codes.find((x) => x.purpose === purpose);
      const other = acc.codes.find((x) => x.purpose !== purpose && x.code !== null);
      const code =
        c.code === 'right' && stored?.code
          ? stored.code
          : c.code === 'other' && other?.code
            ? other.code
            : c.code === 'malformed'
              ? (['12345', 'abcdef', '1234567', ''][salt % 4] as string)
              : wrongCode(acc, salt);
      const dest =
        c.dest === 'none'
          ? undefined
          : c.dest === 'same'
            ? (stored?.destination ?? destination('email', 0))
            : 'someone.else@example.org';
      const options = { purpose, ...(dest === undefined ? {} : { destination: dest }) };
      invoke = () => run.mfa.checkVerificationCode(userId, code, options);
      expect_ = (real) => {
        const r = real as { ok?: boolean; proof?: string } | undefined;
        if (r?.ok) {
          expect(r.proof, 'a proof').toMatch(/^[A-Za-z0-9_-]{32}$/);
          registerToken(run, u, 'proof', r.proof as string);
          run.proofsGiven[u]?.push({
            token: r.proof as string,
            purpose,
            expiresAt: now + M.policy.proofTtlMs,
          });
        }
        if (erased && M.isWellFormed(code)) return { results: ['ERR_ERASED'], next: before };
        const out = M.check(acc, now, code, { ...options }, r?.proof ?? '');
        return {
          results: out.results,
          next: withAcc(out.next),
          ...(out.reserved ? { reserved: withAcc(out.reserved) } : {}),
        };
      };
      break;
    }
    case 'useProof': {
      const token = pickProof(run, u, c.proof, 'export_data', salt) ?? BOGUS_TOKEN;
      invoke = () => run.mfa.useProof(userId, token, { purpose: 'export_data' });
      expect_ = () => {
        const out = M.useProof(acc, now, token, 'export_data');
        return { results: out.results, next: withAcc(out.next) };
      };
      break;
    }
    case 'pendingEnrollment': {
      invoke = () => run.mfa.pendingEnrollment(userId, { accountName: 'fuzz@example.com' });
      expect_ = (real) => {
        const p = before.pending;
        const shown = p && now < p.expiresAt ? { factorId: p.id, expiresAt: p.expiresAt } : null;
        if (shown && real && typeof real === 'object' && !(real instanceof Error)) {
          const r = real as { secret: string; uri: string };
          // Secrets non-enumerable, as beginEnrollment's.
          expect(Object.keys(r)).not.toContain('secret');
          expect(Object.keys(r)).not.toContain('uri');
          expect(Buffer.from(decodeBase32(r.secret)).equals(Buffer.from(p?.secret ?? []))).toBe(
            true,
          );
          expect(r.uri).toContain(`secret=${r.secret}`);
        }
        return { results: [shown], next: before };
      };
      break;
    }
    case 'checkDevice': {
      const given = run.devicesGiven[c.other ? 1 - u : u] ?? [];
      // pick -1: the newest.
      const token =
        given.length === 0
          ? BOGUS_TOKEN
          : (given[c.pick < 0 ? given.length - 1 : c.pick % given.length]?.token as string);
      invoke = () => run.mfa.checkRememberedDevice(userId, token);
      expect_ = () => {
        const out = M.checkDevice(acc, now, token);
        return { results: out.results, next: withAcc(out.next) };
      };
      break;
    }
    case 'listDevices':
      invoke = () => run.mfa.listRememberedDevices(userId);
      expect_ = () => ({ results: M.listDevices(acc, now).results, next: before });
      break;
    case 'forgetDevice': {
      const given = run.devicesGiven[u] ?? [];
      const id = given[c.pick]?.id ?? '00000000-0000-4000-8000-000000000000';
      invoke = () => run.mfa.forgetRememberedDevice(userId, id);
      expect_ = () => {
        const out = M.forgetDevice(acc, now, id);
        return { results: out.results, next: withAcc(out.next) };
      };
      break;
    }
    case 'forgetDevices':
      invoke = () => run.mfa.forgetRememberedDevices(userId);
      expect_ = () => {
        const out = M.forgetDevices(acc, now);
        return { results: out.results, next: withAcc(out.next) };
      };
      break;
    case 'adminReset': {
      invoke = () =>
        run.mfa.adminReset(userId, { actor: 'support@example.com', reason: 'lost phone' });
      expect_ = () => {
        const r = beforeRecord;
        const a = r?.account;
        const throttled = (t?: { failures: number; guesses: number }) =>
          Boolean(t && (t.failures > 0 || t.guesses > 0));
        const something =
          (r?.factors.length ?? 0) > 0 ||
          Boolean(r?.pending) ||
          Boolean(r?.recoveryCodes) ||
          (a?.devices.length ?? 0) > 0 ||
          (a?.proofs.length ?? 0) > 0 ||
          (a?.codes.length ?? 0) > 0 ||
          // CONTRACT2's "throttle failures" read as including the verification
          // budgets' failures (they are throttle state, and the reset empties them).
          (a?.budgets ?? []).some((b) => b.failures > 0) ||
          throttled(r?.throttle.otp) ||
          throttled(r?.throttle.recovery);
        if (!something)
          return { results: [{ generation: acc.generation, reset: false }], next: before };
        const next: ModelUser = {
          ...emptyUser(),
          erasedUntil: before.erasedUntil,
          account: M.reset(acc),
        };
        return { results: [{ generation: acc.generation + 1, reset: true }], next };
      };
      break;
    }
  }

  run.faulty.arm(fault);
  const real = await invoke().then(
    (value) => value,
    (error: unknown) => error,
  );
  const fired = run.faulty.fired;
  run.faulty.arm(null);
  run.senderFails = false;
  tally(fired ? `${c.m} (fault)` : c.m, real);
  const record = await run.record(u);
  const stored = projectRecord(record, now);
  const storedAcc = storedAccount(run, record);
  // Never a code in an error (the sender's own error echoes it).
  if (real instanceof Error && run.lastAttempt !== null) {
    expect(`${real.message}\n${real.stack}`).not.toContain(run.lastAttempt);
  }
  if (fired) {
    const codes = c.m === 'send' ? ['ERR_STORE', 'ERR_SENDER'] : ['ERR_STORE'];
    expect(real, `a faulted ${c.m} must reject`).toBeInstanceOf(MFAError);
    expect(codes).toContain((real as MFAError).code);
    const exp = expect_(undefined);
    const candidates = [before, exp.reserved, exp.next].filter(
      (x): x is ModelUser => x !== undefined,
    );
    const match = candidates.find(
      (x) =>
        JSON.stringify(expected(x, now)) === JSON.stringify(stored) &&
        JSON.stringify(loose(modelAccount(run, u, x.account))) === JSON.stringify(loose(storedAcc)),
    );
    expect(
      match,
      `record after a fault in ${c.m}: ${JSON.stringify(storedAcc)}, candidates ${JSON.stringify(candidates.map((x) => modelAccount(run, u, x.account)))}`,
    ).toBeDefined();
    run.states[u] = { ...(match as ModelUser), account: adopt(run, u, record) };
    return;
  }
  const exp = expect_(real);
  if (c.m === 'send' && c.fail && isError(real, 'ERR_SENDER')) {
    expect((real as MFAError).cause, 'ERR_SENDER has no cause').toBeUndefined();
  }
  if (!exp.results.some((wanted) => matches(real, wanted))) {
    if (
      real instanceof Error &&
      !(real instanceof MFAError && exp.results.some((w) => typeof w === 'string'))
    )
      throw real;
    expect(real instanceof Error ? real : summarize(real), `${c.m} result`).toEqual(exp.results[0]);
  }
  expect(stored, `record after ${c.m}`).toEqual(expected(exp.next, now));
  expect(storedAcc, `account after ${c.m}`).toEqual(modelAccount(run, u, exp.next.account));
  run.states[u] = { ...exp.next, account: adopt(run, u, record) };
}
