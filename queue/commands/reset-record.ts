import { queueKeys } from '../../protocol/queue-keys';
import { parseCommandArgs, redisEndpointOf, resolveTarget, stringFlag, workflowHelp } from '../args';
import type { CliContext, Subcommand } from '../context';
import { EXIT } from '../errors';
import { lockTtlMs, newRunId } from '../lock';
import { optionsHelp, pickOptions } from '../options';
import { recordShardBytes } from '../record';
import { withRedis } from '../redis';
import { ResetRecordResult, resetRecord } from '../reset-record';

const n = (x: number): string => x.toLocaleString('en-US');

/** The human report, e.g. `jobS2: dedupe record reset: 3 scenes (pending or processing) recorded, was 120`. */
export function formatResetRecord(r: ResetRecordResult): string {
  return `${r.queue}${r.dryRun ? ' (dry run, nothing written)' : ''}: dedupe record ${r.dryRun ? 'would be reset' : 'reset'} to ${n(r.recordedAfter)} scene${r.recordedAfter === 1 ? '' : 's'} ` +
    `(of ${n(r.queuedItems)} item${r.queuedItems === 1 ? '' : 's'} pending or processing); it held ${n(r.recordedBefore)} recording${r.recordedBefore === 1 ? '' : 's'}\n`;
}

const OPTIONS = pickOptions(['workflow', 'queue', 'redis-url', 'password-file', 'timeout', 'dry-run', 'json'], {
  'dry-run': 'report what the record would hold; write nothing',
  json: 'print {queue, workflow, dryRun, recordedBefore, queuedItems, recordedAfter}',
});

async function run(args: readonly string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommandArgs('reset-record', args, OPTIONS, false);
  const target = resolveTarget(stringFlag(values, 'workflow'), stringFlag(values, 'queue'));
  const endpoint = redisEndpointOf(values, ctx.env);
  const dryRun = values['dry-run'] === true;
  const shardBytes = recordShardBytes(ctx.env);
  const result = await withRedis(endpoint, (redis) =>
    resetRecord(redis, target.queue, queueKeys(target.queue), { runId: newRunId(), lockTtlMs: lockTtlMs(ctx.env), dryRun, shardBytes }),
  );
  if (values.json) ctx.stdout.write(JSON.stringify({ ...result, workflow: target.workflow.name }) + '\n');
  else ctx.stdout.write(formatResetRecord(result));
  return EXIT.ok;
}

const HELP = `Usage: ard-queue reset-record [--workflow NAME | --queue NAME] [--dry-run] [--json]

Resets the dedupe record <queue>:enqueued to exactly the scenes whose items are pending or
processing now. Use it to start a new campaign that may enqueue scenes done before, or to
adopt a queue filled by other means (items pushed by hand become known to enqueue). Scenes
queued now stay recorded, so no later enqueue can push an identical item next to them —
which deleting the record by hand would allow. Holds the enqueue lock: it fails at once while
an enqueue runs, and no enqueue can start meanwhile. The new record replaces the old one,
all its shards (<queue>:enqueued, <queue>:enqueued:1, ..., also those after a missing one:
it repairs a damaged record), in one transaction.

Options:
${optionsHelp(OPTIONS)}

Workflows:
${workflowHelp()}
`;

/** `reset-record`: rebuild the dedupe record from the items queued now. */
export const resetRecordCommand: Subcommand = {
  summary: 'reset the dedupe record to the scenes queued now (new campaign, adopt a queue)',
  help: HELP,
  run,
};
