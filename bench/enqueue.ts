/**
 * Benchmark of `enqueue` against the original deployment's mass insertion (`redis-cli --pipe` of
 * one RPUSH per item), on BENCH_COUNT (1,000,000) Sentinel-2 scenes and a fresh local
 * redis-server. Run with `npm run bench`; prints the figures and a Markdown table for the README.
 *
 * Method: each case runs BENCH_ROUNDS (5) times interleaved with the reference, after one
 * warm-up pair: reference, case, reference, case, … Each pair gives one ratio (case wall time /
 * reference wall time of the same round); the verdicts are on the medians of those ratios, shown
 * with their min–max. Every run is checked: the list holds BENCH_COUNT items and the dedupe
 * record BENCH_COUNT digests (read through queue/record.ts).
 *
 * Targets (issue 14): `--no-dedupe` ≤ 1.0× redis-cli, validate + dedupe ≤ 1.3×, peak RSS of the
 * tool ≤ 128 MiB.
 */
import { spawn, spawnSync } from 'child_process';
import { closeSync, createWriteStream, mkdirSync, openSync } from 'fs';
import { cpus, loadavg } from 'os';
import * as path from 'path';
import { once } from 'events';
import Redis from 'ioredis';
import { queueKeys } from '../protocol/queue-keys';
import { SENTINEL_2 } from '../protocol/workflows';
import { DIGEST_BYTES } from '../queue/digest';
import { ItemTemplate, itemFields } from '../queue/items';
import { recordShardLengths } from '../queue/record';
import { RedisServer } from '../test/support/redis-server';
import { sceneId } from '../test/support/scenes';

/** The tool as users run it (its primary command), from the repository root. */
const QUEUE_COMMAND: readonly string[] = ['node', 'build/queue/cli.js'];

