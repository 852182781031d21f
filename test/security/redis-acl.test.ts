import { execFile } from 'child_process';
import { createHash } from 'crypto';
import { readFileSync, rmSync } from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import Redis from 'ioredis';
import { queueKeys } from '../../protocol/queue-keys';
import { heartbeatFromDist, stderrOf, tempDir } from '../support/lease-heartbeat';
import { exited } from '../support/wait';
import { startPythonWorker } from '../support/python-worker';
import { CommittedRedis, startCommittedRedis } from '../support/committed-redis';
import { LocalPod, toRedisAt } from '../support/pod';
import { type Manifest, onlyOfKind } from '../support/manifests';
import { spawnCli } from '../support/cli';

// Redis started exactly as dist/prod deploys it: the "acl" init container's script builds the
// ACL file from the committed ConfigMap and a test password, redis-server loads the committed
// redis.conf with the Redis container's --aclfile. Then: an unauthenticated client can do
// what a worker does and nothing else; the admin user runs the queue tool.

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'build', 'queue', 'cli.js');
const PASSWORD = 'test-admin-password-0123456789';
/** dist/prod also defines the metrics exporter's user; its Secret must exist for Redis to start. */
const EXPORTER_PASSWORD = 'test-exporter-password-012345';
const EXPORTER_SECRET = { 'redis-exporter': { password: EXPORTER_PASSWORD } };
const K = queueKeys('jobS2');

let server: CommittedRedis;
let pod: LocalPod;
let objects: Manifest[];
let admin: Redis;
let anonymous: Redis;
let version: string;

beforeAll(async () => {
  ({ server, pod, objects } = await startCommittedRedis({ 'redis-admin': { password: PASSWORD }, ...EXPORTER_SECRET }));
  admin = new Redis({ port: server.port, host: '127.0.0.1', username: 'admin', password: PASSWORD });
  // No ready check: ioredis would send INFO, which default may not run.
  anonymous = new Redis({ port: server.port, host: '127.0.0.1', enableReadyCheck: false, maxRetriesPerRequest: 0 });
  version = /redis_version:(\S+)/.exec(await admin.info('server'))![1];
});
afterAll(async () => {
  admin?.disconnect();
  anonymous?.disconnect();
  await server?.stop();
  pod?.remove();
});
beforeEach(async () => {
  await admin.del(K.pending, K.processing, K.enqueued, K.attempts, K.unleasedSince, K.deadLetter);
  await admin.acl('LOG', 'RESET');
});

/** NOPERM messages differ between Redis 7.0 (installed here) and 7.2+ (the image). */
function noPermCommand(command: string): string {
  return version.startsWith('7.0.')
    ? `NOPERM this user has no permissions to run the '${command}' command`
    : `NOPERM User default has no permissions to run the '${command}' command`;
}
function noPermKey(): string {
  return version.startsWith('7.0.')
    ? 'NOPERM this user has no permissions to access one of the keys used as arguments'
    : 'NOPERM No permissions to access a key';
}

async function reply(client: Redis, ...args: string[]): Promise<string> {
  try {
    return String(await client.call(args[0], ...args.slice(1)));
  } catch (err) {
    return (err as Error).message;
  }
}

const item = (n: number) => JSON.stringify({ in_scene: `scene-${n}`, inter_dir: '/data/intermediate/' });

describe('the ACL file built at start-up', () => {
  test('holds the default user of the ConfigMap verbatim and the admin with the SHA-256 of its password, never the password', () => {
    const built = readFileSync(pod.localPath('redis', '/run/redis-acl/users.acl'), 'utf8');
    const template: string = onlyOfKind(objects, 'ConfigMap', 'redis-config').data['users.acl'];
    const defaultLine = template.split('\n').find((l) => l.startsWith('user default '));
    const hash = createHash('sha256').update(PASSWORD).digest('hex');
    expect(built.split('\n')).toEqual([
      defaultLine,
      template.split('\n').find((l) => l.startsWith('user admin ')) + ` #${hash}`,
      template.split('\n').find((l) => l.startsWith('user exporter ')) + ` #${createHash('sha256').update(EXPORTER_PASSWORD).digest('hex')}`,
      '',
    ]);
    expect(built).not.toContain(PASSWORD);
  });

  test.each([
    ['missing', undefined, 'redis-acl: no password for Redis user admin in'],
    ['too short', 'short', 'redis-acl: the password of Redis user admin must have at least 16 characters'],
    ['ending in a newline', `${PASSWORD}\n`, 'redis-acl: the password of Redis user admin must not contain whitespace or a newline'],
  ])('a %s password fails the init container, naming the user', async (_, password, message) => {
    const bad = new LocalPod(objects, onlyOfKind(objects, 'StatefulSet', 'redis'),
      password === undefined ? EXPORTER_SECRET : { 'redis-admin': { password }, ...EXPORTER_SECRET });
    try {
      const result = await bad.run('acl');
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(message);
    } finally {
      bad.remove();
    }
  });
});

