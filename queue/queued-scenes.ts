import type Redis from 'ioredis';
import type { QueueKeys } from '../protocol/queue-keys';
import { DIGEST_SEED, DIGEST_WORDS, DigestTable, Found, murmur3x86_128 } from './digest';
import { sceneOfItem } from './items';

/** Page size of the LRANGE reads of snapshotQueuedScenes. */
const PAGE = 10_000;

/**
 * The digests of the scenes whose item is pending or processing now, for `--force`, added to
 * `table` as Found.Loaded. Pages are read from index 0 upward, which stays correct while workers
 * pop from the right end; the pending list is read before the processing list, so an item moving
 * between them is still seen.
 */
export async function snapshotQueuedScenes(redis: Redis, keys: QueueKeys, table: DigestTable): Promise<DigestTable> {
  const d = new Int32Array(DIGEST_WORDS);
  for (const list of [keys.pending, keys.processing]) {
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
}
