import * as path from 'path';
import { exited, waitFor } from '../../support/wait';
import { dir, GRACE, heartbeatWorker, INTERVAL_MS, item, leaseKey, lines, Q, redis, startRecovery, TTL, useHeartbeatFixture } from './fixture';

useHeartbeatFixture();

describe('a dead worker\'s scene comes back', () => {
  test('SIGKILL mid-scene: the scene is back within TTL + grace + interval, and the campaign completes', async () => {
    const log = path.join(dir, 'work.log');
    await redis.rpush(Q, item(1));
    startRecovery();
    const { worker: doomed } = heartbeatWorker({ WORK_SECONDS: '600', WORK_LOG: log });
    await waitFor('the scene to start', async () => (lines(log, 'start ').length === 1 ? true : undefined));
    // Let the heartbeat renew at least once, so the lease runs its full TTL after the kill.
    const key = leaseKey(item(1));
    const firstTtl = await redis.pttl(key);
    await waitFor('a renewal', async () => ((await redis.pttl(key)) > firstTtl ? true : undefined), 10_000, 10);
    doomed.kill('SIGKILL');
    const killedAt = Date.now();
    await exited(doomed);
    await waitFor('the scene back in the queue', async () => ((await redis.lrange(Q, 0, -1)).includes(item(1)) ? true : undefined));
    const backAfterMs = Date.now() - killedAt;
    // TTL + grace + one interval, and the run that notices the expiry may come one interval late;
    // 2 s more for a loaded machine's polls: far below the image's fixed 1800 s either way.
    expect(backAfterMs).toBeLessThanOrEqual((TTL + GRACE) * 1000 + 2 * INTERVAL_MS + 2000);

    const { worker: next } = heartbeatWorker({ WORK_LOG: log });
    expect(await exited(next)).toBe(0);
    expect(lines(log, 'done ')).toEqual(['done scene-1']);
    expect(await redis.llen(Q)).toBe(0);
    expect(await redis.llen(`${Q}:processing`)).toBe(0);
  });

  test('a hung worker\'s lease is renewed no longer than ARD_LEASE_MAX_SECONDS, with one warning', async () => {
    await redis.rpush(Q, item(1));
    // Renewed at TTL/3 and 2·TTL/3, not at TTL: the lease ends at 5/3 TTL, past the TTL.
    const MAX = TTL;
    const { worker, stderr } = heartbeatWorker({ WORK_SECONDS: '600', ARD_LEASE_MAX_SECONDS: String(MAX) });
    try {
      const key = leaseKey(item(1));
      await waitFor('the lease', async () => ((await redis.exists(key)) ? true : undefined));
      const leasedAt = Date.now();
      await waitFor('the lease to end', async () => ((await redis.exists(key)) ? undefined : true), 20_000);
      // Renewed past the TTL, ended within max + TTL (+ 2 s for late renewals and polls on a
      // loaded machine; without the limit it would be renewed for the scene's 600 s).
      expect(Date.now() - leasedAt).toBeGreaterThan(TTL * 1000);
      expect(Date.now() - leasedAt).toBeLessThanOrEqual((MAX + TTL) * 1000 + 2000);
      expect(stderr.text()).toBe(
        `ard-lease-heartbeat: WARNING: stopped renewing ${key} after ARD_LEASE_MAX_SECONDS=${MAX}; ` +
          `the lease ends in ${TTL} s and recovery then requeues the item\n`,
      );
    } finally {
      worker.kill('SIGKILL');
      await exited(worker);
    }
  });
});
