#!/usr/bin/env node
/**
 * Entry point of the queue tool: `npm run queue -- <subcommand> [options]`.
 *
 * Only argument dispatch, exit codes and the stale-build check live here; each subcommand is a
 * module under queue/ with its logic unit-tested separately. Subcommand modules are loaded on
 * demand, so `status` does not pay for loading `enqueue`.
 */
import type { CliContext, Subcommand } from './context';
import { CliError, EXIT, UsageError } from './errors';
import { portForwardCommand } from './redis';
import { DEFAULT_REDIS_URL } from './redis-url';
import { staleBuildMessage } from './stale-build';

/** The subcommands, by name. Adding one (e.g. `requeue-expired`) is one line here. */
export const SUBCOMMANDS: Readonly<Record<string, () => Subcommand>> = {
  enqueue: () => require('./commands/enqueue').enqueueCommand,
  status: () => require('./commands/status').statusCommand,
  watch: () => require('./commands/watch').watchCommand,
  'requeue-expired': () => require('./commands/requeue-expired').requeueExpiredCommand,
  'dead-letters': () => require('./commands/dead-letters').deadLettersCommand,
  'retry-dead-letters': () => require('./commands/retry-dead-letters').retryDeadLettersCommand,
};

function topLevelHelp(): string {
  const width = Math.max(...Object.keys(SUBCOMMANDS).map((name) => name.length));
  const rows = Object.entries(SUBCOMMANDS).map(([name, load]) => `  ${name.padEnd(width)}  ${load().summary}`);
  return `Usage: npm run queue -- <subcommand> [options]

Subcommands:
${rows.join('\n')}

Run 'npm run queue -- <subcommand> --help' for a subcommand's options.
Redis: --redis-url URL, else $REDIS_URL, else ${DEFAULT_REDIS_URL}
(for the cluster's Redis: ${portForwardCommand()}).
Exit codes: 0 success, 2 bad usage or invalid input, 1 runtime failure.
`;
}

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
    if (asksForHelp(args)) {
      ctx.stdout.write(command.help);
      return EXIT.ok;
    }
    return await command.run(args, ctx);
  } catch (err) {
    if (err instanceof UsageError) {
      ctx.stderr.write(`error: ${err.message}\n(see: npm run queue -- ${load ? `${name} ` : ''}--help)\n`);
      return EXIT.usage;
    }
    const message = err instanceof CliError ? err.message : `${(err as Error).message ?? err}`;
    ctx.stderr.write(`error: ${message}\n`);
    if (!(err instanceof CliError) && ctx.env.DEBUG) ctx.stderr.write(`${(err as Error).stack}\n`);
    return EXIT.failure;
  }
}

/** `--help` or `-h` among the options (before a `--` that ends them): every subcommand has help. */
function asksForHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

if (require.main === module) {
  const stale = staleBuildMessage(__filename);
  if (stale) {
    process.stderr.write(`error: ${stale}\n`);
    process.exitCode = EXIT.failure;
  } else {
    void main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }).then((code) => {
      process.exitCode = code;
    });
  }
}
