/**
 * Remembered devices (internal): "remember this device for 30 days". After a
 * successful second factor, `verify` with `rememberDevice` issues an opaque
 * token (24 random bytes, base64url, 32 characters); the user's account
 * document keeps only its hash, bound to the user id, so a token guessed or
 * stolen for one user never passes for another:
 *
 *   hash = base64url(SHA-256("totpkit device v1\0" ‖ UTF-8(userId) ‖ "\0" ‖ token))
 *
 * A device passes only while both hold:
 * - its absolute expiry (`policy.rememberedDevices.ttlMs` from issue) is in
 *   the future: use never extends it (vaultwarden#6929 renewed the token at
 *   each use, so it never expired);
 * - the security generation is still the one it was issued in: any factor
 *   change or admin reset revokes every device at once (vaultwarden#7682
 *   kept the token through a 2FA change).
 *
 * Every answer is decided on the account version it writes (compare-and-set;
 * on a conflict the record is read again and the token judged again), so a
 * forget-all that committed first wins over a check in flight.
 * @module
 * @internal
 */
import { describe, describeType } from '../_assert.ts';
import { decodeBase64url, encodeBase64url, utf8 } from '../_encoding.ts';
import { timingSafeEqual } from '../compare.ts';
import { MFAError } from '../errors.ts';
import type { AccountState, RememberedDeviceRecord, UserRecord } from '../store/contract.ts';
import { accountWrite, RETRY, updateAccountState, withAccount } from './account-state.ts';
import type { MFAContext } from './context.ts';
import { checkFactorName, checkUserId } from './input.ts';
import type {
  CheckRememberedDeviceResult,
  RememberedDevice,
  RememberedDeviceInfo,
} from './results-account.ts';

const TAG = /* @__PURE__ */ utf8('totpkit device v1\0');
/** Random bytes in a device token: 192 bits (the issue asks for at least 128). */
const TOKEN_BYTES = 24;
/** The shape of a token: base64url of 24 bytes. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{32}$/;

/** The stored hash of `token` for `userId` (see the module comment). */
export async function deviceTokenHash(userId: string, token: string): Promise<string> {
  const id = utf8(userId);
  const secret = utf8(token);
  const input = new Uint8Array(TAG.length + id.length + 1 + secret.length);
  input.set(TAG);
  input.set(id, TAG.length);
  input.set(secret, TAG.length + id.length + 1);
  try {
    return encodeBase64url(new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', input)));
  } finally {
    input.fill(0);
    secret.fill(0);
  }
}

/**
 * The index of the device whose hash is `hash`, or -1, comparing with every
 * device in constant time per device (no early exit: the time tells only how
 * many devices the user has).
 */
function findByHash(devices: readonly RememberedDeviceRecord[], hash: string): number {
  const wanted = decodeBase64url(hash) as Uint8Array;
  let found = -1;
  for (let i = 0; i < devices.length; i++) {
    const stored = decodeBase64url(devices[i]!.hash) ?? new Uint8Array(0);
    const same = timingSafeEqual(stored, wanted);
    found = same && found === -1 ? i : found;
  }
  return found;
}

/** Whether a device can still pass: unexpired, and of the current generation. */
function isLive(device: RememberedDeviceRecord, account: AccountState, now: number): boolean {
  return device.generation === account.generation && now < device.expiresAt;
}

function checkToken(token: unknown): string {
  if (typeof token !== 'string') {
    throw new TypeError(`"token" must be a string, got ${describeType(token)}`);
  }
  return token;
}

function checkDeviceId(deviceId: unknown): string {
  if (typeof deviceId !== 'string' || deviceId.length === 0 || deviceId.length > 256) {
    throw new TypeError(
      `"deviceId" must be a string of 1 to 256 characters, got ${describe(deviceId)}`,
    );
  }
  return deviceId;
}

/**
 * Checks `rememberDevice: { name }` of `verify` (before anything is read).
 *
 * @throws TypeError / RangeError naming `options.rememberDevice` or its `name`
 */
export function checkRememberDevice(value: unknown): { name: string } | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`"options.rememberDevice" must be an object, got ${describe(value)}`);
  }
  const name = (value as { name?: unknown }).name;
  return { name: checkFactorName(name, 'options.rememberDevice.name') };
}

/**
 * Issues a device token after a successful `verify`, unless the generation
 * moved since the verify read it (`null`: the factors changed meanwhile).
 * Expired and revoked devices are dropped, then the oldest beyond
 * `policy.rememberedDevices.max`.
 */
