/**
 * `queue watch` and the `done` count of `queue status`, as the compiled tool runs them, against
 * a real redis-server drained by Python workers of the images' lease protocol.
 */
import { ChildProcess, spawn } from 'child_process';
import { renderQueueMetricsScript } from '../../lib/queue-metrics';
import { leaseKey, queueKeys } from '../../protocol/queue-keys';
import { SENTINEL_2 } from '../../protocol/workflows';
import { readStatuses } from '../../queue/status';
import { QUEUE_CLI, runCli, spawnCli } from '../support/cli';
import { closed, exited } from '../support/wait';
import { startPythonWorker } from '../support/python-worker';
import { useRedisServer } from '../support/redis-server';
import { s2Item, sceneIds } from '../support/scenes';

const fixture = useRedisServer({ flushBeforeEach: true });

interface WatchedQueue {
  queue: string;
  pending: number;
  processing: number;
  deadLettered: number;
  enqueued: number;
  done: number;
  percent: number | null;
  itemsPerHour: number | null;
  etaSeconds: number | null;
}
interface WatchLine {
  time: string;
  windowSeconds: number;
  queues: WatchedQueue[];
}

/** Collects a child's stdout as lines, and waits for a line that passes a check. */
function lineReader(child: ChildProcess): { lines: string[]; waitFor(check: (line: string) => boolean, what: string, ms?: number): Promise<string> } {
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  let rest = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk));
  child.stdout!.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString()).split('\n');
    rest = parts.pop()!;
    lines.push(...parts);
    waiters.splice(0).forEach((wake) => wake());
  });
  child.on('exit', () => waiters.splice(0).forEach((wake) => wake()));
  return {
    lines,
    waitFor(check, what, ms = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => fail(`no ${what} within ${ms} ms`), ms);
        const fail = (why: string): void => {
          clearTimeout(timer);
          reject(new Error(`${why}; output:\n${lines.join('\n')}\nstderr:\n${stderr}`));
        };
        // Called at once, then on each chunk of output and at exit, until the line is there.
        const look = (): void => {
          const found = lines.find(check);
          if (found !== undefined) {
            clearTimeout(timer);
            resolve(found);
          } else if (child.exitCode !== null || child.signalCode !== null) fail(`exited before ${what}`);
          else waiters.push(look);
        };
        look();
      });
    },
  };
}

async function enqueue(scenes: string[], ...flags: string[]): Promise<void> {
  const run = await runCli(['enqueue', '--file', '-', ...flags, '--redis-url', fixture.server.url], { input: scenes.join('\n') + '\n' });
  expect(run).toMatchObject({ code: 0, stderr: '' });
}

test('watch --json, not on a terminal, shows rate and ETA while protocol workers drain the queue, then 100 %; SIGINT ends it with 130', async () => {
  const scenes = sceneIds(120);
  await enqueue(scenes);
  const watch = spawnCli(['watch', '--queue', 'jobS2', '--json', '--interval', '0.2', '--redis-url', fixture.server.url]);
  const watchClosed = closed(watch);
  let stderr = '';
  watch.stderr!.on('data', (d) => (stderr += d));
  const reader = lineReader(watch);
  const workers: ChildProcess[] = [];
  try {
    // The first reading, before any worker runs: nothing done, no rate yet.
    const first = JSON.parse(await reader.waitFor(() => true, 'first line', 20_000)) as WatchLine;
    expect(first.queues).toEqual([expect.objectContaining({ queue: 'jobS2', pending: 120, processing: 0, enqueued: 120, done: 0, percent: 0, itemsPerHour: null, etaSeconds: null })]);

    // BLOCK_TIMEOUT 1: a worker blocked on the emptied queue exits within a second, not 600.
    workers.push(...Array.from({ length: 3 }, () => startPythonWorker({ port: fixture.server.port, env: { WORK_SECONDS: '0.1', BLOCK_TIMEOUT: '1' } })));
    const complete = (line: string): boolean => (JSON.parse(line) as WatchLine).queues[0].percent === 100;
    await reader.waitFor(complete, 'line with 100 % done');
    expect(await Promise.all(workers.map(exited))).toEqual([0, 0, 0]);

    const views = reader.lines.map((line) => JSON.parse(line) as WatchLine);
    const q = views.map((v) => v.queues[0]);
    const last = q.findIndex((s) => s.percent === 100);
    // While work was left, the tool measured a rate and gave a finite ETA.
    const measuring = q.slice(0, last).filter((s) => s.pending + s.processing > 0 && s.itemsPerHour !== null && s.itemsPerHour > 0);
    expect(measuring.length).toBeGreaterThan(0);
    expect(measuring.every((s) => s.etaSeconds !== null && Number.isFinite(s.etaSeconds) && s.etaSeconds > 0)).toBe(true);
    expect(q[last]).toMatchObject({ pending: 0, processing: 0, deadLettered: 0, enqueued: 120, done: 120, etaSeconds: 0 });
    // Every line is one consistent snapshot, and done never goes back.
    for (const [i, s] of q.entries()) {
      expect(s.done).toBe(s.enqueued - s.pending - s.processing - s.deadLettered);
      if (i > 0) expect(s.done).toBeGreaterThanOrEqual(q[i - 1].done);
    }
    expect(views.every((v, i) => i === 0 || Date.parse(v.time) > Date.parse(views[i - 1].time))).toBe(true);
  } finally {
    watch.kill('SIGINT');
    for (const worker of workers) if (worker.exitCode === null) worker.kill('SIGKILL');
  }
  expect(await watchClosed).toBe(130);
  expect(stderr).toBe('');
  // Nothing after the last complete line: the loop stopped before writing half a line.
  expect(reader.lines.every((line) => line.startsWith('{') && line.endsWith('}'))).toBe(true);
}, 120_000);

