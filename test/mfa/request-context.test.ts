/**
 * The request context (issue 21.4, CONTRACT2 "Request context"): every public
 * method accepts `options.context`; every event that call emits carries it
 * unchanged (a deep-frozen copy); no store method ever receives it; past a
 * bound, a RangeError naming `options.context`; not JSON-safe, a TypeError.
 *
 * The oracles are the documented claims: the bounds (depth 8, 4096 UTF-8
 * bytes of JSON), "unchanged" (deep-equal to what the caller passed, not the
 * caller's object), and "never passed to the store" (a spying proxy searches
 * every argument of every store call for the context, deeply).
 */
import { describe, expect, it } from 'vitest';
import {
  generateSecret,
  MemoryStore,
  type MFA,
  type MFAEvent,
  type MFAStore,
  type RequestContext,
} from '../../src/index.ts';
import { deviceCode, enroll, harness, newUser, NO_THROTTLE, T0 } from '../helpers/mfa.ts';

/** A context with a marker no other value in the run has. */
function makeContext(): { context: RequestContext; marker: string } {
  const marker = `ctx-marker-${globalThis.crypto.randomUUID()}`;
  return {
    marker,
    context: {
      requestId: marker,
      ip: '2001:db8::1',
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64)',
      actor: { kind: 'user', tags: ['a', 1, true, null, { deep: marker }] },
    },
  };
}

/** Whether `value` holds `marker` in any string, or `target` by identity, at any depth. */
function holds(value: unknown, marker: string, targets: Set<unknown>, seen = new Set()): boolean {
  if (targets.has(value)) return true;
  if (typeof value === 'string') return value.includes(marker);
  if (value === null || typeof value !== 'object') return false;
  if (seen.has(value)) return false;
  seen.add(value);
  if (value instanceof Map) {
    return [...value].some(
      ([k, v]) => holds(k, marker, targets, seen) || holds(v, marker, targets, seen),
    );
  }
  if (ArrayBuffer.isView(value)) {
    return new TextDecoder().decode(value as Uint8Array).includes(marker);
  }
  return Reflect.ownKeys(value).some((key) => {
    if (typeof key === 'string' && key.includes(marker)) return true;
    const descriptor = Object.getOwnPropertyDescriptor(value, key);
    return (
      descriptor !== undefined &&
      'value' in descriptor &&
      holds(descriptor.value, marker, targets, seen)
    );
  });
}

/** All objects inside `value` (to catch the context, or a part of it, passed by identity). */
function partsOf(value: unknown, into = new Set<unknown>()): Set<unknown> {
  if (value !== null && typeof value === 'object') {
    into.add(value);
    for (const v of Object.values(value)) partsOf(v, into);
  }
  return into;
}

/** A MemoryStore behind a proxy that records every call and its arguments. */
function spyingStore(): { store: MFAStore; calls: { method: string; args: unknown[] }[] } {
  const inner = new MemoryStore();
  const calls: { method: string; args: unknown[] }[] = [];
  const store = new Proxy(inner, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push({ method: String(key), args: structuredClone(args) });
        calls.at(-1)!.args = args; // the very objects, too (identity)
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, calls };
}

