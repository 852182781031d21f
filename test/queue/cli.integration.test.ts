/**
 * Integration tests of the compiled queue tool (`node build/queue/cli.js`, built by `npm test`)
 * against a real redis-server on a free port, with the lease-protocol test worker.
 */
import { execFileSync } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import Redis from 'ioredis';
import { sceneDigest } from '../../queue/digest';
import { leaseKey, queueKeys } from '../../protocol/queue-keys';
import { sceneOfItem as sceneOf } from '../../queue/items';
import { BATCH_SIZE } from '../../queue/push';
import { CliRun, QUEUE_CLI, ROOT, runCli as cli, runProcess, sceneFile, scenesFile, spawnCli } from '../support/cli';
import { exited, waitFor } from '../support/wait';
import { freePort, RedisServer, useRedisServer } from '../support/redis-server';
import { heldMidRun, killWhenHeld, queuedInTransaction, RedisRelay } from '../support/redis-relay';
import { s2Item as item, sceneId as scene } from '../support/scenes';

const WORKER = path.join(ROOT, 'test/support/lease-worker.cjs');
const TMP = mkdtempSync(path.join(tmpdir(), 'ard-queue-test-'));



/** The digests in the dedupe record `jobS2:enqueued` (a string of 16-byte digests), as hex, in order. */
async function recorded(redis: Redis, key = 'jobS2:enqueued'): Promise<string[]> {
  const record = await redis.getrangeBuffer(key, 0, -1);
  expect(record.length % 16).toBe(0);
  return Array.from({ length: record.length / 16 }, (_, i) => record.subarray(16 * i, 16 * i + 16).toString('hex'));
}

const digestHex = (s: string): string => sceneDigest(s).toString('hex');

/**
 * Scenes of the runs caught mid-way: four batches. A relay (RedisRelay) holds the run at its
 * second or third batch's EXEC, so it is caught mid-way however fast the machine is; more
 * batches would only repeat the same transaction.
 */
const MID_RUN_SCENES = 4 * BATCH_SIZE;


/**
 * The enqueue lock's TTL for runs that a test kills: the re-run need not wait 30 s, and the
 * refused re-run still starts well within it on a loaded machine.
 */
const SHORT_LOCK = { ARD_ENQUEUE_LOCK_MS: '4000' };

/** Every key with its type and full content, to compare the whole database before/after. */
async function dumpAll(redis: Redis): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const key of (await redis.keys('*')).sort()) {
    const type = await redis.type(key);
    out[key] = type === 'list' ? await redis.lrange(key, 0, -1) : type === 'hash' ? await redis.hgetall(key) : type === 'string' ? (await redis.getBuffer(key))?.toString('hex') : type;
  }
  return out;
}

const fixture = useRedisServer({ flushBeforeEach: true });
let server: RedisServer;
let redis: Redis;

beforeAll(() => {
  ({ server, redis } = fixture);
});

test('enqueue, drain with a lease-protocol worker until empty, then a re-run adds nothing', async () => {
  const scenes = Array.from({ length: 40 }, (_, i) => scene(i));
  const file = sceneFile('drain.txt', ['# campaign', '', ...scenes.map((s) => `  ${s}  `), scenes[0]]);
  const first = await cli(['enqueue', '--file', file, '--redis-url', server.url, '--json']);
  expect(first.stderr).toBe('');
  expect(first.code).toBe(0);
  expect(JSON.parse(first.stdout)).toMatchObject({ queue: 'jobS2', workflow: 's2', scenes: 41, pushed: 40, skipped: 1, skippedDuplicateInInput: 1, skippedEnqueuedBefore: 0 });
  expect((await redis.lrange('jobS2', 0, -1)).sort()).toEqual(scenes.map(item).sort());
  expect((await recorded(redis)).sort()).toEqual(scenes.map(digestHex).sort()); // one digest per scene pushed
  expect(await redis.exists('jobS2:enqueue_lock')).toBe(0); // released after success

  const worker = await runProcess(process.execPath, [WORKER], { env: { REDIS_URL: server.url, QUEUE: 'jobS2', TIMEOUT_SECS: '1' } });
  expect(worker.code).toBe(0);
  const done = worker.stdout.split('\n').filter((l) => l.startsWith('DONE ')).map((l) => l.slice(5));
  expect(done.sort()).toEqual(scenes.map(item).sort());
  expect(await redis.llen('jobS2')).toBe(0);
  expect(await redis.llen('jobS2:processing')).toBe(0);

  // Completed scenes have left the lists; the dedupe record still keeps them from being queued again.
  // A repeat of a scene recorded by an earlier run counts as 'enqueued by an earlier run'.
  const again = await cli(['enqueue', '--file', file, '--redis-url', server.url]);
  expect(again.code).toBe(0);
  expect(again.stdout).toMatch(/^jobS2 \(s2\): pushed 0 items; skipped 41: 41 enqueued by an earlier run \(use --force to push them again\) \(41 scene IDs read, [\d.]+ s\)\n$/);
  expect(await redis.llen('jobS2')).toBe(0);

  // --force pushes them again, once each.
  const forced = await cli(['enqueue', '--file', file, '--force', '--redis-url', server.url, '--json']);
  expect(JSON.parse(forced.stdout)).toMatchObject({ pushed: 40, skippedDuplicateInInput: 1, skippedPendingOrProcessing: 0 });
  expect(await recorded(redis)).toHaveLength(80); // recorded again: duplicate digests are harmless
  // ... but never a second copy of an item that is pending.
  const forcedAgain = await cli(['enqueue', scenes[0], '--force', '--redis-url', server.url, '--json']);
  expect(JSON.parse(forcedAgain.stdout)).toMatchObject({ pushed: 0, skippedPendingOrProcessing: 1 });
  expect(await redis.llen('jobS2')).toBe(40);
  const status = await cli(['status', '--queue', 'jobS2', '--json', '--redis-url', server.url]);
  expect(JSON.parse(status.stdout)).toMatchObject({ pending: 40, enqueued: 80 });
}, 30_000);

