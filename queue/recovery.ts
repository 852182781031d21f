/**
 * Recovery of work items whose worker died, and the dead-letter list: the logic behind the
 * `requeue-expired`, `dead-letters` and `retry-dead-letters` subcommands.
 *
 * The moves themselves are Lua scripts in protocol/lua (atomic calls of bounded cost); the same
 * requeue-expired.lua runs in the cluster's recovery CronJob through `redis-cli --eval`.
 */
import type Redis from 'ioredis';
import { queueKeys } from '../protocol/queue-keys';
import { loadLuaScript } from '../protocol/lua';
import { REQUEUE_EXPIRED_SCRIPT, RequeueExpiredOptions, requeueExpiredArguments } from '../protocol/recovery';
import { sceneOfItem } from './items';
import { runLuaScript } from './redis';

/** What one `requeue-expired` run did (or, with `dryRun`, would do). Counts are list entries. */
export interface RequeueExpiredResult {
  readonly queue: string;
  readonly dryRun: boolean;
  /** Items moved back to the pending list (to its far end: workers take them last). */
  readonly requeued: number;
  /** Items moved to the dead-letter list because they reached `maxAttempts`. */
  readonly deadLettered: number;
  /** Unleased items still inside their grace period (a real run records first sightings). */
  readonly waiting: number;
  /** Items held by a live worker (lease key present); never touched. */
  readonly leased: number;
  readonly requeuedItems: string[];
  readonly deadLetteredItems: string[];
  readonly waitingItems: string[];
}

/** What one call of requeue-expired.lua (listItems=1) did, and the cursor of the next call. */
export interface RequeueExpiredCall {
  readonly counts: readonly [requeued: number, deadLettered: number, waiting: number, leased: number];
  readonly cursor: string;
  readonly items: readonly [requeued: string[], deadLettered: string[], waiting: string[]];
}

/**
 * Turns the reply of one requeue-expired.lua call with listItems=1 into its parts.
 * @throws Error if the reply does not have the documented shape.
 */
export function parseRequeueExpiredReply(reply: unknown): RequeueExpiredCall {
  const ok =
    Array.isArray(reply) &&
    reply.length === 8 &&
    reply.slice(0, 4).every((n) => Number.isInteger(n)) &&
    typeof reply[4] === 'string' &&
    reply.slice(5).every((list) => Array.isArray(list) && list.every((item) => typeof item === 'string'));
  if (!ok) throw new Error(`unexpected reply from requeue-expired.lua: ${JSON.stringify(reply)}`);
  const [requeued, deadLettered, waiting, leased, cursor, requeuedItems, deadLetteredItems, waitingItems] = reply as [
    number, number, number, number, string, string[], string[], string[],
  ];
  return { counts: [requeued, deadLettered, waiting, leased], cursor, items: [requeuedItems, deadLetteredItems, waitingItems] };
}

/**
 * Runs requeue-expired.lua on `queue`, call after call until its cursor comes back to 0 (each
 * call looks at a bounded chunk of `Q:processing`, see the script): every item of
 * `Q:processing` seen without a lease for `graceSeconds` goes back to the queue, or to the
 * dead-letter list on its `maxAttempts`-th time. `chunk` is for tests.
 */
export async function requeueExpired(
  redis: Redis,
  queue: string,
  options: RequeueExpiredOptions & { readonly chunk?: number } = {},
): Promise<RequeueExpiredResult> {
  const { keys, args } = requeueExpiredArguments(queueKeys(queue), options);
  const script = loadLuaScript(REQUEUE_EXPIRED_SCRIPT);
  const counts = [0, 0, 0, 0];
  const items: [string[], string[], string[]] = [[], [], []];
  let cursor = '0';
  do {
    const call = parseRequeueExpiredReply(
      await runLuaScript(redis, script, keys, [...args, '1', cursor, ...(options.chunk === undefined ? [] : [String(options.chunk)])]),
    );
    call.counts.forEach((n, i) => (counts[i] += n));
    call.items.forEach((list, i) => items[i].push(...list));
    cursor = call.cursor;
  } while (cursor !== '0');
  const [requeued, deadLettered, waiting, leased] = counts;
  const [requeuedItems, deadLetteredItems, waitingItems] = items;
  return { queue, dryRun: options.dryRun ?? false, requeued, deadLettered, waiting, leased, requeuedItems, deadLetteredItems, waitingItems };
}

/** One entry of the dead-letter list. */
export interface DeadLetter {
  /** The item, byte for byte as the workers received it. */
  readonly item: string;
  /** Its `in_scene`, when the item is a JSON object that has one. */
  readonly scene?: string;
  /** Times recovery took it back from a dead worker. */
  readonly attempts: number;
}

