import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['spec/unit/**/*.spec.ts', 'spec/fake-server/**/*.spec.ts', 'spec/server/packet-stream.spec.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['spec/integration/**/*.spec.ts', 'spec/regressions/**/*.spec.ts'],
          globalSetup: ['spec/helpers/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
    ],
  },
});
