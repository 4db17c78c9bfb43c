/**
 * The claims oracle (test/helpers/claims-run.ts: a second oracle, written
 * from the documents' claims, not from the code's rules) in the unit tier:
 * MemoryStore and PostgresStore on PGlite. test/store/model-servers.test.ts
 * runs it against the stores on real servers.
 *
 * TOTPKIT_CLAIMS_SEED replays a run (a failure names its seed);
 * TOTPKIT_CLAIMS_WITHOUT=erase leaves the erasure race out.
 */
import { PGlite } from '@electric-sql/pglite';
import { MemoryStore } from 'totpkit';
import { PostgresStore } from 'totpkit/postgres';
import { describeClaims, type ClaimsTestStore } from '../helpers/claims-run.ts';

const STORES: ClaimsTestStore[] = [
  { name: 'MemoryStore', runs: 40, steps: 150, make: async () => new MemoryStore() },
  {
    name: 'PostgresStore (PGlite)',
    runs: 4,
    steps: 120,
    make: async () => {
      const store = new PostgresStore({ client: await pglite(), table: `claims_${tables++}` });
      await store.migrate();
      return store;
    },
  },
];

let lite: Promise<PGlite> | undefined;
let tables = 0;
const pglite = () => (lite ??= PGlite.create());

describeClaims(STORES);
