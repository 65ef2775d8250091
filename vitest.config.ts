import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup/crypto.ts'],
    // Makes the folder test gateways log to, and scans every line in it for secrets and clear PANs at the end.
    globalSetup: ['test/setup/log-scan.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
