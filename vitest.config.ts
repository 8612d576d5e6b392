// Tests run inside the Workers runtime (workerd) and reach a real, fresh Postgres through the
// same local stand-in for Neon's WebSocket proxy that `npm run dev` uses: the server named by
// DATABASE_URL, else the machine's server on 127.0.0.1:5432, else embedded PGlite.
// TEST_DATABASE=pglite forces the embedded one.
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
import { createServer } from 'node:net';
import { isReachable } from './scripts/lib/postgres-server';
import type { TestDatabasePlan } from './test/global-setup';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}


async function choosePlan(): Promise<TestDatabasePlan> {
  const proxyPort = await freePort();
  const databaseName = `box_office_test_${Date.now()}_${process.pid}`;
  if (process.env.TEST_DATABASE === 'pglite') return { kind: 'pglite', proxyPort };
  if (process.env.DATABASE_URL) return { kind: 'postgres', adminUrl: process.env.DATABASE_URL, databaseName, proxyPort };
  if (await isReachable('127.0.0.1', 5432)) {
    return { kind: 'postgres', adminUrl: 'postgres://postgres@127.0.0.1:5432/postgres', databaseName, proxyPort };
  }
  return { kind: 'pglite', proxyPort };
}

/**
 * Test files that make Postgres unreachable or slow (test/faults.ts). They run as a project of
 * their own whose Worker reaches the proxy under the path scope FAULT_SCOPE, and the proxy's fault
 * switch refuses or delays only that scope's sessions: the other files keep running in parallel
 * against the same proxy and database, untouched by the outage. (A proxy-wide switch would fail
 * whatever they happen to run during the window; running these files last instead would serialize
 * the suite for one test.)
 */
const FAULT_INJECTION_TESTS = [
  'test/durable/confirm-retry.test.ts',
  'test/durable/postgres-down.test.ts',
  'test/durable/slow-postgres.test.ts',
  'test/durable/ticketlock-replaced.test.ts',
  'test/auth/session-outage.test.ts',
  'test/durable/organizer-refunds.test.ts',
  // Slow writes are part of its model: confirmations stalled in the proxy while other steps run.
  'test/durable/TicketLock.property.test.ts',
];
const FAULT_SCOPE = 'faults';

/** A real browser against the Worker: these run in Node (they drive Chromium), not in workerd. */
const BROWSER_TESTS = ['test/browser/**/*.test.ts'];

export default defineConfig(async () => {
  const plan = await choosePlan();
  // Read by test/global-setup.ts, which runs in this same process.
  process.env.BOX_OFFICE_TEST_PLAN = JSON.stringify(plan);
  const workerDatabaseUrl =
    plan.kind === 'postgres'
      ? Object.assign(new URL(plan.adminUrl), { pathname: `/${plan.databaseName}` }).toString()
      : 'postgres://postgres@127.0.0.1:5432/postgres';
  const workers = (localNeonProxy: string) =>
    cloudflareTest({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        bindings: {
          DATABASE_URL: workerDatabaseUrl,
          LOCAL_NEON_PROXY: localNeonProxy,
          SESSION_SECRET: 'test-session-secret-that-is-long-enough-0123456789',
          TICKET_SIGNING_KEY: 'test-ticket-signing-key-that-is-long-enough-0123',
          STRIPE_WEBHOOK_SECRET: 'whsec_test_secret_for_tests',
          // The offline payment provider works only where this says so (never in a deployment).
          ALLOW_TEST_PAYMENTS: 'true',
        },
      },
    });
  // Projects do not inherit these; inheriting (`extends: true`) would also run the global setup,
  // and so start a second proxy, once per project.
  const timeouts = { testTimeout: 30_000, hookTimeout: 60_000 };
  return {
    test: {
      // scripts/build-web.ts first: the Worker imports the pages' assets it generates (git-ignored).
      globalSetup: ['./scripts/build-web.ts', './test/global-setup.ts'],
      projects: [
        {
          plugins: [workers(`127.0.0.1:${plan.proxyPort}`)],
          test: { name: 'box-office', include: ['test/**/*.test.ts'], exclude: [...FAULT_INJECTION_TESTS, ...BROWSER_TESTS], ...timeouts },
        },
        {
          plugins: [workers(`127.0.0.1:${plan.proxyPort}/${FAULT_SCOPE}`)],
          // One file at a time: they share the scope, and one file's outage must not land in another's test.
          test: { name: 'database-faults', include: FAULT_INJECTION_TESTS, fileParallelism: false, ...timeouts },
        },
        {
          // Node drives Chromium against the Worker on Miniflare (scripts/lib/local-runtime.ts).
          test: { name: 'browser', include: BROWSER_TESTS, environment: 'node', testTimeout: 60_000, hookTimeout: 180_000 },
        },
      ],
    },
  };
});
