import { printable } from '../terminal';
import { DEFAULT_GRACE_SECONDS, DEFAULT_MAX_ATTEMPTS } from '../../protocol/recovery';
import { redisEndpointOf, integerFlag, parseCommandArgs, resolveTarget, stringFlag, workflowHelp } from '../args';
import { optionsHelp, pickOptions } from '../options';
import type { CliContext, Subcommand } from '../context';
import { EXIT } from '../errors';
import { withRedis } from '../redis';
import { RequeueExpiredResult, requeueExpired } from '../recovery';

/** The human report of one run: one summary line, then one line per moved or waiting item. */
export function formatRequeueExpired(result: RequeueExpiredResult, graceSeconds: number, maxAttempts: number): string {
  const verb = result.dryRun ? 'would requeue' : 'requeued';
  const lines = [
    `${result.queue}${result.dryRun ? ' (dry run)' : ''}: ${verb} ${result.requeued}, ` +
      `${result.dryRun ? 'would dead-letter' : 'dead-lettered'} ${result.deadLettered} (attempt ${maxAttempts}), ` +
      `waiting out the ${graceSeconds} s grace period ${result.waiting}, leased by live workers ${result.leased}`,
    ...result.requeuedItems.map((item) => `  ${verb}: ${printable(item)}`),
    ...result.deadLetteredItems.map((item) => `  ${result.dryRun ? 'would dead-letter' : 'dead-lettered'}: ${printable(item)}`),
    ...result.waitingItems.map((item) => `  waiting: ${printable(item)}`),
  ];
  if (result.dryRun && result.waiting > 0) {
    lines.push('  (a dry run records no first sightings: items never seen unleased before count as waiting)');
  }
  return lines.join('\n') + '\n';
}

const OPTIONS = pickOptions(['workflow', 'queue', 'grace-seconds', 'max-attempts', 'redis-url', 'password-file', 'timeout', 'dry-run', 'json'], {
  'dry-run': 'report what would move; write nothing (not even first sightings)',
  json: 'print one JSON object: counts and items',
});

async function run(args: readonly string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommandArgs('requeue-expired', args, OPTIONS, false);
  const target = resolveTarget(stringFlag(values, 'workflow'), stringFlag(values, 'queue'));
  const graceSeconds = integerFlag(values, 'grace-seconds', 0) ?? DEFAULT_GRACE_SECONDS;
  const maxAttempts = integerFlag(values, 'max-attempts', 1) ?? DEFAULT_MAX_ATTEMPTS;
  const dryRun = values['dry-run'] === true;
  const redisUrl = redisEndpointOf(values, ctx.env);
  const result = await withRedis(redisUrl, (redis) => requeueExpired(redis, target.queue, { graceSeconds, maxAttempts, dryRun }));
  if (values.json) {
    ctx.stdout.write(JSON.stringify({ ...result, workflow: target.workflow.name, graceSeconds, maxAttempts }) + '\n');
  } else {
    ctx.stdout.write(formatRequeueExpired(result, graceSeconds, maxAttempts));
  }
  return EXIT.ok;
}

const HELP = `Usage: ard-queue requeue-expired [--workflow NAME | --queue NAME] [--grace-seconds N]
         [--max-attempts K] [--redis-url URL] [--dry-run] [--json]

Gives back the items of dead workers. Every item of <queue>:processing whose lease key is
gone (its worker died or outlived its lease) and that has been seen so for --grace-seconds
goes back to the far end of the queue (workers take it last), or, on its K-th time, to the
dead-letter list <queue>:dead_letter. Items held by a live worker are never touched. A run is
a loop of atomic calls of a Lua script (protocol/lua/requeue-expired.lua), each looking at no
more than 200 items so that Redis is never held for long; the recovery CronJob runs the same
script every minute, so running it by hand alongside the CronJob is safe.

The first run that sees an unleased item only records when; a later run moves it once the
grace period has passed. The grace period covers the moment between a worker's BRPOPLPUSH
and its SETEX of the lease.

Options:
${optionsHelp(OPTIONS)}

Workflows:
${workflowHelp()}
`;

/** `requeue-expired`: move the items of dead workers back to the queue or to dead letters. */
export const requeueExpiredCommand: Subcommand = {
  summary: "give back dead workers' items (lease gone for --grace-seconds); dead-letter repeat offenders",
  help: HELP,
  run,
};
