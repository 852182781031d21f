import { randomBytes } from 'crypto';
import Redis, { Command } from 'ioredis';
import type { QueueKeys } from '../lib/queue-keys';
import { DIGEST_BYTES, DIGEST_SEED, DIGEST_WORDS, DigestTable, digestBytes, Found, murmur3x86_128 } from './digest';
import { CliError } from './errors';
import type { ItemTemplate } from './items';
import type { EnqueueLock } from './lock';
import { loadLuaScript } from './recovery';
import type { SceneLine } from './scene-lines';

/**
 * How scenes already known to the queue are treated:
 * - `dedupe`: skip scenes recorded in `Q:enqueued` by any run (queued, processing or done),
 *   and repeats within the input;
 * - `force`: skip only scenes whose item is pending or processing right now, and repeats within
 *   the input; every other scene is pushed and recorded again;
 * - `none`: push every input line without looking (the caller vouches it is new and has no
 *   repeats: a repeat is pushed twice), still recording it so later runs dedupe.
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

/**
 * Tuning of the push loop, measured with bench/enqueue.ts (1M scenes, 2 cores): larger batches
 * amortise the EVALSHA and Lua overhead, more than a few in flight only adds memory.
 */
export const BATCH_SIZE = 5_000;
export const IN_FLIGHT = 4;

export interface PushOptions {
  readonly redis: Redis;
  readonly keys: QueueKeys;
  readonly template: ItemTemplate;
  readonly mode: DedupeMode;
  readonly runId: string;
  /**
   * Known digests: for `dedupe`, the record (loadRecord); for `force`, the scenes pending or
   * processing (snapshotQueuedScenes); unused for `none`. Scenes of this run are added to it.
   */
  readonly table?: DigestTable;
  /** The run's lock (not for dry runs); every batch checks and refreshes it. */
  readonly lock?: EnqueueLock;
  /** Compute the counts with reads only. */
  readonly dryRun?: boolean;
  readonly batchSize?: number;
  /** Called now and then with the number of input scenes handled so far. */
  readonly onProgress?: (done: number) => void;
}

/** A short id, unique enough to tell runs apart (it names the holder of the enqueue lock). */
export function newRunId(): string {
  return Date.now().toString(36) + randomBytes(3).toString('hex');
}

/**
 * A command whose RESP bytes the caller built in one Buffer. ioredis's generic encoder handles
 * a command with a Buffer argument by measuring and copying every argument three times; a batch
 * of 5,000 items is cheaper built as one string of RESP and encoded once.
 */
class PrebuiltCommand extends Command {
  constructor(
    name: string,
    private readonly bytes: Buffer,
  ) {
    super(name, []);
  }

  override toWritable(): Buffer {
    return this.bytes;
  }
}

/** `$<byte length>\r\n<value>\r\n`, one RESP bulk string. */
function bulk(value: string): string {
  return `$${Buffer.byteLength(value)}\r\n${value}\r\n`;
}

/**
 * Pushes the items of `scenes` in batches, several batches in flight. Each batch is one atomic
 * Lua script (queue/lua/enqueue.lua): it checks the run still holds the lock, appends the
 * batch's digests to `Q:enqueued` and RPUSHes its items, so a run killed half-way leaves whole
 * batches behind, and a re-run pushes exactly the rest. Membership is decided here, in `table`.
 */
