import * as path from 'path';
import { queueKeys } from '../../protocol/queue-keys';
import { redisEndpointOf, parseCommandArgs, resolveTarget, stringFlag, Target, workflowHelp } from '../args';
import type { CliContext, Subcommand } from '../context';
import { CliError, EXIT, UsageError } from '../errors';
import { onInterrupt } from '../interrupt';
import { enqueueScenes, SceneInput, validateInput } from '../enqueue';
import { FieldFlag, ITEM_FIELD_OPTIONS, ItemTemplate, itemFields } from '../items';
import { lockTtlMs, newRunId } from '../lock';
import { optionsHelp, pickOptions } from '../options';
import { PROGRESS_MIN_TOTAL, ProgressBar } from '../progress';
import type { DedupeMode, PushCounts } from '../push';
import { withRedis } from '../redis';
import { recordShardBytes } from '../record';
import type { RedisEndpoint } from '../redis-url';
import { formatValidationFailure } from '../validate';
import { groupDigits } from '../terminal';

const OPTIONS = pickOptions(
  ['file', 'workflow', 'queue', ...(Object.keys(ITEM_FIELD_OPTIONS) as FieldFlag[]), 'force', 'no-dedupe', 'dry-run', 'allow-empty', 'redis-url', 'password-file', 'timeout', 'json'],
  { 'dry-run': 'validate and report what would be pushed and skipped; push nothing', json: 'print one JSON summary object on stdout' },
);

/** A parsed, checked `enqueue` command line. */
export interface EnqueueRequest {
  readonly target: Target;
  readonly template: ItemTemplate;
  readonly input: SceneInput;
  readonly mode: DedupeMode;
  readonly dryRun: boolean;
  readonly json: boolean;
  /** `--allow-empty`: an input without scene IDs is not an error. */
  readonly allowEmpty: boolean;
  readonly redisUrl: RedisEndpoint;
}

/** Parses and checks `enqueue` arguments without touching Redis or the input. */
export function parseEnqueueArgs(args: readonly string[], ctx: Pick<CliContext, 'env' | 'stdin'>): EnqueueRequest {
  const { values, positionals } = parseCommandArgs('enqueue', args, OPTIONS, true);
  const target = resolveTarget(stringFlag(values, 'workflow'), stringFlag(values, 'queue'));
  const flags: Partial<Record<FieldFlag, string>> = {};
  for (const flag of Object.keys(ITEM_FIELD_OPTIONS) as FieldFlag[]) {
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
    // The caller's directory: bin/ard-queue runs in it, and so does `npm run queue` (it cds to $INIT_CWD).
    input = { kind: 'file', path: path.resolve(file) };
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
    allowEmpty: values['allow-empty'] === true,
    redisUrl: redisEndpointOf(values, ctx.env),
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

const n = groupDigits;

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

async function run(args: readonly string[], ctx: CliContext): Promise<number> {
  const request = parseEnqueueArgs(args, ctx);
  const { workflow, queue } = request.target;
  const started = Date.now();
  const input = await validateInput(request.input, workflow, ctx.stdin);
  let pushed = 0;
  const unregister = onInterrupt(() => pushedSoFar(request, pushed, input.report.valid));
  try {
    const { report } = input;
    if (report.invalid > 0) throw new UsageError(formatValidationFailure(report, input.source, workflow));
    if (report.valid === 0 && !request.allowEmpty) {
      throw new UsageError(`${input.source} holds no scene ID (an upstream command may have failed); nothing pushed. Pass --allow-empty if an empty input is expected`);
    }
    const runId = newRunId();
    const shardBytes = recordShardBytes(ctx.env);
    let counts: PushCounts;
    try {
      counts =
        report.valid === 0
          ? { pushed: 0, duplicateInInput: 0, enqueuedBefore: 0, pendingOrProcessing: 0 }
          : await withRedis(request.redisUrl, async (redis) => {
              const bar = new ProgressBar(ctx.stderr, report.valid, ctx.stderr.isTTY === true && report.valid >= PROGRESS_MIN_TOTAL);
              const result = await enqueueScenes(redis, input.scenes(), {
                queue,
                keys: queueKeys(queue),
                template: request.template,
                mode: request.mode,
                dryRun: request.dryRun,
                runId,
                lockTtlMs: request.dryRun ? 0 : lockTtlMs(ctx.env), // a dry run takes no lock
                valid: report.valid,
                recordShardBytes: shardBytes,
                onProgress: (done, n) => {
                  pushed = n;
                  bar.update(done);
                },
              });
              bar.finish(report.valid);
              return result;
            });
    } catch (err) {
      if (err instanceof UsageError || (err instanceof CliError && err.reportsPushed)) throw err;
      throw new CliError(`${err instanceof Error ? err.message : String(err)}; ${pushedSoFar(request, pushed, report.valid)}`);
    }
    const summary = makeSummary(request, report.valid, counts, runId, Date.now() - started);
    ctx.stdout.write(request.json ? JSON.stringify(summary) + '\n' : formatSummary(summary) + '\n');
    return EXIT.ok;
  } finally {
    unregister();
    input.dispose();
  }
}

/** What a failed or interrupted run leaves: `pushed 20,000 of 1,000,000 items; re-run to finish: nothing will be duplicated`. */
export function pushedSoFar(request: Pick<EnqueueRequest, 'mode' | 'dryRun'>, pushed: number, valid: number): string {
  if (request.dryRun) return 'dry run: nothing pushed';
  if (pushed === 0) return 'nothing pushed';
  const done = `pushed ${n(pushed)} of ${n(valid)} scene${valid === 1 ? '' : 's'} in whole batches`;
  return request.mode === 'none'
    ? `${done}; re-run without --no-dedupe to finish: the record skips what was pushed`
    : `${done}; re-run to finish: nothing will be duplicated`;
}

const HELP = `Usage: ard-queue enqueue [SCENE…] [--file PATH|-] [options]

Validates scene IDs and pushes one JSON work item per scene onto a workflow's Redis queue,
e.g. {"in_scene":"S2A_MSIL2A_20190812T235741_N0213_R030_T56LRR_20190813T014708","inter_dir":"/data/intermediate/"}

Input: scene IDs as arguments, or one per line from --file PATH or stdin (--file -, or piped).
Blank lines and lines starting with # are skipped; surrounding whitespace is trimmed. The whole
input is validated first: if any line is invalid, the first 20 are reported, nothing is pushed,
and the exit code is 2.

Options:
${optionsHelp(OPTIONS)}

Dedupe: every scene pushed is recorded in <queue>:enqueued, strings of 16-byte digests
(MurmurHash3_x86_128 of the scene ID) in shards of 64 MiB (<queue>:enqueued, then
<queue>:enqueued:1, ...; $ARD_RECORD_SHARD_BYTES sets another size), appended together with
the push of each batch. A run
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
