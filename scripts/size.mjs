#!/usr/bin/env node
// Bundle-size budgets: what an application pays for totpkit after bundling.
// Measured as a user gets it: the package is packed (`npm pack`, from dist/,
// rebuilt first if src/ is newer), unpacked into a scratch node_modules, and
// `import { … } from 'totpkit'` is bundled with esbuild — minified,
// tree-shaken, ESM — then gzipped at level 9 (node:zlib); node: builtins and
// the package's dependencies' Node built-ins stay external.
//
// Two builds, as package.json's export conditions give them (DESIGN: "how a
// module differs between Node and web builds"): the Node build (default
// condition), and the web build (`browser` condition, dist/web/). They differ
// in the hash kernels: Node gets an unrolled SHA-1 and SHA-512 in a small
// WebAssembly loop, browsers and Workers the compact loop kernels. The
// budgets of issue 15 (10 KB for generateTOTP + verifyTOTP, no bigger than
// otpauth's 9.6 KB and otplib's 10.8 KB browser bundles; 22 KB for the root
// entry) apply to the web build, which is what a browser downloads; issue 22
// sets 15 KB for generateTOTP + verifyTOTP on the Node build.
//
// It also prints the speed/size curve: each kernel variant's size, bundled
// from src/ (the variants are not packages), against its speed, as
// `npm run bench` last measured it (bench/kernels.json).
//
// Exits 1 if a bundle is over its budget.
//
//   npm run size                 (add -- --json for machine-readable output)
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const json = process.argv.includes('--json');

/** The web build's resolution: `./_name.ts` to `./_name.web.ts` where that exists. */
// The same rule as tsup.config.ts's webVariants().
const webVariants = {
  name: 'web-variants',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\/(.*\/)?_[^/]*\.ts$/ }, ({ path, resolveDir }) => {
      if (path.endsWith('.web.ts')) return undefined;
      const web = resolve(resolveDir, path.replace(/\.ts$/, '.web.ts'));
      return existsSync(web) ? { path: web } : undefined;
    });
  },
};

const GENERATE_VERIFY = "export { generateTOTP, verifyTOTP } from 'totpkit';";
const ROOT = "export * from 'totpkit';";
const GENERATE_VERIFY_SRC = "export { generateTOTP, verifyTOTP } from './src/index.ts';";
const STORE = "export * from 'totpkit/store';";

/** The newest modification time under `dir`, in ms. */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile())
      latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

/** Packs the package as `npm publish` would and unpacks it into a scratch node_modules. */
function packed() {
  const dist = join(root, 'dist', 'index.js');
  if (!existsSync(dist) || statSync(dist).mtimeMs < newest(join(root, 'src'))) {
    if (!json) console.log('dist/ is older than src/: building it (npx tsup)…');
    execFileSync('npx', ['tsup', '--silent'], { cwd: root, stdio: 'inherit' });
  }
  const scratch = mkdtempSync(join(tmpdir(), 'totpkit-size-'));
  const tarball = execFileSync(
    'npm',
    ['pack', '--ignore-scripts', '--silent', '--pack-destination', scratch],
    { cwd: root, encoding: 'utf8' },
  ).trim();
  const into = join(scratch, 'node_modules', 'totpkit');
  mkdirSync(into, { recursive: true });
  execFileSync('tar', ['xzf', join(scratch, tarball), '-C', into, '--strip-components=1']);
  return scratch;
}

const scratch = packed();
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

/**
 * Budgets in bytes of gzipped output (1 KB = 1,000 bytes, the stricter
 * reading): each sits just above what it holds, measured from the packed
 * package, so that growth fails CI; `target` is the issue's figure.
 */
const ENTRIES = [
  {
    // Issue 15's target: 10 KB. Measured from the package since issue 22
    // (4.9 KB from src/ had hidden @noble/hashes' scrypt, 9.5 KB, which a
    // bundler kept for a top-level Object.freeze; it is marked pure now).
    name: 'generateTOTP + verifyTOTP, web build',
    source: GENERATE_VERIFY,
    web: true,
    target: 10_000,
    budget: 5_600,
  },
  {
    // Issue 15's target is 22 KB; the root has grown with the release's other
    // work (several factors per user, diagnosis, hardening, the @scure/base
    // codec) while @noble/hashes stays whole for the service's scrypt; then
    // with the store contract 0.3 (issue 19) and the import options (issue 23);
    // then with the account state of issues 20 and 21 (verification codes,
    // proofs, remembered devices, admin reset, request context: 29.85 KB →
    // 37.81 KB, about 22 KB minified of new src/mfa modules).
    name: "everything ('totpkit' root entry), web build",
    source: ROOT,
    web: true,
    target: 22_000,
    budget: 38_000,
  },
  {
    // The store-adapter helpers (attemptDelayMs …): runtime code a custom
    // store bundles. A ceiling, so that growth fails.
    name: "store-adapter helpers ('totpkit/store' entry), web build",
    source: STORE,
    web: true,
    budget: 1_000,
  },
  {
    // Issue 22's target: 15 KB (0.2, packed: 44.6 KB, with an unrolled
    // SHA-256 and a 31 KB WebAssembly SHA-512). 1.6 KB of it is SHA-1's
    // unrolled key set-up, which keeps a login (a key per call) 3× 0.1's.
    name: 'generateTOTP + verifyTOTP, Node build',
    source: GENERATE_VERIFY,
    web: false,
    target: 15_000,
    budget: 15_000,
  },
  {
    // 40.08 KB → 48.20 KB with issues 20 and 21 (see the web build above).
    name: "everything ('totpkit' root entry), Node build",
    source: ROOT,
    web: false,
    budget: 48_400,
  },
];

