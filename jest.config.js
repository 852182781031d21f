/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/build/', '/dist/'],
  // Types are stripped by esbuild (scripts/jest-transform.cjs); type-checking is `tsc --noEmit` in `npm test`.
  transform: { '^.+\\.ts$': '<rootDir>/scripts/jest-transform.cjs' },
  // Most integration tests wait on real processes (leases, polls, restarts) rather than
  // compute, so more workers than cores (jest's default on 2 cores is 1) keep both cores busy
  // (on 2 cores: 1 worker 4 min, 4 workers 65 s, 8 workers 52 s).
  maxWorkers: 8,
  // Tests bound their own waits; jest's 5 s default would fail a test that spawns a dozen CLI
  // runs on a loaded machine, and a timed-out test keeps running into the next one.
  testTimeout: 30_000,
  // Time a worker has to exit at the end, before jest kills it and reports a leak. Eight workers
  // of about 200 MB tearing down their heaps at once on 2 cores took 0.6-0.75 s after their
  // 'exit' event, on the slowest of our machines: jest's 500 ms killed every one of them and blamed a leak
  // there was none of. A handle left open is still reported, after 2 s.
  workerGracefulExitTimeout: 2_000,
  // One temporary folder per run, removed at its end, whatever the tests leave behind.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
};
