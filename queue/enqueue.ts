/**
 * The two passes of an enqueue run, apart from the command line: validate the whole input
 * (spooling stdin, which cannot be read twice), then dedupe and push it batch by batch under
 * the queue's enqueue lock.
 */
import { createWriteStream, mkdtempSync, openSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import type { Readable } from 'stream';
import { finished } from 'stream/promises';
import type Redis from 'ioredis';
import type { QueueKeys } from '../protocol/queue-keys';
import type { WorkflowDefinition } from '../protocol/workflows';
import { DIGEST_BYTES, DigestTable } from './digest';
import { CliError, UsageError } from './errors';
import { ItemTemplate, sceneProblem } from './items';
import { onInterrupt } from './interrupt';
import { EnqueueLock } from './lock';
import { checkMemoryHeadroom } from './memory';
import { DedupeMode, PushCounts, pushScenes } from './push';
import { snapshotQueuedScenes } from './queued-scenes';
import { loadRecord, RecordShards, recordShardLengths } from './record';
import { argumentScenes, ChunkChecksums, fileChunks, MAX_LINE_CHARS, readSceneFile, readSceneFileRanges, SceneLine, SceneRanges, sceneRangesOf } from './scene-lines';
import { ValidationReport, validateSceneBytes, validateScenes } from './validate';

/** Where the scene IDs come from. */
export type SceneInput = { readonly kind: 'arguments'; readonly scenes: readonly string[] } | { readonly kind: 'file'; readonly path: string } | { readonly kind: 'stdin' };

/** The validated input of a run, ready for the push pass. */
export interface ValidatedInput {
  /** What messages call the input: `arguments`, `stdin` or the file's path. */
  readonly source: string;
  readonly report: ValidationReport;
  /** The scene IDs again, for the push pass (read a second time, checked unchanged). */
  readonly scenes: () => AsyncIterable<SceneRanges> | Iterable<SceneRanges>;
  /** Removes the stdin spool, if any. */
  dispose(): void;
}

/** The message of a file edited between the two passes. */
function changedWhileEnqueued(source: string, detail = ''): CliError {
  return new CliError(`${source} changed while being enqueued${detail}; batches before the change were pushed, re-run once it is final (dedupe skips them)`);
}

/**
 * The push pass over a file: each chunk is checked against the validation pass's checksums
 * before any of its lines is used, so a file edited in between cannot push unvalidated lines.
 * An all-ASCII file (nearly every input) is scanned as bytes; a file with other bytes (a UTF-8
 * comment, or a Unicode space that trim() strips around a scene ID) is decoded and trimmed as
 * the validation pass did, so that both passes always see the same scene IDs.
 */
async function* unchangedScenes(file: string, checksums: ChunkChecksums): AsyncGenerator<SceneRanges> {
  const changed = (): CliError => changedWhileEnqueued(file);
  const verify = (chunk: Buffer): void => checksums.verify(chunk, changed);
  if (checksums.ascii) yield* readSceneFileRanges(file, verify);
  else yield* sceneRangesOf(readSceneFile(file, { onChunk: verify }));
  checksums.verifyComplete(changed);
}

/** Re-validates in the push pass (Node without zlib.crc32): a file edited between the two passes must not push bad items. */
async function* revalidated(lines: AsyncIterable<SceneLine[]>, workflow: WorkflowDefinition, source: string): AsyncGenerator<SceneLine[]> {
  for await (const chunk of lines) {
    for (const { line, scene } of chunk) {
      const problem = sceneProblem(workflow, scene);
      if (problem) throw changedWhileEnqueued(source, ` (line ${line}: ${problem})`);
    }
    yield chunk;
  }
}

/** Pass 1: validates every scene ID of `input`, pushing nothing. Call `dispose()` when done. */
export async function validateInput(input: SceneInput, workflow: WorkflowDefinition, stdin: Readable): Promise<ValidatedInput> {
  if (input.kind === 'arguments') {
    const scenes = input.scenes;
    const report = await validateScenes(argumentScenes(scenes), workflow, 'argument');
    return { source: 'arguments', report, scenes: () => sceneRangesOf(argumentScenes(scenes)), dispose: () => undefined };
  }
  if (input.kind === 'file') {
    const file = input.path;
    checkReadable(file);
    if (ChunkChecksums.available) {
      // The push pass checks the file is unchanged chunk by chunk instead of validating again.
      const checksums = new ChunkChecksums();
      const report = await validateSceneBytes(fileChunks(file), workflow, { onChunk: (chunk) => checksums.record(chunk), maxLineChars: MAX_LINE_CHARS });
      return { source: file, report, scenes: () => unchangedScenes(file, checksums), dispose: () => undefined };
    }
    const report = await validateSceneBytes(fileChunks(file), workflow, { maxLineChars: MAX_LINE_CHARS });
    return { source: file, report, scenes: () => sceneRangesOf(revalidated(readSceneFile(file), workflow, file)), dispose: () => undefined };
  }
  const spoolDir = mkdtempSync(path.join(tmpdir(), 'ard-enqueue-'));
  const unregister = onInterrupt(() => rmSync(spoolDir, { recursive: true, force: true }));
  const dispose = (): void => {
    unregister();
    rmSync(spoolDir, { recursive: true, force: true });
  };
  const spoolFile = path.join(spoolDir, 'scenes.txt');
  // Opened here, not later by the stream: input refused in its first chunk removes the folder
  // at once, and a stream still opening its file then would fail (ENOENT) after the refusal.
  const spool = createWriteStream(spoolFile, { fd: openSync(spoolFile, 'w') });
  try {
    const report = await validateSceneBytes(stdin, workflow, { spool, maxLineChars: MAX_LINE_CHARS });
    spool.end();
    await finished(spool);
    return { source: 'stdin', report, scenes: () => readSceneFileRanges(spoolFile), dispose }; // our own file of valid (ASCII) scene IDs
  } catch (err) {
    spool.destroy();
    dispose();
    throw err;
  }
}

/** A scene ID of typical length (Sentinel-2's 60 characters), for the memory estimate. */
const TYPICAL_SCENE = 'S'.repeat(60);

/** What the push pass needs besides the connection. */
export interface EnqueueOptions {
  readonly queue: string;
  readonly keys: QueueKeys;
  readonly template: ItemTemplate;
  readonly mode: DedupeMode;
  readonly dryRun: boolean;
  readonly runId: string;
  readonly lockTtlMs: number;
  /** Valid scene IDs of the input (sizes the digest table). */
  readonly valid: number;
  /** Bytes per shard of the dedupe record (recordShardBytes). */
  readonly recordShardBytes: number;
  readonly onProgress?: (done: number, pushed: number) => void;
}

/**
 * Pass 2: dedupes and pushes `scenes`. A dry run only reads; a real run holds the queue's
 * enqueue lock from before it reads the record until its last batch, and releases it on every path.
 */
export async function enqueueScenes(
  redis: Redis,
  scenes: AsyncIterable<SceneRanges> | Iterable<SceneRanges>,
  options: EnqueueOptions,
): Promise<PushCounts> {
  const { keys, mode, dryRun, valid } = options;
  const lock = dryRun ? undefined : await EnqueueLock.acquire(redis, options.queue, keys, options.runId, options.lockTtlMs);
  // Ctrl-C: batches already sent complete or not as a whole; the release queues behind them.
  const unregister = onInterrupt(() => lock?.release());
  try {
    let table: DigestTable | undefined;
    // Read in every mode that writes, to choose the shard to append to; refuses a record of another format.
    const lengths = mode === 'dedupe' || !dryRun ? await recordShardLengths(redis, keys) : [];
    if (mode === 'dedupe') {
      // Sized for the larger of the input and the record, not their sum: a re-run's scenes are
      // mostly recorded already (a table for both would double the run's memory), and it grows if not.
      table = new DigestTable(Math.max(valid, lengths.reduce((sum, n) => sum + n, 0) / DIGEST_BYTES));
      await loadRecord(redis, keys, lengths, table);
    } else if (mode === 'force') {
      table = await snapshotQueuedScenes(redis, keys, new DigestTable(valid));
    }
    if (!dryRun) {
      await checkMemoryHeadroom(redis, { items: valid, itemBytes: Buffer.byteLength(options.template.item(TYPICAL_SCENE)), recordBytes: DIGEST_BYTES });
    }
    return await pushScenes(scenes, {
      redis,
      keys,
      template: options.template,
      mode,
      runId: options.runId,
      table,
      lock,
      record: dryRun ? undefined : new RecordShards(keys, lengths, options.recordShardBytes),
      dryRun,
      onProgress: options.onProgress,
    });
  } finally {
    unregister();
    await lock?.release();
  }
}

function checkReadable(file: string): void {
  try {
    if (!statSync(file).isFile()) throw new UsageError(`--file '${file}' is not a regular file`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`--file '${file}' cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
