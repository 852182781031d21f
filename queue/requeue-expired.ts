import { DEFAULT_GRACE_SECONDS, DEFAULT_MAX_ATTEMPTS } from '../protocol/recovery';
import { DEFAULT_WORKFLOW } from '../protocol/workflows';
import { COMMON_OPTIONS, parseCommandArgs, ParsedArgs, resolveRedisUrl, resolveTarget, stringFlag, workflowHelp } from './args';
import type { CliContext, Subcommand } from './context';
import { EXIT, UsageError } from './errors';
import { withRedis } from './redis';
import { RequeueExpiredResult, requeueExpired } from './recovery';

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

/** The human report of one run: one summary line, then one line per moved or waiting item. */
export function formatRequeueExpired(result: RequeueExpiredResult, graceSeconds: number, maxAttempts: number): string {
  const verb = result.dryRun ? 'would requeue' : 'requeued';
  const lines = [
    `${result.queue}${result.dryRun ? ' (dry run)' : ''}: ${verb} ${result.requeued}, ` +
      `${result.dryRun ? 'would dead-letter' : 'dead-lettered'} ${result.deadLettered} (attempt ${maxAttempts}), ` +
      `waiting out the ${graceSeconds} s grace period ${result.waiting}, leased by live workers ${result.leased}`,
    ...result.requeuedItems.map((item) => `  ${verb}: ${item}`),
    ...result.deadLetteredItems.map((item) => `  ${result.dryRun ? 'would dead-letter' : 'dead-lettered'}: ${item}`),
    ...result.waitingItems.map((item) => `  waiting: ${item}`),
  ];
  if (result.dryRun && result.waiting > 0) {
    lines.push('  (a dry run records no first sightings: items never seen unleased before count as waiting)');
  }
  return lines.join('\n') + '\n';
}

const OPTIONS = {
  ...COMMON_OPTIONS,
  'grace-seconds': { type: 'string' },
  'max-attempts': { type: 'string' },
  'dry-run': { type: 'boolean' },
} as const;

async function run(args: readonly string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommandArgs('requeue-expired', args, OPTIONS, false);
  const target = resolveTarget(stringFlag(values, 'workflow'), stringFlag(values, 'queue'));
  const graceSeconds = integerFlag(values, 'grace-seconds', 0) ?? DEFAULT_GRACE_SECONDS;
  const maxAttempts = integerFlag(values, 'max-attempts', 1) ?? DEFAULT_MAX_ATTEMPTS;
  const dryRun = values['dry-run'] === true;
  const redisUrl = resolveRedisUrl(stringFlag(values, 'redis-url'), ctx.env);
  const result = await withRedis(redisUrl, (redis) => requeueExpired(redis, target.queue, { graceSeconds, maxAttempts, dryRun }));
  if (values.json) {
    ctx.stdout.write(JSON.stringify({ ...result, workflow: target.workflow.name, graceSeconds, maxAttempts }) + '\n');
  } else {
    ctx.stdout.write(formatRequeueExpired(result, graceSeconds, maxAttempts));
  }
  return EXIT.ok;
}

const HELP = `Usage: npm run queue -- requeue-expired [--workflow NAME | --queue NAME] [--grace-seconds N]
         [--max-attempts K] [--redis-url URL] [--dry-run] [--json]

Gives back the items of dead workers. Every item of <queue>:processing whose lease key is
gone (its worker died or outlived its lease) and that has been seen so for --grace-seconds
goes back to the far end of the queue (workers take it last), or, on its K-th time, to the
dead-letter list <queue>:dead_letter. Items held by a live worker are never touched. Each run
is one atomic Lua script (protocol/lua/requeue-expired.lua), the same one the recovery CronJob
runs every minute, so running it by hand alongside the CronJob is safe.

The first run that sees an unleased item only records when; a later run moves it once the
grace period has passed. The grace period covers the moment between a worker's BRPOPLPUSH
and its SETEX of the lease.

Options:
  -w, --workflow NAME      one workflow's queue (default: ${DEFAULT_WORKFLOW})
  -q, --queue NAME         a queue by name
      --grace-seconds N    seconds an item must be seen unleased before it moves
                           (default ${DEFAULT_GRACE_SECONDS}; 0 moves at first sight, risking a
                           worker that has taken but not yet leased its item)
      --max-attempts K     the K-th take-back dead-letters the item (default ${DEFAULT_MAX_ATTEMPTS})
      --redis-url URL      default $REDIS_URL, else redis://127.0.0.1:6379
      --dry-run            report what would move; write nothing (not even first sightings)
      --json               print one JSON object: counts and items
  -h, --help               show this help

Workflows:
${workflowHelp()}
`;

/** `requeue-expired`: move the items of dead workers back to the queue or to dead letters. */
export const requeueExpiredCommand: Subcommand = {
  summary: "give back dead workers' items (lease gone for --grace-seconds); dead-letter repeat offenders",
  help: HELP,
  run,
};
