// A lock file on the demo's data directory. PGlite is a single-process
// database: two processes opening the same directory corrupt it, and every
// later start then aborts. The lock holds the owner's pid; a lock whose owner
// has died (killed, crashed) is taken over.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: only checks that the process exists
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Locks `dir` for this process until it exits. Returns null when locked, or
 * the pid of the live process that holds the lock.
 */
export function lockDirectory(dir: string): number | null {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      // 'wx': create, failing if it exists, so two starts cannot both win.
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      process.once('exit', () => rmSync(file, { force: true }));
      return null;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number.parseInt(readFileSync(file, 'utf8'), 10);
    if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
      return holder;
    }
    rmSync(file, { force: true }); // stale: its process is gone
  }
  throw new Error(`could not lock ${dir}`);
}
