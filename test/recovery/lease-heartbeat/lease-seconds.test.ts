import { exited, sleep, waitFor } from '../../support/wait';
import { heartbeatWorker, item, leaseKey, Q, redis, TTL, useHeartbeatFixture } from './fixture';

// Beside slow-scenes.test.ts rather than in it, so that jest runs the two side by side: each
// waits on scenes several seconds long.

useHeartbeatFixture();

describe('a slow scene keeps its lease', () => {
  test('the lease is taken with ARD_LEASE_SECONDS instead of the image\'s lease time, and renewed', async () => {
    await redis.rpush(Q, item(1));
    const { worker } = heartbeatWorker({ WORK_SECONDS: '60', LEASE_SECS: '1800' });
    try {
      const key = leaseKey(item(1));
      await waitFor('the lease', async () => ((await redis.exists(key)) ? true : undefined));
      expect(await redis.ttl(key)).toBeLessThanOrEqual(TTL);
      // Outlives twice its TTL, which takes renewal after renewal (every TTL/3), not just one.
      const since = Date.now();
      while (Date.now() - since < 2 * TTL * 1000) {
        expect(await redis.exists(key)).toBe(1);
        await sleep(100);
      }
    } finally {
      worker.kill('SIGKILL');
      await exited(worker);
    }
  });
});
