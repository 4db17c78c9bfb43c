/**
 * Where a user's keys live: the key names (hash tag = the user id's UTF-8
 * bytes in base64url, so no id can empty or shorten the tag), whether the
 * client is a Redis Cluster client, and the move of keys from the layout
 * before 0.2 (`prefix{userId}:name`, the raw id as the tag) to this one.
 *
 * Outside Cluster, every script names both layouts and the prelude moves a
 * user's earlier keys in place (see `record.ts`). On Cluster the two layouts
 * hash to different slots, so no script may name both: `migrateKeys()` scans
 * every master for the earlier layout and moves each user in three steps
 * (read in the old slot, write in the new slot, delete in the old slot if
 * nothing changed meanwhile, else again), and the store refuses to run on
 * Cluster until a marker key says that no earlier key is left.
 * @module
 */
import { MFAError } from '../../errors.ts';
import { encodeBase64url, utf8 } from '../../_encoding.ts';
import { toInteger, toText } from '../_database.ts';
import { script, type Run } from './client.ts';
import { PRELUDE, toArray } from './record.ts';

/** The five keys of a user's data, in both layouts. */
const NAMES = ['factors', 'enrollment', 'recovery:salt', 'recovery:codes', 'throttle'];
/**
 * The erasure guard (`deleteUser`): a string holding `until`, expiring
 * `guardMs` after the erasure; in this layout only (no earlier version wrote
 * one).
 */
const GUARD_NAME = 'erased';
/**
 * The account document (0.3): a hash with `v` (its version) and `doc` (the
 * JSON text); in this layout only. 0.2 wrote none, so a 0.2 user reads as
 * no document, version 0, and nothing needs moving.
 */
const ACCOUNT_NAME = 'account';
/** 0.1.0's two keys, in the layout before 0.2 only. */
const LEGACY_NAMES = ['factor', 'pending'];

/**
 * The hash tag of a user: the id's UTF-8 bytes as unpadded base64url, which
 * holds neither `{` nor `}` and is never empty (the store refuses an empty
 * or ill-formed id first, `checkUserId`).
 */
function userTag(userId: string): string {
  return encodeBase64url(utf8(userId));
}

/** The user's seven keys in this layout, in the order every script gets them: `prefix{tag}/name`. */
export function currentKeys(prefix: string, userId: string): string[] {
  const base = `${prefix}{${userTag(userId)}}/`;
  return [...NAMES, GUARD_NAME, ACCOUNT_NAME].map((name) => base + name);
}

/** The user's keys in the layout before 0.2, 0.1.0's two included: `prefix{userId}:name`. */
export function earlierKeys(prefix: string, userId: string): string[] {
  const base = `${prefix}{${userId}}:`;
  return [...NAMES, ...LEGACY_NAMES].map((name) => base + name);
}

/** The key that says a Cluster holds no key of the earlier layout. */
function markerKey(prefix: string): string {
  return `${prefix}layout`;
}
const MARKER_VALUE = 'tagged-v1';

type Node = {
  scan?: (...args: never[]) => Promise<unknown>;
  evalSha?: unknown;
};
type ClusterLike = {
  isCluster?: unknown;
  nodes?: (role: string) => Node[];
  masters?: unknown[];
  nodeClient?: (node: unknown) => Promise<Node>;
  options?: { keyPrefix?: unknown; redisOptions?: { keyPrefix?: unknown } };
};

/** Whether `client` is an ioredis `Cluster` or a node-redis cluster. */
export function isClusterClient(client: unknown): boolean {
  const c = client as ClusterLike;
  if (c.isCluster === true) return true;
  return Array.isArray(c.masters) && typeof c.nodeClient === 'function';
}

/** The clients to SCAN: each master of a cluster, or the client itself. */
async function scanTargets(client: unknown): Promise<Node[]> {
  const c = client as ClusterLike;
  if (c.isCluster === true && typeof c.nodes === 'function') return c.nodes('master');
  if (Array.isArray(c.masters) && typeof c.nodeClient === 'function') {
    const nodeClient = c.nodeClient.bind(c);
    return Promise.all(c.masters.map((master) => nodeClient(master)));
  }
  return [client as Node];
}

