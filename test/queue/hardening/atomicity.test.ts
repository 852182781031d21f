/** Push and record together, whatever Redis answers: script caches flushed mid-run, records Redis refuses to grow, full memory, concurrent recovery; new campaigns (issue 10). */
import Redis from 'ioredis';
import { sceneDigest } from '../../../queue/digest';
import { BATCH_SIZE } from '../../../queue/push';
import { requeueExpired } from '../../../queue/recovery';
import { exitOf, runCli as cli, sceneFile, spawnCli } from '../../support/cli';
import { heldMidRun, RedisRelay } from '../../support/redis-relay';
import { RedisServer } from '../../support/redis-server';
import { s2Item as item, sceneId as scene, sceneIds } from '../../support/scenes';
import { until } from '../../support/wait';
import { redis, server, useHardeningFixture } from './fixture';

useHardeningFixture();

test('an input without any scene ID is an error (exit 2) unless --allow-empty', async () => {
  const empty = await cli(['enqueue', '--file', '-', '--redis-url', server.url], { input: '# only a comment\n\n' });
  expect(empty.code).toBe(2);
  expect(empty.stderr).toBe(
    'error: stdin holds no scene ID (an upstream command may have failed); nothing pushed. Pass --allow-empty if an empty input is expected\n(see: ard-queue enqueue --help)\n',
  );
  const allowed = await cli(['enqueue', '--file', '-', '--allow-empty', '--redis-url', server.url], { input: '' });
  expect(allowed.code).toBe(0);
  expect(allowed.stdout).toMatch(/^jobS2 \(s2\): pushed 0 items/);
});

describe('push and record succeed or fail together, whatever the server answers', () => {
  test('the script cache flushed again and again mid-run (NOSCRIPT): every scene queued and recorded once', async () => {
    const count = 4 * BATCH_SIZE;
    const file = sceneFile('flushed.txt', sceneIds(count));
    // The cache is flushed before each piece of the run's commands reaches Redis: its batches,
    // and its lock's scripts (EVALSHA), meet an empty cache whenever they come, however fast
    // the run is.
    let flushes = 0;
    const relay = await RedisRelay.start(server.port, {
      beforeEach: async () => {
        await redis.script('FLUSH');
        flushes += 1;
      },
    });
    const run = await cli(['enqueue', '--file', file, '--redis-url', relay.url, '--json']);
    await relay.close();
    expect(flushes).toBeGreaterThan(0);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(await redis.llen('jobS2')).toBe(count);
    expect(await redis.strlen('jobS2:enqueued')).toBe(count * 16);
  });

  test('a record at the maximum string size (proto-max-bulk-len): exit 1, the batch not pushed', async () => {
    const small = await RedisServer.start({ args: ['--proto-max-bulk-len', '1mb'] });
    const client = new Redis(small.url);
    try {
      // A record 10 digests short of 1 MB: the next batch's APPEND is refused.
      await client.set('jobS2:enqueued', Buffer.alloc(1024 * 1024 - 160, 1));
      const run = await cli(['enqueue', ...sceneIds(20), '--redis-url', small.url]);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(
        'error: the batch was not pushed: the dedupe record jobS2:enqueued refused it: ERR string exceeds maximum allowed size (proto-max-bulk-len); nothing pushed\n',
      );
      expect(await client.llen('jobS2')).toBe(0);
      expect(await client.strlen('jobS2:enqueued')).toBe(1024 * 1024 - 160);
      expect(await client.exists('jobS2:enqueue_lock')).toBe(0);
    } finally {
      client.disconnect();
      await small.stop();
    }
  }, 30_000);

  test('a record of the wrong type under --force: exit 1 with an error object for --json, nothing pushed', async () => {
    await redis.hset('jobS2:enqueued', 'x', 'y');
    const run = await cli(['enqueue', scene(1), scene(2), '--force', '--json', '--redis-url', server.url]);
    expect(run.code).toBe(1);
    // Every mode that writes reads the record's shards first (to choose the one to append to),
    // so the wrong type is refused before anything is sent.
    const message =
      'jobS2:enqueued is a hash, not the dedupe record this version writes (a string of 16-byte scene digests); ' +
      'it was written by an older version of the queue tool: migrate or delete it before enqueueing; nothing pushed';
    expect(JSON.parse(run.stdout)).toEqual({ error: { exitCode: 1, message } });
    expect(run.stderr).toBe(`error: ${message}\n`);
    expect(await redis.exists('jobS2')).toBe(0);
  });
});

test('--force never pushes a second copy of an item that workers take and recovery moves back meanwhile', async () => {
  // More than one page (10,000 items) of the tool's reads, so that moves land between its
  // pages as well as between its reads of the two lists.
  const count = 12_000;
  const scenes = sceneIds(count);
  await redis.rpush('jobS2', ...scenes.map(item));
  // Before each piece of the tool's commands reaches Redis, requeue-expired (grace 0: at first
  // sight) LPUSHes back to pending's left end the item a "worker" took without a lease, and
  // the worker takes the next from pending's right end: between any two reads of the tool,
  // an item goes from processing to pending and another from pending to processing.
  const churn = new Redis(server.url);
  let moves = 0;
  let requeued = 0;
  const relay = await RedisRelay.start(server.port, {
    beforeEach: async () => {
      requeued += (await requeueExpired(churn, 'jobS2', { graceSeconds: 0 })).requeued;
      if ((await churn.rpoplpush('jobS2', 'jobS2:processing')) !== null) moves += 1;
    },
  });
  try {
    const file = sceneFile('force.txt', scenes);
    const run = await cli(['enqueue', '--file', file, '--force', '--json', '--redis-url', relay.url]);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toMatchObject({ pushed: 0, skippedPendingOrProcessing: count });
  } finally {
    await relay.close();
    churn.disconnect();
  }
  expect(moves).toBeGreaterThan(0);
  expect(requeued).toBeGreaterThan(0);
  const all = [...(await redis.lrange('jobS2', 0, -1)), ...(await redis.lrange('jobS2:processing', 0, -1))];
  expect(all.length).toBe(count);
  expect(new Set(all).size).toBe(count);
  expect(await redis.keys('jobS2:force_snapshot:*')).toEqual([]);
});

