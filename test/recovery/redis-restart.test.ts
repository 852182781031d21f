import { execFileSync } from 'child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import Redis from 'ioredis';
import { queueKeys } from '../../protocol/queue-keys';
import { runCli } from '../support/cli';
import { CommittedRedis, startCommittedRedis } from '../support/committed-redis';
import { LocalPod } from '../support/pod';
import { sceneIds } from '../support/scenes';

// A Redis restart as the cluster does it, with the Redis container of dist/prod run as written
// (its start-up script, the committed redis.conf, the ACL users built by the init container):
// what the queue tool wrote through MULTI/EXEC (enqueue batches) and Lua scripts (the enqueue
// lock, recovery) must be there after the restart. Redis 7.0-7.2 replay the AOF's transactions
// under the default user's ACL (redis/redis#14541): started with the restricted default, they
// drop every one of them, and the queue comes back empty.

jest.setTimeout(120_000);

const K = queueKeys('jobS2');
const ADMIN_PASSWORD = 'restart-test-admin-password-01';
/** The Secrets the queue stage of dist/prod needs (the admin's, the exporter's). */
const SECRETS = {
  'redis-admin': { password: ADMIN_PASSWORD },
  'redis-exporter': { password: 'restart-test-exporter-password' },
};
const TMP = mkdtempSync(path.join(tmpdir(), 'ard-restart-'));
/** While this file exists, the test's redis-cli wrapper holds the start-up script before its switch. */
const HOLD = path.join(TMP, 'hold');

let server: CommittedRedis | undefined;
let pod: LocalPod | undefined;
const clients: Redis[] = [];
afterEach(async () => {
  rmSync(HOLD, { force: true }); // a failed test must not leave the script held
  for (const c of clients.splice(0)) c.disconnect();
  await server?.stop();
  server = undefined;
  pod?.remove();
  pod = undefined;
});
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

function admin(s: CommittedRedis): Redis {
  const client = new Redis({ port: s.port, host: '127.0.0.1', username: 'admin', password: ADMIN_PASSWORD });
  clients.push(client);
  return client;
}

/** An unauthenticated client, i.e. what a worker image connects as (no ready check: default may not run INFO). */
function anonymous(s: CommittedRedis): Redis {
  const client = new Redis({ port: s.port, host: '127.0.0.1', enableReadyCheck: false, maxRetriesPerRequest: 0 });
  clients.push(client);
  return client;
}

async function reply(client: Redis, ...args: string[]): Promise<string> {
  try {
    return String(await client.call(args[0], ...args.slice(1)));
  } catch (err) {
    return (err as Error).message;
  }
}

/** Every key and its whole value (lists in order, hashes and strings byte for byte). */
async function snapshot(redis: Redis): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const key of (await redis.keys('*')).sort()) {
    const type = await redis.type(key);
    if (type === 'list') out[key] = await redis.lrange(key, 0, -1);
    else if (type === 'hash') out[key] = Object.fromEntries(Object.entries(await redis.hgetall(key)).sort());
    else if (type === 'string') out[key] = (await redis.getBuffer(key))!.toString('hex');
    else throw new Error(`unexpected ${type} key ${key}`);
  }
  return out;
}

async function queueTool(s: CommittedRedis, ...args: string[]): Promise<any> {
  const run = await runCli([...args, '--redis-url', `redis://admin:${ADMIN_PASSWORD}@127.0.0.1:${s.port}`, '--json']);
  if (run.code !== 0) throw new Error(`queue ${args.join(' ')} failed (${run.code}): ${run.stderr}`);
  return JSON.parse(run.stdout);
}

/** Addresses a TCP socket listens on at `port` (from /proc/net/tcp and tcp6), e.g. ['127.0.0.1', '::1']. */
function listeners(port: number): string[] {
  const out: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state !== '0A' || local === undefined) continue; // 0A: LISTEN
      const [hex, portHex] = local.split(':');
      if (parseInt(portHex, 16) !== port) continue;
      if (hex.length === 8) {
        out.push((hex.match(/../g) as string[]).reverse().map((b) => parseInt(b, 16)).join('.'));
      } else {
        const isLoopback6 = hex === '00000000000000000000000001000000';
        out.push(/^0+$/.test(hex) ? '::' : isLoopback6 ? '::1' : hex);
      }
    }
  }
  return out.sort();
}

