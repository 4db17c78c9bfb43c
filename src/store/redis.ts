/**
 * {@link RedisStore}: the MFA store in Redis, one Lua script per operation.
 *
 * Redis runs a script without interleaving any other command, so each
 * operation of the {@link MFAStore} contract is atomic. All of a user's keys
 * carry the same hash tag, the user id's UTF-8 bytes in base64url (which
 * holds no `{` or `}`, whatever the id), so they share a cluster slot and a
 * script may touch them together.
 *
 * Key layout, with the default prefix `totpkit:` and user id `alice`
 * (`YWxpY2U` in base64url):
 *
 * | key | type | holds |
 * |---|---|---|
 * | `totpkit:{YWxpY2U}/factors` | hash | one field per factor id: the factor as JSON (name, sealed secret, parameters, its own `lastStep`, `drift`, times; numbers as decimal strings) |
 * | `totpkit:{YWxpY2U}/enrollment` | string | the pending enrollment as JSON; expires by TTL |
 * | `totpkit:{YWxpY2U}/recovery:salt` | string | the recovery code salt |
 * | `totpkit:{YWxpY2U}/recovery:codes` | list | the unused recovery code hashes |
 * | `totpkit:{YWxpY2U}/throttle` | hash | per scope (`otp:`, `recovery:`): `failures`, `guesses`, `blockedUntil`; no TTL while the user has an active factor, else expires `throttleRetentionMs` after it stops counting |
 * | `totpkit:{YWxpY2U}/erased` | string | the erasure guard left by `deleteUser`: its `until`; expires `guardMs` after the erasure |
 * | `totpkit:{YWxpY2U}/account` | hash | the account document (0.3): `v` its version, `doc` its JSON; no TTL while the user has an active factor or `keepUntil` is `null`, else expires a minute after `keepUntil` |
 *
 * Keys of the layout before 0.2 (`totpkit:{alice}:factors` and so on, and
 * 0.1.0's `…:factor` and `…:pending` hashes) are read and moved in place by
 * the first script that touches the user, except on Redis Cluster, where
 * they hash to other slots: there, run {@link RedisStore.migrateKeys} once.
 *
 * This class only checks its options and forwards each operation. The Lua
 * scripts live beside the code that runs them, by flow, in `redis/`:
 * `enrollment.ts`, `login.ts`, `recovery.ts`, `factors.ts` and `account.ts`
 * (the document's compare-and-set, `updateAccount`, `resetUser`); with
 * `record.ts` (the prelude every script starts with, and the record),
 * `throttle.ts` (the throttle hash's expiry), `layout.ts` (key names and the
 * move from earlier layouts), `client.ts` (the clients, running a script)
 * and `eviction.ts` (`check()`'s eviction policy check).
 * @module totpkit/redis
 */
import { checkUserId, describe } from '../_assert.ts';
import { MFAError } from '../errors.ts';
import { checkRetention } from './_retention.ts';
import { storeError } from './scrub.ts';
import type {
  AccountUpdateOutcome,
  AccountWriteOptions,
  ActiveFactor,
  AddFactorOptions,
  AddFactorResult,
  AttemptReservation,
  DeleteFactorsOutcome,
  DeleteUserOptions,
  FactorChangeOptions,
  FactorRemoval,
  FactorRenameOutcome,
  MFAStore,
  PendingActivation,
  PendingEnrollment,
  PutPendingOptions,
  PutPendingOutcome,
  ReadAndReserveOptions,
  ReadAndReserveResult,
  RecoveryCodeSet,
  RefundAttemptOptions,
  ReplaceRecoveryCodesOutcome,
  ReserveAttemptOptions,
  ResetUserOutcome,
  ThrottleScope,
  UserRecord,
} from './contract.ts';
import { checkEvictionPolicy, type RedisCheckOptions } from './redis/eviction.ts';
import {
  checkReplicas,
  scriptRunner,
  withTryAgain,
  type RedisScriptClient,
  type RedisStoreOptions,
  type Run,
} from './redis/client.ts';
import {
  checkLayout,
  currentKeys,
  earlierKeys,
  isClusterClient,
  layoutError,
  markerSet,
  migrateKeys,
  type KeyMigration,
} from './redis/layout.ts';
import { accountOperations, type AccountOperations } from './redis/account.ts';
import { enrollmentOperations, type EnrollmentOperations } from './redis/enrollment.ts';
import { factorsOperations, type FactorsOperations } from './redis/factors.ts';
import { loginOperations, type LoginOperations } from './redis/login.ts';
import { recoveryOperations, type RecoveryOperations } from './redis/recovery.ts';

