import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // Node loads graphql's CommonJS build (Apollo's packages require it); Vite would pick the ESM
    // build for workspace code, and two copies of graphql break its instanceof checks.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Each file starts its own stack on its own database; two at a time suits a 2-core machine.
    maxWorkers: 2,
  },
});