export async function pushScenes(scenes: AsyncIterable<SceneLine[]>, options: PushOptions): Promise<PushCounts> {
  const { redis, keys, template, mode, runId, table, lock, dryRun = false } = options;
  const batchSize = options.batchSize ?? BATCH_SIZE;
  if (mode !== 'none' && !table) throw new Error(`mode '${mode}' needs a digest table`);
  const counts: PushCounts = { pushed: 0, duplicateInInput: 0, enqueuedBefore: 0, pendingOrProcessing: 0 };
  const lookup = mode === 'none' ? undefined : table;
  const skipLoaded: 'enqueuedBefore' | 'pendingOrProcessing' = mode === 'force' ? 'pendingOrProcessing' : 'enqueuedBefore';

  const sha = dryRun ? '' : ((await redis.script('LOAD', loadLuaScript('enqueue').source)) as string);
  const ttl = String(lock?.ttlMs ?? 0);
  const rpushHead = `$5\r\nRPUSH\r\n${bulk(keys.pending)}`;
  const scriptHead = `*10\r\n$7\r\nEVALSHA\r\n${bulk(sha)}$1\r\n3\r\n${bulk(keys.enqueueLock)}${bulk(keys.enqueued)}${bulk(keys.pending)}${bulk(runId)}${bulk(ttl)}`;
  // Item i of a batch is sent as `$<len>\r\n<prefix><scene><suffix>\r\n`; scenes are printable
  // ASCII (validated), so its byte length is known without encoding it, and the part before the
  // scene depends only on the scene's length.
  const prefixBytes = Buffer.byteLength(template.prefix);
  const tail = template.suffix + '\r\n';
  const tailBytes = Buffer.byteLength(tail);
  // Scenes are validated printable ASCII; so is the template unless a field value is not.
  const itemEncoding: BufferEncoding = prefixBytes + tailBytes === template.prefix.length + tail.length ? 'latin1' : 'utf8';
  // One-entry cache: scene IDs of a workflow nearly always have one length.
  let headLength = -1;
  let head = '';
  let pieceBytes = 0;

  let consumed = 0; // input scenes looked at
  let done = 0; // input scenes whose batch is acknowledged (or that were skipped before it)
  let digests = new Int32Array(batchSize * DIGEST_WORDS);
  let n = 0; // items in the batch being built
  let items = ''; // RESP of the batch's items
  let itemBytes = 0;

  /**
   * Sends one batch as MULTI; RPUSH Q items…; EVALSHA enqueue.lua; EXEC (see the script for
   * why the items are not arguments of the script). The four commands are written back to back
   * in one synchronous call, so no other command of this connection can land inside the MULTI.
   */
  const send = async (d: Int32Array, count: number, itemsResp: string, respBytes: number): Promise<void> => {
    const pushHead = `*${count + 2}\r\n${rpushHead}`;
    const pushHeadBytes = Buffer.byteLength(pushHead);
    const pushBytes = Buffer.allocUnsafe(pushHeadBytes + respBytes);
    pushBytes.write(pushHead, 0, 'utf8');
    // latin1 copies a one-byte string as is; the byte count check guards the RESP framing.
    const written = pushBytes.write(itemsResp, pushHeadBytes, itemEncoding);
    if (written !== respBytes) throw new Error(`batch of ${count} items encoded to ${written} bytes, expected ${respBytes}`);
    const scriptArgs = `${scriptHead}${bulk(String(count))}$${count * DIGEST_BYTES}\r\n`;
    const scriptBytes = Buffer.concat([Buffer.from(scriptArgs), digestBytes(d, count), CRLF]);

    const replies = [
      redis.sendCommand(new Command('multi')),
      redis.sendCommand(new PrebuiltCommand('rpush', pushBytes)),
      redis.sendCommand(new PrebuiltCommand('evalsha', scriptBytes)),
      redis.sendCommand(new Command('exec')),
    ];
    const settled = await Promise.allSettled(replies);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw batchError(failed.reason, keys, counts.pushed);
    // EXEC's reply holds each command's reply, errors as Error objects.
    const results = (settled[3] as PromiseFulfilledResult<unknown>).value;
    if (!Array.isArray(results)) throw new Error(`EXEC of a batch was aborted (reply ${String(results)})`);
    const error = results.find((r) => r instanceof Error);
    if (error) throw batchError(error, keys, counts.pushed);
    if (results[1] !== count) throw new Error(`enqueue.lua recorded ${String(results[1])} items, expected ${count}`);
    counts.pushed += count;
  };

  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  const flush = async (): Promise<void> => {
    const upTo = consumed;
    if (n > 0 && dryRun) counts.pushed += n;
    if (n > 0 && !dryRun) {
      const p: Promise<void> = send(digests, n, items, itemBytes).then(
        () => {
          done = Math.max(done, upTo);
          options.onProgress?.(done);
        },
        (err) => {
          failure ??= err;
        },
      );
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      digests = new Int32Array(batchSize * DIGEST_WORDS); // the one sent is still being read
    }
    n = 0;
    items = '';
    itemBytes = 0;
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    if (failure) throw failure;
    if (lock?.isLost) throw lockLost(keys, counts.pushed);
  };

  for await (const chunk of scenes) {
    for (let i = 0; i < chunk.length; i++) {
      const scene = chunk[i].scene;
      consumed += 1;
      const off = n * DIGEST_WORDS;
      murmur3x86_128(scene, DIGEST_SEED, digests, off);
      if (lookup) {
        const found = lookup.add(digests, off, Found.ThisRun);
        if (found !== Found.New) {
          // The digest slot n is reused by the next scene.
          if (found === Found.ThisRun) counts.duplicateInInput += 1;
          else counts[skipLoaded] += 1;
          continue;
        }
      }
      if (scene.length !== headLength) {
        headLength = scene.length;
        const itemLength = prefixBytes + headLength + tailBytes - 2;
        head = `$${itemLength}\r\n${template.prefix}`;
        pieceBytes = Buffer.byteLength(head) + headLength + tailBytes;
      }
      items += head + scene + tail;
      itemBytes += pieceBytes;
      n += 1;
      if (n >= batchSize) await flush();
    }
    if (inFlight.size === 0 && n === 0) {
      done = consumed;
      options.onProgress?.(done);
    }
  }
  await flush();
  await Promise.all(inFlight);
  if (failure) throw failure;
  return counts;
}

const CRLF = Buffer.from('\r\n');

/** The error of a failed batch: lock lost (exit 1 with what to do), or Redis's own error. */
function batchError(err: unknown, keys: QueueKeys, pushed: number): unknown {
  return err instanceof Error && err.message.includes('ARD_LOCK_LOST') ? lockLost(keys, pushed) : err;
}

function lockLost(keys: QueueKeys, pushed: number): CliError {
  return new CliError(
    `this run lost the enqueue lock ${keys.enqueueLock} (it expired or was deleted, and another run may be writing to ${keys.pending}); ` +
      `stopped after pushing ${pushed.toLocaleString('en-US')} items in whole batches; run it again to push the rest`,
  );
}

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

/** `in_scene` of a JSON item, or `undefined` for an item that is not one of ours. */
export function sceneOfItem(item: string): string | undefined {
  try {
    const scene = (JSON.parse(item) as { in_scene?: unknown }).in_scene;
    return typeof scene === 'string' ? scene : undefined;
  } catch {
    return undefined;
  }
}
