// RedisStore's key layout and script fallback without a server: every key a
// script names for one user lies in one cluster slot whatever the id (CLUSTER
// KEYSLOT computed locally, test/helpers/keyslot.ts; checked against a real
// cluster in redis-cluster.test.ts), distinct ids never share a key, and a
// NOSCRIPT reply is recognised where ioredis Cluster wraps it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/store/redis.ts';
import {
  isNoScript,
  isTryAgain,
  scriptRunner,
  script,
  withTryAgain,
} from '../../src/store/redis/client.ts';
import { checkUserId } from '../../src/_assert.ts';
import { crc16, keySlot } from '../helpers/keyslot.ts';

/** Whether the stores take `id` (see checkUserId). */
function wellFormed(id: string): boolean {
  try {
    checkUserId(id);
    return true;
  } catch {
    return false;
  }
}

/** Ids rich in what moves a hash tag: braces first, last, paired; astral characters. */
const piece = fc.oneof(
  fc.constantFrom('}', '{', '{}', '}{', ':', '/', '*', '😀', '\u{10FFFF}', 'é', 'a', ' '),
  fc.string({ unit: 'grapheme', maxLength: 3 }),
);
const userId = fc
  .array(piece, { minLength: 1, maxLength: 8 })
  .map((parts) => parts.join(''))
  .filter(wellFormed); // the store refuses the others (checkUserId), before any key
const prefix = fc.constantFrom('totpkit:', '', 'app:2fa:', 'x');

/**
 * A RedisStore on a fake ioredis Cluster client that records the keys of
 * every script call (the layout marker answers as set).
 */
function recordingStore(storePrefix: string) {
  const calls: string[][] = [];
  const client = {
    isCluster: true,
    async evalsha(_sha: string, numkeys: number, ...args: string[]) {
      const keys = args.slice(0, numkeys);
      if (numkeys === 1 && keys[0] === `${storePrefix}layout`) return 'tagged-v1';
      calls.push(keys);
      return [[], null, null, [], []];
    },
    async eval() {
      throw new Error('not used');
    },
  };
  return { store: new RedisStore({ client, prefix: storePrefix }), calls };
}

