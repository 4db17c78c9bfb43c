// The resolve hook of web-variants.mjs: `_name.ts` → `_name.web.ts` if present.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  const { url } = result;
  if (url.startsWith('file:') && /\/_[^/]+\.ts$/.test(url) && !url.endsWith('.web.ts')) {
    const web = url.replace(/\.ts$/, '.web.ts');
    if (existsSync(fileURLToPath(web))) return { ...result, url: web };
  }
  return result;
}
