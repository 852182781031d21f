// Jest's transform of the TypeScript tests and sources: esbuild strips the types, file by file,
// as tsconfig's isolatedModules allows (type-checking is `tsc --noEmit` in `npm test`). It does
// in milliseconds what ts-jest does by loading the TypeScript compiler into every jest worker.
const { transformSync } = require('esbuild');

module.exports = {
  process(source, filename) {
    const { code, map } = transformSync(source, {
      loader: 'ts',
      format: 'cjs',
      target: 'node20',
      sourcefile: filename,
      sourcemap: 'external',
      sourcesContent: false,
    });
    return { code, map };
  },
};
