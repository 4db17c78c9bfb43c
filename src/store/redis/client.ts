/**
 * The clients the store accepts (ioredis, node-redis) and how it runs a Lua
 * script through either: `EVALSHA`, then `EVAL` when the server has not
 * cached it; with the `replicas` option, then `WAIT` on the same connection,
 * so that a write counts as done only once enough replicas hold it.
 * @module
 */
import { describe } from '../../_assert.ts';
import { sha1 } from '@noble/hashes/legacy.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/**
 * An ioredis client (`Redis` or `Cluster`): scripts run through
 * `evalsha(sha, numkeys, ...keys, ...args)` and `eval(script, numkeys, ...)`.
 */
export interface IORedisScriptClient {
  /**
   * Runs a cached script.
   *
   * @param sha - the script's SHA-1 in hex
   * @param numkeys - how many of the following arguments are keys
   * @param args - the keys, then the other arguments
   * @returns the script's reply
   */
  evalsha(sha: string, numkeys: number, ...args: string[]): Promise<unknown>;
  /**
   * Runs a script (and caches it on the server).
   *
   * @param script - the Lua source
   * @param numkeys - how many of the following arguments are keys
   * @param args - the keys, then the other arguments
   * @returns the script's reply
   */
  eval(script: string, numkeys: number, ...args: string[]): Promise<unknown>;
}

/**
 * A node-redis client (the `redis` package, v5 or later; a client or a
 * cluster): scripts run through `evalSha(sha, { keys, arguments })` and
 * `eval(script, { keys, arguments })`.
 */
