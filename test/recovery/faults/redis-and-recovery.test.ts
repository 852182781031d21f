import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { recoveryLoop } from '../../support/recovery-loop';
import { s2Items } from '../../support/scenes';
import { sleep } from '../../support/wait';
import { FakeJob, writeCommittedRedisConf } from '../support';
import { expectQueueEmpty, K, multiplicity, Q, redis, server, startServer, started, useFaultFixture, workerEnv } from './fixture';

useFaultFixture();

test('Redis SIGKILLed and restarted mid-drain (committed redis.conf): nothing lost', async () => {
  const confFile = path.join(mkdtempSync(path.join(tmpdir(), 'ard-conf-')), 'redis.conf');
  writeCommittedRedisConf(confFile);
  await startServer({ configFile: confFile });
  // A third of the items done when Redis dies: some done, some in flight, the rest pending.
  const items = s2Items(120);
  await redis.rpush(K.pending, ...items);
  started.recovery = recoveryLoop(server.url, Q, { graceSeconds: 1, periodMs: 100 });
  // Workers that lose Redis exit 1 and are restarted by the Job, as pods would be.
  const env = workerEnv({ WORK_MS: '20' });
  const job = (started.job = new FakeJob([env, env, env, env], () => env, 300));
  while (job.done.length < 40) await sleep(20);
  await server.kill();
  await sleep(500);
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
  // Two rounds of 8 items: takes while other items are leased, and while others complete.
  const items = s2Items(16);
  await redis.rpush(K.pending, ...items);
  // Work (1.5 s) outlasts the grace period (1 s) but not the lease (3 s); recovery runs every
  // 10 ms (a few hundred runs). A recovery that missed a live lease would requeue an item after
  // 1 s of its work. Each worker waits 100 ms between its take and its lease (well inside the
  // grace period), so that several runs see every item unleased for a while: a recovery that
  // ignored the take->lease gap, or whose grace period were a twentieth of a second, would requeue
  // at once, however few the takes.
  const recovery = (started.recovery = recoveryLoop(server.url, Q, { graceSeconds: 1, periodMs: 10 }));
  const env = workerEnv({ LEASE_SECS: '3', WORK_MS: '1500', LEASE_DELAY_MS: '100' });
  const job = (started.job = new FakeJob(Array.from({ length: 8 }, () => env)));
  await job.completed(40_000);
  await recovery.stop();

  // Many runs while items were leased (about 300 on an idle machine; a run of 100 ms would still
  // give 30): each one a chance to requeue a live worker's item.
  expect(recovery.runs.filter((run) => run.leased > 0).length).toBeGreaterThan(20);
  expect(recovery.runs.some((run) => run.waiting > 0)).toBe(true); // it saw items in the take->lease gap
  expect(recovery.runs.reduce((sum, run) => sum + run.requeued + run.deadLettered, 0)).toBe(0);
  expect(await redis.hgetall(K.attempts)).toEqual({});
  expect([...multiplicity(job.taken).entries()].filter(([, n]) => n !== 1)).toEqual([]); // each taken once
  expect(job.taken.sort()).toEqual([...items].sort());
  expect(job.done.sort()).toEqual([...items].sort());
  expect((await job.exits()).map((e) => e.code)).toEqual(Array(8).fill(0));
  await expectQueueEmpty();
}, 60_000);
