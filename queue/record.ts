import type Redis from 'ioredis';
import { QueueKeys, recordShardKey } from '../protocol/queue-keys';
import { DIGEST_BYTES, DigestTable } from './digest';
import { CliError, UsageError } from './errors';

/** Bytes per GETRANGE of loadRecord: neither the whole record nor many round trips. */
export const RECORD_CHUNK_BYTES = 1 << 20;

/**
 * Bytes per shard of the dedupe record (4,194,304 digests): far below Redis's maximum string
 * size (proto-max-bulk-len, 512 MB by default), and small enough that a shard is read, copied
 * or deleted quickly.
 */
export const RECORD_SHARD_BYTES = 64 * 1024 * 1024;

/** Environment variable that sets another shard size (tests use a few digests). */
export const RECORD_SHARD_BYTES_ENV = 'ARD_RECORD_SHARD_BYTES';

/** The shard size: $ARD_RECORD_SHARD_BYTES, a whole number of digests up to RECORD_SHARD_BYTES, or the default. */
export function recordShardBytes(env: Readonly<Record<string, string | undefined>>): number {
  const value = env[RECORD_SHARD_BYTES_ENV];
  if (value === undefined || value === '') return RECORD_SHARD_BYTES;
  const bytes = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(bytes >= DIGEST_BYTES && bytes <= RECORD_SHARD_BYTES && bytes % DIGEST_BYTES === 0)) {
    throw new UsageError(`$${RECORD_SHARD_BYTES_ENV} must be a multiple of ${DIGEST_BYTES} from ${DIGEST_BYTES} to ${RECORD_SHARD_BYTES} (bytes per shard of the dedupe record), got '${value}'`);
  }
  return bytes;
}

/** The byte length of the record shard `key`, undefined if it does not exist; refuses a key that is not such a shard. */
async function shardLength(redis: Redis, key: string): Promise<number | undefined> {
  const type = await redis.type(key);
  if (type === 'none') return undefined;
  if (type !== 'string') {
    throw new CliError(
      `${key} is a ${type}, not the dedupe record this version writes (a string of 16-byte scene digests); ` +
        'it was written by an older version of the queue tool: migrate or delete it before enqueueing',
    );
  }
  const length = await redis.strlen(key);
  if (length % DIGEST_BYTES !== 0) throw new CliError(`${key} has ${length} bytes, not a whole number of ${DIGEST_BYTES}-byte digests: the record is damaged`);
  return length;
}

/** Keys per SCAN reply while looking for shards: few round trips, each reply short. */
const SCAN_COUNT = 1000;

/**
 * The indices (1, 2, …, unordered) of every `Q:enqueued:<n>` key that exists, gaps or not:
 * one SCAN of the keyspace. Other keys under `Q:enqueued:` (the suffix not a decimal index
 * below 10^15, as recordShardKey writes it) are not shards.
 */
async function scanShardIndices(redis: Redis, keys: QueueKeys): Promise<number[]> {
  const prefix = `${keys.enqueued}:`;
  const pattern = prefix.replace(/[*?[\]\\]/g, '\\$&') + '*';
  const indices: number[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
    for (const key of found) {
      const suffix = key.slice(prefix.length);
      if (/^[1-9]\d{0,14}$/.test(suffix)) indices.push(Number(suffix));
    }
    cursor = next;
  } while (cursor !== '0');
  return indices;
}

/**
 * The length in bytes of each shard of the record (recordShardKey), in order, up to the first
 * missing one; refuses a shard that is not such a record, and a shard after a missing one
 * (someone deleted part of the record: reading on would miss what came before it), found by
 * one SCAN once the shards in a row end.
 */
export async function recordShardLengths(redis: Redis, keys: QueueKeys): Promise<number[]> {
  const lengths: number[] = [];
  for (;;) {
    const length = await shardLength(redis, recordShardKey(keys, lengths.length));
    if (length === undefined) break;
    lengths.push(length);
  }
  const beyond = (await scanShardIndices(redis, keys)).filter((index) => index > lengths.length);
  if (beyond.length > 0) {
    const first = beyond.reduce((a, b) => Math.min(a, b));
    throw new CliError(`the dedupe record is damaged: ${recordShardKey(keys, first)} exists but ${recordShardKey(keys, lengths.length)} does not; rebuild it with reset-record`);
  }
  return lengths;
}

/**
 * Every shard of the record that exists, by index, gaps or not (for reset-record, which
 * replaces them all); refuses a shard that is not such a record, as recordShardLengths does.
 */
export async function everyRecordShard(redis: Redis, keys: QueueKeys): Promise<{ key: string; index: number; length: number }[]> {
  const shards: { key: string; index: number; length: number }[] = [];
  for (const index of [0, ...(await scanShardIndices(redis, keys)).sort((a, b) => a - b)]) {
    const key = recordShardKey(keys, index);
    const length = await shardLength(redis, key);
    if (length !== undefined) shards.push({ key, index, length });
  }
  return shards;
}

/**
 * Adds the digests of the record's shards (`lengths` from recordShardLengths) to `table`,
 * reading them in RECORD_CHUNK_BYTES pieces so that the whole record and the table are never
 * both in memory. Appends after `lengths` (by no one: the caller holds the lock, or is a dry
 * run) are not read.
 */
export async function loadRecord(redis: Redis, keys: QueueKeys, lengths: readonly number[], table: DigestTable, chunkBytes = RECORD_CHUNK_BYTES): Promise<void> {
  const step = chunkBytes - (chunkBytes % DIGEST_BYTES);
  for (const [index, length] of lengths.entries()) {
    const key = recordShardKey(keys, index);
    for (let start = 0; start < length; start += step) {
      table.addRecord(await redis.getrangeBuffer(key, start, Math.min(start + step, length) - 1));
    }
  }
}

/**
 * Chooses the shard each batch's digests are appended to: the last one, or a new one after it
 * when the batch would make the last one outgrow `shardBytes`. Batches are appended whole, in
 * the order they are asked for (the run holds the enqueue lock, so no one else appends), so a
 * shard outgrows `shardBytes` only when one batch (80 kB) does, with the tests' tiny shards.
 */
export class RecordShards {
  private readonly lengths: number[];

  constructor(
    private readonly keys: QueueKeys,
    lengths: readonly number[],
    private readonly shardBytes: number,
  ) {
    this.lengths = lengths.length > 0 ? [...lengths] : [0];
  }

  /** The key to append `bytes` to, counted as appended. */
  keyFor(bytes: number): string {
    const last = this.lengths.length - 1;
    if (this.lengths[last] > 0 && this.lengths[last] + bytes > this.shardBytes) this.lengths.push(0);
    this.lengths[this.lengths.length - 1] += bytes;
    return recordShardKey(this.keys, this.lengths.length - 1);
  }
}
