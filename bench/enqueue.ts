/**
 * Benchmark of `enqueue` against the original deployment's mass insertion (`redis-cli --pipe` of
 * one RPUSH per item), on BENCH_COUNT (1,000,000) Sentinel-2 scenes and a fresh local
 * redis-server. Run with `npm run bench:enqueue` (alone) or `npm run bench` (with the start-up
 * bench); prints a Markdown table for the README.
 *
 * Method (bench/interleaved.ts): each case runs BENCH_ROUNDS (5) times interleaved with the
 * reference, after one warm-up pair: case, reference, case, reference, … Each pair gives one
 * ratio (case wall time / reference wall time of the same round); the verdicts are on the medians
 * of those ratios, shown with their min–max. Both run under GNU time (peak RSS). Before each run
 * Redis is emptied (or set to the state after a first enqueue); after each run the list must hold
 * BENCH_COUNT items and the dedupe record BENCH_COUNT digests (read through queue/record.ts).
 *
 * Targets (issue 14): `--no-dedupe` ≤ 1.0× redis-cli, validate + dedupe ≤ 1.3×, peak RSS of the
 * tool ≤ 128 MiB.
 */
import { createWriteStream, mkdirSync } from 'fs';
import * as path from 'path';
import { once } from 'events';
import Redis from 'ioredis';
import { Command, interleaved, machine, ratioRow, Row, Run, setting, table, timeRun } from './interleaved';
import { queueKeys } from '../protocol/queue-keys';
import { SENTINEL_2 } from '../protocol/workflows';
import { DIGEST_BYTES } from '../queue/digest';
import { ItemTemplate, itemFields } from '../queue/items';
import { recordShardLengths } from '../queue/record';
import { ARD_QUEUE } from '../test/support/cli';
import { RedisServer } from '../test/support/redis-server';
import { sceneId } from '../test/support/scenes';

/** The tool as users run it: its primary command, bin/ard-queue. */
const QUEUE_COMMAND = ARD_QUEUE;

const COUNT = setting('BENCH_COUNT', 1_000_000);
const ROUNDS = setting('BENCH_ROUNDS', 5);
const TARGET_RSS_MIB = 128;
const root = path.resolve(__dirname, '..');
const dir = path.join(root, '.bench');
const KEYS = queueKeys(SENTINEL_2.queue);
/** The database holding the state a case starts from (the queue after a first enqueue), copied into database 0 before each run. */
const SNAPSHOT_DB = 1;

/** A case, named in the progress lines and the table. */
type Labelled = Command & { readonly label: string };

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

async function main(): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const scenes = path.join(dir, 'scenes.txt');
  const resp = path.join(dir, 'rpush.resp');
  const template = new ItemTemplate(itemFields(SENTINEL_2, {}));
  const rpush = (item: string): string => `*3\r\n$5\r\nRPUSH\r\n$${KEYS.pending.length}\r\n${KEYS.pending}\r\n$${Buffer.byteLength(item)}\r\n${item}\r\n`;
  await writeLines(scenes, (i) => sceneId(i) + '\n');
  await writeLines(resp, (i) => rpush(template.item(sceneId(i))));
  const server = await RedisServer.start();
  const redis = new Redis(server.url);
  const rows: Row[] = [];
  try {
    const expectQueue = async (label: string, items: number, digests: number): Promise<void> => {
      const length = await redis.llen(KEYS.pending);
      if (length !== items) throw new Error(`${label}: list length ${length}, expected ${items}`);
      const recorded = (await recordShardLengths(redis, KEYS)).reduce((sum, n) => sum + n, 0) / DIGEST_BYTES;
      if (recorded !== digests) throw new Error(`${label}: ${recorded} digests recorded, expected ${digests}`);
    };
    const summary = (run: Run): { pushed: number; skipped: number; skippedEnqueuedBefore: number } => JSON.parse(run.stdout);
    const empty = async (): Promise<void> => void (await redis.flushdb());
    const enqueue = (label: string, extra: string[], command: Pick<Command, 'before' | 'check'>): Labelled => ({
      label,
      command: QUEUE_COMMAND,
      args: ['enqueue', '--file', scenes, '--redis-url', server.url, '--json', ...extra],
      cwd: root,
      peakRss: true,
      ...command,
    });

    const REFERENCE_LABEL = '`redis-cli --pipe`';
    const reference: Command = {
      label: 'redis-cli --pipe',
      command: 'redis-cli',
      args: ['-p', String(server.port), '--pipe'],
      stdinFile: resp,
      peakRss: true,
      before: empty,
      check: () => expectQueue('redis-cli --pipe', COUNT, 0),
    };
    const noDedupe = enqueue('`ard-queue enqueue --file F --no-dedupe`', ['--no-dedupe'], {
      before: empty,
      check: () => expectQueue('--no-dedupe', COUNT, COUNT),
    });
    const dedupe = enqueue('`ard-queue enqueue --file F` (validate + dedupe), empty queue', [], {
      before: empty,
      check: async (run) => {
        await expectQueue('validate + dedupe', COUNT, COUNT);
        // Nothing skipped: the generated scene IDs are distinct.
        if (summary(run).pushed !== COUNT || summary(run).skipped !== 0) throw new Error(`validate + dedupe: ${run.stdout}`);
      },
    });
    const again = enqueue('the same file again (adds nothing)', [], {
      before: async () => {
        await redis.flushdb();
        await redis.select(SNAPSHOT_DB);
        for (const key of await redis.keys('*')) await redis.copy(key, key, 'DB', 0, 'REPLACE');
        await redis.select(0);
      },
      check: async (run) => {
        await expectQueue('re-run', COUNT, COUNT);
        if (summary(run).pushed !== 0 || summary(run).skippedEnqueuedBefore !== COUNT) throw new Error(`re-run: ${run.stdout}`);
      },
    });

    const row = async (c: Labelled, limit?: number): Promise<Row> => ratioRow(c.label, REFERENCE_LABEL, await interleaved(c, reference, ROUNDS), limit, TARGET_RSS_MIB);
    rows.push(await row(noDedupe, 1.0));
    rows.push(await row(dedupe, 1.3));
    // The state after a first enqueue, kept in SNAPSHOT_DB for the re-runs.
    await timeRun(dedupe);
    for (const key of await redis.keys('*')) await redis.copy(key, key, 'DB', SNAPSHOT_DB, 'REPLACE');
    rows.push(await row(again));
  } finally {
    redis.disconnect();
    await server.stop();
  }
  process.stdout.write(`${COUNT.toLocaleString('en-US')} Sentinel-2 scenes, the reference \`redis-cli --pipe\` of one RPUSH per item (no validation, no dedupe); ${machine()}; ${ROUNDS} rounds after a warm-up; peak RSS by GNU time %M\n\n${table(rows)}`);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err.stack ?? err}\n`);
  process.exitCode = 1;
});
