/**
 * The README's campaign order, end to end, with what the cluster would run: Redis with the
 * committed queue stage's redis.conf, Python workers of the images' protocol started only
 * through the committed wait-for-work gate (sh + redis-cli, as synthesized), the queue tool's
 * enqueue, and a Job controller's `restartPolicy: Never` semantics (a failed pod is replaced
 * by a new pod, which passes the gate again, until a pod of the Job has succeeded).
 */
import { ChildProcess, execFile } from 'child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { promisify } from 'util';
import Redis from 'ioredis';
import { PROD } from '../../lib/environments';
import { WAIT_FOR_WORK_CONTAINER } from '../../lib/wait-for-work';
import { committedObjects, onlyOfKind, synthEnvironment } from '../support/manifests';
import { exited, startPythonWorker } from '../support/python-worker';
import { QUEUE_CLI as CLI } from '../support/cli';
import { CommittedRedis, startCommittedRedis } from '../support/committed-redis';
import { LocalPod, Output } from '../support/pod';
import { sceneIds } from '../support/scenes';
import { sleep } from '../support/wait';

const TMP = mkdtempSync(path.join(tmpdir(), 'ard-campaign-'));
const ADMIN_PASSWORD = 'campaign-admin-password-0123';
/** The Secrets the queue stage of dist/prod needs (the admin's, the exporter's). */
const SECRETS = {
  'redis-admin': { password: ADMIN_PASSWORD },
  'redis-exporter': { password: 'campaign-exporter-password-01' },
};
const adminUrl = (server: CommittedRedis) => `redis://admin:${ADMIN_PASSWORD}@127.0.0.1:${server.port}`;

/** The committed prod worker Job's pod, whose gate runs here: what `kubectl apply -f dist/prod/workers/` runs. */
const workerObjects = committedObjects('prod', 'workers');
const workerPod = new LocalPod(workerObjects, onlyOfKind(workerObjects, 'Job'));
afterAll(() => workerPod.remove());



async function enqueue(server: CommittedRedis, ids: string[]): Promise<void> {
  const file = path.join(TMP, 'campaign.txt');
  writeFileSync(file, ids.join('\n') + '\n');
  const { stdout } = await promisify(execFile)('node', [CLI, 'enqueue', '--file', file, '--redis-url', adminUrl(server), '--json']);
  expect(JSON.parse(stdout)).toMatchObject({ pushed: ids.length });
}

/**
 * The pods of one work-queue Job with `restartPolicy: Never`: `parallelism` slots, each running
 * pods (gate, then worker) until one succeeds; a failed pod is replaced as long as no pod of the
 * Job has succeeded (after that the Job controller creates no new pods).
 */
class Job {
  readonly exits: number[][];
  readonly gates: Output[] = [];
  readonly done: Promise<void>;
  private succeeded = false;
  private stopped = false;
  private readonly running = new Set<ChildProcess>();

  constructor(parallelism: number, private readonly port: number, private readonly workerEnv: Record<string, string>) {
    this.exits = Array.from({ length: parallelism }, () => []);
    this.done = Promise.all(this.exits.map((exits) => this.slot(exits))).then(() => undefined);
  }

  private async slot(exits: number[]): Promise<void> {
    while (!this.succeeded && !this.stopped && exits.length < 5) {
      const gate = workerPod.spawn(WAIT_FOR_WORK_CONTAINER, { REDIS_HOST: '127.0.0.1', REDIS_PORT: String(this.port) });
      this.gates.push(new Output(gate));
      const gateExit = await this.run(gate);
      if (gateExit !== 0) {
        exits.push(typeof gateExit === 'number' ? gateExit : -1);
        continue;
      }
      if (this.stopped) return;
      const code = await this.run(startPythonWorker({ port: this.port, env: this.workerEnv }));
      exits.push(typeof code === 'number' ? code : -1);
      if (code === 0) this.succeeded = true;
    }
  }