export interface NodeRedisScriptClient {
  /**
   * Runs a cached script.
   *
   * @param sha - the script's SHA-1 in hex
   * @param options - the keys and the other arguments
   * @returns the script's reply
   */
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  /**
   * Runs a script (and caches it on the server).
   *
   * @param script - the Lua source
   * @param options - the keys and the other arguments
   * @returns the script's reply
   */
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

/** A Redis client the store can run scripts through: ioredis or node-redis. */
export type RedisScriptClient = IORedisScriptClient | NodeRedisScriptClient;

/** Options for {@link RedisStore}. */
export interface RedisStoreOptions {
  /** A connected ioredis or node-redis client (or cluster client). */
  client: RedisScriptClient;
  /**
   * Prepended to every key, at most 100 characters, without `{` or `}` (they
   * would move the hash tag). Default `'totpkit:'`.
   */
  prefix?: string;
  /**
   * Report a write as done only once `count` replicas acknowledged it: after
   * every call that writes (all but `getUser`), in the same store call, the
   * store runs `WAIT count timeoutMs` on the connection that ran the write.
   * If fewer replicas acknowledge it within `timeoutMs`, the call throws
   * (`MFAError` `'ERR_STORE'` from the service) and never reports success;
   * the write did happen on the primary, and a failover may or may not keep
   * it. `count` is an integer from 1 to 100, `timeoutMs` from 1 to 60,000
   * (`WAIT`'s 0, wait forever, is refused). Default: no `WAIT`, so an
   * acknowledged write can be lost when a replica is promoted (a code accepted
   * twice); see "Topologies and what failover costs" in `docs/stores.md`.
   */
  replicas?: RedisReplicasOptions;
  /**
   * How long the throttle state of a user without an active factor is kept
   * after it stops counting: the throttle hash expires at the latest of
   * `otp:blockedUntil`, `recovery:blockedUntil` and the pending enrollment's
   * `expiresAt`, plus this many milliseconds (`PEXPIREAT`, by the service's
   * times against the Redis server's clock). Users with a factor keep theirs
   * without expiry. A safe integer ≥ 0; default 604,800,000 (7 days).
   */
  throttleRetentionMs?: number;
}

/** The `replicas` option of {@link RedisStoreOptions}: `WAIT count timeoutMs` after each write. */
export interface RedisReplicasOptions {
  /** How many replicas must acknowledge each write: an integer from 1 to 100. */
  count: number;
  /** How long to wait for them, in milliseconds: an integer from 1 to 60,000. */
  timeoutMs: number;
}

/** A Lua script with its SHA-1, the name EVALSHA knows it by. */
export interface Script {
  readonly source: string;
  readonly sha: string;
  /** Whether it may write (then `replicas` runs WAIT after it). */
  readonly writes: boolean;
}

export function script(source: string, options: { writes?: boolean } = {}): Script {
  return { source, sha: bytesToHex(sha1(utf8ToBytes(source))), writes: options.writes ?? true };
}

export type Run = (script: Script, keys: string[], args: string[]) => Promise<unknown>;

export function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/**
 * What a `WAIT` reply of fewer than `count` replicas throws. The message
 * starts with `NOREPLICAS`, the word Redis itself uses when
 * `min-replicas-to-write` refuses a write, so both get the same advice.
 */
export function replicasError(acknowledged: unknown, replicas: RedisReplicasOptions): Error {
  const got = typeof acknowledged === 'number' ? acknowledged : Number(acknowledged);
  return new Error(
    `NOREPLICAS WAIT: ${Number.isInteger(got) ? got : 'no reply from'} of ${replicas.count} ` +
      `replica(s) acknowledged the write within ${replicas.timeoutMs} ms; the write was applied ` +
      `on the primary and a failover may lose it`,
  );
}

type IORedisPipeline = {
  evalsha(sha: string, numkeys: number, ...args: string[]): IORedisPipeline;
  eval(script: string, numkeys: number, ...args: string[]): IORedisPipeline;
  call(command: string, ...args: string[]): IORedisPipeline;
  exec(): Promise<[Error | null, unknown][] | null>;
};
type NodeRedisSender = {
  sendCommand(...args: unknown[]): Promise<unknown>;
  getNodeClientForKey?: (key: string, isReadonly?: boolean) => Promise<NodeRedisSender>;
  masters?: unknown;
};

/** Adapts a client to one way of running a script: EVALSHA, then EVAL if not cached. */
export function scriptRunner(client: RedisScriptClient, replicas?: RedisReplicasOptions): Run {
  if (client === null || typeof client !== 'object') {
    throw new TypeError(
      `"client" must be an ioredis or node-redis client, got ${describe(client)}`,
    );
  }
  if ('evalSha' in client && typeof client.evalSha === 'function') {
    const nodeRedis = client;
    const run: Run = async ({ source, sha }, keys, args) => {
      const options = { keys, arguments: args };
      try {
        return await nodeRedis.evalSha(sha, options);
      } catch (error) {
        if (!isNoScript(error)) throw error;
        return nodeRedis.eval(source, options);
      }
    };
    if (replicas === undefined) return run;
    const sender = checkSender(client as unknown as NodeRedisSender);
    const wait = ['WAIT', String(replicas.count), String(replicas.timeoutMs)];
    return async (script, keys, args) => {
      const reply = await run(script, keys, args);
      if (!script.writes) return reply;
      let acknowledged: unknown;
      if (sender.masters === undefined) {
        // One client, one connection: the WAIT follows the script on it.
        acknowledged = await sender.sendCommand(wait);
      } else if (typeof sender.getNodeClientForKey === 'function') {
        // A cluster: the client of the master that holds the user's slot, the
        // one the script ran on (unless the slot moved in between).
        const node = await sender.getNodeClientForKey(keys[0]!, false);
        acknowledged = await node.sendCommand(wait);
      } else {
        // An older cluster client: node-redis sends WAIT to every master and
        // returns the least count, which is stricter than needed but never less.
        acknowledged = await sender.sendCommand(keys[0], false, wait);
      }
      if (Number(acknowledged) >= replicas.count) return reply;
      throw replicasError(acknowledged, replicas);
    };
  }
  if ('evalsha' in client && typeof client.evalsha === 'function') {
    const ioredis = client;
    if (replicas === undefined) {
      return async ({ source, sha }, keys, args) => {
        try {
          return await ioredis.evalsha(sha, keys.length, ...keys, ...args);
        } catch (error) {
          if (!isNoScript(error)) throw error;
          return ioredis.eval(source, keys.length, ...keys, ...args);
        }
      };
    }
    const pipeline = checkPipeline(client);
    const wait = [String(replicas.count), String(replicas.timeoutMs)];
    // One pipeline, the script then WAIT: both go to the same connection, on a
    // Cluster to the node of the script's keys (WAIT has none).
    const send = async (first: (p: IORedisPipeline) => IORedisPipeline, writes: boolean) => {
      const replies = (await (
        writes ? first(pipeline()).call('WAIT', ...wait) : first(pipeline())
      ).exec()) ?? [[new Error('the pipeline was discarded'), null]];
      const [scriptError, reply] = replies[0] ?? [new Error('no reply'), null];
      if (scriptError) throw scriptError;
      if (!writes) return reply;
      const [waitError, acknowledged] = replies[1] ?? [new Error('no WAIT reply'), null];
      if (waitError) throw waitError;
      if (Number(acknowledged) >= replicas.count) return reply;
      throw replicasError(acknowledged, replicas);
    };
    return async ({ source, sha, writes }, keys, args) => {
      try {
        return await send((p) => p.evalsha(sha, keys.length, ...keys, ...args), writes);
      } catch (error) {
        if (!isNoScript(error)) throw error;
        return send((p) => p.eval(source, keys.length, ...keys, ...args), writes);
      }
    };
  }
  throw new TypeError(
    `"client" must be an ioredis or node-redis client (with evalsha or evalSha), got ${describe(client)}`,
  );
}

/** An ioredis client's `pipeline()`, which `replicas` needs. */
function checkPipeline(client: object): () => IORedisPipeline {
  const { pipeline } = client as { pipeline?: unknown };
  if (typeof pipeline !== 'function') {
    throw new TypeError(`"replicas" needs an ioredis client with pipeline(), got one without`);
  }
  return () => (pipeline as () => IORedisPipeline).call(client);
}

/** A node-redis client's `sendCommand`, which `replicas` needs. */
function checkSender(client: NodeRedisSender): NodeRedisSender {
  if (typeof client.sendCommand !== 'function') {
    throw new TypeError(`"replicas" needs a node-redis client with sendCommand(), got one without`);
  }
  return client;
}
