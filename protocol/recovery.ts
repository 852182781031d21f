/**
 * Defaults and the fixed call interface of the recovery script `protocol/lua/requeue-expired.lua`,
 * shared by the queue tool (`requeue-expired`) and the recovery CronJob in the manifests.
 *
 * Side-effect free and without heavy imports: the queue tool loads it at start-up and the
 * manifests import it at synth time.
 */
import { QueueKeys } from './queue-keys';
import { nonNegativeInteger, positiveInteger } from './validation';

/**
 * Seconds an item must be seen in `Q:processing` without a lease before it is requeued.
 * Covers the gap between a worker's BRPOPLPUSH and its SETEX of the lease (milliseconds),
 * with a wide margin for a stalled worker or a slow network. Half the CronJob interval, so
 * the run after the one that first sees an item unleased moves it even when the CronJob
 * starts a few seconds late: a dead worker's item is back about lease + 2 intervals after
 * its death (with the lease heartbeat: 120 + 60 + 60 s, see lib/lease-heartbeat.ts).
 */
export const DEFAULT_GRACE_SECONDS = 30;

/**
 * Take-backs after which an item goes to the dead-letter list instead of the queue. With the
 * lease heartbeat a healthy slow scene keeps its lease, so every take-back is a worker that
 * died (or hung past the heartbeat's maximum) holding the item: three deaths mark it poison.
 */
export const DEFAULT_MAX_ATTEMPTS = 3;

/** Cron schedule of the recovery CronJob: every minute, the shortest a CronJob allows. */
export const DEFAULT_RECOVERY_SCHEDULE = '* * * * *';

/** Name of the recovery script for loadLuaScript (protocol/lua.ts); the CronJob mounts it as `<name>.lua`. */
export const REQUEUE_EXPIRED_SCRIPT = 'requeue-expired';

/** Options of one recovery run. */
export interface RequeueExpiredOptions {
  /**
   * Seconds an item must be seen without a lease before it is moved. 0 moves at first sight.
   * @default DEFAULT_GRACE_SECONDS
   */
  readonly graceSeconds?: number;
  /**
   * The take-back that reaches this count dead-letters the item, so a worker receives an item
   * at most this many times.
   * @default DEFAULT_MAX_ATTEMPTS
   */
  readonly maxAttempts?: number;
  /**
   * Report what would be moved, without writing anything.
   * @default false
   */
  readonly dryRun?: boolean;
}

/**
 * The KEYS and ARGV of `requeue-expired.lua` in their fixed order, validated. The CronJob runs
 * `redis-cli --eval <script> ...keys , ...args`; the queue tool passes the same to EVALSHA.
 *
 * @throws Error naming the option and its allowed values when an option is invalid.
 */
export function requeueExpiredArguments(
  keys: QueueKeys,
  options: RequeueExpiredOptions = {},
): { readonly keys: string[]; readonly args: string[] } {
  const graceSeconds = nonNegativeInteger('graceSeconds', options.graceSeconds ?? DEFAULT_GRACE_SECONDS);
  const maxAttempts = positiveInteger('maxAttempts', options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
  return {
    keys: [keys.pending, keys.processing, keys.attempts, keys.unleasedSince, keys.deadLetter],
    args: [keys.leasePrefix, String(graceSeconds), String(maxAttempts), options.dryRun ? '1' : '0'],
  };
}
