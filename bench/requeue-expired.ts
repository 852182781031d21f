/**
 * How long recovery holds Redis: `ard-queue requeue-expired --grace-seconds 0` as users run it, against a
 * fresh redis-server holding BENCH_PENDING pending items and BENCH_PROCESSING processing items,
 * every second one leased (so half are requeued). Redis's SLOWLOG times every script call (calls
 * of 1 ms or more: the script's own commands are logged too, and are faster).
 *
 * Run: `npm run bench:requeue` (BENCH_PROCESSING, default 100,000; BENCH_PENDING, default
 * 1,000,000). Prints the calls, the longest, the median and the whole run.
 */
import Redis from 'ioredis';
import { leaseKey, queueKeys } from '../protocol/queue-keys';
import { ARD_QUEUE, runProcess } from '../test/support/cli';
import { RedisServer } from '../test/support/redis-server';
import { s2Item, sceneIds } from '../test/support/scenes';
import { setting } from './interleaved';

const PROCESSING = setting('BENCH_PROCESSING', 100_000);
const PENDING = setting('BENCH_PENDING', 1_000_000);
const STEP = 50_000;

async function main(): Promise<void> {
  const server = await RedisServer.start();
  const redis = new Redis(server.url);
  const keys = queueKeys('jobS2');
  try {
    for (let i = 0; i < PENDING; i += STEP) await redis.rpush(keys.pending, ...sceneIds(Math.min(STEP, PENDING - i), i).map(s2Item));
    for (let i = 0; i < PROCESSING; i += STEP) {
      const items = sceneIds(Math.min(STEP, PROCESSING - i), PENDING + i).map(s2Item);
      await redis.rpush(keys.processing, ...items);
      const leases = redis.pipeline();
      items.forEach((item, j) => j % 2 === 1 && leases.setex(leaseKey(keys, item), 600, 'bench'));
      await leases.exec();
    }
    await redis.call('CONFIG', 'SET', 'slowlog-log-slower-than', '1000', 'slowlog-max-len', '100000');
    await redis.call('SLOWLOG', 'RESET');
    const run = await runProcess(ARD_QUEUE, ['requeue-expired', '--grace-seconds', '0', '--json', '--timeout', '120', '--redis-url', server.url]);
    if (run.code !== 0) throw new Error(`requeue-expired exited ${run.code}: ${run.stdout}${run.stderr}`);
    const { requeued, leased } = JSON.parse(run.stdout) as { requeued: number; leased: number };
    const log = (await redis.call('SLOWLOG', 'GET', '-1')) as [number, number, number, string[]][];
    const ms = log.filter(([, , , argv]) => /^eval/i.test(String(argv[0]))).map(([, , micros]) => micros / 1000).sort((a, b) => a - b);
    console.log(`${PROCESSING.toLocaleString('en-US')} processing, ${PENDING.toLocaleString('en-US')} pending: requeued ${requeued}, leased ${leased}`);
    console.log(
      `script calls of 1 ms or more: ${ms.length}; longest ${ms[ms.length - 1].toFixed(1)} ms, ` +
        `median ${ms[Math.floor(ms.length / 2)].toFixed(1)} ms; whole run ${(run.ms / 1000).toFixed(1)} s (node start-up included)`,
    );
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

void main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
