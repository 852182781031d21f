/**
 * Resetting the dedupe record `Q:enqueued` to exactly the scenes pending or processing now:
 * the safe way to start a new campaign (scenes done before may be enqueued again) or to adopt
 * a queue filled by other means (items pushed by hand become known), where deleting the
 * record by hand would let the next run push identical items next to queued ones.
 */
import type Redis from 'ioredis';
import { QueueKeys, recordShardKey } from '../protocol/queue-keys';
import { DIGEST_BYTES, DIGEST_SEED, DIGEST_WORDS, DigestTable, digestBytes, Found, murmur3x86_128 } from './digest';
import { EnqueueLock } from './lock';
import { forEachQueuedScene } from './queued-scenes';
import { everyRecordShard } from './record';

/** What a reset found and wrote. */
export interface ResetRecordResult {
  readonly queue: string;
  readonly dryRun: boolean;
  /** Recordings in the record before (bytes of its shards / 16). */
  readonly recordedBefore: number;
  /** Items pending or processing (with and without a scene ID). */
  readonly queuedItems: number;
  /** Distinct scenes of those items: the record afterwards. */
  readonly recordedAfter: number;
}

/** Digests per APPEND while the new record is written. */
const APPEND_DIGESTS = 65_536;

/**
 * Rebuilds `Q:enqueued` (all its shards) from the items pending or processing now, under the
 * queue's enqueue lock (no enqueue run can write meanwhile): the new record is written to
 * temporary keys, shards of `shardBytes`, which one transaction RENAMEs over the old shards
 * while it deletes every other old shard (also those after a missing one: a damaged record
 * is repaired), so readers see the old or the new record, never half of one.
 */
export async function resetRecord(
  redis: Redis,
  queue: string,
  keys: QueueKeys,
  options: { runId: string; lockTtlMs: number; dryRun: boolean; shardBytes: number },
): Promise<ResetRecordResult> {
  const lock = options.dryRun ? undefined : await EnqueueLock.acquire(redis, queue, keys, options.runId, options.lockTtlMs);
  try {
    // Every shard, also those after a missing one (a damaged record), is counted and replaced.
    const shardsBefore = await everyRecordShard(redis, keys);
    const recordedBefore = shardsBefore.reduce((sum, shard) => sum + shard.length, 0) / DIGEST_BYTES;
    const table = new DigestTable(1024);
    let digests = new Int32Array(1024 * DIGEST_WORDS);
    let count = 0;
    const d = new Int32Array(DIGEST_WORDS);
    const queuedItems = await forEachQueuedScene(redis, keys, (scene) => {
      murmur3x86_128(scene, DIGEST_SEED, d, 0);
      if (table.add(d, 0, Found.Loaded) !== Found.New) return;
      if ((count + 1) * DIGEST_WORDS > digests.length) {
        const grown = new Int32Array(digests.length * 2);
        grown.set(digests);
        digests = grown;
      }
      digests.set(d, count * DIGEST_WORDS);
      count += 1;
    });
    if (!options.dryRun) {
      const temporary = { enqueued: `${keys.snapshotPrefix}record` };
      const perShard = options.shardBytes / DIGEST_BYTES;
      const shards = Math.ceil(count / perShard);
      const bytes = digestBytes(digests, count);
      for (let shard = 0; shard < shards; shard++) {
        const key = recordShardKey(temporary, shard);
        await redis.unlink(key);
        for (let i = shard * perShard; i < Math.min((shard + 1) * perShard, count); i += APPEND_DIGESTS) {
          await redis.append(key, bytes.subarray(i * DIGEST_BYTES, Math.min(i + APPEND_DIGESTS, (shard + 1) * perShard, count) * DIGEST_BYTES));
        }
      }
      if (lock?.isLost) throw new Error(`this run lost the enqueue lock ${keys.enqueueLock}; the record was not changed`);
      const swap = redis.multi();
      for (let shard = 0; shard < shards; shard++) swap.rename(recordShardKey(temporary, shard), recordShardKey(keys, shard));
      for (const old of shardsBefore) if (old.index >= shards) swap.unlink(old.key);
      const replies = await swap.exec();
      const failed = replies?.find(([err]) => err);
      if (!replies || failed) throw new Error(`the new dedupe record could not replace the old one: ${String(failed?.[0] ?? 'transaction aborted')}`);
    }
    return { queue, dryRun: options.dryRun, recordedBefore, queuedItems, recordedAfter: count };
  } finally {
    await lock?.release();
  }
}
