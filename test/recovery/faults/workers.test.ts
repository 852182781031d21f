import { listDeadLetters } from '../../../queue/recovery';
import { recoveryLoop } from '../../support/recovery-loop';
import { s2Items } from '../../support/scenes';
import { FakeJob } from '../support';
import { expectQueueEmpty, K, multiplicity, Q, redis, server, startServer, started, useFaultFixture, workerEnv } from './fixture';

useFaultFixture();

test('workers killed mid-item: every item completed exactly once, none lost, survivors exit 0', async () => {
  await startServer();
  const items = s2Items(200);
  await redis.rpush(K.pending, ...items);
  started.recovery = recoveryLoop(server.url, Q, { graceSeconds: 1, periodMs: 100 });
  // Three workers are SIGKILLed while holding their 5th, 20th and 40th item. They run alone
  // until they die, so each surely gets that many items however slowly it starts; then three
  // survivors (no restarts) must finish everything, including the dead workers' items.
  const doomed = (started.doomed = new FakeJob([workerEnv({ DIE_AFTER: '5' }), workerEnv({ DIE_AFTER: '20' }), workerEnv({ DIE_AFTER: '40' })]));
  await doomed.completed(40_000);
  const job = (started.job = new FakeJob([workerEnv(), workerEnv(), workerEnv()]));
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
  // maxAttempts 2: one requeue, then the dead letter (the default 3 only adds a requeue). Leases
  // of 1 s (work takes 10 ms), so that each death costs about 2 s: lease + grace.
  started.recovery = recoveryLoop(server.url, Q, { graceSeconds: 1, maxAttempts: 2, periodMs: 100 });
  // Three workers that each die on the poison item; the Job restarts them (restartPolicy OnFailure).
  const env = workerEnv({ POISON: poisonScene, LEASE_SECS: '1' });
  const job = (started.job = new FakeJob([env, env, env], () => env));
  await job.completed(50_000);

  expect(job.taken.filter((item) => item === poison)).toHaveLength(2); // maxAttempts workers died on it
  expect(new Set(job.done)).toEqual(new Set(items.filter((item) => item !== poison)));
  await expectQueueEmpty();
  expect(await redis.lrange(K.deadLetter, 0, -1)).toEqual([poison]);
  expect(await listDeadLetters(redis, Q)).toEqual({ total: 1, items: [{ item: poison, scene: poisonScene, attempts: 2 }] });
  const finals = await Promise.all(job.current.map((w) => w.exited));
  expect(finals.map((e) => e.code)).toEqual([0, 0, 0]); // the Job completes
}, 60_000);
