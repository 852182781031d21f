import { execFileSync, spawnSync } from 'child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { ROOT } from '../support/cli';

const BUILD = path.join(ROOT, 'build');
const ENTRY = path.join(BUILD, 'queue', 'cli.js');

/**
 * Runs `script` in a fresh node process (the entry point required as a module, not run) and
 * parses what it prints as JSON; `nodeFlags` go before it.
 */
function inFreshNode(script: string, nodeFlags: readonly string[] = []): any {
  const prelude = `const entry = require(${JSON.stringify(ENTRY)});`;
  return JSON.parse(execFileSync(process.execPath, [...nodeFlags, '-e', prelude + script], { encoding: 'utf8' }));
}

// What `npm run build` leaves in build/ (built by `npm test` before jest).
describe('the build of the queue tool', () => {
  test('is one bundle: with every subcommand loaded, no file but the entry point was required (ioredis is in the bundle)', () => {
    const loaded = inFreshNode(`
      const { exports: tool } = entry.loadBundle();
      for (const load of Object.values(tool.SUBCOMMANDS)) load();
      process.stdout.write(JSON.stringify(Object.keys(require.cache)));`);
    expect(loaded).toEqual([ENTRY]);
  });

  test("V8 takes the code cache the build saved for the bundle (a command does not compile it again)", () => {
    const rejected = inFreshNode(`
      const { script } = entry.loadBundle(require('fs').readFileSync(entry.CODE_CACHE));
      process.stdout.write(JSON.stringify(script.cachedDataRejected));`);
    expect(rejected).toBe(false);
  });

  test("ioredis builds its command table without copying the prototype's descriptors at each method (the build's ioredisCommandTable)", () => {
    // With a young generation too large to fill, nothing is collected: the heap's growth is what
    // loading allocated. Every subcommand (and ioredis) allocates 2.3 MB; the command table added
    // one method at a time to a fast prototype allocated 6 MB more, a copy of its descriptors each.
    const allocatedMiB = inFreshNode(`
      const v8 = require('v8');
      const { exports: tool } = entry.loadBundle();
      const before = v8.getHeapStatistics().used_heap_size;
      for (const load of Object.values(tool.SUBCOMMANDS)) load();
      process.stdout.write(JSON.stringify((v8.getHeapStatistics().used_heap_size - before) / 2 ** 20));`,
    ['--min-semi-space-size=64', '--max-semi-space-size=64']);
    expect(allocatedMiB).toBeLessThan(4);
  });

  test('a code cache V8 refuses (a damaged file, another Node.js) or none at all: the tool runs all the same; without the bundle it says to build', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'ard-code-cache-'));
    try {
      cpSync(BUILD, path.join(root, 'build'), { recursive: true, filter: (file) => path.relative(BUILD, file).split(path.sep)[0] !== 'synth' });
      symlinkSync(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'));
      const [entry, bundle] = [path.join(root, 'build', 'queue', 'cli.js'), path.join(root, 'build', 'queue', 'tool.js')];
      const cache = `${bundle}.cache`;
      const help = () => execFileSync(process.execPath, [entry, 'status', '--help'], { encoding: 'utf8' });
      writeFileSync(cache, Buffer.alloc(4096, 7));
      expect(help()).toMatch(/^Usage: ard-queue status/);
      rmSync(cache);
      expect(help()).toMatch(/^Usage: ard-queue status/);
      // Without the bundle: a message, not a stack trace.
      rmSync(bundle);
      const run = spawnSync(process.execPath, [entry, 'status'], { encoding: 'utf8' });
      expect({ code: run.status, stderr: run.stderr }).toEqual({ code: 1, stderr: `error: the queue tool is not built: ${bundle} is missing; run \`npm run build\`\n` });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('build/sources.json lists every source in the bundle, for the stale-build check', () => {
    // esbuild heads each module of the bundle with a comment naming its file.
    const inBundle = [...readFileSync(path.join(BUILD, 'queue', 'tool.js'), 'utf8').matchAll(/^\/\/ ((?:queue|protocol|lib)\/\S+\.ts)$/gm)].map((m) => m[1]);
    const { files } = JSON.parse(readFileSync(path.join(BUILD, 'sources.json'), 'utf8')) as { files: string[] };
    expect(inBundle.length).toBeGreaterThan(30);
    expect(inBundle).toContain('queue/commands/enqueue.ts');
    expect(inBundle.filter((file) => !files.includes(file))).toEqual([]);
    expect(files).toContain('queue/launch.cjs');
  });
});
