import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import Redis from 'ioredis';
import { queueKeys } from '../../protocol/queue-keys';
import { RedisServer } from '../support/redis-server';
import { runCli } from '../support/cli';
import { sceneIds } from '../support/scenes';
import { writeCommittedRedisConf } from './support';

// Durability with the exact redis.conf the manifests deploy (the ConfigMap in the committed
// dist/prod/*.k8s.yaml; --port/--bind/--dir are overridden by RedisServer): whatever Redis
// acknowledged survives kill -9 of redis-server.

const K = queueKeys('jobS2');
const TMP = mkdtempSync(path.join(tmpdir(), 'ard-durability-'));
const CONF = path.join(TMP, 'redis.conf');
const conf = writeCommittedRedisConf(CONF);

let server: RedisServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

async function count(url: string): Promise<{ pending: number; enqueued: number }> {
  const redis = new Redis(url);
  try {
    // The dedupe record is a string of 16-byte scene digests (queue/digest.ts).
    return { pending: await redis.llen(K.pending), enqueued: (await redis.strlen(K.enqueued)) / 16 };
  } finally {
    await redis.quit();
  }
}

test('the committed redis.conf is durable: appendonly yes, appendfsync always, no eviction', () => {
  expect(conf).toMatch(/^appendonly yes$/m);
  expect(conf).toMatch(/^appendfsync always$/m);
  expect(conf).toMatch(/^maxmemory-policy noeviction$/m);
});

test('an enqueue that reported success survives kill -9 of Redis', async () => {
  server = await RedisServer.start({ configFile: CONF });
  const ids = sceneIds(20_000);
  expect(new Set(ids).size).toBe(ids.length);
  const file = path.join(TMP, 'scenes.txt');
  writeFileSync(file, ids.join('\n') + '\n');
  const { code, stdout } = await runCli(['enqueue', '--file', file, '--redis-url', server.url, '--json']);
  expect(code).toBe(0);
  expect(JSON.parse(stdout)).toMatchObject({ pushed: ids.length });
  await server.kill(); // at once: no SHUTDOWN, no final fsync
  await server.restart();
  expect(await count(server.url)).toEqual({ pending: ids.length, enqueued: ids.length });
}, 60_000);

test('every write acknowledged before kill -9 mid-stream is there after restart', async () => {
  server = await RedisServer.start({ configFile: CONF });
  const redis = new Redis(server.url, { maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false, lazyConnect: true });
  redis.on('error', () => {});
  await redis.connect();
  let acknowledged = 0;
  let writing = true;
  // Eight concurrent writers, so that some commands are in flight when Redis dies.
  const writers = Array.from({ length: 8 }, async (_, w) => {
    for (let i = 0; writing; i++) {
      try {
        await redis.rpush(K.pending, `item-${w}-${i}`);
        acknowledged += 1;
      } catch {
        return;
      }
    }
  });
  const deadline = Date.now() + 20_000;
  while (acknowledged < 2000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  expect(acknowledged).toBeGreaterThanOrEqual(2000);
  await server.kill();
  await Promise.all(writers);
  writing = false;
  redis.disconnect();
  await server.restart();
  const { pending } = await count(server.url);
  expect(pending).toBeGreaterThanOrEqual(acknowledged);
  expect(pending).toBeLessThanOrEqual(acknowledged + 8); // at most the in-flight ones on top
}, 60_000);

test('control: the same kill -9 without persistence loses the queue (so the checks above can fail)', async () => {
  server = await RedisServer.start({ configFile: CONF, args: ['--appendonly', 'no'] });
  const redis = new Redis(server.url);
  await redis.rpush(K.pending, 'a', 'b', 'c');
  await redis.quit();
  await server.kill();
  await server.restart();
  expect(await count(server.url)).toEqual({ pending: 0, enqueued: 0 });
}, 30_000);
