/** The queue tool against servers that never answer, passwords in every URL form, malformed URLs and missing databases (issue 10). */
import { writeFileSync } from 'fs';
import * as net from 'net';
import * as path from 'path';
import Redis from 'ioredis';
import { CliRun, runCli as cli } from '../../support/cli';
import { RedisServer } from '../../support/redis-server';
import { s2Item as item, sceneId as scene } from '../../support/scenes';
import { redis, runMain, server, TMP, useHardeningFixture } from './fixture';

useHardeningFixture();

const HINT = "is Redis running there? For the cluster's Redis run: kubectl port-forward -n <namespace> svc/redis-master 6379:6379 (namespace: ard-dev for dev, ard for prod, ard-keda for keda)";

/** One command line per subcommand, each touching Redis. */
const EVERY_SUBCOMMAND: readonly (readonly string[])[] = [
  ['enqueue', scene(1)],
  ['status'],
  ['requeue-expired'],
  ['dead-letters'],
  ['retry-dead-letters', '--all'],
];

// A server that accepts connections and never answers.
let silent: net.Server;
let port: number;
const sockets = new Set<net.Socket>();
/**
 * The run that shows the default limit: 10 s of waiting, so it is started before the file's
 * first test and checked by its last, and the other tests run meanwhile.
 */
let defaultLimitRun: Promise<CliRun>;
beforeAll(async () => {
  silent = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  port = (silent.address() as net.AddressInfo).port;
  defaultLimitRun = cli(['status', '--redis-url', `redis://127.0.0.1:${port}`]);
});
afterAll(async () => {
  await defaultLimitRun;
  for (const s of sockets) s.destroy();
  await new Promise((r) => silent.close(r));
});

describe('passwords never printed, and taken without the command line', () => {
  const PASSWORD = 'S3cr@t:p/w?x#y';
  const ENCODED = encodeURIComponent(PASSWORD);
  let secured: RedisServer;
  beforeAll(async () => {
    secured = await RedisServer.start({ args: ['--user', 'admin', 'on', `>${PASSWORD}`, '~*', '&*', '+@all', '--user', 'default', 'off'] });
  }, 20_000);
  afterAll(() => secured.stop());

  const leaks = (text: string): boolean =>
    [PASSWORD, ENCODED, 'S3cr', 'p/w', encodeURIComponent('S3cr@t')].some((form) => text.includes(form));

  test('the password from $REDIS_PASSWORD, $REDIS_PASSWORD_FILE or --password-file works; never two sources', async () => {
    const file = path.join(TMP, 'password');
    writeFileSync(file, `${PASSWORD}\n`);
    const url = `redis://admin@127.0.0.1:${secured.port}`;
    for (const run of [
      await cli(['status', '--queue', 'jobS2', '--json', '--redis-url', url], { env: { REDIS_PASSWORD: PASSWORD } }),
      await cli(['status', '--queue', 'jobS2', '--json', '--redis-url', url], { env: { REDIS_PASSWORD_FILE: file } }),
      await cli(['status', '--queue', 'jobS2', '--json', '--redis-url', url, '--password-file', file]),
      await cli(['status', '--queue', 'jobS2', '--json', '--redis-url', `redis://admin:${ENCODED}@127.0.0.1:${secured.port}`]),
    ]) {
      expect(run.stderr).toBe('');
      expect(JSON.parse(run.stdout)).toMatchObject({ queue: 'jobS2', pending: 0 });
    }
    const twice = await cli(['status', '--redis-url', `redis://admin:${ENCODED}@127.0.0.1:${secured.port}`], { env: { REDIS_PASSWORD: PASSWORD } });
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('error: the Redis password is given twice (the URL and $REDIS_PASSWORD); give it once\n');
  }, 30_000);

  test('no output, error or --json shows the password, whatever URL form carries it', async () => {
    const port = secured.port;
    const wrong = (url: string, env: Record<string, string> = {}) => cli(['status', '--redis-url', url, '--json'], { env });
    const runs = [
      // wrong passwords (WRONGPASS), in each form
      await wrong(`redis://admin:${ENCODED}x@127.0.0.1:${port}`),
      await wrong(`redis://admin:${PASSWORD}@127.0.0.1:${port}`), // '@', ':', '/', '?', '#' unencoded
      await wrong(`redis://admin@127.0.0.1:${port}/?password=${ENCODED}x`),
      await wrong(`redis://adm@in:${ENCODED}x@127.0.0.1:${port}`),
      await wrong(`redis://admin@127.0.0.1:${port}`, { REDIS_PASSWORD: `${PASSWORD}x` }),
      // a server that is not there, a malformed port, a malformed database
      await wrong(`redis://admin:${ENCODED}@127.0.0.1:1`),
      await wrong(`redis://admin:${ENCODED}@127.0.0.1:99999`),
      await wrong(`redis://admin:${ENCODED}@127.0.0.1:${port}/x`),
    ];
    for (const run of runs) {
      expect(run.code).not.toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({ error: { exitCode: run.code, message: expect.any(String) } });
      expect(run.stderr).toMatch(/^error: /);
      expect(leaks(run.stdout + run.stderr)).toBe(false);
    }
    expect(runs[0].stderr).toContain(`redis://admin:***@127.0.0.1:${port}`);
    expect(runs[0].stderr).toContain('WRONGPASS');
  }, 60_000);
});

