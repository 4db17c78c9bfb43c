/**
 * The clients the store accepts (ioredis, node-redis) and how it runs a Lua
 * script through either: `EVALSHA`, then `EVAL` when the server has not
 * cached it; with the `replicas` option, then `WAIT` on the same connection,
 * so that a write counts as done only once enough replicas hold it.
 * @module
 */
import { checkInteger, checkOptions, describe } from '../../_assert.ts';
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
  /**
   * A connected ioredis or node-redis client: a client, a cluster client, or
   * a Sentinel client (ioredis `new Redis({ sentinels, name })`, node-redis
   * `createSentinel`).
   */
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
   * Set `count` to the number of replicas the primary has, every one of them:
   * behind Sentinel a smaller count loses acknowledged writes in a failover
   * (the old primary, still writable for a while after a replica was
   * promoted, gets its acknowledgements from the replicas it still has; and
   * Sentinel may promote a replica that lacks a write another one
   * acknowledged).
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

/** Checks the `replicas` option; `undefined` when it is not set. */
export function checkReplicas(value: unknown): RedisReplicasOptions | undefined {
  if (value === undefined) return undefined;
  const replicas = checkOptions(value as RedisReplicasOptions, 'replicas');
  return {
    count: checkInteger(replicas.count, 'replicas.count', 1, 100),
    timeoutMs: checkInteger(replicas.timeoutMs, 'replicas.timeoutMs', 1, 60_000),
  };
}

/** A Lua script with its SHA-1, the name EVALSHA knows it by. */
interface Script {
  readonly source: string;
  readonly sha: string;
  /** Whether it may write (then `replicas` runs WAIT after it). */
  readonly writes: boolean;
}

export function script(source: string, options: { writes?: boolean } = {}): Script {
  return { source, sha: bytesToHex(sha1(utf8ToBytes(source))), writes: options.writes ?? true };
}

export type Run = (script: Script, keys: string[], args: string[]) => Promise<unknown>;

/**
 * Whether `error` says the server does not have the script cached: a reply
 * starting with `NOSCRIPT`, also where a client wraps it, as ioredis Cluster
 * does after its redirections ("Too many Cluster redirections. Last error:
 * ReplyError: NOSCRIPT …"), or as an error's `cause`. Only the error code at
 * the start of a reply counts, so no other error becomes a retry.
 */
export function isNoScript(error: unknown): boolean {
  return isReply(error, 'NOSCRIPT');
}

/** Whether `error` is the server's reply `code`, bare, wrapped by ioredis Cluster, or as a cause. */
function isReply(error: unknown, code: string, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 3) return false;
  const wrapped = /^(?:Too many Cluster redirections\. Last error: (?:\w+: )?)?([A-Z]+)\b/;
  if (wrapped.exec(error.message)?.[1] === code) return true;
  return isReply(error.cause, code, depth + 1);
}

/**
 * Whether `error` is Redis Cluster's `TRYAGAIN`: a script whose keys are
 * split between two masters while their slot moves (resharding). The server
 * ran nothing; node-redis passes it on, and ioredis after 16 tries.
 */
export function isTryAgain(error: unknown): boolean {
  return isReply(error, 'TRYAGAIN');
}

/** How long `withTryAgain` waits before each retry, in ms: about 5 s in all. */
const TRY_AGAIN_DELAYS_MS = [10, 20, 50, 100, 200, ...Array<number>(23).fill(200)];

/**
 * Runs scripts through `run`, retrying a `TRYAGAIN` reply (nothing ran) with
 * a short delay while a slot moves between masters, for about 5 s.
 */
export function withTryAgain(run: Run): Run {
  return async (script, keys, args) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await run(script, keys, args);
      } catch (error) {
        const delay = TRY_AGAIN_DELAYS_MS[attempt];
        if (delay === undefined || !isTryAgain(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  };
}

/**
 * What a `WAIT` reply of fewer than `count` replicas throws. The message
 * starts with `NOREPLICAS`, the word Redis itself uses when
 * `min-replicas-to-write` refuses a write, so both get the same advice.
 */
function replicasError(acknowledged: unknown, replicas: RedisReplicasOptions): Error {
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
    if (isNodeRedisSentinel(client)) return sentinelRunner(client, replicas);
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

/** A node-redis Sentinel client (`createSentinel`): its pipelines run on one master connection. */
type NodeRedisSentinel = {
  getMasterNode(): unknown;
  multi(): NodeRedisSentinelPipeline;
};
type NodeRedisSentinelPipeline = {
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): NodeRedisSentinelPipeline;
  eval(script: string, options: { keys: string[]; arguments: string[] }): NodeRedisSentinelPipeline;
  addCommand(isReadonly: boolean, args: string[]): NodeRedisSentinelPipeline;
  execAsPipeline(): Promise<unknown[]>;
};

/** Whether `client` is a node-redis Sentinel client (`createSentinel`), not a client or a cluster. */
function isNodeRedisSentinel(client: object): client is NodeRedisSentinel {
  const c = client as Partial<Record<'getMasterNode' | 'acquire' | 'multi', unknown>>;
  return (
    typeof c.getMasterNode === 'function' &&
    typeof c.acquire === 'function' &&
    typeof c.multi === 'function'
  );
}

/**
 * `replicas` on a node-redis Sentinel client. Its commands go to a pool of
 * master connections, and a command that meets a closed connection or
 * `READONLY` is sent again to the master Sentinel names next: a `WAIT` sent on
 * its own could count another connection's, or another server's, replicas.
 * So the script and `WAIT` go as one pipeline (`execAsPipeline`, not a
 * transaction), which node-redis writes to one connection and, if it retries,
 * retries whole on the new master's.
 */
function sentinelRunner(client: NodeRedisSentinel, replicas: RedisReplicasOptions): Run {
  const wait = ['WAIT', String(replicas.count), String(replicas.timeoutMs)];
  const send = async (
    first: (p: NodeRedisSentinelPipeline) => NodeRedisSentinelPipeline,
    writes: boolean,
  ) => {
    const pipeline = first(client.multi());
    let replies: unknown[];
    try {
      replies = await (writes ? pipeline.addCommand(false, wait) : pipeline).execAsPipeline();
    } catch (error) {
      // A reply that is an error: node-redis throws MultiErrorReply, with every reply.
      if (error === null || typeof error !== 'object') throw error;
      const { replies: all, errorIndexes } = error as { replies?: unknown; errorIndexes?: unknown };
      if (!Array.isArray(all) || !Array.isArray(errorIndexes)) throw error;
      throw all[errorIndexes.includes(0) ? 0 : 1];
    }
    if (!writes) return replies[0];
    if (Number(replies[1]) >= replicas.count) return replies[0];
    throw replicasError(replies[1], replicas);
  };
  return async ({ source, sha, writes }, keys, args) => {
    const options = { keys, arguments: args };
    try {
      return await send((p) => p.evalSha(sha, options), writes);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return send((p) => p.eval(source, options), writes);
    }
  };
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
