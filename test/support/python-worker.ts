import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as path from 'path';

/** Folder holding the stand-in `rediswq.py` and the S2-style `worker.py`. */
export const PYTHON_WORKER_DIR = path.join(__dirname, 'python');

let python: string | undefined;

/**
 * A python3 that can `import redis` (Debian's python3-redis lives under /usr/bin/python3, while
 * a pyenv python3 may come first on PATH without it).
 */
export function pythonWithRedis(): string {
  if (python) return python;
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(candidate, ['-c', 'import redis'], { stdio: 'ignore' });
      return (python = candidate);
    } catch {
      // try the next one
    }
  }
  throw new Error('no python3 with the redis module: install Debian\'s python3-redis (see .ci/run)');
}

export interface PythonWorkerOptions {
  readonly port: number;
  /** @default "jobS2" */
  readonly queue?: string;
  /** Extra environment: LEASE_SECS, BLOCK_TIMEOUT, WORK_SECONDS, WORK_LOG, POISON, PYTHONPATH, … */
  readonly env?: Readonly<Record<string, string>>;
}

/** Starts `python3 worker.py` the way the image runs it, against a test redis-server. */
export function startPythonWorker(options: PythonWorkerOptions): ChildProcess {
  const extraPath = options.env?.PYTHONPATH;
  return spawn(pythonWithRedis(), [path.join(PYTHON_WORKER_DIR, 'worker.py')], {
    cwd: PYTHON_WORKER_DIR,
    env: {
      PATH: process.env.PATH ?? '',
      ...options.env,
      // The image imports rediswq from its own directory; an injected PYTHONPATH comes first.
      PYTHONPATH: [extraPath, PYTHON_WORKER_DIR].filter(Boolean).join(path.delimiter),
      REDIS_SERVICE_HOST: '127.0.0.1',
      REDIS_SERVICE_PORT: String(options.port),
      QUEUE: options.queue ?? 'jobS2',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
