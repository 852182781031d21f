/**
 * The queue tool against what Redis, the input or the operator may do (issue 10): servers that
 * never answer, passwords in every URL form, malformed URLs and missing databases, script
 * caches flushed mid-run, records Redis refuses to grow, control characters in items, signals
 * and closed pipes. Each runs the compiled tool against a real redis-server.
 */
import { mkdtempSync, readdirSync, writeFileSync } from 'fs';
import * as net from 'net';
import { tmpdir } from 'os';
import * as path from 'path';
import Redis from 'ioredis';
import { exitOf, runCli as cli, sceneFile, spawnCli } from '../support/cli';
import { until } from '../support/wait';
import { RedisServer, useRedisServer } from '../support/redis-server';
import { recoveryLoop } from '../support/recovery-loop';
import { leaseKey, queueKeys } from '../../protocol/queue-keys';
import { s2Item as item, sceneId as scene, sceneIds } from '../support/scenes';

const TMP = mkdtempSync(path.join(tmpdir(), 'ard-queue-hardening-'));




const HINT = "is Redis running there? For the cluster's Redis run: kubectl port-forward -n <namespace> svc/redis-master 6379:6379 (namespace: ard-dev for dev, ard for prod, ard-keda for keda)";

/** One command line per subcommand, each touching Redis. */
const EVERY_SUBCOMMAND: readonly (readonly string[])[] = [
  ['enqueue', scene(1)],
  ['status'],
  ['requeue-expired'],
  ['dead-letters'],
  ['retry-dead-letters', '--all'],
];

const fixture = useRedisServer({ flushBeforeEach: true });
let server: RedisServer;
let redis: Redis;

beforeAll(() => {
  ({ server, redis } = fixture);
});

