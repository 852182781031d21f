/**
 * Side-by-side timing for the benchmarks: a command and its reference run alternately (A B A B …)
 * after a warm-up run of each, so that both see the same machine, load included; a figure is the
 * median of the pairwise ratios, printed with their min–max, and a verdict is on that median.
 */
import { spawn, spawnSync } from 'child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'fs';
import { cpus, loadavg, tmpdir } from 'os';
import * as path from 'path';

/** The load average when the bench started, for the machine line. */
const LOAD_AT_START = loadavg();

/** One run of a command. */
export interface Run {
  /** Wall time from the spawn to the exit of the process. */
  readonly seconds: number;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Seconds from its first output on stderr (the error message) to its exit; undefined when it wrote none. */
  readonly afterStderr?: number;
  /** Peak RSS in MiB (GNU time `%M`), when the command asked for it. */
  readonly peakRssMiB?: number;
}

export interface Command {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** A file to read as stdin; else stdin is closed. */
  readonly stdinFile?: string;
  /** Run under GNU time (/usr/bin/time) for the peak RSS; its own start-up is in the wall time. */
  readonly peakRss?: boolean;
  /** What to do before each run, untimed (e.g. a clean-up, or restoring the state it starts from). */
  readonly before?: () => void | Promise<void>;
  /** What must hold after each run, untimed (e.g. what it left in Redis); throws if it does not. */
  readonly check?: (run: Run) => void | Promise<void>;
  /** The exit code a run must end with. @default 0 */
  readonly exitCode?: number;
  /** Its name in the progress lines. @default the command and its arguments */
  readonly label?: string;
}

