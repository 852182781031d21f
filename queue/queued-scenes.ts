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
    const d = new Int32Array(DIGEST_WORDS);
    for (const list of copies) {
      for (let start = 0; ; start += PAGE) {
        const items = await redis.lrange(list, start, start + PAGE - 1);
        for (const item of items) {
          const scene = sceneOfItem(item);
          if (scene === undefined) continue;
          murmur3x86_128(scene, DIGEST_SEED, d, 0);
          table.add(d, 0, Found.Loaded);
        }
        if (items.length < PAGE) break;
      }
    }
    return table;
  } finally {
    unregister();
    await removeCopies();
  }
}