/**
 * Fills the queue as a campaign does: the tool's enqueue (MULTI/EXEC batches with the dedupe
 * record, a Lua lock), two items taken by workers that died before leasing them, recovery
 * (Lua) giving them back, and a third dead worker's item that recovery has seen once, inside
 * its grace period. Returns the snapshot of every key.
 */
async function fillQueue(s: CommittedRedis): Promise<Record<string, unknown>> {
  const file = path.join(TMP, 'campaign.txt');
  const ids = sceneIds(6_000);
  writeFileSync(file, ids.join('\n') + '\n');
  expect(await queueTool(s, 'enqueue', '--file', file)).toMatchObject({ pushed: ids.length });
  const worker = anonymous(s);
  await worker.rpoplpush(K.pending, K.processing);
  await worker.rpoplpush(K.pending, K.processing);
  expect(await queueTool(s, 'requeue-expired', '--grace-seconds', '0')).toMatchObject({ requeued: 2 });
  await worker.rpoplpush(K.pending, K.processing);
  expect(await queueTool(s, 'requeue-expired', '--grace-seconds', '3600')).toMatchObject({ requeued: 0, waiting: 1 });

  // Disconnected once read: left connected, it would reconnect during the restart's loading
  // phase, whose ACL has no admin, and report the refusal (WRONGPASS) as an unhandled error.
  const reader = admin(s);
  const before = await snapshot(reader);
  reader.disconnect();
  // What the restart must bring back: every item, the record, recovery's attempts and sightings.
  expect(Object.keys(before)).toEqual([K.pending, K.attempts, K.enqueued, K.processing, K.unleasedSince].sort());
  expect((before[K.pending] as string[]).length).toBe(ids.length - 1);
  expect(before[K.processing] as string[]).toHaveLength(1);
  expect(Object.keys(before[K.attempts] as object)).toHaveLength(2);
  expect((before[K.enqueued] as string).length).toBe(ids.length * 16 * 2);
  return before;
}

