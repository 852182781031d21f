import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import Redis from 'ioredis';
import { EXPORTER_ACL_COMMANDS, exporterAclRules } from '../../lib/queue-metrics';
import { freePort } from '../support/redis-server';
import { CommittedRedis, startCommittedRedis } from '../support/committed-redis';
import { LocalPod } from '../support/pod';
import { committedObject, ExporterProcess, parseMetrics, scrape, startExporter } from './support';

// The exporter as dist/prod runs it: Debian's build of the same oliver006/redis_exporter, with
// exactly the container's args and env, against a redis-server with dist/prod's redis.conf
// and users.acl, the exporter logging in as the ACL user dist/ defines. Substituted: the Redis address (a
// loopback port), the listen address (a free port), the script's mount path (a temp dir
// holding the ConfigMap's file) and the password's source (a literal for the secretKeyRef).

// Real processes on a machine shared with other test runs: generous, event-driven waits.
jest.setTimeout(60_000);

const deployment = committedObject('prod', 'Deployment', 'redis-exporter');
const container = deployment.spec.template.spec.containers[0];
const scriptConfigMap = committedObject('prod', 'ConfigMap', 'redis-exporter-script');
const mount = container.volumeMounts.find((m: { name: string }) => m.name === 'script');
const QUEUE = 'jobS2';
/** The first shards of the dedupe record (protocol/queue-keys.ts, recordShardKey). */
const RECORD_SHARDS = [`${QUEUE}:enqueued`, `${QUEUE}:enqueued:1`, `${QUEUE}:enqueued:2`];
const PASSWORD = 'exporter-test-password';
const ADMIN_PASSWORD = 'admin-test-password-0123456789';

let dir: string;
let server: CommittedRedis;
let redis: Redis;
let pod: LocalPod;
let exporter: ExporterProcess | undefined;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ard-exporter-'));
  for (const [file, content] of Object.entries(scriptConfigMap.data as Record<string, string>)) writeFileSync(path.join(dir, file), content);
  ({ server, pod } = await startCommittedRedis({
    'redis-admin': { password: ADMIN_PASSWORD },
    'redis-exporter': { password: PASSWORD },
  }));
  redis = new Redis({ port: server.port, host: '127.0.0.1', username: 'admin', password: ADMIN_PASSWORD });
});

afterAll(async () => {
  await exporter?.stop();
  redis?.disconnect();
  await server?.stop();
  pod?.remove();
  rmSync(dir, { recursive: true, force: true });
});

afterEach(async () => {
  await exporter?.stop();
  exporter = undefined;
});

/** The ACL user of the container's --redis.user, with `rules`. */
async function createUser(rules: readonly string[]): Promise<string> {
  const user = argument('--redis.user');
  await redis.call('ACL', 'SETUSER', user, 'reset', 'on', `>${PASSWORD}`, ...rules);
  await redis.call('ACL', 'LOG', 'RESET');
  return user;
}

function argument(flag: string): string {
  const found = (container.args as string[]).filter((a) => a.startsWith(`${flag}=`));
  if (found.length !== 1) throw new Error(`expected one ${flag}= argument in ${JSON.stringify(container.args)}`);
  return found[0].slice(flag.length + 1);
}

/** Starts the exporter with dist's args and env (substitutions above); returns its metrics URL. */
async function startAsDeployed(): Promise<{ url: string; exporter: ExporterProcess }> {
  const port = await freePort();
  const args = (container.args as string[]).map((a) => {
    if (a.startsWith('--redis.addr=')) return `--redis.addr=redis://127.0.0.1:${server.port}`;
    if (a.startsWith('--web.listen-address=')) return `--web.listen-address=127.0.0.1:${port}`;
    if (a.startsWith('--script=')) return a.replace(`=${mount.mountPath}/`, `=${dir}/`);
    return a;
  });
  const env: Record<string, string> = {};
  for (const e of container.env as Array<{ name: string; value?: string; valueFrom?: unknown }>) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.name === 'REDIS_PASSWORD') env[e.name] = PASSWORD;
    else throw new Error(`the test does not know how to provide env ${e.name}`);
  }
  exporter = startExporter(args, env);
  return { url: `http://127.0.0.1:${port}${'/metrics'}`, exporter };
}

/** ACL LOG entries as "reason object" (e.g. "command llen"). */
async function aclDenials(): Promise<string[]> {
  const entries = (await redis.call('ACL', 'LOG')) as unknown[][];
  return entries.map((e) => {
    const fields = new Map<string, unknown>();
    for (let i = 0; i < e.length; i += 2) fields.set(String(e[i]), e[i + 1]);
    return `${fields.get('reason')} ${fields.get('object')}`;
  });
}

test('the container gets its password from a Secret, never a literal', () => {
  expect(container.env).toEqual([{ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'redis-exporter', key: 'password' } } }]);
});

