/**
 * Start-up and failure exits of the queue tool, and synth, each side by side with its reference
 * in the same run (bench/interleaved.ts: a warm-up, then A B A B …; medians and min–max of the
 * pairwise ratios; verdicts on the medians). Targets (issue 14):
 * - `ard-queue status` against a local redis-server holding 1,000,000 pending items: start to
 *   exit ≤ 2.5× `node -e 0`;
 * - a failed connect (nothing listening, a wrong password, an ACL that refuses the commands)
 *   exits within 0.3 s of its error message; so does a run whose server stops answering
 *   mid-session, within 0.3 s of its `--timeout`;
 * - synth of every environment ≤ 10× `node -e 0` (bench/synth.ts).
 *
 *   npm run bench:startup      (BENCH_ROUNDS=… rounds, default 9; BENCH_COUNT=… pending items)
 */
import * as net from 'net';
import Redis from 'ioredis';
import { Command, interleaved, machine, median, ratioRow, repeated, Row, Run, setting, spread, table, verdict } from './interleaved';
import { NODE_NOTHING, synthRows } from './synth';
import { ARD_QUEUE, ROOT } from '../test/support/cli';
import { RedisServer } from '../test/support/redis-server';
import { s2Items } from '../test/support/scenes';

const ROUNDS = setting('BENCH_ROUNDS', 9);
const COUNT = setting('BENCH_COUNT', 1_000_000);
/** The limit on the time from a failure to the exit. */
const EXIT_AFTER_ERROR_S = 0.3;
const PASSWORD = 'bench-password';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The row of failures: seconds from the error message to the exit, median (min–max), the verdict on the median. */
function exitRow(figure: string, runs: readonly Run[], expected: RegExp): Row {
  for (const run of runs) {
    if (!expected.test(run.stderr)) throw new Error(`${figure}: unexpected error ${JSON.stringify(run.stderr)}`);
  }
  const after = runs.map((r) => r.afterStderr ?? NaN);
  return {
    figure: `${figure}: exit after the error message`,
    reference: '',
    ours: spread(after, 3),
    referenceSeconds: '',
    ratio: '',
    target: `≤ ${EXIT_AFTER_ERROR_S} s`,
    verdict: verdict(median(after), EXIT_AFTER_ERROR_S),
  };
}

async function main(): Promise<void> {
  const server = await RedisServer.start({
    args: ['--user', 'admin', 'on', `>${PASSWORD}`, '~*', '&*', '+@all', '--user', 'reader', 'on', `>${PASSWORD}`, '~*', '+@connection', '+info'],
  });
  const admin = `redis://admin@127.0.0.1:${server.port}`;
  const env = { REDIS_PASSWORD: PASSWORD };
  const rows: Row[] = [];
  try {
    const redis = new Redis({ port: server.port, username: 'admin', password: PASSWORD });
    for (let from = 0; from < COUNT; from += 10_000) await redis.rpush('jobS2', ...s2Items(Math.min(10_000, COUNT - from), from));
    if ((await redis.llen('jobS2')) !== COUNT) throw new Error(`the queue does not hold ${COUNT} items`);

    const tool = (args: string[], extra: Partial<Command> = {}): Command => ({ command: ARD_QUEUE, args, env, ...extra });
    rows.push(ratioRow(`\`ard-queue status\`, ${COUNT.toLocaleString('en-US')} pending`, '`node -e 0`', await interleaved(tool(['status', '--redis-url', admin]), NODE_NOTHING, ROUNDS), 2.5));
    rows.push(ratioRow('`npm run queue -- status` (npm start-up included)', '`node -e 0`', await interleaved({ command: 'npm', args: ['run', '-s', 'queue', '--', 'status', '--redis-url', admin], cwd: ROOT, env }, NODE_NOTHING, ROUNDS)));

    const failing = (args: string[], extra: Partial<Command> = {}): Command => tool(args, { exitCode: 1, ...extra });
    const closed = `redis://127.0.0.1:${await freePort()}`;
    rows.push(exitRow('nothing listening', await repeated(failing(['status', '--redis-url', closed]), ROUNDS), /ECONNREFUSED/));
    rows.push(exitRow('a wrong password', await repeated(failing(['status', '--redis-url', admin], { env: { REDIS_PASSWORD: 'wrong' } }), ROUNDS), /WRONGPASS/));
    rows.push(exitRow('an ACL user refused the commands', await repeated(failing(['status', '--redis-url', `redis://reader@127.0.0.1:${server.port}`]), ROUNDS), /NOPERM/));

    // A server that stops answering mid-session: CLIENT PAUSE WRITE holds the run's first write
    // (the recovery script) until --timeout. What the run takes beyond the timeout, compared with
    // the same run against the answering server right after, is what it lingers.
    const timeout = 0.5;
    const requeue = ['requeue-expired', '--redis-url', admin, '--timeout', String(timeout)];
    const stall = await interleaved(
      failing(requeue, { before: async () => void (await redis.call('CLIENT', 'PAUSE', '60000', 'WRITE')) }),
      tool(requeue, { before: async () => void (await redis.call('CLIENT', 'UNPAUSE')) }),
      ROUNDS,
    );
    await redis.call('CLIENT', 'UNPAUSE');
    for (const run of stall.ours) if (!/did not answer: no reply within 0\.5 s/.test(run.stderr)) throw new Error(`stalled server: unexpected error ${JSON.stringify(run.stderr)}`);
    const lingers = stall.ours.map((run, i) => run.seconds - timeout - stall.reference[i].seconds);
    rows.push({
      figure: `a server that stops answering mid-session (\`requeue-expired --timeout ${timeout}\`): wall − timeout − the same run answered`,
      reference: 'the same run, answered',
      ours: spread(lingers, 3),
      referenceSeconds: median(stall.reference.map((r) => r.seconds)).toFixed(3),
      ratio: '',
      target: `≤ ${EXIT_AFTER_ERROR_S} s`,
      verdict: verdict(median(lingers), EXIT_AFTER_ERROR_S),
    });
    redis.disconnect();

    rows.push(...(await synthRows(ROUNDS)));
  } finally {
    await server.stop();
  }
  process.stdout.write(`${machine()}; ${ROUNDS} rounds after a warm-up\n\n${table(rows)}`);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err.stack ?? err}\n`);
  process.exitCode = 1;
});
