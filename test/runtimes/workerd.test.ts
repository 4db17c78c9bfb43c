// The package in workerd, Cloudflare's Workers runtime (from the npm package
// @cloudflare/workerd-linux-64), without the nodejs_compat flag: a Worker
// bundled with esbuild through the `workerd` condition runs the primitives and
// the service (createMFA, MemoryStore, AES-GCM cipher) through enrollment,
// sign-in, replay and recovery codes, with the default policy and with the
// Workers Free setting of docs/runtimes.md. CPU figures: npm run bench:workerd.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTOTP, decodeBase32 } from 'totpkit';
import { bundleForWeb, type WebBundle } from '../helpers/web-bundle.ts';
import { begin, call, type RecoveryPolicy } from '../helpers/worker-client.ts';
import { requireWorkerd, startWorker, type RunningWorker } from '../helpers/workerd.ts';
import { runPrimitives } from './fixtures/primitives.ts';

const haveWorkerd = requireWorkerd();
const entry = fileURLToPath(new URL('./fixtures/worker.ts', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));
const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);

/** docs/runtimes.md's setting for the Workers Free plan (10 ms of CPU per request). */
const WORKERS_FREE: RecoveryPolicy = { count: 5, N: 2 ** 10, r: 1 };
const DEFAULT: RecoveryPolicy = { count: 10, N: 2 ** 14, r: 8 };

describe('the Worker bundle', () => {
  let bundle: WebBundle;
  beforeAll(async () => {
    bundle = await bundleForWeb(entry, 'workerd');
  });

  it('takes the web build through the workerd condition, and every web variant', () => {
    expect(new Set(bundle.webTargets)).toEqual(
      new Set(['./dist/web/index.js', './dist/web/qr.js']),
    );
    expect(bundle.inputs.filter((file) => /^node:|thirty-two/.test(file))).toEqual([]);
    // No module whose web variant exists went in as its Node self.
    const nodeOnly = bundle.inputs.filter(
      (file) => /^src\/.*\/?_[^/]*\.ts$/.test(file) && !file.endsWith('.web.ts'),
    );
    for (const file of nodeOnly) {
      expect(existsSync(`${root}${file.replace(/\.ts$/, '.web.ts')}`), file).toBe(false);
    }
    expect(bundle.inputs).toContain('src/_base32codec.web.ts');
  });
});

describe.skipIf(!haveWorkerd)('totpkit in workerd', () => {
  let worker: RunningWorker;
  beforeAll(async () => {
    worker = await startWorker((await bundleForWeb(entry, 'workerd')).code);
  });
  afterAll(async () => {
    await worker?.stop();
  });

  it('runs the primitives as Node does', async () => {
    const results = await call(worker.url, '/primitives', {});
    expect(results.rfc6238).toEqual(['94287082', '46119246', '90693936']);
    expect(results).toEqual(JSON.parse(JSON.stringify(runPrimitives())));
  });

  describe.each([
    ['the default policy', DEFAULT, '$scrypt$ln=14,r=8,p=1'],
    ['the Workers Free setting', WORKERS_FREE, '$scrypt$ln=10,r=1,p=1'],
  ])('createMFA with MemoryStore under %s', (_, policy, kdf) => {
    const user = `user-${policy.N}-${policy.r}`;
    const at = (now: number) => ({ user, now, ...policy });

    it('binds a factor, signs in once per code, and takes each recovery code once', async () => {
      const { secret, uri, first, second } = await begin(worker.url, user, NOW, policy);
      expect(uri).toContain(`secret=${secret}`);
      const completed = await call(worker.url, '/complete', { ...at(NOW), first, second });
      // JSON leaves out the non-enumerable recovery codes; the Worker names them.
      expect(completed.result).toEqual({
        ok: true,
        factorId: expect.any(String),
        clockOffsetSeconds: 0,
        parameters: { algorithm: 'SHA1', digits: 6, period: 30 },
        // The first factor moved the security generation from 0 to 1.
        generation: 1,
      });
      const { factorId } = completed.result as { factorId: string };
      const codes = completed.recoveryCodes as string[];
      expect(codes).toHaveLength(policy.count);
      expect(new Set(codes).size).toBe(policy.count);
      for (const code of codes)
        expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){2}$/);
      expect(completed.kdf).toBe(kdf);

      const later = NOW + 60_000;
      const code = generateTOTP(decodeBase32(secret), { now: later });
      expect(await call(worker.url, '/verify', { ...at(later), code })).toEqual({
        ok: true,
        factorId,
        generation: 1,
      });
      expect(await call(worker.url, '/verify', { ...at(later), code })).toMatchObject({
        ok: false,
        reason: 'replayed',
      });
      const recovery = codes[0] as string;
      expect(await call(worker.url, '/recover', { ...at(later), code: recovery })).toEqual({
        ok: true,
        remaining: policy.count - 1,
        generation: 1,
      });
      expect(await call(worker.url, '/recover', { ...at(later), code: recovery })).toMatchObject({
        ok: false,
        reason: 'mismatch',
      });
      // Typed in lower case, without dashes: still a code.
      const typed = (codes[policy.count - 1] as string).replaceAll('-', '').toLowerCase();
      expect(await call(worker.url, '/recover', { ...at(later), code: typed })).toEqual({
        ok: true,
        remaining: policy.count - 2,
        generation: 1,
      });
      expect(await call(worker.url, '/status', at(later))).toMatchObject({
        state: 'active',
        recoveryCodesRemaining: policy.count - 2,
      });
    });
  });
});