test('an interrupted run (client SIGKILLed mid-run) then a re-run leaves every scene queued exactly once', async () => {
  const count = MID_RUN_SCENES;
  const file = scenesFile(count);
  // Killed with two batches done, the third's transaction open in Redis (its commands queued,
  // its EXEC held back), and the fourth not sent.
  const relay = await RedisRelay.start(server.port, { holdAt: { nth: 3, command: 'EXEC' } });
  const child = spawnCli(['enqueue', '--file', file, '--redis-url', relay.url], { stdio: 'ignore', env: SHORT_LOCK });
  await killWhenHeld(child, relay, async () => (await redis.llen('jobS2')) >= 2 * BATCH_SIZE && (await queuedInTransaction(redis)) > 0);
  const partial = await redis.llen('jobS2');
  expect(partial).toBe(2 * BATCH_SIZE);

  // The crashed run's lock is still held: a re-run at once is refused, and pushes nothing.
  const refused = await cli(['enqueue', '--file', file, '--redis-url', server.url], { env: SHORT_LOCK });
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/^error: another enqueue is writing to jobS2 \(run \w+, its lock expires in [\d.]+ s unless refreshed\); try again when it finishes — a crashed run's lock expires within 4 s; nothing pushed\n$/);
  expect(await redis.llen('jobS2')).toBe(partial);

  // Whole batches only: everything recorded was pushed, and nothing else.
  const items = await redis.lrange('jobS2', 0, -1);
  expect((await recorded(redis)).sort()).toEqual(items.map((i) => digestHex(sceneOf(i)!)).sort());

  // Polled every 50 ms: the lock has seconds to go.
  await waitFor("the crashed run's lock to expire", async () => ((await redis.exists('jobS2:enqueue_lock')) === 0 ? true : undefined), 5_000, 50);
  const rerun = await cli(['enqueue', '--file', file, '--redis-url', server.url, '--json']);
  expect(rerun.stderr).toBe('');
  expect(rerun.code).toBe(0);
  expect(JSON.parse(rerun.stdout)).toMatchObject({ pushed: count - partial, skippedEnqueuedBefore: partial });
  const all = await redis.lrange('jobS2', 0, -1);
  expect(all.length).toBe(count);
  expect(new Set(all).size).toBe(count);
  expect(await redis.strlen('jobS2:enqueued')).toBe(16 * count);
}, 30_000);

