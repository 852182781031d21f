import { execFileSync, spawnSync } from 'child_process';
import { readFileSync } from 'fs';
import * as path from 'path';
import { ROOT } from '../support/cli';

const BUILD = path.join(ROOT, 'build');

// What `npm run build` leaves in build/ (built by `npm test` before jest).
describe('the build of the queue tool', () => {
  test('loads ioredis from its one-file bundle in build/node_modules/, and nothing else of node_modules/', () => {
    const script = `require(${JSON.stringify(path.join(BUILD, 'queue', 'redis.js'))}); process.stdout.write(JSON.stringify(Object.keys(require.cache)))`;
    const loaded = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as string[];
    expect(loaded.filter((file) => file.split(path.sep).includes('node_modules'))).toEqual([path.join(BUILD, 'node_modules', 'ioredis', 'index.js')]);
  });

  test('a deep import of the bundled package fails instead of loading a second copy', () => {
    const script = `require.resolve('ioredis/built/Command', { paths: [${JSON.stringify(path.join(BUILD, 'queue'))}] })`;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });

  test("build/sources.json lists the source of every compiled file the tool loads, whatever the subcommand", () => {
    // Every subcommand module loaded, as the CLI would load it on demand; then each compiled file
    // in require.cache (outside node_modules/) must come from a listed source, or the stale-build
    // check would miss a change to it.
    const script = `
      const { SUBCOMMANDS } = require(${JSON.stringify(path.join(BUILD, 'queue', 'cli.js'))});
      for (const load of Object.values(SUBCOMMANDS)) load();
      process.stdout.write(JSON.stringify(Object.keys(require.cache)));`;
    const loaded = (JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as string[])
      .filter((file) => file.startsWith(BUILD + path.sep) && !file.split(path.sep).includes('node_modules'))
      .map((file) => path.relative(BUILD, file).split(path.sep).join('/').replace(/\.js$/, '.ts'));
    const { files } = JSON.parse(readFileSync(path.join(BUILD, 'sources.json'), 'utf8')) as { files: string[] };
    expect(loaded.length).toBeGreaterThan(20);
    expect(loaded.filter((file) => !files.includes(file))).toEqual([]);
  });
});