export type { RedisCheckOptions } from './redis/eviction.ts';
export type {
  IORedisScriptClient,
  NodeRedisScriptClient,
  RedisReplicasOptions,
  RedisScriptClient,
  RedisStoreOptions,
} from './redis/client.ts';
export type { KeyMigration } from './redis/layout.ts';

const DEFAULT_PREFIX = 'totpkit:';

/**
 * An {@link MFAStore} in Redis (tested with Redis 7), through an ioredis or a
 * node-redis client. Each operation is one `EVALSHA` of a small Lua script
 * (falling back to `EVAL` when the server's script cache is empty), so each is
 * atomic and costs one round trip. Pending enrollments expire by TTL.
 *
 * Replay protection and lockouts are only as durable as Redis itself: a
 * server that restarts without its data forgets which codes were used. Run it
 * with an append-only file (`appendonly yes`; `appendfsync always` to lose
 * nothing) if that matters to you. With replicas, Redis replicates
 * asynchronously: a promoted replica may lack writes the old primary
 * acknowledged, and a used code then works once more, unless you set
 * `replicas` (a `WAIT` after each write, failing closed) with `count` equal
 * to the number of replicas. `docs/stores.md` has the details ("Durability",
 * "Topologies and what failover costs").
 *
 * The {@link MFAStore} operations behave as that interface documents them;
 * what is particular to Redis: a pending enrollment's key expires a minute
 * after its `expiresAt`, by the Redis server's clock, and `getUser` returns
 * an expired enrollment until then (the service checks expiry); the throttle
 * hash of a user without an active factor expires by `throttleRetentionMs`;
 * the erasure guard `deleteUser` leaves is a key in the user's slot that
 * expires `guardMs` after the erasure; a throttle hash written by 0.2 gets
 * its `guesses` from the first script that touches the user; the account
 * document is a hash in the user's slot (`v`, `doc`), compared and set in the
 * same script as each factor change, without a TTL while the user has a
 * factor or its `keepUntil` is `null`, else expiring a minute after
 * `keepUntil` ("The account document" in `docs/stores.md`).
 *
 * @example
 * ```ts fragment
 * import { Redis } from 'ioredis'; // or: import { createClient } from 'redis';
 * import { createMFA, createAESGCMCipher } from 'totpkit';
 * import { RedisStore } from 'totpkit/redis';
 *
 * const store = new RedisStore({ client: new Redis(process.env.REDIS_URL!) });
 * // With replicas (Sentinel): each write waits for every one of them, or fails.
 * // new RedisStore({ client, replicas: { count: 2, timeoutMs: 500 } }); // 2 replicas
 * const cipher = createAESGCMCipher({ keys: { k1: keyFromYourSecretManager }, primaryKeyId: 'k1' });
 * const mfa = createMFA({ store, issuer: 'Acme', cipher });
 * ```
 */
export class RedisStore implements MFAStore {
  readonly #prefix: string;
  readonly #client: RedisScriptClient;
  readonly #cluster: boolean;
  readonly #run: Run;
  #layoutReady = false;
  readonly #enrollment: EnrollmentOperations;
  readonly #login: LoginOperations;
  readonly #recovery: RecoveryOperations;
  readonly #factors: FactorsOperations;
  readonly #account: AccountOperations;

