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
   * A hash scene ID → id of the enqueue run that recorded it (written by queue/lua/enqueue.lua
   * together with the push of the item, so the run id tells repeats within one run from scenes
   * of earlier runs). Workers never read it.
   */
  readonly enqueued: string;
  /** Hash item → times recovery took the item back from a dead worker. */
  readonly attempts: string;
  /** Hash item → Redis time (ms) recovery first saw the item in processing without a lease. */
  readonly unleasedSince: string;
  /** Items that failed `maxAttempts` times; never handed to workers again until retried. */
  readonly deadLetter: string;
}

export function queueKeys(queue: string): QueueKeys {
  return {
    pending: queue,
    processing: `${queue}:processing`,
    leasePrefix: `${queue}:leased_by_session:`,
    enqueued: `${queue}:enqueued`,
    attempts: `${queue}:attempts`,
    unleasedSince: `${queue}:unleased_since`,
    deadLetter: `${queue}:dead_letter`,
  };
}