test('a second enqueue while one is writing fails at once with exit 1, pushing nothing; the lock is released after', async () => {
  const count = MID_RUN_SCENES;
  // The first run is held at its second batch, its first done, until the second run has been refused.
  const relay = await RedisRelay.start(server.port, { holdAt: { nth: 2, command: 'EXEC' } });
  const first = spawnCli(['enqueue', '--file', scenesFile(count), '--redis-url', relay.url], { stdio: 'ignore' });
  const firstExit = exited(first);
  await heldMidRun(first, relay, async () => (await redis.llen('jobS2')) >= BATCH_SIZE);
  const holder = await redis.get('jobS2:enqueue_lock');
  expect(holder).toMatch(/^\w+$/);
  const other = scene(count + 1);
  const second = await cli(['enqueue', other, '--redis-url', server.url]);
  expect(second.code).toBe(1);
  expect(second.stdout).toBe('');
  expect(second.stderr).toMatch(
    new RegExp(`^error: another enqueue is writing to jobS2 \\(run ${holder}, its lock expires in [\\d.]+ s unless refreshed\\); try again when it finishes — a crashed run's lock expires within 30 s; nothing pushed\n$`),
  );
  relay.release();
  expect(await firstExit).toBe(0);
  await relay.close();
  expect(await redis.exists('jobS2:enqueue_lock')).toBe(0);
  expect(await redis.llen('jobS2')).toBe(count);
  expect(await redis.lpos('jobS2', item(other))).toBeNull();
  // Once the first run is done, the second goes through.
  expect((await cli(['enqueue', other, '--redis-url', server.url])).code).toBe(0);
  expect(await redis.llen('jobS2')).toBe(count + 1);
}, 30_000);

