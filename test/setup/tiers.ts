// The test tiers: `npm run test:unit` (Node only) and `npm test` (everything).

/**
 * Files left out of the unit tier (`npm run test:unit`, TOTPKIT_TEST_TIER=unit),
 * which needs nothing but Node: each needs a server, a browser, an external
 * program, subprocesses or an embedded database. Tests inside other files that
 * need one are skipped by test/helpers/integration.ts instead.
 */
export const NOT_IN_UNIT_TIER: Readonly<Record<string, string>> = {
  'test/store/postgres.test.ts': 'a PostgreSQL server',
  'test/store/redis.test.ts': 'a Redis server',
  'test/store/mysql.test.ts': 'a MariaDB server',
  'test/store/cross-process-mysql.test.ts': 'a MariaDB server, worker processes',
  'test/store/redis-cluster.test.ts': 'a Redis Cluster (redis-server, redis-cli), worker processes',
  'test/store/redis-failover.test.ts': 'two Redis servers, a primary and its replica',
  'test/store/redis-acl.test.ts': 'a Redis server with an ACL user',
  'test/store/redis-sentinel.test.ts': 'three Redis servers and three Sentinels (redis-sentinel)',
  'test/store/cross-process.test.ts':
    'PostgreSQL and Redis servers, a SQLite file, worker processes (Node and Bun)',
  'test/store/pglite.test.ts': 'PGlite (an embedded PostgreSQL)',
  'test/store/sqlite.test.ts': 'SQLite files through better-sqlite3 (a native addon)',
  'test/store/sqlite-faults.test.ts': 'SQLite through better-sqlite3 (a native addon)',
  'test/store/sqlite-bun.test.ts': 'Bun (bun test) on SQLite files',
  'test/store/sqlite-d1.test.ts': 'D1 in workerd through Miniflare',
  'test/store/model-servers.test.ts': 'PostgreSQL, Redis and MariaDB servers',
  'test/examples/auth-server.test.ts': 'the example server as a subprocess, PGlite',
  'test/examples/auth-server.servers.test.ts': 'PostgreSQL and Redis servers',
  'test/examples/auth-server.sqlite.test.ts': 'the example server on PGlite and a SQLite file',
  'test/examples/auth-server.browser.test.ts': 'Chromium, zbarimg, oathtool',
  'test/cli.test.ts': 'the CLI as a subprocess, oathtool, zbarimg',
  'test/oathtool.test.ts': 'oathtool',
  'test/store/store-errors.test.ts': 'PGlite and a Redis server',
  'test/store/user-ids.test.ts': 'PGlite, PostgreSQL and Redis servers',
  'test/store/pgbouncer.test.ts': 'a PostgreSQL server behind PgBouncer (Debian pgbouncer)',
  'test/runtimes/chromium.browser.test.ts': 'Chromium and an esbuild bundle',
  'test/runtimes/workerd.test.ts': 'workerd (Cloudflare Workers runtime)',
  'examples/frameworks/frameworks.test.ts': 'the framework servers over HTTP',
  'test/examples/auth-server.process.test.ts': 'the demo as child processes, PGlite',
  'test/examples/auth-server.hardening.test.ts': 'the example server on PGlite',
  'test/examples/auth-server.sessions.test.ts': 'the example server on PGlite',
  'test/examples/auth-server.limits.test.ts': 'the example server on PGlite, 600 loopback sockets',
};