/** One SCAN step on one node, with either client. */
async function scanStep(node: Node, cursor: string, match: string): Promise<[string, string[]]> {
  if (typeof node.scan !== 'function') {
    throw new TypeError('the client has no scan method');
  }
  const scan = node.scan.bind(node) as (...args: unknown[]) => Promise<unknown>;
  if (typeof node.evalSha === 'function') {
    const reply = (await scan(cursor, { MATCH: match, COUNT: 1000 })) as {
      cursor: unknown;
      keys: unknown;
    };
    return [String(reply.cursor), toArray(reply.keys, 'scan').map((k) => toText(k, 'scan'))];
  }
  const reply = toArray(await scan(cursor, 'MATCH', match, 'COUNT', '1000'), 'scan');
  return [toText(reply[0], 'scan'), toArray(reply[1], 'scan').map((k) => toText(k, 'scan'))];
}

/** `text` as a literal in a Redis glob pattern. */
function globLiteral(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** An ioredis client's `keyPrefix` (the server sees it; SCAN replies carry it). */
function clientKeyPrefix(client: unknown): string {
  const options = (client as ClusterLike).options;
  const value = options?.keyPrefix ?? options?.redisOptions?.keyPrefix;
  return typeof value === 'string' ? value : '';
}

/**
 * Calls `onUsers` with the ids of users that have keys of the earlier layout,
 * a SCAN batch at a time, on every master. Stops early when `onUsers` returns
 * `false`.
 */
async function scanEarlier(
  client: unknown,
  prefix: string,
  onUsers: (userIds: string[]) => Promise<boolean>,
): Promise<void> {
  const full = clientKeyPrefix(client) + prefix;
  // Earlier keys are `prefix{id}:name`; current keys `prefix{tag}/name` hold
  // no `}:` (the tag has no `}`), so the pattern leaves them out.
  const match = `${globLiteral(full)}{*}:*`;
  const suffixes = [...NAMES, ...LEGACY_NAMES].map((name) => `}:${name}`);
  const nodes = await scanTargets(client);
  // A cluster client that does not know its masters yet would scan nothing
  // and report the layout clean.
  if (nodes.length === 0) {
    throw new MFAError(
      'ERR_STORE',
      'RedisStore could not list the cluster masters to scan; wait until the cluster client is ready',
    );
  }
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await scanStep(node, cursor, match);
      cursor = next;
      const users = new Set<string>();
      for (const key of keys) {
        const suffix = suffixes.find((s) => key.endsWith(s));
        if (!key.startsWith(`${full}{`) || suffix === undefined) continue;
        users.add(key.slice(full.length + 1, key.length - suffix.length));
      }
      if (users.size > 0 && !(await onUsers([...users]))) return;
    } while (cursor !== '0');
  }
}

/** Outside Cluster: the prelude moves the user's earlier keys (both layouts named). */
const MOVE_IN_PLACE = script(`${PRELUDE}
return 1`);

const STATE = `cjson.encode({redis.call('HGETALL', KEYS[1]), redis.call('GET', KEYS[2]),
  redis.call('GET', KEYS[3]), redis.call('LRANGE', KEYS[4], 0, -1), redis.call('HGETALL', KEYS[5])})`;

/**
 * Cluster, old slot, the earlier layout's seven keys: upgrades 0.1.0's keys
 * (the prelude), then replies the five keys' state and the enrollment's PTTL.
 */
const READ_EARLIER = script(`${PRELUDE}
return {${STATE}, redis.call('PTTL', KEYS[2])}`);

/**
 * Cluster, new slot, the seven current keys (no earlier layout has an
 * account document, so the seventh is left alone). ARGV state, PTTL, and 'replace'
 * (write every key anew) or 'keep' (a key that exists is kept: it is newer).
 * Writes nothing for a user under an erasure guard: their earlier keys go.
 */
const WRITE_CURRENT = script(`
if redis.call('EXISTS', KEYS[6]) == 1 then return 0 end
local s = cjson.decode(ARGV[1])
local replace = ARGV[3] == 'replace'
local function free(key)
  if replace then redis.call('DEL', key) return true end
  return redis.call('EXISTS', key) == 0
end
if free(KEYS[1]) and #s[1] > 0 then redis.call('HSET', KEYS[1], unpack(s[1])) end
if free(KEYS[2]) and s[2] then
  local ttl = tonumber(ARGV[2])
  if ttl > 0 then redis.call('SET', KEYS[2], s[2], 'PX', ttl)
  elseif ttl == -1 then redis.call('SET', KEYS[2], s[2]) end
end
if free(KEYS[3]) and s[3] then redis.call('SET', KEYS[3], s[3]) end
if free(KEYS[4]) and #s[4] > 0 then redis.call('RPUSH', KEYS[4], unpack(s[4])) end
if free(KEYS[5]) and #s[5] > 0 then redis.call('HSET', KEYS[5], unpack(s[5])) end
return 1`);

