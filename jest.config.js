/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/build/', '/dist/'],
  // Type-checking is `tsc --noEmit` in `npm test`; here we only transpile, which is fast.
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
};
