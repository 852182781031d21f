import type Redis from 'ioredis';
import { leaseKey, queueKeys } from '../protocol/queue-keys';
import type { Target } from './args';
import { DIGEST_BYTES } from './digest';

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
  const leased = processingItems.length > 0 ? await redis.exists(...processingItems.map((item) => leaseKey(keys, item))) : 0;
  return makeStatus(target, { pending, processing: processingItems.length, leased, deadLettered, enqueued });
}