export async function rememberDevice(
  ctx: MFAContext,
  userId: string,
  name: string,
  now: number,
  generationRead: number,
  record: UserRecord | null,
): Promise<RememberedDevice | null> {
  const token = encodeBase64url(globalThis.crypto.getRandomValues(new Uint8Array(TOKEN_BYTES)));
  const hash = await deviceTokenHash(userId, token);
  const { max, ttlMs } = ctx.policy.rememberedDevices;
  const device: RememberedDeviceRecord = {
    id: globalThis.crypto.randomUUID(),
    name,
    hash,
    createdAt: now,
    lastUsedAt: null,
    expiresAt: now + ttlMs,
    generation: generationRead,
  };
  // The record the verify read is the first attempt's: no read of its own
  // unless another call changed the account meanwhile.
  const issuedIn = await withAccount(
    ctx,
    userId,
    now,
    async (read) => {
      const { account } = read;
      if (account.generation !== generationRead) return false;
      const kept = account.devices.filter((d) => isLive(d, account, now));
      const next = { ...account, devices: [...kept, device].slice(-max) };
      const write = accountWrite(ctx, read, next, now);
      const outcome = await ctx.store.updateAccount(userId, { ...write, now });
      if (outcome === 'updated') return true;
      if (outcome === 'conflict') return RETRY;
      if (outcome === 'erased') throw ctx.erased();
      throw new MFAError('ERR_STORE', 'store.updateAccount returned an invalid outcome');
    },
    record,
  );
  const answer = issuedIn;
  if (!answer) return null;
  ctx.emit({
    type: 'device_remembered',
    userId,
    at: now,
    deviceId: device.id,
    name,
    expiresAt: device.expiresAt,
    generation: generationRead,
  });
  const issued = { id: device.id, expiresAt: device.expiresAt };
  // The token is a bearer credential: left out of JSON and logs, as secrets are.
  Object.defineProperty(issued, 'token', { value: token, enumerable: false });
  return issued as RememberedDevice;
}

/** See {@link MFA.checkRememberedDevice}. */
export async function checkRememberedDevice(
  ctx: MFAContext,
  userId: string,
  token: string,
): Promise<CheckRememberedDeviceResult> {
  checkUserId(userId);
  checkToken(token);
  const now = ctx.now();
  if (!TOKEN_PATTERN.test(token)) return { ok: false, reason: 'invalid' };
  const hash = await deviceTokenHash(userId, token);
  type Judged = CheckRememberedDeviceResult & { device?: RememberedDeviceRecord };
  const answer = await updateAccountState<Judged>(ctx, userId, now, ({ account }) => {
    const index = findByHash(account.devices, hash);
    if (index === -1) return { result: { ok: false, reason: 'invalid' } };
    const device = account.devices[index]!;
    const others = account.devices.filter((_, i) => i !== index);
    if (device.generation !== account.generation) {
      return {
        result: { ok: false, reason: 'revoked', device },
        account: { ...account, devices: others },
      };
    }
    if (now >= device.expiresAt) {
      return {
        result: { ok: false, reason: 'expired', device },
        account: { ...account, devices: others },
      };
    }
    const used = { ...device, lastUsedAt: now };
    const devices = account.devices.map((d, i) => (i === index ? used : d));
    return {
      result: { ok: true, deviceId: device.id, generation: account.generation, device },
      account: { ...account, devices },
    };
  });
  const { device, ...result } = answer;
  if (device === undefined) return result;
  const deviceId = device.id;
  if (result.ok) {
    ctx.emit({ type: 'device_used', userId, at: now, deviceId, generation: result.generation });
  } else if (result.reason === 'revoked') {
    ctx.emit({ type: 'device_revoked', userId, at: now, deviceId, generation: device.generation });
  } else {
    ctx.emit({ type: 'device_expired', userId, at: now, deviceId, expiresAt: device.expiresAt });
  }
  return result;
}

/** See {@link MFA.listRememberedDevices}. */
export async function listRememberedDevices(
  ctx: MFAContext,
  userId: string,
): Promise<RememberedDeviceInfo[]> {
  checkUserId(userId);
  const now = ctx.now();
  const account = (await ctx.store.getUser(userId, now))?.account;
  if (account == null) return [];
  return account.devices
    .filter((d) => isLive(d, account, now))
    .map(({ id, name, createdAt, lastUsedAt, expiresAt }) => ({
      id,
      name,
      createdAt,
      lastUsedAt,
      expiresAt,
    }));
}

/** See {@link MFA.forgetRememberedDevice}. */
export async function forgetRememberedDevice(
  ctx: MFAContext,
  userId: string,
  deviceId: string,
): Promise<boolean> {
  checkUserId(userId);
  checkDeviceId(deviceId);
  const now = ctx.now();
  const answer = await updateAccountState(ctx, userId, now, ({ account }) => {
    const device = account.devices.find((d) => d.id === deviceId);
    if (device === undefined) return { result: false };
    const devices = account.devices.filter((d) => d !== device);
    return { result: isLive(device, account, now), account: { ...account, devices } };
  });
  if (answer) ctx.emit({ type: 'device_forgotten', userId, at: now, deviceId, count: 1 });
  return answer;
}

/** See {@link MFA.forgetRememberedDevices}. */
export async function forgetRememberedDevices(ctx: MFAContext, userId: string): Promise<number> {
  checkUserId(userId);
  const now = ctx.now();
  const answer = await updateAccountState(ctx, userId, now, ({ account }) => {
    if (account.devices.length === 0) return { result: 0 };
    const live = account.devices.filter((d) => isLive(d, account, now)).length;
    return { result: live, account: { ...account, devices: [] } };
  });
  if (answer > 0) {
    ctx.emit({ type: 'device_forgotten', userId, at: now, deviceId: null, count: answer });
  }
  return answer;
}
