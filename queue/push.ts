import Redis, { Command } from 'ioredis';
import type { QueueKeys } from '../protocol/queue-keys';
import { DIGEST_BYTES, DIGEST_SEED, DIGEST_WORDS, DigestTable, digestBytes, Found, murmur3x86_128Bytes } from './digest';
import { CliError } from './errors';
import type { ItemTemplate } from './items';
import type { EnqueueLock } from './lock';
import type { RecordShards } from './record';
import { loadLuaScript } from '../protocol/lua';
import { bulk, CRLF, ItemBytes, PrebuiltCommand, RpushBatch } from './resp';
import type { SceneRanges } from './scene-lines';
import { groupDigits } from './terminal';

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
  /** The record's shards, to choose the one each batch is recorded in (not for dry runs). */
  readonly record?: RecordShards;
  /** Compute the counts with reads only. */
  readonly dryRun?: boolean;
  readonly batchSize?: number;
  /** Called now and then with the number of input scenes handled so far. */
  readonly onProgress?: (done: number, pushed: number) => void;
}

/**
 * Pushes the items of `scenes` in batches, several batches in flight. Each batch is one atomic
 * transaction (RPUSH, then protocol/lua/enqueue.lua): it checks the run still holds the lock,
 * appends the batch's digests to a shard of the record (`record`) and RPUSHes its items, so a
 * run killed half-way leaves whole batches behind, and a re-run pushes exactly the rest.
 * Membership is decided here, in `table`.
 * Scenes come as byte ranges of the input (scene-lines.ts), hashed and copied without strings.
 */
