import { printable } from '../terminal';
import type { CliContext, Subcommand } from '../context';
import { redisEndpointOf, parseCommandArgs, resolveTarget, stringFlag, workflowHelp } from '../args';
import { EXIT, UsageError } from '../errors';
import { optionsHelp, pickOptions } from '../options';
import { listDeadLetters, RetryDeadLettersResult, retryDeadLetters, selectDeadLetters } from '../recovery';
import { withRedis } from '../redis';

/** The human report of a retry: a summary line, then one line per item. */
export function formatRetry(result: RetryDeadLettersResult): string {
  const lines = [
    `${result.queue}${result.dryRun ? ' (dry run, nothing written)' : ''}: put back ${result.retried.length}, ` +
      `already queued ${result.alreadyQueued.length}, no longer dead-lettered ${result.missing.length}`,
    ...result.retried.map((item) => `  put back (attempts reset): ${printable(item)}`),
    ...result.alreadyQueued.map((item) => `  already pending or processing (removed from dead letters only): ${printable(item)}`),
    ...result.missing.map((item) => `  no longer dead-lettered: ${printable(item)}`),
  ];
  if (!result.dryRun && result.retried.length > 0) {
    lines.push("Running workers will take them; if the queue's Job has already completed, start it again.");
  }
  return lines.join('\n') + '\n';
}

const OPTIONS = pickOptions(['workflow', 'queue', 'redis-url', 'password-file', 'timeout', 'all', 'dry-run', 'json'], {
  all: 'retry every dead-lettered item',
  'dry-run': 'report what would happen; write nothing',
  json: 'print {queue, workflow, dryRun, retried, alreadyQueued, missing}',
});

async function run(args: readonly string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs('retry-dead-letters', args, OPTIONS, true);
  if (values.all && positionals.length > 0) throw new UsageError('give either --all or items/scene IDs, not both');
  if (!values.all && positionals.length === 0) throw new UsageError('name the items or scene IDs to retry, or --all');
  const target = resolveTarget(stringFlag(values, 'workflow'), stringFlag(values, 'queue'));
  const redisUrl = redisEndpointOf(values, ctx.env);
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
          `(see: ard-queue dead-letters --queue ${target.queue})`);
      }
      selected = selection.selected;
    }
    return retryDeadLetters(redis, target.queue, selected, { dryRun });
  });
  if (values.json) ctx.stdout.write(JSON.stringify({ ...result, workflow: target.workflow.name }) + '\n');
  else ctx.stdout.write(formatRetry(result));
  return EXIT.ok;
}

const HELP = `Usage: ard-queue retry-dead-letters [--workflow NAME | --queue NAME] (--all | ITEM|SCENE...)
         [--redis-url URL] [--dry-run] [--json]

Puts dead-lettered items back in the queue (RPUSH, like a fresh enqueue) and resets their
attempt counts, atomically. An item that is already pending or processing (e.g. enqueued
again with --force) is only removed from the dead-letter list, never queued twice. Name items
by scene ID (in_scene) or by their exact JSON; a name that matches no dead letter is an error
and nothing is changed. Fix the cause first (see the worker logs): an item that still kills
its worker comes back after --max-attempts more tries.

Options:
${optionsHelp(OPTIONS)}

Workflows:
${workflowHelp()}
`;

/** `retry-dead-letters`: put dead-lettered items back in the queue. */
export const retryDeadLettersCommand: Subcommand = {
  summary: 'put dead-lettered items back in the queue (--all or by scene ID), attempts reset',
  help: HELP,
  run: run,
};
