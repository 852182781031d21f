import { ChildProcess, spawn } from 'child_process';
import { createHash } from 'crypto';
import { readdirSync, readFileSync, writeFileSync } from 'fs';
import * as path from 'path';
import Redis from 'ioredis';
import { parseAllDocuments } from 'yaml';
import { RequeueExpiredResult, requeueExpired } from '../../queue/recovery';

export const ROOT = path.resolve(__dirname, '..', '..');
const WORKER = path.join(ROOT, 'test', 'support', 'lease-worker.cjs');

/** The workers' lease key of `item`: sha224-hex of its UTF-8 bytes. */
export function leaseKey(queue: string, item: string): string {
  return `${queue}:leased_by_session:${createHash('sha224').update(item).digest('hex')}`;
}

/** S2-style JSON items, unique, as the queue tool would enqueue them. */
export function s2Items(n: number, tag = 'T56LRR'): string[] {
  return Array.from({ length: n }, (_, i) => {
    const t = String(i).padStart(6, '0');
    return JSON.stringify({
      in_scene: `S2A_MSIL2A_20190812T${t}_N0213_R030_${tag}_20190813T014708`,
      inter_dir: '/data/intermediate/',
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
 * Runs requeue-expired every `periodMs` on its own connection, as the CronJob would every
 * minute, tolerating a Redis that is down for a while. Call `stop()` to end the loop.
 */
export function recoveryLoop(
  url: string,
  queue: string,
  options: { graceSeconds: number; maxAttempts?: number; periodMs: number },
): { readonly runs: RequeueExpiredResult[]; readonly errors: string[]; stop(): Promise<void> } {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => 100, lazyConnect: false });
  redis.on('error', () => {});
  const runs: RequeueExpiredResult[] = [];
  const errors: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        runs.push(await requeueExpired(redis, queue, options));
      } catch (err) {
        errors.push((err as Error).message);
      }
      await sleep(options.periodMs);
    }
  })();
  return {
    runs,
    errors,
    async stop() {
      running = false;
      await loop;
      redis.disconnect();
    },
  };
}

/**
 * The redis.conf our manifests deploy: the `redis.conf` of the ConfigMap in the committed
 * queue stage, dist/prod/queue/*.k8s.yaml, written to `file`. Throws if no such ConfigMap is committed.
 */
export function writeCommittedRedisConf(file: string): string {
  const distDir = path.join(ROOT, 'dist', 'prod', 'queue');
  const manifests = readdirSync(distDir).filter((f) => f.endsWith('.k8s.yaml'));
  for (const manifest of manifests) {
    for (const doc of parseAllDocuments(readFileSync(path.join(distDir, manifest), 'utf8'))) {
      const obj = doc.toJSON() as { kind?: string; data?: Record<string, string> } | null;
      const conf = obj?.kind === 'ConfigMap' ? obj.data?.['redis.conf'] : undefined;
      if (conf !== undefined) {
        writeFileSync(file, conf);
        return conf;
      }
    }
  }
  throw new Error(`no ConfigMap with data 'redis.conf' in ${distDir}/*.k8s.yaml (${manifests.join(', ') || 'no manifests'})`);
}