describe('the context is checked at the entry point', () => {
  const h = harness();
  const user = newUser();
  const deep = (levels: number): unknown => {
    let value: unknown = 'leaf';
    for (let i = 0; i < levels; i++) value = i % 2 ? [value] : { v: value };
    return value;
  };
  // Fill a one-key object's JSON to exactly `bytes` UTF-8 bytes: {"k":"…"} is 8 bytes + the string.
  const ofBytes = (bytes: number, char = 'x') => {
    const width = new TextEncoder().encode(char).length;
    const rest = bytes - 8;
    return { k: char.repeat(Math.floor(rest / width)) + 'x'.repeat(rest % width) };
  };

  it('accepts every JSON-safe value up to the bounds: 8 levels, 4096 bytes', async () => {
    for (const context of [
      null,
      true,
      0,
      -1.5e300,
      '',
      'text',
      [],
      {},
      deep(8),
      ofBytes(4096),
      ofBytes(4096, 'é'),
      ofBytes(4096, '😀'),
      { ['__proto__']: 1 },
    ]) {
      await expect(
        h.mfa.status(user, { context: context as RequestContext }),
      ).resolves.toMatchObject({
        state: 'none',
      });
    }
    expect(JSON.stringify(ofBytes(4096, '😀')).length).toBeLessThan(4096); // bytes, not UTF-16 units
  });

  const refused: [string, unknown, ErrorConstructor, RegExp][] = [
    ['9 levels', deep(9), RangeError, /at most 8 levels/],
    ['4097 bytes', ofBytes(4097), RangeError, /at most 4096 bytes as UTF-8 JSON, got 4097/],
    ['4097 bytes of 2-byte characters', ofBytes(4097, 'é'), RangeError, /got 4097/],
    ['a function', { f: () => 1 }, TypeError, /JSON-safe/],
    ['undefined inside', { a: undefined }, TypeError, /JSON-safe/],
    ['NaN', { n: Number.NaN }, TypeError, /JSON-safe/],
    ['Infinity', [Infinity], TypeError, /JSON-safe/],
    ['a bigint', { b: 1n }, TypeError, /JSON-safe/],
    ['a symbol', Symbol('s'), TypeError, /JSON-safe/],
    ['a symbol key', { [Symbol('k')]: 1 }, TypeError, /symbol key/],
    ['a Date', { at: new Date(0) }, TypeError, /instance of a class/],
    ['a Map', new Map(), TypeError, /instance of a class/],
    ['a Uint8Array', new Uint8Array(2), TypeError, /instance of a class/],
    [
      'a getter',
      Object.defineProperty({}, 'g', { get: () => 1, enumerable: true }),
      TypeError,
      /getter/,
    ],
    ['an array hole', [1, , 3], TypeError, /hole/], // eslint-disable-line no-sparse-arrays
    [
      'a cycle',
      (() => {
        const a: Record<string, unknown> = {};
        a.self = a;
        return a;
      })(),
      TypeError,
      /circular/,
    ],
  ];
  it.each(refused)(
    'refuses %s, naming options.context and stating the rule',
    async (_, context, type, rule) => {
      const before = h.events.length;
      const call = h.mfa.status(user, { context: context as RequestContext });
      await expect(call).rejects.toThrow(type);
      await expect(call).rejects.toThrow(/"options\.context"/);
      await expect(call).rejects.toThrow(rule);
      expect(h.events.length).toBe(before);
    },
  );

  it('refuses a bad context before anything is written', async () => {
    const { store, calls } = spyingStore();
    const s = harness({ store });
    await expect(
      s.mfa.adminReset(user, { actor: 'a', reason: 'r', context: { f: Symbol('x') } as never }),
    ).rejects.toThrow(TypeError);
    await expect(
      s.mfa.verify(user, '123456', { context: deep(9) as RequestContext }),
    ).rejects.toThrow(RangeError);
    expect(calls).toEqual([]);
  });

  it('passes a deep-frozen copy: the caller may change its object afterwards', async () => {
    const s = harness();
    const context = { ip: '192.0.2.1', tags: ['x'] };
    await s.mfa.unlock(user, undefined, { context });
    context.ip = 'changed';
    context.tags.push('y');
    const [event] = s.ofType('unlocked');
    expect(event!.context).toEqual({ ip: '192.0.2.1', tags: ['x'] });
    expect(event!.context).not.toBe(context);
    expect(Object.isFrozen(event!.context)).toBe(true);
    expect(Object.isFrozen((event!.context as { tags: unknown[] }).tags)).toBe(true);
  });

  it('events of a call without a context have no context field', async () => {
    const s = harness();
    await s.mfa.unlock(user);
    expect('context' in s.ofType('unlocked')[0]!).toBe(false);
  });
});