describe('malformed --redis-url: exit 2 naming the value; a database the server lacks: exit 1', () => {
  test.each([
    ['redis://127.0.0.1:99999', "error: --redis-url 'redis://127.0.0.1:99999': port must be an integer 1-65535, got '99999'"],
    ['redis://127.0.0.1:0', "error: --redis-url 'redis://127.0.0.1:0': port must be an integer 1-65535, got '0'"],
    ['redis://127.0.0.1:63x', "error: --redis-url 'redis://127.0.0.1:63x': port must be an integer 1-65535, got '63x'"],
    ['redis://127.0.0.1:6379/abc', "error: --redis-url 'redis://127.0.0.1:6379/abc': database must be an integer 0-99999 after the host, got 'abc'"],
    ['redis://127.0.0.1:6379/-1', "error: --redis-url 'redis://127.0.0.1:6379/-1': database must be an integer 0-99999 after the host, got '-1'"],
    ['http://127.0.0.1:6379', "error: --redis-url must start with redis:// or rediss://, got 'http://127.0.0.1:6379'"],
    ['redis://127.0.0.1:6379/0?db=1', "error: --redis-url 'redis://127.0.0.1:6379/0?db=1': the only query parameter allowed is 'password', got 'db'"],
  ])('%s', async (url, message) => {
    expect(await runMain(['enqueue', scene(1), '--redis-url', url])).toEqual({ code: 2, stderr: `${message}\n(see: ard-queue enqueue --help)\n` });
    expect(await redis.keys('*')).toEqual([]); // nothing written, no lock left behind
  });

  test('the built tool refuses them alike', async () => {
    const run = await cli(['enqueue', scene(1), '--redis-url', 'redis://127.0.0.1:99999']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("error: --redis-url 'redis://127.0.0.1:99999': port must be an integer 1-65535, got '99999'\n(see: ard-queue enqueue --help)\n");
    expect(await redis.keys('*')).toEqual([]);
  });

  test('a database index the server does not have (--databases 1) fails with exit 1, writing nothing', async () => {
    const one = await RedisServer.start({ args: ['--databases', '1'] });
    try {
      const run = await cli(['enqueue', scene(1), '--redis-url', `${one.url}/1`]);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(
        `error: Redis at redis://127.0.0.1:${one.port}/1 refused database 1: ERR DB index is out of range ` +
          "(the server's 'databases' setting limits the indexes; most deployments use database 0); nothing pushed\n",
      );
      const client = new Redis(one.url);
      expect(await client.dbsize()).toBe(0);
      client.disconnect();
    } finally {
      await one.stop();
    }
  }, 30_000);

  test('a database the server has is used', async () => {
    const run = await cli(['enqueue', scene(1), '--redis-url', `${server.url}/3`]);
    expect(run.code).toBe(0);
    const db3 = new Redis(`${server.url}/3`);
    expect(await db3.lrange('jobS2', 0, -1)).toEqual([item(scene(1))]);
    db3.disconnect();
    expect(await redis.exists('jobS2')).toBe(0);
  });
});

// Last in the file: its last test waits for the run started first (defaultLimitRun).
describe('no hang: a server that accepts connections and never answers', () => {
  test('every subcommand gives up after --timeout with exit 1, naming the URL, and exits at once', async () => {
    const runs = await Promise.all(EVERY_SUBCOMMAND.map((args) => cli([...args, '--redis-url', `redis://127.0.0.1:${port}`, '--timeout', '1.5'])));
    for (const [i, run] of runs.entries()) {
      expect(run.code).toBe(1);
      const pushed = EVERY_SUBCOMMAND[i][0] === 'enqueue' ? '; nothing pushed' : '';
      expect(run.stderr).toBe(`error: cannot connect to Redis at redis://127.0.0.1:${port}: no reply within 1.5 s (Command timed out; --timeout sets the limit); ${HINT}${pushed}\n`);
      // No socket timer keeps the process after the failure (ioredis' 2 s disconnectTimeout):
      // timed from the error's message, so that a slow start on a loaded machine does not count
      // (bench:startup times the exit alone: about 0.06 s).
      expect(run.ms - run.stderrMs!).toBeLessThan(1_500);
    }
  }, 60_000);

  test('a stopped redis-server (SIGSTOP) mid-session: the command in flight gives up', async () => {
    const stopped = await RedisServer.start();
    try {
      process.kill(stopped.pid!, 'SIGSTOP');
      const runs = await Promise.all(EVERY_SUBCOMMAND.map((args) => cli([...args, '--redis-url', stopped.url, '--timeout', '1'])));
      for (const run of runs) {
        expect(run.code).toBe(1);
        expect(run.stderr).toContain(`redis://127.0.0.1:${stopped.port}`);
        expect(run.stderr).toContain('no reply within 1 s');
      }
    } finally {
      process.kill(stopped.pid!, 'SIGCONT');
      await stopped.stop();
    }
  }, 60_000);

  test('the default limit is 10 s', async () => {
    const run = await defaultLimitRun;
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('no reply within 10 s');
    expect(run.ms).toBeGreaterThanOrEqual(10_000);
    expect(run.ms).toBeLessThan(15_000); // not twice the limit, with start-up on a loaded machine
  }, 30_000);
});