test('a run whose lock is taken mid-run stops with exit 1; its batches after that are undone, whole batches stay', async () => {
  const count = MID_RUN_SCENES;
  const file = scenesFile(count);
  // Held at its second batch, its first done: the theft lands before the batches after it.
  const relay = await RedisRelay.start(server.port, { holdAt: { nth: 2, command: 'EXEC' } });
  const child = spawnCli(['enqueue', '--file', file, '--redis-url', relay.url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exit = exited(child);
  await heldMidRun(child, relay, async () => (await redis.llen('jobS2')) >= BATCH_SIZE);
  await redis.set('jobS2:enqueue_lock', 'thief'); // as if the lock had expired and another run took it
  relay.release();
  expect(await exit).toBe(1);
  await relay.close();
  expect(stderr).toMatch(
    /^error: this run lost the enqueue lock jobS2:enqueue_lock \(it expired or was deleted, and another run may be writing to jobS2\); stopped after pushing 5,000 items in whole batches; run it again to push the rest\n$/,
  );
  expect(await redis.get('jobS2:enqueue_lock')).toBe('thief'); // not released: it is not ours
  const items = await redis.lrange('jobS2', 0, -1);
  expect(items).toHaveLength(BATCH_SIZE);
  expect(new Set(items).size).toBe(items.length);
  expect((await recorded(redis)).sort()).toEqual(items.map((i) => digestHex(sceneOf(i)!)).sort());
}, 30_000);

test('a run that fails after taking the lock releases it (record of another type)', async () => {
  await redis.hset('jobS2:enqueued', scene(1), 'old-format');
  const result = await cli(['enqueue', scene(2), '--redis-url', server.url]);
  expect(result.code).toBe(1);
  expect(result.stderr).toBe(
    'error: jobS2:enqueued is a hash, not the dedupe record this version writes (a string of 16-byte scene digests); ' +
      'it was written by an older version of the queue tool: migrate or delete it before enqueueing; nothing pushed\n',
  );
  expect(await redis.exists('jobS2:enqueue_lock')).toBe(0);
  expect(await redis.exists('jobS2')).toBe(0);
});

test('a refused file changes nothing and reports the bad lines', async () => {
  await redis.rpush('jobS2', item(scene(1)));
  await redis.append('jobS2:enqueued', sceneDigest(scene(1)));
  const before = await dumpAll(redis);
  const lines = [scene(2), 'S2A_MSIL2A_20190812T235741_N0213_R000_T56LRR_20190813T014708', scene(3), ...Array.from({ length: 21 }, (_, i) => `junk ${i}`)];
  const file = sceneFile('bad.txt', lines);
  const result = await cli(['enqueue', '--file', file, '--redis-url', server.url]);
  expect(result.code).toBe(2);
  expect(result.stdout).toBe('');
  const stderr = result.stderr.split('\n');
  expect(stderr[0]).toBe(`error: ${file}: 22 invalid lines; nothing was pushed`);
  expect(stderr[1]).toBe("  line 2: 'S2A_MSIL2A_20190812T235741_N0213_R000_T56LRR_20190813T014708' is not a valid s2 scene ID: relative orbit 'R000' is not R001-R143");
  expect(stderr[2]).toBe("  line 4: 'junk 0' contains whitespace; give one scene ID per line");
  expect(stderr[21]).toBe('  … and 2 more');
  expect(stderr[22]).toMatch(/^scene IDs of workflow s2 must be a Sentinel-2 product name/);
  expect(await dumpAll(redis)).toEqual(before); // the lock was never taken: validation comes first
});

test('stdin input, flags setting item fields, password in the URL', async () => {
  const secured = await RedisServer.start({ args: ['--requirepass', 's3cret'] });
  try {
    const url = `redis://:s3cret@127.0.0.1:${secured.port}`;
    const result = await cli(['enqueue', '--queue', 'jobLS', '--s3-bucket', 'ard-out', '--s3-dir', 'ls/', '--redis-url', url], {
      input: '# landsat\r\nLC08_L2SP_123032_20200101_20200113_02_T1\r\n',
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const client = new Redis(url);
    expect(await client.lrange('jobLS', 0, -1)).toEqual([
      '{"in_scene":"LC08_L2SP_123032_20200101_20200113_02_T1","s3_bucket":"ard-out","s3_dir":"ls/","inter_dir":"/data/intermediate/"}',
    ]);
    expect((await recorded(client, 'jobLS:enqueued'))).toEqual([digestHex('LC08_L2SP_123032_20200101_20200113_02_T1')]);
    client.disconnect();
    const wrong = await cli(['status', '--redis-url', `redis://:wrong@127.0.0.1:${secured.port}`]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`cannot connect to Redis at redis://:***@127.0.0.1:${secured.port}`);
  } finally {
    await secured.stop();
  }
});

test('a file with UTF-8 (a comment, Unicode spaces that trim() strips) pushes the IDs that validation saw; CRLF lines of an ASCII file are trimmed', async () => {
  const utf8 = sceneFile('utf8.txt', ['# café', `\u00a0${scene(1)}\u3000`, `\ufeff${scene(2)}\r`, '\u2003# indented comment']);
  const result = await cli(['enqueue', '--file', utf8, '--json', '--redis-url', server.url]);
  expect(result.stderr).toBe('');
  expect(JSON.parse(result.stdout)).toMatchObject({ scenes: 2, pushed: 2 });
  expect(await redis.lrange('jobS2', 0, -1)).toEqual([item(scene(1)), item(scene(2))]);
  const crlf = path.join(TMP, 'crlf.txt');
  writeFileSync(crlf, `# ascii\r\n\t${scene(3)} \r\n\r\n${scene(4)}`);
  expect((await cli(['enqueue', '--file', crlf, '--redis-url', server.url])).code).toBe(0);
  expect(await redis.lrange('jobS2', 0, -1)).toEqual([item(scene(1)), item(scene(2)), item(scene(3)), item(scene(4))]);
  expect(await recorded(redis)).toEqual([1, 2, 3, 4].map((i) => digestHex(scene(i))));
});

test('--dry-run reports without writing', async () => {
  await redis.append('jobS2:enqueued', sceneDigest(scene(1)));
  const before = await dumpAll(redis);
  const result = await cli(['enqueue', scene(1), scene(2), scene(2), '--dry-run', '--json', '--redis-url', server.url]);
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toMatchObject({ dryRun: true, pushed: 1, skippedEnqueuedBefore: 1, skippedDuplicateInInput: 1 });
  expect(await dumpAll(redis)).toEqual(before);
});

test('an unreachable Redis fails within 10 s with exit 1 and says what to do', async () => {
  const port = await freePort();
  const result = await cli(['enqueue', scene(1)], { env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
  expect(result.code).toBe(1);
  expect(result.ms).toBeLessThan(10_000);
  expect(result.stderr).toBe(
    `error: cannot connect to Redis at redis://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}; is Redis running there? ` +
      "For the cluster's Redis run: kubectl port-forward -n <namespace> svc/redis-master 6379:6379 (namespace: ard-dev for dev, ard for prod, ard-keda for keda); nothing pushed\n",
  );
});

test('status counts pending, processing, live vs expired leases, dead letters', async () => {
  await redis.rpush('jobS2', item(scene(1)), item(scene(2)));
  const processing = [item(scene(3)), item(scene(4)), item(scene(5))];
  await redis.rpush('jobS2:processing', ...processing);
  const lease = (i: string): string => leaseKey(queueKeys('jobS2'), i);
  await redis.setex(lease(processing[0]), 1800, 'session-a');
  await redis.setex(lease(processing[2]), 1800, 'session-b');
  await redis.rpush('jobS2:dead_letter', item(scene(6)));
  await redis.append('jobS2:enqueued', Buffer.concat([sceneDigest(scene(1)), sceneDigest(scene(2))]));

  const one = await cli(['status', '--workflow', 's2', '--json', '--redis-url', server.url]);
  expect(one.code).toBe(0);
  expect(JSON.parse(one.stdout)).toEqual({ queue: 'jobS2', workflow: 's2', pending: 2, processing: 3, leased: 2, expired: 1, deadLettered: 1, enqueued: 2, done: 0, percent: 0 });

  const all = await cli(['status', '--json', '--redis-url', server.url]);
  expect(JSON.parse(all.stdout).map((s: { queue: string; pending: number }) => [s.queue, s.pending])).toEqual([['jobS2', 2], ['jobLS', 0], ['jobS1', 0]]);

  const table = await cli(['status', '--queue', 'jobS2', '--redis-url', server.url]);
  expect(table.stdout).toBe(
    'queue  workflow  pending  processing  leased  expired  deadLettered  enqueued  done     %\n' +
      'jobS2  s2              2           3       2        1             1         2     0  0.0%\n',
  );
});

test('rediss:// speaks TLS to Redis: a certificate the tool trusts works, one it does not is refused', async () => {
  const dir = mkdtempSync(path.join(TMP, 'tls-'));
  const [cert, key] = [path.join(dir, 'cert.pem'), path.join(dir, 'key.pem')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const tlsPort = await freePort();
  const secure = await RedisServer.start({ args: ['--tls-port', String(tlsPort), '--tls-cert-file', cert, '--tls-key-file', key, '--tls-auth-clients', 'no'] });
  try {
    const plain = new Redis(secure.url);
    await plain.rpush('jobS2', item(scene(1)));
    plain.disconnect();
    const args = ['status', '--queue', 'jobS2', '--json', '--redis-url', `rediss://127.0.0.1:${tlsPort}`];
    const trusted = await cli(args, { env: { NODE_EXTRA_CA_CERTS: cert } });
    expect(trusted.stderr).toBe('');
    expect(JSON.parse(trusted.stdout)).toMatchObject({ queue: 'jobS2', pending: 1 });
    const untrusted = await cli(args);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toContain(`cannot connect to Redis at rediss://127.0.0.1:${tlsPort}: self-signed certificate`);
  } finally {
    await secure.stop();
  }
});

test('the dispatcher does not load ioredis (an unknown subcommand does not); the subcommands that connect do', async () => {
  // The tool is one bundle whose modules run when first required; ioredis shows by the Node.js
  // built-ins its connectors require and the tool's own code does not (tls, dns). The run that
  // loads it shows that the hook sees the bundle's requires.
  const preload = path.join(TMP, 'list-required.cjs');
  writeFileSync(preload, `
    const Module = require('module');
    const required = new Set();
    const load = Module.prototype.require;
    Module.prototype.require = function (id) { required.add(id); return load.apply(this, arguments); };
    process.on('exit', () => process.stderr.write('\\nREQUIRED ' + JSON.stringify([...required]) + '\\n'));`);
  const loads = async (args: string[]): Promise<{ ioredis: boolean; run: CliRun }> => {
    const run = await runProcess(process.execPath, ['--require', preload, QUEUE_CLI, ...args]);
    const required = JSON.parse(/^REQUIRED (.*)$/m.exec(run.stderr)![1]) as string[];
    return { ioredis: required.includes('tls') && required.includes('dns'), run };
  };
  const unknown = await loads(['frobnicate']);
  expect(unknown.ioredis).toBe(false);
  expect(unknown.run.code).toBe(2); // a usage error (the next test's; these runs serve both)
  const help = await loads(['status', '--help']);
  expect(help.ioredis).toBe(true);
  expect(help.run.code).toBe(0);
  expect(help.run.stdout).toMatch(/^Usage: ard-queue status/);
});

test('usage errors exit 2 and point to --help; --help exits 0', async () => {
  const unknown = await cli(['enqueue', '--queue', 'jobX', scene(1)]);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toBe(
    "error: no workflow owns queue 'jobX' (known queues: jobS2 (s2), jobLS (ls), jobS1 (s1)); add --workflow NAME to choose its scene-ID rule and item fields\n" +
      '(see: ard-queue enqueue --help)\n',
  );
  // An unknown subcommand (exit 2) and `status --help` (exit 0, usage on stdout): the test
  // before runs them.
  const short = await cli(['enqueue', scene(1), '-h', '--redis-url', 'redis://127.0.0.1:1']);
  expect(short).toMatchObject({ code: 0, stderr: '' });
  expect(short.stdout).toMatch(/^Usage: ard-queue enqueue/);
  // After `--` a "-h" is an argument, not a request for help.
  const argument = await cli(['enqueue', '--', '-h']);
  expect(argument.code).toBe(2);
  expect(argument.stdout).toBe('');
});
