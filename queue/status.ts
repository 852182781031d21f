import type Redis from 'ioredis';
import { WORKFLOWS } from '../protocol/workflows';
import { loadLuaScript } from '../protocol/lua';
import { leaseKey, queueKeys } from '../protocol/queue-keys';
import { resolveTarget, Target } from './args';
import { DIGEST_BYTES } from './digest';

/** The state of one queue, as printed by `status --json` and in each line of `watch --json`. */
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
  /** Scenes recorded in `Q:enqueued` (the bytes of its shards / 16), re-recordings by `enqueue --force` included. */
  readonly enqueued: number;
  /**
   * Recordings whose item has finished: `enqueued − pending − processing − deadLettered`, at
   * least 0 — the exporter's `done` (lib/lua/queue-metrics.lua), so terminal and dashboard agree.
   * Every push of the queue tool records one digest with its item in one transaction, and an
   * item leaves the three lists only when a worker completes it, so this counts completions.
   */
  readonly done: number;
  /** `100 × done / enqueued`, rounded down to 2 decimals (100 only when all is done); null when nothing is recorded. */
  readonly percent: number | null;
}

/** The raw counts of one queue that {@link makeStatus} combines. */
export interface RawCounts {
  readonly pending: number;
  readonly processing: number;
  /** Processing items whose lease exists (at most `processing`). */
  readonly leased: number;
  readonly deadLettered: number;
  readonly enqueued: number;
}

/** Combines raw counts into a status; `leased` counts every processing item whose lease exists. */
export function makeStatus(target: Target, raw: RawCounts): QueueStatus {
  const leased = Math.min(raw.leased, raw.processing);
  const done = Math.max(0, raw.enqueued - raw.pending - raw.processing - raw.deadLettered);
  return {
    queue: target.queue,
    workflow: target.workflow.name,
    pending: raw.pending,
    processing: raw.processing,
    leased,
    expired: raw.processing - leased,
    deadLettered: raw.deadLettered,
    enqueued: raw.enqueued,
    done,
    percent: raw.enqueued > 0 ? Math.floor((10_000 * done) / raw.enqueued) / 100 : null,
  };
}

/** The queues of `--workflow` / `--queue`: one when either is given, else every workflow's. */
export function statusTargets(workflow: string | undefined, queue: string | undefined): Target[] {
  if (workflow !== undefined || queue !== undefined) return [resolveTarget(workflow, queue)];
  return Object.keys(WORKFLOWS).map((name) => resolveTarget(name, undefined));
}

type Reply = [Error | null, unknown];

function replies(results: Reply[] | null): Reply[] {
  if (!results) throw new Error('MULTI/EXEC was aborted');
  return results;
}

function value<T>([err, result]: Reply): T {
  if (err) throw err;
  return result as T;
}

/**
 * Reads the status of `targets` with counters and list lengths only, whatever the queues'
 * lengths: one MULTI of LLEN, STRLEN (of every shard of the record, one small script) and
 * LRANGE of `Q:processing` (about one item per worker) for all queues, then, if any item is
 * processing, one MULTI that re-reads `Q:processing` and checks each item's lease key. An item counts as expired only if it is still in processing at
 * that second, atomic look and has no lease, so a worker completing an item between the two
 * reads (LREM, then DEL of its lease) is not mistaken for a dead one.
 */
export async function readStatuses(redis: Redis, targets: readonly Target[]): Promise<QueueStatus[]> {
  const keys = targets.map((t) => queueKeys(t.queue));
  const first = redis.multi();
  const recordBytes = loadLuaScript('record-bytes').source;
  for (const k of keys) first.llen(k.pending).lrange(k.processing, 0, -1).llen(k.deadLetter).strlen(k.enqueued).eval(recordBytes, 1, k.enqueued, '1');
  const counts = replies((await first.exec()) as Reply[] | null);
  const raw = await Promise.all(
    keys.map(async (k, i) => {
      const [pending, processing, deadLettered, record, moreShards] = counts.slice(5 * i, 5 * i + 5);
      // The record is strings of 16-byte digests (shard 0, and the shards after it); a hash left
      // by an older version in shard 0 counts its fields.
      const enqueued = record[0] ? await redis.hlen(k.enqueued) : Math.floor((value<number>(record) + value<number>(moreShards)) / DIGEST_BYTES);
      return { pending: value<number>(pending), items: value<string[]>(processing), deadLettered: value<number>(deadLettered), enqueued };
    }),
  );
  const distinct = raw.map((r) => [...new Set(r.items)]);
  const leaseFlags: boolean[][] = raw.map(() => []);
  const stillProcessing: Set<string>[] = raw.map(() => new Set());
  if (distinct.some((items) => items.length > 0)) {
    const second = redis.multi();
    keys.forEach((k, i) => {
      if (distinct[i].length === 0) return;
      second.lrange(k.processing, 0, -1);
      for (const item of distinct[i]) second.exists(leaseKey(k, item));
    });
    const results = replies((await second.exec()) as Reply[] | null);
    let at = 0;
    keys.forEach((_, i) => {
      if (distinct[i].length === 0) return;
      stillProcessing[i] = new Set(value<string[]>(results[at++]));
      leaseFlags[i] = distinct[i].map(() => value<number>(results[at++]) > 0);
    });
  }
  return targets.map((target, i) => {
    const { pending, items, deadLettered, enqueued } = raw[i];
    // Identical items share one lease key (the workers' protocol), so each copy counts.
    const unleased = new Set(distinct[i].filter((item, j) => !leaseFlags[i][j] && stillProcessing[i].has(item)));
    const expired = items.filter((item) => unleased.has(item)).length;
    return makeStatus(target, { pending, processing: items.length, leased: items.length - expired, deadLettered, enqueued });
  });
}
