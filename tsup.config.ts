import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Plugin } from 'esbuild';
import { defineConfig, type Options } from 'tsup';

/** The package's entry points (vitest.config.ts maps `totpkit*` to these). */
export const entry = {
  index: 'src/index.ts',
  qr: 'src/qr.ts',
  cli: 'src/cli.ts',
  store: 'src/store.ts',
  postgres: 'src/store/postgres.ts',
  redis: 'src/store/redis.ts',
  sqlite: 'src/store/sqlite.ts',
  mysql: 'src/store/mysql.ts',
  testing: 'src/testing.ts',
};

/**
 * The web build's module swap: a relative import of `./_name.ts` resolves to
 * `./_name.web.ts` when that sibling exists (same exports, no Node built-ins,
 * no `Buffer`). `dist/web/` is built with it; package.json gives that build to
 * the `browser`, `workerd` and `worker` conditions.
 */
export function webVariants(): Plugin {
  return {
    name: 'totpkit-web-variants',
    setup(build) {
      build.onResolve({ filter: /^\.\.?\/(.*\/)?_[^/]*\.ts$/ }, (args) => {
        if (args.path.endsWith('.web.ts')) return undefined;
        const web = resolve(args.resolveDir, args.path.replace(/\.ts$/, '.web.ts'));
        return existsSync(web) ? { path: web } : undefined;
      });
    },
  };
}

const common: Options = {
  format: ['esm'],
  sourcemap: true,
  splitting: true,
  treeshake: true,
};

export default defineConfig([
  {
    ...common,
    entry,
    target: 'node20',
    dts: true,
    // dist/web/ is the other build's (they run at the same time).
    clean: ['!web/**'],
  },
  {
    ...common,
    entry: Object.fromEntries(Object.entries(entry).filter(([name]) => name !== 'cli')),
    outDir: 'dist/web',
    platform: 'browser',
    target: 'es2022',
    clean: true,
    esbuildPlugins: [webVariants()],
  },
]);