test('dist/prod exports the queue series, as its least-privilege ACL user, with no error and no ACL denial', async () => {
  await redis.del(QUEUE, `${QUEUE}:processing`, `${QUEUE}:dead_letter`, ...RECORD_SHARDS, `${QUEUE}:unleased_since`);
  await redis.rpush(QUEUE, 'p1', 'p2', 'p3');
  await redis.rpush(`${QUEUE}:processing`, 'w1', 'w2');
  await redis.rpush(`${QUEUE}:dead_letter`, 'd1');
  // The dedupe record in three shards: 10, 4 and 2 16-byte digests.
  await redis.set(RECORD_SHARDS[0], Buffer.alloc(16 * 10, 7));
  await redis.set(RECORD_SHARDS[1], Buffer.alloc(16 * 4, 8));
  await redis.set(RECORD_SHARDS[2], Buffer.alloc(16 * 2, 9));
  const [seconds] = (await redis.time()) as unknown as [string, string];
  await redis.hset(`${QUEUE}:unleased_since`, 'w2', String((Number(seconds) - 120) * 1000));
  await redis.call('ACL', 'LOG', 'RESET');

  // The exporter user as users.acl in dist/ defines it (exporterAclRules), not re-created here.
  const { url, exporter } = await startAsDeployed();
  const metrics = parseMetrics(await scrape(url, exporter));
  const value = (key: string) => metrics.get(`redis_script_values{key="${QUEUE}:${key}"}`);

  expect(metrics.get('redis_up')).toBe(1);
  expect({
    pending: value('pending'), processing: value('processing'), dead_letter: value('dead_letter'),
    recorded: value('recorded'), done: value('done'),
  }).toEqual({ pending: 3, processing: 2, dead_letter: 1, recorded: 16, done: 10 });
  expect(value('unleased_seconds')).toBeGreaterThanOrEqual(120);
  expect(value('unleased_seconds')).toBeLessThan(600);
  expect({
    pending: metrics.get(`redis_key_size{db="db0",key="${QUEUE}"}`),
    processing: metrics.get(`redis_key_size{db="db0",key="${QUEUE}:processing"}`),
    dead_letter: metrics.get(`redis_key_size{db="db0",key="${QUEUE}:dead_letter"}`),
    unleased: metrics.get(`redis_key_size{db="db0",key="${QUEUE}:unleased_since"}`),
  }).toEqual({ pending: 3, processing: 2, dead_letter: 1, unleased: 1 });
  // maxmemory of dist's redis.conf, which the memory alert divides by.
  const maxmemory = Number(/^maxmemory (\d+)$/m.exec(scriptConfigMapRedisConf())![1]);
  expect(metrics.get('redis_memory_max_bytes')).toBe(maxmemory);
  expect(metrics.get('redis_memory_used_bytes')).toBeGreaterThan(0);
  // The dedupe record is never read whole (no GET of it, no value exported as a label).
  expect([...metrics.keys()].filter((k) => k.includes(`${QUEUE}:enqueued`))).toEqual([]);

  expect(await aclDenials()).toEqual([]);
  expect(exporter.log()).not.toMatch(/level=(error|warning|fatal)/);
});

function scriptConfigMapRedisConf(): string {
  return committedObject('prod', 'ConfigMap', 'redis-config').data['redis.conf'];
}

test("the probes' path answers 200 on the metrics port", async () => {
  await createUser(exporterAclRules([QUEUE]));
  const { url, exporter } = await startAsDeployed();
  await scrape(url, exporter);
  for (const probe of [container.readinessProbe, container.livenessProbe]) {
    expect(probe.httpGet.port).toBe(container.ports[0].name);
    const response = await fetch(url.replace(/\/metrics$/, probe.httpGet.path));
    expect(response.status).toBe(200);
  }
});

test('an empty queue reports zeros, not missing series', async () => {
  await redis.del(QUEUE, `${QUEUE}:processing`, `${QUEUE}:dead_letter`, ...RECORD_SHARDS, `${QUEUE}:unleased_since`);
  await createUser(exporterAclRules([QUEUE]));
  const { url, exporter } = await startAsDeployed();
  const metrics = parseMetrics(await scrape(url, exporter));
  expect(['pending', 'processing', 'dead_letter', 'recorded', 'done', 'unleased_seconds']
    .map((k) => metrics.get(`redis_script_values{key="${QUEUE}:${k}"}`))).toEqual([0, 0, 0, 0, 0, 0]);
});

// Minimality: every command the tests' exporter (1.45) sends is needed: without it, Redis
// refuses it. The two sent only by newer releases are covered by reading their source.
const NEWER_RELEASES_ONLY = ['latency|histogram', 'memory|usage'];

test.each(EXPORTER_ACL_COMMANDS.filter((c) => !NEWER_RELEASES_ONLY.includes(c)))('without %s the exporter is refused', async (command) => {
  await redis.rpush(QUEUE, 'p1');
  await redis.hset(`${QUEUE}:unleased_since`, 'x', '1');
  await createUser(exporterAclRules([QUEUE]).filter((rule) => rule !== `+${command}`));
  const { url, exporter } = await startAsDeployed();
  await scrape(url, exporter);
  expect(await aclDenials()).toContain(`command ${command}`);
});

test.each([[`${QUEUE}:enqueued`, `${QUEUE}:enqueued`], [`${QUEUE}:enqueued:*`, `${QUEUE}:enqueued:1`]])(
  'without read access to the dedupe record (%s) the script is refused',
  async (pattern, key) => {
    await redis.set(RECORD_SHARDS[0], Buffer.alloc(16, 7));
    await createUser(exporterAclRules([QUEUE]).filter((rule) => rule !== `%R~${pattern}`));
    const { url, exporter } = await startAsDeployed();
    await scrape(url, exporter);
    expect(await aclDenials()).toContain(`key ${key}`);
  },
);
