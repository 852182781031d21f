import { ChildProcess, spawn } from 'child_process';
import { writeFileSync } from 'fs';
import * as path from 'path';
import { ROOT } from '../support/cli';
import { committedObjects } from '../support/manifests';
import { sleep } from '../support/wait';

const WORKER = path.join(ROOT, 'test', 'support', 'lease-worker.cjs');

/** One lease-worker.cjs process and what it printed. */
export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly taken: string[];
  /** Items whose work finished; their completion (LREM) may not have been acknowledged. */
  readonly worked: string[];
  readonly done: string[];
  /** Resolves with the exit code (null if killed by a signal) and the signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts a worker following the lease protocol. `env` as documented in lease-worker.cjs. */
export function startWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, [WORKER], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const taken: string[] = [];
  const worked: string[] = [];
  const done: string[] = [];
  let buffer = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    buffer += chunk;
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) {
      if (line.startsWith('TAKE ')) taken.push(line.slice(5));
      else if (line.startsWith('WORKED ')) worked.push(line.slice(7));
      else if (line.startsWith('DONE ')) done.push(line.slice(5));
    }
  });
  child.stderr!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, taken, worked, done, exited };
}

/**
 * Emulates a work-queue Job with restartPolicy OnFailure: `parallelism` worker slots; a worker
 * that fails (killed, or exit 1 after losing Redis) is restarted in its slot (with `restartEnv`,
 * so one-shot faults like DIE_AFTER are not repeated); a worker that exits 0 is done.
 */
export class FakeJob {
  readonly workers: WorkerProcess[] = [];
  /** The latest worker of each slot. */
  readonly current: WorkerProcess[] = [];
  private readonly slots: Promise<void>[];
  private stopped = false;

  constructor(
    envs: Record<string, string>[],
    private readonly restartEnv?: (slot: number) => Record<string, string>,
    private readonly restartDelayMs = 200,
  ) {
    this.slots = envs.map((env, slot) => this.runSlot(slot, env));
  }

  private async runSlot(slot: number, env: Record<string, string>): Promise<void> {
    for (let first = true; ; first = false) {
      const worker = startWorker(first || !this.restartEnv ? env : this.restartEnv(slot));
      this.workers.push(worker);
      this.current[slot] = worker;
      const { code } = await worker.exited;
      if (code === 0 || this.stopped || !this.restartEnv) return;
      await sleep(this.restartDelayMs);
      if (this.stopped) return;
    }
  }

  /** Resolves when every slot has a worker that exited 0 (or gave up); rejects after `timeoutMs`. */
  async completed(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Job did not complete within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([Promise.all(this.slots), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills every worker still running (test clean-up). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await Promise.all(this.workers.map((w) => w.exited));
  }

  get taken(): string[] {
    return this.workers.flatMap((w) => w.taken);
  }

  get worked(): string[] {
    return this.workers.flatMap((w) => w.worked);
  }

  get done(): string[] {
    return this.workers.flatMap((w) => w.done);
  }

  /** Exit results of all workers, in start order. */
  async exits(): Promise<{ code: number | null; signal: NodeJS.Signals | null }[]> {
    return Promise.all(this.workers.map((w) => w.exited));
  }
}

/**
 * A file our manifests mount, as committed: data key `dataKey` of a ConfigMap in the committed
 * dist/prod/<stage>/*.k8s.yaml, written to `file` and returned. Throws if no such ConfigMap is committed.
 */
export function writeCommittedConfigMapFile(dataKey: string, file: string): string {
  const configMaps = committedObjects('prod').filter((o) => o.kind === 'ConfigMap' && o.data?.[dataKey] !== undefined);
  if (configMaps.length !== 1) throw new Error(`expected one committed ConfigMap with data '${dataKey}' in dist/prod/, found ${configMaps.length}`);
  const content: string = configMaps[0].data[dataKey];
  writeFileSync(file, content);
  return content;
}

/** The redis.conf our manifests deploy (see writeCommittedConfigMapFile). */
export function writeCommittedRedisConf(file: string): string {
  return writeCommittedConfigMapFile('redis.conf', file);
}
