import { parseCommandArgs, redisEndpointOf, stringFlag, workflowHelp } from '../args';
import type { CliContext, Subcommand } from '../context';
import { EXIT } from '../errors';
import { optionsHelp, pickOptions } from '../options';
import { withRedis } from '../redis';
import { groupDigits, printable } from '../terminal';
import { QueueStatus, readStatuses, statusTargets } from '../status';
import { formatPercent } from '../watch';

const COLUMNS = ['queue', 'workflow', 'pending', 'processing', 'leased', 'expired', 'deadLettered', 'enqueued', 'done', 'percent'] as const;

function cell(status: QueueStatus, column: (typeof COLUMNS)[number]): string {
  if (column === 'percent') return formatPercent(status.percent);
  const value = status[column];
  return typeof value === 'number' ? groupDigits(value) : printable(value);
}

/** A right-aligned plain-text table with one row per queue. */
export function formatStatusTable(statuses: readonly QueueStatus[]): string {
  const rows = [COLUMNS.map((c) => (c === 'percent' ? '%' : c)), ...statuses.map((s) => COLUMNS.map((c) => cell(s, c)))];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')).join('\n') + '\n';
}

const OPTIONS = pickOptions(['workflow', 'queue', 'redis-url', 'password-file', 'timeout', 'json'], {
  workflow: "one workflow's queue",
  queue: 'one queue by name (with --workflow for a queue no workflow owns)',
  json: 'print an object (one queue) or an array (several) on stdout',
});

async function run(args: readonly string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommandArgs('status', args, OPTIONS, false);
  const workflow = stringFlag(values, 'workflow');
  const queue = stringFlag(values, 'queue');
  const single = workflow !== undefined || queue !== undefined;
  const targets = statusTargets(workflow, queue);
  const redisUrl = redisEndpointOf(values, ctx.env);
  const statuses = await withRedis(redisUrl, (redis) => readStatuses(redis, targets));
  if (values.json) ctx.stdout.write(JSON.stringify(single ? statuses[0] : statuses) + '\n');
  else ctx.stdout.write(formatStatusTable(statuses));
  return EXIT.ok;
}

const HELP = `Usage: ard-queue status [--workflow NAME | --queue NAME] [--redis-url URL] [--json]

Shows, per queue (every known workflow's queue unless --workflow or --queue is given):
  pending       items waiting in the queue
  processing    items taken by a worker and not finished
  leased        processing items whose worker lease is live
  expired       processing items whose lease has expired (their worker died)
  deadLettered  items set aside after failing too often
  enqueued      scenes recorded in the dedupe record <queue>:enqueued; a scene pushed again
                with enqueue --force is recorded (and counted) again
  done          recorded items that have finished: enqueued - pending - processing
                - deadLettered, at least 0 (the dashboard's "done"); a scene processed
                again after --force counts twice, in enqueued and, once finished, in done
  %             100 x done / enqueued, rounded down ("-" when nothing is recorded)

Options:
${optionsHelp(OPTIONS)}

Workflows:
${workflowHelp()}
`;

/** `status`: counts of one queue or of every workflow's queue. */
export const statusCommand: Subcommand = {
  summary: 'show pending, processing (leased / expired), dead-lettered and done counts and % done per queue',
  help: HELP,
  run,
};
