// The example auth server's SQLITE_PATH switch: the storage that server.ts
// opens (accounts in PGlite, MFA state in a SQLite file through
// better-sqlite3), then enrollment, binding, sign-in with TOTP and a replay
// refused, over HTTP; the factor is then read back from the SQLite file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeBase32, generateTOTP } from 'totpkit';
import { SQLiteStore } from 'totpkit/sqlite';
import { openStorage } from '../../examples/auth-server/storage.ts';
import { Client, extract, startAuthServer } from './harness.ts';

describe('example auth server with SQLITE_PATH', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'totpkit-example-sqlite-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps MFA state in the SQLite file through the whole flow', async () => {
    const path = join(dataDir, 'mfa.db');
    const storage = await openStorage({ SQLITE_PATH: path }, dataDir);
    expect(storage.store).toBeInstanceOf(SQLiteStore);
    expect(storage.description).toContain(`MFA state in SQLite (${path})`);
    const server = await startAuthServer({ storage });
    const email = 'sqlite@example.com';
    try {
      const client = new Client(server.url);
      await client.get('/signup');
      await client.follow(await client.post('/signup', { email, password: 'a fine passphrase' }));
      const setup = await client.follow(await client.post('/mfa/setup'));
      const base32 = extract(setup.body, /id="secret">([A-Z2-7 ]+)</, 'secret').replace(/ /g, '');
      const secret = decodeBase32(base32);
      const now = Date.now();
      const previous = generateTOTP(secret, { now: now - 30_000 });
      const current = generateTOTP(secret, { now });
      const next = generateTOTP(secret, { now: now + 30_000 });
      const bound = await client.post('/mfa/confirm', { code1: previous, code2: current });
      expect(bound.body).toContain('Save these recovery codes');
      await client.post('/signout');
      await client.get('/signin');
      const signIn = await client.post('/signin', { email, password: 'a fine passphrase' });
      expect(signIn.location).toBe('/signin/code');
      await client.get('/signin/code');
      const replay = await client.post('/signin/code', { code: current });
      expect(replay.body).toContain('That code has already been used');
      expect((await client.post('/signin/code', { code: next })).location).toBe('/');
      expect((await client.get('/')).body).toContain('Two-factor sign-in is <strong>on</strong>');
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
