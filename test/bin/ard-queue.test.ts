import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { ARD_QUEUE, ROOT, runProcess } from '../support/cli';
import { useRedisServer } from '../support/redis-server';
import { s2Item as item, sceneId as scene } from '../support/scenes';

const TMP = mkdtempSync(path.join(tmpdir(), 'ard-queue-bin-'));
const fixture = useRedisServer();
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

test('runs the tool from any directory, also through chains of absolute and relative symlinks (npm link, global installs)', async () => {
  const links = path.join(TMP, 'links');
  mkdirSync(path.join(links, 'sub'), { recursive: true });
  symlinkSync(ARD_QUEUE, path.join(links, 'absolute'));
  symlinkSync(path.join('..', 'absolute'), path.join(links, 'sub', 'relative'));
  const runs = await Promise.all([
    runProcess(ARD_QUEUE, ['--help'], { cwd: TMP }),
    runProcess(path.join(links, 'absolute'), ['--help'], { cwd: TMP }),
    runProcess('sh', ['relative', '--help'], { cwd: path.join(links, 'sub') }),
    // As a shell finds it on PATH.
    runProcess('relative', ['--help'], { cwd: TMP, env: { PATH: `${path.join(links, 'sub')}${path.delimiter}${process.env.PATH}` } }),
  ]);
  for (const run of runs) {
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^Usage: ard-queue <subcommand> \[options\]\n/);
  }
});

test('a relative --file is read from the directory the command was typed in, by the command and by `npm run queue`', async () => {
  const dir = mkdtempSync(path.join(TMP, 'cwd-'));
  writeFileSync(path.join(dir, 'first.txt'), `${scene(7)}\n`);
  writeFileSync(path.join(dir, 'second.txt'), `${scene(8)}\n`);
  const url = fixture.server.url;
  // An enclosing npm script's INIT_CWD names another directory: the command must not use it.
  const command = await runProcess(ARD_QUEUE, ['enqueue', '--file', 'first.txt', '--redis-url', url], { cwd: dir, env: { INIT_CWD: ROOT } });
  expect(command.stderr).toBe('');
  const npm = await runProcess('npm', ['--prefix', ROOT, 'run', '--silent', 'queue', '--', 'enqueue', '--file', 'second.txt', '--redis-url', url], { cwd: dir });
  expect(npm.stderr).toBe('');
  expect(await fixture.redis.lrange('jobS2', 0, -1)).toEqual([item(scene(7)), item(scene(8))]);
});

test('without a build, the command says how to make one', async () => {
  const bin = path.join(TMP, 'unbuilt', 'bin');
  mkdirSync(bin, { recursive: true });
  copyFileSync(ARD_QUEUE, path.join(bin, 'ard-queue'));
  const run = await runProcess(path.join(bin, 'ard-queue'), ['status'], { cwd: TMP });
  expect(run).toMatchObject({
    code: 1,
    stdout: '',
    stderr: `error: the queue tool is not built: ${bin}/../build/queue/cli.js is missing; run \`npm run build\`\n`,
  });
});
