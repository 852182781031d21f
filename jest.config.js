/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/build/', '/dist/'],
  // Type-checking is `tsc --noEmit` in `npm test`; with isolatedModules (tsconfig) ts-jest only
  // transpiles, which is fast.
  transform: { '^.+\\.ts$': 'ts-jest' },
};
