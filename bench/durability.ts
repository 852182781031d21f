/**
 * What durability costs: `ard-queue enqueue` throughput against a redis-server running
 * the committed redis.conf (dist/prod/queue ConfigMap: appendonly yes, appendfsync always) versus
 * the same file with `appendfsync everysec` and with `appendonly no` (the old deployment had no
 * persistence). Same scenes, fresh server and data directory per run, median of BENCH_RUNS.
 *
 * Run: `npm run bench:durability` (BENCH_COUNT scenes, default 200,000; BENCH_RUNS, default 3).
 * Prints a Markdown table for the README.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import Redis from 'ioredis';
import { RedisServer } from '../test/support/redis-server';
import { writeCommittedRedisConf } from '../test/recovery/support';
import { ARD_QUEUE, runProcess } from '../test/support/cli';
import { sceneId } from '../test/support/scenes';
import { setting } from './interleaved';

const COUNT = setting('BENCH_COUNT', 200_000);
const RUNS = setting('BENCH_RUNS', 3);

/** Variants: extra redis-server arguments after the committed file (later arguments win). */
const VARIANTS: { label: string; args: string[] }[] = [
  { label: 'committed redis.conf: appendonly yes, appendfsync always', args: [] },
  { label: 'same, appendfsync everysec', args: ['--appendfsync', 'everysec'] },
  { label: 'same, appendonly no (no persistence, as before)', args: ['--appendonly', 'no'] },
];

async function enqueueSeconds(url: string, file: string): Promise<number> {
  const run = await runProcess(ARD_QUEUE, ['enqueue', '--file', file, '--redis-url', url, '--json']);
  if (run.code !== 0) throw new Error(`enqueue exited ${run.code}: ${run.stdout}${run.stderr}`);
  return run.ms / 1000;
}

function dirBytes(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce(
    (sum, e) => sum + (e.isDirectory() ? dirBytes(path.join(dir, e.name)) : e.name.endsWith('.log') ? 0 : statSync(path.join(dir, e.name)).size),
    0,
  );
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(path.join(tmpdir(), 'ard-bench-durability-'));
  const conf = path.join(tmp, 'redis.conf');
  writeCommittedRedisConf(conf);
  const scenes = path.join(tmp, 'scenes.txt');
  writeFileSync(scenes, Array.from({ length: COUNT }, (_, i) => sceneId(i)).join('\n') + '\n');
  const rows: { label: string; seconds: number; aofMiB: number }[] = [];
  for (const variant of VARIANTS) {
    const times: number[] = [];
    let aofMiB = 0;
    for (let run = 0; run < RUNS; run++) {
      const server = await RedisServer.start({ configFile: conf, args: variant.args });
      try {
        times.push(await enqueueSeconds(server.url, scenes));
        const redis = new Redis(server.url);
        const length = await redis.llen('jobS2');
        redis.disconnect();
        if (length !== COUNT) throw new Error(`${variant.label}: list length ${length}, expected ${COUNT}`);
        aofMiB = dirBytes(server.dir) / 2 ** 20;
      } finally {
        await server.stop();
      }
      process.stderr.write(`${variant.label}: run ${run + 1}: ${times[times.length - 1].toFixed(2)} s\n`);
    }
    times.sort((a, b) => a - b);
    rows.push({ label: variant.label, seconds: times[Math.floor(times.length / 2)], aofMiB });
  }
  rmSync(tmp, { recursive: true, force: true });

  const base = rows[rows.length - 1].seconds;
  const cpu = spawnSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2; nproc"], { encoding: 'utf8' }).stdout.trim().replace(/\n/, ', cores: ');
  const fsType = spawnSync('df', ['-T', tmpdir()], { encoding: 'utf8' }).stdout.trim().split('\n').pop()?.split(/\s+/)[1];
  const redisVersion = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.match(/v=(\S+)/)?.[1];
  process.stdout.write(`\nenqueue of ${COUNT.toLocaleString('en-US')} Sentinel-2 scenes (validate + dedupe), median of ${RUNS}; ` +
    `redis-server ${redisVersion}, Node ${process.version}, CPU:${cpu}, data dir on ${tmpdir()} (${fsType})\n\n`);
  process.stdout.write('| Redis persistence | wall s | scenes/s | × no persistence | data dir MiB after run (AOF; a rewrite may be under way) |\n|---|---:|---:|---:|---:|\n');
  for (const r of rows) {
    process.stdout.write(`| ${r.label} | ${r.seconds.toFixed(2)} | ${Math.round(COUNT / r.seconds).toLocaleString('en-US')} | ${(r.seconds / base).toFixed(2)} | ${r.aofMiB.toFixed(1)} |\n`);
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err.stack ?? err}\n`);
  process.exitCode = 1;
});
