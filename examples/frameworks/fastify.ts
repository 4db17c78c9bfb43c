// totpkit with Fastify 5: a code by e-mail to check it is the user, enroll
// with a QR code, bind with two codes, sign in, recovery codes, sessions bound
// to the security generation. Run: npx tsx examples/frameworks/fastify.ts
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { MFA } from 'totpkit';
import { renderQRCodeSVG } from 'totpkit/qr';
import { emailOf, errorAnswer, runIfMain, Sessions, type ExampleServer } from './shared.ts';

export function fastifyApp(mfa: MFA): FastifyInstance {
  const app = Fastify();
  const sessions = new Sessions(mfa);
  // Your session hook sets the user; see shared.ts.
  app.addHook('onRequest', async (req, reply) => {
    if (req.url.startsWith('/mfa/') && !req.headers['x-user-id']) {
      return reply.code(401).send({ error: 'sign in first' });
    }
  });
  const user = (req: FastifyRequest) => req.headers['x-user-id'] as string;
  // The one-line guard: a missing or non-string field is the client's error
  // (400); passed on, the service would throw a TypeError (a 500).
  const text = (req: FastifyRequest, name: string) => {
    const value = (req.body as Record<string, unknown> | undefined)?.[name];
    return typeof value === 'string' ? value : undefined;
  };

  // Fastify's own errors (a body that is not JSON: 400) keep their status;
  // the service's: see errorAnswer.
  app.setErrorHandler((error, _req, reply) => {
    const { statusCode } = error as { statusCode?: number };
    if (statusCode !== undefined && statusCode < 500) return reply.code(statusCode).send(error);
    const { status, body } = errorAnswer(error);
    return reply.code(status).send(body);
  });

  // The identity step: a code to the user's e-mail address (cooldown and
  // daily caps: 429 with retryAfterMs).
  app.post('/mfa/enroll/send-code', async (req, reply) => {
    const sent = await mfa.sendVerificationCode(user(req), {
      channel: 'email',
      destination: emailOf(user(req)),
      purpose: 'enroll',
    });
    return reply.code(sent.ok ? 200 : 429).send(sent);
  });
  // The code from the e-mail buys a proof; the proof starts the enrollment.
  app.post('/mfa/enroll', async (req, reply) => {
    const code = text(req, 'code');
    if (code === undefined) return reply.code(400).send({ error: '"code" must be a string' });
    const checked = await mfa.checkVerificationCode(user(req), code, { purpose: 'enroll' });
    if (!checked.ok) return reply.code(401).send(checked);
    const begun = await mfa.beginEnrollment(user(req), {
      accountName: user(req),
      proof: checked.proof,
    });
    // secret and uri are not enumerable, so returning begun would drop them:
    // name each field you send.
    return { secret: begun.secret, qr: renderQRCodeSVG(begun.uri), expiresAt: begun.expiresAt };
  });
  app.post('/mfa/enroll/complete', async (req, reply) => {
    const [code1, code2] = [text(req, 'code1'), text(req, 'code2')];
    if (code1 === undefined || code2 === undefined)
      return reply.code(400).send({ error: '"code1" and "code2" must be strings' });
    const result = await mfa.completeEnrollment(user(req), code1, code2);
    if (!result.ok) return reply.code(400).send(result);
    // Shown once; recoveryCodes is not enumerable either.
    return { ok: true, recoveryCodes: result.recoveryCodes };
  });
  app.post('/mfa/verify', async (req, reply) => {
    const code = text(req, 'code');
    if (code === undefined) return reply.code(400).send({ error: '"code" must be a string' });
    const result = await mfa.verify(user(req), code);
    if (!result.ok) return reply.code(401).send(result);
    // The full session, bound to the generation the code was checked in.
    return { ...result, session: sessions.create(user(req), result.generation) };
  });
  app.post('/mfa/recover', async (req, reply) => {
    const code = text(req, 'code');
    if (code === undefined) return reply.code(400).send({ error: '"code" must be a string' });
    const result = await mfa.useRecoveryCode(user(req), code);
    if (!result.ok) return reply.code(401).send(result);
    return { ...result, session: sessions.create(user(req), result.generation) };
  });
  // A page behind the full session: refused once the user's factors changed.
  app.get('/account', async (req, reply) => {
    const header = req.headers['x-session'];
    const userId = await sessions.user(typeof header === 'string' ? header : undefined);
    if (userId === null) return reply.code(401).send({ error: 'session ended: sign in again' });
    return { userId };
  });
  return app;
}

export async function startFastify(mfa: MFA, port: number): Promise<ExampleServer> {
  const app = fastifyApp(mfa);
  const url = await app.listen({ port, host: '127.0.0.1' });
  return { url, close: () => app.close() };
}

await runIfMain(import.meta, startFastify);