describe("every method's events carry the caller's context, and no store call receives it", () => {
  /** Each public method, called so that it emits its events. */
  type Call = (
    mfa: MFA,
    user: string,
    ctx: { context: RequestContext },
    state: State,
  ) => Promise<unknown>;
  interface State {
    secret: string;
    recoveryCodes: readonly string[];
    factorId: string;
    now: () => number;
    advance: (ms: number) => void;
    deviceToken?: string;
    deviceId?: string;
  }
  const calls: [string, Call][] = [
    ['status', (mfa, u, o) => mfa.status(u, o)],
    ['listFactors', (mfa, u, o) => mfa.listFactors(u, o)],
    [
      'verify',
      (mfa, u, o, s) => (s.advance(30_000), mfa.verify(u, deviceCode(s.secret, s.now()), o)),
    ],
    [
      'verify (rememberDevice)',
      async (mfa, u, o, s) => {
        s.advance(30_000);
        const r = await mfa.verify(u, deviceCode(s.secret, s.now()), {
          ...o,
          rememberDevice: { name: 'Phone' },
        });
        if (r.ok && r.device) [s.deviceToken, s.deviceId] = [r.device.token, r.device.id];
        return r;
      },
    ],
    ['verify (refused)', (mfa, u, o) => mfa.verify(u, '000000', o)],
    [
      'checkRememberedDevice',
      (mfa, u, o, s) => mfa.checkRememberedDevice(u, s.deviceToken ?? '', o),
    ],
    ['listRememberedDevices', (mfa, u, o) => mfa.listRememberedDevices(u, o)],
    [
      'forgetRememberedDevice',
      (mfa, u, o, s) => mfa.forgetRememberedDevice(u, s.deviceId ?? 'none', o),
    ],
    ['forgetRememberedDevices', (mfa, u, o) => mfa.forgetRememberedDevices(u, o)],
    [
      'resync',
      (mfa, u, o, s) => {
        s.advance(90_000);
        return mfa.resync(
          u,
          deviceCode(s.secret, s.now() - 30_000),
          deviceCode(s.secret, s.now()),
          o,
        );
      },
    ],
    ['useRecoveryCode', (mfa, u, o, s) => mfa.useRecoveryCode(u, s.recoveryCodes[0]!, o)],
    ['regenerateRecoveryCodes', (mfa, u, o) => mfa.regenerateRecoveryCodes(u, o)],
    ['renameFactor', (mfa, u, o, s) => mfa.renameFactor(u, s.factorId, 'Work phone', o)],
    [
      'importFactor',
      (mfa, u, o) => mfa.importFactor(u, { secret: generateSecret(), name: 'Imported', ...o }),
    ],
    ['reencryptSecret', (mfa, u, o) => mfa.reencryptSecret(u, o)],
    ['unlock', (mfa, u, o) => mfa.unlock(u, 'otp', o)],
    [
      'beginEnrollment',
      (mfa, u, o) => mfa.beginEnrollment(u, { accountName: 'a@example.com', name: 'Tablet', ...o }),
    ],
    [
      'completeEnrollment (refused)',
      (mfa, u, o) => mfa.completeEnrollment(u, '000000', '000001', o),
    ],
    ['removeFactor', (mfa, u, o, s) => mfa.removeFactor(u, s.factorId, o)],
    ['disable', (mfa, u, o) => mfa.disable(u, o)],
    [
      'adminReset',
      (mfa, u, o) => mfa.adminReset(u, { actor: 'agent:jo', reason: 'ticket 1', ...o }),
    ],
    [
      'sendVerificationCode',
      (mfa, u, o) =>
        mfa.sendVerificationCode(u, {
          channel: 'email',
          destination: 'a@example.com',
          purpose: 'change_email',
          ...o,
        }),
    ],
    [
      'checkVerificationCode',
      (mfa, u, o) => mfa.checkVerificationCode(u, '000000', { purpose: 'change_email', ...o }),
    ],
    ['useProof', (mfa, u, o) => mfa.useProof(u, 'x'.repeat(32), { purpose: 'change_email', ...o })],
    ['pendingEnrollment', (mfa, u, o) => mfa.pendingEnrollment(u, { accountName: 'a', ...o })],
    ['deleteUserData', (mfa, u, o) => mfa.deleteUserData(u, o)],
  ];

  it('covers every public method of the service', () => {
    const h = harness();
    const proto = Object.getPrototypeOf(h.mfa) as object;
    const methods = Object.getOwnPropertyNames(proto).filter(
      (n) => n !== 'constructor' && n !== 'toString',
    );
    const covered = new Set(calls.map(([name]) => name.split(' ')[0]));
    expect(methods.filter((m) => !covered.has(m))).toEqual([]);
  });

  it("on a full run of every method, each event has exactly its call's context", async () => {
    const { store, calls: storeCalls } = spyingStore();
    const h = harness({ store, policy: { throttle: NO_THROTTLE } });
    const user = newUser('ctx');
    const enrolled = await enroll(h, user);
    const factorId = (await h.mfa.listFactors(user))[0]!.id;
    const state: State = {
      ...enrolled,
      factorId,
      now: () => h.now,
      advance: (ms) => h.advance(ms),
    };
    storeCalls.length = 0;
    const markers: string[] = [];
    const targets = new Set<unknown>();
    const emittedBy: Record<string, string[]> = {};
    for (const [name, call] of calls) {
      const { context, marker } = makeContext();
      markers.push(marker);
      partsOf(context, targets);
      const before = h.events.length;
      await call(h.mfa, user, { context }, state);
      const events: MFAEvent[] = h.events.slice(before);
      emittedBy[name] = events.map((e) => e.type);
      for (const event of events) {
        expect({ call: name, type: event.type, context: event.context }).toEqual({
          call: name,
          type: event.type,
          context,
        });
      }
    }
    // The run reached every kind of event a call of each method emits here.
    expect(emittedBy).toMatchObject({
      verify: ['verify_succeeded'],
      'verify (rememberDevice)': ['verify_succeeded', 'device_remembered'],
      'verify (refused)': ['verify_failed'],
      checkRememberedDevice: ['device_used'],
      forgetRememberedDevice: ['device_forgotten'],
      useRecoveryCode: ['recovery_code_used'],
      regenerateRecoveryCodes: ['recovery_codes_regenerated'],
      renameFactor: ['factor_renamed'],
      importFactor: ['factor_imported'],
      unlock: ['unlocked'],
      beginEnrollment: ['enrollment_started'],
      'completeEnrollment (refused)': ['enrollment_failed'],
      disable: ['disabled'],
      adminReset: ['admin_reset'],
      deleteUserData: ['user_data_deleted'],
      sendVerificationCode: ['verification_code_sent'],
      checkVerificationCode: ['verification_code_checked'],
    });
    expect(emittedBy.resync).toEqual(['resynced']);
    expect(emittedBy.removeFactor).toContain('factor_removed');
    expect(storeCalls.length).toBeGreaterThan(20);
    for (const { method, args } of storeCalls) {
      for (const marker of markers) {
        expect({ method, holds: holds(args, marker, targets) }).toEqual({ method, holds: false });
      }
    }
  });

  it('refused and throttled calls carry it too', async () => {
    const h = harness({
      policy: { throttle: { freeAttempts: 0, baseDelayMs: 60_000, maxDelayMs: 60_000 } },
    });
    const user = newUser();
    await enroll(h, user);
    const { context } = makeContext();
    await h.mfa.verify(user, '000000', { context });
    await h.mfa.verify(user, '000000', { context });
    expect(h.events.slice(-2).map((e) => [e.type, e.context])).toEqual([
      ['verify_failed', context],
      ['throttled', context],
    ]);
    expect(T0).toBeGreaterThan(0);
  });
});
