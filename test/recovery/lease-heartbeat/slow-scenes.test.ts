import * as path from 'path';
import { waitFor } from '../../support/wait';
import { exited, startPythonWorker } from '../../support/python-worker';
import { dir, heartbeatWorker, item, leaseKey, lines, Q, recovery, redis, server, startRecovery, TTL, useHeartbeatFixture } from './fixture';

useHeartbeatFixture();

describe('a slow scene keeps its lease', () => {
  test('a scene taking 3× the lease TTL is processed exactly once and never dead-lettered', async () => {
    const log = path.join(dir, 'work.log');
    await redis.rpush(Q, item(1), item(2));
    startRecovery(1); // the first take-back would already dead-letter
    const workers = [0, 1].map(() => heartbeatWorker({ WORK_SECONDS: String(3 * TTL), WORK_LOG: log, LEASE_SECS: '1800' }));
    expect(await Promise.all(workers.map(({ worker }) => exited(worker)))).toEqual([0, 0]);
    expect(lines(log, 'start ').sort()).toEqual(['start scene-1', 'start scene-2']);
    expect(lines(log, 'done ')).toHaveLength(2);
    expect(await redis.llen(`${Q}:dead_letter`)).toBe(0);
    expect(await redis.hlen(`${Q}:attempts`)).toBe(0);
    expect(recovery!.takeBacks).toBe(0);
    expect(workers.map(({ stderr }) => stderr.text())).toEqual(['', '']);
  });

  test('control: without the heartbeat the same lease (TTL 2 s) expires and the healthy scene is dead-lettered', async () => {
    const log = path.join(dir, 'work.log');
    await redis.rpush(Q, item(1));
    startRecovery(1);
    const workers = [0, 1].map(() => startPythonWorker({
      port: server.port,
      env: { LEASE_SECS: String(TTL), WORK_SECONDS: String(3 * TTL), WORK_LOG: log, BLOCK_TIMEOUT: '1' },
    }));
    expect(await Promise.all(workers.map(exited))).toEqual([0, 0]);
    expect(lines(log, 'done ')).toEqual(['done scene-1']);
    expect(await redis.lrange(`${Q}:dead_letter`, 0, -1)).toEqual([item(1)]);
  });

  test('the lease is taken with ARD_LEASE_SECONDS instead of the image\'s lease time, and renewed', async () => {
    await redis.rpush(Q, item(1));
    const { worker } = heartbeatWorker({ WORK_SECONDS: '60', LEASE_SECS: '1800' });
    try {
      const key = leaseKey(item(1));
      await waitFor('the lease', async () => ((await redis.exists(key)) ? true : undefined));
      expect(await redis.ttl(key)).toBeLessThanOrEqual(TTL);
      // Outlives several TTLs.
      const since = Date.now();
      while (Date.now() - since < 3 * TTL * 1000) {
        expect(await redis.exists(key)).toBe(1);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      worker.kill('SIGKILL');
      await exited(worker);
    }
  });
});