test('SIGTERM ends watch with 143 and its connection is closed', async () => {
  const clients = async (): Promise<number> => (await fixture.redis.client('LIST') as string).trim().split('\n').length;
  const before = await clients();
  const watch = spawnCli(['watch', '--json', '--interval', '30', '--redis-url', fixture.server.url]);
  const reader = lineReader(watch);
  const first = JSON.parse(await reader.waitFor(() => true, 'first line', 20_000)) as WatchLine;
  expect(first.queues.map((q) => q.queue)).toEqual(['jobS2', 'jobLS', 'jobS1']);
  expect(await clients()).toBe(before + 1);
  watch.kill('SIGTERM'); // in the middle of a 30 s pause: it must not wait for the next refresh
  const started = Date.now();
  expect(await exited(watch)).toBe(143);
  expect(Date.now() - started).toBeLessThan(10_000);
  const deadline = Date.now() + 10_000;
  while ((await clients()) !== before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(await clients()).toBe(before);
}, 60_000);

test('on a terminal the display refreshes in place, highlights dead letters, and Ctrl-C restores the cursor (exit 130)', async () => {
  await enqueue(sceneIds(4));
  await fixture.redis.lmove('jobS2', 'jobS2:dead_letter', 'RIGHT', 'LEFT');
  const command = `stty cols 120; exec ${process.execPath} ${QUEUE_CLI} watch --queue jobS2 --interval 0.2 --redis-url ${fixture.server.url}`;
  // script(1) runs the tool on a pseudo-terminal; -e passes on its exit code.
  const tty = spawn('script', ['-qfec', command, '/dev/null'], { stdio: 'pipe', env: { ...process.env, NO_COLOR: '', TERM: 'xterm' } });
  const ttyClosed = closed(tty);
  let output = '';
  const twoFrames = new Promise<void>((resolve) =>
    tty.stdout!.on('data', (d) => {
      output += d;
      if ((output.match(/jobS2 \(s2\)/g) ?? []).length >= 2) resolve();
    }),
  );
  await twoFrames;
  tty.stdin!.write('\x03'); // Ctrl-C, turned into SIGINT by the terminal
  expect(await ttyClosed).toBe(130);
  expect(output.startsWith('\x1b[?25l')).toBe(true); // cursor hidden while it runs…
  expect(output).toContain('\x1b[5F'); // …each frame drawn over the previous one (5 lines up)…
  expect(output.endsWith('\x1b[?25h')).toBe(true); // …and shown again at the end
  expect(output).toContain('jobS2 (s2)  [------------------------------]   0.0%  0 of 4 done');
  expect(output).toContain('expired 0  \x1b[1;31mdead-lettered 1\x1b[0m');
}, 60_000);

test("status's done is the exporter's done, through --force re-recordings and --no-dedupe repeats", async () => {
  const exporterDone = async (): Promise<number> => {
    const pairs = (await fixture.redis.eval(renderQueueMetricsScript(['jobS2']), 0)) as string[];
    return Number(pairs[pairs.indexOf('jobS2:done') + 1]);
  };
  const status = async () => JSON.parse((await runCli(['status', '--queue', 'jobS2', '--json', '--redis-url', fixture.server.url])).stdout);
  const scenes = sceneIds(10);
  await enqueue(scenes);
  // Workers take 8 items (the last 8 scenes: the queue is LIFO); one is dead-lettered, one stays
  // in processing without a lease (its worker died), and the other six finish.
  for (let i = 0; i < 8; i++) await fixture.redis.lmove('jobS2', 'jobS2:processing', 'RIGHT', 'LEFT');
  await fixture.redis.lmove('jobS2:processing', 'jobS2:dead_letter', 'LEFT', 'LEFT');
  for (let i = 0; i < 6; i++) await fixture.redis.rpop('jobS2:processing');
  expect(await status()).toMatchObject({ pending: 2, processing: 1, expired: 1, deadLettered: 1, enqueued: 10, done: 6, percent: 60 });
  expect(await exporterDone()).toBe(6);

  // --force pushes finished scenes again and records them again: they count as work left,
  // and once finished count again in done (the campaign's % is of recordings, not of scenes).
  await enqueue(scenes.slice(5), '--force'); // five of the six finished scenes
  const forced = await status();
  expect(forced).toMatchObject({ pending: 7, enqueued: 15, done: 6, percent: 40 });
  expect(await exporterDone()).toBe(6);

  // --no-dedupe records every push, repeats included: done stays consistent.
  await enqueue([sceneIds(1, 50)[0], sceneIds(1, 50)[0]], '--no-dedupe');
  expect(await fixture.redis.lrange('jobS2', -2, -1)).toEqual([s2Item(sceneIds(1, 50)[0]), s2Item(sceneIds(1, 50)[0])]);
  expect(await status()).toMatchObject({ pending: 9, enqueued: 17, done: 6 });
  expect(await exporterDone()).toBe(6);
}, 60_000);

test('status: an item completed between the count and the lease check is not counted as expired', async () => {
  const [finished, held, orphan] = sceneIds(3).map(s2Item);
  const keys = queueKeys('jobS2');
  await fixture.redis.rpush(keys.processing, finished, held, orphan);
  await fixture.redis.setex(leaseKey(keys, finished), 1800, 'worker-a');
  await fixture.redis.setex(leaseKey(keys, held), 1800, 'worker-b');
  // A worker completes `finished` (LREM, then DEL of its lease) right after the first MULTI.
  let interleave = true;
  const interleaved = new Proxy(fixture.redis, {
    get(target, name, receiver) {
      if (name !== 'multi') return Reflect.get(target, name, receiver);
      return () => {
        const multi = target.multi();
        const exec = multi.exec.bind(multi);
        return Object.assign(multi, {
          exec: async () => {
            const result = await exec();
            if (interleave) {
              interleave = false;
              await target.lrem(keys.processing, 0, finished);
              await target.del(leaseKey(keys, finished));
            }
            return result;
          },
        });
      };
    },
  });
  const [status] = await readStatuses(interleaved, [{ workflow: SENTINEL_2, queue: 'jobS2' }]);
  // The snapshot of the first read: three processing, of which only `orphan` has no lease.
  expect(status).toMatchObject({ processing: 3, leased: 2, expired: 1 });
});

test('a Redis restart during a watch is reported and survived: error lines, then readings again', async () => {
  await enqueue(sceneIds(3));
  const watch = spawnCli(['watch', '--queue', 'jobS2', '--json', '--interval', '0.2', '--redis-url', fixture.server.url]);
  const reader = lineReader(watch);
  try {
    await reader.waitFor(() => true, 'first line', 20_000);
    await fixture.server.kill();
    const errorLines = (): string[] => reader.lines.filter((l) => l.includes('"error"'));
    // The lost connection, then at least one refused reconnect.
    await reader.waitFor(() => errorLines().length >= 2, 'two error lines');
    await fixture.server.restart();
    // The restarted server is empty (no persistence in this test): a reading after the error line.
    const after = (line: string): boolean => reader.lines.indexOf(line) > reader.lines.findIndex((l) => l.includes('"error"')) && line.includes('"queues"');
    const reading = JSON.parse(await reader.waitFor(after, 'reading after the restart')) as WatchLine;
    expect(reading.queues[0]).toMatchObject({ queue: 'jobS2', pending: 0, enqueued: 0 });
    const errors = errorLines().map((l) => JSON.parse(l) as { time: string; error: string });
    expect(Object.keys(errors[0])).toEqual(['time', 'error']);
    expect(errors[0].error).toBe(`reading ${fixture.server.url} failed: Connection is closed.`);
    expect(errors[1].error).toMatch(new RegExp(`^cannot connect to Redis at ${fixture.server.url}: connect ECONNREFUSED 127\\.0\\.0\\.1:${fixture.server.port}; `));
  } finally {
    watch.kill('SIGINT');
  }
  expect(await exited(watch)).toBe(130);
}, 60_000);
