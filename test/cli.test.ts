// The `totpkit` CLI as a user runs it: a subprocess, its output and exit status.
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBase32, encodeBase32, generateTOTP, parseKeyURI } from '../src/index.ts';
import { buildCLI, runCLI, startCLI, type CLIResult } from './helpers/cli.ts';
import {
  oathtoolBatch,
  oathtoolTOTP,
  skipWithoutOathtool,
  type OathtoolTOTPRequest,
} from './helpers/oathtool.ts';
import { requireProgram } from './helpers/tools.ts';
import { decodeQRFile, imageDir, matrixToPGM, terminalToMatrix } from './helpers/zbarimg.ts';

const SECRET = 'JBSWY3DPEHPK3PXP';
const COMMANDS = ['secret', 'uri', 'code', 'verify', 'qr', 'enroll'] as const;
const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
const noOathtool = skipWithoutOathtool();
const haveZbar = requireProgram('zbarimg', 'zbar-tools');

let cli: string;
const cliPath = (): string => cli;
const run = (args: string[], options?: Parameters<typeof runCLI>[2]): Promise<CLIResult> =>
  runCLI(cli, args, options);

beforeAll(async () => {
  cli = await buildCLI();
});
afterAll(() => rmSync(cli, { force: true }));

describe('help and exit statuses', () => {
  it('prints the command list for --help, -h and help, and exits 0', async () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const result = await run(args);
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/^Usage: totpkit COMMAND/);
      for (const name of COMMANDS) expect(result.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
      expect(result.stdout).toContain(
        'Exit status: 0 success, 1 code not accepted, 2 usage error, 3 unexpected failure.',
      );
    }
  });

  it('prints the command list to stderr and exits 2 without a command', async () => {
    const result = await run([]);
    expect(result).toMatchObject({ status: 2, stdout: '' });
    expect(result.stderr).toMatch(/^Usage: totpkit COMMAND/);
  });

  it('prints the version', async () => {
    expect(await run(['--version'])).toEqual({ status: 0, stdout: `${version}\n`, stderr: '' });
  });

  it.each(COMMANDS)('%s --help prints its usage, as do -h and the help command', async (name) => {
    const result = await run([name, '--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^Usage: totpkit ${name}`));
    expect(result.stdout).toContain('-h, --help');
    expect(await run(['help', name])).toEqual(result);
    expect(await run([name, '-h'])).toEqual(result);
    // Help text fits an 80-column terminal.
    for (const line of result.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('refuses an unknown command with status 2', async () => {
    const result = await run(['frobnicate']);
    expect(result).toMatchObject({ status: 2, stdout: '' });
    expect(result.stderr).toContain('unknown command "frobnicate"');
  });

  it.each([SECRET, SECRET.toLowerCase(), 'jbswydpehpkxpabc'])(
    'does not repeat a secret given where a command was expected: %s',
    async (secret) => {
      const result = await run([secret]);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain('unknown command');
      expect(result.stderr).not.toContain(secret);
    },
  );
});

describe('secret', () => {
  it('prints a new base32 secret of 20 bytes by default', async () => {
    const [a, b] = await Promise.all([run(['secret']), run(['secret'])]);
    expect(a?.status).toBe(0);
    expect(a?.stdout).toMatch(/^[A-Z2-7]{32}\n$/);
    expect(decodeBase32(a?.stdout.trim() ?? '')).toHaveLength(20);
    expect(a?.stdout).not.toBe(b?.stdout);
  });

  it('takes --bytes', async () => {
    const result = await run(['secret', '--bytes', '64']);
    expect(decodeBase32(result.stdout.trim())).toHaveLength(64);
  });
});

describe('uri', () => {
  it('builds a key URI from the flags', async () => {
    const result = await run([
      'uri',
      '--account',
      'alice smith@example.com',
      '--issuer',
      'Acme Co',
      '--secret',
      SECRET,
      '--algorithm',
      'sha256',
      '--digits',
      '8',
      '--period',
      '60',
    ]);
    expect(result).toEqual({
      status: 0,
      stdout:
        'otpauth://totp/Acme%20Co:alice%20smith@example.com?secret=JBSWY3DPEHPK3PXP' +
        '&issuer=Acme%20Co&algorithm=SHA256&digits=8&period=60\n',
      stderr: '',
    });
  });

  it('uses $TOTPKIT_SECRET, else a new secret', async () => {
    const fromEnv = await run(['uri', '--account', 'alice'], { env: { TOTPKIT_SECRET: SECRET } });
    expect(encodeBase32(parseKeyURI(fromEnv.stdout.trim()).secret)).toBe(SECRET);
    const fresh = parseKeyURI((await run(['uri', '--account', 'alice'])).stdout.trim());
    expect(fresh).toMatchObject({ accountName: 'alice', issuer: undefined, period: 30 });
    expect(fresh.secret).toHaveLength(20);
  });
});

// Inputs for the oathtool comparison: algorithms, lengths, periods, secrets of
// several sizes, and times from the epoch to past 2038.
const SECRETS = [
  SECRET,
  'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', // RFC 6238 SHA1 seed
  encodeBase32(new Uint8Array(64).map((_, i) => (i * 37 + 11) & 0xff)),
  encodeBase32(new Uint8Array(16).fill(0xff)),
  encodeBase32(Uint8Array.of(1, 2, 3, 4, 5)),
];
const TIMES = [
  0, 29, 30, 59, 1_111_111_109, 1_234_567_890, 2_147_483_647, 2_147_483_648, 20_000_000_000,
];
const CODE_TABLE = TIMES.flatMap((time, i) =>
  (['SHA1', 'SHA256', 'SHA512'] as const).map((algorithm, j) => ({
    secret: SECRETS[(i + j) % SECRETS.length] as string,
    algorithm,
    digits: ([6, 7, 8] as const)[(i + 2 * j) % 3] as 6 | 7 | 8,
    period: [30, 60, 1, 45, 300][(i * 3 + j) % 5] as number,
    time,
  })),
);

function oathtoolRequest(row: (typeof CODE_TABLE)[number]): OathtoolTOTPRequest & { type: 'totp' } {
  return {
    type: 'totp',
    secretHex: Buffer.from(decodeBase32(row.secret)).toString('hex'),
    algorithm: row.algorithm,
    digits: row.digits,
    period: row.period,
    now: row.time * 1000,
  };
}

describe.skipIf(noOathtool)('code prints what oathtool --totp prints', () => {
  it(`over a table of ${CODE_TABLE.length} inputs`, async () => {
    const expected = await oathtoolBatch(CODE_TABLE.map(oathtoolRequest));
    const printed = await Promise.all(
      CODE_TABLE.map(({ secret, algorithm, digits, period, time }) =>
        run([
          'code',
          '--secret',
          secret,
          '--algorithm',
          algorithm,
          '--digits',
          String(digits),
          '--period',
          String(period),
          '--time',
          String(time),
        ]),
      ),
    );
    expect(printed).toEqual(
      expected.map(([line]) => ({ status: 0, stdout: `${line}\n`, stderr: '' })),
    );
  });

  it('with the key from --uri or $TOTPKIT_SECRET, and an ISO 8601 time', async () => {
    // A key URI's period is one apps use (10 to 120 s).
    const row = CODE_TABLE.find((r) => r.period === 45 && r.algorithm !== 'SHA1')!;
    const expected = (await oathtoolBatch([oathtoolRequest(row)]))[0]?.[0];
    const uri =
      `otpauth://totp/Acme:alice?secret=${row.secret.toLowerCase()}&algorithm=${row.algorithm}` +
      `&digits=${row.digits}&period=${row.period}`;
    const iso = new Date(row.time * 1000).toISOString();
    const params = ['--algorithm', row.algorithm, '--digits', String(row.digits)];
    const results = await Promise.all([
      run(['code', '--uri', uri, '--time', String(row.time)]),
      run(['code', '--uri', uri, '--time', iso]),
      run(['code', ...params, '--period', String(row.period), '--time', String(row.time)], {
        env: { TOTPKIT_SECRET: row.secret },
      }),
    ]);
    for (const result of results)
      expect(result).toEqual({ status: 0, stdout: `${expected}\n`, stderr: '' });
  });

  it('at the current time by default', async () => {
    // Retried across a step boundary: oathtool and the CLI read the clock separately.
    for (let attempt = 0; ; attempt++) {
      const now = Date.now();
      const [codes] = await oathtoolBatch([
        { type: 'totp', secretHex: Buffer.from(decodeBase32(SECRET)).toString('hex'), now },
      ]);
      const result = await run(['code', '--secret', SECRET]);
      const expected = codes?.[0];
      if (Math.floor(Date.now() / 30_000) !== Math.floor(now / 30_000) && attempt < 3) continue;
      expect(result).toEqual({ status: 0, stdout: `${expected}\n`, stderr: '' });
      break;
    }
  });
});

describe.skipIf(noOathtool)('verify', () => {
  const hex = Buffer.from(decodeBase32(SECRET)).toString('hex');
  const time = 1_700_000_000; // step 56666666, 20 s into it

  it('accepts the codes of the window and reports the step; exit 0', async () => {
    const [codes] = await oathtoolBatch([
      { type: 'totp', secretHex: hex, now: (time - 60) * 1000, window: 4 },
    ]);
    const [two, one, current, next, after] = codes as string[];
    const check = (code: string, extra: string[] = []) =>
      run(['verify', code as string, '--secret', SECRET, '--time', String(time), ...extra]);
    expect(await check(current as string)).toEqual({
      status: 0,
      stdout: 'ok: the code of time step 56666666 (the current step)\n',
      stderr: '',
    });
    expect((await check(one as string)).stdout).toBe(
      'ok: the code of time step 56666665 (1 step ago)\n',
    );
    expect((await check(next as string)).stdout).toBe(
      'ok: the code of time step 56666667 (1 step ahead)\n',
    );
    expect((await check(two as string, ['--window', '2'])).stdout).toBe(
      'ok: the code of time step 56666664 (2 steps ago)\n',
    );
    // Spaces as an app shows them, and full-width digits, as the MFA service reads them.
    const spaced = `${current?.slice(0, 3)} ${current?.slice(3)}`;
    expect((await check(spaced)).status).toBe(0);
    const fullWidth = [...(current as string)]
      .map((digit) => String.fromCharCode(0xff10 + Number(digit)))
      .join('');
    expect((await check(`${fullWidth}\t`)).status).toBe(0);

    for (const [code, extra] of [
      [two, []],
      [after, []],
      [one, ['--window', '0']],
    ] as const) {
      expect(await check(code as string, [...extra])).toEqual({
        status: 1,
        stdout: expect.stringMatching(
          /^rejected: mismatch \(no time step within \d of the current one/,
        ),
        stderr: '',
      });
    }
  });

  it('rejects a malformed code with status 1', async () => {
    for (const code of ['12345', '1234567', 'abcdef', '']) {
      const result = await run(['verify', code, '--secret', SECRET, '--time', String(time)]);
      expect(result).toEqual({
        status: 1,
        stdout: 'rejected: malformed (a code is exactly 6 digits)\n',
        stderr: '',
      });
    }
  });
});

describe.skipIf(!haveZbar)('qr', () => {
  const images = imageDir();
  afterAll(() => images.cleanup());

  it('draws --uri as a QR code that decodes to the exact URI', async () => {
    const uri =
      'otpauth://totp/Acme%20Co:alice@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Acme%20Co';
    for (const level of ['low', 'high']) {
      const result = await run([
        'qr',
        '--uri',
        uri,
        '--error-correction',
        level,
        '--quiet-zone',
        '2',
      ]);
      expect(result.status).toBe(0);
      const matrix = terminalToMatrix(result.stdout);
      expect(matrix[0]?.some(Boolean)).toBe(false);
      expect(matrix[2]?.some(Boolean)).toBe(true); // quiet zone 2
      expect(await decodeQRFile(images.write(`qr-${level}.pgm`, matrixToPGM(matrix)))).toBe(uri);
    }
  });

  it('builds the URI from --secret, --account and --issuer', async () => {
    const flags = ['--secret', SECRET, '--account', 'bob', '--issuer', 'Acme', '--digits', '8'];
    const result = await run(['qr', ...flags]);
    expect(result.status).toBe(0);
    const decoded = await decodeQRFile(
      images.write('qr-built.pgm', matrixToPGM(terminalToMatrix(result.stdout))),
    );
    expect(decoded).toBe((await run(['uri', ...flags])).stdout.trim());
  });
});

describe.skipIf(noOathtool || !haveZbar)('enroll, driven through standard input', () => {
  const images = imageDir();
  afterAll(() => images.cleanup());

  /** Starts `enroll`, checks its QR code against the secret it prints, and returns codes for it. */
  async function start(extra: string[] = []) {
    const cli = startCLI(cliPath(), [
      'enroll',
      '--account',
      'alice@example.com',
      '--issuer',
      'Acme',
      ...extra,
    ]);
    const shown = await cli.waitFor(/Enter the code your app shows: $/);
    const secret = /Or add it by hand \(time-based\): ([A-Z2-7 ]+)\n/
      .exec(shown)?.[1]
      ?.replace(/ /g, '');
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const qr = shown.slice(shown.indexOf('\x1b['), shown.lastIndexOf('\x1b[0m\n') + 5);
    const uri = parseKeyURI(
      await decodeQRFile(images.write('enroll.pgm', matrixToPGM(terminalToMatrix(qr)))),
    );
    expect(uri).toMatchObject({
      issuer: 'Acme',
      accountName: 'alice@example.com',
      algorithm: extra.some((arg) => /^sha256$/i.test(arg)) ? 'SHA256' : 'SHA1',
      digits: 6,
      period: 30,
    });
    expect(encodeBase32(uri.secret)).toBe(secret);
    const secretHex = Buffer.from(decodeBase32(secret as string)).toString('hex');
    // The previous, current and next step's codes.
    const codes = (await oathtoolTOTP({ secretHex, now: Date.now() - 30_000, window: 2 })) as [
      string,
      string,
      string,
    ];
    return { cli, codes };
  }

  it('binds two consecutive codes, prints recovery codes, refuses a replay and accepts the next code', async () => {
    const { cli, codes } = await start();
    const [previous, current, next] = codes;
    let mark = cli.stdout.length;
    cli.type(current);
    await cli.waitFor(/Wait for the next code and enter it: $/, mark);
    cli.type(current);
    await cli.waitFor(
      /You entered the same code twice. Wait for your app to show a new code.\nEnter the code your app shows: $/,
      mark,
    );
    mark = cli.stdout.length;
    cli.type(previous);
    await cli.waitFor(/enter it: $/, mark);
    cli.type(current);
    const bound = await cli.waitFor(/Now sign in: enter a new code from your app: $/, mark);
    expect(bound.slice(mark)).toContain('Your authenticator app is bound.');
    expect(bound.slice(mark).match(/^  [0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/gm)).toHaveLength(10);
    mark = cli.stdout.length;
    cli.type(current);
    await cli.waitFor(
      /That code has already been used. Wait for your app to show the next code.\nNow sign in: enter a new code from your app: $/,
      mark,
    );
    cli.type(`${next.slice(0, 3)} ${next.slice(3)}`);
    cli.end();
    const result = await cli.exited;
    expect(result.stdout.endsWith('Signed in: the code was accepted.\n')).toBe(true);
    expect(result).toMatchObject({ status: 0, stderr: '' });
  });

  it('exits 1 when input ends before a login code is accepted', async () => {
    const { cli, codes } = await start();
    cli.type(codes[0]);
    cli.type(codes[1]);
    cli.type('000000');
    cli.end();
    const result = await cli.exited;
    expect(result.stdout).toContain('Your authenticator app is bound.');
    expect(result.stdout.endsWith('Input ended before a login code was accepted.\n')).toBe(true);
    expect(result.status).toBe(1);
  });

  it('--algorithm SHA256: says how far the phone clock is off, that the app made SHA1 codes, and warns of a clock 100 s fast once bound', async () => {
    const { cli } = await start(['--algorithm', 'sha256']);
    expect(cli.stdout).toContain(
      'Settings, if your app asks: SHA256, 6 digits, a new code every 30 seconds\n',
    );
    const secretText = /Or add it by hand \(time-based\): ([A-Z2-7 ]+)\n/
      .exec(cli.stdout)?.[1]
      ?.replace(/ /g, '');
    const secret = decodeBase32(secretText as string);
    /** A simulated phone: the codes of the step before its "now" and of its "now", `offsetMs` off. */
    const phone = (algorithm: 'SHA1' | 'SHA256', offsetMs: number): string[] => {
      const at = Date.now() + offsetMs;
      return [at - 30_000, at].map((now) => generateTOTP(secret, { algorithm, now }));
    };
    const attempt = async (codes: string[], expected: string): Promise<void> => {
      const mark = cli.stdout.length;
      cli.type(codes[0] as string);
      await cli.waitFor(/Wait for the next code and enter it: $/, mark);
      cli.type(codes[1] as string);
      const out = await cli.waitFor(/: $/, cli.stdout.length);
      expect(out.slice(mark)).toContain(expected);
    };

    // 2 h 3 min ahead (whole steps: the rounding holds whichever step the CLI reads).
    await attempt(
      phone('SHA256', (2 * 3600 + 3 * 60) * 1000),
      "Your phone's clock is about 2 h 3 min ahead. Turn on automatic time and try again.\nEnter the code your app shows: ",
    );
    await attempt(
      phone('SHA256', -45 * 60 * 1000),
      "Your phone's clock is about 45 min behind. Turn on automatic time and try again.\n",
    );
    await attempt(
      phone('SHA1', 0),
      "Your authenticator app ignored this account's settings: it makes SHA1 codes instead of SHA256. " +
        'Some apps do this (Microsoft Authenticator, Authy and Duo Mobile are reported to ignore the SHA256 setting). ' +
        'Delete the entry you just added, and add the account in an app that supports these settings.\n',
    );

    // Inside the binding window: bound, with a warning (60–120 s: whole steps,
    // depending on where in a step each clock is).
    const mark = cli.stdout.length;
    const [first, second] = phone('SHA256', 100_000);
    cli.type(first as string);
    await cli.waitFor(/Wait for the next code and enter it: $/, mark);
    cli.type(second as string);
    const bound = (await cli.waitFor(/Now sign in: enter a new code from your app: $/, mark)).slice(
      mark,
    );
    expect(bound).toContain('Your authenticator app is bound.');
    expect(bound).toMatch(
      /\n\nYour phone's clock is about (1 min|1 min 30 s|2 min) fast\. Turn on automatic time on your phone so that your codes keep working\.\n\nNow sign in/,
    );
    cli.end();
    expect((await cli.exited).status).toBe(1);
  });
});

describe('usage errors exit 2 and name the flag', () => {
  const withSecret = ['--secret', SECRET];
  it.each([
    [['code', '--digits', '9', ...withSecret], /--digits must be 6, 7 or 8, got "9"/],
    [
      ['code', '--algorithm', 'MD5', ...withSecret],
      /--algorithm must be SHA1, SHA256 or SHA512, got "MD5"/,
    ],
    [
      ['code', '--period', '0', ...withSecret],
      /--period must be a whole number from 1 to 4294967295, got "0"/,
    ],
    [['code', '--period', '30s', ...withSecret], /--period must be a whole number/],
    [
      ['code', '--time', 'yesterday', ...withSecret],
      /--time must be Unix seconds or an ISO 8601 date-time with a zone/,
    ],
    [['code', '--time', '2030-01-01T00:00:00', ...withSecret], /--time must be/],
    [['code', '--time', '-5', ...withSecret], /--time/],
    [['code', '--secret', 'not base32!'], /--secret is not base32/],
    [['code'], /a secret is required: give --secret, --uri or \$TOTPKIT_SECRET/],
    [['code', '--uri', 'https://example.com/'], /--uri: the scheme must be "otpauth"/],
    [
      ['code', '--uri', `otpauth://hotp/a?secret=${SECRET}&counter=1`],
      /--uri must be an otpauth:\/\/totp\/ URI/,
    ],
    [
      ['code', '--uri', `otpauth://totp/a?secret=${SECRET}`, '--digits', '8'],
      /--digits cannot be combined with --uri/,
    ],
    [['code', '--frobnicate'], /Unknown option '--frobnicate'/],
    [['code', '--digits'], /Option '--digits <value>' argument missing/],
    [['code', SECRET], /unexpected argument; give a secret with --secret/],
    [['secret', '--bytes', '8'], /--bytes must be a whole number from 16 to 64, got "8"/],
    [['uri'], /--account is required/],
    [['uri', '--account', 'a:b'], /--account must not contain ":"/],
    [['uri', '--account', 'a', '--issuer', 'x:y'], /--issuer must not contain ":"/],
    [['uri', '--account', 'a', '--uri', 'otpauth://totp/a'], /Unknown option '--uri'/],
    [['verify', ...withSecret], /the CODE to check is required/],
    [['verify', '123456', '654321', ...withSecret], /give exactly one CODE/],
    [
      ['verify', '123456', '--window', '101', ...withSecret],
      /--window must be a whole number from 0 to 100, got "101"/,
    ],
    [
      ['qr', '--error-correction', 'max', ...withSecret, '--account', 'a'],
      /--error-correction must be low, medium, quartile or high, got "max"/,
    ],
    [
      ['qr', '--quiet-zone', '99', ...withSecret, '--account', 'a'],
      /--quiet-zone must be a whole number from 0 to 16, got "99"/,
    ],
    [['qr', ...withSecret], /--account is required/],
    [['enroll'], /--account is required/],
    [['enroll', '--account', 'a:b'], /--account must not contain ":"/],
    [['enroll', '--account', 'a', '--issuer', 'x:y'], /--issuer must not contain ":"/],
    [['enroll', '--account', ' alice'], /--account must not start with white space/],
    [['enroll', '--account', 'a', '--issuer', ' Acme'], /--issuer must not start with white/],
    [['enroll', '--account', 'a', '--issuer', 'I'.repeat(257)], /--issuer must be/],
    [['code', '--secret', 'A'.repeat(1640)], /--secret must be 1 to 1024 bytes long, got 1025/],
    [['verify', '123456', '--secret', 'A'.repeat(1640)], /--secret must be 1 to 1024 bytes/],
    [['qr', '--secret', 'A'.repeat(1640), '--account', 'a'], /--secret must be 1 to 1024/],
    [['uri', '--secret', 'A'.repeat(1640), '--account', 'a'], /--secret must be 1 to 1024/],
    [['enroll', '--account', 'a', '--secret', SECRET], /Unknown option '--secret'/],
    [
      ['qr', '--uri', `otpauth://totp/a?secret=${SECRET}`, '--account', 'b'],
      /--account cannot be combined with --uri/,
    ],
  ])('%j', async (args, message) => {
    const result = await run(args);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain(`Run 'totpkit ${args[0]} --help' for usage.`);
    expect(result.status).toBe(2);
    // A secret given on the command line is never repeated in an error.
    expect(result.stderr).not.toContain(SECRET);
  });

  it('names $TOTPKIT_SECRET when that is the bad one, without repeating it', async () => {
    const result = await run(['code'], { env: { TOTPKIT_SECRET: 'JBSWY3DPEHPK3PX1' } });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^totpkit code: \$TOTPKIT_SECRET is not base32/);
    expect(result.stderr).not.toContain('JBSWY3DPEHPK3PX1');
  });
});
