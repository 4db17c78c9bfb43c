// Drives the workerd test's Worker (test/runtimes/fixtures/worker.ts) through
// an enrollment, computing the codes on Node as the user's app would.
import { decodeBase32, generateTOTP } from '../../src/index.ts';

/** The recovery-code policy a request runs under. */
export interface RecoveryPolicy {
  count: number;
  N: number;
  r: number;
}

/** Calls `path` on the Worker with `params`, returning the JSON body. */
export async function call(
  url: string,
  path: string,
  params: Record<string, string | number>,
): Promise<Record<string, unknown>> {
  const query = new URLSearchParams(
    Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]),
  );
  const response = await fetch(`${url}${path}?${query}`);
  const text = await response.text();
  if (!response.ok) throw new Error(`${path}: ${response.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** beginEnrollment, then the two codes (previous and current step) for completeEnrollment. */
export async function begin(
  url: string,
  user: string,
  now: number,
  policy: RecoveryPolicy,
): Promise<{ secret: string; uri: string; first: string; second: string }> {
  const { secret, uri } = (await call(url, '/begin', { user, now, ...policy })) as {
    secret: string;
    uri: string;
  };
  const bytes = decodeBase32(secret);
  return {
    secret,
    uri,
    first: generateTOTP(bytes, { now: now - 30_000 }),
    second: generateTOTP(bytes, { now }),
  };
}
