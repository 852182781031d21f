import { createHash } from 'crypto';
import type Redis from 'ioredis';
import { queueKeys } from '../protocol/queue-keys';
import { WORKFLOWS } from '../protocol/workflows';
import { COMMON_OPTIONS, parseCommandArgs, resolveRedisUrl, resolveTarget, stringFlag, Target, workflowHelp } from './args';
import type { CliContext, Subcommand } from './context';
import { EXIT } from './errors';
import { DIGEST_BYTES } from './digest';
import { withRedis } from './redis';

/** The state of one queue, as printed by `status --json`. */
export interface QueueStatus {
  readonly queue: string;
  readonly workflow: string;
  /** Items waiting in the main list. */
  readonly pending: number;
  /** Items a worker has taken and not finished (`Q:processing`). */
  readonly processing: number;
  /** Processing items whose lease key still exists: a live worker holds them. */
  readonly leased: number;
  /** Processing items without a lease: their worker died; recovery will requeue them. */
  readonly expired: number;
  readonly deadLettered: number;
  /** Scenes recorded in `Q:enqueued` (its length / 16), re-recordings by `enqueue --force` included. */
  readonly enqueued: number;
}

/** The lease key a worker sets for `item`: `Q:leased_by_session:<sha224 hex of the item bytes>`. */
export function leaseKey(leasePrefix: string, item: string): string {
  return leasePrefix + createHash('sha224').update(item).digest('hex');
}

/** Combines raw counts into a status; `leased` counts every processing item whose lease exists. */
export function makeStatus(target: Target, raw: { pending: number; processing: number; leased: number; deadLettered: number; enqueued: number }): QueueStatus {
  const leased = Math.min(raw.leased, raw.processing);
  return {
    queue: target.queue,
    workflow: target.workflow.name,
    pending: raw.pending,
    processing: raw.processing,
    leased,
    expired: raw.processing - leased,
    deadLettered: raw.deadLettered,
    enqueued: raw.enqueued,
  };
}

/** Reads the status of one queue: a handful of round trips, whatever the queue's length. */
export async function readStatus(redis: Redis, target: Target): Promise<QueueStatus> {
  const keys = queueKeys(target.queue);
  const results = await redis.multi().llen(keys.pending).lrange(keys.processing, 0, -1).llen(keys.deadLetter).strlen(keys.enqueued).exec();
  const failed = results?.slice(0, 3).find(([err]) => err);
  if (!results || failed) throw failed?.[0] ?? new Error('MULTI/EXEC was aborted');
  const [pending, processingItems, deadLettered, recordBytes] = results.map(([, value]) => value) as [number, string[], number, number];
  // The record is a string of 16-byte digests; a hash left by an older version counts its fields.
  const enqueued = results[3][0] ? await redis.hlen(keys.enqueued) : Math.floor(recordBytes / DIGEST_BYTES);
  // EXISTS counts a key once per argument: identical items share one lease, and both are leased.
  const leased = processingItems.length > 0 ? await redis.exists(...processingItems.map((item) => leaseKey(keys.leasePrefix, item))) : 0;
  return makeStatus(target, { pending, processing: processingItems.length, leased, deadLettered, enqueued });
}

const COLUMNS = ['queue', 'workflow', 'pending', 'processing', 'leased', 'expired', 'deadLettered', 'enqueued'] as const;

/** A right-aligned plain-text table with one row per queue. */
export function formatStatusTable(statuses: readonly QueueStatus[]): string {
  const rows = [COLUMNS.map((c) => c), ...statuses.map((s) => COLUMNS.map((c) => (typeof s[c] === 'number' ? (s[c] as number).toLocaleString('en-US') : String(s[c]))))];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')).join('\n') + '\n';
}

const OPTIONS = {
  ...COMMON_OPTIONS,
} as const;

async function run(args: readonly string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommandArgs('status', args, OPTIONS, false);
  const workflow = stringFlag(values, 'workflow');
  const queue = stringFlag(values, 'queue');
  const single = workflow !== undefined || queue !== undefined;
  const targets = single ? [resolveTarget(workflow, queue)] : Object.keys(WORKFLOWS).map((name) => resolveTarget(name, undefined));
  const redisUrl = resolveRedisUrl(stringFlag(values, 'redis-url'), ctx.env);
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
  -w, --workflow NAME    one workflow's queue
  -q, --queue NAME       one queue by name (with --workflow for a queue no workflow owns)
      --redis-url URL    default $REDIS_URL, else redis://127.0.0.1:6379
      --json             print an object (one queue) or an array (several) on stdout
  -h, --help             show this help

Workflows:
${workflowHelp()}
`;

/** `status`: counts of one queue or of every workflow's queue. */
export const statusCommand: Subcommand = {
  summary: 'show pending, processing (leased / expired) and dead-lettered counts per queue',
  help: HELP,
  run,
};
