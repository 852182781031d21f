import { ChildProcess } from 'child_process';
import Redis from 'ioredis';
import { RedisQueueStore } from '../../lib/redis-queue-store';
import { WAIT_FOR_WORK_CONTAINER, WAIT_FOR_WORK_POLL_SECONDS } from '../../lib/wait-for-work';
import { WorkQueueJob } from '../../lib/work-queue-job';
import { SENTINEL_2 } from '../../protocol/workflows';
import { onlyOfKind } from '../support/manifests';
import { synthChart } from '../support/synth';
import { LocalPod, Output } from '../support/pod';
import { RedisServer } from '../support/redis-server';
import { exited, sleep } from '../support/wait';

// The gate's shell command as synthesized, run with sh and redis-cli against a real
// redis-server: only REDIS_HOST and REDIS_PORT are pointed at the test server.

/** The worker pod of a Job synthesized with `waitForWorkSeconds`, whose gate a test runs. */
function workerPodOf(waitForWorkSeconds: number): LocalPod {
  const objects = synthChart((chart) => {
    const redis = new RedisQueueStore(chart, 'redis');
    new WorkQueueJob(chart, 'worker', { workflow: SENTINEL_2, redis, waitForWorkSeconds });
  });
  const job = onlyOfKind(objects, 'Job');
  expect(job.spec.template.spec.initContainers.map((c: { name: string }) => c.name)).toEqual([WAIT_FOR_WORK_CONTAINER]);
  return new LocalPod(objects, job);
}

const POLL_MS = WAIT_FOR_WORK_POLL_SECONDS * 1000;
/** Whether the process is still running after `ms`. */
async function stillRunningAfter(child: ChildProcess, ms: number): Promise<boolean> {
  return Promise.race([exited(child).then(() => false), sleep(ms).then(() => true)]);
}

/** What a test gets: its own redis-server (tests run concurrently), a client, and the gates it starts. */
interface GateTest {
  readonly server: RedisServer;
  readonly redis: Redis;
  startGate(waitForWorkSeconds: number, port?: number): { gate: ChildProcess; output: Output };
}

/**
 * Runs `body` against a fresh redis-server, then kills the gates it started and stops the
 * server, whatever the outcome: the tests of this file wait on real time (poll interval,
 * bounds), so they run concurrently, each on its own server.
 */
async function withGates(body: (t: GateTest) => Promise<void>): Promise<void> {
  const server = await RedisServer.start();
  const redis = new Redis(server.url);
  const gates: ChildProcess[] = [];
  const pods: LocalPod[] = [];
  const startGate = (waitForWorkSeconds: number, port = server.port) => {
    const pod = workerPodOf(waitForWorkSeconds);
    pods.push(pod);
    const gate = pod.spawn(WAIT_FOR_WORK_CONTAINER, { REDIS_HOST: '127.0.0.1', REDIS_PORT: String(port) });
    gates.push(gate);
    return { gate, output: new Output(gate) };
  };
  try {
    await body({ server, redis, startGate });
  } finally {
    for (const gate of gates) {
      gate.kill('SIGKILL');
      await exited(gate);
    }
    for (const pod of pods) pod.remove();
    redis.disconnect();
    await server.stop();
  }
}

test.concurrent('waits while the queue is empty, and passes within seconds of an RPUSH', () => withGates(async ({ redis, startGate }) => {
  const { gate, output } = startGate(1800);
  await output.waitFor('jobS2 and jobS2:processing are empty: waiting up to 1800s for work');
  expect(await stillRunningAfter(gate, POLL_MS + 2000)).toBe(true);

  await redis.rpush('jobS2', JSON.stringify({ in_scene: 'S2A_MSIL2A_20190812T235741_N0213_R030_T56LRR_20190813T014708' }));
  const pushed = Date.now();
  expect(await output.closed).toBe(0);
  // One poll interval, plus a wide margin for a loaded machine.
  expect(Date.now() - pushed).toBeLessThan(POLL_MS + 10_000);
  expect(output.text).toContain('wait-for-work: 1 pending, 0 processing in jobS2: starting the worker');
}), 60_000);

test.concurrent('passes when items are only in processing (recovery may give them back)', () => withGates(async ({ redis, startGate }) => {
  await redis.rpush('jobS2:processing', 'x');
  const { output } = startGate(1800);
  expect(await output.closed).toBe(0);
  expect(output.text).toContain('0 pending, 1 processing in jobS2: starting the worker');
}), 30_000);

test.concurrent('gives up after its bound on an empty queue and lets the worker run', () => withGates(async ({ startGate }) => {
  const started = Date.now();
  const { output } = startGate(2);
  expect(await output.closed).toBe(0);
  const elapsed = Date.now() - started;
  expect(elapsed).toBeGreaterThanOrEqual(2000);
  expect(elapsed).toBeLessThan(2000 + POLL_MS + 10_000);
  expect(output.text).toContain('wait-for-work: jobS2 still empty after 2s: starting the worker, which exits 0 on an empty queue');
}), 60_000);

test.concurrent('never lets the worker run against a Redis that does not answer, even past its bound', () => withGates(async ({ startGate }) => {
  const down = await RedisServer.start();
  try {
    await down.kill();
    const { gate, output } = startGate(1, down.port);
    await output.waitFor(`waiting for redis at 127.0.0.1:${down.port}: Could not connect to Redis`);
    expect(await stillRunningAfter(gate, POLL_MS + 2000)).toBe(true);

    // Redis comes back with an empty queue: the bound has passed, so the worker may run now.
    await down.restart();
    expect(await output.closed).toBe(0);
    expect(output.text).toContain('jobS2 still empty after 1s: starting the worker');
  } finally {
    await down.stop();
  }
}), 60_000);
