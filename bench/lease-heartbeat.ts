/**
 * What the lease heartbeat changes, side by side, with times scaled down 60×: the heartbeat's
 * 120 s lease becomes 2 s, the S2 image's fixed 1800 s lease 30 s; recovery runs every second
 * with a 1 s grace period (the CronJob: every minute, 30 s).
 *
 * - Recovery time: a worker is SIGKILLed 1 s into a scene; how long until the scene is back in
 *   the queue.
 * - Slow scenes: SCENES scenes that each take 45 s (a 45 min scene, 1.5× the image's lease),
 *   one worker each, recovery with the default maxAttempts: how often each scene is processed,
 *   how many end dead-lettered, and how long the campaign takes.
 *
 * Workers are the Python stand-in for the images (test/support/python), the heartbeat is loaded
 * from the committed dist/ ConfigMap as in the pod, against a fresh redis-server.
 *
 * Run: `npm run bench:heartbeat` (BENCH_SCENES, default 3). Prints a Markdown table for the README.
 */
import { existsSync, readFileSync, rmSync } from 'fs';
import * as path from 'path';
import Redis from 'ioredis';
import { DEFAULT_MAX_ATTEMPTS } from '../protocol/recovery';
import { heartbeatFromDist, tempDir } from '../test/support/lease-heartbeat';
import { exited, waitFor } from '../test/support/wait';
import { recoveryLoop } from '../test/support/recovery-loop';
import { startPythonWorker } from '../test/support/python-worker';
import { RedisServer } from '../test/support/redis-server';
import { leaseKey as leaseKeyOf, queueKeys } from '../protocol/queue-keys';
import { setting } from './interleaved';

const Q = 'jobS2';
const SCENES = setting('BENCH_SCENES', 3);
const SLOW_SCENE_SECONDS = 45;
const GRACE = 1;
const INTERVAL_MS = 1000;

interface Variant {
  readonly label: string;
  /** Worker env: the heartbeat's PYTHONPATH and lease, or the image's fixed lease. */
  readonly env: (heartbeatDir: string) => Record<string, string>;
  readonly leaseSeconds: number;
}

const VARIANTS: Variant[] = [
  {
    label: 'image\'s fixed lease (1800 s → 30 s), no heartbeat',
    env: () => ({ LEASE_SECS: '30' }),
    leaseSeconds: 30,
  },
  {
    label: 'heartbeat (ARD_LEASE_SECONDS 120 s → 2 s)',
    env: (dir) => ({ PYTHONPATH: dir, ARD_LEASE_SECONDS: '2', ARD_LEASE_MAX_SECONDS: '3600', LEASE_SECS: '30' }),
    leaseSeconds: 2,
  },
];

const item = (n: number) => JSON.stringify({ in_scene: `scene-${n}` });
const leaseKey = (value: string) => leaseKeyOf(queueKeys(Q), value);
const starts = (log: string) => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('start ')) : []);

async function recoveryTime(redis: Redis, port: number, env: Record<string, string>): Promise<number> {
  await redis.flushall();
  await redis.rpush(Q, item(0));
  const recovery = recoveryLoop(`redis://127.0.0.1:${port}`, Q, { graceSeconds: GRACE, maxAttempts: DEFAULT_MAX_ATTEMPTS, periodMs: INTERVAL_MS });
  const worker = startPythonWorker({ port, env: { ...env, WORK_SECONDS: '600', BLOCK_TIMEOUT: '1' } });
  await waitFor('the lease', async () => ((await redis.exists(leaseKey(item(0)))) ? true : undefined));
  await new Promise((r) => setTimeout(r, 1000));
  worker.kill('SIGKILL');
  const killedAt = Date.now();
  await exited(worker);
  await waitFor('the scene back', async () => ((await redis.llen(Q)) > 0 ? true : undefined), 120_000);
  const seconds = (Date.now() - killedAt) / 1000;
  await recovery.stop();
  return seconds;
}

async function slowScenes(redis: Redis, port: number, env: Record<string, string>, dir: string) {
  await redis.flushall();
  await redis.rpush(Q, ...Array.from({ length: SCENES }, (_, n) => item(n)));
  const log = path.join(dir, `work-${Date.now()}.log`);
  const recovery = recoveryLoop(`redis://127.0.0.1:${port}`, Q, { graceSeconds: GRACE, maxAttempts: DEFAULT_MAX_ATTEMPTS, periodMs: INTERVAL_MS });
  const started = Date.now();
  const workers = Array.from({ length: SCENES }, () =>
    startPythonWorker({ port, env: { ...env, WORK_SECONDS: String(SLOW_SCENE_SECONDS), WORK_LOG: log, BLOCK_TIMEOUT: '1' } }));
  await Promise.all(workers.map(exited));
  const seconds = (Date.now() - started) / 1000;
  await recovery.stop();
  return { runs: starts(log).length, deadLettered: await redis.llen(`${Q}:dead_letter`), seconds };
}

async function main(): Promise<void> {
  const dir = tempDir('ard-bench-heartbeat-');
  const heartbeatDir = heartbeatFromDist(dir);
  const server = await RedisServer.start();
  const redis = new Redis(server.url);
  try {
    console.log(`| scaled 60× (lease, recovery every 1 s, grace ${GRACE} s) | killed worker: scene back after s | ` +
      `${SCENES} scenes of ${SLOW_SCENE_SECONDS} s: runs | dead-lettered | campaign s |`);
    console.log('|---|---:|---:|---:|---:|');
    for (const variant of VARIANTS) {
      const env = variant.env(heartbeatDir);
      const back = await recoveryTime(redis, server.port, env);
      const slow = await slowScenes(redis, server.port, env, dir);
      console.log(`| ${variant.label} | ${back.toFixed(1)} | ${slow.runs} | ${slow.deadLettered} | ${slow.seconds.toFixed(0)} |`);
    }
  } finally {
    redis.disconnect();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