describe('no hang: a server that accepts connections and never answers', () => {
  let silent: net.Server;
  let port: number;
  const sockets = new Set<net.Socket>();
  beforeAll(async () => {
    silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    port = (silent.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  });

  test('every subcommand gives up after --timeout with exit 1, naming the URL, and exits at once', async () => {
    const runs = await Promise.all(EVERY_SUBCOMMAND.map((args) => cli([...args, '--redis-url', `redis://127.0.0.1:${port}`, '--timeout', '1.5'])));
    for (const [i, run] of runs.entries()) {
      expect(run.code).toBe(1);
      const pushed = EVERY_SUBCOMMAND[i][0] === 'enqueue' ? '; nothing pushed' : '';
      expect(run.stderr).toBe(`error: cannot connect to Redis at redis://127.0.0.1:${port}: no reply within 1.5 s (Command timed out; --timeout sets the limit); ${HINT}${pushed}\n`);
      // No socket timer keeps the process after the failure (ioredis' 2 s disconnectTimeout).
      expect(run.ms).toBeLessThan(1_500 + 1_900);
    }
  }, 60_000);

  test('the default limit is 10 s', async () => {
    const run = await cli(['status', '--redis-url', `redis://127.0.0.1:${port}`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('no reply within 10 s');
    expect(run.ms).toBeGreaterThanOrEqual(10_000);
    expect(run.ms).toBeLessThan(13_000);
  }, 30_000);

  test('a stopped redis-server (SIGSTOP) mid-session: the command in flight gives up', async () => {
    const stopped = await RedisServer.start();
    try {
      process.kill(stopped.pid!, 'SIGSTOP');
      const runs = await Promise.all(EVERY_SUBCOMMAND.map((args) => cli([...args, '--redis-url', stopped.url, '--timeout', '1'])));
      for (const run of runs) {
        expect(run.code).toBe(1);
        expect(run.stderr).toContain(`redis://127.0.0.1:${stopped.port}`);
        expect(run.stderr).toContain('no reply within 1 s');
      }
    } finally {
      process.kill(stopped.pid!, 'SIGCONT');
      await stopped.stop();
    }
  }, 60_000);
});

describe('passwords never printed, and taken without the command line', () => {
  const PASSWORD = 'S3cr@t:p/w?x#y';
  const ENCODED = encodeURIComponent(PASSWORD);
  let secured: RedisServer;
  beforeAll(async () => {
    secured = await RedisServer.start({ args: ['--user', 'admin', 'on', `>${PASSWORD}`, '~*', '&*', '+@all', '--user', 'default', 'off'] });
  }, 20_000);
  afterAll(() => secured.stop());

  const leaks = (text: string): boolean =>
    [PASSWORD, ENCODED, 'S3cr', 'p/w', encodeURIComponent('S3cr@t')].some((form) => text.includes(form));

  test('the password from $REDIS_PASSWORD, $REDIS_PASSWORD_FILE or --password-file works; never two sources', async () => {
    const file = path.join(TMP, 'password');
    writeFileSync(file, `${PASSWORD}\n`);
    const url = `redis://admin@127.0.0.1:${secured.port}`;
    for (const run of [
      await cli(['status', '--queue', 'jobS2', '--json', '--redis-url', url], { env: { REDIS_PASSWORD: PASSWORD } }),
      await cli(['status', '--queue', 'jobS2', '--json', '--redis-url', url], { env: { REDIS_PASSWORD_FILE: file } }),
      await cli(['status', '--queue', 'jobS2', '--json', '--redis-url', url, '--password-file', file]),
      await cli(['status', '--queue', 'jobS2', '--json', '--redis-url', `redis://admin:${ENCODED}@127.0.0.1:${secured.port}`]),
    ]) {
      expect(run.stderr).toBe('');
      expect(JSON.parse(run.stdout)).toMatchObject({ queue: 'jobS2', pending: 0 });
    }
    const twice = await cli(['status', '--redis-url', `redis://admin:${ENCODED}@127.0.0.1:${secured.port}`], { env: { REDIS_PASSWORD: PASSWORD } });
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('error: the Redis password is given twice (the URL and $REDIS_PASSWORD); give it once\n');
  }, 30_000);

  test('no output, error or --json shows the password, whatever URL form carries it', async () => {
    const port = secured.port;
    const wrong = (url: string, env: Record<string, string> = {}) => cli(['status', '--redis-url', url, '--json'], { env });
    const runs = [
      // wrong passwords (WRONGPASS), in each form
      await wrong(`redis://admin:${ENCODED}x@127.0.0.1:${port}`),
      await wrong(`redis://admin:${PASSWORD}@127.0.0.1:${port}`), // '@', ':', '/', '?', '#' unencoded
      await wrong(`redis://admin@127.0.0.1:${port}/?password=${ENCODED}x`),
      await wrong(`redis://adm@in:${ENCODED}x@127.0.0.1:${port}`),
      await wrong(`redis://admin@127.0.0.1:${port}`, { REDIS_PASSWORD: `${PASSWORD}x` }),
      // a server that is not there, a malformed port, a malformed database
      await wrong(`redis://admin:${ENCODED}@127.0.0.1:1`),
      await wrong(`redis://admin:${ENCODED}@127.0.0.1:99999`),
      await wrong(`redis://admin:${ENCODED}@127.0.0.1:${port}/x`),
    ];
    for (const run of runs) {
      expect(run.code).not.toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({ error: { exitCode: run.code, message: expect.any(String) } });
      expect(run.stderr).toMatch(/^error: /);
      expect(leaks(run.stdout + run.stderr)).toBe(false);
    }
    expect(runs[0].stderr).toContain(`redis://admin:***@127.0.0.1:${port}`);
    expect(runs[0].stderr).toContain('WRONGPASS');
  }, 60_000);
});

describe('malformed --redis-url: exit 2 naming the value; a database the server lacks: exit 1', () => {
  test.each([
    ['redis://127.0.0.1:99999', "error: --redis-url 'redis://127.0.0.1:99999': port must be an integer 1-65535, got '99999'"],
    ['redis://127.0.0.1:0', "error: --redis-url 'redis://127.0.0.1:0': port must be an integer 1-65535, got '0'"],
    ['redis://127.0.0.1:63x', "error: --redis-url 'redis://127.0.0.1:63x': port must be an integer 1-65535, got '63x'"],
    ['redis://127.0.0.1:6379/abc', "error: --redis-url 'redis://127.0.0.1:6379/abc': database must be an integer 0-99999 after the host, got 'abc'"],
    ['redis://127.0.0.1:6379/-1', "error: --redis-url 'redis://127.0.0.1:6379/-1': database must be an integer 0-99999 after the host, got '-1'"],
    ['http://127.0.0.1:6379', "error: --redis-url must start with redis:// or rediss://, got 'http://127.0.0.1:6379'"],
    ['redis://127.0.0.1:6379/0?db=1', "error: --redis-url 'redis://127.0.0.1:6379/0?db=1': the only query parameter allowed is 'password', got 'db'"],
  ])('%s', async (url, message) => {
    const run = await cli(['enqueue', scene(1), '--redis-url', url]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`${message}\n(see: ard-queue enqueue --help)\n`);
    expect(await redis.keys('*')).toEqual([]); // nothing written, no lock left behind
  });

  test('a database index the server does not have (--databases 1) fails with exit 1, writing nothing', async () => {
    const one = await RedisServer.start({ args: ['--databases', '1'] });
    try {
      const run = await cli(['enqueue', scene(1), '--redis-url', `${one.url}/1`]);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(
        `error: Redis at redis://127.0.0.1:${one.port}/1 refused database 1: ERR DB index is out of range ` +
          "(the server's 'databases' setting limits the indexes; most deployments use database 0); nothing pushed\n",
      );
      const client = new Redis(one.url);
      expect(await client.dbsize()).toBe(0);
      client.disconnect();
    } finally {
      await one.stop();
    }
  }, 30_000);

  test('a database the server has is used', async () => {
    const run = await cli(['enqueue', scene(1), '--redis-url', `${server.url}/3`]);
    expect(run.code).toBe(0);
    const db3 = new Redis(`${server.url}/3`);
    expect(await db3.lrange('jobS2', 0, -1)).toEqual([item(scene(1))]);
    db3.disconnect();
    expect(await redis.exists('jobS2')).toBe(0);
  });
});

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
    const count = 300_000;
    const file = sceneFile('flushed.txt', sceneIds(count));
    const child = spawnCli(['enqueue', '--file', file, '--redis-url', server.url, '--json']);
    const done = exitOf(child);
    let flushes = 0;
    let exited = false;
    void done.then(() => (exited = true));
    await until(async () => exited || (await redis.llen('jobS2')) > 0);
    while (!exited) {
      await redis.script('FLUSH');
      flushes += 1;
      await new Promise((r) => setTimeout(r, 5));
    }
    const run = await done;
    expect(flushes).toBeGreaterThan(0);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(await redis.llen('jobS2')).toBe(count);
    expect(await redis.strlen('jobS2:enqueued')).toBe(count * 16);
  }, 120_000);

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
  const count = 200_000;
  const scenes = sceneIds(count);
  for (let i = 0; i < count; i += 10_000) await redis.rpush('jobS2', ...scenes.slice(i, i + 10_000).map(item));
  // Churn: a "worker" takes items from pending's right end without leasing them, and
  // requeue-expired (grace 0: at first sight) LPUSHes them back to pending's left end.
  const churn = new Redis(server.url);
  const recovery = recoveryLoop(server.url, 'jobS2', { graceSeconds: 0, periodMs: 0 });
  let running = true;
  let moves = 0;
  const taker = (async () => {
    while (running) {
      await churn.rpoplpush('jobS2', 'jobS2:processing');
      moves += 1;
    }
  })();
  try {
    const file = sceneFile('force.txt', scenes);
    const run = await cli(['enqueue', '--file', file, '--force', '--json', '--redis-url', server.url]);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toMatchObject({ pushed: 0, skippedPendingOrProcessing: count });
  } finally {
    running = false;
    await taker;
    await recovery.stop();
    churn.disconnect();
  }
  expect(moves).toBeGreaterThan(0);
  expect(recovery.runs.reduce((sum, r) => sum + r.requeued, 0)).toBeGreaterThan(0);
  const all = [...(await redis.lrange('jobS2', 0, -1)), ...(await redis.lrange('jobS2:processing', 0, -1))];
  expect(all.length).toBe(count);
  expect(new Set(all).size).toBe(count);
  expect(await redis.keys('jobS2:force_snapshot:*')).toEqual([]);
}, 120_000);

