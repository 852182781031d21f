import { WORKFLOWS } from '../../protocol/workflows';
import { redisEndpointOf, parseCommandArgs, resolveTarget, stringFlag, workflowHelp } from '../args';
import type { CliContext, Subcommand } from '../context';
import { EXIT } from '../errors';
import { optionsHelp, pickOptions } from '../options';
import { withRedis } from '../redis';
import { QueueStatus, readStatus } from '../status';

const COLUMNS = ['queue', 'workflow', 'pending', 'processing', 'leased', 'expired', 'deadLettered', 'enqueued'] as const;

/** A right-aligned plain-text table with one row per queue. */
export function formatStatusTable(statuses: readonly QueueStatus[]): string {
  const rows = [COLUMNS.map((c) => c), ...statuses.map((s) => COLUMNS.map((c) => (typeof s[c] === 'number' ? (s[c] as number).toLocaleString('en-US') : String(s[c]))))];
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
  const targets = single ? [resolveTarget(workflow, queue)] : Object.keys(WORKFLOWS).map((name) => resolveTarget(name, undefined));
  const redisUrl = redisEndpointOf(values, ctx.env);
  const statuses = await withRedis(redisUrl, (redis) => Promise.all(targets.map((t) => readStatus(redis, t))));
  if (values.json) ctx.stdout.write(JSON.stringify(single ? statuses[0] : statuses) + '\n');
  else ctx.stdout.write(formatStatusTable(statuses));
  return EXIT.ok;
}

const HELP = `Usage: npm run queue -- status [--workflow NAME | --queue NAME] [--redis-url URL] [--json]

Shows, per queue (every known workflow's queue unless --workflow or --queue is given):
  pending       items waiting in the queue
  processing    items taken by a worker and not finished
  leased        processing items whose worker lease is live
  expired       processing items whose lease has expired (their worker died)
  deadLettered  items set aside after failing too often
  enqueued      scenes recorded in the dedupe record <queue>:enqueued; a scene pushed again
                with enqueue --force is recorded (and counted) again

Options:
${optionsHelp(OPTIONS)}

Workflows:
${workflowHelp()}
`;

/** `status`: counts of one queue or of every workflow's queue. */
export const statusCommand: Subcommand = {
  summary: 'show pending, processing (leased / expired) and dead-lettered counts per queue',
  help: HELP,
  run,
};
