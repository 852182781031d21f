import type Redis from 'ioredis';
import type { Writable } from 'stream';
import { parseCommandArgs, ParsedArgs, redisEndpointOf, stringFlag, workflowHelp } from '../args';
import type { CliContext, Subcommand } from '../context';
import { CliError, EXIT, UsageError } from '../errors';
import { optionsHelp, pickOptions } from '../options';
import { withRedis } from '../redis';
import { readStatuses, statusTargets } from '../status';
import { CURSOR, visibleLength } from '../terminal';
import { DEFAULT_WATCH_INTERVAL_SECONDS, RATE_WINDOW_SECONDS, renderFrame, SIGNAL_EXIT, WATCH_INTERVAL_RANGE, watchErrorLine, watchErrorText, WatchState, watchJsonLine } from '../watch';

/** What a terminal stdout adds to a stream. */
type Output = Writable & { readonly isTTY?: boolean; readonly columns?: number };

/**
 * Reads `--interval`: a plain decimal number of seconds within WATCH_INTERVAL_RANGE.
 * @throws UsageError naming the flag, the value and what is allowed.
 */
export function intervalFlag(values: ParsedArgs['values']): number {
  const raw = stringFlag(values, 'interval');
  if (raw === undefined) return DEFAULT_WATCH_INTERVAL_SECONDS;
  const seconds = Number(raw);
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(raw) || seconds < WATCH_INTERVAL_RANGE.min || seconds > WATCH_INTERVAL_RANGE.max) {
    throw new UsageError(`--interval must be a number of seconds from ${WATCH_INTERVAL_RANGE.min} to ${WATCH_INTERVAL_RANGE.max}, got '${raw}'`);
  }
  return seconds;
}

/**
 * The in-place display on a terminal: each frame overwrites the previous one (cursor up, erase
 * to end of line), lines cut to the terminal's width so none wraps and the count stays right;
 * the cursor is hidden while it runs and shown again by close().
 */
export class LiveDisplay {
  private lines = 0;

  constructor(private readonly out: Output) {}

  draw(lines: readonly string[]): void {
    // A pseudo-terminal of unknown size reports 0 columns: take 80 then.
    const width = Math.max(20, (this.out.columns || 80) - 1);
    const fitted = lines.map((line) => (visibleLength(line) > width ? `${line.replace(/\x1b\[[0-9;]*m/g, '').slice(0, width - 1)}…` : line)); // eslint-disable-line no-control-regex
    const start = this.lines === 0 ? CURSOR.hide : CURSOR.up(this.lines);
    this.out.write(`${start}${fitted.map((line) => line + CURSOR.eraseLine).join('\n')}\n${CURSOR.eraseDown}`);
    this.lines = fitted.length;
  }

  /** Shows the cursor again if a frame hid it. */
  close(): void {
    if (this.lines > 0) this.out.write(CURSOR.show);
  }
}

const OPTIONS = pickOptions(['workflow', 'queue', 'redis-url', 'password-file', 'timeout', 'interval', 'json'], {
  workflow: "one workflow's queue",
  queue: 'one queue by name (with --workflow for a queue no workflow owns)',
  json: 'print one JSON line per refresh (also the output when stdout is not a terminal)',
});

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