test('reset-record: a new campaign or a queue filled by hand never gets identical items next to queued ones', async () => {
  // Scenes 0-2 done by an earlier campaign (recorded, gone); 3-4 pending, pushed by hand (unrecorded); 5 processing.
  expect((await cli(['enqueue', scene(0), scene(1), scene(2), '--redis-url', server.url])).code).toBe(0);
  await redis.del('jobS2');
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

describe('memory headroom (maxmemory, noeviction)', () => {
  let small: RedisServer;
  let client: Redis;
  beforeAll(async () => {
    small = await RedisServer.start({ args: ['--maxmemory', '40mb', '--maxmemory-policy', 'noeviction'] });
    client = new Redis(small.url);
  }, 20_000);
  afterAll(async () => {
    client.disconnect();
    await small.stop();
  });
  beforeEach(() => client.flushall());

  test('a run that would not fit is refused with exit 1 and the amount needed, pushing nothing', async () => {
    const file = sceneFile('too-big.txt', sceneIds(400_000));
    const run = await cli(['enqueue', '--file', file, '--redis-url', small.url]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^error: Redis has [\d.]+ MB free of its maxmemory 40\.0 MB \([\d.]+ MB used, policy noeviction\); this run needs about [\d.]+ MB \(400,000 items of ~109 bytes, 25 % margin\), [\d.]+ MB more than is free\. Raise Redis's maxmemory \(and its memory limit\), let workers drain the queue, or enqueue the input in parts; nothing pushed\n$/,
    );
    expect(await client.dbsize()).toBe(0);
    const fits = await cli(['enqueue', ...sceneIds(100), '--redis-url', small.url]);
    expect(fits.code).toBe(0);
    expect(await client.llen('jobS2')).toBe(100);
  }, 60_000);

  test('Redis refusing writes mid-run (OOM): exit 1 saying what was pushed, whole batches recorded, lock released', async () => {
    const file = sceneFile('oom.txt', sceneIds(150_000));
    const child = spawnCli(['enqueue', '--file', file, '--redis-url', small.url]);
    const done = exitOf(child);
    await until(async () => (await client.llen('jobS2')) > 0);
    // Another client fills the memory while the run pushes.
    await client.setrange('filler', 30 * 1024 * 1024, 'x');
    const run = await done;
    expect(run.code).toBe(1);
    const pushed = await client.llen('jobS2');
    expect(pushed).toBeLessThan(150_000);
    expect(run.stderr).toMatch(new RegExp(`^error: Redis is out of memory \\(maxmemory reached\\) and refused a batch, which was not pushed: OOM .*; pushed ${pushed.toLocaleString('en-US')} of 150,000 scenes in whole batches; re-run to finish: nothing will be duplicated\n$`));
    expect(pushed % 5_000).toBe(0);
    expect(await client.strlen('jobS2:enqueued')).toBe(pushed * 16);
    await client.del('filler');
    await until(async () => (await client.exists('jobS2:enqueue_lock')) === 0, 5_000);
  }, 60_000);
});

test('retry-dead-letters (and --dry-run) at 1M pending: no single script call holds Redis long, all dead letters handled', async () => {
  const count = 1_000_000;
  for (let i = 0; i < count; i += 50_000) await redis.rpush('jobS2', ...sceneIds(50_000, i).map(item));
  const dead = sceneIds(8, count).map(item);
  await redis.rpush('jobS2:dead_letter', ...dead);
  await redis.call('CONFIG', 'SET', 'slowlog-log-slower-than', '0', 'slowlog-max-len', '100000');
  await redis.call('SLOWLOG', 'RESET');
  const dry = await cli(['retry-dead-letters', '--all', '--dry-run', '--json', '--redis-url', server.url]);
  expect(JSON.parse(dry.stdout)).toMatchObject({ retried: dead });
  const real = await cli(['retry-dead-letters', '--all', '--json', '--redis-url', server.url]);
  expect(JSON.parse(real.stdout)).toMatchObject({ retried: dead, alreadyQueued: [], missing: [] });
  const log = (await redis.call('SLOWLOG', 'GET', '-1')) as [number, number, number, string[]][];
  const scripts = log.filter(([, , , args]) => /^eval/i.test(String(args[0])));
  expect(scripts.length).toBeGreaterThanOrEqual(16); // one call per item: 8 dry, 8 real
  const longest = Math.max(...scripts.map(([, , micros]) => micros));
  expect(longest).toBeLessThan(100_000); // ~25 ms here; one call for all 8 items took ~170 ms
  expect(await redis.llen('jobS2')).toBe(count + 8);
  expect(await redis.llen('jobS2:dead_letter')).toBe(0);
}, 120_000);

test('requeue-expired at 100k processing and 1M pending: no single script call holds Redis long, every expired item requeued once', async () => {
  const pendingCount = 1_000_000;
  const processingCount = 100_000;
  for (let i = 0; i < pendingCount; i += 50_000) await redis.rpush('jobS2', ...sceneIds(50_000, i).map(item));
  const processing = sceneIds(processingCount, pendingCount).map(item);
  for (let i = 0; i < processingCount; i += 50_000) await redis.rpush('jobS2:processing', ...processing.slice(i, i + 50_000));
  const leases = redis.pipeline();
  processing.forEach((it, i) => i % 2 === 1 && leases.setex(leaseKey(queueKeys('jobS2'), it), 300, 's'));
  await leases.exec();
  // Only calls of 1 ms or more: the script's own commands are logged too, and are faster.
  await redis.call('CONFIG', 'SET', 'slowlog-log-slower-than', '1000', 'slowlog-max-len', '100000');
  await redis.call('SLOWLOG', 'RESET');
  const run = await cli(['requeue-expired', '--grace-seconds', '0', '--json', '--redis-url', server.url]);
  expect(JSON.parse(run.stdout)).toMatchObject({ requeued: processingCount / 2, deadLettered: 0, waiting: 0, leased: processingCount / 2 });
  const log = (await redis.call('SLOWLOG', 'GET', '-1')) as [number, number, number, string[]][];
  const scripts = log.filter(([, , , args]) => /^eval/i.test(String(args[0])));
  // At most 200 entries of processing per call (~23 ms each here): at least 500 calls for 100k.
  expect(scripts.length).toBeGreaterThanOrEqual(processingCount / 200);
  // A wide margin for a loaded machine (calls of up to ~200 ms seen at load 6 on 2 cores); the
  // one call before took 56 s (npm run bench:requeue).
  const longest = Math.max(...scripts.map(([, , micros]) => micros));
  expect(longest).toBeLessThan(1_000_000);
  expect(await redis.llen('jobS2')).toBe(pendingCount + processingCount / 2);
  expect(await redis.lrange('jobS2:processing', 0, -1)).toEqual(processing.filter((_, i) => i % 2 === 1));
  expect(await redis.hlen('jobS2:attempts')).toBe(processingCount / 2);
}, 180_000);

test('--queue refuses the internal keys of another queue', async () => {
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
    const run = await cli(['enqueue', scene(1), '--workflow', 's2', '--queue', name, '--redis-url', server.url]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      `error: --queue '${name}' is the ${role} key of queue 'jobS2', not a queue; give the queue's own name, e.g. --queue jobS2\n(see: ard-queue enqueue --help)\n`,
    );
  }
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

describe('signals and closed pipes', () => {
  test.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s mid-run: exit %d promptly, lock released, stdin copy removed, whole batches only', async (signal, code) => {
    const spool = mkdtempSync(path.join(TMP, 'spool-'));
    const child = spawnCli(['enqueue', '--file', '-', '--redis-url', server.url], { env: { TMPDIR: spool } });
    const done = exitOf(child);
    child.stdin!.write(sceneIds(1_000_000).join('\n') + '\n');
    child.stdin!.end();
    await until(async () => (await redis.llen('jobS2')) > 0, 60_000);
    const sent = Date.now();
    child.kill(signal);
    const run = await done;
    expect(Date.now() - sent).toBeLessThan(5_000);
    expect(run.code).toBe(code);
    expect(run.stderr).toMatch(new RegExp(`interrupted \\(${signal}\\), stopping\\npushed [\\d,]+ of 1,000,000 scenes in whole batches; re-run to finish: nothing will be duplicated\\n$`));
    expect(await redis.exists('jobS2:enqueue_lock')).toBe(0);
    expect(readdirSync(spool)).toEqual([]);
    const pushed = await redis.llen('jobS2');
    expect(pushed % 5_000).toBe(0);
    expect(await redis.strlen('jobS2:enqueued')).toBe(pushed * 16);
  }, 120_000);

  test('a reader that goes away (| head) ends the run without a stack trace', async () => {
    await redis.rpush('jobS2:dead_letter', ...sceneIds(50_000).map(item));
    const child = spawnCli(['dead-letters', '--limit', '50000', '--redis-url', server.url]);
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    child.stdout!.once('data', () => child.stdout!.destroy());
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  }, 30_000);
});
