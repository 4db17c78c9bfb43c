#!/usr/bin/env node
// Bundle-size budgets: what an application pays for totpkit after bundling.
// Each entry is bundled from the source root (src/index.ts) with esbuild —
// minified, tree-shaken, ESM — then gzipped at level 9 (node:zlib). Bundles
// target platform "node": thirty-two, the base32 dependency, uses Node's
// Buffer, so a browser bundle would pull a Buffer polyfill in; node: builtins
// stay external.
//
// Each entry has a `target` (issue 6's goal) and a `budget` (the ceiling CI
// enforces). The targets for the first two entries are NOT met and cannot be
// with the current API: the primitives choose the hash at run time, so SHA-1,
// SHA-256, SHA-512 and HMAC are always bundled (5.68 KB gzipped on their own).
// The budgets sit just above today's sizes so that growth fails CI, and the
// output says plainly which targets are missed. Exits 1 if a bundle is over
// its budget.
//
//   npm run size                 (add -- --json for machine-readable output)
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const json = process.argv.includes('--json');

/** Targets and budgets in bytes of gzipped output (1 KB = 1,000 bytes, the stricter reading). */
const ENTRIES = [
  {
    name: 'generateTOTP + verifyTOTP',
    source: "export { generateTOTP, verifyTOTP } from './src/index.ts';",
    target: 3_500,
    budget: 8_000,
  },
  {
    name: "everything ('totpkit' root entry)",
    source: "export * from './src/index.ts';",
    target: 10_000,
    budget: 20_000,
  },
  {
    // No budget: the floor under the first entry, since the primitives take
    // the algorithm at run time and so always carry all three hashes.
    name: '@noble/hashes alone (SHA-1, SHA-256, SHA-512, HMAC)',
    source:
      "export { sha1 } from '@noble/hashes/legacy.js'; export { sha256, sha512 } from '@noble/hashes/sha2.js'; export { hmac } from '@noble/hashes/hmac.js';",
    target: Infinity,
    budget: Infinity,
  },
];

async function measure(source) {
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
  });
  const code = result.outputFiles[0].contents;
  // Which packages made it in, largest first: the answer to "why did it grow?".
  const byPackage = new Map();
  for (const [file, { bytesInOutput }] of Object.entries(
    Object.values(result.metafile.outputs)[0].inputs,
  )) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
    const owner = match ? match[1] : file.startsWith('src/') ? 'totpkit (src)' : null;
    if (owner) byPackage.set(owner, (byPackage.get(owner) ?? 0) + bytesInOutput);
  }
  return {
    minified: code.length,
    gzipped: gzipSync(code, { level: 9 }).length,
    inputs: [...byPackage].sort((a, b) => b[1] - a[1]),
  };
}

const results = [];
for (const entry of ENTRIES) results.push({ ...entry, ...(await measure(entry.source)) });

if (json) {
  console.log(JSON.stringify(results, null, 2));
} else {
  const kb = (n) => `${(n / 1000).toFixed(2)} KB`;
  console.log('esbuild --bundle --minify --platform=node, gzip -9 (1 KB = 1,000 bytes)\n');
  for (const r of results) {
    const verdict = r.budget === Infinity ? '    ' : r.gzipped <= r.budget ? 'ok  ' : 'OVER';
    const budget =
      r.budget === Infinity
        ? 'no budget'
        : `budget ${kb(r.budget)}; target ${kb(r.target)} ${r.gzipped <= r.target ? 'met' : 'MISSED'}`;
    console.log(
      `${verdict} ${r.name}: ${kb(r.gzipped)} gzipped (${budget}), ${kb(r.minified)} minified`,
    );
    console.log(
      `     ${r.inputs.map(([name, bytes]) => `${name} ${kb(bytes)}`).join(', ')} (minified, before gzip)`,
    );
  }
}
const over = results.filter((r) => r.gzipped > r.budget);
if (over.length > 0) {
  console.error(`\nOver budget: ${over.map((r) => r.name).join(', ')}`);
  process.exit(1);
}
