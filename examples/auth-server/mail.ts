// Where the example's verification codes go: the service makes a code and
// hands it to a `sender`; this file has the two the example offers.
//
// - The development outbox (the default: no mail server configured): the
//   message is kept in memory, shown to its own account on a page marked
//   "Development outbox — not for production" (/dev/outbox), and written to
//   the log. Anyone who can read that log or that account's page can read
//   the code, which is the point in development and the reason it must never
//   run in production.
// - SMTP (SMTP_URL set, e.g. smtp://user:pass@mail.example.com:587): the
//   message goes out through nodemailer, and the log says only that a code
//   went to a masked address.
//
// A sender that throws makes the service take the code back (no code is live,
// no send counted) and throw MFAError('ERR_SENDER'): the page says so.
import nodemailer from 'nodemailer';
import type { VerificationMessage } from 'totpkit';
import { SettingError } from './settings.ts';

/** A message in the development outbox: to whom, and its text (which carries the code). */
export interface OutboxMessage {
  userId: string;
  to: string;
  subject: string;
  text: string;
  /** When it was "sent" (Unix ms). */
  sentAt: number;
}

/** The newest messages of the development outbox, newest last (at most {@link OUTBOX_SIZE}). */
export class DevOutbox {
  readonly #messages: OutboxMessage[] = [];

  add(message: OutboxMessage): void {
    this.#messages.push(message);
    // Bounded: a busy demo does not grow without limit.
    if (this.#messages.length > OUTBOX_SIZE) this.#messages.shift();
  }

  /** The messages sent to `userId`'s account, newest first. */
  forUser(userId: string): OutboxMessage[] {
    return this.#messages.filter((m) => m.userId === userId).reverse();
  }
}

export const OUTBOX_SIZE = 200;

/** How the example sends codes, as server.ts chooses it from the environment. */
export interface Mailer {
  sender: (message: VerificationMessage) => Promise<void>;
  /** The development outbox, or null when codes go out by SMTP. */
  outbox: DevOutbox | null;
  /** One line for the start-up message. */
  description: string;
  close: () => void;
}

/** The subject and text of a code's e-mail. The text says what the code is for and when it ends. */
export function composeCodeMail(message: VerificationMessage): {
  subject: string;
  text: string;
} {
  const minutes = Math.max(1, Math.round((message.expiresAt - Date.now()) / 60_000));
  const what =
    message.purpose === 'enroll' ? 'set up two-factor sign-in' : 'confirm a change to your account';
  return {
    subject: `Your verification code: ${message.code}`,
    text: [
      `Your totpkit demo verification code is ${message.code}.`,
      '',
      `Enter it to ${what}. It works for ${minutes} minute${minutes === 1 ? '' : 's'}.`,
      'If you did not ask for it, you can ignore this e-mail: without the code, nothing changes.',
    ].join('\n'),
  };
}

/**
 * The development outbox: keeps each message for the /dev/outbox page and
 * writes it to `log`, marked as what it is.
 */
export function devOutboxMailer(log: (line: string) => void): Mailer {
  const outbox = new DevOutbox();
  return {
    outbox,
    description:
      'verification codes: development outbox at /dev/outbox (not for production; set SMTP_URL to send e-mail)',
    async sender(message) {
      const { subject, text } = composeCodeMail(message);
      outbox.add({
        userId: message.userId,
        to: message.destination,
        subject,
        text,
        sentAt: Date.now(),
      });
      log(
        `DEVELOPMENT OUTBOX (not for production): to ${message.destination}: ${text.split('\n')[0]}`,
      );
    },
    close() {},
  };
}

/**
 * Sends codes by SMTP through nodemailer. `url` is nodemailer's connection
 * URL (smtp:// or smtps://, with user and password if the server wants them);
 * `from` the sender address. The log gets no code and no full address.
 */
export function smtpMailer(url: string, from: string, log: (line: string) => void): Mailer {
  const transport = nodemailer.createTransport(url);
  return {
    outbox: null,
    description: `verification codes: e-mail through SMTP (SMTP_URL), from ${from}`,
    async sender(message) {
      const { subject, text } = composeCodeMail(message);
      try {
        await transport.sendMail({ from, to: message.destination, subject, text });
      } catch (error) {
        // An SMTP error can quote the message back: log its code only, and
        // let the service report ERR_SENDER (it keeps no cause either).
        const code = (error as { code?: unknown; responseCode?: unknown }) ?? {};
        log(
          `SMTP send failed (${String(code.code ?? 'error')}${code.responseCode === undefined ? '' : ` ${String(code.responseCode)}`})`,
        );
        throw new Error('the SMTP server did not take the message');
      }
    },
    close() {
      transport.close();
    },
  };
}

/** The mailer the environment asks for: SMTP with SMTP_URL, else the development outbox. */
export function mailerFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  log: (line: string) => void,
): Mailer {
  const url = env.SMTP_URL?.trim();
  if (!url) return devOutboxMailer(log);
  let protocol = '';
  try {
    protocol = new URL(url).protocol;
  } catch {
    // reported below
  }
  if (protocol !== 'smtp:' && protocol !== 'smtps:') {
    // Not the URL itself: it may carry a password.
    throw new SettingError(
      'SMTP_URL must be an smtp:// or smtps:// URL (smtp://user:pass@host:587)',
    );
  }
  return smtpMailer(url, env.SMTP_FROM?.trim() || 'totpkit demo <no-reply@localhost>', log);
}
