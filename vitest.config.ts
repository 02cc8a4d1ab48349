import { defineConfig } from 'vitest/config';

// Timeouts only stop a test that hangs; none measures speed. The fixture end-to-end tests take ~15 s
// alone and were seen at 69 s on a fresh clone with the other core busy: 5 minutes leaves room.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
  },
});
