import { parseArgs } from 'util';
import { queueKeys } from '../protocol/queue-keys';
import { DEFAULT_WORKFLOW, WorkflowDefinition, WORKFLOWS, workflowForQueue } from '../protocol/workflows';
import { UsageError } from './errors';
import { OptionTable, parseArgsOptions } from './options';
import { RedisEndpoint, resolveRedisUrl } from './redis-url';

/** The parsed flags and positionals of one subcommand. */
export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
}

/**
 * `util.parseArgs` in strict mode, with its errors turned into UsageError (exit 2) that name
 * the subcommand.
 */
export function parseCommandArgs(command: string, args: readonly string[], options: OptionTable, allowPositionals: boolean): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({ args: [...args], options: parseArgsOptions(options), allowPositionals, strict: true });
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

/**
 * Reads an integer flag: digits only (no `1e3`, no `-1`), at least `min`.
 * @throws UsageError naming the flag, the value and what is allowed.
 */
export function integerFlag(values: ParsedArgs['values'], name: string, min: number): number | undefined {
  const raw = stringFlag(values, name);
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min || !Number.isSafeInteger(Number(raw))) {
    throw new UsageError(`--${name} must be an integer >= ${min}, got '${raw}'`);
  }
  return Number(raw);
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
  const internal = queue === undefined ? undefined : internalKeyOf(queue);
  if (internal) {
    throw new UsageError(`--queue '${queue}' is the ${internal.role} key of queue '${internal.queue}', not a queue; give the queue's own name, e.g. --queue ${internal.queue}`);
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

/**
 * When `name` is one of a queue's own keys (`jobS2:processing`, `jobS2:enqueued` and its shards
 * `jobS2:enqueued:<i>`, a lease key…), that queue and the key's role: using it as a queue would
 * push work items into another queue's bookkeeping.
 */
export function internalKeyOf(name: string): { queue: string; role: string } | undefined {
  const shard = /^(.+):\d+$/.exec(name);
  if (shard && shard[1].endsWith(queueKeys('').enqueued)) return internalKeyOf(shard[1]);
  for (const [role, suffix] of Object.entries(queueKeys(''))) {
    if (role === 'pending') continue;
    const at = role === 'leasePrefix' || role === 'snapshotPrefix' ? name.indexOf(suffix) : name.endsWith(suffix) ? name.length - suffix.length : -1;
    if (at > 0) return { queue: name.slice(0, at), role };
  }
  return undefined;
}

/** The workflow list shown in `--help` texts. */
export function workflowHelp(): string {
  return Object.values(WORKFLOWS)
    .map((w) => `  ${w.name.padEnd(4)} queue ${w.queue.padEnd(7)} ${w.description}; item fields: in_scene, ${w.itemFields.join(', ')}`)
    .join('\n');
}

/** The Redis endpoint of `--redis-url`, `--password-file` and `--timeout` (and their environment variables). */
export function redisEndpointOf(values: ParsedArgs['values'], env: Readonly<Record<string, string | undefined>>): RedisEndpoint {
  return resolveRedisUrl(stringFlag(values, 'redis-url'), env, { passwordFile: stringFlag(values, 'password-file'), timeout: stringFlag(values, 'timeout') });
}
