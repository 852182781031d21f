import { createHash } from 'crypto';

/**
 * The Redis keys of one work queue.
 *
 * `pending`, `processing` and the lease keys are the workers' `rediswq` lease protocol
 * (fixed: we do not own the worker images). The others belong to this tool; the workers
 * never read them.
 */
export interface QueueKeys {
  /** Main list. Producers RPUSH; workers BRPOPLPUSH from its right end (LIFO). */
  readonly pending: string;
  /** Items a worker has taken and not yet finished. */
  readonly processing: string;
  /** Prefix of `SETEX <prefix><sha224-hex of item> <lease_secs> <session>` lease keys. */
  readonly leasePrefix: string;
  /**
   * Record of every scene ID ever enqueued: the dedupe record that survives completion.
   * Strings of one 16-byte digest per recorded scene (MurmurHash3_x86_128, see queue/digest.ts),
   * appended by protocol/lua/enqueue.lua together with the push of the batch's items. Kept in
   * shards of a bounded size (see {@link recordShardKey}), so that it never reaches Redis's
   * maximum string size: this key is shard 0. A scene pushed again with `--force` is appended
   * again, so bytes / 16 counts recordings, not distinct scenes. Workers never read it.
   */
  readonly enqueued: string;
  /**
   * `SET NX PX` lock naming the enqueue run (its run id) allowed to write to the queue: runs
   * check membership against the record as loaded at their start, so two at once would miss
   * each other's scenes. Refreshed by every batch; a crashed run's lock expires (queue/lock.ts).
   */
  readonly enqueueLock: string;
  /** Hash item → times recovery took the item back from a dead worker. */
  readonly attempts: string;
  /** Hash item → Redis time (ms) recovery first saw the item in processing without a lease. */
  readonly unleasedSince: string;
  /** Items that failed `maxAttempts` times; never handed to workers again until retried. */
  readonly deadLetter: string;
  /**
   * Prefix of the short-lived copies `<prefix>pending` / `<prefix>processing` that
   * `enqueue --force` takes of both lists in one transaction (COPY), to read a consistent
   * snapshot page by page; removed by the run, and expiring on their own after a crash.
   */
  readonly snapshotPrefix: string;
}

export function queueKeys(queue: string): QueueKeys {
  return {
    pending: queue,
    processing: `${queue}:processing`,
    leasePrefix: `${queue}:leased_by_session:`,
    enqueued: `${queue}:enqueued`,
    enqueueLock: `${queue}:enqueue_lock`,
    attempts: `${queue}:attempts`,
    unleasedSince: `${queue}:unleased_since`,
    deadLetter: `${queue}:dead_letter`,
    snapshotPrefix: `${queue}:force_snapshot:`,
  };
}

/**
 * Shard `index` of the dedupe record: `Q:enqueued` for 0 (what versions before shards wrote:
 * their record is shard 0), `Q:enqueued:<index>` after it. Shards are filled in order, each up
 * to a bounded size, and never empty: the record ends at the first missing shard
 * (protocol/lua/includes/record-shards.lua reads it the same way).
 */
export function recordShardKey(keys: Pick<QueueKeys, 'enqueued'>, index: number): string {
  return index === 0 ? keys.enqueued : `${keys.enqueued}:${index}`;
}

/**
 * The lease key a worker sets for `item`: `Q:leased_by_session:<sha224 hex of the item bytes>`
 * (the workers' `rediswq._itemkey`).
 */
export function leaseKey(keys: Pick<QueueKeys, 'leasePrefix'>, item: string | Buffer): string {
  return keys.leasePrefix + createHash('sha224').update(item).digest('hex');
}