  /**
   * @param options - the client and, optionally, the key prefix, `replicas` and
   *   `throttleRetentionMs`
   * @throws TypeError if `client` is neither an ioredis nor a node-redis client,
   *   `prefix` is not a string, or `replicas` or `throttleRetentionMs` is not
   *   an object or a number as documented
   * @throws RangeError if `prefix` is too long or contains `{` or `}`, or a
   *   number in `replicas` or `throttleRetentionMs` is out of its range
   */
  constructor(options: RedisStoreOptions) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`"options" must be an object, got ${describe(options)}`);
    }
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    if (typeof prefix !== 'string') {
      throw new TypeError(`"prefix" must be a string, got ${describe(prefix)}`);
    }
    if (prefix.length > 100 || /[{}]/.test(prefix)) {
      throw new RangeError(`"prefix" must be at most 100 characters, without { or }`);
    }
    const replicas = checkReplicas(options.replicas);
    const retentionMs = String(checkRetention(options.throttleRetentionMs));
    // TRYAGAIN: a slot moving between Cluster masters; nothing ran, so retry.
    const direct = withTryAgain(scriptRunner(options.client, replicas));
    this.#prefix = prefix;
    this.#client = options.client;
    this.#cluster = isClusterClient(options.client);
    this.#run = direct;
    // On Cluster, nothing runs until the layout marker says that no key of
    // the earlier layout is left (one GET, once per store while it is unset).
    const run: Run = !this.#cluster
      ? direct
      : async (script, keys, args) => {
          if (!this.#layoutReady) {
            this.#layoutReady = await markerSet(direct, prefix);
            if (!this.#layoutReady) throw layoutError('RedisStore');
          }
          return direct(script, keys, args);
        };
    const keys = (userId: string) => this.#keys(userId);
    this.#enrollment = enrollmentOperations(run, keys, retentionMs);
    this.#login = loginOperations(run, keys, retentionMs);
    this.#recovery = recoveryOperations(run, keys);
    this.#factors = factorsOperations(run, keys, retentionMs);
    this.#account = accountOperations(run, keys);
  }

  /**
   * Checks that the server cannot evict the store's keys: run it once at
   * startup, as `migrate()` for PostgreSQL. Under `maxmemory` with an
   * `allkeys-*` policy, Redis may evict a user's factor and lock when memory
   * runs short; the user then reads as "no factor, no lock", and an app that
   * asks `status()` whether to request a code signs them in with the password
   * alone. `noeviction` and the `volatile-*` policies are accepted: the keys of
   * a user with a factor have no TTL. A `volatile-*` policy may evict what has
   * one: a pending enrollment (which then fails closed) and the lock of a user
   * without a factor (see `throttleRetentionMs`), ending it early. On an
   * ioredis Cluster, every master is asked.
   *
   * When the server refuses `CONFIG GET` (a renamed or forbidden `CONFIG`, or
   * an ACL without `+config|get`), the check fails too, unless you pass
   * `assumeNoEviction: true` after confirming the policy in your provider's
   * settings.
   *
   * On Redis Cluster it also checks the key layout: unless the layout marker
   * (`<prefix>layout`) is set, it scans every master for keys of the layout
   * before 0.2, fails if any is left, and otherwise sets the marker, which
   * the store waits for before it runs anything on Cluster.
   *
   * @param options - see {@link RedisCheckOptions}
   * @returns once the policy is known to be safe (and, on Cluster, the layout current)
   * @throws MFAError `ERR_STORE` whose message names `maxmemory-policy` and
   *   the safe values, for an evicting policy or one that cannot be read; on
   *   Cluster, `ERR_STORE` naming `migrateKeys()` while keys of the layout
   *   before 0.2 remain
   * @example
   * ```ts
   * import { Redis } from 'ioredis';
   * import { RedisStore } from 'totpkit/redis';
   * const store = new RedisStore({ client: new Redis(process.env.REDIS_URL!) });
   * await store.check(); // at startup: refuses maxmemory-policy allkeys-*
   * ```
   */
  async check(options?: RedisCheckOptions): Promise<void> {
    await checkEvictionPolicy(this.#client, options);
    if (this.#cluster) {
      try {
        await checkLayout(this.#client, this.#run, this.#prefix);
      } catch (error) {
        if (error instanceof MFAError) throw error;
        throw storeError('RedisStore.check', error);
      }
      this.#layoutReady = true;
    }
  }

  /**
   * Moves every user's keys of the layout before 0.2 (`prefix{userId}:…`,
   * 0.1.0's included) to the current one (`prefix{base64url(userId)}/…`),
   * scanning every master, then sets the layout marker. Idempotent and
   * resumable: run it again after an interruption.
   *
   * Outside Redis Cluster you need not run it: each script moves the user it
   * touches, atomically. On Cluster the store refuses to run until it (or,
   * on a cluster that never held earlier keys, {@link RedisStore.check}) has
   * run once. There each user moves in three scripts: read the earlier keys,
   * write the current ones, delete the earlier ones if they did not change
   * meanwhile (else read again). Stop every process running a version before
   * 0.2 first: a write such a process makes between the last two steps of a
   * user, or after the run, is not seen by this version.
   *
   * @returns how many users were moved
   * @throws MFAError `ERR_STORE` if the server fails, or if a user's earlier
   *   keys keep changing (an older version still running)
   * @example
   * ```ts
   * import { Cluster } from 'ioredis';
   * import { RedisStore } from 'totpkit/redis';
   * const store = new RedisStore({ client: new Cluster([{ host: 'redis-1', port: 6379 }]) });
   * const { users } = await store.migrateKeys(); // once, before serving logins
   * console.log(`moved ${users} users to the current key layout`);
   * ```
   */
  async migrateKeys(): Promise<KeyMigration> {
    let moved: KeyMigration;
    try {
      moved = await migrateKeys(this.#client, this.#run, this.#prefix, this.#cluster);
    } catch (error) {
      if (error instanceof MFAError) throw error;
      throw storeError('RedisStore.migrateKeys', error);
    }
    this.#layoutReady = true;
    return moved;
  }

  /**
   * The user's keys: on Cluster the seven current ones; elsewhere those, then
   * the earlier layout's seven, which the scripts' prelude moves in place.
   * Refuses an ill-formed id first, as every store does.
   */
  #keys(userId: string): string[] {
    const keys = currentKeys(this.#prefix, checkUserId(userId));
    return this.#cluster ? keys : [...keys, ...earlierKeys(this.#prefix, userId)];
  }

  // The MFAStore operations: each runs one script of its flow's file, and
  // inherits its documentation from the interface.

  getUser(userId: string, now: number): Promise<UserRecord | null> {
    return this.#login.getUser(userId, now);
  }

  putPending(
    userId: string,
    pending: PendingEnrollment,
    options?: PutPendingOptions,
  ): Promise<PutPendingOutcome> {
    return this.#enrollment.putPending(userId, pending, options);
  }

  activatePending(
    userId: string,
    pendingId: string,
    activation: PendingActivation,
  ): Promise<AddFactorResult> {
    return this.#enrollment.activatePending(userId, pendingId, activation);
  }

  addFactor(
    userId: string,
    factor: ActiveFactor,
    options: AddFactorOptions,
  ): Promise<AddFactorResult> {
    return this.#factors.addFactor(userId, factor, options);
  }

  reserveAttempt(userId: string, options: ReserveAttemptOptions): Promise<AttemptReservation> {
    return this.#login.reserveAttempt(userId, options);
  }

  readAndReserve(userId: string, options: ReadAndReserveOptions): Promise<ReadAndReserveResult> {
    return this.#login.readAndReserve(userId, options);
  }

  recordSuccess(
    userId: string,
    factorId: string,
    step: number,
    drift: number,
    now: number,
  ): Promise<boolean> {
    return this.#login.recordSuccess(userId, factorId, step, drift, now);
  }

  replaceRecoveryCodes(
    userId: string,
    codes: RecoveryCodeSet,
    options: FactorChangeOptions,
  ): Promise<ReplaceRecoveryCodesOutcome> {
    return this.#recovery.replaceRecoveryCodes(userId, codes, options);
  }

  replaceSealedSecret(userId: string, id: string, sealedSecret: string): Promise<boolean> {
    return this.#factors.replaceSealedSecret(userId, id, sealedSecret);
  }

  consumeRecoveryCode(userId: string, hash: string): Promise<boolean> {
    return this.#recovery.consumeRecoveryCode(userId, hash);
  }

  resetThrottle(userId: string, scope: ThrottleScope): Promise<void> {
    return this.#login.resetThrottle(userId, scope);
  }

  refundAttempt(userId: string, options: RefundAttemptOptions): Promise<boolean> {
    return this.#login.refundAttempt(userId, options);
  }

  renameFactor(
    userId: string,
    factorId: string,
    name: string,
    nameKey: string,
  ): Promise<FactorRenameOutcome> {
    return this.#factors.renameFactor(userId, factorId, name, nameKey);
  }

  removeFactor(
    userId: string,
    factorId: string,
    options: FactorChangeOptions,
  ): Promise<FactorRemoval | 'conflict'> {
    return this.#factors.removeFactor(userId, factorId, options);
  }

  deleteFactors(userId: string, options: FactorChangeOptions): Promise<DeleteFactorsOutcome> {
    return this.#factors.deleteFactors(userId, options);
  }

  updateAccount(userId: string, options: AccountWriteOptions): Promise<AccountUpdateOutcome> {
    return this.#account.updateAccount(userId, options);
  }

  resetUser(userId: string, options: AccountWriteOptions): Promise<ResetUserOutcome> {
    return this.#account.resetUser(userId, options);
  }

  deleteUser(userId: string, options: DeleteUserOptions): Promise<boolean> {
    return this.#factors.deleteUser(userId, options);
  }
}
