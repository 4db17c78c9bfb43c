// totpkit with Hono 4 on Node (@hono/node-server): a code by e-mail to check it
// is the user, enroll with a QR code, bind with two codes, sign in, recovery
// codes, sessions bound to the security generation.
// Run: npx tsx examples/frameworks/hono.ts
import { serve } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import type { MFA } from 'totpkit';
import { renderQRCodeSVG } from 'totpkit/qr';
import { emailOf, errorAnswer, runIfMain, Sessions, type ExampleServer } from './shared.ts';

export function honoApp(mfa: MFA): Hono {
  const app = new Hono();
  const sessions = new Sessions(mfa);
  // Your session middleware sets the user; see shared.ts.
  app.use('/mfa/*', async (c, next) => {
    if (!c.req.header('x-user-id')) return c.json({ error: 'sign in first' }, 401);
    await next();
  });
  const user = (c: Context) => c.req.header('x-user-id') as string;
  // The one-line guard: a missing or non-string field (or a body that is not
  // JSON) is the client's error (400); passed on, the service would throw a
  // TypeError (a 500).
  const text = async (c: Context, name: string) => {
    const value = ((await c.req.json().catch(() => ({}))) as Record<string, unknown>)[name];
    return typeof value === 'string' ? value : undefined;
  };

  // The service's errors: see errorAnswer.
  app.onError((error, c) => {
    const { status, body } = errorAnswer(error);
    return c.json(body, status as 403 | 500 | 503);
  });

  // The identity step: a code to the user's e-mail address (cooldown and
  // daily caps: 429 with retryAfterMs).
  app.post('/mfa/enroll/send-code', async (c) => {
    const sent = await mfa.sendVerificationCode(user(c), {
      channel: 'email',
      destination: emailOf(user(c)),
      purpose: 'enroll',
    });
    return c.json(sent, sent.ok ? 200 : 429);
  });
  // The code from the e-mail buys a proof; the proof starts the enrollment.
  app.post('/mfa/enroll', async (c) => {
    const code = await text(c, 'code');
    if (code === undefined) return c.json({ error: '"code" must be a string' }, 400);
    const checked = await mfa.checkVerificationCode(user(c), code, { purpose: 'enroll' });
    if (!checked.ok) return c.json(checked, 401);
    const begun = await mfa.beginEnrollment(user(c), {
      accountName: user(c),
      proof: checked.proof,
    });
    // secret and uri are not enumerable, so c.json(begun) would drop them:
    // name each field you send.
    return c.json({
      secret: begun.secret,
      qr: renderQRCodeSVG(begun.uri),
      expiresAt: begun.expiresAt,
    });
  });
  app.post('/mfa/enroll/complete', async (c) => {
    const [code1, code2] = [await text(c, 'code1'), await text(c, 'code2')];
    if (code1 === undefined || code2 === undefined)
      return c.json({ error: '"code1" and "code2" must be strings' }, 400);
    const result = await mfa.completeEnrollment(user(c), code1, code2);
    if (!result.ok) return c.json(result, 400);
    // Shown once; recoveryCodes is not enumerable either.
    return c.json({ ok: true, recoveryCodes: result.recoveryCodes });
  });
  app.post('/mfa/verify', async (c) => {
    const code = await text(c, 'code');
    if (code === undefined) return c.json({ error: '"code" must be a string' }, 400);
    const result = await mfa.verify(user(c), code);
    if (!result.ok) return c.json(result, 401);
    // The full session, bound to the generation the code was checked in.
    return c.json({ ...result, session: sessions.create(user(c), result.generation) });
  });
  app.post('/mfa/recover', async (c) => {
    const code = await text(c, 'code');
    if (code === undefined) return c.json({ error: '"code" must be a string' }, 400);
    const result = await mfa.useRecoveryCode(user(c), code);
    if (!result.ok) return c.json(result, 401);
    return c.json({ ...result, session: sessions.create(user(c), result.generation) });
  });
  // A page behind the full session: refused once the user's factors changed.
  app.get('/account', async (c) => {
    const userId = await sessions.user(c.req.header('x-session'));
    if (userId === null) return c.json({ error: 'session ended: sign in again' }, 401);
    return c.json({ userId });
  });
  return app;
}

export function startHono(mfa: MFA, port: number): Promise<ExampleServer> {
  return new Promise((resolve) => {
    const server = serve({ fetch: honoApp(mfa).fetch, port, hostname: '127.0.0.1' }, (info) =>
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () => new Promise((done) => server.close(() => done())),
      }),
    );
  });
}

await runIfMain(import.meta, startHono);
