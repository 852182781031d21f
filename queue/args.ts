import { parseArgs, ParseArgsConfig } from 'util';
import { DEFAULT_WORKFLOW, WorkflowDefinition, WORKFLOWS, workflowForQueue } from '../protocol/workflows';
import { UsageError } from './errors';

/** Where `kubectl port-forward -n ard svc/redis-master 6379:6379` makes the cluster's Redis answer. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Options every subcommand takes: which queue, which Redis, output format (`--help` is the CLI's). */
export const COMMON_OPTIONS = {
  workflow: { type: 'string', short: 'w' },
  queue: { type: 'string', short: 'q' },
  'redis-url': { type: 'string' },
  json: { type: 'boolean' },
} as const;

type Options = NonNullable<ParseArgsConfig['options']>;

/** The parsed flags and positionals of one subcommand. */
export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
}

/**
 * `util.parseArgs` in strict mode, with its errors turned into UsageError (exit 2) that name
 * the subcommand.
 */
export function parseCommandArgs(command: string, args: readonly string[], options: Options, allowPositionals: boolean): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({ args: [...args], options, allowPositionals, strict: true });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (err) {
    // parseArgs throws TypeError with codes ERR_PARSE_ARGS_*; its messages already name the flag.
    const message = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(`${command}: ${message}`);
  }
}

/** Reads a string flag, refusing an empty value (`--queue ''`). */
export function stringFlag(values: ParsedArgs['values'], name: string): string | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${name} must not be empty`);
  return value;
}

/** The queue to work on and the workflow whose rules apply to it. */
export interface Target {
  readonly workflow: WorkflowDefinition;
  readonly queue: string;
}

const QUEUE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;

/**
 * Resolves `--workflow` / `--queue`: the workflow gives the queue name, item fields and
 * scene-ID rule; `--queue` overrides the name; with only `--queue`, the workflow owning that
 * queue applies. A queue no workflow owns needs `--workflow` too, so we never guess its rules.
 */
export function resolveTarget(workflowName: string | undefined, queue: string | undefined): Target {
  if (queue !== undefined && !QUEUE_NAME.test(queue)) {
    throw new UsageError(`--queue must be 1-100 characters of letters, digits, '_', '.', ':' or '-', starting with a letter or digit, got '${queue}'`);
  }
  if (workflowName !== undefined) {
    const workflow = WORKFLOWS[workflowName];
    if (!workflow) {
      throw new UsageError(`unknown --workflow '${workflowName}'; known workflows: ${Object.keys(WORKFLOWS).join(', ')}`);
    }
    return { workflow, queue: queue ?? workflow.queue };
  }
  if (queue !== undefined) {
    const workflow = workflowForQueue(queue);
    if (!workflow) {
      const known = Object.values(WORKFLOWS).map((w) => `${w.queue} (${w.name})`).join(', ');
      throw new UsageError(`no workflow owns queue '${queue}' (known queues: ${known}); add --workflow NAME to choose its scene-ID rule and item fields`);
    }
    return { workflow, queue };
  }
  const workflow = WORKFLOWS[DEFAULT_WORKFLOW];
  return { workflow, queue: workflow.queue };
}

/** `--redis-url`, else `$REDIS_URL`, else the port-forward default. */
export function resolveRedisUrl(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  const url = flag ?? (env.REDIS_URL || undefined) ?? DEFAULT_REDIS_URL;
  if (!/^rediss?:\/\//.test(url)) {
    throw new UsageError(`--redis-url must start with redis:// or rediss://, got '${redactUrl(url)}'`);
  }
  return url;
}

/** The URL with its password replaced by `***`, fit for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^(\w+:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}

/** The workflow list shown in `--help` texts. */
export function workflowHelp(): string {
  return Object.values(WORKFLOWS)
    .map((w) => `  ${w.name.padEnd(4)} queue ${w.queue.padEnd(7)} ${w.description}; item fields: in_scene, ${w.itemFields.join(', ')}`)
    .join('\n');
}