/** Cluster, old slot: deletes the seven keys if their state is still ARGV[1]. */
const DELETE_EARLIER = script(`${PRELUDE}
if ${STATE} ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7])
return 1`);

const MARKER_GET = script(`return redis.call('GET', KEYS[1])`, { writes: false });
const MARKER_SET = script(`return redis.call('SET', KEYS[1], ARGV[1])`);

/** How often a Cluster user whose earlier keys keep changing is read again. */
const MAX_ROUNDS = 10;

/** Moves one user's earlier keys on Cluster (three scripts, two slots). */
async function moveOnCluster(run: Run, prefix: string, userId: string): Promise<void> {
  const earlier = earlierKeys(prefix, userId);
  const current = currentKeys(prefix, userId);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const reply = toArray(await run(READ_EARLIER, earlier, []), 'migrateKeys');
    const state = toText(reply[0], 'migrateKeys');
    const pttl = String(toInteger(reply[1], 'migrateKeys'));
    // The first write keeps current keys (a run that stopped after writing
    // them); a later round replaces them with what changed in the old slot.
    await run(WRITE_CURRENT, current, [state, pttl, round === 0 ? 'keep' : 'replace']);
    if (toInteger(await run(DELETE_EARLIER, earlier, [state]), 'migrateKeys') === 1) return;
  }
  throw new MFAError(
    'ERR_STORE',
    `RedisStore.migrateKeys failed: a user's keys kept changing during ${MAX_ROUNDS} attempts ` +
      `to move them; stop the processes that still run a version before 0.2, then run it again`,
  );
}

/** What `RedisStore.migrateKeys()` reports. */
export interface KeyMigration {
  /** How many users had keys of the earlier layout moved. */
  readonly users: number;
}

/**
 * Moves every user's keys of the earlier layout to this one and, when a
 * whole pass finds none left, sets the layout marker. Idempotent and
 * resumable: a stopped run leaves each user either moved or still in the
 * earlier layout (on Cluster, possibly in both, the earlier keys winning on
 * the next run).
 */
export async function migrateKeys(
  client: unknown,
  run: Run,
  prefix: string,
  cluster: boolean,
): Promise<KeyMigration> {
  let users = 0;
  for (let pass = 0; pass < MAX_ROUNDS; pass++) {
    let found = 0;
    await scanEarlier(client, prefix, async (ids) => {
      for (const userId of ids) {
        if (cluster) await moveOnCluster(run, prefix, userId);
        else
          await run(
            MOVE_IN_PLACE,
            [...currentKeys(prefix, userId), ...earlierKeys(prefix, userId)],
            [],
          );
      }
      found += ids.length;
      return true;
    });
    users += found;
    if (found === 0) {
      await run(MARKER_SET, [markerKey(prefix)], [MARKER_VALUE]);
      return { users };
    }
  }
  throw new MFAError(
    'ERR_STORE',
    `RedisStore.migrateKeys failed: keys of the layout before 0.2 kept appearing; stop the ` +
      `processes that still run a version before 0.2, then run it again`,
  );
}

/** Whether the layout marker is set (one GET). */
export async function markerSet(run: Run, prefix: string): Promise<boolean> {
  return (await run(MARKER_GET, [markerKey(prefix)], [])) === MARKER_VALUE;
}

/**
 * For `check()` on Cluster: sets the marker if no key of the earlier layout
 * is left, else throws.
 *
 * @throws MFAError `ERR_STORE` naming `migrateKeys()` while earlier keys remain
 */
export async function checkLayout(client: unknown, run: Run, prefix: string): Promise<void> {
  if (await markerSet(run, prefix)) return;
  let left = false;
  await scanEarlier(client, prefix, async () => {
    left = true;
    return false;
  });
  if (left) throw layoutError('RedisStore.check');
  await run(MARKER_SET, [markerKey(prefix)], [MARKER_VALUE]);
}

/** The error of a store on Cluster whose keys may still be in the earlier layout. */
export function layoutError(operation: string): MFAError {
  return new MFAError(
    'ERR_STORE',
    `${operation} failed: this Redis Cluster may hold keys of the layout before totpkit 0.2 ` +
      `(prefix{userId}:…), which this version does not read there (a user would look ` +
      `unenrolled). Run store.migrateKeys() once (after stopping older versions), or ` +
      `store.check() on a cluster that never held them`,
  );
}
