// Per-IP limits: how many password checks and code checks one network may
// make per minute, keyed by its address, IPv6 by its /64 (one subscriber's
// network: a host picks any address in it at will). totpkit throttles per
// user; these keep one client from spraying guesses across many accounts or
// tying up the CPU with scrypt (the deployment checklist in
// docs/security-model.md). The connection limit per address is in http.ts.
import { isIPv4, isIPv6 } from 'node:net';
import type { IncomingMessage } from 'node:http';

/**
 * The key a client's address is limited under: an IPv4 address as it is
 * (an IPv4-mapped IPv6 address, `::ffff:192.0.2.1`, as its IPv4 address), an
 * IPv6 address as its /64 prefix (`2001:db8:1:2::/64`), anything else as is.
 */
export function addressKey(address: string): string {
  const bare = address.replace(/%.*$/, ''); // a zone index (fe80::1%eth0) is not part of the address
  if (isIPv4(bare)) return bare;
  if (!isIPv6(bare)) return bare;
  const groups = expandIPv6(bare);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [high = 0, low = 0] = groups.slice(6);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a dotted IPv4 tail converted). */
function expandIPv6(address: string): number[] {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/**
 * The address a request came from: the socket's peer, or, with `trustProxy`
 * (the app sits behind one reverse proxy that appends the client's address
 * to X-Forwarded-For), the last address in that header. Without a proxy the
 * header is the client's own words, and is ignored.
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  const peer = req.socket.remoteAddress ?? '';
  if (!trustProxy) return peer;
  const header = req.headers['x-forwarded-for'];
  const list = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',');
  const last = list[list.length - 1]?.trim() ?? '';
  return isIPv4(last) || isIPv6(last.replace(/%.*$/, '')) ? last : peer;
}

export interface RateLimiterOptions {
  /** Attempts per minute per key, and the burst allowed at once. */
  perMinute: number;
  /** Unix milliseconds; tests pass their own. Default Date.now. */
  clock?: () => number;
  /**
   * Keys remembered at most (default 10,000). Beyond it the key updated
   * longest ago is forgotten, which gives it a full budget again: memory stays
   * bounded whatever number of addresses a client uses.
   */
  maxKeys?: number;
}

/**
 * A token bucket per key: `perMinute` attempts at once, then one more every
 * 60 / perMinute seconds.
 */
export class RateLimiter {
  readonly #perMinute: number;
  readonly #clock: () => number;
  readonly #maxKeys: number;
  /** Key → tokens left and when they were counted; in order of last update (oldest first). */
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(options: RateLimiterOptions) {
    this.#perMinute = options.perMinute;
    this.#clock = options.clock ?? Date.now;
    this.#maxKeys = options.maxKeys ?? 10_000;
  }

  /**
   * Takes one attempt for `key`. Returns 0 when it is allowed, else the
   * milliseconds until the next one will be (nothing is taken then).
   */
  take(key: string): number {
    const now = this.#clock();
    const perMs = this.#perMinute / 60_000;
    const bucket = this.#buckets.get(key);
    const tokens =
      bucket === undefined
        ? this.#perMinute
        : Math.min(this.#perMinute, bucket.tokens + (now - bucket.at) * perMs);
    if (tokens < 1) return Math.ceil((1 - tokens) / perMs);
    this.#buckets.delete(key); // re-inserted last: the Map stays in update order
    this.#buckets.set(key, { tokens: tokens - 1, at: now });
    if (this.#buckets.size > this.#maxKeys) {
      const oldest = this.#buckets.keys().next().value;
      if (oldest !== undefined) this.#buckets.delete(oldest);
    }
    return 0;
  }

  /** Keys remembered now (for tests of the memory bound). */
  get size(): number {
    return this.#buckets.size;
  }
}

/** The per-IP limits of the app; see {@link DEFAULT_PER_IP_LIMITS}. */
export interface PerIPLimits {
  /** Password forms (sign-in, sign-up, and the password of a re-authentication) per minute per address. */
  signInsPerMinute: number;
  /** Code checks (TOTP, recovery codes, binding, resync, re-authentication) per minute per address. */
  codesPerMinute: number;
  /** Take the client's address from X-Forwarded-For's last entry (one trusted reverse proxy in front). */
  trustProxy: boolean;
}

export const DEFAULT_PER_IP_LIMITS: Readonly<PerIPLimits> = Object.freeze({
  signInsPerMinute: 10,
  codesPerMinute: 20,
  trustProxy: false,
});
