import { writeFileSync } from 'fs';
import * as path from 'path';
import { sceneIds } from '../support/scenes';
import { enqueue, expectCampaignDone, Job, startQueueStage, started, TMP, useCampaignFixture } from './fixture';

useCampaignFixture();

test('workers applied before the enqueue wait at the gate, then do every scene and all exit 0', async () => {
  const server = await startQueueStage();
  const log = path.join(TMP, 'order.log');
  writeFileSync(log, '');
  const job = (started.job = new Job(3, server.port, { WORK_LOG: log, BLOCK_TIMEOUT: '1', WORK_SECONDS: '0.1' }));

  // Without the gate each worker would find the queue empty, exit 0 and complete the Job here.
  await Promise.all(job.gates.map((g) => g.waitFor('jobS2 and jobS2:processing are empty: waiting up to 1800s for work')));
  expect(job.gates).toHaveLength(3);
  expect(job.exits).toEqual([[], [], []]);

  const ids = sceneIds(24);
  await enqueue(server, ids);
  await job.done;

  expect(job.exits).toEqual([[0], [0], [0]]);
  await expectCampaignDone(server, log, ids);
}, 120_000);
