import * as path from 'path';
import Redis from 'ioredis';
import { LEASE_HEARTBEAT_REDIS_COMMANDS } from '../../../lib/lease-heartbeat-contract';
import { waitFor } from '../../support/wait';
import { dir, heartbeatWorker, item, leaseKey, lines, Q, redis, server, TTL, useHeartbeatFixture } from './fixture';

useHeartbeatFixture();

describe('Redis ACL of the unauthenticated default user', () => {
  // The workers' own protocol (see DESIGN: the worker contract) plus the heartbeat's commands.
  const WORKER_PROTOCOL = ['LLEN', 'BRPOPLPUSH', 'RPOPLPUSH', 'SETEX', 'LREM', 'DEL'];

  async function withDefaultUserAllowing(commands: readonly string[], run: (admin: Redis) => Promise<void>): Promise<void> {
    await redis.call('ACL', 'SETUSER', 'admin', 'on', '>test-only', '~*', '&*', '+@all');
    const admin = new Redis({ port: server.port, host: '127.0.0.1', username: 'admin', password: 'test-only' });
    try {
      await admin.call('ACL', 'SETUSER', 'default', 'reset', 'on', 'nopass', '~*', ...commands.map((c) => `+${c.toLowerCase()}`));
      await admin.call('ACL', 'LOG', 'RESET');
      await run(admin);
    } finally {
      await admin.call('ACL', 'SETUSER', 'default', 'reset', 'on', 'nopass', '~*', '&*', '+@all');
      await admin.call('ACL', 'DELUSER', 'admin');
      admin.disconnect();
    }
  }

  test('LEASE_HEARTBEAT_REDIS_COMMANDS is all the heartbeat needs: renewals, no denial, no warning', async () => {
    await redis.rpush(Q, item(1));
    await withDefaultUserAllowing([...WORKER_PROTOCOL, ...LEASE_HEARTBEAT_REDIS_COMMANDS], async (admin) => {
      const log = path.join(dir, 'work.log');
      const { stderr } = heartbeatWorker({ WORK_SECONDS: String(2 * TTL), WORK_LOG: log });
      expect(await stderr.closed).toBe(0);
      expect(stderr.text()).toBe('');
      expect(await admin.call('ACL', 'LOG')).toEqual([]);
      expect(lines(log, 'start ')).toEqual(['start scene-1']);
      const stats = String(await admin.info('commandstats'));
      expect(Number(/cmdstat_expire:calls=(\d+)/.exec(stats)?.[1])).toBeGreaterThanOrEqual(3);
    });
  });

  test('without one of them (UNWATCH) the heartbeat warns once and the worker still finishes', async () => {
    await redis.rpush(Q, item(1));
    const allowed = [...WORKER_PROTOCOL, ...LEASE_HEARTBEAT_REDIS_COMMANDS.filter((c) => c !== 'UNWATCH')];
    await withDefaultUserAllowing(allowed, async (admin) => {
      // Renewal attempts every TTL/3: the scene (2× the TTL) lasts five of them after the lease is
      // handed over, so the foreign value set below meets one however late it lands.
      const { stderr } = heartbeatWorker({ WORK_SECONDS: String(2 * TTL) });
      await waitFor('the lease', async () => ((await admin.exists(leaseKey(item(1)))) ? true : undefined));
      await admin.set(leaseKey(item(1)), 'another-worker'); // so the heartbeat lets go: UNWATCH
      expect(await stderr.closed).toBe(0);
      expect(stderr.text()).toMatch(/^ard-lease-heartbeat: WARNING: renewing \S+ failed \(NoPermissionError: .*unwatch.*\); retrying every 0\.667 s\n$/);
    });
  });
});
