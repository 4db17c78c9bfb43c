// Bundles a test script for a browser or a Worker as a user's bundler would:
// `totpkit` and `totpkit/*` resolve through package.json `exports` under the
// given condition. The file the map names (dist/… or dist/web/…) is read back
// to its source and built as dist/web/ is (with the web-variant plugin), so
// the test needs no prior `npm run build` and runs the current code; an
// exports map that gives the condition the Node build (dist/) fails the bundle. No Node polyfills: a `node:` import or a Node built-in fails the
// bundle, and the metafile says which files went in.
import { build, type Metafile, type Plugin } from 'esbuild';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { entry, webVariants } from '../../tsup.config.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const manifest = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
  exports: Record<string, string | Record<string, string>>;
};

/** The file `exports[subpath]` names under `condition` (the first match, as in Node). */
export function exportTarget(subpath: string, condition: string): string {
  const target = manifest.exports[subpath];
  if (target === undefined) throw new Error(`package.json exports has no "${subpath}"`);
  if (typeof target === 'string') return target;
  for (const [name, path] of Object.entries(target)) {
    if (name === condition || name === 'default') return path;
  }
  throw new Error(`exports["${subpath}"] has no "${condition}" or "default"`);
}

/** Resolves `totpkit*` through the exports map, back to the source of that build. */
function packageByExports(condition: string, web: { files: string[] }): Plugin {
  return {
    name: 'totpkit-by-exports',
    setup(b) {
      b.onResolve({ filter: /^totpkit(\/.*)?$/ }, (args) => {
        const subpath = args.path === 'totpkit' ? '.' : `./${args.path.slice('totpkit/'.length)}`;
        const target = exportTarget(subpath, condition);
        const match = /^\.\/dist\/(web\/)?([a-z]+)\.js$/.exec(target);
        const source = match && (entry as Record<string, string>)[match[2]!];
        if (!match || source === undefined) {
          return { errors: [{ text: `exports["${subpath}"] → ${target}: not a built entry` }] };
        }
        if (match[1] === undefined) {
          return {
            errors: [
              { text: `exports["${subpath}"] gives "${condition}" the Node build ${target}` },
            ],
          };
        }
        web.files.push(target);
        return { path: `${root}${source}` };
      });
    },
  };
}

/** A bundle, the exports targets it went through, and the files in it. */
export interface WebBundle {
  /** The bundled ES module. */
  code: string;
  /** The `exports` targets that were under `dist/web/`. */
  webTargets: string[];
  /** Every input file, relative to the repository. */
  inputs: string[];
}

/**
 * Bundles `entryFile` for `platform` resolving the package with `condition`
 * (`browser` or `workerd`). Rejects if anything needs a Node built-in.
 */
export async function bundleForWeb(
  entryFile: string,
  condition: 'browser' | 'workerd',
): Promise<WebBundle> {
  const web = { files: [] as string[] };
  const result = await build({
    entryPoints: [entryFile],
    bundle: true,
    write: false,
    metafile: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: [condition, 'worker', 'browser'],
    // Every `totpkit*` import is checked above to land in dist/web/, so the
    // whole graph is built as that build is.
    plugins: [packageByExports(condition, web), webVariants()],
    logLevel: 'silent',
  });
  const metafile: Metafile = result.metafile;
  return {
    code: result.outputFiles[0]!.text,
    webTargets: web.files,
    inputs: Object.keys(metafile.inputs),
  };
}
