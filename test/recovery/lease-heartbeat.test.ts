import { spawn, spawnSync } from 'child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import * as path from 'path';
import Redis from 'ioredis';
import { LEASE_HEARTBEAT_REDIS_COMMANDS } from '../../lib/lease-heartbeat';
import { heartbeatFromDist, stderrOf, tempDir, waitFor } from '../support/lease-heartbeat';
import { RecoveryLoop, recoveryLoop } from '../support/recovery-loop';
import { exited, PYTHON_WORKER_DIR, pythonWithRedis, startPythonWorker } from '../support/python-worker';
import { RedisServer } from '../support/redis-server';
import { leaseKey as leaseKeyOf, queueKeys } from '../../protocol/queue-keys';

// The lease heartbeat as the pod runs it: the files of the dist/ ConfigMap first on PYTHONPATH
// of a real python3 worker of the images' protocol, a real redis-server, and the recovery
// script every second. Leases are scaled down (TTL 2 s) so that a test takes seconds.

jest.setTimeout(60_000);

const Q = 'jobS2';
const TTL = 2;
const GRACE = 1;
const INTERVAL_MS = 1000;

let server: RedisServer;
let redis: Redis;
let dir: string;
let heartbeat: string;
let recovery: RecoveryLoop | undefined;

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

const item = (n: number) => JSON.stringify({ in_scene: `scene-${n}` });
const leaseKey = (value: string) => leaseKeyOf(queueKeys(Q), value);
const lines = (file: string, prefix: string) =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith(prefix)) : [];
const startRecovery = (maxAttempts = 3) =>
  (recovery = recoveryLoop(server.url, Q, { graceSeconds: GRACE, maxAttempts, periodMs: INTERVAL_MS }));

/** A worker whose PYTHONPATH is the dist/ ConfigMap's files, with the pod's two variables. */
function heartbeatWorker(env: Record<string, string>) {
  const worker = startPythonWorker({
    port: server.port,
    env: { PYTHONPATH: heartbeat, ARD_LEASE_SECONDS: String(TTL), ARD_LEASE_MAX_SECONDS: '3600', BLOCK_TIMEOUT: '1', ...env },
  });
  return { worker, stderr: stderrOf(worker) };
}

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
    // TTL + grace + one interval, and the run that notices the expiry may come one interval late
    // on a loaded machine; far below the image's fixed 1800 s either way.
    expect(backAfterMs).toBeLessThanOrEqual((TTL + GRACE) * 1000 + 2 * INTERVAL_MS + 1000);

    const { worker: next } = heartbeatWorker({ WORK_LOG: log });
    expect(await exited(next)).toBe(0);
    expect(lines(log, 'done ')).toEqual(['done scene-1']);
    expect(await redis.llen(Q)).toBe(0);
    expect(await redis.llen(`${Q}:processing`)).toBe(0);
  });

  test('a hung worker\'s lease is renewed no longer than ARD_LEASE_MAX_SECONDS, with one warning', async () => {
    await redis.rpush(Q, item(1));
    const { worker, stderr } = heartbeatWorker({ WORK_SECONDS: '600', ARD_LEASE_MAX_SECONDS: String(TTL + 1) });
    try {
      const key = leaseKey(item(1));
      await waitFor('the lease', async () => ((await redis.exists(key)) ? true : undefined));
      const leasedAt = Date.now();
      await waitFor('the lease to end', async () => ((await redis.exists(key)) ? undefined : true), 20_000);
      // Renewed past the TTL, ended within max + TTL (+ one renewal interval of slack).
      expect(Date.now() - leasedAt).toBeGreaterThan(TTL * 1000);
      expect(Date.now() - leasedAt).toBeLessThanOrEqual((TTL + 1 + TTL) * 1000 + 1000);
      expect(stderr.text()).toBe(
        `ard-lease-heartbeat: WARNING: stopped renewing ${key} after ARD_LEASE_MAX_SECONDS=${TTL + 1}; ` +
          `the lease ends in ${TTL} s and recovery then requeues the item\n`,
      );
    } finally {
      worker.kill('SIGKILL');
      await exited(worker);
    }
  });
});

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
      const { worker, stderr } = heartbeatWorker({ WORK_SECONDS: String(3 * TTL), WORK_LOG: log });
      expect(await exited(worker)).toBe(0);
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
      const { worker, stderr } = heartbeatWorker({ WORK_SECONDS: String(2 * TTL) });
      await waitFor('the lease', async () => ((await admin.exists(leaseKey(item(1)))) ? true : undefined));
      await admin.set(leaseKey(item(1)), 'another-worker'); // so the heartbeat lets go: UNWATCH
      expect(await exited(worker)).toBe(0);
      expect(stderr.text()).toMatch(/^ard-lease-heartbeat: WARNING: renewing \S+ failed \(NoPermissionError: .*unwatch.*\); retrying every 0\.667 s\n$/);
    });
  });
});