export async function pushScenes(scenes: AsyncIterable<SceneRanges> | Iterable<SceneRanges>, options: PushOptions): Promise<PushCounts> {
  const { redis, keys, template, mode, runId, table, lock, record, dryRun = false } = options;
  const batchSize = options.batchSize ?? BATCH_SIZE;
  if (mode !== 'none' && !table) throw new Error(`mode '${mode}' needs a digest table`);
  if (!dryRun && !record) throw new Error('a run that pushes needs the record shards');
  const counts: PushCounts = { pushed: 0, duplicateInInput: 0, enqueuedBefore: 0, pendingOrProcessing: 0 };
  const lookup = mode === 'none' ? undefined : table;
  const skipLoaded: 'enqueuedBefore' | 'pendingOrProcessing' = mode === 'force' ? 'pendingOrProcessing' : 'enqueuedBefore';

  // EVAL, not EVALSHA: the source (~2 kB a batch of 5,000 items) makes NOSCRIPT impossible.
  const source = loadLuaScript('enqueue').source;
  const ttl = String(lock?.ttlMs ?? 0);
  // KEYS[2], the record shard, is chosen per batch: the script command is written from the shard on.
  const scriptHead = Buffer.from(`*11\r\n$4\r\nEVAL\r\n${bulk(source)}$1\r\n4\r\n${bulk(keys.enqueueLock)}`);
  const scriptMiddle = `${bulk(keys.pending)}${bulk(keys.attempts)}${bulk(runId)}${bulk(ttl)}`;
  // The shard key, the middle arguments, the count and the digests' header, at most.
  const scriptTailRoom = Buffer.byteLength(bulk(`${keys.enqueued}:${Number.MAX_SAFE_INTEGER}`) + scriptMiddle) + 32;
  const pendingKey = Buffer.from(bulk(keys.pending));
  const itemBytes = new ItemBytes(template);
  const headerSpace = `*${batchSize + 2}\r\n$5\r\nRPUSH\r\n`.length;
  // A first guess for Sentinel-2-sized items; a batch that outgrows it grows, and later batches
  // start at that size.
  let capacity = headerSpace + pendingKey.length + batchSize * 128;
  // Batches whose commands Redis has answered, to be filled again (at most IN_FLIGHT + 1 exist):
  // no garbage of megabytes per batch for the collector.
  const answered: BatchBuffers[] = [];
  const nextBatch = (): BatchBuffers => {
    const reused = answered.pop();
    reused?.rpush.reset();
    if (reused) return reused;
    const script = Buffer.allocUnsafe(scriptHead.length + scriptTailRoom + batchSize * DIGEST_BYTES + CRLF.length);
    scriptHead.copy(script);
    return { rpush: new RpushBatch(pendingKey, itemBytes, headerSpace, capacity), script };
  };

  let consumed = 0; // input scenes looked at
  let done = 0; // input scenes whose batch is acknowledged (or that were skipped before it)
  // The digests of the batch being built; send() copies them into its command at once.
  const digests = new Int32Array(batchSize * DIGEST_WORDS);
  let batch = nextBatch();

  /**
   * Sends one batch as MULTI; RPUSH Q items…; EVAL enqueue.lua; EXEC (see the script for
   * why the items are not arguments of the script). The four commands are written back to back
   * in one synchronous call, so no other command of this connection can land inside the MULTI.
   */
  const send = async (d: Int32Array, count: number, pushBytes: Buffer, script: Buffer): Promise<void> => {
    // The script's arguments after its head: the record shard, the middle ones, the count and the digests.
    const shard = record!.keyFor(count * DIGEST_BYTES);
    let end = scriptHead.length + script.write(`${bulk(shard)}${scriptMiddle}${bulk(String(count))}$${count * DIGEST_BYTES}\r\n`, scriptHead.length);
    end += digestBytes(d, count).copy(script, end);
    end += CRLF.copy(script, end);
    const scriptBytes = script.subarray(0, end);

    const replies = [
      redis.sendCommand(new Command('multi')),
      redis.sendCommand(new PrebuiltCommand('rpush', pushBytes)),
      redis.sendCommand(new PrebuiltCommand('eval', scriptBytes)),
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
    const sent = batch;
    const n = sent.rpush.count;
    if (n > 0 && dryRun) counts.pushed += n;
    if (n > 0 && !dryRun) {
      const p: Promise<void> = send(digests, n, sent.rpush.command(), sent.script).then(
        () => {
          done = Math.max(done, upTo);
          answered.push(sent); // Redis has read its command: its buffer may be written again
          options.onProgress?.(done, counts.pushed);
        },
        (err) => {
          failure ??= err;
        },
      );
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
    if (n > 0) {
      capacity = sent.rpush.capacity;
      if (dryRun) sent.rpush.reset();
      else batch = nextBatch(); // the one sent is still being written
    }
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    if (failure) throw failure;
    if (lock?.isLost) throw lockLost(keys, counts.pushed);
  };

  for await (const chunk of scenes) {
    // Valid until the next chunk is requested; `await flush()` below does not request it.
    const { bytes, starts, ends, count } = chunk;
    for (let i = 0; i < count; i++) {
      const start = starts[i];
      const end = ends[i];
      consumed += 1;
      const off = batch.rpush.count * DIGEST_WORDS;
      murmur3x86_128Bytes(bytes, start, end, DIGEST_SEED, digests, off);
      if (lookup) {
        const found = lookup.add(digests, off, Found.ThisRun);
        if (found !== Found.New) {
          // The digest slot is reused by the next scene.
          if (found === Found.ThisRun) counts.duplicateInInput += 1;
          else counts[skipLoaded] += 1;
          continue;
        }
      }
      batch.rpush.add(bytes, start, end);
      if (batch.rpush.count >= batchSize) await flush();
    }
    if (inFlight.size === 0 && batch.rpush.count === 0) {
      done = consumed;
      options.onProgress?.(done, counts.pushed);
    }
  }
  await flush();
  await Promise.all(inFlight);
  if (failure) throw failure;
  return counts;
}

/** The two commands of a batch, each in a buffer of its own, reused once Redis has answered them. */
interface BatchBuffers {
  readonly rpush: RpushBatch;
  /** The EVAL of enqueue.lua: its head (script, keys, run id, TTL) written once, then the count and digests of each batch. */
  readonly script: Buffer;
}

/** The error of a failed batch: lock lost (exit 1 with what to do), or Redis's own error. */
function batchError(err: unknown, keys: QueueKeys, pushed: number): unknown {
  if (!(err instanceof Error)) return err;
  if (err.message.includes('ARD_LOCK_LOST')) return lockLost(keys, pushed);
  const refused = /ARD_NOT_RECORDED (.*)/.exec(err.message);
  if (refused) return new CliError(refused[1]);
  if (/^(OOM|EXECABORT.*OOM)/.test(err.message)) return new CliError(`Redis is out of memory (maxmemory reached) and refused a batch, which was not pushed: ${err.message}`);
  return err;
}

function lockLost(keys: QueueKeys, pushed: number): CliError {
  return new CliError(
    `this run lost the enqueue lock ${keys.enqueueLock} (it expired or was deleted, and another run may be writing to ${keys.pending}); ` +
      `stopped after pushing ${groupDigits(pushed)} items in whole batches; run it again to push the rest`,
    true,
  );
}
