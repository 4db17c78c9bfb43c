// Hardening of the service against a hostile environment: a polluted
// Object.prototype (options, policy and store records are read as own
// properties only), an async onEvent that rejects, and store errors that carry
// the call's values (the sealed secret) in their fields.
import { inspect } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  encodeBase32,
  MemoryStore,
  MFAError,
  plaintextCipher,
  type MFAEvent,
  type MFAStore,
  type SecretCipher,
} from '../../src/index.ts';
import { deviceCode, enroll, harness, newUser, T0, withoutReadAndReserve } from '../helpers/mfa.ts';

/** Sets `Object.prototype[key]` for the duration of `run`, then removes it. */
async function withPolluted<T>(
  values: Record<string, unknown>,
  run: () => Promise<T> | T,
): Promise<T> {
  const proto = Object.prototype as Record<string, unknown>;
  try {
    for (const [key, value] of Object.entries(values)) proto[key] = value;
    return await run();
  } finally {
    for (const key of Object.keys(values)) delete proto[key];
  }
}

describe('a polluted Object.prototype', () => {
  afterEach(() => {
    expect(Object.keys(Object.prototype)).toEqual([]);
  });

  it('does not supply replaceFactorId: an active factor is not replaced without it', async () => {
    const h = harness();
    const user = newUser();
    await enroll(h, user);
    const [factor] = await h.mfa.listFactors(user);
    const begun = await withPolluted({ replaceFactorId: factor!.id }, () =>
      h.mfa.beginEnrollment(user, { accountName: 'a@example.com' }),
    );
    expect(h.ofType('enrollment_started').at(-1)?.replaceFactorId).toBeNull();
    h.advance(30_000);
    const bound = await h.mfa.completeEnrollment(
      user,
      deviceCode(begun.secret, h.now - 30_000),
      deviceCode(begun.secret, h.now),
    );
    expect(bound.ok).toBe(true);
    expect((await h.mfa.listFactors(user)).map((f) => f.id).sort()).toEqual(
      [factor!.id, begun.factorId].sort(),
    );
  });

  it('does not widen the login window', async () => {
    const h = await withPolluted({ window: 10 }, () => harness());
    const user = newUser();
    const { secret } = await enroll(h, user);
    h.advance(60_000);
    // A code three steps old: outside the default window of 1.
    const result = await h.mfa.verify(user, deviceCode(secret, h.now - 90_000));
    expect(result).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('does not replace the throttle: the back-off still applies', async () => {
    const h = await withPolluted(
      { throttle: { freeAttempts: 100, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 100 } },
      () => harness({ policy: {} }),
    );
    const user = newUser();
    await enroll(h, user);
    const reasons: string[] = [];
    for (let i = 0; i < 7; i++) {
      const result = await h.mfa.verify(user, '000000');
      reasons.push(result.ok ? 'ok' : result.reason);
    }
    // Five free attempts (the default), then a back-off.
    expect(reasons).toEqual([...Array(5).fill('mismatch'), 'throttled', 'throttled']);
  });

  it('does not supply a factor missing from a store record', async () => {
    // A custom store that leaves out fields it has no value for.
    const memory = new MemoryStore();
    const base = withoutReadAndReserve(memory);
    const sparse: MFAStore = {
      ...base,
      async getUser(userId, now) {
        const record = await memory.getUser(userId, now);
        if (record === null) return null;
        const copy: Record<string, unknown> = { ...record };
        for (const key of Object.keys(copy)) if (copy[key] === null) delete copy[key];
        return copy as never;
      },
    };
    const h = harness({ store: sparse });
    const user = newUser();
    await h.mfa.beginEnrollment(user, { accountName: 'a@example.com' });
    // The attacker's own secret, as a factor on the prototype.
    const attackerSecret = new Uint8Array(20).fill(7);
    const sealed = await plaintextCipher().encrypt(attackerSecret, user);
    const factor = {
      id: 'f',
      sealedSecret: sealed,
      algorithm: 'SHA1',
      digits: 6,
      period: 30,
      lastStep: 0,
      drift: 0,
      activatedAt: T0,
    };
    const result = await withPolluted({ active: factor }, () =>
      h.mfa.verify(user, deviceCode(encodeBase32(attackerSecret), h.now)),
    );
    expect(result).toEqual({ ok: false, reason: 'not_enrolled' });
  });
});

describe('an async onEvent that rejects', () => {
  it('hands the rejection to onEventError, with the event', async () => {
    const failures: { error: unknown; event: MFAEvent }[] = [];
    const boom = new Error('audit log down');
    const h = harness({
      onEvent: async () => {
        throw boom;
      },
      onEventError: (error, event) => failures.push({ error, event }),
    });
    const user = newUser();
    await enroll(h, user);
    await new Promise((resolve) => setImmediate(resolve));
    expect(failures.map((f) => f.event.type)).toEqual([
      'enrollment_started',
      'enrollment_completed',
      'factor_added',
    ]);
    expect(failures.every((f) => f.error === boom)).toBe(true);
  });

  it('writes it with console.error when there is no onEventError, and nothing is unhandled', async () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', listener);
    try {
      const h = harness({ onEvent: () => Promise.reject(new Error('audit log down')) });
      await h.mfa.beginEnrollment(newUser(), { accountName: 'a@example.com' });
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(spy).toHaveBeenCalledTimes(1);
      expect(spy.mock.calls[0]?.[0]).toBe(
        'totpkit: onEvent rejected for a "enrollment_started" event:',
      );
      expect((spy.mock.calls[0]?.[1] as Error).message).toBe('audit log down');
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', listener);
      spy.mockRestore();
    }
  });
});

/** A cipher that records what it sealed, so a test can look for it. */
function recordingCipher(): SecretCipher & { sealed: string[]; base32: string[] } {
  const plain = plaintextCipher();
  const sealed: string[] = [];
  const base32: string[] = [];
  return {
    sealed,
    base32,
    async encrypt(plaintext, context) {
      base32.push(encodeBase32(plaintext));
      const value = await plain.encrypt(plaintext, context);
      sealed.push(value);
      return value;
    },
    decrypt: (value, context) => plain.decrypt(value, context),
  };
}

/** Driver errors as ioredis, node-redis and pg shape them, holding the call's values. */
function driverErrors(args: unknown[]): Record<string, Error> {
  const text = args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
  const ioredis = Object.assign(new Error('NOPERM User app has no permissions to run evalsha'), {
    name: 'ReplyError',
    command: { name: 'evalsha', args: ['sha', 2, 'k1', 'k2', text] },
  });
  const nodeRedis = Object.assign(new Error(`ERR Error running script: ${text}`), {
    name: 'ErrorReply',
    args: [text],
  });
  const pg = Object.assign(new Error('new row for relation "totpkit_mfa" violates check'), {
    name: 'error',
    code: '23514',
    severity: 'ERROR',
    table: 'totpkit_mfa',
    constraint: 'c',
    detail: `Failing row contains (${text}).`,
    parameters: args,
  });
  const nested = Object.assign(new Error('Too many Cluster redirections. Last error: ...'), {
    lastNodeError: ioredis,
  });
  const aggregate = new AggregateError([pg, new Error(text)], 'many');
  return { ioredis, nodeRedis, pg, nested, aggregate };
}

describe('store errors', () => {
  for (const kind of ['ioredis', 'nodeRedis', 'pg', 'nested', 'aggregate']) {
    it(`keep no value of the call in the cause (${kind} error)`, async () => {
      const memory = new MemoryStore();
      const cipher = recordingCipher();
      const store: MFAStore = Object.assign(Object.create(memory) as MFAStore, {
        getUser: memory.getUser.bind(memory),
        putPending: async (...args: unknown[]) => {
          throw driverErrors(args)[kind];
        },
      });
      const h = harness({ store, cipher });
      const error = await h.mfa.beginEnrollment(newUser(), { accountName: 'a@example.com' }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(MFAError);
      expect((error as MFAError).code).toBe('ERR_STORE');
      const printed = inspect(error, { depth: Infinity });
      const [sealed] = cipher.sealed;
      const [secret] = cipher.base32;
      expect(sealed).toBeDefined();
      expect(printed).not.toContain(sealed);
      expect(printed).not.toContain(sealed?.slice(6)); // the base64url secret alone
      expect(printed).not.toContain(secret);
      expect(JSON.stringify((error as MFAError).cause)).not.toContain(sealed?.slice(6));
    });
  }

  it('keep what identifies the failure, and say what to do', async () => {
    const store: MFAStore = Object.assign(Object.create(new MemoryStore()) as MFAStore, {
      getUser: async () => {
        throw Object.assign(new Error('relation "totpkit_mfa" does not exist'), {
          code: '42P01',
          severity: 'ERROR',
          routine: 'parserOpenTable',
        });
      },
    });
    const h = harness({ store });
    const error = (await h.mfa.status('u').catch((e: unknown) => e)) as MFAError;
    expect(error.code).toBe('ERR_STORE');
    expect(error.message).toBe(
      'store.getUser failed: its table does not exist: run `await store.migrate()` once at startup',
    );
    expect(error.cause).toMatchObject({
      message: 'relation "totpkit_mfa" does not exist',
      code: '42P01',
      severity: 'ERROR',
      routine: 'parserOpenTable',
    });
  });

  it('name the permission to grant for NOPERM and 42501, and the schema for 3F000', async () => {
    const cases: [Error, string][] = [
      [new Error('NOPERM this user has no permissions to run the evalsha command'), 'NOPERM'],
      [Object.assign(new Error('permission denied for table t'), { code: '42501' }), 'grant'],
      [Object.assign(new Error('schema "x" does not exist'), { code: '3F000' }), 'CREATE SCHEMA'],
    ];
    for (const [thrown, words] of cases) {
      const store: MFAStore = Object.assign(Object.create(new MemoryStore()) as MFAStore, {
        getUser: async () => {
          throw thrown;
        },
      });
      const error = (await harness({ store })
        .mfa.status('u')
        .catch((e: unknown) => e)) as MFAError;
      expect(error.message).toContain(words === 'NOPERM' ? 'lacks a permission' : words);
    }
  });
});

describe('resync after verify', () => {
  it('refuses a pair whose first code verify already accepted', async () => {
    const h = harness();
    const user = newUser();
    const { secret } = await enroll(h, user);
    h.advance(30_000);
    const used = deviceCode(secret, h.now);
    expect(await h.mfa.verify(user, used)).toEqual({
      ok: true,
      factorId: expect.any(String),
      generation: expect.any(Number),
    });
    h.advance(30_000);
    // The pair (used, next): its first step is the one verify just used.
    const result = await h.mfa.resync(user, used, deviceCode(secret, h.now));
    expect(result).toEqual({ ok: false, reason: 'replayed' });
    // A pair of two new steps is fine.
    h.advance(30_000);
    const fresh = await h.mfa.resync(
      user,
      deviceCode(secret, h.now - 30_000),
      deviceCode(secret, h.now),
    );
    expect(fresh).toMatchObject({ ok: true });
  });
});
