#!/usr/bin/env node
/**
 * The `totpkit` command line: `secret`, `uri`, `code`, `verify`, `qr` and
 * `enroll`. Exit status 0 means success, 1 a code that was not accepted,
 * 2 a usage error (the message names the flag), 3 an unexpected failure.
 * @module
 * @internal
 */
import { createInterface, type Interface } from 'node:readline';
import pkg from '../package.json' with { type: 'json' };
import { code, qr, secret, uri, verify } from './cli/commands.ts';
import { enroll } from './cli/enroll.ts';
import { EXIT, parseCommandLine, UsageError, type Command, type IO } from './cli/options.ts';

const COMMANDS: Readonly<Record<string, Command>> = { secret, uri, code, verify, qr, enroll };

function indexHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  return (
    `Usage: totpkit COMMAND [options]\n\n` +
    `TOTP two-factor authentication from the command line (RFC 6238).\n\n` +
    `Commands:\n` +
    Object.entries(COMMANDS)
      .map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}\n`)
      .join('') +
    `\nRun 'totpkit COMMAND --help' for a command's options.\n` +
    `Secrets can be given in $TOTPKIT_SECRET instead of --secret, which other\n` +
    `users of the machine can see in the process list.\n\n` +
    `Exit status: 0 success, 1 code not accepted, 2 usage error, 3 unexpected failure.\n`
  );
}

/**
 * Runs the CLI with `args` (without the node and script paths) and returns the
 * exit status.
 */
async function main(args: string[], io: IO): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined) {
    io.err(indexHelp());
    return EXIT.usage;
  }
  if (name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    io.out(indexHelp());
    return EXIT.ok;
  }
  if (name === '--version' || name === '-V') {
    io.out(`${pkg.version}\n`);
    return EXIT.ok;
  }
  const helpFor = name === 'help' ? rest[0] : undefined;
  const wanted = helpFor ?? name;
  const command = Object.hasOwn(COMMANDS, wanted) ? COMMANDS[wanted] : undefined;
  if (command === undefined) {
    // Quoted only if it looks like a mistyped command, not a pasted secret:
    // at most 12 letters, shorter than the 16 base32 characters of even an
    // 80-bit secret.
    const shown = /^-{0,2}[a-z][a-z-]{0,11}$/.test(wanted) ? ` "${wanted}"` : '';
    io.err(`totpkit: unknown command${shown}\nRun 'totpkit --help' for the list.\n`);
    return EXIT.usage;
  }
  if (helpFor !== undefined) {
    io.out(command.help);
    return EXIT.ok;
  }
  try {
    const { values, positionals } = parseCommandLine(command, rest);
    if (values.help === true) {
      io.out(command.help);
      return EXIT.ok;
    }
    return await command.run(values, positionals, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`totpkit ${name}: ${error.message}\nRun 'totpkit ${name} --help' for usage.\n`);
      return EXIT.usage;
    }
    io.err(`totpkit ${name}: unexpected failure: ${String(error)}\n`);
    return EXIT.failure;
  }
}

function processIO(): IO & { close: () => void } {
  let rl: Interface | undefined;
  let lines: AsyncIterator<string> | undefined;
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    env: process.env,
    now: Date.now,
    async prompt(question) {
      process.stdout.write(question);
      // Created on first use: an open reader would keep a CLI that never
      // reads standard input waiting for it. The async iterator buffers lines
      // that arrive before they are asked for (piped input).
      rl ??= createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
      lines ??= rl[Symbol.asyncIterator]();
      const next = await lines.next();
      return next.done === true ? undefined : next.value;
    },
    close: () => rl?.close(),
  };
}

const io = processIO();
process.exitCode = await main(process.argv.slice(2), io);
io.close();