const COUNT = Number(process.env.BENCH_COUNT ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const TARGET_RSS_MIB = 128;
const root = path.resolve(__dirname, '..');
const dir = path.join(root, '.bench');
const KEYS = queueKeys(SENTINEL_2.queue);
/** The database holding the state a case starts from (the queue after a first enqueue), copied into database 0 before each run. */
const SNAPSHOT_DB = 1;

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

interface Run {
  readonly seconds: number;
  /** Peak RSS of the command (GNU time %M), MiB. */
  readonly rssMiB: number;
  readonly stdout: string;
}

/** Wall time and peak RSS of a command, run from the repository root. */
async function measure(command: readonly string[], stdinFile?: string): Promise<Run> {
  const stdin = stdinFile ? openSync(stdinFile, 'r') : 'ignore';
  const started = process.hrtime.bigint();
  const child = spawn('/usr/bin/time', ['-f', 'MAXRSS %M', ...command], { cwd: root, stdio: [stdin, 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  const [code] = await once(child, 'exit');
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (typeof stdin === 'number') closeSync(stdin);
  if (code !== 0) throw new Error(`${command.join(' ')} exited ${code}: ${stderr}`);
  const rssMiB = Number(/MAXRSS (\d+)/.exec(stderr)?.[1] ?? NaN) / 1024;
  return { seconds, rssMiB, stdout };
}

/** One benchmarked command: how to set Redis up before it, and what must hold after it. */
interface Case {
  readonly label: string;
  readonly command: readonly string[];
  readonly stdinFile?: string;
  /** At most this × the reference's wall time (median of the pairwise ratios). */
  readonly targetRatio?: number;
  prepare(): Promise<void>;
  check(run: Run): Promise<void>;
}

interface Measured {
  readonly case: Case;
  readonly seconds: number[];
  readonly referenceSeconds: number[];
  readonly ratios: number[];
  readonly rssMiB: number[];
}

const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
function median(xs: number[]): number {
  const s = sorted(xs);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
/** `median (min–max)` of `xs`, with `digits` decimals. */
function spread(xs: number[], digits: number): string {
  const s = sorted(xs);
  return `${median(xs).toFixed(digits)} (${s[0].toFixed(digits)}–${s[s.length - 1].toFixed(digits)})`;
}

/** Runs `reference` and `c` in turn: one warm-up pair, then ROUNDS measured pairs. */
async function interleaved(reference: Case, c: Case): Promise<Measured> {
  const result: Measured = { case: c, seconds: [], referenceSeconds: [], ratios: [], rssMiB: [] };
  for (let round = 0; round <= ROUNDS; round++) {
    const pair: Run[] = [];
    for (const each of [reference, c]) {
      await each.prepare();
      const run = await measure(each.command, each.stdinFile);
      await each.check(run);
      pair.push(run);
    }
    const [ref, run] = pair;
    process.stderr.write(`${c.label}: ${round === 0 ? 'warm-up' : `round ${round}`}: ${run.seconds.toFixed(3)} s vs ${ref.seconds.toFixed(3)} s = ${(run.seconds / ref.seconds).toFixed(2)}×, ${run.rssMiB.toFixed(0)} MiB\n`);
    if (round === 0) continue;
    result.seconds.push(run.seconds);
    result.referenceSeconds.push(ref.seconds);
    result.ratios.push(run.seconds / ref.seconds);
    result.rssMiB.push(run.rssMiB);
  }
  return result;
}

async function main(): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const scenes = path.join(dir, 'scenes.txt');
  const resp = path.join(dir, 'rpush.resp');
  const template = new ItemTemplate(itemFields(SENTINEL_2, {}));
  const rpush = (item: string): string => `*3\r\n$5\r\nRPUSH\r\n$${KEYS.pending.length}\r\n${KEYS.pending}\r\n$${Buffer.byteLength(item)}\r\n${item}\r\n`;
  await writeLines(scenes, (i) => sceneId(i) + '\n');
  await writeLines(resp, (i) => rpush(template.item(sceneId(i))));
  const loadBefore = loadavg();
  const server = await RedisServer.start();
  const redis = new Redis(server.url);
  const results: Measured[] = [];
  try {
    const expectQueue = async (label: string, items: number, digests: number): Promise<void> => {
      const length = await redis.llen(KEYS.pending);
      if (length !== items) throw new Error(`${label}: list length ${length}, expected ${items}`);
      const recorded = (await recordShardLengths(redis, KEYS)).reduce((sum, n) => sum + n, 0) / DIGEST_BYTES;
      if (recorded !== digests) throw new Error(`${label}: ${recorded} digests recorded, expected ${digests}`);
    };
    const summary = (run: Run): { pushed: number; skipped: number; skippedEnqueuedBefore: number } => JSON.parse(run.stdout);
    const empty = async (): Promise<void> => void (await redis.flushdb());
    const enqueue = (...extra: string[]): string[] => [...QUEUE_COMMAND, 'enqueue', '--file', scenes, '--redis-url', server.url, '--json', ...extra];

    const reference: Case = {
      label: 'redis-cli --pipe (reference: 1 RPUSH per item, no validation, no dedupe)',
      command: ['redis-cli', '-p', String(server.port), '--pipe'],
      stdinFile: resp,
      prepare: empty,
      check: () => expectQueue('redis-cli --pipe', COUNT, 0),
    };
    const noDedupe: Case = {
      label: `${QUEUE_COMMAND.join(' ')} enqueue --file F --no-dedupe`,
      command: enqueue('--no-dedupe'),
      targetRatio: 1.0,
      prepare: empty,
      check: () => expectQueue('--no-dedupe', COUNT, COUNT),
    };
    const dedupe: Case = {
      label: `${QUEUE_COMMAND.join(' ')} enqueue --file F (validate + dedupe), empty queue`,
      command: enqueue(),
      targetRatio: 1.3,
      prepare: empty,
      check: async (run) => {
        await expectQueue('validate + dedupe', COUNT, COUNT);
        // Nothing skipped: the generated scene IDs are distinct.
        if (summary(run).pushed !== COUNT || summary(run).skipped !== 0) throw new Error(`validate + dedupe: ${run.stdout}`);
      },
    };
    const again: Case = {
      label: 'the same file again (adds nothing)',
      command: enqueue(),
      prepare: async () => {
        await redis.flushdb();
        await redis.select(SNAPSHOT_DB);
        for (const key of await redis.keys('*')) await redis.copy(key, key, 'DB', 0, 'REPLACE');
        await redis.select(0);
      },
      check: async (run) => {
        await expectQueue('re-run', COUNT, COUNT);
        if (summary(run).pushed !== 0 || summary(run).skippedEnqueuedBefore !== COUNT) throw new Error(`re-run: ${run.stdout}`);
      },
    };

    results.push(await interleaved(reference, noDedupe));
    results.push(await interleaved(reference, dedupe));
    // The state after a first enqueue, kept in SNAPSHOT_DB for the re-runs.
    await dedupe.prepare();
    await dedupe.check(await measure(dedupe.command));
    for (const key of await redis.keys('*')) await redis.copy(key, key, 'DB', SNAPSHOT_DB, 'REPLACE');
    results.push(await interleaved(reference, again));
  } finally {
    redis.disconnect();
    await server.stop();
  }
  report(results, loadBefore);
}

function report(results: Measured[], loadBefore: number[]): void {
  const version = (command: string, pattern: RegExp): string => pattern.exec(spawnSync(command, ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? '?';
  const load = (l: number[]): string => l.map((x) => x.toFixed(1)).join(' ');
  const out = (line = ''): boolean => process.stdout.write(`${line}\n`);
  out();
  out(`${COUNT} Sentinel-2 scenes, ${ROUNDS} rounds per case after a warm-up, each interleaved with redis-cli --pipe.`);
  out(`CPU: ${cpus()[0]?.model.trim()}, ${cpus().length} cores; Node ${process.version}; redis-server ${version('redis-server', /v=(\S+)/)}; load average ${load(loadBefore)} before, ${load(loadavg())} after.`);
  out();
  out('| run | wall s, median (min–max) | × redis-cli, median of pairs (min–max) | peak RSS MiB, median (max) | target (on the medians) |');
  out('|---|---:|---:|---:|---|');
  const references = results.flatMap((r) => r.referenceSeconds);
  out(`| redis-cli --pipe (reference: 1 RPUSH per item, no validation, no dedupe) | ${spread(references, 2)} | 1.00 | | |`);
  let met = true;
  for (const r of results) {
    const ratio = median(r.ratios);
    const rss = median(r.rssMiB);
    const target = r.case.targetRatio;
    const goals: string[] = [];
    if (target !== undefined) goals.push(`≤ ${target.toFixed(1)}× ${ratio <= target ? 'met' : 'MISSED'}`);
    goals.push(`RSS ≤ ${TARGET_RSS_MIB} MiB ${rss <= TARGET_RSS_MIB ? 'met' : 'MISSED'}`);
    met &&= (target === undefined || ratio <= target) && rss <= TARGET_RSS_MIB;
    out(`| ${r.case.label} | ${spread(r.seconds, 2)} | ${spread(r.ratios, 2)} | ${rss.toFixed(0)} (${Math.max(...r.rssMiB).toFixed(0)}) | ${goals.join('; ')} |`);
  }
  out();
  out(`Verdict: every target ${met ? 'met' : 'NOT met'} on the medians. Peak RSS is the tool's node process (GNU time %M).`);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err.stack ?? err}\n`);
  process.exitCode = 1;
});
