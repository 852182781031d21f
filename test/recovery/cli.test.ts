import Redis from 'ioredis';
import { leaseKey, queueKeys } from '../../protocol/queue-keys';
import { sceneOfItem } from '../../queue/items';
import { runCli } from '../support/cli';
import { RedisServer, useRedisServer } from '../support/redis-server';
import { s2Items } from '../support/scenes';

// The recovery subcommands of the compiled tool (`node build/queue/cli.js`, built by `npm test`).

const K = queueKeys('jobS2');
const [A, B, C] = s2Items(3);
const sceneOf = (item: string): string => sceneOfItem(item)!;

const fixture = useRedisServer();
let server: RedisServer;
let redis: Redis;

beforeAll(() => {
  ({ server, redis } = fixture);
});

/** Runs the compiled tool with stdin closed. */
const cli = async (...args: string[]) => {
  const { code, stdout, stderr } = await runCli(args);
  return { code, stdout, stderr };
};

beforeEach(async () => {
  await redis.unlink(K.pending, K.processing, K.attempts, K.unleasedSince, K.deadLetter, leaseKey(K, A));
});

test('requeue-expired: moves unleased items, reports JSON; dry run writes nothing', async () => {
  await redis.rpush(K.processing, A, B);
  await redis.setex(leaseKey(K, A), 30, 's');
  const dry = await cli('requeue-expired', '--grace-seconds', '0', '--dry-run', '--json', '--redis-url', server.url);
  expect(dry.code).toBe(0);
  expect(JSON.parse(dry.stdout)).toEqual({
    queue: 'jobS2', workflow: 's2', dryRun: true, graceSeconds: 0, maxAttempts: 3,
    requeued: 1, deadLettered: 0, waiting: 0, leased: 1, requeuedItems: [B], deadLetteredItems: [], waitingItems: [],
  });
  expect(await redis.lrange(K.processing, 0, -1)).toEqual([A, B]);

  const real = await cli('requeue-expired', '--queue', 'jobS2', '--grace-seconds', '0', '--redis-url', server.url);
  expect(real).toEqual({
    code: 0,
    stderr: '',
    stdout: `jobS2: requeued 1, dead-lettered 0 (attempt 3), waiting out the 0 s grace period 0, leased by live workers 1\n  requeued: ${B}\n`,
  });
  expect(await redis.lrange(K.pending, 0, -1)).toEqual([B]);
  expect(await redis.lrange(K.processing, 0, -1)).toEqual([A]);
}, 20_000);

test('requeue-expired: bad options exit 2 naming the flag; unreachable Redis exits 1', async () => {
  const bad = await cli('requeue-expired', '--max-attempts', '0', '--redis-url', server.url);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("--max-attempts must be an integer >= 1, got '0'");
  const grace = await cli('requeue-expired', '--grace-seconds', '1.5', '--redis-url', server.url);
  expect(grace.code).toBe(2);
  expect(grace.stderr).toContain("--grace-seconds must be an integer >= 0, got '1.5'");
  const down = await cli('requeue-expired', '--redis-url', 'redis://127.0.0.1:1');
  expect(down.code).toBe(1);
  expect(down.stderr).toContain('cannot connect to Redis at redis://127.0.0.1:1');
  for (const name of ['requeue-expired', 'dead-letters', 'retry-dead-letters']) {
    const help = await cli(name, '--help');
    expect([help.code, help.stdout]).toEqual([0, expect.stringContaining(`ard-queue ${name}`)]);
  }
}, 20_000);

test('requeue-expired: a dead-letter key of another type exits 1 naming it; the item stays in processing', async () => {
  await redis.rpush(K.processing, A);
  await redis.set(K.deadLetter, 'not a list');
  const run = await cli('requeue-expired', '--grace-seconds', '0', '--max-attempts', '1', '--redis-url', server.url);
  expect(await redis.lrange(K.processing, 0, -1)).toEqual([A]);
  expect(run.code).toBe(1);
  expect(run.stderr).toContain("requeue-expired: key 'jobS2:dead_letter' is a string, not a list");
}, 20_000);

test('dead letters: listed (status counts them), retried by scene ID, a wrong name changes nothing', async () => {
  await redis.rpush(K.deadLetter, A, B, C);
  await redis.hset(K.attempts, A, '3', B, '3', C, '3');

  const status = await cli('status', '--workflow', 's2', '--json', '--redis-url', server.url);
  expect(JSON.parse(status.stdout)).toMatchObject({ deadLettered: 3 });

  const list = await cli('dead-letters', '--limit', '2', '--json', '--redis-url', server.url);
  expect(JSON.parse(list.stdout)).toEqual({
    queue: 'jobS2', workflow: 's2', total: 3,
    items: [{ item: A, scene: sceneOf(A), attempts: 3 }, { item: B, scene: sceneOf(B), attempts: 3 }],
  });
  const text = await cli('dead-letters', '--redis-url', server.url);
  expect(text.stdout).toBe(`jobS2: 3 dead-lettered items\n  attempts  scene (or item)\n${[A, B, C].map((i) => `         3  ${sceneOf(i)}`).join('\n')}\n`);

  const wrong = await cli('retry-dead-letters', sceneOf(A), 'S2A_NOT_THERE', '--redis-url', server.url);
  expect(wrong.code).toBe(2);
  expect(wrong.stderr).toContain('not in the dead-letter list of jobS2: S2A_NOT_THERE');
  expect(await redis.llen(K.deadLetter)).toBe(3);

  const neither = await cli('retry-dead-letters', '--redis-url', server.url);
  expect([neither.code, neither.stderr]).toEqual([2, expect.stringContaining('name the items or scene IDs to retry, or --all')]);

  const one = await cli('retry-dead-letters', sceneOf(A), '--json', '--redis-url', server.url);
  expect(JSON.parse(one.stdout)).toEqual({ queue: 'jobS2', workflow: 's2', dryRun: false, retried: [A], alreadyQueued: [], missing: [] });
  expect(await redis.lrange(K.pending, 0, -1)).toEqual([A]);
  expect(await redis.hget(K.attempts, A)).toBeNull();

  const rest = await cli('retry-dead-letters', '--all', '--redis-url', server.url);
  expect(rest.code).toBe(0);
  expect(rest.stdout).toContain('jobS2: put back 2, already queued 0, no longer dead-lettered 0');
  expect(await redis.lrange(K.pending, 0, -1)).toEqual([A, B, C]);
  expect(await redis.llen(K.deadLetter)).toBe(0);
}, 30_000);
