// Loads the web build's module variants in Node, for benchmarks: registers a
// resolve hook that turns an import of `./_name.ts` into `./_name.web.ts`
// where that sibling exists, as the web build's esbuild plugin does. Use it
// with `tsx --import ./bench/web-variants.mjs …`.
import { register } from 'node:module';

register('./web-variants-hooks.mjs', import.meta.url);
