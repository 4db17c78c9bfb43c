// The example's verification-code e-mail through SMTP (SMTP_URL: nodemailer),
// against a local SMTP receiver (the smtp-server package) that this test
// starts on a free loopback port and stops: nothing is skipped, in CI or not.
// The seed flow is walked with the code read from the e-mail the receiver
// got; a receiver that refuses the message makes the page say so, with no
// code live and nothing counted; and the settings are checked (a bad SMTP_URL,
// no outbox page when SMTP is on).
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBase32, generateTOTP } from 'totpkit';
import { mailerFromEnv, smtpMailer, type Mailer } from '../../examples/auth-server/mail.ts';
import { SettingError } from '../../examples/auth-server/settings.ts';
import {
  Client,
  extract,
  logText,
  signUp,
  startAuthServer,
  type RunningServer,
} from './harness.ts';

const PASSWORD = 'a fine passphrase';

/** One message as the receiver got it: envelope and raw data. */
interface Received {
  from: string;
  to: string[];
  data: string;
}

describe('example auth server: verification codes by SMTP (nodemailer → smtp-server)', () => {
  let receiver: SMTPServer;
  let smtpURL = '';
  const inbox: Received[] = [];
  /** Recipients the receiver refuses (550), as a mail server refuses an unknown mailbox. */
  const refused = new Set<string>();
  let server: RunningServer;
  let mailer: Mailer;
  /** The mailer's own log lines. */
  const mailLog: string[] = [];

  beforeAll(async () => {
    receiver = new SMTPServer({
      // Plain SMTP on loopback: no STARTTLS offered (a self-signed certificate
      // would be refused by nodemailer), and no login asked for.
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onRcptTo(address, _session, callback) {
        if (refused.has(address.address)) {
          const error = Object.assign(new Error('mailbox unavailable'), { responseCode: 550 });
          return callback(error);
        }
        callback();
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          inbox.push({
            from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
            to: session.envelope.rcptTo.map((r) => r.address),
            // Quoted-printable soft line breaks joined (the text is ASCII).
            data: Buffer.concat(chunks)
              .toString('utf8')
              .replace(/=\r?\n/g, ''),
          });
          callback();
        });
      },
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver.server, 'listening');
    const { port } = receiver.server.address() as AddressInfo;
    smtpURL = `smtp://127.0.0.1:${port}`;
    mailer = mailerFromEnv({ SMTP_URL: smtpURL, SMTP_FROM: 'Demo <demo@example.com>' }, (l) =>
      mailLog.push(l),
    );
    server = await startAuthServer({ mailer });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    mailer?.close();
    await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
  });

  /** The code in the newest message to `to`. */
  function codeIn(to: string): string {
    const message = inbox.filter((m) => m.to.includes(to)).at(-1);
    expect(message, `a message to ${to}`).toBeDefined();
    return extract(message!.data, /verification code is (\d{6})\./, 'code');
  }

  it('sends the code to the account address, and the seed flow goes on with it', async () => {
    expect(mailer.outbox).toBeNull();
    const email = 'smtp-alice@example.com';
    const alice = new Client(server.url);
    await signUp(alice, email, PASSWORD);
    const sent = await alice.post('/mfa/setup');
    expect(sent.location).toBe('/mfa/verify');
    const verify = await alice.get('/mfa/verify');
    expect(verify.body).toContain(`We sent a new code to ${email}.`);
    // With SMTP there is no outbox: neither the note nor the page.
    expect(verify.body).not.toContain('development outbox');
    expect((await alice.get('/dev/outbox')).status).toBe(404);

    const message = inbox.at(-1)!;
    expect(message.from).toBe('demo@example.com');
    expect(message.to).toEqual([email]);
    expect(message.data).toMatch(/^Subject: Your verification code: \d{6}\r?$/m);
    expect(message.data).toContain(
      'Enter it to set up two-factor sign-in. It works for 10 minutes.',
    );
    const code = codeIn(email);
    // The code is in the e-mail only: not in the page, not in the log.
    expect(verify.body).not.toContain(code);
    expect(logText([...server.logs, ...mailLog])).not.toContain(code);
    expect(server.logs.join('\n')).toMatch(/mfa event verification_code_sent user=/);

    // The code from the e-mail opens the QR code; the flow binds as usual.
    expect((await alice.post('/mfa/verify', { code })).location).toBe('/mfa/setup');
    const setup = await alice.get('/mfa/setup');
    const key = extract(setup.body, /id="secret">([A-Z2-7 ]+)</, 'secret').replace(/ /g, '');
    const secret = decodeBase32(key);
    const now = Date.now();
    const bound = await alice.post('/mfa/confirm', {
      code1: generateTOTP(secret, { now: now - 30_000 }),
      code2: generateTOTP(secret, { now }),
    });
    expect(bound.body).toContain('Save these recovery codes');
    // A used code does not work twice (its proof was made and consumed).
    expect(inbox.filter((m) => m.to.includes(email))).toHaveLength(1);
  });

  it('says so when the SMTP server refuses the message, with no code live and no send counted', async () => {
    const email = 'smtp-refused@example.com';
    refused.add(email);
    const bob = new Client(server.url);
    await signUp(bob, email, PASSWORD);
    const before = inbox.length;
    const page = await bob.post('/mfa/setup');
    expect(page.status).toBe(503);
    expect(page.body).toContain('We could not send the e-mail just now.');
    expect(inbox.length).toBe(before);
    // The log names the SMTP refusal by its code, not the message.
    expect(mailLog).toContain('SMTP send failed (EENVELOPE 550)');
    expect(server.logs.join('\n')).toContain('mfa event verification_code_send_failed');
    // No code is live: checking any code says none was sent.
    const check = await bob.post('/mfa/verify', { code: '123456' });
    expect(check.body).toContain('There is no code waiting for you.');
    // Nothing was counted: once the mailbox works, a code goes out at once
    // (no cooldown from the failed send).
    refused.delete(email);
    expect((await bob.post('/mfa/setup')).location).toBe('/mfa/verify');
    expect((await bob.get('/mfa/verify')).body).toContain(`We sent a new code to ${email}.`);
    expect(inbox.length).toBe(before + 1);
    expect(codeIn(email)).toMatch(/^\d{6}$/);
  });

  it('refuses an SMTP_URL that is not smtp:// or smtps://, without echoing it', () => {
    for (const url of ['http://mail.example.com', 'not a url', 'mail.example.com:25']) {
      expect(() => mailerFromEnv({ SMTP_URL: url }, () => {})).toThrow(SettingError);
    }
    let message = '';
    try {
      mailerFromEnv({ SMTP_URL: 'http://user:hunter2@mail.example.com' }, () => {});
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('SMTP_URL must be an smtp:// or smtps:// URL (smtp://user:pass@host:587)');
    // Unset or empty: the development outbox.
    expect(mailerFromEnv({}, () => {}).outbox).not.toBeNull();
    expect(mailerFromEnv({ SMTP_URL: ' ' }, () => {}).outbox).not.toBeNull();
    const direct = smtpMailer(smtpURL, 'x@example.com', () => {});
    expect(direct.outbox).toBeNull();
    direct.close();
  });
});