/** What the default user may do after a start: the worker protocol, not scripting. */
async function expectDefaultRestricted(s: CommittedRedis, pending: number): Promise<void> {
  const worker = anonymous(s);
  expect(await worker.llen(K.pending)).toBe(pending);
  expect(await reply(worker, 'EVAL', 'return 1', '0')).toMatch(/^NOPERM .*'eval'/);
  expect(await reply(worker, 'CONFIG', 'GET', 'bind')).toMatch(/^NOPERM .*'config/);
}

test('after kill -9 of the Redis container and a restart, every item, the dedupe record and recovery\'s state are back, and default is restricted again', async () => {
  ({ server, pod } = await startCommittedRedis(SECRETS));
  const before = await fillQueue(server);

  await server.kill(); // SIGKILL of the start-up script and redis-server: no shutdown, no final fsync
  await server.restart();

  expect(await snapshot(admin(server))).toEqual(before);
  expect(server.output!.text).toMatch(/DB loaded from append only file/);
  expect(server.output!.text).not.toContain('NOPERM');
  await expectDefaultRestricted(server, (before[K.pending] as string[]).length);
  expect(listeners(server.port)).toContain('0.0.0.0');
});

test('while Redis loads, it listens on loopback only and is not ready; after the switch, on every interface with the real ACL users', async () => {
  ({ server, pod } = await startCommittedRedis(SECRETS));
  const before = await fillQueue(server);
  expect(await server.stop()).toBe(0); // SIGTERM, as the kubelet stops a container: Redis exits 0

  // Holds the script's one redis-cli call without PING (the switch transaction) until released:
  // the container is then in its loading phase, data loaded, for as long as the test looks.
  const bin = path.join(TMP, 'bin');
  const reached = path.join(TMP, 'reached');
  rmSync(bin, { recursive: true, force: true });
  mkdirSync(bin);
  writeFileSync(path.join(bin, 'redis-cli'), [
    '#!/bin/sh',
    'case "$*" in',
    '  *ping) ;;',
    `  *) touch '${reached}'; while [ -e '${HOLD}' ]; do sleep 0.05; done ;;`,
    'esac',
    `exec '${execFileSync('sh', ['-c', 'command -v redis-cli']).toString().trim()}' "$@"`,
  ].join('\n') + '\n');
  chmodSync(path.join(bin, 'redis-cli'), 0o755);
  writeFileSync(HOLD, '');
  rmSync(reached, { force: true });
  server.start({ path: `${bin}:${process.env.PATH}` });
  for (const deadline = Date.now() + 60_000; !existsSync(reached);) {
    if (Date.now() > deadline) throw new Error(`the start-up script did not reach the switch:\n${server.output!.text}`);
    await new Promise((r) => setTimeout(r, 50));
  }

  // 127.0.0.1, and ::1 where the machine has IPv6.
  expect(listeners(server.port).filter((a) => a !== '::1')).toEqual(['127.0.0.1']);
  expect(await server.probe('readinessProbe')).not.toBe(0);
  expect(await server.probe('livenessProbe')).toBe(0);
  // The loading ACL: default may replay anything, which is why only loopback reaches it.
  expect(await reply(anonymous(server), 'EVAL', 'return 1', '0')).toBe('1');

  rmSync(HOLD);
  await server.ready();
  expect(listeners(server.port)).toContain('0.0.0.0');
  expect(server.output!.text).toContain('redis-start: loaded the data, then the ACL users of');
  expect(await snapshot(admin(server))).toEqual(before);
  await expectDefaultRestricted(server, (before[K.pending] as string[]).length);
});

test('readiness asks Redis first, then looks for the serving marker: a marker removed meanwhile (a restart) is never taken as ready', async () => {
  ({ server, pod } = await startCommittedRedis(SECRETS));
  expect(await server.probe('readinessProbe')).toBe(0);
  // A restarting container removes the marker, then starts Redis, which answers PING while it
  // loads with its permissive ACL: a probe that looked for the marker before the removal and
  // pinged after it would call that Redis ready. The wrapper removes the marker during the ping.
  const marker = pod!.env('redis').REDIS_SERVING_FILE; // mapped onto this machine's volume folder
  expect(existsSync(marker)).toBe(true);
  const bin = path.join(TMP, 'probe-bin');
  rmSync(bin, { recursive: true, force: true });
  mkdirSync(bin);
  writeFileSync(path.join(bin, 'redis-cli'), `#!/bin/sh\nrm -f '${marker}'\nexec '${execFileSync('sh', ['-c', 'command -v redis-cli']).toString().trim()}' "$@"\n`);
  chmodSync(path.join(bin, 'redis-cli'), 0o755);
  expect(await server.probe('readinessProbe', { path: `${bin}:${process.env.PATH}` })).not.toBe(0);
  expect(existsSync(marker)).toBe(false);
});

test('an ACL file Redis refuses stops the container (exit 1) without ever opening the network', async () => {
  ({ server, pod } = await startCommittedRedis(SECRETS));
  await server.stop();
  writeFileSync(pod.localPath('redis', '/run/redis-acl/users.acl'), 'user default on nopass -@all +nosuchcommand\n');
  server.start();
  const seen = new Set<string>();
  const watching = setInterval(() => listeners(server!.port).forEach((a) => seen.add(a)), 5);
  const code = await server.output!.closed;
  clearInterval(watching);
  expect(code).toBe(1);
  expect(server.output!.text).toContain('redis-start: could not load the ACL users of');
  expect(server.output!.text).toContain('nosuchcommand');
  expect(seen.has('0.0.0.0')).toBe(false);
  expect(await server.stop()).toBe(1);
});
