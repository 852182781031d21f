import { writeFileSync } from 'fs';
import * as path from 'path';
import { PROD } from '../../lib/environments';
import { onlyOfKind } from '../support/manifests';
import { synthEnvironment } from '../support/synth';
import { sceneIds } from '../support/scenes';
import { LocalPod, toRedisAt } from '../support/pod';
import { sleep } from '../support/wait';
import { ADMIN_PASSWORD, doneScenes, enqueue, expectCampaignDone, Job, startQueueStage, started, TMP, useCampaignFixture } from './fixture';

useCampaignFixture();

test('a Redis restart mid-campaign costs at most one failed worker process per worker, never the campaign', async () => {
  const running = await startQueueStage();
  const log = path.join(TMP, 'restart.log');
  writeFileSync(log, '');

  // Recovery as the queue stage's CronJob runs it (grace shortened for the test), every second:
  // a worker that died holding an item leaves it in processing until recovery gives it back.
  const { byStage } = synthEnvironment({ ...PROD, recovery: { graceSeconds: 1 } });
  const recoveryPod = new LocalPod(byStage.queue, onlyOfKind(byStage.queue, 'CronJob'), { 'redis-admin': { password: ADMIN_PASSWORD } });
  const recoveryContainer = recoveryPod.spec.containers[0].name;
  let recovering = true;
  let recovered = 0; // runs that succeeded
  const recovery = (async () => {
    while (recovering) {
      // Redis may be down meanwhile: a failed run is retried, as the CronJob's next run would.
      if ((await recoveryPod.run(recoveryContainer, toRedisAt(running.port))).code === 0) recovered += 1;
      await sleep(1000);
    }
  })();

  try {
    // Enqueued before the workers start, so that their gates let them through at the first look
    // instead of after one 5 s poll (waiting at the gate is readme-order.test.ts's).
    const ids = sceneIds(24);
    await enqueue(running, ids);
    const job = (started.job = new Job(3, running.port, { WORK_LOG: log, BLOCK_TIMEOUT: '1', WORK_SECONDS: '0.5', LEASE_SECS: '3' }));

    // Mid-campaign: a third of the scenes done, then Redis is killed and comes back.
    for (let i = 0; i < 600 && doneScenes(log).size < 8; i++) await sleep(100);
    expect(doneScenes(log).size).toBeGreaterThanOrEqual(8);
    await running.kill();
    await sleep(1500);
    await running.restart();
    await job.done;

    const failures = job.exits.map((exits) => exits.filter((code) => code !== 0).length);
    for (const count of failures) expect(count).toBeLessThanOrEqual(1);
    expect(failures.reduce((a, b) => a + b, 0)).toBeGreaterThan(0); // the restart did hit the workers
    for (const exits of job.exits) expect(exits[exits.length - 1]).toBe(0);
    await expectCampaignDone(running, log, ids);
  } finally {
    recovering = false;
    await recovery;
    recoveryPod.remove();
  }
  expect(recovered).toBeGreaterThan(0);
}, 180_000);