/**
 * Lists the dead-letter list of `queue` in order (oldest first), at most `limit` entries, with
 * their attempt counts. `total` is the full length of the list.
 */
export async function listDeadLetters(
  redis: Redis,
  queue: string,
  options: { readonly limit?: number } = {},
): Promise<{ readonly total: number; readonly items: DeadLetter[] }> {
  const limit = options.limit;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new Error(`'limit' must be a positive integer, got ${limit}`);
  }
  const keys = queueKeys(queue);
  const [total, items] = await Promise.all([
    redis.llen(keys.deadLetter),
    redis.lrange(keys.deadLetter, 0, limit === undefined ? -1 : limit - 1),
  ]);
  const attempts = items.length > 0 ? await redis.hmget(keys.attempts, ...items) : [];
  return {
    total,
    items: items.map((item, i) => {
      const scene = sceneOfItem(item);
      return { item, ...(scene === undefined ? {} : { scene }), attempts: Number(attempts[i] ?? 0) };
    }),
  };
}

/**
 * Picks the dead letters that `selectors` name: each selector is an exact item or a scene ID
 * (`in_scene`). Pure. Returns the matching items without duplicates, and the selectors that
 * matched nothing.
 */
export function selectDeadLetters(
  deadLetters: readonly string[],
  selectors: readonly string[],
): { readonly selected: string[]; readonly unmatched: string[] } {
  const selected = new Set<string>();
  const unmatched: string[] = [];
  for (const selector of selectors) {
    const matches = deadLetters.filter((item) => item === selector || sceneOfItem(item) === selector);
    if (matches.length === 0) unmatched.push(selector);
    matches.forEach((item) => selected.add(item));
  }
  return { selected: [...selected], unmatched };
}

/** Outcome of retrying one dead letter. */
export type RetryStatus = 'retried' | 'queued' | 'missing';

/** What `retry-dead-letters` did (or, with `dryRun`, would do). */
export interface RetryDeadLettersResult {
  readonly queue: string;
  readonly dryRun: boolean;
  /** Moved back to the queue, attempts reset. */
  readonly retried: string[];
  /** Already pending or processing: only removed from the dead-letter list, not pushed twice. */
  readonly alreadyQueued: string[];
  /** No longer in the dead-letter list (retried meanwhile). */
  readonly missing: string[];
}

/**
 * Moves `items` (exact items, e.g. from {@link selectDeadLetters}) from the dead-letter list back
 * to the queue, atomically, resetting their attempts; never duplicates an item already pending
 * or processing.
 */
export async function retryDeadLetters(
  redis: Redis,
  queue: string,
  items: readonly string[],
  options: { readonly dryRun?: boolean } = {},
): Promise<RetryDeadLettersResult> {
  const dryRun = options.dryRun ?? false;
  const unique = [...new Set(items)];
  const result: RetryDeadLettersResult = { queue, dryRun, retried: [], alreadyQueued: [], missing: [] };
  if (unique.length === 0) return result;
  const keys = queueKeys(queue);
  // The script scans the lists once per item (LPOS), so a call's cost grows with items × list
  // length: calls take as few items as keep each under ~RETRY_SCAN_BUDGET list entries (one
  // item at a time with a million pending), so workers are never held up for long (BUSY).
  // Each item is still handled atomically; that is all correctness needs.
  for (let start = 0; start < unique.length; ) {
    const [pendingLength, processingLength, deadLength] = await Promise.all([redis.llen(keys.pending), redis.llen(keys.processing), redis.llen(keys.deadLetter)]);
    const perCall = Math.max(1, Math.floor(RETRY_SCAN_BUDGET / Math.max(1, pendingLength + processingLength + deadLength)));
    const chunk = unique.slice(start, start + perCall);
    const reply = await runLuaScript(
      redis,
      loadLuaScript('retry-dead-letters'),
      [keys.pending, keys.processing, keys.attempts, keys.deadLetter],
      [dryRun ? '1' : '0', ...chunk],
    );
    if (!Array.isArray(reply) || reply.length !== chunk.length) {
      throw new Error(`unexpected reply from retry-dead-letters.lua: ${JSON.stringify(reply)}`);
    }
    reply.forEach((status, i) => {
      const bucket = { retried: result.retried, queued: result.alreadyQueued, missing: result.missing }[status as RetryStatus];
      if (!bucket) throw new Error(`unexpected status from retry-dead-letters.lua: ${JSON.stringify(status)}`);
      bucket.push(chunk[i]);
    });
    start += chunk.length;
  }
  return result;
}

/** List entries one retry-dead-letters call may scan (about 10 ms of LPOS), see retryDeadLetters. */
export const RETRY_SCAN_BUDGET = 1_000_000;
