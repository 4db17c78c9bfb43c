#!/usr/bin/env node
// Bundle-size budgets: what an application pays for totpkit after bundling.
// Each entry is bundled from the source root (src/index.ts) with esbuild —
// minified, tree-shaken, ESM — then gzipped at level 9 (node:zlib); node:
// builtins stay external.
//
// Two builds, as package.json's export conditions give them (DESIGN: "how a
// module differs between Node and web builds"): the Node build, and the web
// build, where `./_name.ts` resolves to a sibling `./_name.web.ts` when there
// is one. They differ in the hash kernels: Node gets the unrolled SHA-1 and
// SHA-256 and SHA-512 in WebAssembly (fast, large), browsers and Workers the
// compact loop kernels. The budgets of issue 15 (10 KB for generateTOTP +
// verifyTOTP, no bigger than otpauth's 9.6 KB and otplib's 10.8 KB browser
// bundles; 22 KB for the root entry) apply to the web build, which is what a
// browser downloads; the Node build has ceilings only, so that growth fails CI.
//
// It also prints the speed/size curve: each kernel variant's size against its
// speed, as `npm run bench` last measured it (bench/kernels.json).
//
// Exits 1 if a bundle is over its budget.
//
//   npm run size                 (add -- --json for machine-readable output)
import { build } from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
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

const GENERATE_VERIFY = "export { generateTOTP, verifyTOTP } from './src/index.ts';";
const ROOT = "export * from './src/index.ts';";
const STORE = "export * from './src/store.ts';";

/** Budgets in bytes of gzipped output (1 KB = 1,000 bytes, the stricter reading). */
const ENTRIES = [
  {
    name: 'generateTOTP + verifyTOTP, web build',
    source: GENERATE_VERIFY,
    web: true,
    target: 10_000,
    budget: 10_000,
  },
  {
    // Issue 15's target is 22 KB; the root has grown with the release's other
    // work (several factors per user, diagnosis, hardening, the @scure/base
    // codec) while @noble/hashes stays whole for the service's scrypt. The
    // ceiling sits just above the size of what it holds, so growth still
    // fails: 25.9 KB, then 27.4 KB once enrollment diagnosis reached the
    // service (issue 12: the skew search, app parameters, stale QR codes).
    name: "everything ('totpkit' root entry), web build",
    source: ROOT,
    web: true,
    target: 22_000,
    budget: 27_800,
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
    name: 'generateTOTP + verifyTOTP, Node build',
    source: GENERATE_VERIFY,
    web: false,
    budget: 41_000,
  },
  {
    name: "everything ('totpkit' root entry), Node build",
    source: ROOT,
    web: false,
    budget: 63_500,
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
  },
  {
    name: 'compact kernels (loops, W array; the web build)',
    source: GENERATE_VERIFY,
    web: true,
    kernels: 'compact',
  },
  {
    name: 'unrolled SHA-1/SHA-256 + WebAssembly SHA-512 (the Node build)',
    source: GENERATE_VERIFY,
    web: false,
    kernels: 'unrolled',
  },
];

async function measure(source, web) {
  const result = await build({
    stdin: { contents: source, resolveDir: root, loader: 'ts', sourcefile: 'entry.ts' },
    bundle: true,
    minify: true,
    treeShaking: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: web ? [webVariants] : [],
  });
  const code = result.outputFiles[0].contents;
  // Which packages made it in, largest first: the answer to "why did it grow?".
  const byPackage = new Map();
  for (const [file, { bytesInOutput }] of Object.entries(
    Object.values(result.metafile.outputs)[0].inputs,
  )) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
    const owner = match ? match[1] : /^(src|test)\//.test(file) ? 'totpkit (src)' : null;
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
    ...(await measure(point.source, point.web)),
    speed: speeds?.ratios?.[point.kernels] ?? null,
  });
}

if (json) {
  console.log(JSON.stringify({ results, curve, measured: speeds?.measured ?? null }, null, 2));
} else {
  const kb = (n) => `${(n / 1000).toFixed(2)} KB`;
  console.log('esbuild --bundle --minify, gzip -9 (1 KB = 1,000 bytes)\n');
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