  private async run(child: ChildProcess): Promise<number | NodeJS.Signals> {
    this.running.add(child);
    try {
      return await exited(child);
    } finally {
      this.running.delete(child);
    }
  }

  /** Deletes the Job: kills its pods' processes (a failed test must not leave them behind). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const child of this.running) child.kill('SIGKILL');
    await this.done;
  }
}

function doneScenes(log: string): Set<string> {
  return new Set(readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('done ')).map((l) => l.slice(5)));
}

/** Every scene was done (at least once), and nothing is left pending or in processing. */
async function expectCampaignDone(server: CommittedRedis, log: string, ids: readonly string[]): Promise<void> {
  expect(doneScenes(log)).toEqual(new Set(ids));
  const redis = new Redis(adminUrl(server));
  try {
    expect(await redis.llen('jobS2')).toBe(0);
    expect(await redis.llen('jobS2:processing')).toBe(0);
  } finally {
    redis.disconnect();
  }
}

let server: CommittedRedis | undefined;
let pod: LocalPod | undefined;
let job: Job | undefined;
afterEach(async () => {
  await job?.stop();
  job = undefined;
  await server?.stop();
  server = undefined;
  pod?.remove();
  pod = undefined;
});

/** Redis as the committed queue stage runs it: its redis.conf and ACL users (workers and gates are `default`). */
async function startQueueStage(): Promise<CommittedRedis> {
  ({ server, pod } = await startCommittedRedis(SECRETS));
  return server;
}
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

test('workers applied before the enqueue wait at the gate, then do every scene and all exit 0', async () => {
  server = await startQueueStage();
  const log = path.join(TMP, 'order.log');
  writeFileSync(log, '');
  job = new Job(3, server.port, { WORK_LOG: log, BLOCK_TIMEOUT: '1', WORK_SECONDS: '0.1' });

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

test('a Redis restart mid-campaign costs at most one failed worker process per worker, never the campaign', async () => {
  const running = await startQueueStage();
  const log = path.join(TMP, 'restart.log');
  writeFileSync(log, '');

  // Recovery as the queue stage's CronJob runs it (grace shortened for the test), every second:
  // a worker that died holding an item leaves it in processing until recovery gives it back.
  const { byStage } = synthEnvironment({ ...PROD, recovery: { graceSeconds: 1 } });
  const cronJob = onlyOfKind(byStage.queue, 'CronJob');
  const scripts = path.join(TMP, 'scripts');
  const scriptMap = onlyOfKind(byStage.queue, 'ConfigMap', 'queue-recovery-script');
  mkdirSync(scripts, { recursive: true });
  for (const [file, content] of Object.entries(scriptMap.data as Record<string, string>)) writeFileSync(path.join(scripts, file), content);
  const recoveryCommand: string[] = cronJob.spec.jobTemplate.spec.template.spec.containers[0].command
    .map((arg: string) => arg.replace(/^\/scripts\//, scripts + '/'));
  const hostIndex = recoveryCommand.indexOf('-h');
  recoveryCommand.splice(hostIndex, 4, '-h', '127.0.0.1', '-p', String(running.port));
  let recovering = true;
  const recovery = (async () => {
    while (recovering) {
      // The admin password, as the CronJob's secretKeyRef gives it; Redis may be down meanwhile.
      await promisify(execFile)(recoveryCommand[0], recoveryCommand.slice(1), { env: { ...process.env, REDISCLI_AUTH: ADMIN_PASSWORD } })
        .catch(() => undefined);
      await sleep(1000);
    }
  })();

  try {
    job = new Job(3, running.port, { WORK_LOG: log, BLOCK_TIMEOUT: '1', WORK_SECONDS: '0.3', LEASE_SECS: '3' });
    const ids = sceneIds(45);
    await enqueue(running, ids);

    // Mid-campaign: a third of the scenes done, then Redis is killed and comes back.
    for (let i = 0; i < 600 && doneScenes(log).size < 15; i++) await sleep(100);
    expect(doneScenes(log).size).toBeGreaterThanOrEqual(15);
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
  }
}, 180_000);
