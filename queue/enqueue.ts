import { createWriteStream, mkdtempSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { finished } from 'stream/promises';
import { queueKeys } from '../protocol/queue-keys';
import type { WorkflowDefinition } from '../protocol/workflows';
import { COMMON_OPTIONS, parseCommandArgs, resolveRedisUrl, resolveTarget, stringFlag, Target, workflowHelp } from './args';
import type { CliContext, Subcommand } from './context';
import { CliError, EXIT, UsageError } from './errors';
import { FieldFlag, FIELD_FLAGS, ItemTemplate, itemFields, sceneProblem } from './items';
import { PROGRESS_MIN_TOTAL, ProgressBar } from './progress';
import { DIGEST_BYTES, DigestTable } from './digest';
import { EnqueueLock, lockTtlMs } from './lock';
import { DedupeMode, loadRecord, newRunId, PushCounts, pushScenes, recordLength, snapshotQueuedScenes } from './push';
import { withRedis } from './redis';
import { argumentScenes, ChunkChecksums, readSceneFile, readSceneFileRanges, readSceneLines, SceneLine, SceneRanges, sceneRangesOf } from './scene-lines';
import { formatValidationFailure, validateScenes } from './validate';

const OPTIONS = {
  ...COMMON_OPTIONS,
  file: { type: 'string', short: 'f' },
  'inter-dir': { type: 'string' },
  's3-bucket': { type: 'string' },
  's3-dir': { type: 'string' },
  'no-dedupe': { type: 'boolean' },
  force: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
} as const;

/** Where the scene IDs come from. */
export type SceneInput = { readonly kind: 'arguments'; readonly scenes: readonly string[] } | { readonly kind: 'file'; readonly path: string } | { readonly kind: 'stdin' };

/** A parsed, checked `enqueue` command line. */
export interface EnqueueRequest {
  readonly target: Target;
  readonly template: ItemTemplate;
  readonly input: SceneInput;
  readonly mode: DedupeMode;
  readonly dryRun: boolean;
  readonly json: boolean;
  readonly redisUrl: string;
}

/** Parses and checks `enqueue` arguments without touching Redis or the input. */
export function parseEnqueueArgs(args: readonly string[], ctx: Pick<CliContext, 'env' | 'stdin'>): EnqueueRequest {
  const { values, positionals } = parseCommandArgs('enqueue', args, OPTIONS, true);
  const target = resolveTarget(stringFlag(values, 'workflow'), stringFlag(values, 'queue'));
  const flags: Partial<Record<FieldFlag, string>> = {};
  for (const flag of Object.keys(FIELD_FLAGS) as FieldFlag[]) {
    const value = values[flag];
    if (value !== undefined) flags[flag] = value as string;
  }
  const template = new ItemTemplate(itemFields(target.workflow, flags));
  if (values['no-dedupe'] && values.force) throw new UsageError('--no-dedupe and --force cannot be combined');
  const mode: DedupeMode = values['no-dedupe'] ? 'none' : values.force ? 'force' : 'dedupe';
  const file = values.file as string | undefined;
  if (file !== undefined && positionals.length > 0) {
    throw new UsageError('give scene IDs either as arguments or with --file, not both');
  }
  let input: SceneInput;
  if (file === '-') input = { kind: 'stdin' };
  else if (file !== undefined) {
    if (file === '') throw new UsageError('--file must not be empty; use --file - for stdin');
    input = { kind: 'file', path: file };
  } else if (positionals.length > 0) input = { kind: 'arguments', scenes: positionals };
  else if (!ctx.stdin.isTTY) input = { kind: 'stdin' };
  else throw new UsageError('no scene IDs: give them as arguments, with --file PATH, or on stdin (--file -)');
  return {
    target,
    template,
    input,
    mode,
    dryRun: values['dry-run'] === true,
    json: values.json === true,
    redisUrl: resolveRedisUrl(stringFlag(values, 'redis-url'), ctx.env),
  };
}

/** The outcome of one enqueue run, as printed by `--json`. */
export interface EnqueueSummary {
  readonly queue: string;
  readonly workflow: string;
  readonly dryRun: boolean;
  readonly dedupe: DedupeMode;
  /** Valid scene IDs read (repeats included). */
  readonly scenes: number;
  readonly pushed: number;
  readonly skipped: number;
  readonly skippedDuplicateInInput: number;
  readonly skippedEnqueuedBefore: number;
  readonly skippedPendingOrProcessing: number;
  readonly runId: string;
  readonly seconds: number;
}

export function makeSummary(request: EnqueueRequest, scenes: number, counts: PushCounts, runId: string, ms: number): EnqueueSummary {
  return {
    queue: request.target.queue,
    workflow: request.target.workflow.name,
    dryRun: request.dryRun,
    dedupe: request.mode,
    scenes,
    pushed: counts.pushed,
    skipped: counts.duplicateInInput + counts.enqueuedBefore + counts.pendingOrProcessing,
    skippedDuplicateInInput: counts.duplicateInInput,
    skippedEnqueuedBefore: counts.enqueuedBefore,
    skippedPendingOrProcessing: counts.pendingOrProcessing,
    runId,
    seconds: Math.round(ms) / 1000,
  };
}

const n = (x: number): string => x.toLocaleString('en-US');

/** The one-paragraph human summary, e.g. `jobS2 (s2): pushed 3 items; skipped 1 (1 enqueued by an earlier run)`. */
export function formatSummary(s: EnqueueSummary): string {
  const reasons = [
    s.skippedEnqueuedBefore > 0 ? `${n(s.skippedEnqueuedBefore)} enqueued by an earlier run (use --force to push them again)` : '',
    s.skippedPendingOrProcessing > 0 ? `${n(s.skippedPendingOrProcessing)} pending or processing right now` : '',
    s.skippedDuplicateInInput > 0 ? `${n(s.skippedDuplicateInInput)} repeated in the input` : '',
  ].filter((r) => r !== '');
  const verb = s.dryRun ? 'would push' : 'pushed';
  const skipped = s.skipped > 0 ? `; ${s.dryRun ? 'would skip' : 'skipped'} ${n(s.skipped)}: ${reasons.join(', ')}` : '';
  const dedupe = s.dedupe === 'none' ? ', no dedupe check' : s.dedupe === 'force' ? ', --force' : '';
  return `${s.dryRun ? 'dry run, nothing pushed: ' : ''}${s.queue} (${s.workflow}): ${verb} ${n(s.pushed)} item${s.pushed === 1 ? '' : 's'}${skipped} (${n(s.scenes)} scene ID${s.scenes === 1 ? '' : 's'} read${dedupe}, ${s.seconds.toFixed(1)} s)`;
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

async function run(args: readonly string[], ctx: CliContext): Promise<number> {
  const request = parseEnqueueArgs(args, ctx);
  const { workflow, queue } = request.target;
  const started = Date.now();
  let spoolDir: string | undefined;
  try {
    // Pass 1: validate everything (spooling stdin, which cannot be read twice); push nothing yet.
    let source: string;
    let lines: () => AsyncIterable<SceneRanges> | Iterable<SceneRanges>;
    let report;
    if (request.input.kind === 'arguments') {
      const scenes = request.input.scenes;
      source = 'arguments';
      lines = () => sceneRangesOf(argumentScenes(scenes));
      report = await validateScenes(argumentScenes(scenes), workflow, undefined, 'argument');
    } else if (request.input.kind === 'file') {
      const file = request.input.path;
      source = file;
      checkReadable(file);
      if (ChunkChecksums.available) {
        // The push pass checks the file is unchanged chunk by chunk instead of validating again.
        const checksums = new ChunkChecksums();
        report = await validateScenes(readSceneFile(file, { onChunk: (chunk) => checksums.record(chunk) }), workflow);
        lines = () => unchangedScenes(file, checksums);
      } else {
        report = await validateScenes(readSceneFile(file), workflow);
        lines = () => sceneRangesOf(revalidated(readSceneFile(file), workflow, source));
      }
    } else {
      source = 'stdin';
      spoolDir = mkdtempSync(path.join(tmpdir(), 'ard-enqueue-'));
      const spoolFile = path.join(spoolDir, 'scenes.txt');
      const spool = createWriteStream(spoolFile);
      report = await validateScenes(readSceneLines(ctx.stdin), workflow, spool);
      spool.end();
      await finished(spool);
      lines = () => readSceneFileRanges(spoolFile); // our own file of valid (ASCII) scene IDs
    }
    if (report.invalid > 0) throw new UsageError(formatValidationFailure(report, source, workflow));

    // Pass 2: dedupe and push, batch by batch.
    const runId = newRunId();
    const counts =
      report.valid === 0
        ? { pushed: 0, duplicateInInput: 0, enqueuedBefore: 0, pendingOrProcessing: 0 }
        : await withRedis(request.redisUrl, async (redis) => {
            const keys = queueKeys(queue);
            // A dry run only reads; a real run holds the queue's enqueue lock from before it
            // reads the record until its last batch, and releases it on every path.
            const lock = request.dryRun ? undefined : await EnqueueLock.acquire(redis, queue, keys, runId, lockTtlMs(ctx.env));
            try {
              let table: DigestTable | undefined;
              if (request.mode === 'dedupe') {
                const length = await recordLength(redis, keys);
                table = new DigestTable(report.valid + length / DIGEST_BYTES);
                await loadRecord(redis, keys, length, table);
              } else if (request.mode === 'force') {
                table = await snapshotQueuedScenes(redis, keys, new DigestTable(report.valid));
              } else if (!request.dryRun) {
                await recordLength(redis, keys); // refuse a record of another format before appending to it
              }
              const bar = new ProgressBar(ctx.stderr, report.valid, ctx.stderr.isTTY === true && report.valid >= PROGRESS_MIN_TOTAL);
              const result = await pushScenes(lines(), {
                redis,
                keys,
                template: request.template,
                mode: request.mode,
                runId,
                table,
                lock,
                dryRun: request.dryRun,
                onProgress: (done) => bar.update(done),
              });
              bar.finish(report.valid);
              return result;
            } finally {
              await lock?.release();
            }
          });
    const summary = makeSummary(request, report.valid, counts, runId, Date.now() - started);
    ctx.stdout.write(request.json ? JSON.stringify(summary) + '\n' : formatSummary(summary) + '\n');
    return EXIT.ok;
  } finally {
    if (spoolDir) rmSync(spoolDir, { recursive: true, force: true });
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

const HELP = `Usage: npm run queue -- enqueue [SCENE…] [--file PATH|-] [options]

Validates scene IDs and pushes one JSON work item per scene onto a workflow's Redis queue,
e.g. {"in_scene":"S2A_MSIL2A_20190812T235741_N0213_R030_T56LRR_20190813T014708","inter_dir":"/data/intermediate/"}

Input: scene IDs as arguments, or one per line from --file PATH or stdin (--file -, or piped).
Blank lines and lines starting with # are skipped; surrounding whitespace is trimmed. The whole
input is validated first: if any line is invalid, the first 20 are reported, nothing is pushed,
and the exit code is 2.

Options:
  -f, --file PATH|-      read scene IDs from PATH, or from stdin with -
  -w, --workflow NAME    workflow whose queue, scene-ID rule and item fields apply (default s2)
  -q, --queue NAME       queue name (default: the workflow's); alone, selects the workflow owning it
      --inter-dir DIR    item field inter_dir: absolute path ending in '/' (default /data/intermediate/)
      --s3-bucket B      item field s3_bucket (only for workflows that accept it)
      --s3-dir D         item field s3_dir (only for workflows that accept it)
      --force            push scenes even if enqueued by an earlier run (e.g. to reprocess them),
                         but never a second copy of an item that is pending or processing now
      --no-dedupe        skip the dedupe check, for speed: you vouch the scenes are new and the
                         input has no repeats (a repeat is pushed twice); scenes are still
                         recorded, so later runs dedupe
      --dry-run          validate and report what would be pushed and skipped; push nothing
      --redis-url URL    default $REDIS_URL, else redis://127.0.0.1:6379 (a password in the URL works)
      --json             print one JSON summary object on stdout
  -h, --help             show this help

Dedupe: every scene pushed is recorded in <queue>:enqueued, a string of 16-byte digests
(MurmurHash3_x86_128 of the scene ID), appended together with the push of each batch. A run
loads the record, and a scene recorded there is not pushed again, whether its item is still
queued, being processed or already done: re-running a campaign's file, or re-running after an
interrupted run, pushes only what is missing. Repeats within the input are pushed once. Each
batch is recorded and pushed atomically. The summary counts skipped scenes by reason.
--no-dedupe does not load the record (repeats within the input are then pushed twice) but
still records what it pushes. --force records the scenes it pushes again.

One run at a time per queue: a run holds the lock <queue>:enqueue_lock from before it reads
the record until it ends. Another run meanwhile fails at once (exit 1) naming the holder;
a crashed run's lock expires within 30 s. --dry-run only reads and takes no lock.

Workflows:
${workflowHelp()}

Exit codes: 0 done, 2 bad usage or invalid input (nothing pushed), 1 runtime failure (e.g. Redis unreachable).
`;

/** `enqueue`: validate scene IDs and push their work items. */
export const enqueueCommand: Subcommand = {
  summary: 'validate scene IDs and push their work items, deduplicated',
  help: HELP,
  run,
};
