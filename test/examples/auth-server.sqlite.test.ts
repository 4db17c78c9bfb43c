// The example auth server's SQLITE_PATH switch: the storage that server.ts
// opens (accounts in PGlite, MFA state in a SQLite file through
// better-sqlite3), then the seed flow (harness.ts walkSeedFlow: a code by
// e-mail, enrollment, binding, sign-in with TOTP and a replay refused), over
// HTTP; the factor is then read back from the SQLite file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SQLiteStore } from 'totpkit/sqlite';
import { openStorage } from '../../examples/auth-server/storage.ts';
import { startAuthServer, walkSeedFlow } from './harness.ts';

describe('example auth server with SQLITE_PATH', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'totpkit-example-sqlite-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps MFA state in the SQLite file through the whole flow', async () => {
    const path = join(dataDir, 'mfa.db');
    const storage = await openStorage({ SQLITE_PATH: path }, dataDir);
    expect(storage.store).toBeInstanceOf(SQLiteStore);
    expect(storage.description).toContain(`MFA state in SQLite (${path})`);
    const server = await startAuthServer({ storage });
    try {
      await walkSeedFlow(server, 'sqlite@example.com');
    } finally {
      await server.close();
      await storage.close();
    }
    // The factor is in the file, read with a connection of our own.
    const db = new Database(path, { readonly: true });
    try {
      const rows = db.prepare(`SELECT user_id, factors FROM totpkit_mfa`).all() as {
        user_id: string;
        factors: string;
      }[];
      expect(rows).toHaveLength(1);
      expect(JSON.parse(rows[0]!.factors)).toHaveLength(1);
    } finally {
      db.close();
    }
  });

  it('refuses REDIS_URL and SQLITE_PATH together', async () => {
    await expect(
      openStorage(
        { SQLITE_PATH: join(dataDir, 'x.db'), REDIS_URL: 'redis://127.0.0.1:1' },
        dataDir,
      ),
    ).rejects.toThrow('set REDIS_URL or SQLITE_PATH, not both');
  });
});
