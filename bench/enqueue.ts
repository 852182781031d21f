/**
 * Benchmark of `npm run queue -- enqueue` against the original deployment's mass insertion
 * (`redis-cli --pipe` of one RPUSH per item), on 1,000,000 Sentinel-2 scenes and a fresh local
 * redis-server. Run with `npm run bench`; prints a Markdown table for the README.
 *
 * Targets (issue 3): with dedupe ≤ 3× redis-cli wall time, --no-dedupe ≤ 1.6×, peak RSS
 * ≤ 256 MiB, `status` < 0.3 s. Each run is checked: 1M items in the list and 1M digests in the
 * dedupe record `jobS2:enqueued`.
 */
import { spawn, spawnSync } from 'child_process';
import { createWriteStream, mkdirSync, openSync, closeSync } from 'fs';
import * as path from 'path';
import { once } from 'events';
import Redis from 'ioredis';
import { ItemTemplate, itemFields } from '../queue/items';
import { loadLuaScript } from '../protocol/lua';
import { SENTINEL_2 } from '../protocol/workflows';
import { RedisServer } from '../test/support/redis-server';
import { sceneId } from '../test/support/scenes';

const COUNT = Number(process.env.BENCH_COUNT ?? 1_000_000);
const root = path.resolve(__dirname, '..');
const dir = path.join(root, '.bench');

async function writeLines(file: string, line: (i: number) => string): Promise<void> {
  const out = createWriteStream(file);
  let buffer = '';
  for (let i = 0; i < COUNT; i++) {
    buffer += line(i);
    if (buffer.length > 1 << 20) {
      if (!out.write(buffer)) await once(out, 'drain');
      buffer = '';
    }
  }
  out.end(buffer);
  await once(out, 'finish');
}

/** Wall time in seconds and peak RSS (KiB, of the largest process in the tree, from GNU time) of a command. */
async function measure(cmd: string, args: string[], stdinFile?: string): Promise<{ seconds: number; rssKiB: number; stdout: string }> {
  const stdin = stdinFile ? openSync(stdinFile, 'r') : 'ignore';
  const started = process.hrtime.bigint();
  const child = spawn('/usr/bin/time', ['-f', 'MAXRSS %M', cmd, ...args], { cwd: root, stdio: [stdin, 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  const [code] = await once(child, 'exit');
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (typeof stdin === 'number') closeSync(stdin);
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr}`);
  const rssKiB = Number(/MAXRSS (\d+)/.exec(stderr)?.[1] ?? NaN);
  return { seconds, rssKiB, stdout };
}

async function main(): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const scenes = path.join(dir, 'scenes.txt');
  const resp = path.join(dir, 'rpush.resp');
  const template = new ItemTemplate(itemFields(SENTINEL_2, {}));
  const rpush = (item: string): string => `*3\r\n$5\r\nRPUSH\r\n$5\r\njobS2\r\n$${Buffer.byteLength(item)}\r\n${item}\r\n`;
  await writeLines(scenes, (i) => sceneId(i) + '\n');
  await writeLines(resp, (i) => rpush(template.item(sceneId(i))));
  const server = await RedisServer.start();
  const redis = new Redis(server.url);
  const rows: string[][] = [];
  try {
    const check = async (label: string, recorded = 0): Promise<void> => {
      const length = await redis.llen('jobS2');
      if (length !== COUNT) throw new Error(`${label}: list length ${length}, expected ${COUNT}`);
      // The dedupe record: one 16-byte digest per scene pushed (queue/digest.ts), in shards.
      const digests = (await redis.eval(loadLuaScript('record-bytes').source, 1, 'jobS2:enqueued', '0')) as number / 16;
      if (digests !== recorded) throw new Error(`${label}: ${digests} digests recorded, expected ${recorded}`);
    };
    await redis.flushall();
    const baseline = await measure('redis-cli', ['-p', String(server.port), '--pipe'], resp);
    await check('redis-cli --pipe');
    rows.push(['redis-cli --pipe (1 RPUSH per item, no validation, no dedupe)', baseline.seconds.toFixed(2), '1.00', (baseline.rssKiB / 1024).toFixed(0), '']);
    const distinct = await redis.lrange('jobS2', 0, -1).then((items) => new Set(items).size);
    if (distinct !== COUNT) throw new Error(`generated scene IDs are not distinct: ${distinct}`);

    const enqueue = async (label: string, extra: string[], target: number, flush = true): Promise<void> => {
      if (flush) await redis.flushall();
      const r = await measure('npm', ['run', '-s', 'queue', '--', 'enqueue', '--file', scenes, '--redis-url', server.url, ...extra]);
      await check(label, COUNT);
      const ratio = r.seconds / baseline.seconds;
      const rss = r.rssKiB / 1024;
      const goals = [target > 0 ? `≤ ${target}× ${ratio <= target ? 'met' : 'MISSED'}` : '', `RSS ≤ 256 MiB ${rss <= 256 ? 'met' : 'MISSED'}`];
      rows.push([label, r.seconds.toFixed(2), ratio.toFixed(2), rss.toFixed(0), goals.filter((g) => g !== '').join('; ')]);
      process.stderr.write(`${label}: ${r.stdout}`);
    };
    await enqueue('npm run queue -- enqueue --file F (validate + dedupe)', [], 3);
    await enqueue('same file again (re-run: adds nothing)', [], 0, false);
    await enqueue('npm run queue -- enqueue --file F --no-dedupe', ['--no-dedupe'], 1.6);

    const times: number[] = [];
    for (let i = 0; i < 10; i++) times.push((await measure('npm', ['run', '-s', 'queue', '--', 'status', '--redis-url', server.url])).seconds);
    times.sort((a, b) => a - b);
    const median = (times[4] + times[5]) / 2;
    rows.push(['npm run queue -- status (median of 10, 1M pending)', median.toFixed(3), '', '', `< 0.3 s ${median < 0.3 ? 'met' : 'MISSED'}`]);
  } finally {
    redis.disconnect();
    await server.stop();
  }
  const cpu = spawnSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2; nproc"], { encoding: 'utf8' }).stdout.trim().replace(/\n/, ', cores: ');
  process.stdout.write(`\n${COUNT.toLocaleString('en-US')} Sentinel-2 scenes, redis-server ${spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.match(/v=(\S+)/)?.[1]}, Node ${process.version}, CPU:${cpu}\n\n`);
  process.stdout.write('| run | wall s | × redis-cli | peak RSS MiB | target |\n|---|---:|---:|---:|---|\n');
  for (const row of rows) process.stdout.write(`| ${row.join(' | ')} |\n`);
  process.stdout.write('\nPeak RSS is the largest process of the run (GNU time %M), i.e. our node process, not npm.\n');
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err.stack ?? err}\n`);
  process.exitCode = 1;
});
