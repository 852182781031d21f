import { ChildProcess, spawn } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import * as net from 'net';
import { tmpdir } from 'os';
import * as path from 'path';
import Redis, { RedisOptions } from 'ioredis';

/**
 * A real redis-server for integration tests: started on a free loopback port (never 6379),
 * in its own temporary directory, and stopped by its process id, so that tests can also
 * kill it (SIGKILL) and restart it on the same port and data directory.
 */
export class RedisServer {
  /** Starts a server; `args` are extra redis-server arguments, `configFile` a redis.conf to load first. */
  static async start(options: { args?: string[]; configFile?: string; dir?: string } = {}): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), options.dir ?? mkdtempSync(path.join(tmpdir(), 'ard-redis-')), options);
    await server.restart();
    return server;
  }

  private process?: ChildProcess;

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly options: { args?: string[]; configFile?: string },
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  /** (Re)starts the server on the same port and directory, and waits until it answers PING. */
  async restart(): Promise<void> {
    const args = [
      ...(this.options.configFile ? [this.options.configFile] : []),
      '--port', String(this.port),
      '--bind', '127.0.0.1',
      '--dir', this.dir,
      // Defaults for tests that give no config file: no persistence unless asked for.
      ...(this.options.configFile ? [] : ['--save', '', '--appendonly', 'no']),
      '--daemonize', 'no',
      '--logfile', path.join(this.dir, 'redis.log'),
      ...(this.options.args ?? []),
    ];
    this.process = spawn('redis-server', args, { stdio: 'ignore' });
    await waitForPing(this.port, 10_000);
  }

  /** Kills the server without letting it flush anything, as a crash or OOM kill would. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** Stops the server and removes its directory. */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }
}

/** A loopback port nobody listens on, chosen by the kernel. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Resolves once a raw PING on `port` is answered; rejects after `timeoutMs`. `+PONG`, or
 * `-NOAUTH` from a server started with `--requirepass`: either way the server is up.
 */
async function waitForPing(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await pingOnce(port)) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Whether a raw PING on `port` is answered (`+PONG`, or `-NOAUTH`) within 500 ms. */
export function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setTimeout(500);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      const reply = data.toString();
      resolve(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** A test file's redis-server and a client connected to it, valid between beforeAll and afterAll. */
export interface RedisFixture {
  readonly server: RedisServer;
  readonly redis: Redis;
  /** Another client of the server (e.g. as a worker or an ACL user), disconnected with the fixture's own. */
  connect(options?: RedisOptions): Redis;
}

/**
 * Starts a redis-server (and a client) in `beforeAll` and stops both in `afterAll` of the
 * calling test file or describe block. Read `fixture.server` / `fixture.redis` inside tests.
 * With `flushBeforeEach`, every test starts on an empty server (FLUSHALL in `beforeEach`).
 */
export function useRedisServer(options: Parameters<typeof RedisServer.start>[0] & { flushBeforeEach?: boolean } = {}): RedisFixture {
  let server: RedisServer | undefined;
  let redis: Redis | undefined;
  const clients: Redis[] = [];
  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is available only between beforeAll and afterAll`);
    return value;
  };
  const connect = (clientOptions: RedisOptions = {}): Redis => {
    const client = new Redis({ host: '127.0.0.1', port: ready(server, 'the test redis-server').port, ...clientOptions });
    clients.push(client);
    return client;
  };
  beforeAll(async () => {
    server = await RedisServer.start(options);
    redis = connect();
  }, 20_000);
  if (options.flushBeforeEach) beforeEach(async () => void (await redis!.flushall()));
  // Clients before the server, in this hook: a client disconnected after its server stopped (in
  // a later afterAll of the test file) keeps a timer of ioredis' disconnectTimeout (2 s) going,
  // and jest's worker alive at the end of the run.
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await server?.stop();
  });
  return {
    get server() {
      return ready(server, 'the test redis-server');
    },
    get redis() {
      return ready(redis, 'the test Redis client');
    },
    connect,
  };
}

/**
 * Appends `count` distinct items (`item:0`, `item:1`, …) to the list `key`, built by Redis
 * itself: a long list for a test without generating and sending it from the test process.
 */
export async function fillList(redis: Redis, key: string, count: number): Promise<void> {
  const script = `local first, last = tonumber(ARGV[1]), tonumber(ARGV[2])
for from = first, last, 1000 do
  local items = {}
  for i = from, math.min(from + 999, last) do items[#items + 1] = 'item:' .. i end
  redis.call('RPUSH', KEYS[1], unpack(items))
end`;
  // Calls of 100,000 items, so that no single call holds the server for long.
  for (let from = 0; from < count; from += 100_000) await redis.eval(script, 1, key, from, Math.min(count, from + 100_000) - 1);
}
