// How RedisStore runs a script with `replicas` through a node-redis Sentinel
// client (`createSentinel`), without a server: a stand-in with the client's
// shape records what is sent. The real client, behind real Sentinels, is in
// redis-sentinel.test.ts.
import { describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/store/redis.ts';

/** node-redis's MultiErrorReply: every reply, and which ones are errors. */
class MultiErrorReply extends Error {
  constructor(
    readonly replies: unknown[],
    readonly errorIndexes: number[],
  ) {
    super(`${errorIndexes.length} commands failed`);
  }
}

/** A stand-in for a node-redis Sentinel client; `reply` answers each pipeline. */
function fakeSentinel(reply: (commands: string[][]) => unknown[]) {
  const pipelines: string[][][] = [];
  const client = {
    getMasterNode: () => ({ host: '127.0.0.1', port: 6379 }),
    acquire: async () => {
      throw new Error('not used');
    },
    evalSha: async () => {
      throw new Error('a script sent outside a pipeline');
    },
    eval: async () => {
      throw new Error('a script sent outside a pipeline');
    },
    sendCommand: async () => {
      throw new Error('a command sent outside a pipeline');
    },
    multi() {
      const commands: string[][] = [];
      const pipeline = {
        evalSha(sha: string, o: { keys: string[]; arguments: string[] }) {
          commands.push(['EVALSHA', sha, String(o.keys.length), ...o.keys, ...o.arguments]);
          return pipeline;
        },
        eval(script: string, o: { keys: string[]; arguments: string[] }) {
          commands.push(['EVAL', script.slice(0, 10), String(o.keys.length), ...o.keys]);
          return pipeline;
        },
        addCommand(isReadonly: boolean, args: string[]) {
          expect(isReadonly).toBe(false);
          commands.push(args);
          return pipeline;
        },
        async execAsPipeline() {
          pipelines.push(commands);
          const replies = reply(commands);
          const errors = replies.flatMap((r, i) => (r instanceof Error ? [i] : []));
          if (errors.length > 0) throw new MultiErrorReply(replies, errors);
          return replies;
        },
      };
      return pipeline;
    },
  };
  return { client, pipelines };
}

const replicas = { count: 2, timeoutMs: 250 };

describe('RedisStore with replicas on a node-redis Sentinel client', () => {
  it('sends each write and its WAIT as one pipeline, and reports success once count replicas acknowledge', async () => {
    const { client, pipelines } = fakeSentinel(() => [0, 2]);
    const store = new RedisStore({ client: client as never, replicas });
    expect(await store.deleteUser('alice', { now: Date.now(), guardMs: 60_000 })).toBe(false);
    expect(pipelines).toHaveLength(1);
    expect(pipelines[0]![0]![0]).toBe('EVALSHA');
    expect(pipelines[0]![1]).toEqual(['WAIT', '2', '250']);
  });

  it('throws NOREPLICAS when fewer replicas acknowledge', async () => {
    const { client } = fakeSentinel(() => [1, 1]);
    const store = new RedisStore({ client: client as never, replicas });
    await expect(store.deleteUser('alice', { now: Date.now(), guardMs: 60_000 })).rejects.toThrow(
      /^NOREPLICAS WAIT: 1 of 2 replica\(s\) acknowledged the write within 250 ms/,
    );
  });

  it('sends the script with EVAL, again with WAIT, when the server does not have it (NOSCRIPT)', async () => {
    const { client, pipelines } = fakeSentinel((commands) =>
      commands[0]![0] === 'EVALSHA' ? [new Error('NOSCRIPT No matching script.'), 2] : [1, 2],
    );
    const store = new RedisStore({ client: client as never, replicas });
    expect(await store.deleteUser('alice', { now: Date.now(), guardMs: 60_000 })).toBe(true);
    expect(pipelines.map((p) => p.map((c) => c[0]))).toEqual([
      ['EVALSHA', 'WAIT'],
      ['EVAL', 'WAIT'],
    ]);
  });

  it('passes on a script error, and a WAIT error, without success', async () => {
    const failing = fakeSentinel(() => [
      new Error('READONLY You cannot write against a replica'),
      2,
    ]);
    await expect(
      new RedisStore({ client: failing.client as never, replicas }).deleteUser('alice', {
        now: Date.now(),
        guardMs: 60_000,
      }),
    ).rejects.toThrow(/^READONLY/);
    const waitFails = fakeSentinel(() => [1, new Error('NOPERM no permissions to run WAIT')]);
    await expect(
      new RedisStore({ client: waitFails.client as never, replicas }).deleteUser('alice', {
        now: Date.now(),
        guardMs: 60_000,
      }),
    ).rejects.toThrow(/^NOPERM/);
  });

  it('reads without WAIT', async () => {
    const { client, pipelines } = fakeSentinel(() => [[]]);
    const store = new RedisStore({ client: client as never, replicas });
    await store.getUser('alice', 0).catch(() => {});
    expect(pipelines[0]!.map((c) => c[0])).toEqual(['EVALSHA']);
  });
});
