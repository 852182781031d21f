import { ChildProcess, spawn, SpawnOptions } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { sceneIds } from './scenes';

/** The repository root. */
export const ROOT = path.resolve(__dirname, '..', '..');

/** The compiled queue tool, as bin/ard-queue runs it (built by `npm test` / `npm run build`). */
export const QUEUE_CLI = path.join(ROOT, 'build', 'queue', 'cli.js');

/** The queue tool's command, the wrapper that runs {@link QUEUE_CLI} (the package's `bin`). */
export const ARD_QUEUE = path.join(ROOT, 'bin', 'ard-queue');

/** What one run of the queue tool did. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time in ms, start-up included. */
  readonly ms: number;
  /** Wall time in ms until the first output on stderr (an error's message), if any. */
  readonly stderrMs?: number;
}

/** Options of a run: text on stdin (else stdin is closed at once), extra environment, the directory (else the repository root). */
export interface CliOptions {
  readonly input?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

/** Starts the queue tool in the background with `args` (from the repository root). */
export function spawnCli(args: readonly string[], options: Pick<CliOptions, 'env'> & { stdio?: SpawnOptions['stdio'] } = {}): ChildProcess {
  return spawn(process.execPath, [QUEUE_CLI, ...args], { cwd: ROOT, env: { ...process.env, ...options.env }, stdio: options.stdio ?? 'pipe' });
}

/** Runs the queue tool to its end and collects its output. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  return runProcess(process.execPath, [QUEUE_CLI, ...args], options);
}

/** Runs any program (e.g. a test worker) to its end and collects its output. */
export function runProcess(command: string, args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(command, args, { cwd: options.cwd ?? ROOT, env: { ...process.env, ...options.env }, stdio: 'pipe' });
    child.on('error', reject);
    void exitOf(child, started).then(resolve);
    // A program may stop reading its input early (EPIPE on its stdin): its exit code tells.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(options.input ?? '');
  });
}

/**
 * Collects the output of a child started with piped stdout and stderr (at `started`, for the
 * times); resolves when it has closed.
 */
export function exitOf(child: ChildProcess, started = Date.now()): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  let stderrMs: number | undefined;
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => {
    stderrMs ??= Date.now() - started;
    stderr += d;
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started, stderrMs })));
}

let inputDir: string | undefined;
const scenesFiles = new Map<number, string>();

/** Writes `lines` (one scene ID or other input line each) as the file `name` in this test file's temporary folder. */
export function sceneFile(name: string, lines: readonly string[]): string {
  inputDir ??= mkdtempSync(path.join(tmpdir(), 'ard-queue-input-'));
  const file = path.join(inputDir, name);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

/** A file of the first `count` scene IDs (sceneIds), written once per test file and shared by its tests. */
export function scenesFile(count: number): string {
  let file = scenesFiles.get(count);
  if (file === undefined) {
    file = sceneFile(`scenes-${count}.txt`, sceneIds(count));
    scenesFiles.set(count, file);
  }
  return file;
}
