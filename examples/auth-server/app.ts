// The example auth server's request handler: password sign-up and sign-in,
// TOTP enrollment bound by two consecutive codes, the TOTP step at sign-in,
// recovery codes and resync — on node:http with plain HTML forms.
//
// This file is the plumbing: the session of each request (checked against
// the account's security generation), the CSRF check, the per-IP limits,
// and the one error boundary. The routes are in routes.ts, the pages in
// pages.ts, the words in messages.ts.
//
// What a real app must keep from this: CSRF tokens on every form, session ids
// rotated when the user's privilege changes, every other session ended when
// two-factor sign-in changes (and sessions bound to a generation that the
// change bumps, so that none can outlive it), per-IP limits on password and
// code checks, Cache-Control: no-store on pages that show secrets,
// re-authentication with password and code before weakening 2FA, one error
// boundary around every request, and logs that carry no secret, code or
// password.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { MFA, SecretCipher } from 'totpkit';
import type { Accounts, Session } from './accounts.ts';
import { HTTPError, send, type Context } from './context.ts';
import { html, page, STYLE } from './html.ts';
import {
  addressKey,
  clientAddress,
  DEFAULT_PER_IP_LIMITS,
  RateLimiter,
  type PerIPLimits,
} from './limits.ts';
import { perIPLimitMessage } from './messages.ts';
import { createPages } from './pages.ts';
import { PasswordHasher, ServerBusyError, type PasswordHashParams } from './password.ts';
import { createRoutes } from './routes.ts';

export interface AppOptions {
  mfa: MFA;
  accounts: Accounts;
  /** Seals the secret of an enrollment in progress in the session row (the MFA's own cipher will do). */
  cipher: SecretCipher;
  /** Mark cookies `Secure` (and name them `__Host-sid`): set it whenever the site is served over HTTPS. */
  secureCookies?: boolean;
  /** scrypt cost for passwords; tests lower it. */
  passwordParams?: PasswordHashParams;
  /** Password checks that may wait for the hasher before sign-ins get 503 (default 16). */
  maxPasswordChecksWaiting?: number;
  /** Per-IP limits on password and code checks (each defaults to DEFAULT_PER_IP_LIMITS). */
  perIP?: Partial<PerIPLimits>;
  /** The clock of the per-IP limits (Unix ms); tests pass their own. Default Date.now. */
  clock?: () => number;
  /** Where request lines go; never given a body, a code or a secret. Default console.log. */
  log?: (line: string) => void;
}

const MAX_BODY_BYTES = 8 * 1024;

