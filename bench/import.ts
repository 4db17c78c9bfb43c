// npm run bench:import — importFactor throughput for a migration: users per
// second importing a table of speakeasy-style rows (one 20-byte base32 secret
// each, sealed with AES-GCM), on MemoryStore, PostgresStore over PGlite and
// over a PostgreSQL server (the tests' throwaway loopback server, or
// TOTPKIT_PG_URL), for:
// - recoveryCodes: true (a set of 10 scrypt-hashed codes per user, what 0.2
//   always did) and false (the 0.3 default for an import);
// - concurrency 1 (one row after the other) and 16 (16 rows in flight, the
//   bounded loop of examples/import-speakeasy.ts);
// - a re-run over the same rows (every one recognised: alreadyImported).
//
// IMPORT_USERS sets the rows (default 1,000). Rows with recovery codes cost
// about 60 ms each, so those runs take IMPORT_USERS_WITH_CODES rows (default
// 200) and users/s is what matters. Figures, not assertions: the machine is
// shared, and its load average is printed with them.
import { PGlite } from '@electric-sql/pglite';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import {
  createAESGCMCipher,
  createMFA,
  encodeBase32,
  MemoryStore,
  type ImportFactorResult,
  type MFAStore,
} from '../src/index.ts';
import { PostgresStore } from '../src/store/postgres.ts';
import { postgresPlan, type TestServer } from '../test/helpers/servers.ts';

const USERS = Number(process.env.IMPORT_USERS ?? 1000);
const USERS_WITH_CODES = Math.min(USERS, Number(process.env.IMPORT_USERS_WITH_CODES ?? 200));
const T0 = 1_750_000_020_000;

interface Row {
  userId: string;
  base32Secret: string;
}

/** Runs `task` over `items` with at most `concurrency` in flight, in order of start. */
async function eachLimited<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

function rowsFor(run: string, count: number): Row[] {
  return Array.from({ length: count }, (_, i) => ({
    userId: `import-${run}-${i}`,
    base32Secret: encodeBase32(globalThis.crypto.getRandomValues(new Uint8Array(20))),
  }));
}

interface Measured {
  seconds: number;
  perSecond: number;
}

async function importRows(
  store: MFAStore,
  rows: readonly Row[],
  options: { recoveryCodes: boolean; concurrency: number; expectAlready: boolean },
): Promise<Measured> {
  const mfa = createMFA({
    store,
    issuer: 'Bench',
    clock: () => T0,
    cipher: createAESGCMCipher({
      keys: { k1: new Uint8Array(32).fill(7) },
      primaryKeyId: 'k1',
    }),
  });
  const results: ImportFactorResult[] = [];
  const start = performance.now();
  await eachLimited(rows, options.concurrency, async (row) => {
    results.push(
      await mfa.importFactor(row.userId, {
        secret: row.base32Secret,
        recoveryCodes: options.recoveryCodes,
      }),
    );
  });
  const seconds = (performance.now() - start) / 1000;
  // The work was done: every row imported (or recognised on a re-run).
  const done = results.filter((r) => r.ok && r.alreadyImported === options.expectAlready);
  if (done.length !== rows.length) {
    throw new Error(`${rows.length - done.length} of ${rows.length} rows were not imported`);
  }
  const made = (await mfa.status(rows[0]!.userId)).recoveryCodesRemaining;
  if (!options.expectAlready && made !== (options.recoveryCodes ? 10 : 0)) {
    throw new Error(`recoveryCodes: ${options.recoveryCodes} left ${made} codes`);
  }
  return { seconds, perSecond: rows.length / seconds };
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  console.log(line(header));
  console.log(
    `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
  );
  for (const row of rows) console.log(line(row));
}

async function main() {
  const run = Date.now().toString(36);
  const cleanup: (() => Promise<unknown>)[] = [];
  const servers: TestServer[] = [];
  const subjects: { name: string; make: (label: string) => Promise<MFAStore> }[] = [
    { name: 'MemoryStore', make: async () => new MemoryStore() },
  ];
  const lite = new PGlite();
  cleanup.push(() => lite.close());
  subjects.push({
    name: 'PostgresStore (PGlite)',
    make: async (label) => {
      const store = new PostgresStore({ client: lite, table: `import_${label}` });
      await store.migrate();
      return store;
    },
  });
  const skipped: string[] = [];
  const plan = postgresPlan();
  if (plan.run) {
    const server = await plan.start();
    servers.push(server);
    const pool = new pg.Pool({ connectionString: server.url, max: 20 });
    pool.on('error', () => {}); // an idle client told of the server's shutdown
    cleanup.push(() => pool.end());
    subjects.push({
      name: 'PostgresStore (pg.Pool, 20)',
      make: async (label) => {
        const table = `totpkit_import_${run}_${label}`;
        const store = new PostgresStore({ client: pool, table });
        await store.migrate();
        if (!server.owned) cleanup.push(() => pool.query(`DROP TABLE ${table}`));
        return store;
      },
    });
  } else skipped.push(`PostgreSQL: ${plan.reason}`);

  try {
    console.log(
      `importFactor of speakeasy-style rows (20-byte base32 secrets, AES-GCM), ` +
        `Node ${process.version}, load average ${loadavg()
          .map((x) => x.toFixed(1))
          .join(' ')}\n`,
    );
    // Warm-up: loads the scrypt backend and compiles the paths once.
    await importRows(new MemoryStore(), rowsFor(`${run}-warm`, 20), {
      recoveryCodes: true,
      concurrency: 4,
      expectAlready: false,
    });
    const table: string[][] = [];
    let label = 0;
    for (const subject of subjects) {
      for (const recoveryCodes of [true, false]) {
        for (const concurrency of [1, 16]) {
          const count = recoveryCodes ? USERS_WITH_CODES : USERS;
          const store = await subject.make(String(label++));
          const rows = rowsFor(`${run}-${label}`, count);
          const first = await importRows(store, rows, {
            recoveryCodes,
            concurrency,
            expectAlready: false,
          });
          table.push([
            subject.name,
            String(recoveryCodes),
            String(concurrency),
            'first run',
            String(count),
            first.seconds.toFixed(2),
            first.perSecond.toFixed(0),
            (USERS / first.perSecond).toFixed(1),
          ]);
          if (recoveryCodes || concurrency === 1) continue;
          const again = await importRows(store, rows, {
            recoveryCodes,
            concurrency,
            expectAlready: true,
          });
          table.push([
            subject.name,
            String(recoveryCodes),
            String(concurrency),
            're-run',
            String(count),
            again.seconds.toFixed(2),
            again.perSecond.toFixed(0),
            (USERS / again.perSecond).toFixed(1),
          ]);
        }
      }
    }
    printTable(
      [
        'store',
        'recoveryCodes',
        'concurrency',
        'pass',
        'users',
        'seconds',
        'users/s',
        `s per ${USERS}`,
      ],
      table,
    );
    console.log(
      `\nre-run: the same rows again, every one answered alreadyImported (nothing written). ` +
        `s per ${USERS}: extrapolated from users/s where fewer rows ran. ` +
        `Load average after: ${loadavg()
          .map((x) => x.toFixed(1))
          .join(' ')}`,
    );
    for (const reason of skipped) console.log(`skipped ${reason}`);
  } finally {
    for (const step of cleanup) await step().catch(() => {});
    for (const server of servers) await server.stop();
  }
}

await main();
