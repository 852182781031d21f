import { ChildProcess, execFile, spawn } from 'child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { promisify } from 'util';
import { type Manifest, onlyOfKind } from './manifests';
import { closed } from './wait';

// A synthesized pod's containers run on this machine as the kubelet would run them: their
// commands as written (sh, redis-cli, redis-server on PATH), their env, their volumes as folders.

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

  /** The command line of container `name`: its command, then its args. */
  argv(name: string): string[] {
    const { command = [], args = [] } = this.container(name);
    if (command.length === 0) throw new Error(`container ${name} has no command`);
    return [...command, ...args];
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
    const [file, ...args] = mapArgs(this.argv(name)).map((a) => this.local(name, a));
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
  spawn(name: string, override: Readonly<Record<string, string>> = {}, argv: readonly string[] = this.argv(name)): ChildProcess {
    const [file, ...args] = argv.map((a) => this.local(name, a));
    return spawn(file, args, { env: this.env(name, override), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Collects a process's stdout and stderr; `waitFor(text)` resolves once the output contains
 * it, and rejects, showing the output, if the process exits first.
 */
export class Output {
  text = '';
  private exit?: string;
  private readonly waiters: { text: string; resolve: () => void; reject: (e: Error) => void }[] = [];

  /** The process's exit code (or signal) once all it wrote has been read (see closed() in wait.ts). */
  readonly closed: Promise<number | NodeJS.Signals>;

  constructor(child: ChildProcess) {
    this.closed = closed(child);
    void this.closed.then((status) => {
      this.exit = `exited (${status})`;
      for (const w of this.waiters.splice(0)) w.reject(this.missing(w.text));
    });
    const add = (chunk: Buffer) => {
      this.text += chunk.toString();
      for (const w of this.waiters.filter((x) => this.text.includes(x.text))) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    };
    child.stdout?.on('data', add);
    child.stderr?.on('data', add);
  }

  waitFor(text: string): Promise<void> {
    if (this.text.includes(text)) return Promise.resolve();
    if (this.exit !== undefined) return Promise.reject(this.missing(text));
    return new Promise((resolve, reject) => this.waiters.push({ text, resolve, reject }));
  }

  private missing(text: string): Error {
    return new Error(`process ${this.exit} without printing ${JSON.stringify(text)}; its output:\n${this.text}`);
  }
}

/** A `mapArgs` for LocalPod.run: the values of redis-cli's `-h` and `-p` pointed at a test server on this machine. */
export function toRedisAt(port: number): (argv: string[]) => string[] {
  return (argv) => argv.map((a, i) => (argv[i - 1] === '-h' ? '127.0.0.1' : argv[i - 1] === '-p' ? String(port) : a));
}
