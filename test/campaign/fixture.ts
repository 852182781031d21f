/**
 * The README's campaign order, end to end, with what the cluster would run: Redis with the
 * committed queue stage's redis.conf, Python workers of the images' protocol started only
 * through the committed wait-for-work gate (sh + redis-cli, as synthesized), the queue tool's
 * enqueue, and a Job controller's `restartPolicy: Never` semantics (a failed pod is replaced
 * by a new pod, which passes the gate again, until a pod of the Job has succeeded).
 *
 * The tests are in two files, so that jest runs them side by side.
 */
import { ChildProcess, execFile } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { promisify } from 'util';
import Redis from 'ioredis';
import { WAIT_FOR_WORK_CONTAINER } from '../../lib/wait-for-work';
import { committedObjects, onlyOfKind } from '../support/manifests';
import { exited } from '../support/wait';
import { startPythonWorker } from '../support/python-worker';
import { QUEUE_CLI as CLI } from '../support/cli';
import { CommittedRedis, startCommittedRedis } from '../support/committed-redis';
import { LocalPod, Output } from '../support/pod';

export const TMP = mkdtempSync(path.join(tmpdir(), 'ard-campaign-'));
export const ADMIN_PASSWORD = 'campaign-admin-password-0123';
/** The Secrets the queue stage of dist/prod needs (the admin's, the exporter's). */
const SECRETS = {
  'redis-admin': { password: ADMIN_PASSWORD },
  'redis-exporter': { password: 'campaign-exporter-password-01' },
};
const adminUrl = (server: CommittedRedis) => `redis://admin:${ADMIN_PASSWORD}@127.0.0.1:${server.port}`;

/** The committed prod worker Job's pod, whose gate runs here: what `kubectl apply -f dist/prod/workers/` runs. */
const workerObjects = committedObjects('prod', 'workers');
const workerPod = new LocalPod(workerObjects, onlyOfKind(workerObjects, 'Job'));



export async function enqueue(server: CommittedRedis, ids: string[]): Promise<void> {
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
export class Job {
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

export function doneScenes(log: string): Set<string> {
  return new Set(readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('done ')).map((l) => l.slice(5)));
}

/** Every scene was done (at least once), and nothing is left pending or in processing. */
export async function expectCampaignDone(server: CommittedRedis, log: string, ids: readonly string[]): Promise<void> {
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
/** The Job a test starts, stopped after it. */
export const started: { job?: Job } = {};

/** Stops what each test started; removes the files of the test file at the end. */
export function useCampaignFixture(): void {
  afterEach(async () => {
    await started.job?.stop();
    delete started.job;
    await server?.stop();
    server = undefined;
    pod?.remove();
    pod = undefined;
  });
  afterAll(() => {
    workerPod.remove();
    rmSync(TMP, { recursive: true, force: true });
  });
}

/** Redis as the committed queue stage runs it: its redis.conf and ACL users (workers and gates are `default`). */
export async function startQueueStage(): Promise<CommittedRedis> {
  ({ server, pod } = await startCommittedRedis(SECRETS));
  return server;
}

