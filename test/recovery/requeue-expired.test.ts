import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import Redis from 'ioredis';
import { leaseKey, queueKeys } from '../../protocol/queue-keys';
import { DEFAULT_GRACE_SECONDS, DEFAULT_MAX_ATTEMPTS, requeueExpiredArguments } from '../../protocol/recovery';
import { listDeadLetters, requeueExpired, retryDeadLetters, selectDeadLetters } from '../../queue/recovery';
import { RedisServer, useRedisServer } from '../support/redis-server';
import { s2Items } from '../support/scenes';
import { LocalPod, toRedisAt } from '../support/pod';
import { committedObjects, onlyOfKind } from '../support/manifests';
import { writeCommittedConfigMapFile } from './support';
import { sleep } from '../support/wait';

const Q = 'jobS2';
const K = queueKeys(Q);
// The script as the CronJob runs it: the bundled file that the committed dist/ mounts.
const TMP = mkdtempSync(path.join(tmpdir(), 'ard-requeue-'));
const SCRIPT_FILE = path.join(TMP, 'requeue-expired.lua');
const SCRIPT = writeCommittedConfigMapFile('requeue-expired.lua', SCRIPT_FILE);

const fixture = useRedisServer();
let server: RedisServer;
let redis: Redis;
/** A second connection, as a worker's own. */
let worker: Redis;

beforeAll(() => {
  ({ server, redis } = fixture);
  worker = fixture.connect();
});

afterAll(() => rmSync(TMP, { recursive: true, force: true }));