test('reset-record: a new campaign or a queue filled by hand never gets identical items next to queued ones', async () => {
  // Scenes 0-2 done by an earlier campaign (recorded, gone); 3-4 pending, pushed by hand (unrecorded); 5 processing.
  await redis.append('jobS2:enqueued', Buffer.concat([0, 1, 2].map((i) => sceneDigest(scene(i)))));
  await redis.rpush('jobS2', item(scene(3)), item(scene(4)));
  await redis.rpush('jobS2:processing', item(scene(5)));
  const dry = await cli(['reset-record', '--dry-run', '--json', '--redis-url', server.url]);
  expect(JSON.parse(dry.stdout)).toEqual({ queue: 'jobS2', workflow: 's2', dryRun: true, recordedBefore: 3, queuedItems: 3, recordedAfter: 3 });
  expect(await redis.strlen('jobS2:enqueued')).toBe(3 * 16);
  const reset = await cli(['reset-record', '--redis-url', server.url]);
  expect(reset.stdout).toBe('jobS2: dedupe record reset to 3 scenes (of 3 items pending or processing); it held 3 recordings\n');
  const campaign = await cli(['enqueue', ...sceneIds(7), '--json', '--redis-url', server.url]);
  expect(JSON.parse(campaign.stdout)).toMatchObject({ pushed: 4, skippedEnqueuedBefore: 3 });
  const all = [...(await redis.lrange('jobS2', 0, -1)), ...(await redis.lrange('jobS2:processing', 0, -1))];
  expect(all.sort()).toEqual(sceneIds(7).map(item).sort());
  expect(await redis.keys('jobS2:force_snapshot:*')).toEqual([]);
  // Refused while an enqueue holds the lock.
  await redis.set('jobS2:enqueue_lock', 'other-run', 'PX', 30_000);
  const locked = await cli(['reset-record', '--redis-url', server.url]);
  expect(locked.code).toBe(1);
  expect(locked.stderr).toMatch(/^error: another enqueue is writing to jobS2 \(run other-run/);
});

describe('memory headroom (maxmemory, noeviction)', () => {
  // A small maxmemory, so that a run of a few batches fits and one of a few more does not.
  let small: RedisServer;
  let client: Redis;
  beforeAll(async () => {
    small = await RedisServer.start({ args: ['--maxmemory', '4mb', '--maxmemory-policy', 'noeviction'] });
    client = new Redis(small.url);
  }, 20_000);
  afterAll(async () => {
    client.disconnect();
    await small.stop();
  });
  beforeEach(() => client.flushall());

  test('a run that would not fit is refused with exit 1 and the amount needed, pushing nothing', async () => {
    // ~5.3 MB needed (~186 bytes an item, margin included), ~3 MB free.
    const file = sceneFile('too-big.txt', sceneIds(30_000));
    const run = await cli(['enqueue', '--file', file, '--redis-url', small.url]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^error: Redis has [\d.]+ MB free of its maxmemory 4\.0 MB \([\d.]+ MB used, policy noeviction\); this run needs about [\d.]+ MB \(30,000 items of ~109 bytes, 25 % margin\), [\d.]+ MB more than is free\. Raise Redis's maxmemory \(and its memory limit\), let workers drain the queue, or enqueue the input in parts; nothing pushed\n$/,
    );
    expect(await client.dbsize()).toBe(0);
    const fits = await cli(['enqueue', ...sceneIds(100), '--redis-url', small.url]);
    expect(fits.code).toBe(0);
    expect(await client.llen('jobS2')).toBe(100);
  });

  test('Redis refusing writes mid-run (OOM): exit 1 saying what was pushed, whole batches recorded, lock released', async () => {
    const count = 2 * BATCH_SIZE; // ~1.9 MB: fits
    const file = sceneFile('oom.txt', sceneIds(count));
    // Memory runs out while the run pushes: it is held at its second batch's MULTI, its first
    // batch done, while the limit drops to what Redis holds now, so the refusal comes mid-run.
    const relay = await RedisRelay.start(small.port, { holdAt: { nth: 2, command: 'MULTI' } });
    const child = spawnCli(['enqueue', '--file', file, '--redis-url', relay.url]);
    const done = exitOf(child);
    await heldMidRun(child, relay, async () => (await client.llen('jobS2')) >= BATCH_SIZE);
    const used = Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1]);
    await client.config('SET', 'maxmemory', String(used));
    relay.release();
    const run = await done;
    await relay.close();
    await client.config('SET', 'maxmemory', '4mb');
    expect(run.code).toBe(1);
    const pushed = await client.llen('jobS2');
    expect(pushed).toBe(BATCH_SIZE);
    expect(run.stderr).toMatch(new RegExp(`^error: Redis is out of memory \\(maxmemory reached\\) and refused a batch, which was not pushed: OOM .*; pushed 5,000 of 10,000 scenes in whole batches; re-run to finish: nothing will be duplicated\n$`));
    expect(await client.strlen('jobS2:enqueued')).toBe(pushed * 16);
    await until(async () => (await client.exists('jobS2:enqueue_lock')) === 0, 5_000);
  });
});
