/**
 * Runs `oathtool` (OATH Toolkit, Debian package `oathtool`) as an independent
 * HOTP/TOTP implementation for differential tests.
 *
 * - {@link oathtoolAvailable} / {@link requireOathtool}: whether it is installed.
 *   Under CI a missing oathtool must fail the test, not skip it (the rule
 *   is ./integration.ts's, shared by every helper).
 * - {@link oathtoolTOTP} / {@link oathtoolHOTP}: one call, `window + 1` codes.
 * - {@link oathtoolBatch}: many requests through a few `sh` processes, because
 *   spawning one process per request from Node costs far more than oathtool.
 *
 * oathtool 2.6 computes HOTP with SHA-1 only. A SHA-256/SHA-512 HOTP value is
 * obtained as TOTP with a 1 s step, T0 = 0 and the counter as the time (RFC
 * 6238 §4: T = (time - T0) / X), which {@link oathtoolHOTP} does for you; the
 * counter must then be a valid time (≤ 2^40 is safe).
 *
 * Secrets are passed as hex on the command line: fine for random test keys,
 * never for real ones.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { isCI, mayRun } from './integration.ts';

/** The executable; override with the `OATHTOOL` environment variable. */
export const OATHTOOL = process.env.OATHTOOL ?? 'oathtool';

function probe(): string | undefined {
  const result = spawnSync(OATHTOOL, ['--version'], { encoding: 'utf8' });
  if (result.error) return `${OATHTOOL} cannot be run (${result.error.message})`;
  if (result.status !== 0) return `${OATHTOOL} --version exited with ${result.status}`;
  return undefined;
}

/** Why oathtool cannot be used, or `undefined` if it can. */
export const oathtoolMissingReason: string | undefined = probe();

/** Whether oathtool is installed and runs. */
export const oathtoolAvailable = oathtoolMissingReason === undefined;

/**
 * Whether a differential suite should be skipped: only when oathtool is
 * missing and `CI` is not set. Prints the reason once when it skips.
 */
export function skipWithoutOathtool(): boolean {
  return !mayRun(
    'oathtool differential',
    'program',
    oathtoolMissingReason === undefined
      ? undefined
      : `${oathtoolMissingReason} (Debian package oathtool)`,
  );
}

/** Throws a clear error if oathtool is missing (call it inside a test). */
export function requireOathtool(): void {
  if (oathtoolMissingReason !== undefined) {
    throw new Error(
      `oathtool is required${isCI ? ' when CI is set' : ''}: ${oathtoolMissingReason}. ` +
        'Install it with apt-get install oathtool.',
    );
  }
}

/** A TOTP request: codes for the step containing `now` and `window` steps after it. */
export interface OathtoolTOTPRequest {
  /** The secret as hex. */
  secretHex: string;
  /** Default 'SHA1'. */
  algorithm?: 'SHA1' | 'SHA256' | 'SHA512';
  /** Default 6. */
  digits?: 6 | 7 | 8;
  /** Step in seconds, default 30. */
  period?: number;
  /** T0 in Unix seconds, default 0. Must not be after `now`. */
  epoch?: number;
  /** Unix milliseconds (oathtool takes whole seconds; the step is the same). */
  now: number;
  /** Extra consecutive codes to return, default 0. */
  window?: number;
}

/** An HOTP request: codes for `counter` and the `window` counters after it. */
export interface OathtoolHOTPRequest {
  /** The secret as hex. */
  secretHex: string;
  /** Default 'SHA1'. SHA256/SHA512 go through TOTP with a 1 s step (counter ≤ 2^40). */
  algorithm?: 'SHA1' | 'SHA256' | 'SHA512';
  /** Default 6. */
  digits?: 6 | 7 | 8;
  /** The first counter; `counter + window` must stay below 2^64. */
  counter: number | bigint;
  /** Extra consecutive codes to return, default 0. */
  window?: number;
}

/** A request for {@link oathtoolBatch}. */
export type OathtoolRequest =
  ({ type: 'totp' } & OathtoolTOTPRequest) | ({ type: 'hotp' } & OathtoolHOTPRequest);

function checkHex(hex: string): string {
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex)) throw new Error('secretHex must be non-empty hex bytes');
  return hex;
}

