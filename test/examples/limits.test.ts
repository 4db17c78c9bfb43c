// The example auth server's per-IP limits without a server: the address key
// (IPv4, IPv4-mapped IPv6, IPv6 by /64), the token bucket and its memory
// bound, and the PER_IP_* / TRUST_PROXY settings. auth-server.limits.test.ts
// runs them over HTTP.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../examples/auth-server/http.ts';
import {
  addressKey,
  DEFAULT_PER_IP_LIMITS,
  RateLimiter,
} from '../../examples/auth-server/limits.ts';
import { perIPLimitsFromEnv, SettingError } from '../../examples/auth-server/settings.ts';

describe('per-IP limits: the address key', () => {
  it('keys IPv4 by address, IPv4-mapped IPv6 as IPv4, and IPv6 by its /64', () => {
    const cases: [string, string][] = [
      ['192.0.2.1', '192.0.2.1'],
      ['::ffff:192.0.2.1', '192.0.2.1'],
      ['::FFFF:c000:201', '192.0.2.1'],
      ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
      ['2001:0DB8:0001:0002:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
      ['2001:db8:1:2:aaaa:bbbb:1.2.3.4', '2001:db8:1:2::/64'],
      ['2001:db8::', '2001:db8:0:0::/64'],
      ['::1', '0:0:0:0::/64'],
      ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ];
    for (const [address, key] of cases) expect(addressKey(address), address).toBe(key);
    expect(addressKey('2001:db8:1:2::1')).not.toBe(addressKey('2001:db8:1:3::1'));
    expect(addressKey('2001:db8:1:2::1')).not.toBe(addressKey('2001:db9:1:2::1'));
  });

  it('a token bucket: perMinute at once, then one per 60/perMinute s; memory bounded by maxKeys', () => {
    let now = 1_000_000;
    const limiter = new RateLimiter({ perMinute: 3, clock: () => now, maxKeys: 4 });
    expect([1, 2, 3].map(() => limiter.take('a'))).toEqual([0, 0, 0]);
    expect(limiter.take('a')).toBe(20_000); // one more in 20 s
    expect(limiter.take('b')).toBe(0); // another key has its own budget
    now += 19_999;
    expect(limiter.take('a')).toBe(1);
    now += 1;
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(20_000);
    for (const key of ['c', 'd', 'e', 'f', 'g']) limiter.take(key);
    expect(limiter.size).toBe(4);
  });

  it('reads PER_IP_* and TRUST_PROXY, with a one-line refusal naming the variable', () => {
    expect(perIPLimitsFromEnv({})).toEqual({
      perIP: DEFAULT_PER_IP_LIMITS,
      maxConnectionsPerIP: DEFAULT_LIMITS.maxConnectionsPerIP,
    });
    expect(DEFAULT_PER_IP_LIMITS).toEqual({
      signInsPerMinute: 10,
      codesPerMinute: 20,
      trustProxy: false,
    });
    expect(DEFAULT_LIMITS.maxConnectionsPerIP).toBe(32);
    expect(
      perIPLimitsFromEnv({
        PER_IP_SIGNINS_PER_MINUTE: '5',
        PER_IP_CODES_PER_MINUTE: ' 7 ',
        PER_IP_CONNECTIONS: '100',
      }),
    ).toEqual({
      perIP: { signInsPerMinute: 5, codesPerMinute: 7, trustProxy: false },
      maxConnectionsPerIP: 100,
    });
    // Behind a proxy every connection comes from it: the proxy limits connections.
    expect(perIPLimitsFromEnv({ TRUST_PROXY: '1', PER_IP_CONNECTIONS: '8' })).toEqual({
      perIP: { ...DEFAULT_PER_IP_LIMITS, trustProxy: true },
      maxConnectionsPerIP: Infinity,
    });
    for (const [name, value] of [
      ['PER_IP_SIGNINS_PER_MINUTE', '0'],
      ['PER_IP_CODES_PER_MINUTE', '2.5'],
      ['PER_IP_CONNECTIONS', 'many'],
      ['PER_IP_CONNECTIONS', '10000000'],
    ] as const) {
      expect(() => perIPLimitsFromEnv({ [name]: value })).toThrow(SettingError);
      expect(() => perIPLimitsFromEnv({ [name]: value })).toThrow(
        `${name} must be a whole number from 1 to 1000000, got "${value}"`,
      );
    }
    expect(() => perIPLimitsFromEnv({ TRUST_PROXY: 'yes' })).toThrow(
      'TRUST_PROXY must be 1 (behind a reverse proxy) or 0, got "yes"',
    );
  });
});
