/**
 * The clients the store accepts (ioredis, node-redis) and how it runs a Lua
 * script through either: `EVALSHA`, then `EVAL` when the server has not
 * cached it.
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
}

/** A Lua script with its SHA-1, the name EVALSHA knows it by. */
export interface Script {
  readonly source: string;
  readonly sha: string;
}

export function script(source: string): Script {
  return { source, sha: bytesToHex(sha1(utf8ToBytes(source))) };
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

/** Adapts a client to one way of running a script: EVALSHA, then EVAL if not cached. */
export function scriptRunner(client: RedisScriptClient): Run {
  if (client === null || typeof client !== 'object') {
    throw new TypeError(
      `"client" must be an ioredis or node-redis client, got ${describe(client)}`,
    );
  }
  if ('evalSha' in client && typeof client.evalSha === 'function') {
    const nodeRedis = client;
    return async ({ source, sha }, keys, args) => {
      const options = { keys, arguments: args };
      try {
        return await nodeRedis.evalSha(sha, options);
      } catch (error) {
        if (!isNoScript(error)) throw error;
        return nodeRedis.eval(source, options);
      }
    };
  }
  if ('evalsha' in client && typeof client.evalsha === 'function') {
    const ioredis = client;
    return async ({ source, sha }, keys, args) => {
      try {
        return await ioredis.evalsha(sha, keys.length, ...keys, ...args);
      } catch (error) {
        if (!isNoScript(error)) throw error;
        return ioredis.eval(source, keys.length, ...keys, ...args);
      }
    };
  }
  throw new TypeError(
    `"client" must be an ioredis or node-redis client (with evalsha or evalSha), got ${describe(client)}`,
  );
}