function checkWhole(value: number | bigint, name: string): string {
  if (typeof value === 'bigint' ? value < 0n : !Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer, got ${value}`);
  }
  return String(value);
}

/** The oathtool arguments for a request (all plain tokens: digits, hex, option names). */
export function oathtoolArgs(request: OathtoolRequest): string[] {
  const digits = String(request.digits ?? 6);
  const window = checkWhole(request.window ?? 0, 'window');
  const algorithm = request.algorithm ?? 'SHA1';
  if (request.type === 'hotp' && algorithm === 'SHA1') {
    return [
      '--hotp',
      `--digits=${digits}`,
      `--counter=${checkWhole(request.counter, 'counter')}`,
      `--window=${window}`,
      checkHex(request.secretHex),
    ];
  }
  // TOTP; HOTP with SHA256/SHA512 is TOTP with X = 1 s and the counter as time.
  const totp =
    request.type === 'totp'
      ? request
      : { ...request, period: 1, epoch: 0, now: Number(request.counter) * 1000 };
  if (request.type === 'hotp' && BigInt(request.counter) > 2n ** 40n) {
    throw new Error('oathtool SHA256/SHA512 HOTP counters must be at most 2^40');
  }
  return [
    `--totp=${algorithm}`,
    `--digits=${digits}`,
    `--time-step-size=${checkWhole(totp.period ?? 30, 'period')}s`,
    `--start-time=@${checkWhole(totp.epoch ?? 0, 'epoch')}`,
    `--now=@${checkWhole(Math.floor(totp.now / 1000), 'now')}`,
    `--window=${window}`,
    checkHex(request.secretHex),
  ];
}

function run(args: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile(OATHTOOL, args, { encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`oathtool ${args.join(' ')} failed: ${stderr || error.message}`));
      else resolve(stdout.split('\n').filter((line) => line !== ''));
    });
  });
}

/** TOTP codes for the step containing `now` and the `window` steps after it. */
export function oathtoolTOTP(request: OathtoolTOTPRequest): Promise<string[]> {
  requireOathtool();
  return run(oathtoolArgs({ type: 'totp', ...request }));
}

/** HOTP codes for `counter` and the `window` counters after it. */
export function oathtoolHOTP(request: OathtoolHOTPRequest): Promise<string[]> {
  requireOathtool();
  return run(oathtoolArgs({ type: 'hotp', ...request }));
}

const END = '--end-of-request';

function runScript(requests: readonly OathtoolRequest[]): Promise<string[][]> {
  const script = requests
    .map((r) => `'${OATHTOOL}' ${oathtoolArgs(r).join(' ')} 2>&1; echo "${END} $?"`)
    .join('\n');
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-s'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (status) => {
      if (status !== 0) return reject(new Error(`sh exited with ${status}`));
      const results: string[][] = [];
      let lines: string[] = [];
      for (const line of out.split('\n')) {
        if (line.startsWith(END)) {
          const rc = line.slice(END.length + 1);
          if (rc !== '0') {
            const args = oathtoolArgs(requests[results.length] as OathtoolRequest).join(' ');
            return reject(new Error(`oathtool ${args} exited with ${rc}: ${lines.join(' ')}`));
          }
          results.push(lines);
          lines = [];
        } else if (line !== '') {
          lines.push(line);
        }
      }
      if (results.length !== requests.length) {
        return reject(new Error(`expected ${requests.length} results, got ${results.length}`));
      }
      resolve(results);
    });
    child.stdin.end(`${script}\n`);
  });
}

/**
 * Runs many requests through `concurrency` shell processes (default 2) and
 * returns each request's codes, in order.
 */
export async function oathtoolBatch(
  requests: readonly OathtoolRequest[],
  { concurrency = 2 }: { concurrency?: number } = {},
): Promise<string[][]> {
  requireOathtool();
  if (requests.length === 0) return [];
  const size = Math.ceil(requests.length / concurrency);
  const chunks: OathtoolRequest[][] = [];
  for (let i = 0; i < requests.length; i += size) chunks.push(requests.slice(i, i + size));
  return (await Promise.all(chunks.map(runScript))).flat();
}