describe('default (unauthenticated: the worker images)', () => {
  test('two Python workers of the images\' protocol drain a queue, and nothing they sent was refused', async () => {
    const items = Array.from({ length: 20 }, (_, n) => item(n));
    await admin.rpush(K.pending, ...items);
    const workers = [0, 1].map(() => startPythonWorker({ port: server.port, env: { BLOCK_TIMEOUT: '1' } }));
    const stderr = workers.map((w) => {
      let text = '';
      w.stderr!.on('data', (d) => (text += d));
      return () => text;
    });
    expect(await Promise.all(workers.map(exited))).toEqual([0, 0]);
    expect(stderr.map((s) => s())).toEqual(['', '']);
    expect(await admin.llen(K.pending)).toBe(0);
    expect(await admin.llen(K.processing)).toBe(0);
    expect(await admin.keys(`${K.leasePrefix}*`)).toEqual([]);
    // Every command of the protocol passed the ACL: not even an ignored refusal is logged.
    expect(await admin.acl('LOG')).toEqual([]);
  });

  test('workers with the lease heartbeat of dist/ renew their leases as default, and nothing they sent was refused', async () => {
    const dir = tempDir('ard-acl-heartbeat-');
    try {
      await admin.rpush(K.pending, item(1), item(2));
      // Items take 2 s with a 3 s lease: the heartbeat renews each lease (every second) before it ends.
      const env = { PYTHONPATH: heartbeatFromDist(dir, 'prod'), ARD_LEASE_SECONDS: '3', WORK_SECONDS: '2', BLOCK_TIMEOUT: '1' };
      const workers = [0, 1].map(() => startPythonWorker({ port: server.port, env }));
      const stderr = workers.map(stderrOf);
      expect(await Promise.all(stderr.map((s) => s.closed))).toEqual([0, 0]);
      expect(stderr.map((s) => s.text())).toEqual(['', '']);
      expect(await admin.llen(K.processing)).toBe(0);
      expect(await admin.acl('LOG')).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the gates\' commands: PING, LLEN of the queue and of processing', async () => {
    expect(await reply(anonymous, 'PING')).toBe('PONG');
    expect(await reply(anonymous, 'LLEN', K.pending)).toBe('0');
    expect(await reply(anonymous, 'LLEN', K.processing)).toBe('0');
  });

  test.each([
    [['EVAL', 'return 1', '0'], 'eval'],
    [['EVALSHA', 'e0e1f9fabfc9d4800c877a703b823ac0578ff8db', '0'], 'evalsha'],
    [['FUNCTION', 'LIST'], 'function|list'],
    [['FCALL', 'f', '0'], 'fcall'],
    [['SCRIPT', 'FLUSH'], 'script|flush'],
    [['SHUTDOWN', 'NOSAVE'], 'shutdown'],
    [['CONFIG', 'SET', 'maxmemory', '1'], 'config|set'],
    [['CONFIG', 'GET', 'maxmemory'], 'config|get'],
    [['ACL', 'SETUSER', 'default', 'off'], 'acl|setuser'],
    [['ACL', 'LIST'], 'acl|list'],
    [['FLUSHALL'], 'flushall'],
    [['FLUSHDB'], 'flushdb'],
    [['KEYS', '*'], 'keys'],
    [['SCAN', '0'], 'scan'],
    [['CLIENT', 'KILL', 'ID', '1'], 'client|kill'],
    [['CLIENT', 'LIST'], 'client|list'],
    [['CLIENT', 'SETNAME', 'x'], 'client|setname'],
    [['INFO'], 'info'],
    [['MONITOR'], 'monitor'],
    [['BGREWRITEAOF'], 'bgrewriteaof'],
    [['REPLICAOF', '127.0.0.1', '1'], 'replicaof'],
    [['RPUSH', K.pending, '{"in_scene":"x"}'], 'rpush'],
    [['SET', K.pending, 'x'], 'set'],
  ])('is refused %j', async (args, command) => {
    expect(await reply(anonymous, ...args)).toBe(noPermCommand(command));
  });

  test('is refused DEBUG (enable-debug-command no answers first; the ACL denies it too)', async () => {
    expect(await reply(anonymous, 'DEBUG', 'SLEEP', '0')).toBe(
      'ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it from a local connection, ' +
        'otherwise you need to set this option in the configuration file, and then restart the server.',
    );
    expect(await reply(admin, 'ACL', 'DRYRUN', 'default', 'DEBUG', 'SLEEP', '0')).toBe(
      version.startsWith('7.0.') ? "This user has no permissions to run the 'debug' command"
        : "User default has no permissions to run the 'debug' command",
    );
  });

  test.each([
    [['DEL', K.pending]],
    [['DEL', K.enqueued]],
    [['GET', K.enqueued]],
    [['DEL', `${K.leasePrefix}abc`, K.deadLetter]],
    [['SETEX', K.pending, '1', 'x']],
    [['LLEN', K.deadLetter]],
    [['LREM', K.deadLetter, '0', 'x']],
    [['BRPOPLPUSH', K.deadLetter, K.processing, '1']],
    [['LLEN', 'jobLS']],
    [['SETEX', 'jobLS:leased_by_session:abc', '10', 'x']],
  ])('may not touch %j: other keys than the worker protocol\'s, of other queues than the environment\'s', async (args) => {
    expect(await reply(anonymous, ...args)).toBe(noPermKey());
  });

  test('the completion DEL of the lease key and the bare session id passes; a key merely as long as a session id does not', async () => {
    expect(await reply(anonymous, 'SETEX', `${K.leasePrefix}abc`, '10', 's')).toBe('OK');
    expect(await reply(anonymous, 'DEL', `${K.leasePrefix}abc`, '3f2a1b4c-1111-2222-3333-444455556666')).toBe('1');
    expect(await reply(anonymous, 'DEL', `${K.leasePrefix}abc`, 'jobS2:attempts-xxxxxxxxxxxxxxxxxxxxx')).toBe(noPermKey());
  });
});

describe('admin (password from the Secret)', () => {
  test('runs every queue tool subcommand', async () => {
    const url = `redis://admin:${PASSWORD}@127.0.0.1:${server.port}`;
    const cli = async (...args: string[]) => {
      try {
        const { stdout } = await promisify(execFile)('node', [CLI, ...args, '--redis-url', url], { cwd: ROOT });
        return { code: 0, stdout };
      } catch (err) {
        const e = err as { code: number; stdout: string; stderr: string };
        return { code: e.code, stdout: `${e.stdout}${e.stderr}` };
      }
    };
    const scene = 'S2A_MSIL2A_20190812T235741_N0213_R030_T56LRR_20190813T014708';
    expect(await cli('enqueue', scene)).toMatchObject({ code: 0 });
    expect(await admin.llen(K.pending)).toBe(1);
    expect(await cli('status', '--json')).toMatchObject({ code: 0 });
    // A dead worker's item: taken, never leased; recovery dead-letters it at once.
    await admin.rpoplpush(K.pending, K.processing);
    // status and watch read the processing list and its lease keys (LRANGE, EXISTS) as admin.
    expect(JSON.parse((await cli('status', '--queue', 'jobS2', '--json')).stdout)).toMatchObject({ processing: 1, expired: 1 });
    const watch = spawnCli(['watch', '--queue', 'jobS2', '--json', '--redis-url', url]);
    const firstLine = await new Promise<string>((resolve) => {
      let out = '';
      watch.stdout!.on('data', (d) => (out += d).includes('\n') && resolve(out.split('\n')[0]));
      watch.on('exit', () => resolve(out));
    });
    watch.kill('SIGINT');
    expect(await exited(watch)).toBe(130);
    expect(JSON.parse(firstLine).queues[0]).toMatchObject({ processing: 1, expired: 1, enqueued: 1, done: 0 });
    expect(await cli('requeue-expired', '--grace-seconds', '0', '--max-attempts', '1')).toMatchObject({ code: 0 });
    expect(await admin.llen(K.deadLetter)).toBe(1);
    expect(await cli('dead-letters', '--json')).toMatchObject({ code: 0, stdout: expect.stringContaining(scene) });
    expect(await cli('retry-dead-letters', '--all')).toMatchObject({ code: 0 });
    expect(await admin.lrange(K.pending, 0, -1)).toEqual([expect.stringContaining(scene)]);
  });

  test('a wrong password is refused, and admin may not run the disabled commands', async () => {
    expect(await reply(anonymous, 'AUTH', 'admin', 'wrong-password-0123456789')).toBe('WRONGPASS invalid username-password pair or user is disabled.');
    expect(await reply(anonymous, 'ACL', 'WHOAMI')).toBe(noPermCommand('acl|whoami')); // still default
    const message = (c: string) => version.startsWith('7.0.')
      ? `NOPERM this user has no permissions to run the '${c}' command` : `NOPERM User admin has no permissions to run the '${c}' command`;
    expect(await reply(admin, 'FLUSHALL')).toBe(message('flushall'));
    expect(await reply(admin, 'CONFIG', 'SET', 'maxmemory', '1')).toBe(message('config|set'));
  });
});

describe('the recovery CronJob of dist/, run as written against this server', () => {
  const run = (options: { password?: string; mapArgs?: (argv: string[]) => string[] } = {}) => {
    const cronJob = onlyOfKind(objects, 'CronJob', 's2-requeue-expired');
    const local = new LocalPod(objects, cronJob, { 'redis-admin': { password: options.password ?? PASSWORD } });
    return local.run('requeue-expired', (argv) => (options.mapArgs ?? ((x) => x))(toRedisAt(server.port)(argv))).finally(() => local.remove());
  };
  /** The call with its last key (the dead-letter list) left out: a wrong call the script refuses. */
  const dropLastKey = (argv: string[]) => argv.filter((_, i) => i !== argv.indexOf(',') - 1);

  test('authenticates as admin and prints requeued, dead-lettered, waiting, leased', async () => {
    await admin.rpush(K.processing, item(1));
    expect(await run()).toEqual({ code: 0, stdout: '0\n0\n1\n0\n', stderr: '' });
    expect(await admin.hexists(K.unleasedSince, item(1))).toBe(1);
  });

  test('a wrong call fails the container: its error reply (redis-cli -e), and without -e the loop\'s check of the reply', async () => {
    const message = 'requeue-expired: expected 5 keys (pending processing attempts unleasedSince deadLetter), got 4';
    const broken = await run({ mapArgs: dropLastKey });
    expect(broken.code).not.toBe(0);
    expect(broken.stdout + broken.stderr).toContain(message);
    expect(broken.stdout + broken.stderr).not.toContain('unexpected reply');
    const withoutE = await run({ mapArgs: (argv) => dropLastKey(argv).filter((a) => a !== '-e') });
    expect(withoutE.code).not.toBe(0);
    expect(withoutE.stderr).toContain(`requeue-expired: unexpected reply: ${message}`);
  });

  test('a reply with more lines than the script returns fails the container', async () => {
    await admin.rpush(K.processing, item(1));
    // redis-cli, then one line more, as a script of another version might answer.
    const withExtraLine = (argv: string[]) => argv.flatMap((a) => (a === 'redis-cli' ? ['sh', '-c', '"$0" "$@" && echo 7', a] : [a]));
    const result = await run({ mapArgs: withExtraLine });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/^requeue-expired: unexpected reply: 0\n0\n1\n0\n\S+\n7\n$/); // counts, cursor, the extra line
  });

  test('a wrong admin password fails the container', async () => {
    const result = await run({ password: 'not-the-admin-password-42' });
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toContain('AUTH failed: WRONGPASS invalid username-password pair or user is disabled.');
  });
});
