import Redis from 'ioredis';
import { queueKeys } from '../../../protocol/queue-keys';
import { recoveryLoop } from '../../support/recovery-loop';
import { RedisServer } from '../../support/redis-server';
import { FakeJob } from '../support';

// Fault tests: real redis-server, real worker processes following the lease protocol
// (test/support/lease-worker.cjs), the recovery script run every 0.1 s as the CronJob would
// every minute. Leases and grace periods are seconds instead of 1800 s and 60 s, so faults
// resolve in seconds. The tests are in two files, so that jest runs them side by side; each
// test starts its own redis-server.

export const Q = 'jobS2';
export const K = queueKeys(Q);

export let server: RedisServer;
export let redis: Redis;
/** What a test starts: its workers, the workers meant to die before them, its recovery loop; stopped after the test. */
export const started: { job?: FakeJob; doomed?: FakeJob; recovery?: ReturnType<typeof recoveryLoop> } = {};

/** Stops what each test started, its redis-server last. */
export function useFaultFixture(): void {
  afterEach(async () => {
    await started.recovery?.stop();
    await started.job?.stop();
    await started.doomed?.stop();
    redis?.disconnect();
    await server?.stop();
    delete started.recovery;
    delete started.job;
    delete started.doomed;
  });
}

export async function startServer(options: Parameters<typeof RedisServer.start>[0] = {}): Promise<void> {
  server = await RedisServer.start(options);
  redis = new Redis(server.url, { retryStrategy: () => 100 });
  redis.on('error', () => {});
}

export const workerEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
  REDIS_URL: server.url, QUEUE: Q, LEASE_SECS: '2', TIMEOUT_SECS: '1', WORK_MS: '10', ...extra,
});

export async function expectQueueEmpty(): Promise<void> {
  expect(await redis.llen(K.pending)).toBe(0);
  expect(await redis.llen(K.processing)).toBe(0);
}

/** Counts of each element, so that "exactly once" failures show the offending items. */
export function multiplicity(items: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}
