import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    qr: 'src/qr.ts',
    cli: 'src/cli.ts',
    postgres: 'src/store/postgres.ts',
    redis: 'src/store/redis.ts',
    testing: 'src/testing.ts',
  },
  format: ['esm'],
  target: 'node20',
  dts: true,
  sourcemap: true,
  clean: true,
  splitting: true,
  treeshake: true,
});
