import { execFile } from 'child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { promisify } from 'util';
import { committedObjects, type Manifest, onlyOfKind } from './manifests';
import { RedisServer } from './redis-server';

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
   * Runs container `name`'s command as written, with its env (Secret references resolved from
   * the test's secrets), and paths on its volumes mapped by `localPath`; `mapArgs` may point
   * host and port at the test server.
   */
  async run(name: string, mapArgs: (argv: string[]) => string[] = (argv) => argv): Promise<{ code: number; stdout: string; stderr: string }> {
    const container = this.container(name);
    const local = (value: string) => {
      try {
        return value.startsWith('/') ? this.localPath(name, value) : value;
      } catch {
        return value; // not on a volume: a path in the image
      }
    };
    const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
    for (const e of container.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      const value = ref ? this.secrets[ref.name]?.[ref.key] : local(e.value);
      if (value !== undefined) env[e.name] = value;
    }
    const [file, ...args] = mapArgs(container.command).map(local);
    try {
      const { stdout, stderr } = await promisify(execFile)(file, args, { env });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Redis as dist/ deploys it: the StatefulSet's init containers run as written (they build the
 * ACL file from the ConfigMap and the given Secret values), then redis-server starts with the
 * committed redis.conf and the Redis container's `--aclfile`, on a free loopback port.
 */
export async function startCommittedRedis(
  secrets: Readonly<Record<string, Readonly<Record<string, string>>>>,
  environment = 'prod',
): Promise<{ server: RedisServer; pod: LocalPod; objects: Manifest[] }> {
  const objects = committedObjects(environment);
  const pod = new LocalPod(objects, onlyOfKind(objects, 'StatefulSet', 'redis'), secrets);
  for (const init of pod.spec.initContainers ?? []) {
    const result = await pod.run(init.name);
    if (result.code !== 0) throw new Error(`init container ${init.name} failed (${result.code}): ${result.stderr}`);
  }
  const [binary, conf, ...args] = pod.container('redis').command as string[];
  if (binary !== 'redis-server') throw new Error(`the Redis container runs ${binary}, not redis-server`);
  const aclFile = args[args.indexOf('--aclfile') + 1];
  const server = await RedisServer.start({
    configFile: pod.localPath('redis', conf),
    args: args.includes('--aclfile') ? ['--aclfile', pod.localPath('redis', aclFile)] : [],
  });
  return { server, pod, objects };
}