// Each test owns the whole keyspace of the test server. UNLINK of known keys, not FLUSHALL:
// the same code must be fine against our redis.conf, which disables FLUSHALL.
beforeEach(async () => {
  const keys = [K.pending, K.processing, K.attempts, K.unleasedSince, K.deadLetter];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${K.leasePrefix}*`, 'COUNT', 1000);
    keys.push(...found);
    cursor = next;
  } while (cursor !== '0');
  await redis.unlink(...keys);
});

/** Everything the script may touch, for "nothing changed" comparisons. */
async function snapshot() {
  return {
    pending: await redis.lrange(K.pending, 0, -1),
    processing: await redis.lrange(K.processing, 0, -1),
    attempts: await redis.hgetall(K.attempts),
    unleasedSince: await redis.hgetall(K.unleasedSince),
    deadLetter: await redis.lrange(K.deadLetter, 0, -1),
  };
}

/** A worker's BRPOPLPUSH, as the real ones do it. */
const take = () => worker.brpoplpush(K.pending, K.processing, 1);
const lease = (item: string, secs = 30) => worker.setex(leaseKey(K, item), secs, 'session');

const [A, B, C, D] = s2Items(4);

describe('defaults', () => {
  test('grace period and attempts are within what the issue asks', () => {
    expect(DEFAULT_GRACE_SECONDS).toBeGreaterThanOrEqual(30);
    expect(DEFAULT_MAX_ATTEMPTS).toBeGreaterThanOrEqual(3);
    expect(DEFAULT_MAX_ATTEMPTS).toBeLessThanOrEqual(5);
  });

  test('arguments are validated with the option name and value', () => {
    expect(() => requeueExpiredArguments(K, { graceSeconds: -1 })).toThrow("'graceSeconds' must be a non-negative integer, got -1");
    expect(() => requeueExpiredArguments(K, { maxAttempts: 0 })).toThrow("'maxAttempts' must be a positive integer, got 0");
    expect(requeueExpiredArguments(K, { graceSeconds: 5, maxAttempts: 4, dryRun: true })).toEqual({
      keys: ['jobS2', 'jobS2:processing', 'jobS2:attempts', 'jobS2:unleased_since', 'jobS2:dead_letter'],
      args: ['jobS2:leased_by_session:', '5', '4', '1'],
    });
  });
});

describe('requeue-expired.lua', () => {
  test('an item with a live lease is left alone, and an earlier unleased sighting is forgotten', async () => {
    await redis.rpush(K.pending, A);
    await take();
    expect(await requeueExpired(redis, Q, { graceSeconds: 30 })).toMatchObject({ waiting: 1, leased: 0 });
    expect(await redis.hexists(K.unleasedSince, A)).toBe(1);
    await lease(A);
    const result = await requeueExpired(redis, Q, { graceSeconds: 0 });
    expect(result).toMatchObject({ requeued: 0, deadLettered: 0, waiting: 0, leased: 1 });
    expect(await snapshot()).toEqual({ pending: [], processing: [A], attempts: {}, unleasedSince: {}, deadLetter: [] });
  });

  test('an unleased item waits out the grace period, then goes to the far end of the queue', async () => {
    // A grace of 2 s: the second sighting, 50 ms after the first, stays inside it however loaded
    // the machine is (a stall of 2 s would be needed to break that).
    const grace = { graceSeconds: 2 };
    await redis.rpush(K.pending, B, C, A); // workers take A first (right end)
    await take(); // A: its worker dies before (or after) leasing; no lease key now
    expect(await requeueExpired(redis, Q, grace)).toMatchObject({ requeued: 0, waiting: 1, waitingItems: [A] });
    const firstSeen = Number(await redis.hget(K.unleasedSince, A));
    /** Redis' clock in ms, as the script reads it. */
    const redisNow = async (): Promise<number> => {
      const [seconds, micros] = await redis.time();
      return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    };
    expect(Math.abs(firstSeen - (await redisNow()))).toBeLessThan(2000);
    await sleep(50); // a later sighting, at a later millisecond
    expect(await requeueExpired(redis, Q, grace)).toMatchObject({ requeued: 0, waiting: 1 });
    expect(Number(await redis.hget(K.unleasedSince, A))).toBe(firstSeen); // not reset by a later sighting
    // Once 2 s have passed since the first sighting (Redis' clock, as the script reads it):
    await sleep(Math.max(0, firstSeen + 2_000 - (await redisNow())) + 20);
    expect(await requeueExpired(redis, Q, grace)).toMatchObject({ requeued: 1, waiting: 0, requeuedItems: [A] });
    // LPUSH: A is now the last item workers will take, behind B and C.
    expect(await snapshot()).toEqual({ pending: [A, B, C], processing: [], attempts: { [A]: '1' }, unleasedSince: {}, deadLetter: [] });
    expect(await take()).toBe(C);
  });

  test('grace 0 requeues at first sight', async () => {
    await redis.rpush(K.processing, A);
    expect(await requeueExpired(redis, Q, { graceSeconds: 0 })).toMatchObject({ requeued: 1 });
    expect(await redis.lrange(K.pending, 0, -1)).toEqual([A]);
  });

  test('attempts are counted, and the Kth take-back dead-letters the item', async () => {
    await redis.rpush(K.pending, A, B);
    for (let attempt = 1; attempt <= 3; attempt++) {
      expect(await take()).toBe(B); // B keeps killing its worker
      const result = await requeueExpired(redis, Q, { graceSeconds: 0, maxAttempts: 3 });
      expect(await redis.hget(K.attempts, B)).toBe(String(attempt));
      if (attempt < 3) {
        expect(result).toMatchObject({ requeued: 1, deadLettered: 0 });
        expect(await redis.lrange(K.pending, 0, -1)).toEqual([B, A]);
        await redis.lmove(K.pending, K.pending, 'LEFT', 'RIGHT'); // back on top, for the next take
      } else {
        expect(result).toMatchObject({ requeued: 0, deadLettered: 1, deadLetteredItems: [B] });
      }
    }
    expect(await snapshot()).toEqual({ pending: [A], processing: [], attempts: { [B]: '3' }, unleasedSince: {}, deadLetter: [B] });
    expect(await listDeadLetters(redis, Q)).toEqual({ total: 1, items: [{ item: B, scene: JSON.parse(B).in_scene, attempts: 3 }] });
  });

  test('dry run reports what a real run would do and writes nothing, not even first sightings', async () => {
    await redis.rpush(K.processing, A, B, C, D);
    await redis.setex(leaseKey(K, A), 30, 's'); // A leased
    const [seconds] = await redis.time();
    const longAgo = String(Number(seconds) * 1000 - 10_000);
    await redis.hset(K.unleasedSince, B, longAgo, C, longAgo, 'gone-item', longAgo); // B, C past grace
    await redis.hset(K.attempts, C, '2'); // C's next take-back is its 3rd
    // D never seen: waiting
    const before = await snapshot();
    const result = await requeueExpired(redis, Q, { graceSeconds: 5, maxAttempts: 3, dryRun: true });
    expect(result).toMatchObject({
      dryRun: true, requeued: 1, deadLettered: 1, waiting: 1, leased: 1,
      requeuedItems: [B], deadLetteredItems: [C], waitingItems: [D],
    });
    expect(await snapshot()).toEqual(before);
    // The same state without dry run does exactly what was reported.
    expect(await requeueExpired(redis, Q, { graceSeconds: 5, maxAttempts: 3 })).toEqual({ ...result, dryRun: false });
    expect(await snapshot()).toEqual({
      pending: [B], processing: [A, D], attempts: { [B]: '1', [C]: '3' },
      unleasedSince: { [D]: expect.any(String) }, deadLetter: [C],
    });
  });

  test('duplicate copies of an unleased item are all moved, each copy exactly once', async () => {
    await redis.rpush(K.processing, A, B, A);
    expect(await requeueExpired(redis, Q, { graceSeconds: 0 })).toMatchObject({ requeued: 3, requeuedItems: [A, B] });
    expect((await redis.lrange(K.pending, 0, -1)).sort()).toEqual([A, A, B].sort());
    expect(await redis.llen(K.processing)).toBe(0);
    expect(await redis.hget(K.attempts, A)).toBe('1');
  });

  // Recovery runs atomically between any two of a worker's commands. At every such point,
  // with the worker alive, the item must end up done exactly once and be nowhere else.
  describe.each([
    ['after BRPOPLPUSH, before SETEX (grace covers the gap)', 1, 0],
    ['after SETEX (leased)', 0, 1],
    ['after LREM, before DEL', 0, 2],
    ['after DEL', 0, 3],
  ])('a worker completing concurrently: recovery %s', (_point, graceSeconds, stepsBefore) => {
    test('cannot lose or duplicate the item', async () => {
      await redis.rpush(K.pending, A);
      const steps = [
        async () => expect(await take()).toBe(A),
        () => lease(A),
        () => worker.lrem(K.processing, 0, A),
        () => worker.del(leaseKey(K, A)),
      ];
      for (const step of steps.slice(0, stepsBefore + 1)) await step();
      const result = await requeueExpired(redis, Q, { graceSeconds });
      expect(result.requeued + result.deadLettered).toBe(0);
      for (const step of steps.slice(stepsBefore + 1)) await step();
      for (let i = 0; i < 3; i++) await requeueExpired(redis, Q, { graceSeconds: 0 });
      expect(await snapshot()).toEqual({ pending: [], processing: [], attempts: {}, unleasedSince: {}, deadLetter: [] });
    });
  });

  // The script used to tombstone an entry, then push it: a push raising WRONGTYPE aborted the
  // call with the tombstone kept (no roll-back), and the next call removed it - the item lost.
  describe.each([
    ['dead-letter list', K.deadLetter, 1],
    ['pending list', K.pending, 3],
  ])('a %s of another type', (_name, key, maxAttempts) => {
    test('fails the call naming the key, writes nothing, and the run after the fix moves the items', async () => {
      await redis.rpush(K.processing, A, B);
      await redis.set(key, 'not a list');
      const failure = await requeueExpired(redis, Q, { graceSeconds: 0, maxAttempts }).then(() => 'no error', (e: Error) => e.message);
      expect(await redis.lrange(K.processing, 0, -1)).toEqual([A, B]);
      expect(await redis.hgetall(K.attempts)).toEqual({});
      expect(failure).toContain(`requeue-expired: key '${key}' is a string, not a list`);
      await redis.unlink(key);
      await requeueExpired(redis, Q, { graceSeconds: 0, maxAttempts });
      expect(await redis.llen(K.processing)).toBe(0);
      expect((await redis.lrange(key, 0, -1)).sort()).toEqual([A, B].sort());
    });
  });

  test('bad arguments fail with the argument named', async () => {
    const { keys } = requeueExpiredArguments(K);
    const lua = SCRIPT;
    await expect(redis.eval(lua, 5, ...keys, K.leasePrefix, 'soon', '3', '0')).rejects.toThrow(
      "requeue-expired: 'graceSeconds' (ARGV[2]) must be an integer >= 0, got soon",
    );
    await expect(redis.eval(lua, 5, ...keys, K.leasePrefix, '1', '0', '0')).rejects.toThrow(
      "'maxAttempts' (ARGV[3]) must be an integer >= 1, got 0",
    );
    await expect(redis.eval(lua, 5, ...keys, K.leasePrefix, '1', '3', 'yes')).rejects.toThrow(
      "'dryRun' (ARGV[4]) must be 0 or 1, got yes",
    );
    await expect(redis.eval(lua, 2, K.pending, K.processing, K.leasePrefix, '1', '3', '0')).rejects.toThrow(
      'expected 5 keys (pending processing attempts unleasedSince deadLetter), got 2',
    );
  });

  test('the cursor and chunk arguments are checked', async () => {
    const { keys, args } = requeueExpiredArguments(K);
    await expect(redis.eval(SCRIPT, 5, ...keys, ...args, '0', 'x:1')).rejects.toThrow(
      "'cursor' (ARGV[6]) must be 0 or a cursor a previous call returned, got x:1",
    );
    await expect(redis.eval(SCRIPT, 5, ...keys, ...args, '0', '0', '0')).rejects.toThrow("'chunk' (ARGV[7]) must be an integer >= 1, got 0");
  });
});

describe('a run in calls of a bounded chunk', () => {
  /** Runs the script call after call as the CronJob does, returning each call's reply. */
  async function calls(options: { graceSeconds: number; chunk: number; between?: () => Promise<unknown> }): Promise<(string | number)[][]> {
    const { keys, args } = requeueExpiredArguments(K, { graceSeconds: options.graceSeconds });
    const replies: (string | number)[][] = [];
    let cursor = '0';
    do {
      const reply = (await redis.eval(SCRIPT, 5, ...keys, ...args, '0', cursor, String(options.chunk))) as (string | number)[];
      replies.push(reply);
      cursor = String(reply[4]);
      await options.between?.();
    } while (cursor !== '0');
    return replies;
  }
  const looked = (reply: (string | number)[]) => reply.slice(0, 4).reduce<number>((sum, n) => sum + Number(n), 0);

  test('each call looks at no more than chunk entries; summed, the run does what one look at all would', async () => {
    const items = s2Items(10);
    await redis.rpush(K.processing, ...items);
    for (const item of items.slice(0, 4)) await redis.setex(leaseKey(K, item), 30, 's');
    const [seconds] = await redis.time();
    // Seen unleased long ago: 4 and 5 are past the grace period; 'gone' left processing.
    await redis.hset(K.unleasedSince, items[4], '1', items[5], '1', 'gone', '1');
    const replies = await calls({ graceSeconds: 30, chunk: 3 });
    // 4 calls of processing (3+3+3+1 entries), then the clean-up of unleasedSince.
    expect(replies.map(looked).slice(0, 5)).toEqual([3, 3, 3, 1, 0]);
    expect(replies.slice(4).every((r) => looked(r) === 0 && /^(\d+:h\d+|0)$/.test(String(r[4])))).toBe(true);
    expect(replies.map((r) => r.slice(0, 4).map(Number)).reduce((a, r) => a.map((n, i) => n + r[i]))).toEqual([2, 0, 4, 4]);
    expect(await redis.lrange(K.processing, 0, -1)).toEqual([...items.slice(0, 4), ...items.slice(6)]);
    expect((await redis.lrange(K.pending, 0, -1)).sort()).toEqual([items[4], items[5]].sort());
    const since = await redis.hgetall(K.unleasedSince);
    expect(Object.keys(since).sort()).toEqual(items.slice(6).sort());
    expect(Object.values(since).every((ms) => Number(ms) >= Number(seconds) * 1000)).toBe(true);
  });

  test('workers taking and completing items between calls: no item lost, doubled or passed over', async () => {
    const items = s2Items(400);
    const expired = new Set(items.filter((_, i) => i % 4 === 0));
    await redis.rpush(K.processing, ...items);
    const leased = items.filter((item) => !expired.has(item));
    for (const item of leased) await redis.setex(leaseKey(K, item), 60, 's');
    const fresh = s2Items(200, 400);
    await redis.rpush(K.pending, ...fresh);
    // Between calls a worker completes a leased item (LREM, DEL) behind the cursor, and another
    // takes and leases a fresh one (BRPOPLPUSH, SETEX): the list shifts under the cursor.
    const completed: string[] = [];
    const between = async () => {
      const done = leased.pop();
      if (done !== undefined) {
        await worker.lrem(K.processing, 0, done);
        await worker.del(leaseKey(K, done));
        completed.push(done);
      }
      const taken = await take();
      if (taken) await lease(taken);
    };
    const replies = await calls({ graceSeconds: 0, chunk: 7, between });
    expect(Math.max(...replies.map(looked))).toBeLessThanOrEqual(7);
    expect(completed.length).toBeGreaterThan(50);
    expect(replies.reduce((sum, r) => sum + Number(r[0]), 0)).toBe(expired.size);
    const pending = await redis.lrange(K.pending, 0, -1);
    const processing = await redis.lrange(K.processing, 0, -1);
    expect(pending.filter((item) => expired.has(item)).sort()).toEqual([...expired].sort());
    // Each item exactly once in pending, processing or done; no leased item moved.
    expect([...pending, ...processing, ...completed].sort()).toEqual([...items, ...fresh].sort());
    expect(await redis.llen(K.deadLetter)).toBe(0);
  });

  test('when the entry a call looked at last leaves processing, what the run passes over is the next run\'s', async () => {
    const items = s2Items(10); // the tail (looked at first) is items[9]
    await redis.rpush(K.processing, ...items);
    for (const item of items.slice(7)) await redis.setex(leaseKey(K, item), 60, 's');
    let first = true;
    const between = async () => {
      if (!first) return;
      first = false;
      for (const done of [items[7], items[8]]) await worker.lrem(K.processing, 0, done); // 7: the anchor
    };
    const requeued = async (run: Promise<(string | number)[][]>) => (await run).reduce((sum, r) => sum + Number(r[0]), 0);
    expect(await requeued(calls({ graceSeconds: 0, chunk: 3, between }))).toBe(5); // 6 and 5 passed over
    expect(await redis.lrange(K.processing, 0, -1)).toEqual([items[5], items[6], items[9]]);
    expect(await requeued(calls({ graceSeconds: 0, chunk: 3 }))).toBe(2);
    expect((await redis.lrange(K.pending, 0, -1)).sort()).toEqual(items.slice(0, 7).sort());
    expect(await redis.lrange(K.processing, 0, -1)).toEqual([items[9]]);
  });

  test('a tombstone left in processing (a call that failed half-way) is removed, never handed out', async () => {
    await redis.rpush(K.processing, A, '\0requeue-expired: moved\0', B);
    await redis.setex(leaseKey(K, A), 30, 's');
    const { keys, args } = requeueExpiredArguments(K, { graceSeconds: 0 });
    expect(await redis.eval(SCRIPT, 5, ...keys, ...args)).toEqual([1, 0, 0, 1, expect.stringMatching(/^\d+:h0$/)]);
    expect(await snapshot()).toEqual({ pending: [B], processing: [A], attempts: { [B]: '1' }, unleasedSince: {}, deadLetter: [] });
  });

  /** Runs `check` with the recovery CronJob of dist/ as a local pod pointed at the test server. */
  async function withCronJob(check: (runJob: () => ReturnType<LocalPod['run']>) => Promise<void>): Promise<void> {
    const password = 'requeue-expired-test-admin-password';
    await redis.call('ACL', 'SETUSER', 'admin', 'on', `>${password}`, '~*', '&*', '+@all');
    const objects = committedObjects('prod');
    const pod = new LocalPod(objects, onlyOfKind(objects, 'CronJob', 's2-requeue-expired'), { 'redis-admin': { password } });
    try {
      await check(() => pod.run('requeue-expired', toRedisAt(server.port)));
    } finally {
      pod.remove();
      await redis.call('ACL', 'DELUSER', 'admin');
    }
  }

  test('the recovery CronJob of dist/, run as written, loops over the calls and prints the run\'s four sums', async () => {
    const items = s2Items(450);
    await redis.rpush(K.processing, ...items);
    for (const item of items.slice(0, 150)) await redis.setex(leaseKey(K, item), 30, 's');
    await redis.hset(K.unleasedSince, ...items.slice(150, 300).flatMap((item) => [item, '1'])); // past grace
    await withCronJob(async (runJob) => {
      await redis.call('CONFIG', 'SET', 'slowlog-log-slower-than', '0', 'slowlog-max-len', '100000');
      await redis.call('SLOWLOG', 'RESET');
      // 450 entries: more than one call's chunk (the default, 200), so it must loop to see all.
      expect(await runJob()).toEqual({ code: 0, stdout: '150\n0\n150\n150\n', stderr: '' });
      const log = (await redis.call('SLOWLOG', 'GET', '-1')) as [number, number, number, string[]][];
      expect(log.filter(([, , , argv]) => /^eval/i.test(String(argv[0]))).length).toBeGreaterThanOrEqual(3);
      expect((await redis.lrange(K.pending, 0, -1)).sort()).toEqual(items.slice(150, 300).sort());
      expect(await redis.lrange(K.processing, 0, -1)).toEqual([...items.slice(0, 150), ...items.slice(300)]);
      expect(await redis.hlen(K.unleasedSince)).toBe(150);
    });
  });

  test('the CronJob fails, naming the key, when a list it writes is of another type; the item stays', async () => {
    await redis.rpush(K.processing, A);
    await redis.hset(K.unleasedSince, A, '1'); // past grace
    await redis.set(K.pending, 'not a list');
    await withCronJob(async (runJob) => {
      const run = await runJob();
      expect(await redis.lrange(K.processing, 0, -1)).toEqual([A]);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain(`requeue-expired: key '${K.pending}' is a string, not a list`);
    });
  });
});

describe('dead letters', () => {
  test('selecting by exact item or scene ID, reporting selectors that match nothing', () => {
    const scene = JSON.parse(B).in_scene as string;
    expect(selectDeadLetters([A, B, 'not json'], [scene, 'not json', A, 'S2B_nothing'])).toEqual({
      selected: [B, 'not json', A],
      unmatched: ['S2B_nothing'],
    });
  });

  test('listing honours the limit and reports the total', async () => {
    await redis.rpush(K.deadLetter, A, B, C);
    await redis.hset(K.attempts, A, '3');
    expect(await listDeadLetters(redis, Q, { limit: 2 })).toEqual({
      total: 3,
      items: [
        { item: A, scene: JSON.parse(A).in_scene, attempts: 3 },
        { item: B, scene: JSON.parse(B).in_scene, attempts: 0 },
      ],
    });
    await expect(listDeadLetters(redis, Q, { limit: 0 })).rejects.toThrow("'limit' must be a positive integer, got 0");
  });

  test('retry moves items back once, resets attempts, never duplicates a queued item; dry run writes nothing', async () => {
    await redis.rpush(K.deadLetter, A, B, A, C);
    await redis.hset(K.attempts, A, '3', B, '3', C, '3');
    await redis.rpush(K.processing, C); // C was re-enqueued meanwhile and is being processed
    const before = await snapshot();
    const dry = await retryDeadLetters(redis, Q, [A, B, C, D], { dryRun: true });
    expect(dry).toEqual({ queue: Q, dryRun: true, retried: [A, B], alreadyQueued: [C], missing: [D] });
    expect(await snapshot()).toEqual(before);

    expect(await retryDeadLetters(redis, Q, [A, A, C, D])).toEqual({
      queue: Q, dryRun: false, retried: [A], alreadyQueued: [C], missing: [D],
    });
    expect(await snapshot()).toEqual({ pending: [A], processing: [C], attempts: { [B]: '3', [C]: '3' }, unleasedSince: {}, deadLetter: [B] });
    // Retrying again finds nothing to do: A is no longer a dead letter.
    expect(await retryDeadLetters(redis, Q, [A])).toMatchObject({ retried: [], missing: [A] });
  });
});
