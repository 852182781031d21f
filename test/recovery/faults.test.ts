import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import Redis from 'ioredis';
import { queueKeys } from '../../protocol/queue-keys';
import { listDeadLetters } from '../../queue/recovery';
import { RedisServer } from '../support/redis-server';
import { s2Items } from '../support/scenes';
import { recoveryLoop } from '../support/recovery-loop';
import { FakeJob, writeCommittedRedisConf } from './support';
import { sleep } from '../support/wait';

// Fault tests: real redis-server, real worker processes following the lease protocol
// (test/support/lease-worker.cjs), the recovery script run every 0.5 s as the CronJob would
// every minute. Leases and grace periods are seconds instead of 1800 s and 60 s, so faults
// resolve in seconds.

const Q = 'jobS2';
const K = queueKeys(Q);

let server: RedisServer;
let redis: Redis;
let job: FakeJob | undefined;
/** Workers of a test that are meant to die, run before `job`. */
let doomed: FakeJob | undefined;
let recovery: ReturnType<typeof recoveryLoop> | undefined;

afterEach(async () => {
  await recovery?.stop();
  await job?.stop();
  await doomed?.stop();
  redis?.disconnect();
  await server?.stop();
  recovery = undefined;
  job = undefined;
  doomed = undefined;
});

async function startServer(options: Parameters<typeof RedisServer.start>[0] = {}): Promise<void> {
  server = await RedisServer.start(options);
  redis = new Redis(server.url, { retryStrategy: () => 100 });
  redis.on('error', () => {});
}

const workerEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
  REDIS_URL: server.url, QUEUE: Q, LEASE_SECS: '2', TIMEOUT_SECS: '1', WORK_MS: '10', ...extra,
});

async function expectQueueEmpty(): Promise<void> {
  expect(await redis.llen(K.pending)).toBe(0);
  expect(await redis.llen(K.processing)).toBe(0);
}

