// Lists in the docs that must name everything the code has: an event type
// added without its line in docs/enrollment.md fails here.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Every `.ts` file under `dir`, recursively. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The `type: '…'` discriminants of the event interfaces (those with `userId` and `at`). */
function eventTypes(): Set<string> {
  const types = new Set<string>();
  for (const file of sources('src')) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/export interface \w+Event\b[^{]*\{([^}]*)\}/g)) {
      const body = match[1] as string;
      const type = /^\s*type: '([a-z_]+)';/m.exec(body)?.[1];
      if (type !== undefined) types.add(type);
    }
  }
  return types;
}

describe('docs/enrollment.md', () => {
  it('lists every audit event type, and no other', () => {
    const text = readFileSync('docs/enrollment.md', 'utf8');
    const section = /## Audit events\n([\s\S]*?)\n## /.exec(text)?.[1] ?? '';
    const list = /receives one typed event per outcome[^:]*:([\s\S]*?)\./.exec(section)?.[1] ?? '';
    const listed = new Set([...list.matchAll(/`([a-z_]+)`/g)].map((m) => m[1] as string));
    const types = eventTypes();
    expect(types.size).toBeGreaterThan(15);
    expect([...listed].sort()).toEqual([...types].sort());
  });
});
