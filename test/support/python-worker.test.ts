import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import Redis from 'ioredis';
import { leaseKey, queueKeys } from '../../protocol/queue-keys';
import { exited } from './wait';
import { startPythonWorker } from './python-worker';
import { RedisServer } from './redis-server';

// The Python stand-in for the worker images must speak their protocol exactly, since the
// ACL, the gates and the lease heartbeat are tested against it.

let server: RedisServer;
let redis: Redis;
let dir: string;

beforeAll(async () => {
  server = await RedisServer.start({ args: ['--appendonly', 'no'] });
  redis = new Redis(server.url);
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ard-pyworker-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const item = (n: number) => JSON.stringify({ in_scene: `scene-${n}` });

test('two workers drain the queue, each item processed once, and exit 0', async () => {
  await redis.rpush('jobS2', ...Array.from({ length: 20 }, (_, n) => item(n)));
  const log = path.join(dir, 'work.log');
  const workers = [0, 1].map(() => startPythonWorker({ port: server.port, env: { WORK_LOG: log, BLOCK_TIMEOUT: '1' } }));
  expect(await Promise.all(workers.map(exited))).toEqual([0, 0]);
  const done = readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('done ')).sort();
  expect(done).toEqual(Array.from({ length: 20 }, (_, n) => `done scene-${n}`).sort());
  expect(await redis.llen('jobS2')).toBe(0);
  expect(await redis.llen('jobS2:processing')).toBe(0);
  expect(await redis.keys('jobS2:leased_by_session:*')).toEqual([]);
});

test('leases each item under sha224(item) with its session id, for LEASE_SECS', async () => {
  await redis.rpush('jobS2', item(1));
  const worker = startPythonWorker({ port: server.port, env: { WORK_SECONDS: '30', LEASE_SECS: '77' } });
  try {
    // The real redis-py worker and our protocol must agree on the lease key.
    const lease = leaseKey(queueKeys('jobS2'), item(1));
    let session: string | null = null;
    for (let i = 0; i < 200 && session === null; i++) {
      session = await redis.get(lease);
      if (session === null) await new Promise((r) => setTimeout(r, 50));
    }
    expect(session).toMatch(/^[0-9a-f-]{36}$/);
    expect(await redis.ttl(lease)).toBeGreaterThan(70);
    expect(await redis.lrange('jobS2:processing', 0, -1)).toEqual([item(1)]);
  } finally {
    worker.kill('SIGKILL');
    await exited(worker);
    await redis.del('jobS2:processing');
  }
});

test('a worker that starts on an empty queue exits 0 at once, and a poison item exits non-zero', async () => {
  expect(await exited(startPythonWorker({ port: server.port }))).toBe(0);
  await redis.rpush('jobS2', JSON.stringify({ in_scene: 'bad-scene' }));
  expect(await exited(startPythonWorker({ port: server.port, env: { POISON: 'bad' } }))).toBe(1);
  expect(await redis.lrange('jobS2:processing', 0, -1)).toEqual([JSON.stringify({ in_scene: 'bad-scene' })]);
  await redis.del('jobS2:processing', 'jobS2');
});