export function createApp(options: AppOptions): RequestListener {
  const { mfa, accounts, cipher } = options;
  const secure = options.secureCookies ?? false;
  const log = options.log ?? ((line: string) => console.log(line));
  const cookieName = secure ? '__Host-sid' : 'sid';
  const perIP = { ...DEFAULT_PER_IP_LIMITS, ...options.perIP };
  const clock = options.clock ?? Date.now;
  const limiters = {
    signIn: new RateLimiter({ perMinute: perIP.signInsPerMinute, clock }),
    code: new RateLimiter({ perMinute: perIP.codesPerMinute, clock }),
  };

  function setSessionCookie(res: ServerResponse, session: Session): void {
    res.setHeader(
      'Set-Cookie',
      `${cookieName}=${session.token}; Path=/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`,
    );
  }

  const routes = createRoutes({
    mfa,
    accounts,
    cipher,
    passwords: new PasswordHasher(options.passwordParams, options.maxPasswordChecksWaiting ?? 16),
    pages: createPages({ mfa, accounts }),
    async rotate(ctx, owner, stage, flash = null) {
      await accounts.deleteSession(ctx.session.token);
      ctx.session = await accounts.createSession(owner, stage, flash);
      setSessionCookie(ctx.res, ctx.session);
    },
    async endOtherSessions(ctx, flash = null) {
      // Bumps the account's generation (after the change: the service call
      // has returned), which ends every session made under the old one.
      const generation = await accounts.endUserSessions(ctx.user.id);
      ctx.owner = { userId: ctx.user.id, generation };
      ctx.session = await accounts.createSession(ctx.owner, 'signed_in', flash);
      setSessionCookie(ctx.res, ctx.session);
    },
    limit(ctx, kind) {
      const waitMs = limiters[kind].take(ctx.client);
      if (waitMs > 0) {
        throw new HTTPError(429, perIPLimitMessage(waitMs), Math.ceil(waitMs / 1000));
      }
    },
  });

  /**
   * Reads a form (urlencoded) or JSON object body of text fields. Anything
   * else is a 4xx with a message: never a 500.
   */
  async function readBody(req: IncomingMessage): Promise<Map<string, string>> {
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded' && type !== 'application/json') {
      throw new HTTPError(415, 'Send the form as application/x-www-form-urlencoded.');
    }
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) throw new HTTPError(413, 'The form is too large.');
      chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (type === 'application/x-www-form-urlencoded') {
      const fields = new Map<string, string>();
      // The first value of a repeated name, as URLSearchParams.get does.
      for (const [name, value] of new URLSearchParams(text)) {
        if (!fields.has(name)) fields.set(name, value);
      }
      return fields;
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new HTTPError(400, 'The body is not valid JSON.');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new HTTPError(400, 'The body must be a JSON object.');
    }
    const fields = new Map<string, string>();
    for (const [name, value] of Object.entries(body)) {
      // A code sent as a number (123456) would lose leading zeros: refuse it.
      if (typeof value !== 'string') {
        throw new HTTPError(400, `The field "${name.slice(0, 40)}" must be text (a JSON string).`);
      }
      fields.set(name, value);
    }
    return fields;
  }

  function sessionToken(req: IncomingMessage): string | undefined {
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const [name, value] = part.trim().split('=');
      if (name === cookieName && value) return value;
    }
    return undefined;
  }

  /** Constant-time comparison; timingSafeEqual throws on unequal byte lengths, so check those first. */
  function sameToken(a: string, b: string): boolean {
    const x = Buffer.from(a, 'utf8');
    const y = Buffer.from(b, 'utf8');
    return x.length === y.length && timingSafeEqual(x, y);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (req.method === 'GET' && path === '/style.css') {
      res.setHeader('Content-Type', 'text/css; charset=utf-8');
      res.setHeader('Cache-Control', 'public, max-age=3600');
      res.end(STYLE);
      return;
    }
    const handler = routes[`${req.method} ${path}`];
    if (handler === undefined) throw new HTTPError(404, 'There is no page here.');

    // A session that ended (signed out, expired, or made before a change to
    // two-factor sign-in bumped the account's generation) is not found.
    const token = sessionToken(req);
    let session = token === undefined ? null : await accounts.getSession(token);
    let form = new Map<string, string>();
    if (req.method === 'POST') {
      // A form post must come from this site's own page: the session's CSRF
      // token, and (where the browser sends it) a same-origin Origin header.
      const origin = req.headers.origin;
      const host = req.headers.host;
      const sameOrigin =
        origin === undefined ||
        (host !== undefined && (origin === `http://${host}` || origin === `https://${host}`));
      const posted = await readBody(req);
      if (session === null || !sameOrigin || !sameToken(posted.get('csrf') ?? '', session.csrf)) {
        throw new HTTPError(403, 'This form has expired. Go back and try again.');
      }
      form = posted;
    }
    if (session === null) {
      session = await accounts.createSession(null, 'anonymous');
      setSessionCookie(res, session);
    }
    const user = session.userId === null ? null : await accounts.findUser(session.userId);
    const client = addressKey(clientAddress(req, perIP.trustProxy));
    const ctx: Context = { req, res, session, user, form, client };
    await handler(ctx);
  }

  /** The request target's path, or null if it does not parse. */
  function pathOf(target: string | undefined): string | null {
    try {
      return new URL(target ?? '/', 'http://localhost').pathname;
    } catch {
      return null;
    }
  }

  /** Sends a refusal page (or a plain line to a client that did not ask for HTML). */
  function refuse(res: ServerResponse, status: number, message: string): void {
    if (res.headersSent) return void res.end();
    const title =
      status === 404 ? 'Not found' : status >= 500 ? 'Something went wrong' : 'Please try again';
    send(res, status, page({ title }, html`<p>${message} <a href="/">Home</a></p>`));
  }

  // The one error boundary: everything a request does runs inside it, so a
  // request can get a 4xx or a 500, but cannot stop the server.
  return (req, res) => {
    const started = Date.now();
    const path = pathOf(req.url);
    res.setHeader(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // Not 'no-referrer': browsers then send `Origin: null` on form posts, and the
    // same-origin check needs the real origin.
    res.setHeader('Referrer-Policy', 'same-origin');
    // Pages show secrets, codes and account state: never cache them.
    res.setHeader('Cache-Control', 'no-store');
    const shown = path ?? '(a target that is not a URL)';
    Promise.resolve()
      .then(() => {
        if (path === null) throw new HTTPError(400, 'That address is not valid.');
        return handle(req, res, path);
      })
      .catch((error: unknown) => {
        // The client went away, or a timeout cut the request: nobody to answer.
        // (Logged as 499, nginx's "client closed request".)
        if (!res.headersSent && (res.socket?.destroyed ?? true)) return void (res.statusCode = 499);
        if (error instanceof HTTPError) {
          if (error.retryAfterSeconds !== undefined && !res.headersSent) {
            res.setHeader('Retry-After', String(error.retryAfterSeconds));
          }
          return refuse(res, error.status, error.message);
        }
        if (error instanceof ServerBusyError) {
          res.setHeader('Retry-After', String(error.retryAfterSeconds));
          return refuse(res, 503, 'The server is busy. Please try again in a few seconds.');
        }
        // The error's name and message only: a stack or a request dump could carry form data.
        log(
          `error on ${req.method} ${shown}: ${error instanceof Error ? `${error.name}: ${error.message}` : 'unknown'}`,
        );
        refuse(res, 500, 'Please try again.');
      })
      .catch(() => res.destroy())
      .finally(() => log(`${req.method} ${shown} ${res.statusCode} ${Date.now() - started}ms`));
  };
}
