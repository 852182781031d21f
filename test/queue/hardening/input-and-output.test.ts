/** Input the tool refuses and output it escapes (issue 10). */
import { writeFileSync } from 'fs';
import * as path from 'path';
import { runCli as cli, sceneFile } from '../../support/cli';
import { s2Item as item, sceneId as scene, sceneIds } from '../../support/scenes';
import { redis, runMain, server, TMP, useHardeningFixture } from './fixture';

useHardeningFixture();

test('an over-long line is refused at once, in bounded time and memory; CR-only line ends are refused with the fix', async () => {
  const huge = path.join(TMP, 'huge.txt');
  writeFileSync(huge, `${scene(1)}\n${'A'.repeat(80 * 1024 * 1024)}\n`);
  const long = await cli(['enqueue', '--file', huge, '--redis-url', server.url]);
  expect(long.code).toBe(2);
  expect(long.stderr).toBe('error: line 2 is longer than 1,000 characters (a scene ID has under 100): is this the right input?\n(see: ard-queue enqueue --help)\n');
  expect(long.ms).toBeLessThan(5_000);
  const piped = await cli(['enqueue', '--file', '-', '--redis-url', server.url], { input: 'B'.repeat(5 * 1024 * 1024) });
  expect(piped.code).toBe(2);
  expect(piped.stderr).toContain('error: line 1 is longer than 1,000 characters');
  const mac = await cli(['enqueue', '--file', sceneFile('mac.txt', [sceneIds(3).join('\r')]), '--redis-url', server.url]);
  expect(mac.code).toBe(2);
  expect(mac.stderr).toMatch(/^error: \S+mac.txt: 1 invalid line; nothing was pushed\n {2}line 1: 'S2A_\S+\\r\S+' contains a carriage return \(CR\): lines must end in LF or CRLF, not CR alone; convert the file with: tr '\\r' '\\n' < FILE > FILE.lf\n/);
  expect(await redis.exists('jobS2')).toBe(0);
}, 60_000);

test('impossible dates and MGRS letters are refused naming the part; --inter-dir with .. is refused; nothing pushed', async () => {
  const bad = 'S2A_MSIL2A_20191399T996099_N0213_R030_T56LRR_20190813T014708';
  const run = await cli(['enqueue', scene(1), bad, 'S2A_MSIL2A_20190812T235741_N0213_R030_T01LRR_20190813T014708', '--redis-url', server.url]);
  expect(run.code).toBe(2);
  expect(run.stderr.split('\n').slice(0, 3)).toEqual([
    'error: arguments: 2 invalid arguments; nothing was pushed',
    `  argument 2: '${bad}' is not a valid s2 scene ID: sensing time '20191399T996099' has month 13, not 01-12`,
    "  argument 3: 'S2A_MSIL2A_20190812T235741_N0213_R030_T01LRR_20190813T014708' is not a valid s2 scene ID: tile 'T01LRR': tile column letter 'R' is not used in UTM zone 01 (A-H without I and O)",
  ]);
  const dir = await cli(['enqueue', scene(1), '--inter-dir', '/data/../../etc/', '--redis-url', server.url]);
  expect(dir.code).toBe(2);
  expect(dir.stderr).toBe(
    "error: --inter-dir must not have '.' or '..' segments (the worker's scratch mount is the only writable place), got '/data/../../etc/'\n(see: ard-queue enqueue --help)\n",
  );
  expect(await redis.keys('*')).toEqual([]);
});

test('--queue refuses the internal keys of another queue', async () => {
  const args = (name: string) => ['enqueue', scene(1), '--workflow', 's2', '--queue', name, '--redis-url', server.url];
  const refusal = (name: string, role: string) =>
    `error: --queue '${name}' is the ${role} key of queue 'jobS2', not a queue; give the queue's own name, e.g. --queue jobS2\n(see: ard-queue enqueue --help)\n`;
  // Every kind of key through the tool's main() in this process (a refusal needs no process of
  // its own), then one through the built tool, which runs that main().
  for (const [name, role] of [
    ['jobS2:processing', 'processing'],
    ['jobS2:enqueued', 'enqueued'],
    ['jobS2:enqueued:2', 'enqueued'], // a shard of the record
    ['jobS2:enqueue_lock', 'enqueueLock'],
    ['jobS2:attempts', 'attempts'],
    ['jobS2:dead_letter', 'deadLetter'],
    ['jobS2:unleased_since', 'unleasedSince'],
    ['jobS2:leased_by_session:abc', 'leasePrefix'],
    ['jobS2:force_snapshot:pending', 'snapshotPrefix'],
  ]) {
    expect(await runMain(args(name))).toEqual({ code: 2, stderr: refusal(name, role) });
  }
  const run = await cli(args('jobS2:enqueued:2'));
  expect(run.code).toBe(2);
  expect(run.stderr).toBe(refusal('jobS2:enqueued:2', 'enqueued'));
  expect(await redis.keys('*')).toEqual([]);
});

test('a scene enqueued again starts from zero recovery attempts', async () => {
  await redis.hset('jobS2:attempts', item(scene(1)), '2', item(scene(9)), '1');
  const run = await cli(['enqueue', scene(1), scene(2), '--force', '--redis-url', server.url]);
  expect(run.code).toBe(0);
  expect(await redis.hgetall('jobS2:attempts')).toEqual({ [item(scene(9))]: '1' });
});

test('items read from Redis are printed with control characters escaped', async () => {
  const evil = '{"in_scene":"X\u001b[2J\u001b[H\rjobS2: no dead-lettered items\n\u009b31m\u202e"}';
  await redis.rpush('jobS2:dead_letter', evil);
  await redis.hset('jobS2:attempts', evil, '5');
  const run = await cli(['dead-letters', '--redis-url', server.url]);
  expect(run.code).toBe(0);
  // eslint-disable-next-line no-control-regex
  expect(run.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
  expect(run.stdout).toBe(
    'jobS2: 1 dead-lettered item\n  attempts  scene (or item)\n' +
      '         5  {"in_scene":"X\\x1b[2J\\x1b[H\\x0djobS2: no dead-lettered items\\x0a\\x9b31m\\u202e"}\n',
  );
  const retried = await cli(['retry-dead-letters', '--all', '--dry-run', '--redis-url', server.url]);
  expect(retried.stdout).toContain('\\x1b[2J');
  expect(retried.stdout).not.toContain('\u001b');
});
