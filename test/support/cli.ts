import { ChildProcess, spawn, SpawnOptions } from 'child_process';
import * as path from 'path';
import type Redis from 'ioredis';

/** The repository root. */
export const ROOT = path.resolve(__dirname, '..', '..');

/** The compiled queue tool, as `npm run queue` runs it (built by `npm test` / `npm run build`). */
export const QUEUE_CLI = path.join(ROOT, 'build', 'queue', 'cli.js');

/** What one run of the queue tool did. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time in ms, start-up included. */
  readonly ms: number;
}

/** Options of a run: text on stdin (else stdin is closed at once) and extra environment. */
export interface CliOptions {
  readonly input?: string;
  readonly env?: Readonly<Record<string, string>>;
}

/** Starts the queue tool in the background with `args` (from the repository root). */
export function spawnCli(args: readonly string[], options: Pick<CliOptions, 'env'> & { stdio?: SpawnOptions['stdio'] } = {}): ChildProcess {
  return spawn(process.execPath, [QUEUE_CLI, ...args], { cwd: ROOT, env: { ...process.env, ...options.env }, stdio: options.stdio ?? 'pipe' });
}

/**
 * SIGKILLs `child`, a run of the queue tool, once `reached()` holds (polled every 2 ms). Writes
 * wait until the kill has landed, so the run cannot finish first however fast this machine
 * is; batches it sent meanwhile die with it (their EXEC never runs) or land whole.
 * @throws Error if the run ended before.
 */
export async function killWhen(child: ChildProcess, redis: Redis, reached: () => Promise<boolean>): Promise<void> {
  let running = true;
  const exited = new Promise((resolve) => child.on('exit', resolve)).finally(() => (running = false));
  while (running && !(await reached())) await new Promise((r) => setTimeout(r, 2));
  if (!running) throw new Error('the run ended before it could be killed');
  await redis.call('CLIENT', 'PAUSE', '5000', 'WRITE');
  child.kill('SIGKILL');
  await exited;
  await redis.call('CLIENT', 'UNPAUSE');
}

/** Runs the queue tool to its end and collects its output. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  return runProcess(process.execPath, [QUEUE_CLI, ...args], options);
}

/** Runs any program (e.g. a test worker) from the repository root to its end and collects its output. */
export function runProcess(command: string, args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...options.env }, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
    // A program may stop reading its input early (EPIPE on its stdin): its exit code tells.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(options.input ?? '');
  });
}