/**
 * The speed/size curve: generateTOTP + verifyTOTP with each kernel variant.
 * `kernels` is the key in bench/kernels.json.
 */
const CURVE = [
  {
    name: 'totpkit 0.1 core (@noble/hashes HMAC, states cloned per step)',
    source: "export { generateTOTP, verifyTOTP } from './test/reference/totp-0.1.ts';",
    web: false,
    kernels: 'totpkit 0.1',
    src: true,
  },
  {
    name: 'compact kernels (loops, W array; the web build)',
    source: GENERATE_VERIFY_SRC,
    web: true,
    kernels: 'compact',
    src: true,
  },
  {
    name: 'unrolled SHA-1 + WebAssembly SHA-512 loop + compact SHA-256 (the Node build)',
    source: GENERATE_VERIFY_SRC,
    web: false,
    kernels: 'node',
    src: true,
  },
];

async function measure(source, web, src = false) {
  const result = await build({
    stdin: {
      contents: source,
      resolveDir: src ? root : scratch,
      loader: 'ts',
      sourcefile: 'entry.ts',
    },
    bundle: true,
    minify: true,
    treeShaking: true,
    format: 'esm',
    // The package's dependencies resolve from the project's node_modules.
    nodePaths: [join(root, 'node_modules')],
    platform: web && !src ? 'browser' : 'node',
    target: web && !src ? 'es2022' : 'node20',
    // node: built-ins stay external in both builds (the web build has none).
    external: ['node:*'],
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: web && src ? [webVariants] : [],
  });
  const code = result.outputFiles[0].contents;
  // Which packages made it in, largest first: the answer to "why did it grow?".
  const byPackage = new Map();
  for (const [file, { bytesInOutput }] of Object.entries(
    Object.values(result.metafile.outputs)[0].inputs,
  )) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
    const owner =
      match && match[1] !== 'totpkit'
        ? match[1]
        : /^(src|test)\//.test(file) || match
          ? 'totpkit'
          : null;
    if (owner) byPackage.set(owner, (byPackage.get(owner) ?? 0) + bytesInOutput);
  }
  return {
    minified: code.length,
    gzipped: gzipSync(code, { level: 9 }).length,
    inputs: [...byPackage].sort((a, b) => b[1] - a[1]),
  };
}

const results = [];
for (const entry of ENTRIES)
  results.push({ ...entry, ...(await measure(entry.source, entry.web)) });

let speeds = null;
try {
  speeds = JSON.parse(readFileSync(new URL('../bench/kernels.json', import.meta.url), 'utf8'));
} catch {
  // No bench run yet: sizes only.
}
const curve = [];
for (const point of CURVE) {
  curve.push({
    ...point,
    ...(await measure(point.source, point.web, point.src)),
    speed: speeds?.ratios?.[point.kernels] ?? null,
  });
}

if (json) {
  console.log(JSON.stringify({ results, curve, measured: speeds?.measured ?? null }, null, 2));
} else {
  const kb = (n) => `${(n / 1000).toFixed(2)} KB`;
  console.log(
    'The packed package (npm pack), bundled with esbuild --bundle --minify, gzip -9 (1 KB = 1,000 bytes)\n',
  );
  for (const r of results) {
    const verdict = r.gzipped <= r.budget ? 'ok  ' : 'OVER';
    console.log(
      `${verdict} ${r.name}: ${kb(r.gzipped)} gzipped (budget ${kb(r.budget)}` +
        `${r.target ? `; target ${kb(r.target)} ${r.gzipped <= r.target ? 'met' : 'MISSED'}` : ''}), ` +
        `${kb(r.minified)} minified`,
    );
    console.log(
      `     ${r.inputs.map(([name, bytes]) => `${name} ${kb(bytes)}`).join(', ')} (minified, before gzip)`,
    );
  }
  console.log(
    `\nSpeed/size curve, generateTOTP + verifyTOTP: size here; speed (kernel steps/s ÷ totpkit 0.1, ` +
      `per algorithm) from ${speeds ? `npm run bench, ${speeds.measured}` : 'no bench run yet (run npm run bench)'}`,
  );
  for (const p of curve) {
    const speed = p.speed
      ? Object.entries(p.speed)
          .map(([algorithm, r]) => `${algorithm} ${r.toFixed(2)}×`)
          .join(', ')
      : 'not measured';
    console.log(`  ${kb(p.gzipped).padStart(9)}  ${speed.padEnd(36)} ${p.name}`);
  }
}
const over = results.filter((r) => r.gzipped > r.budget);
if (over.length > 0) {
  console.error(`\nOver budget: ${over.map((r) => r.name).join(', ')}`);
  process.exit(1);
}
