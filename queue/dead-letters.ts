import { DEFAULT_WORKFLOW } from '../protocol/workflows';
import { COMMON_OPTIONS, parseCommandArgs, resolveRedisUrl, resolveTarget, stringFlag, workflowHelp } from './args';
import type { CliContext, Subcommand } from './context';
import { EXIT, UsageError } from './errors';
import { withRedis } from './redis';
import { DeadLetter, listDeadLetters, RetryDeadLettersResult, retryDeadLetters, selectDeadLetters } from './recovery';
import { integerFlag } from './requeue-expired';

const TARGET_HELP = `  -w, --workflow NAME    one workflow's queue (default: ${DEFAULT_WORKFLOW})
  -q, --queue NAME       a queue by name
      --redis-url URL    default $REDIS_URL, else redis://127.0.0.1:6379`;

/** A plain-text table of dead letters: attempts, then the scene ID (or the whole item if it has none). */
export function formatDeadLetters(queue: string, total: number, items: readonly DeadLetter[]): string {
  if (total === 0) return `${queue}: no dead-lettered items\n`;
  const shown = items.length < total ? ` (showing the first ${items.length})` : '';
  const rows = items.map((d) => `  ${String(d.attempts).padStart(8)}  ${d.scene ?? d.item}`);
  return `${queue}: ${total} dead-lettered item${total === 1 ? '' : 's'}${shown}\n  attempts  scene (or item)\n${rows.join('\n')}\n`;
}

const LIST_OPTIONS = {
  ...COMMON_OPTIONS,
  limit: { type: 'string' },
} as const;

async function runList(args: readonly string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommandArgs('dead-letters', args, LIST_OPTIONS, false);
  const target = resolveTarget(stringFlag(values, 'workflow'), stringFlag(values, 'queue'));
  const limit = integerFlag(values, 'limit', 1);
  const redisUrl = resolveRedisUrl(stringFlag(values, 'redis-url'), ctx.env);
  const { total, items } = await withRedis(redisUrl, (redis) => listDeadLetters(redis, target.queue, { limit }));
  if (values.json) ctx.stdout.write(JSON.stringify({ queue: target.queue, workflow: target.workflow.name, total, items }) + '\n');
  else ctx.stdout.write(formatDeadLetters(target.queue, total, items));
  return EXIT.ok;
}

const LIST_HELP = `Usage: npm run queue -- dead-letters [--workflow NAME | --queue NAME] [--limit N] [--redis-url URL] [--json]

Lists the dead-letter list <queue>:dead_letter, oldest first: items whose workers died
--max-attempts times (requeue-expired), with their attempt counts. Workers never see them
again until 'retry-dead-letters' puts them back.

Options:
${TARGET_HELP}
      --limit N          show at most N items (the total is always reported)
      --json             print {queue, workflow, total, items: [{item, scene, attempts}]}
  -h, --help             show this help

Workflows:
${workflowHelp()}
`;

/** The human report of a retry: a summary line, then one line per item. */
export function formatRetry(result: RetryDeadLettersResult): string {
  const lines = [
    `${result.queue}${result.dryRun ? ' (dry run, nothing written)' : ''}: put back ${result.retried.length}, ` +
      `already queued ${result.alreadyQueued.length}, no longer dead-lettered ${result.missing.length}`,
    ...result.retried.map((item) => `  put back (attempts reset): ${item}`),
    ...result.alreadyQueued.map((item) => `  already pending or processing (removed from dead letters only): ${item}`),
    ...result.missing.map((item) => `  no longer dead-lettered: ${item}`),
  ];
  if (!result.dryRun && result.retried.length > 0) {
    lines.push("Running workers will take them; if the queue's Job has already completed, start it again.");
  }
  return lines.join('\n') + '\n';
}

const RETRY_OPTIONS = {
  ...COMMON_OPTIONS,
  all: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
} as const;

async function runRetry(args: readonly string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs('retry-dead-letters', args, RETRY_OPTIONS, true);
  if (values.all && positionals.length > 0) throw new UsageError('give either --all or items/scene IDs, not both');
  if (!values.all && positionals.length === 0) throw new UsageError('name the items or scene IDs to retry, or --all');
  const target = resolveTarget(stringFlag(values, 'workflow'), stringFlag(values, 'queue'));
  const redisUrl = resolveRedisUrl(stringFlag(values, 'redis-url'), ctx.env);
  const dryRun = values['dry-run'] === true;
  const result = await withRedis(redisUrl, async (redis) => {
    const { items } = await listDeadLetters(redis, target.queue);
    const deadLetters = items.map((d) => d.item);
    let selected = deadLetters;
    if (!values.all) {
      const selection = selectDeadLetters(deadLetters, positionals);
      // Change nothing when any name is wrong: a typo should not half-apply a retry.
      if (selection.unmatched.length > 0) {
        throw new UsageError(`not in the dead-letter list of ${target.queue}: ${selection.unmatched.join(', ')} ` +
          `(see: npm run queue -- dead-letters --queue ${target.queue})`);
      }
      selected = selection.selected;
    }
    return retryDeadLetters(redis, target.queue, selected, { dryRun });
  });
  if (values.json) ctx.stdout.write(JSON.stringify({ ...result, workflow: target.workflow.name }) + '\n');
  else ctx.stdout.write(formatRetry(result));
  return EXIT.ok;
}

const RETRY_HELP = `Usage: npm run queue -- retry-dead-letters [--workflow NAME | --queue NAME] (--all | ITEM|SCENE...)
         [--redis-url URL] [--dry-run] [--json]

Puts dead-lettered items back in the queue (RPUSH, like a fresh enqueue) and resets their
attempt counts, atomically. An item that is already pending or processing (e.g. enqueued
again with --force) is only removed from the dead-letter list, never queued twice. Name items
by scene ID (in_scene) or by their exact JSON; a name that matches no dead letter is an error
and nothing is changed. Fix the cause first (see the worker logs): an item that still kills
its worker comes back after --max-attempts more tries.

Options:
${TARGET_HELP}
      --all              retry every dead-lettered item
      --dry-run          report what would happen; write nothing
      --json             print {queue, workflow, dryRun, retried, alreadyQueued, missing}
  -h, --help             show this help

Workflows:
${workflowHelp()}
`;

/** `dead-letters`: list the items set aside after too many failed attempts. */
export const deadLettersCommand: Subcommand = {
  summary: 'list dead-lettered items (failed --max-attempts times) with their attempts',
  help: LIST_HELP,
  run: runList,
};

/** `retry-dead-letters`: put dead-lettered items back in the queue. */
export const retryDeadLettersCommand: Subcommand = {
  summary: 'put dead-lettered items back in the queue (--all or by scene ID), attempts reset',
  help: RETRY_HELP,
  run: runRetry,
};
