import type Redis from 'ioredis';
import type { QueueKeys } from '../protocol/queue-keys';
import { DIGEST_BYTES, DigestTable } from './digest';
import { CliError } from './errors';

/** Bytes per GETRANGE of loadRecord: neither the whole record nor many round trips. */
export const RECORD_CHUNK_BYTES = 1 << 20;

/** Length in bytes of the record `Q:enqueued`, refusing a key that is not such a record. */
export async function recordLength(redis: Redis, keys: QueueKeys): Promise<number> {
  const type = await redis.type(keys.enqueued);
  if (type === 'none') return 0;
  if (type !== 'string') {
    throw new CliError(
      `${keys.enqueued} is a ${type}, not the dedupe record this version writes (a string of 16-byte scene digests); ` +
        'it was written by an older version of the queue tool: migrate or delete it before enqueueing',
    );
  }
  const length = await redis.strlen(keys.enqueued);
  if (length % DIGEST_BYTES !== 0) throw new CliError(`${keys.enqueued} has ${length} bytes, not a whole number of ${DIGEST_BYTES}-byte digests: the record is damaged`);
  return length;
}

/**
 * Adds the digests of the record `Q:enqueued` (`length` bytes, from recordLength) to `table`,
 * reading it in RECORD_CHUNK_BYTES pieces so that the whole record and the table are never both
 * in memory. Appends after `length` (by no one: the caller holds the lock, or is a dry run) are
 * not read.
 */
export async function loadRecord(redis: Redis, keys: QueueKeys, length: number, table: DigestTable, chunkBytes = RECORD_CHUNK_BYTES): Promise<void> {
  const step = chunkBytes - (chunkBytes % DIGEST_BYTES);
  for (let start = 0; start < length; start += step) {
    const chunk = await redis.getrangeBuffer(keys.enqueued, start, Math.min(start + step, length) - 1);
    table.addRecord(chunk);
  }
}
