/**
 * Side-by-side timing for the benchmarks: a command and its reference run alternately (A B A B …)
 * after a warm-up run of each, so that both see the same machine, load included; a figure is the
 * median of the pairwise ratios, printed with their min–max, and a verdict is on that median.
 */
import { spawn, spawnSync } from 'child_process';
import { cpus, loadavg } from 'os';

/** One run of a command. */
export interface Run {
  /** Wall time from the spawn to the exit of the process. */
  readonly seconds: number;
  readonly code: number | null;
  readonly stderr: string;
  /** Seconds from its first output on stderr (the error message) to its exit; undefined when it wrote none. */
  readonly afterStderr?: number;
}

export interface Command {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** What to do before each run, untimed (e.g. a clean-up). */
  readonly before?: () => void | Promise<void>;
  /** The exit code a run must end with. @default 0 */
  readonly exitCode?: number;
}

/** Runs `command` to its exit, timing it; fails when it exits with another code than expected. */
export async function timeRun(command: Command): Promise<Run> {
  await command.before?.();
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const since = (at: bigint): number => Number(process.hrtime.bigint() - at) / 1e9;
    const child = spawn(command.command, command.args, { cwd: command.cwd, env: { ...process.env, ...command.env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let firstError: bigint | undefined;
    child.stderr!.on('data', (chunk) => {
      firstError ??= process.hrtime.bigint();
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const afterStderr = firstError === undefined ? undefined : since(firstError);
      const seconds = since(started);
      const expected = command.exitCode ?? 0;
      if (code !== expected) reject(new Error(`${command.command} ${command.args.join(' ')} exited ${code}, expected ${expected}: ${stderr}`));
      else resolve({ seconds, code, stderr, afterStderr });
    });
  });
}

/** The timings of a command interleaved with its reference. */
export interface Pairs {
  readonly ours: readonly Run[];
  readonly reference: readonly Run[];
  /** ours / reference, round by round. */
  readonly ratios: readonly number[];
}

/** `rounds` pairs of runs, ours then the reference, after one untimed run of each. */
export async function interleaved(ours: Command, reference: Command, rounds: number): Promise<Pairs> {
  await timeRun(ours);
  await timeRun(reference);
  const pairs: Array<[Run, Run]> = [];
  for (let i = 0; i < rounds; i++) pairs.push([await timeRun(ours), await timeRun(reference)]);
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

/** The machine, for the README: CPU, cores, Node, redis-server, and the load average now. */
export function machine(): string {
  const redis = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.match(/v=(\S+)/)?.[1] ?? 'not found';
  const load = loadavg().map((l) => l.toFixed(1)).join(' ');
  return `${cpus()[0]?.model.trim()}, ${cpus().length} cores, Node ${process.version}, redis-server ${redis}, load average ${load}`;
}

/** One line of a benchmark's table. */
export interface Row {
  readonly figure: string;
  readonly reference: string;
  /** Our wall seconds: median (min–max). */
  readonly ours: string;
  readonly referenceSeconds: string;
  /** × the reference: median (min–max) of the pairwise ratios. */
  readonly ratio: string;
  readonly target: string;
  readonly verdict: string;
}

/** The row of a command measured against its reference, its target a limit on the median ratio (none: information only). */
export function ratioRow(figure: string, reference: string, pairs: Pairs, limit?: number): Row {
  const ratio = median(pairs.ratios);
  return {
    figure,
    reference,
    ours: spread(pairs.ours.map((r) => r.seconds)),
    referenceSeconds: median(pairs.reference.map((r) => r.seconds)).toFixed(3),
    ratio: spread(pairs.ratios),
    target: limit === undefined ? '' : `≤ ${limit}×`,
    verdict: limit === undefined ? '' : verdict(ratio, limit),
  };
}

/** The rows as a Markdown table. */
export function table(rows: readonly Row[]): string {
  const lines = [
    '| figure | reference | ours: wall s, median (min–max) | reference: wall s, median | × reference: median (min–max) | target | verdict |',
    '|---|---|---:|---:|---:|---|---|',
    ...rows.map((r) => `| ${[r.figure, r.reference, r.ours, r.referenceSeconds, r.ratio, r.target, r.verdict].join(' | ')} |`),
  ];
  return lines.join('\n') + '\n';
}