/** Counts of each element, so that "exactly once" failures show the offending items. */
function multiplicity(items: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

test('workers killed mid-item: every item completed exactly once, none lost, survivors exit 0', async () => {
  await startServer();
  const items = s2Items(200);
  await redis.rpush(K.pending, ...items);
  recovery = recoveryLoop(server.url, Q, { graceSeconds: 1, periodMs: 500 });
  // Three workers are SIGKILLed while holding their 5th, 20th and 40th item. They run alone
  // until they die, so each surely gets that many items however slowly it starts; then three
  // survivors (no restarts) must finish everything, including the dead workers' items.
  doomed = new FakeJob([workerEnv({ DIE_AFTER: '5' }), workerEnv({ DIE_AFTER: '20' }), workerEnv({ DIE_AFTER: '40' })]);
  await doomed.completed(40_000);
  job = new FakeJob([workerEnv(), workerEnv(), workerEnv()]);
  await job.completed(40_000);

  expect((await doomed.exits()).map((e) => e.signal)).toEqual(['SIGKILL', 'SIGKILL', 'SIGKILL']);
  expect((await job.exits()).map((e) => e.code)).toEqual([0, 0, 0]);
  const done = [...doomed.done, ...job.done];
  expect(new Set(done)).toEqual(new Set(items)); // none lost
  expect([...multiplicity(done).values()].every((n) => n === 1)).toBe(true); // work < lease: no duplicates
  await expectQueueEmpty();
  // Exactly the three items held by the killed workers were taken back, once each.
  const killedItems = doomed.workers.map((w) => w.taken[w.taken.length - 1]);
  expect(doomed.workers.map((w) => w.taken.length)).toEqual([5, 20, 40]);
  expect(await redis.hgetall(K.attempts)).toEqual(Object.fromEntries(killedItems.map((item) => [item, '1'])));
  expect(await redis.llen(K.deadLetter)).toBe(0);
}, 60_000);

test('a poison item that kills every worker taking it ends in dead letters; the rest completes', async () => {
  await startServer();
  const items = s2Items(60);
  const poison = items[30];
  const poisonScene = JSON.parse(poison).in_scene as string;
  await redis.rpush(K.pending, ...items);
  recovery = recoveryLoop(server.url, Q, { graceSeconds: 1, maxAttempts: 3, periodMs: 500 });
  // Three workers that all die on the poison item; the Job restarts them (restartPolicy OnFailure).
  const env = workerEnv({ POISON: poisonScene });
  job = new FakeJob([env, env, env], () => env);
  await job.completed(50_000);

  expect(job.taken.filter((item) => item === poison)).toHaveLength(3); // maxAttempts workers died on it
  expect(new Set(job.done)).toEqual(new Set(items.filter((item) => item !== poison)));
  await expectQueueEmpty();
  expect(await redis.lrange(K.deadLetter, 0, -1)).toEqual([poison]);
  expect(await listDeadLetters(redis, Q)).toEqual({ total: 1, items: [{ item: poison, scene: poisonScene, attempts: 3 }] });
  const finals = await Promise.all(job.current.map((w) => w.exited));
  expect(finals.map((e) => e.code)).toEqual([0, 0, 0]); // the Job completes
}, 60_000);

test('Redis SIGKILLed and restarted mid-drain (committed redis.conf): nothing lost', async () => {
  const confFile = path.join(mkdtempSync(path.join(tmpdir(), 'ard-conf-')), 'redis.conf');
  writeCommittedRedisConf(confFile);
  await startServer({ configFile: confFile });
  const items = s2Items(300);
  await redis.rpush(K.pending, ...items);
  recovery = recoveryLoop(server.url, Q, { graceSeconds: 1, periodMs: 500 });
  // Workers that lose Redis exit 1 and are restarted by the Job, as pods would be.
  const env = workerEnv({ WORK_MS: '20' });
  job = new FakeJob([env, env, env, env], () => env, 300);
  while (job.done.length < 100) await sleep(20);
  await server.kill();
  await sleep(1000);
  await server.restart();
  await job.completed(50_000);

  expect(job.workers.length).toBeGreaterThan(4); // workers did crash and restart
  // A worker whose LREM reached Redis just before the kill never hears back and prints no
  // DONE, yet its item's work is finished: count work finished, at least once, none lost.
  expect(new Set(job.worked)).toEqual(new Set(items));
  await expectQueueEmpty();
  expect(await redis.llen(K.deadLetter)).toBe(0);
}, 60_000);

test('recovery racing live workers with short leases never requeues an item a live worker holds', async () => {
  await startServer();
  const items = s2Items(40);
  await redis.rpush(K.pending, ...items);
  // Work (1.5 s) outlasts the grace period (1 s) but not the lease (3 s); recovery runs back to
  // back. A recovery that missed a live lease, or ignored the take->lease gap, would requeue.
  recovery = recoveryLoop(server.url, Q, { graceSeconds: 1, periodMs: 0 });
  const env = workerEnv({ LEASE_SECS: '3', WORK_MS: '1500' });
  job = new FakeJob(Array.from({ length: 8 }, () => env));
  await job.completed(40_000);
  await recovery.stop();

  expect(recovery.runs.length).toBeGreaterThan(100);
  expect(recovery.runs.some((run) => run.leased > 0)).toBe(true);
  expect(recovery.runs.reduce((sum, run) => sum + run.requeued + run.deadLettered, 0)).toBe(0);
  expect(await redis.hgetall(K.attempts)).toEqual({});
  expect([...multiplicity(job.taken).entries()].filter(([, n]) => n !== 1)).toEqual([]); // each taken once
  expect(job.taken.sort()).toEqual([...items].sort());
  expect(job.done.sort()).toEqual([...items].sort());
  expect((await job.exits()).map((e) => e.code)).toEqual(Array(8).fill(0));
  await expectQueueEmpty();
}, 60_000);
