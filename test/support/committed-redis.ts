import { ChildProcess } from 'child_process';
import { committedObjects, type Manifest, onlyOfKind } from './manifests';
import { LocalPod, Output } from './pod';
import { freePort, pingOnce } from './redis-server';

/**
 * The Redis container of dist/'s StatefulSet, running on this machine as the kubelet runs it:
 * its command (the start-up script) as written, with its env, paths on its volumes mapped
 * into the LocalPod's temp dir, and `REDIS_PORT` a free loopback port.
 */
export class CommittedRedis {
  private process?: ChildProcess;
  private exit?: Promise<number | null>;
  /** Everything the current run of the container printed (the script's and Redis's log). */
  output?: Output;

  constructor(private readonly pod: LocalPod, readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The data directory (the `data` volume). */
  get dir(): string {
    return this.pod.env('redis').REDIS_DATA_DIR;
  }

  /** Pid of the container's main process (the start-up script). */
  get pid(): number | undefined {
    return this.process?.pid;
  }

  /** Starts the container (again) and resolves once its readiness probe, as dist/ writes it, passes. */
  async restart(): Promise<void> {
    this.start();
    await this.ready();
  }

  /**
   * Starts the container's command in the background; `path` replaces its PATH (only to run
   * its programs through a test's wrappers).
   */
  start(options: { path?: string } = {}): ChildProcess {
    if (this.process) throw new Error('the Redis container is running: kill or stop it first');
    const child = this.pod.spawn('redis', { REDIS_PORT: String(this.port), ...(options.path ? { PATH: options.path } : {}) });
    this.process = child;
    this.output = new Output(child);
    this.exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    return child;
  }

  /** Resolves once the readiness probe passes; rejects, showing the log, if the container exits first. */
  async ready(timeoutMs = 60_000): Promise<void> {
    const child = this.process;
    if (!child) throw new Error('the Redis container is not running');
    const deadline = Date.now() + timeoutMs;
    while ((await this.probe('readinessProbe')) !== 0) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`the Redis container exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${this.output?.text}`);
      }
      if (Date.now() > deadline) throw new Error(`the Redis container was not ready within ${timeoutMs} ms:\n${this.output?.text}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Runs a probe of the Redis container (`readinessProbe`, `livenessProbe`) as the kubelet does;
   * resolves with its exit code. `path` replaces its PATH (only to run it through a test's wrappers).
   */
  async probe(kind: 'readinessProbe' | 'livenessProbe', options: { path?: string } = {}): Promise<number> {
    const env = { REDIS_PORT: String(this.port), ...(options.path ? { PATH: options.path } : {}) };
    const probe = this.pod.spawn('redis', env, this.pod.container('redis')[kind].exec.command);
    probe.stdout?.resume();
    probe.stderr?.resume();
    return new Promise((resolve) => probe.once('close', (code) => resolve(code ?? -1)));
  }

  /** Kills the container at once (SIGKILL of the script, redis-server and all): a crash, an OOM kill. */
  async kill(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child?.pid) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await this.exit;
    // redis-server is no child of ours: wait until its listener is gone with it.
    const deadline = Date.now() + 10_000;
    while (await pingOnce(this.port)) {
      if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} still answers after SIGKILL`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /**
   * Stops the container as the kubelet does: SIGTERM to its main process, which Redis gets and
   * shuts down on (fsyncing its AOF); SIGKILL after the pod's terminationGracePeriodSeconds.
   * Resolves with the container's exit code (null when it had to be killed).
   */
  async stop(): Promise<number | null> {
    const child = this.process;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) {
      this.process = undefined;
      return child?.exitCode ?? null;
    }
    child.kill('SIGTERM');
    const graceMs = (this.pod.spec.terminationGracePeriodSeconds ?? 30) * 1000;
    const grace = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
    const code = await Promise.race([this.exit!, grace]);
    if (code === 'timeout') {
      await this.kill();
      return null;
    }
    this.process = undefined;
    return code;
  }
}

/**
 * Redis as dist/ deploys it: the StatefulSet's init containers run as written (they build the
 * ACL file from the ConfigMap and the given Secret values), then the Redis container's command
 * (its start-up script) as written, on a free loopback port.
 */
export async function startCommittedRedis(
  secrets: Readonly<Record<string, Readonly<Record<string, string>>>>,
  environment = 'prod',
): Promise<{ server: CommittedRedis; pod: LocalPod; objects: Manifest[] }> {
  const objects = committedObjects(environment);
  const pod = new LocalPod(objects, onlyOfKind(objects, 'StatefulSet', 'redis'), secrets);
  for (const init of pod.spec.initContainers ?? []) {
    const result = await pod.run(init.name);
    if (result.code !== 0) throw new Error(`init container ${init.name} failed (${result.code}): ${result.stderr}`);
  }
  const server = new CommittedRedis(pod, await freePort());
  await server.restart();
  return { server, pod, objects };
}