/** Runs `command` to its exit, timing it; fails when it exits with another code than expected or its check fails. */
export async function timeRun(command: Command): Promise<Run> {
  await command.before?.();
  const stdin = command.stdinFile === undefined ? 'ignore' : openSync(command.stdinFile, 'r');
  // GNU time writes its figure to a file, so that stderr stays the command's own.
  const rssFile = command.peakRss ? path.join(mkdtempSync(path.join(tmpdir(), 'ard-bench-')), 'rss') : undefined;
  const [file, args] = rssFile ? ['/usr/bin/time', ['-f', '%M', '-o', rssFile, command.command, ...command.args]] : [command.command, command.args];
  const run = await new Promise<Run>((resolve, reject) => {
    const started = process.hrtime.bigint();
    const since = (at: bigint): number => Number(process.hrtime.bigint() - at) / 1e9;
    const child = spawn(file, args, { cwd: command.cwd, env: { ...process.env, ...command.env }, stdio: [stdin, 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let firstError: bigint | undefined;
    let seconds = NaN;
    let afterStderr: number | undefined;
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => {
      firstError ??= process.hrtime.bigint();
      stderr += chunk;
    });
    child.on('error', reject);
    // Timed at the exit; the output is complete once the pipes have closed.
    child.on('exit', () => {
      afterStderr = firstError === undefined ? undefined : since(firstError);
      seconds = since(started);
    });
    child.on('close', (code) => {
      const expected = command.exitCode ?? 0;
      if (code !== expected) reject(new Error(`${command.command} ${command.args.join(' ')} exited ${code}, expected ${expected}: ${stderr}`));
      else resolve({ seconds, code, stdout, stderr, afterStderr, peakRssMiB: rssFile ? Number(readFileSync(rssFile, 'utf8')) / 1024 : undefined });
    });
  }).finally(() => {
    if (typeof stdin === 'number') closeSync(stdin);
    if (rssFile) rmSync(path.dirname(rssFile), { recursive: true });
  });
  await command.check?.(run);
  return run;
}

/** The timings of a command interleaved with its reference. */
export interface Pairs {
  readonly ours: readonly Run[];
  readonly reference: readonly Run[];
  /** ours / reference, round by round. */
  readonly ratios: readonly number[];
}

/** `rounds` pairs of runs, ours then the reference, after one untimed pair; a progress line on stderr per pair. */
export async function interleaved(ours: Command, reference: Command, rounds: number): Promise<Pairs> {
  const pairs: Array<[Run, Run]> = [];
  for (let round = 0; round <= rounds; round++) {
    const [a, b] = [await timeRun(ours), await timeRun(reference)];
    const rss = a.peakRssMiB === undefined ? '' : `, ${a.peakRssMiB.toFixed(0)} MiB`;
    process.stderr.write(`${ours.label ?? `${ours.command} ${ours.args.join(' ')}`}: ${round === 0 ? 'warm-up' : `round ${round}`}: ${a.seconds.toFixed(3)} s vs ${b.seconds.toFixed(3)} s = ${(a.seconds / b.seconds).toFixed(2)}×${rss}\n`);
    if (round > 0) pairs.push([a, b]);
  }
  return { ours: pairs.map(([a]) => a), reference: pairs.map(([, b]) => b), ratios: pairs.map(([a, b]) => a.seconds / b.seconds) };
}

/** `rounds` runs of a command alone, after one untimed run. */
export async function repeated(command: Command, rounds: number): Promise<Run[]> {
  await timeRun(command);
  const runs: Run[] = [];
  for (let i = 0; i < rounds; i++) runs.push(await timeRun(command));
  return runs;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** `1.23 (1.10–1.40)`: the median and the range, with `digits` decimals. */
export function spread(values: readonly number[], digits = 2): string {
  return `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`;
}

/** `met` or `MISSED`, of a median against its limit. */
export function verdict(value: number, limit: number): string {
  return value <= limit ? 'met' : 'MISSED';
}

/** The machine, for the README: CPU, cores, Node, redis-server, and the load average at the bench's start and now. */
export function machine(): string {
  const redis = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.match(/v=(\S+)/)?.[1] ?? 'not found';
  const load = (l: number[]): string => l.map((x) => x.toFixed(1)).join(' ');
  return `${cpus()[0]?.model.trim()}, ${cpus().length} cores, Node ${process.version}, redis-server ${redis}, load average ${load(LOAD_AT_START)} at the start, ${load(loadavg())} at the end`;
}

/**
 * A positive whole number from the environment variable `name` (a bench setting), else
 * `fallback`. Anything else ends the bench before it starts: exit 2 and one line naming the
 * variable, its value and what is allowed (no stack trace: it is the caller's input).
 */
export function setting(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  if (!/^[1-9]\d*$/.test(value)) {
    process.stderr.write(`error: ${name} must be a positive whole number, got '${value}'\n`);
    process.exit(2);
  }
  return Number(value);
}

/** One line of a benchmark's table. */
export interface Row {
  readonly figure: string;
  readonly reference: string;
  /** Our wall seconds: median (min–max). */
  readonly ours: string;
  /** Our peak RSS in MiB: median (min–max); a column of the table only when a row has it. */
  readonly peakRss?: string;
  readonly referenceSeconds: string;
  /** × the reference: median (min–max) of the pairwise ratios. */
  readonly ratio: string;
  readonly target: string;
  readonly verdict: string;
}

/**
 * The row of a command measured against its reference. Its targets (none: information only): a
 * limit on the median ratio, and one on the median peak RSS (the command measured with `peakRss`).
 */
export function ratioRow(figure: string, reference: string, pairs: Pairs, limit?: number, peakRssLimitMiB?: number): Row {
  const rss = pairs.ours.flatMap((r) => (r.peakRssMiB === undefined ? [] : [r.peakRssMiB]));
  const targets: Array<[string, string]> = [];
  if (limit !== undefined) targets.push([`≤ ${limit}×`, verdict(median(pairs.ratios), limit)]);
  if (peakRssLimitMiB !== undefined) targets.push([`peak RSS ≤ ${peakRssLimitMiB} MiB`, verdict(median(rss), peakRssLimitMiB)]);
  return {
    figure,
    reference,
    ours: spread(pairs.ours.map((r) => r.seconds)),
    peakRss: rss.length === 0 ? undefined : spread(rss, 0),
    referenceSeconds: median(pairs.reference.map((r) => r.seconds)).toFixed(3),
    ratio: spread(pairs.ratios),
    target: targets.map(([target]) => target).join('; '),
    verdict: targets.map(([, met]) => met).join('; '),
  };
}

type Column = readonly [heading: string, align: string, cell: (row: Row) => string];

const RSS_COLUMN: Column = ['ours: peak RSS MiB, median (min–max)', '---:', (r) => r.peakRss ?? ''];

/** The rows as a Markdown table (with a peak RSS column when a row has one), then the verdict on all targets. */
export function table(rows: readonly Row[]): string {
  const columns: Column[] = [
    ['figure', '---', (r) => r.figure],
    ['reference', '---', (r) => r.reference],
    ['ours: wall s, median (min–max)', '---:', (r) => r.ours],
    ...(rows.some((r) => r.peakRss !== undefined) ? [RSS_COLUMN] : []),
    ['reference: wall s, median', '---:', (r) => r.referenceSeconds],
    ['× reference: median (min–max)', '---:', (r) => r.ratio],
    ['target', '---', (r) => r.target],
    ['verdict', '---', (r) => r.verdict],
  ];
  const targets = rows.flatMap((r) => (r.verdict === '' ? [] : r.verdict.split('; '))).length;
  const missed = rows.filter((r) => r.verdict.includes('MISSED')).map((r) => r.figure);
  return [
    `| ${columns.map(([heading]) => heading).join(' | ')} |`,
    `|${columns.map(([, align]) => align).join('|')}|`,
    ...rows.map((r) => `| ${columns.map(([, , cell]) => cell(r)).join(' | ')} |`),
    '',
    missed.length === 0 ? `Verdict on the medians: all ${targets} targets met.` : `Verdict on the medians: MISSED by ${missed.join('; ')}.`,
  ].join('\n') + '\n';
}
