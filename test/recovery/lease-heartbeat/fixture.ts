import { rmSync, existsSync, readFileSync } from 'fs';
import Redis from 'ioredis';
import { heartbeatFromDist, stderrOf, tempDir } from '../../support/lease-heartbeat';
import { RecoveryLoop, recoveryLoop } from '../../support/recovery-loop';
import { startPythonWorker } from '../../support/python-worker';
import { RedisServer } from '../../support/redis-server';
import { leaseKey as leaseKeyOf, queueKeys } from '../../../protocol/queue-keys';

// The lease heartbeat as the pod runs it: the files of the dist/ ConfigMap first on PYTHONPATH
// of a real python3 worker of the images' protocol, a real redis-server, and the recovery
// script every 0.1 s (the CronJob's every minute, scaled down like the rest: a dead worker's item
// is back TTL + grace + about one interval after the death). Leases are scaled down (TTL 2 s)
// so that a test takes seconds. The tests are in several files, so that jest runs them side by
// side; each file has its own redis-server.

export const Q = 'jobS2';
export const TTL = 2;
export const GRACE = 1;
export const INTERVAL_MS = 100;

export let server: RedisServer;
export let redis: Redis;
/** A fresh folder per test. */
export let dir: string;
/** The dist/ ConfigMap's files, as the pod mounts them (in `dir`). */
export let heartbeat: string;
/** The recovery loop a test started (startRecovery), stopped and checked after the test. */
export let recovery: RecoveryLoop | undefined;

/** Starts the file's redis-server and gives each test an empty database and a fresh `dir`. */
export function useHeartbeatFixture(): void {
  jest.setTimeout(60_000);
  beforeAll(async () => {
    server = await RedisServer.start();
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });
  beforeEach(async () => {
    await redis.flushall();
    dir = tempDir('ard-heartbeat-');
    heartbeat = heartbeatFromDist(dir);
  });
  afterEach(async () => {
    await recovery?.stop();
    // Recovery must have run without an error (Redis is up throughout these tests).
    expect(recovery?.errors ?? []).toEqual([]);
    recovery = undefined;
    rmSync(dir, { recursive: true, force: true });
  });
}

export const item = (n: number) => JSON.stringify({ in_scene: `scene-${n}` });
export const leaseKey = (value: string) => leaseKeyOf(queueKeys(Q), value);
export const lines = (file: string, prefix: string) =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith(prefix)) : [];
export const startRecovery = (maxAttempts = 3) =>
  (recovery = recoveryLoop(server.url, Q, { graceSeconds: GRACE, maxAttempts, periodMs: INTERVAL_MS }));

/** A worker whose PYTHONPATH is the dist/ ConfigMap's files, with the pod's two variables. */
export function heartbeatWorker(env: Record<string, string>) {
  const worker = startPythonWorker({
    port: server.port,
    env: { PYTHONPATH: heartbeat, ARD_LEASE_SECONDS: String(TTL), ARD_LEASE_MAX_SECONDS: '3600', BLOCK_TIMEOUT: '1', ...env },
  });
  return { worker, stderr: stderrOf(worker) };
}

/** How many WATCH commands the server has run: the heartbeat's renewal attempts. */
export async function watchCalls(): Promise<number> {
  const info = await redis.info('commandstats');
  return Number(/cmdstat_watch:calls=(\d+)/.exec(info)?.[1] ?? 0);
}
