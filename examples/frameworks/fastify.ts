// totpkit with Fastify 5: enroll with a QR code, bind with two codes, sign in,
// recovery codes, sessions bound to the security generation. Run: npx tsx examples/frameworks/fastify.ts
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { MFA } from 'totpkit';
import { renderQRCodeSVG } from 'totpkit/qr';
import { errorAnswer, runIfMain, Sessions, type ExampleServer } from './shared.ts';

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

  // The identity step of a first enrollment: a code to the account's e-mail,
  // exchanged for a proof that beginEnrollment consumes.
  app.post('/mfa/verification/send', async (req, reply) => {
    const email = text(req, 'email'); // your app's address on file for the user
    if (email === undefined) return reply.code(400).send({ error: '"email" must be a string' });
    const sent = await mfa.sendVerificationCode(user(req), {
      channel: 'email',
      destination: email,
      purpose: 'enroll',
    });
    return reply.code(sent.ok ? 200 : 429).send(sent);
  });
  app.post('/mfa/verification/check', async (req, reply) => {
    const code = text(req, 'code');
    if (code === undefined) return reply.code(400).send({ error: '"code" must be a string' });
    const checked = await mfa.checkVerificationCode(user(req), code, { purpose: 'enroll' });
    return reply.code(checked.ok ? 200 : 401).send(checked);
  });
  app.post('/mfa/enroll', async (req, reply) => {
    const proof = text(req, 'proof');
    const begun = await mfa
      .beginEnrollment(user(req), { accountName: user(req), ...(proof ? { proof } : {}) })
      .catch((error: unknown) => errorAnswer(error));
    if ('status' in begun) return reply.code(begun.status).send(begun.body);
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
