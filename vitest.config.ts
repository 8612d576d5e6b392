// Tests run inside the Workers runtime (workerd) and reach a real, fresh Postgres through the
// same local stand-in for Neon's WebSocket proxy that `npm run dev` uses: the server named by
// DATABASE_URL, else the machine's server on 127.0.0.1:5432, else embedded PGlite.
// TEST_DATABASE=pglite forces the embedded one.
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
import { createServer, connect } from 'node:net';
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

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1000 });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('timeout', () => { socket.destroy(); resolve(false); });
    socket.once('error', () => resolve(false));
  });
}

async function choosePlan(): Promise<TestDatabasePlan> {
  const proxyPort = await freePort();
  const databaseName = `box_office_test_${Date.now()}_${process.pid}`;
  if (process.env.TEST_DATABASE === 'pglite') return { kind: 'pglite', proxyPort };
  if (process.env.DATABASE_URL) return { kind: 'postgres', adminUrl: process.env.DATABASE_URL, databaseName, proxyPort };
  if (await reachable('127.0.0.1', 5432)) {
    return { kind: 'postgres', adminUrl: 'postgres://postgres@127.0.0.1:5432/postgres', databaseName, proxyPort };
  }
  return { kind: 'pglite', proxyPort };
}

export default defineConfig(async () => {
  const plan = await choosePlan();
  // Read by test/global-setup.ts, which runs in this same process.
  process.env.BOX_OFFICE_TEST_PLAN = JSON.stringify(plan);
  const workerDatabaseUrl =
    plan.kind === 'postgres'
      ? Object.assign(new URL(plan.adminUrl), { pathname: `/${plan.databaseName}` }).toString()
      : 'postgres://postgres@127.0.0.1:5432/postgres';
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: './wrangler.toml' },
        miniflare: {
          bindings: {
            DATABASE_URL: workerDatabaseUrl,
            LOCAL_NEON_PROXY: `127.0.0.1:${plan.proxyPort}`,
            SESSION_SECRET: 'test-session-secret-that-is-long-enough-0123456789',
            TICKET_SIGNING_KEY: 'test-ticket-signing-key-that-is-long-enough-0123',
            STRIPE_WEBHOOK_SECRET: 'whsec_test_secret_for_tests',
          },
        },
      }),
    ],
    test: {
      globalSetup: ['./test/global-setup.ts'],
      include: ['test/**/*.test.ts'],
      testTimeout: 30_000,
      hookTimeout: 60_000,
    },
  };
});
