import { spawn, spawnSync } from 'child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import * as path from 'path';
import { stderrOf } from '../../support/lease-heartbeat';
import { exited, waitFor } from '../../support/wait';
import { PYTHON_WORKER_DIR, pythonWithRedis } from '../../support/python-worker';
import { dir, heartbeat, heartbeatWorker, item, leaseKey, Q, recovery, redis, server, startRecovery, TTL, useHeartbeatFixture, watchCalls } from './fixture';

useHeartbeatFixture();

describe('renew_if_held, called from Python on its own', () => {
  test.each([false, true])('extends only a lease that holds the session; never creates one (decode_responses=%s)', async (decode) => {
    await redis.set('jobS2:leased_by_session:mine', 'session-1', 'EX', 100);
    await redis.set('jobS2:leased_by_session:theirs', 'session-2', 'EX', 100);
    // The renewals run between two readings of Redis' clock (TIME, in ms), which the script
    // prints last: the lease must expire 7 s after a moment between them, however long the
    // machine takes to get back to this test.
    const script = [
      'import redis, ard_lease_heartbeat as h',
      `c = redis.StrictRedis(host="127.0.0.1", port=${server.port}, decode_responses=${decode ? 'True' : 'False'})`,
      'ms = lambda t: t[0] * 1000 + t[1] // 1000',
      'before = ms(c.time())',
      'for key in ("mine", "theirs", "gone"):',
      '    print(key, h.renew_if_held(c, "jobS2:leased_by_session:" + key, "session-1", 7))',
      'print(before, ms(c.time()))',
    ].join('\n');
    const run = spawnSync(pythonWithRedis(), ['-c', script], { env: { PATH: process.env.PATH ?? '', PYTHONPATH: heartbeat }, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const lines = run.stdout.split('\n');
    expect(lines.slice(0, 3)).toEqual(['mine True', 'theirs False', 'gone False']);
    const [before, after] = lines[3].split(' ').map(Number);
    const expiresAt = Number(await redis.call('PEXPIRETIME', 'jobS2:leased_by_session:mine'));
    expect(expiresAt).toBeGreaterThanOrEqual(before + 7_000);
    expect(expiresAt).toBeLessThanOrEqual(after + 7_000);
    expect(await redis.ttl('jobS2:leased_by_session:theirs')).toBeGreaterThan(90);
    expect(await redis.exists('jobS2:leased_by_session:gone')).toBe(0);
  });
});

describe('renewal never resurrects a lease', () => {
  test('a stalled worker whose item recovery took back does not renew it when it resumes', async () => {
    await redis.rpush(Q, item(1));
    const { worker, stderr } = heartbeatWorker({ WORK_SECONDS: '600' });
    try {
      const key = leaseKey(item(1));
      await waitFor('the lease', async () => ((await redis.exists(key)) ? true : undefined));
      worker.kill('SIGSTOP'); // the heartbeat stalls with it, as on a partitioned node
      startRecovery();
      await waitFor('recovery to take the item back', async () => ((await redis.llen(Q)) === 1 ? true : undefined));
      await recovery!.stop();
      const watches = await watchCalls();
      worker.kill('SIGCONT');
      // The heartbeat's next attempt (WATCH, GET: gone) must leave the key absent.
      await waitFor('a renewal attempt', async () => ((await watchCalls()) > watches ? true : undefined), 10_000);
      await new Promise((r) => setTimeout(r, 200)); // its GET and UNWATCH
      expect(await redis.exists(key)).toBe(0);
      expect(await redis.lrange(Q, 0, -1)).toEqual([item(1)]);
      expect(stderr.text()).toBe('');
    } finally {
      worker.kill('SIGKILL');
      await exited(worker);
    }
  });

  test('nor extends a lease another worker holds now', async () => {
    const key = leaseKey(item(1));
    await redis.rpush(Q, item(1));
    const { worker } = heartbeatWorker({ WORK_SECONDS: '600' });
    try {
      await waitFor('the lease', async () => ((await redis.exists(key)) ? true : undefined));
      await redis.set(key, 'another-worker', 'EX', 100);
      const watches = await watchCalls();
      await waitFor('a renewal attempt', async () => ((await watchCalls()) > watches ? true : undefined), 10_000);
      await new Promise((r) => setTimeout(r, 200));
      expect(await redis.get(key)).toBe('another-worker');
      expect(await redis.ttl(key)).toBeGreaterThan(TTL);
    } finally {
      worker.kill('SIGKILL');
      await exited(worker);
    }
  });
});

describe('anything unexpected leaves the worker as it was, with one warning line', () => {
  /** The TTL (s) of lease `key` once it exists, read in the same call that finds it (the scene lasts 3 s). */
  const leaseTtl = (key: string): Promise<number> =>
    waitFor('the lease', async () => {
      const ttl = await redis.ttl(key);
      return ttl > 0 ? ttl : undefined;
    });

  /** A worker folder with worker.py and a rediswq.py changed by `edit` (the image's own layout). */
  function variantWorker(edit: (source: string) => string, env: Record<string, string>) {
    const folder = path.join(dir, 'image');
    mkdirSync(folder);
    copyFileSync(path.join(PYTHON_WORKER_DIR, 'worker.py'), path.join(folder, 'worker.py'));
    writeFileSync(path.join(folder, 'rediswq.py'), edit(readFileSync(path.join(PYTHON_WORKER_DIR, 'rediswq.py'), 'utf8')));
    const worker = spawn(pythonWithRedis(), [path.join(folder, 'worker.py')], {
      cwd: folder,
      env: {
        PATH: process.env.PATH ?? '', PYTHONPATH: heartbeat, ARD_LEASE_SECONDS: String(TTL), ARD_LEASE_MAX_SECONDS: '3600',
        REDIS_SERVICE_HOST: '127.0.0.1', REDIS_SERVICE_PORT: String(server.port), BLOCK_TIMEOUT: '1', ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { worker, stderr: stderrOf(worker) };
  }

  test('a rediswq whose lease() has another signature runs unchanged (the image\'s lease time) and logs the warning', async () => {
    await redis.rpush(Q, item(1), item(2));
    const { stderr } = variantWorker(
      (s) => s.replace('def lease(self, lease_secs=60, block=True, timeout=None):', 'def lease(self, lease_secs=60, block=True, timeout=None, priority=0):'),
      { LEASE_SECS: '77', WORK_SECONDS: '3' },
    );
    expect(await leaseTtl(leaseKey(item(2)))).toBeGreaterThan(70);
    expect(await stderr.closed).toBe(0);
    expect(await redis.llen(`${Q}:processing`)).toBe(0);
    expect(stderr.text()).toBe(
      'ard-lease-heartbeat: WARNING: cannot patch rediswq.RedisWQ (RedisWQ.lease(self, lease_secs=60, block=True, timeout=None, priority=0) ' +
        'is not lease(self, lease_secs, block, timeout)); the worker runs without lease renewal\n',
    );
  });

  test('a RedisWQ without the attributes the heartbeat uses leases with the image\'s lease time, with the warning', async () => {
    await redis.rpush(Q, item(1));
    const { stderr } = variantWorker((s) => s.replaceAll('self._session', 'self._sid'), { LEASE_SECS: '77', WORK_SECONDS: '3' });
    expect(await leaseTtl(leaseKey(item(1)))).toBeGreaterThan(70);
    expect(await stderr.closed).toBe(0);
    expect(stderr.text()).toBe(
      'ard-lease-heartbeat: WARNING: cannot renew leases (ValueError: RedisWQ instance lacks _db.connection_pool, _session, ' +
        '_lease_key_prefix or _itemkey); the worker runs without lease renewal\n',
    );
  });

  test('a rediswq without the RedisWQ class is left alone, with the warning', async () => {
    await redis.rpush(Q, item(1));
    const { stderr } = variantWorker(
      (s) => s.replace('class RedisWQ(object):', 'class WorkQueue(object):') + '\nRedisWQ = lambda *a, **k: WorkQueue(*a, **k)\n',
      { LEASE_SECS: '77' },
    );
    expect(await stderr.closed).toBe(0);
    expect(stderr.text()).toBe(
      'ard-lease-heartbeat: WARNING: cannot patch rediswq.RedisWQ (module rediswq has no class RedisWQ); the worker runs without lease renewal\n',
    );
  });

  test('Redis refusing the heartbeat\'s commands: the worker completes its scene, one warning', async () => {
    await redis.call('ACL', 'SETUSER', 'default', '-watch');
    try {
      await redis.rpush(Q, item(1));
      const { stderr } = heartbeatWorker({ WORK_SECONDS: String(TTL) });
      expect(await stderr.closed).toBe(0);
      expect(await redis.llen(`${Q}:processing`)).toBe(0);
      const warnings = stderr.text().split('\n').filter(Boolean);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(new RegExp(`^ard-lease-heartbeat: WARNING: renewing ${leaseKey(item(1))} failed \\(NoPermissionError: .*watch.*\\); retrying every 0\\.667 s$`));
    } finally {
      await redis.call('ACL', 'SETUSER', 'default', '+@all');
    }
  });

  test('a Python process that never imports rediswq is untouched, and the image\'s own sitecustomize still runs', () => {
    const image = path.join(dir, 'site-packages');
    mkdirSync(image);
    writeFileSync(path.join(image, 'sitecustomize.py'), 'import sys\nMARK = "image sitecustomize ran"\n');
    const run = spawnSync(pythonWithRedis(), ['-c', 'import sys, sitecustomize; print(sitecustomize.MARK); print(any("Rediswq" in type(f).__name__ for f in sys.meta_path))'], {
      env: { PATH: process.env.PATH ?? '', PYTHONPATH: [heartbeat, image].join(path.delimiter) },
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('image sitecustomize ran\nTrue\n');
  });
});
