import { randomBytes } from 'crypto';
import { readFileSync } from 'fs';
import * as path from 'path';
import type Redis from 'ioredis';
import type { QueueKeys } from '../lib/queue-keys';
import type { ItemTemplate } from './items';
import type { SceneLine } from './scene-lines';

/**
 * How scenes already known to the queue are treated:
 * - `dedupe`: skip scenes recorded in `Q:enqueued` by any run (queued, processing or done);
 * - `force`: skip only scenes whose item is pending or processing right now (and repeats within the input);
 * - `none`: push every input line without looking (the caller vouches it is new), still recording it.
 */
export type DedupeMode = 'dedupe' | 'force' | 'none';

/** What a run pushed and skipped, by reason. */
export interface PushCounts {
  pushed: number;
  /** Repeats of a scene earlier in the same input. */
  duplicateInInput: number;
  /** Scenes recorded in `Q:enqueued` by an earlier run (mode `dedupe`). */
  enqueuedBefore: number;
  /** Scenes whose item is pending or processing right now (mode `force`). */
  pendingOrProcessing: number;
}

/** Tuning of the push loop, measured with bench/enqueue.ts. */
export const BATCH_SIZE = 2_000;
export const IN_FLIGHT = 6;

export interface PushOptions {
  readonly redis: Redis;
  readonly keys: QueueKeys;
  readonly template: ItemTemplate;
  readonly mode: DedupeMode;
  /** Id recorded with each scene in `Q:enqueued`; tells this run's repeats from earlier runs. */
  readonly runId: string;
  /** Compute the counts with reads only; hold this run's scenes in memory to find repeats. */
  readonly dryRun?: boolean;
  /** Mode `force`: scenes pending or processing, from snapshotQueuedScenes. */
  readonly queued?: ReadonlySet<string>;
  readonly batchSize?: number;
  /** Called after each batch with the number of input scenes handled so far. */
  readonly onProgress?: (done: number) => void;
}

/** A short id, unique enough to tell runs apart in `Q:enqueued` (kept short: it is stored per scene). */
export function newRunId(): string {
  return Date.now().toString(36) + randomBytes(3).toString('hex');
}

const ENQUEUE_LUA = readFileSync(path.join(__dirname, 'lua', 'enqueue.lua'), 'utf8');

interface EnqueueScript {
  ardEnqueue(pending: string, enqueued: string, runId: string, mode: string, prefix: string, suffix: string, ...scenes: string[]): Promise<[number, number, number]>;
}

/**
 * Pushes the items of `scenes` in batches, several batches in flight. Each batch is atomic
 * (one Lua script, or MULTI/EXEC for mode `none`): its scenes are recorded in `Q:enqueued`
 * together with the push of their items, so a run killed half-way leaves whole batches
 * behind, and a re-run pushes exactly the rest.
 */
export async function pushScenes(scenes: AsyncIterable<SceneLine[]>, options: PushOptions): Promise<PushCounts> {
  const { redis, keys, template, mode, runId, dryRun = false, queued } = options;
  const batchSize = options.batchSize ?? BATCH_SIZE;
  const counts: PushCounts = { pushed: 0, duplicateInInput: 0, enqueuedBefore: 0, pendingOrProcessing: 0 };
  if (!dryRun && mode !== 'none' && !('ardEnqueue' in redis)) {
    redis.defineCommand('ardEnqueue', { numberOfKeys: 2, lua: ENQUEUE_LUA });
  }
  const seen = dryRun ? new Set<string>() : undefined;
  let done = 0;

  const sendBatch = async (batch: string[]): Promise<void> => {
    if (dryRun) {
      await dryRunBatch(batch);
    } else if (mode === 'none') {
      const pairs: string[] = [];
      for (const scene of batch) pairs.push(scene, runId);
      const results = await redis.multi().hset(keys.enqueued, ...pairs).rpush(keys.pending, ...batch.map((s) => template.item(s))).exec();
      const failed = results?.find(([err]) => err);
      if (!results || failed) throw failed?.[0] ?? new Error('MULTI/EXEC was aborted');
      counts.pushed += batch.length;
    } else {
      const [pushed, duplicate, earlier] = await (redis as unknown as EnqueueScript).ardEnqueue(
        keys.pending, keys.enqueued, runId, mode, template.prefix, template.suffix, ...batch);
      counts.pushed += pushed;
      counts.duplicateInInput += duplicate;
      counts.enqueuedBefore += earlier;
    }
  };

  // Read-only: what the Lua script would do, with this run's scenes held in `seen`.
  const dryRunBatch = async (batch: string[]): Promise<void> => {
    const recorded = mode === 'dedupe' ? await redis.hmget(keys.enqueued, ...batch) : [];
    batch.forEach((scene, i) => {
      if (seen!.has(scene) && mode !== 'none') counts.duplicateInInput += 1;
      else if (recorded[i] != null) counts.enqueuedBefore += 1;
      else counts.pushed += 1;
      seen!.add(scene);
    });
  };

  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let batch: string[] = [];
  const flush = async (): Promise<void> => {
    const sent = batch;
    batch = [];
    const p: Promise<void> = sendBatch(sent).then(
      () => {
        done += sent.length;
        options.onProgress?.(done);
      },
      (err) => {
        failure ??= err;
      },
    );
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    if (failure) throw failure;
  };

  for await (const chunk of scenes) {
    for (const { scene } of chunk) {
      if (queued?.has(scene)) {
        counts.pendingOrProcessing += 1;
        done += 1;
        continue;
      }
      batch.push(scene);
      if (batch.length >= batchSize) await flush();
    }
  }
  if (batch.length > 0) await flush();
  await Promise.all(inFlight);
  if (failure) throw failure;
  return counts;
}

/** Page size of the LRANGE reads of snapshotQueuedScenes. */
const PAGE = 10_000;

/**
 * The scene IDs whose item is pending or processing now, for `--force`. Pages are read from
 * index 0 upward, which stays correct while workers pop from the right end; the pending list
 * is read before the processing list, so an item moving between them is still seen.
 */
export async function snapshotQueuedScenes(redis: Redis, keys: QueueKeys): Promise<Set<string>> {
  const scenes = new Set<string>();
  for (const list of [keys.pending, keys.processing]) {
    for (let start = 0; ; start += PAGE) {
      const items = await redis.lrange(list, start, start + PAGE - 1);
      for (const item of items) {
        const scene = sceneOfItem(item);
        if (scene !== undefined) scenes.add(scene);
      }
      if (items.length < PAGE) break;
    }
  }
  return scenes;
}

/** `in_scene` of a JSON item, or `undefined` for an item that is not one of ours. */
export function sceneOfItem(item: string): string | undefined {
  try {
    const scene = (JSON.parse(item) as { in_scene?: unknown }).in_scene;
    return typeof scene === 'string' ? scene : undefined;
  } catch {
    return undefined;
  }
}
