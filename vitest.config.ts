import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
import { createServer } from 'node:net';
import { Socket } from 'node:net';

const freePort = () => new Promise<number>((resolve) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as any).port; s.close(() => resolve(p)); }); });

export default defineConfig(async () => {
  const proxyPort = await freePort();
  const plan = { kind: 'pglite', adminUrl: 'postgres://postgres@127.0.0.1:5432/postgres', databaseName: `box_office_test_${Date.now()}`, proxyPort };
  process.env.BOX_OFFICE_TEST_PLAN = JSON.stringify(plan);
  return {
    plugins: [cloudflareTest({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: { bindings: { DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${plan.databaseName}`, LOCAL_NEON_PROXY: `127.0.0.1:${proxyPort}`, SESSION_SECRET: 'test-session-secret-0123456789abcdef' } },
    })],
    test: { globalSetup: ['./test/global-setup.ts'] },
  };
});
