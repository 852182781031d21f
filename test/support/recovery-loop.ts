import Redis from 'ioredis';
import { RequeueExpiredResult, requeueExpired } from '../../queue/recovery';

/** A running recovery loop: its results so far, the errors it met, and how to end it. */
export interface RecoveryLoop {
  readonly runs: RequeueExpiredResult[];
  readonly errors: string[];
  /** Items taken back from dead (or slow) workers so far: requeued or dead-lettered. */
  readonly takeBacks: number;
  stop(): Promise<void>;
}

/**
 * Runs requeue-expired every `periodMs` on its own connection, as the CronJob would every
 * minute, tolerating a Redis that is down for a while (errors are collected, for the test to
 * check). Call `stop()` to end the loop.
 */
export function recoveryLoop(
  url: string,
  queue: string,
  options: { graceSeconds: number; maxAttempts?: number; periodMs: number },
): RecoveryLoop {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => 100, lazyConnect: false });
  redis.on('error', () => {});
  const runs: RequeueExpiredResult[] = [];
  const errors: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        runs.push(await requeueExpired(redis, queue, options));
      } catch (err) {
        errors.push((err as Error).message);
      }
      await new Promise((r) => setTimeout(r, options.periodMs));
    }
  })();
  return {
    runs,
    errors,
    get takeBacks() {
      return runs.reduce((n, r) => n + r.requeued + r.deadLettered, 0);
    },
    async stop() {
      running = false;
      await loop;
      redis.disconnect();
    },
  };
}
