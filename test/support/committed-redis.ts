import { ChildProcess, execFile, spawn } from 'child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { promisify } from 'util';
import { committedObjects, type Manifest, onlyOfKind } from './manifests';
import { Output } from './pod';
import { freePort, pingOnce } from './redis-server';

/**
 * A pod of dist/ on this machine: each volume is a folder under a temp dir, ConfigMap volumes
 * hold the ConfigMap's files and projected Secret volumes the passwords a test gives, so a
 * container's command runs as written with its paths mapped into the temp dir.
 */
export class LocalPod {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'ard-pod-'));
  readonly spec: Manifest;

  constructor(
    objects: readonly Manifest[],
    workload: Manifest,
    private readonly secrets: Readonly<Record<string, Readonly<Record<string, string>>>> = {},
  ) {
    this.spec = (workload.kind === 'CronJob' ? workload.spec.jobTemplate.spec : workload.spec).template.spec;
    // A StatefulSet's volumeClaimTemplates are volumes of its pods too (e.g. Redis's data).
    for (const claim of workload.spec.volumeClaimTemplates ?? []) mkdirSync(path.join(this.dir, claim.metadata.name));
    for (const volume of this.spec.volumes ?? []) {
      const folder = path.join(this.dir, volume.name);
      mkdirSync(folder);
      if (volume.configMap) {
        const configMap = onlyOfKind(objects, 'ConfigMap', volume.configMap.name);
        for (const [file, content] of Object.entries<string>(configMap.data)) writeFileSync(path.join(folder, file), content);
      }
      for (const source of volume.projected?.sources ?? []) {
        for (const item of source.secret?.items ?? []) {
          const value = secrets[source.secret.name]?.[item.key];
          if (value !== undefined) writeFileSync(path.join(folder, item.path), value);
        }
      }
    }
  }

  container(name: string): Manifest {
    const found = [...(this.spec.initContainers ?? []), ...this.spec.containers].find((c: Manifest) => c.name === name);
    if (!found) throw new Error(`no container ${name}`);
    return found;
  }

  /** Where `containerPath` of container `name` lies on this machine (through its volume mounts). */
  localPath(name: string, containerPath: string): string {
    for (const m of this.container(name).volumeMounts ?? []) {
      if (containerPath === m.mountPath || containerPath.startsWith(m.mountPath + '/')) {
        return path.join(this.dir, m.name, containerPath.slice(m.mountPath.length));
      }
    }
    throw new Error(`${containerPath} is on no volume of container ${name}`);
  }

  /**
   * The environment container `name` runs with: its env (Secret references resolved from the
   * test's secrets, paths on its volumes mapped by `localPath`), then `override`, which may only
   * name variables the container has (e.g. to point it at a test port).
   */
  env(name: string, override: Readonly<Record<string, string>> = {}): Record<string, string> {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
    for (const e of this.container(name).env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      const value = ref ? this.secrets[ref.name]?.[ref.key] : this.local(name, e.value);
      if (value !== undefined) env[e.name] = value;
    }
    for (const [key, value] of Object.entries(override)) {
      if (!(key in env)) throw new Error(`container ${name} has no env var ${key} to override`);
      env[key] = value;
    }
    return env;
  }

  /** `value` mapped by `localPath` when it is a path on a volume of container `name`, else as is. */
  private local(name: string, value: string): string {
    try {
      return value.startsWith('/') ? this.localPath(name, value) : value;
    } catch {
      return value; // not on a volume: a path in the image
    }
  }

  /**
   * Runs container `name`'s command as written, with its env (see `env`), and paths on its
   * volumes mapped by `localPath`; `mapArgs` may point host and port at the test server.
   */
  async run(name: string, mapArgs: (argv: string[]) => string[] = (argv) => argv): Promise<{ code: number; stdout: string; stderr: string }> {
    const [file, ...args] = mapArgs(this.container(name).command).map((a) => this.local(name, a));
    try {
      const { stdout, stderr } = await promisify(execFile)(file, args, { env: this.env(name) });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  /**
   * Starts `argv` (by default container `name`'s command as written) in the background with the
   * container's env (see `env`), in a process group of its own, so that all of it can be
   * killed at once, as the kubelet kills a container.
   */
  spawn(name: string, override: Readonly<Record<string, string>> = {}, argv: readonly string[] = this.container(name).command): ChildProcess {
    const [file, ...args] = argv.map((a) => this.local(name, a));
    return spawn(file, args, { env: this.env(name, override), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

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

  /** Runs a probe of the Redis container (`readinessProbe`, `livenessProbe`) as the kubelet does; resolves with its exit code. */
  async probe(kind: 'readinessProbe' | 'livenessProbe'): Promise<number> {
    const probe = this.pod.spawn('redis', { REDIS_PORT: String(this.port) }, this.pod.container('redis')[kind].exec.command);
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