describe('Redis key slots', () => {
  it('CRC16 (XMODEM) and CLUSTER KEYSLOT match the values in the Redis Cluster specification', () => {
    // The spec's CRC16 check value, and CLUSTER KEYSLOT examples from the Redis documentation.
    expect(crc16(new TextEncoder().encode('123456789'))).toBe(0x31c3);
    expect(keySlot('somekey')).toBe(11058);
    expect(keySlot('foo{hash_tag}')).toBe(2515);
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('{}foo')).not.toBe(keySlot('{}bar')); // an empty tag hashes the whole key
  });

  it('a user id starting with } empties the old {userId} tag (the bug this layout fixes)', () => {
    const old = (id: string, name: string) => `totpkit:{${id}}:${name}`;
    expect(keySlot(old('}x', 'factors'))).not.toBe(keySlot(old('}x', 'throttle')));
  });

  it('every key a script names for one user shares one slot, for arbitrary well-formed ids', async () => {
    await fc.assert(
      fc.asyncProperty(prefix, userId, async (p, id) => {
        const { store, calls } = recordingStore(p);
        await store.getUser(id, 0);
        await store.resetThrottle(id, 'otp');
        await store.consumeRecoveryCode(id, 'h').catch(() => {});
        expect(calls.length).toBeGreaterThanOrEqual(2);
        const slots = new Set(calls.flat().map(keySlot));
        expect(slots.size, JSON.stringify(calls)).toBe(1);
        for (const key of calls.flat()) {
          // One hash tag, all of it base64url: nothing in the id can end it early.
          expect(key.startsWith(`${p}{`)).toBe(true);
          expect(key.slice(p.length)).toMatch(/^\{[A-Za-z0-9_-]+\}\/[a-z:]+$/);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('distinct ids never share a key', async () => {
    await fc.assert(
      fc.asyncProperty(userId, userId, async (a, b) => {
        fc.pre(a !== b);
        const { store, calls } = recordingStore('totpkit:');
        await store.getUser(a, 0);
        await store.getUser(b, 0);
        const [keysA, keysB] = calls as [string[], string[]];
        expect(keysA.filter((key) => keysB.includes(key))).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('tags alice as YWxpY2U (base64url of her UTF-8 id), as docs/stores.md shows', async () => {
    const { store, calls } = recordingStore('totpkit:');
    await store.getUser('alice', 0);
    expect(calls[0]).toEqual(
      [
        'factors',
        'enrollment',
        'recovery:salt',
        'recovery:codes',
        'throttle',
        'erased',
        'account',
      ].map((name) => `totpkit:{YWxpY2U}/${name}`),
    );
  });
});

describe('NOSCRIPT', () => {
  // The message ioredis Cluster builds in handleError once its redirections run
  // out: `new Error("Too many Cluster redirections. Last error: " + error)`,
  // the last error being a ReplyError whose toString() is "ReplyError: …".
  const wrapped =
    'Too many Cluster redirections. Last error: ReplyError: NOSCRIPT No matching script. Please use EVAL.';

  it('is recognised at the start of a reply, wrapped by ioredis Cluster, or as a cause', () => {
    expect(isNoScript(new Error('NOSCRIPT No matching script. Please use EVAL.'))).toBe(true);
    expect(isNoScript(new Error(wrapped))).toBe(true);
    const outer = new Error('command failed', { cause: new Error(wrapped) });
    expect(isNoScript(outer)).toBe(true);
  });

  it('is not read into other errors', () => {
    for (const message of [
      'Too many Cluster redirections. Last error: ReplyError: MOVED 3999 127.0.0.1:7001',
      'Too many Cluster redirections. Last error: Error: Connection is closed.',
      "CROSSSLOT Keys in request don't hash to the same slot",
      'ERR user_script:1: NOSCRIPT in a script error is not a cache miss',
      'NOSCRIPTED',
      'ERR NOSCRIPT',
    ]) {
      expect(isNoScript(new Error(message)), message).toBe(false);
    }
    expect(isNoScript('NOSCRIPT')).toBe(false);
    expect(isNoScript({ message: 'NOSCRIPT' })).toBe(false);
  });

  it('a wrapped NOSCRIPT falls back to EVAL once; any other error reaches the caller', async () => {
    const s = script('return 1');
    let evals = 0;
    let failure = wrapped;
    const client = {
      evalsha: async () => {
        throw new Error(failure);
      },
      eval: async () => ++evals,
    };
    const run = scriptRunner(client);
    expect(await run(s, ['k'], [])).toBe(1);
    failure = 'Too many Cluster redirections. Last error: ReplyError: MOVED 1 127.0.0.1:7001';
    await expect(run(s, ['k'], [])).rejects.toThrow(/MOVED/);
    expect(evals).toBe(1);
  });
});

describe('TRYAGAIN', () => {
  it('retries TRYAGAIN (a slot moving between masters: nothing ran), bare or wrapped, and nothing else', async () => {
    expect(isTryAgain(new Error('TRYAGAIN Multiple keys request during rehashing of slot'))).toBe(
      true,
    );
    expect(
      isTryAgain(
        new Error(
          'Too many Cluster redirections. Last error: ReplyError: TRYAGAIN Multiple keys request during rehashing of slot',
        ),
      ),
    ).toBe(true);
    expect(isTryAgain(new Error('ERR user_script:1: TRYAGAIN'))).toBe(false);
    const s = script('return 1');
    let calls = 0;
    const flaky = withTryAgain(async () => {
      if (++calls < 4) throw new Error('TRYAGAIN Multiple keys request during rehashing of slot');
      return 'done';
    });
    expect(await flaky(s, ['k'], [])).toBe('done');
    expect(calls).toBe(4);
    calls = 0;
    const moved = withTryAgain(async () => {
      calls++;
      throw new Error("CROSSSLOT Keys in request don't hash to the same slot");
    });
    await expect(moved(s, ['k'], [])).rejects.toThrow(/CROSSSLOT/);
    expect(calls).toBe(1);
  });
});