async function run(args: readonly string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommandArgs('watch', args, OPTIONS, false);
  const targets = statusTargets(stringFlag(values, 'workflow'), stringFlag(values, 'queue'));
  const intervalSeconds = intervalFlag(values);
  const redisUrl = redisEndpointOf(values, ctx.env);
  const out = ctx.stdout as Output;
  const live = !values.json && out.isTTY === true;
  // https://no-color.org: a NO_COLOR that is set and not empty turns colours off.
  const color = live && !ctx.env.NO_COLOR && ctx.env.TERM !== 'dumb';

  // Ctrl-C / SIGTERM end the loop (the read in flight is abandoned); withRedis then closes the
  // connection and the display restores the cursor. A closed pipe (`watch --json | head`) ends it quietly.
  const stop = new AbortController();
  let exitCode: number = EXIT.ok;
  const onSignal = (signal: keyof typeof SIGNAL_EXIT) => (): void => {
    exitCode = SIGNAL_EXIT[signal];
    stop.abort();
  };
  const handlers = { SIGINT: onSignal('SIGINT'), SIGTERM: onSignal('SIGTERM') };
  const onOutputError = (): void => stop.abort();
  for (const [signal, handler] of Object.entries(handlers)) process.on(signal, handler);
  out.on('error', onOutputError);
  const stopped = new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve()));

  const state = new WatchState();
  const display = live ? new LiveDisplay(out) : undefined;
  const source = redisUrl.display;
  const started = performance.now();
  let tick = 0;
  // Refreshes keep to the interval's grid, so a slow read does not stretch every interval; after
  // a longer stall (a reconnect) the next refresh is the next point of the grid, not a burst.
  const nextRefresh = (): Promise<void> => {
    const intervalMs = intervalSeconds * 1000;
    tick = Math.max(tick + 1, Math.ceil((performance.now() - started) / intervalMs));
    return pause(started + tick * intervalMs - performance.now(), stop.signal);
  };
  let connected = false;
  let frame: string[] = [];
  const session = async (redis: Redis): Promise<void> => {
    connected = true;
    while (!stop.signal.aborted) {
      const read = readStatuses(redis, targets);
      // Once stopped, the connection closes under the abandoned read: its rejection is expected.
      read.catch(() => undefined);
      const statuses = await Promise.race([read, stopped]);
      if (!statuses) return;
      const view = state.update(statuses, performance.now(), new Date());
      if (display) display.draw((frame = renderFrame(view, { intervalSeconds, source, color })));
      else out.write(watchJsonLine(view));
      await nextRefresh();
    }
  };
  try {
    // A watch runs for days, across routine Redis restarts: once it has read, a lost connection
    // is shown and retried every interval (the rates are kept); failing to connect at all is exit 1.
    let failingSince: Date | undefined;
    while (!stop.signal.aborted) {
      const attempt = withRedis(redisUrl, session);
      attempt.catch(() => undefined);
      try {
        await Promise.race([attempt, stopped]);
      } catch (err) {
        if (!connected) throw err;
        // connectRedis's errors name the URL and what to do; a failed read says only "Connection is closed.".
        const message = err instanceof CliError ? err.message : `reading ${source} failed: ${(err as Error).message ?? String(err)}`;
        failingSince ??= new Date();
        if (display) display.draw([...frame, '', watchErrorText(message, failingSince, color)]);
        else out.write(watchErrorLine(new Date(), message));
        await nextRefresh();
      }
    }
  } finally {
    display?.close();
    for (const [signal, handler] of Object.entries(handlers)) process.off(signal, handler);
    out.off('error', onOutputError);
  }
  return exitCode;
}

const HELP = `Usage: ard-queue watch [--workflow NAME | --queue NAME] [--interval SECONDS] [--redis-url URL] [--json]

Shows campaign progress every --interval seconds until Ctrl-C, per queue (every known
workflow's queue unless --workflow or --queue is given): the status counts (see
'status --help'), done and % done with a progress bar, throughput in items/hour over the
last ${RATE_WINDOW_SECONDS / 60} minutes (since the start until it has run that long), and the ETA of the
pending and processing items at that rate. Expired items (yellow) and dead letters (red)
are highlighted when not zero (no colours with NO_COLOR set to
anything but the empty string, or TERM=dumb).

On a terminal the display refreshes in place. With --json, or when stdout is not a
terminal, it prints one JSON line per refresh:
  {"time":"<ISO 8601>","windowSeconds":N,"queues":[{<status --json fields>,
   "itemsPerHour":N|null,"etaSeconds":N|null}]}
(itemsPerHour null until measured; etaSeconds 0 when no work is left, null while unknown
or without progress).

Each refresh reads counters and list lengths (LLEN, STRLEN) and the few items in
<queue>:processing with their lease keys: two round trips, whatever the queues' lengths.

When Redis cannot be read after a first reading (a Redis restart, a port-forward that ended),
the display says so, or a line {"time":"<ISO 8601>","error":"<message>"} is printed, and it
reconnects at each refresh; rates and ETA resume where they were.

Exit codes: 130 after Ctrl-C (SIGINT), 143 after SIGTERM, 0 when stdout is closed,
1 when Redis cannot be reached at the start, 2 for bad usage.

Options:
${optionsHelp(OPTIONS)}

Workflows:
${workflowHelp()}
`;

/** `watch`: campaign progress, throughput and ETA, refreshed until interrupted. */
export const watchCommand: Subcommand = {
  handlesSignals: true,
  summary: 'refresh progress, items/hour and ETA per queue until Ctrl-C (JSON lines when piped)',
  help: HELP,
  run,
};
