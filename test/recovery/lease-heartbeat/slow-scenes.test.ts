import * as path from 'path';
import { exited } from '../../support/wait';
import { startPythonWorker } from '../../support/python-worker';
import { dir, heartbeatWorker, item, lines, Q, recovery, redis, server, startRecovery, TTL, useHeartbeatFixture } from './fixture';

useHeartbeatFixture();

describe('a slow scene keeps its lease', () => {
  // A scene taking 3× the TTL: without renewal its lease ends at 1× and recovery dead-letters it
  // about grace + one interval later (3.2 s), well before the scene ends at 6 s, however loaded
  // the machine (the control shows it).
  test('a scene taking 3× the lease TTL is processed exactly once and never dead-lettered', async () => {
    const log = path.join(dir, 'work.log');
    await redis.rpush(Q, item(1), item(2));
    startRecovery(1); // the first take-back would already dead-letter
    const workers = [0, 1].map(() => heartbeatWorker({ WORK_SECONDS: String(3 * TTL), WORK_LOG: log, LEASE_SECS: '1800' }));
    expect(await Promise.all(workers.map(({ stderr }) => stderr.closed))).toEqual([0, 0]);
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
});
