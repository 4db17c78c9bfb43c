// totpkit with Express 5: a code by e-mail to check it is the user, enroll
// with a QR code, bind with two codes, sign in, recovery codes, sessions bound
// to the security generation. Run: npx tsx examples/frameworks/express.ts
import express from 'express';
import type { AddressInfo } from 'node:net';
import type { MFA } from 'totpkit';
import { renderQRCodeSVG } from 'totpkit/qr';
import { emailOf, errorAnswer, runIfMain, Sessions, type ExampleServer } from './shared.ts';

export function expressApp(mfa: MFA): express.Express {
  const app = express();
  const sessions = new Sessions(mfa);
  app.use(express.json());
  // Your session middleware sets the user; see shared.ts.
  app.use('/mfa', (req, res, next) => {
    if (req.get('x-user-id')) next();
    else res.status(401).json({ error: 'sign in first' });
  });
  const user = (req: express.Request) => req.get('x-user-id') as string;
  // The one-line guard: a missing or non-string field is the client's error
  // (400); passed on, the service would throw a TypeError (a 500).
  const text = (req: express.Request, name: string) =>
    typeof req.body?.[name] === 'string' ? (req.body[name] as string) : undefined;

  // The identity step: a code to the user's e-mail address (cooldown and
  // daily caps: 429 with retryAfterMs).
  app.post('/mfa/enroll/send-code', async (req, res) => {
    const sent = await mfa.sendVerificationCode(user(req), {
      channel: 'email',
      destination: emailOf(user(req)),
      purpose: 'enroll',
    });
    res.status(sent.ok ? 200 : 429).json(sent);
  });
  // The code from the e-mail buys a proof; the proof starts the enrollment.
  app.post('/mfa/enroll', async (req, res) => {
    const code = text(req, 'code');
    if (code === undefined) return res.status(400).json({ error: '"code" must be a string' });
    const checked = await mfa.checkVerificationCode(user(req), code, { purpose: 'enroll' });
    if (!checked.ok) return res.status(401).json(checked);
    const begun = await mfa.beginEnrollment(user(req), {
      accountName: user(req),
      proof: checked.proof,
    });
    // secret and uri are not enumerable, so res.json(begun) would drop them:
    // name each field you send.
    res.json({ secret: begun.secret, qr: renderQRCodeSVG(begun.uri), expiresAt: begun.expiresAt });
  });
  app.post('/mfa/enroll/complete', async (req, res) => {
    const [code1, code2] = [text(req, 'code1'), text(req, 'code2')];
    if (code1 === undefined || code2 === undefined)
      return res.status(400).json({ error: '"code1" and "code2" must be strings' });
    const result = await mfa.completeEnrollment(user(req), code1, code2);
    if (!result.ok) return res.status(400).json(result);
    // Shown once; recoveryCodes is not enumerable either.
    res.json({ ok: true, recoveryCodes: result.recoveryCodes });
  });
  app.post('/mfa/verify', async (req, res) => {
    const code = text(req, 'code');
    if (code === undefined) return res.status(400).json({ error: '"code" must be a string' });
    const result = await mfa.verify(user(req), code);
    if (!result.ok) return res.status(401).json(result);
    // The full session, bound to the generation the code was checked in.
    res.json({ ...result, session: sessions.create(user(req), result.generation) });
  });
  app.post('/mfa/recover', async (req, res) => {
    const code = text(req, 'code');
    if (code === undefined) return res.status(400).json({ error: '"code" must be a string' });
    const result = await mfa.useRecoveryCode(user(req), code);
    if (!result.ok) return res.status(401).json(result);
    res.json({ ...result, session: sessions.create(user(req), result.generation) });
  });
  // A page behind the full session: refused once the user's factors changed.
  app.get('/account', async (req, res) => {
    const userId = await sessions.user(req.get('x-session'));
    if (userId === null) return res.status(401).json({ error: 'session ended: sign in again' });
    res.json({ userId });
  });
  // A body that is not JSON: express.json() fails with status 400; answer in
  // JSON. The service's errors: see errorAnswer.
  app.use(
    (error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      if ((error as { status?: unknown }).status === 400) {
        return res.status(400).json({ error: 'the body must be JSON' });
      }
      const { status, body } = errorAnswer(error);
      res.status(status).json(body);
    },
  );
  return app;
}

export function startExpress(mfa: MFA, port: number): Promise<ExampleServer> {
  return new Promise((resolve, reject) => {
    const server = expressApp(mfa).listen(port, '127.0.0.1', (error) => {
      if (error) return reject(error);
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

await runIfMain(import.meta, startExpress);
