import { randomBytes } from 'crypto';
import type Redis from 'ioredis';
import type { QueueKeys } from '../protocol/queue-keys';
import { CliError } from './errors';
import { loadLuaScript } from '../protocol/lua';
import { runLuaScript } from './redis';

/**
 * Time-to-live of the enqueue lock. Every batch refreshes it, and so does a timer while a run
 * reads the record or skips long stretches of known scenes, so only a crashed run lets it
 * expire: the next run can start at most this long after a crash.
 */
export const DEFAULT_LOCK_TTL_MS = 30_000;

/**
 * The lock TTL in force. `ARD_ENQUEUE_LOCK_MS` exists for tests only (e.g. a crashed run's lock
 * that expires in 1 s instead of 30 s); it is not documented in `--help`.
 */
export function lockTtlMs(env: Readonly<Record<string, string | undefined>>): number {
  const raw = env.ARD_ENQUEUE_LOCK_MS;
  const ms = raw === undefined || raw === '' ? DEFAULT_LOCK_TTL_MS : Number(raw);
  if (!Number.isInteger(ms) || ms < 100) throw new CliError(`ARD_ENQUEUE_LOCK_MS must be an integer ≥ 100 (milliseconds), got '${raw}'`);
  return ms;
}

/** The message of a run refused because another run holds the lock. */
export function lockHeldMessage(queue: string, holder: string, pttlMs: number, ttlMs: number): string {
  const remaining = pttlMs >= 0 ? `, its lock expires in ${(pttlMs / 1000).toFixed(1)} s unless refreshed` : '';
  return `another enqueue is writing to ${queue} (run ${holder}${remaining}); try again when it finishes — a crashed run's lock expires within ${Math.round(ttlMs / 1000)} s`;
}

/** A short id, unique enough to tell runs apart (it names the holder of the enqueue lock). */
export function newRunId(): string {
  return Date.now().toString(36) + randomBytes(3).toString('hex');
}

/**
 * `Q:enqueue_lock`: one enqueue run at a time may write to a queue, since each run checks
 * membership against the record as it was when the run started. Held as `SET Q:enqueue_lock
 * <runId> NX PX ttl`, refreshed by every batch (protocol/lua/enqueue.lua checks it), released by
 * compare-and-delete (protocol/lua/enqueue-lock.lua).
 */
export class EnqueueLock {
  private timer?: NodeJS.Timeout;
  private lost = false;

  private constructor(
    private readonly redis: Redis,
    private readonly key: string,
    readonly runId: string,
    readonly ttlMs: number,
  ) {}

  /**
   * Takes the lock of `queue`, or throws CliError (exit 1) naming the run that holds it and
   * its remaining TTL. Starts a timer that refreshes the lock every ttl/3 until release().
   */
  static async acquire(redis: Redis, queue: string, keys: QueueKeys, runId: string, ttlMs: number): Promise<EnqueueLock> {
    for (let attempt = 0; ; attempt++) {
      if ((await redis.set(keys.enqueueLock, runId, 'PX', ttlMs, 'NX')) === 'OK') break;
      const [[, holder], [, pttl]] = ((await redis.multi().get(keys.enqueueLock).pttl(keys.enqueueLock).exec()) ?? []) as [[unknown, string | null], [unknown, number]];
      // Released between SET and GET: try once more rather than report a holder that is gone.
      if (holder !== null || attempt > 0) throw new CliError(lockHeldMessage(queue, holder ?? '?', pttl, ttlMs));
    }
    const lock = new EnqueueLock(redis, keys.enqueueLock, runId, ttlMs);
    lock.timer = setInterval(() => void lock.refresh(), Math.max(50, Math.floor(ttlMs / 3)));
    lock.timer.unref();
    return lock;
  }

  /** Extends the lock; marks it lost when another run holds it now. Errors are left to the batches. */
  private async refresh(): Promise<void> {
    try {
      if ((await runLuaScript(this.redis, LOCK_SCRIPT(), [this.key], [this.runId, String(this.ttlMs)])) === 0) this.lost = true;
    } catch {
      // A broken connection fails the next batch with a clearer error.
    }
  }

  /** Whether a refresh found the lock taken by another run. */
  get isLost(): boolean {
    return this.lost;
  }

  /** Deletes the lock if this run still holds it; never throws (an unreleased lock expires). */
  async release(): Promise<void> {
    clearInterval(this.timer);
    try {
      await runLuaScript(this.redis, LOCK_SCRIPT(), [this.key], [this.runId, 'release']);
    } catch {
      // Connection gone: the lock expires within its TTL.
    }
  }
}

const LOCK_SCRIPT = () => loadLuaScript('enqueue-lock');