describe('renew_if_held, called from Python on its own', () => {
  test.each([false, true])('extends only a lease that holds the session; never creates one (decode_responses=%s)', async (decode) => {
    await redis.set('jobS2:leased_by_session:mine', 'session-1', 'EX', 100);
    await redis.set('jobS2:leased_by_session:theirs', 'session-2', 'EX', 100);
    const script = [
      'import redis, ard_lease_heartbeat as h',
      `c = redis.StrictRedis(host="127.0.0.1", port=${server.port}, decode_responses=${decode ? 'True' : 'False'})`,
      'for key in ("mine", "theirs", "gone"):',
      '    print(key, h.renew_if_held(c, "jobS2:leased_by_session:" + key, "session-1", 7))',
    ].join('\n');
    const run = spawnSync(pythonWithRedis(), ['-c', script], { env: { PATH: process.env.PATH ?? '', PYTHONPATH: heartbeat }, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('mine True\ntheirs False\ngone False\n');
    expect(await redis.ttl('jobS2:leased_by_session:mine')).toBe(7);
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
    const { worker, stderr } = variantWorker(
      (s) => s.replace('def lease(self, lease_secs=60, block=True, timeout=None):', 'def lease(self, lease_secs=60, block=True, timeout=None, priority=0):'),
      { LEASE_SECS: '77', WORK_SECONDS: '1' },
    );
    const key = leaseKey(item(2));
    await waitFor('the lease', async () => ((await redis.exists(key)) ? true : undefined));
    expect(await redis.ttl(key)).toBeGreaterThan(70);
    expect(await exited(worker)).toBe(0);
    expect(await redis.llen(`${Q}:processing`)).toBe(0);
    expect(stderr.text()).toBe(
      'ard-lease-heartbeat: WARNING: cannot patch rediswq.RedisWQ (RedisWQ.lease(self, lease_secs=60, block=True, timeout=None, priority=0) ' +
        'is not lease(self, lease_secs, block, timeout)); the worker runs without lease renewal\n',
    );
  });

  test('a RedisWQ without the attributes the heartbeat uses leases with the image\'s lease time, with the warning', async () => {
    await redis.rpush(Q, item(1));
    const { worker, stderr } = variantWorker((s) => s.replaceAll('self._session', 'self._sid'), { LEASE_SECS: '77', WORK_SECONDS: '1' });
    const key = leaseKey(item(1));
    await waitFor('the lease', async () => ((await redis.exists(key)) ? true : undefined));
    expect(await redis.ttl(key)).toBeGreaterThan(70);
    expect(await exited(worker)).toBe(0);
    expect(stderr.text()).toBe(
      'ard-lease-heartbeat: WARNING: cannot renew leases (ValueError: RedisWQ instance lacks _db.connection_pool, _session, ' +
        '_lease_key_prefix or _itemkey); the worker runs without lease renewal\n',
    );
  });

  test('a rediswq without the RedisWQ class is left alone, with the warning', async () => {
    await redis.rpush(Q, item(1));
    const { worker, stderr } = variantWorker(
      (s) => s.replace('class RedisWQ(object):', 'class WorkQueue(object):') + '\nRedisWQ = lambda *a, **k: WorkQueue(*a, **k)\n',
      { LEASE_SECS: '77' },
    );
    expect(await exited(worker)).toBe(0);
    expect(stderr.text()).toBe(
      'ard-lease-heartbeat: WARNING: cannot patch rediswq.RedisWQ (module rediswq has no class RedisWQ); the worker runs without lease renewal\n',
    );
  });

  test('Redis refusing the heartbeat\'s commands: the worker completes its scene, one warning', async () => {
    await redis.call('ACL', 'SETUSER', 'default', '-watch');
    try {
      await redis.rpush(Q, item(1));
      const { worker, stderr } = heartbeatWorker({ WORK_SECONDS: String(TTL) });
      expect(await exited(worker)).toBe(0);
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

/** How many WATCH commands the server has run: the heartbeat's renewal attempts. */
async function watchCalls(): Promise<number> {
  const info = await redis.info('commandstats');
  return Number(/cmdstat_watch:calls=(\d+)/.exec(info)?.[1] ?? 0);
}
