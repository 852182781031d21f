import type Redis from 'ioredis';
import type { QueueKeys } from '../protocol/queue-keys';
import { DIGEST_SEED, DIGEST_WORDS, DigestTable, Found, murmur3x86_128 } from './digest';
import { onInterrupt } from './interrupt';
import { sceneOfItem } from './items';

/** Page size of the LRANGE reads of snapshotQueuedScenes. */
const PAGE = 10_000;

/** Seconds a crashed run's snapshot copies live on (a run removes them itself). */
const SNAPSHOT_TTL_SECONDS = 600;

/**
 * The digests of the scenes whose item is pending or processing now, for `--force`, added to
 * `table` as Found.Loaded. Workers and recovery move items between the two lists while a run
 * reads them, so both are copied in one MULTI/EXEC (COPY duplicates a list's nodes, far
 * cheaper than reading it), and the copies are read page by page and then removed: an item
 * recovery moves at that moment is in exactly one of them.
 */
export async function snapshotQueuedScenes(redis: Redis, keys: QueueKeys, table: DigestTable): Promise<DigestTable> {
  const d = new Int32Array(DIGEST_WORDS);
  await forEachQueuedScene(redis, keys, (scene) => {
    murmur3x86_128(scene, DIGEST_SEED, d, 0);
    table.add(d, 0, Found.Loaded);
  });
  return table;
}

/**
 * Calls `visit` with the scene of every item pending or processing at one instant (items
 * without a scene ID are skipped), reading the copies of snapshotQueuedScenes page by page.
 * @returns the number of items looked at
 */
export async function forEachQueuedScene(redis: Redis, keys: QueueKeys, visit: (scene: string) => void): Promise<number> {
  const copies = [`${keys.snapshotPrefix}pending`, `${keys.snapshotPrefix}processing`];
  const removeCopies = async (): Promise<void> => {
    await redis.unlink(...copies);
  };
  const unregister = onInterrupt(removeCopies);
  try {
    const tx = redis.multi().unlink(...copies).copy(keys.pending, copies[0]).copy(keys.processing, copies[1]);
    for (const copy of copies) tx.expire(copy, SNAPSHOT_TTL_SECONDS);
    const replies = (await tx.exec()) ?? [];
    const failed = replies.find(([err]) => err);
    if (failed) throw failed[0];
    let seen = 0;
    for (const list of copies) {
      for (let start = 0; ; start += PAGE) {
        const items = await redis.lrange(list, start, start + PAGE - 1);
        seen += items.length;
        for (const item of items) {
          const scene = sceneOfItem(item);
          if (scene !== undefined) visit(scene);
        }
        if (items.length < PAGE) break;
      }
    }
    return seen;
  } finally {
    unregister();
    await removeCopies();
  }
}
