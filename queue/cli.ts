/**
 * Entry point of the queue tool: `ard-queue <subcommand> [options]`.
 *
 * Only argument dispatch, exit codes and the stale-build check live here; each subcommand is a
 * module under queue/ with its logic unit-tested separately. Subcommand modules are loaded on
 * demand, so `status` does not pay for loading `enqueue`.
 */
import type { CliContext, Subcommand } from './context';
import { CliError, EXIT, UsageError } from './errors';
import { DEFAULT_REDIS_URL, portForwardCommand } from './redis-url';
import { runCleanups, SIGNAL_EXIT } from './interrupt';
import { staleBuildMessage } from './stale-build';

/** The subcommands, by name. Adding one (e.g. `requeue-expired`) is one line here. */
export const SUBCOMMANDS: Readonly<Record<string, () => Subcommand>> = {
  enqueue: () => require('./commands/enqueue').enqueueCommand,
  status: () => require('./commands/status').statusCommand,
  watch: () => require('./commands/watch').watchCommand,
  'requeue-expired': () => require('./commands/requeue-expired').requeueExpiredCommand,
  'dead-letters': () => require('./commands/dead-letters').deadLettersCommand,
  'retry-dead-letters': () => require('./commands/retry-dead-letters').retryDeadLettersCommand,
  'reset-record': () => require('./commands/reset-record').resetRecordCommand,
};

function topLevelHelp(): string {
  const width = Math.max(...Object.keys(SUBCOMMANDS).map((name) => name.length));
  const rows = Object.entries(SUBCOMMANDS).map(([name, load]) => `  ${name.padEnd(width)}  ${load().summary}`);
  return `Usage: ard-queue <subcommand> [options]

Subcommands:
${rows.join('\n')}

Run 'ard-queue <subcommand> --help' for a subcommand's options.
Redis: --redis-url URL, else $REDIS_URL, else ${DEFAULT_REDIS_URL}
(for the cluster's Redis: ${portForwardCommand()}).
Exit codes: 0 success, 2 bad usage or invalid input, 1 runtime failure.
`;
}

/** Set once the subcommand is known: whether it handles SIGINT/SIGTERM itself. */
let signalsHandledByCommand = false;

/** Runs one command line; resolves to the exit code. Never throws. */
export async function main(argv: readonly string[], ctx: CliContext): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    ctx.stdout.write(topLevelHelp());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const load = Object.prototype.hasOwnProperty.call(SUBCOMMANDS, name) ? SUBCOMMANDS[name] : undefined;
  try {
    if (!load) throw new UsageError(`unknown subcommand '${name}'; subcommands: ${Object.keys(SUBCOMMANDS).join(', ')}`);
    const command = load();
    signalsHandledByCommand = command.handlesSignals === true;
    if (asksForHelp(args)) {
      ctx.stdout.write(command.help);
      return EXIT.ok;
    }
    return await command.run(args, ctx);
  } catch (err) {
    const code = err instanceof UsageError ? EXIT.usage : EXIT.failure;
    const message = err instanceof UsageError || err instanceof CliError ? err.message : `${(err as Error)?.message ?? err}`;
    // --json: scripts read the failure from stdout too, as one object.
    if (wantsJson(args)) ctx.stdout.write(JSON.stringify({ error: { exitCode: code, message } }) + '\n');
    ctx.stderr.write(`error: ${message}\n`);
    if (code === EXIT.usage) ctx.stderr.write(`(see: ard-queue ${load ? `${name} ` : ''}--help)\n`);
    if (!(err instanceof CliError || err instanceof UsageError) && ctx.env.DEBUG) ctx.stderr.write(`${(err as Error).stack}\n`);
    return code;
  }
}

/** `--json` among the options (before a `--` that ends them). */
function wantsJson(args: readonly string[]): boolean {
  return optionArgs(args).includes('--json');
}

function optionArgs(args: readonly string[]): readonly string[] {
  const end = args.indexOf('--');
  return end === -1 ? args : args.slice(0, end);
}

/** `--help` or `-h` among the options (before a `--` that ends them): every subcommand has help. */
function asksForHelp(args: readonly string[]): boolean {
  return optionArgs(args).some((arg) => arg === '--help' || arg === '-h');
}

/**
 * Signals and a closed stdout, for the real process: Ctrl-C / SIGTERM run the registered
 * cleanups (interrupt.ts) and exit 130 / 143; a reader that went away (`… | head`) ends the
 * run quietly instead of with an EPIPE stack trace.
 */
function installProcessHandlers(): void {
  for (const signal of Object.keys(SIGNAL_EXIT) as (keyof typeof SIGNAL_EXIT)[]) {
    process.once(signal, () => {
      if (signalsHandledByCommand) return;
      process.stderr.write(`\ninterrupted (${signal}), stopping\n`);
      void runCleanups().then((messages) => {
        for (const m of messages) process.stderr.write(`${m}\n`);
        process.exit(SIGNAL_EXIT[signal]);
      });
    });
  }
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      void runCleanups().then(() => process.exit(process.exitCode ?? EXIT.ok));
    });
  }
}

/**
 * Runs the tool as this process, with the command line and standard streams: refuses a stale
 * build first. `entryFile` is the file node was started with: build/queue/cli.js (queue/launch.cjs),
 * or this source when run directly (e.g. with tsx), which has no build to check.
 */
export function runAsProcess(entryFile: string): void {
  const stale = staleBuildMessage(entryFile);
  if (stale) {
    process.stderr.write(`error: ${stale}\n`);
    process.exitCode = EXIT.failure;
    return;
  }
  installProcessHandlers();
  void main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }).then((code) => {
    process.exitCode = code;
  });
}

if (require.main === module) runAsProcess(__filename);
