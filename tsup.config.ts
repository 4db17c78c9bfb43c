import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', qr: 'src/qr.ts', cli: 'src/cli.ts' },
  format: ['esm'],
  target: 'node20',
  dts: true,
  sourcemap: true,
  clean: true,
  splitting: true,
  treeshake: true,
});
