/**
 * Policy rules over plain Kubernetes manifests (what `cdk8s synth` writes and users apply).
 *
 * Pure functions of the object list: no cdk8s, no lib/ imports, so a regression in a construct
 * cannot also weaken the rule that should catch it. Each rule returns every violation it finds,
 * each naming the object, the container where relevant, and what is wrong.
 *
 * @see https://kubernetes.io/docs/concepts/security/pod-security-standards/ (v1.27)
 */

/** A plain Kubernetes object, as parsed from YAML or returned by `Testing.synth`. */
export type Manifest = Record<string, any>;

/** One finding of one rule. */
export interface Violation {
  readonly rule: string;
  readonly kind: string;
  readonly name: string;
  readonly container?: string;
  readonly message: string;
}

/** A policy rule: an id (stable, used in test tables), what it enforces, and the check. */
export interface Rule {
  readonly id: string;
  readonly description: string;
  readonly check: (objects: readonly Manifest[]) => Violation[];
}

/** `Kind/name container "c": message`, the form tests assert. */
export function formatViolation(v: Violation): string {
  return `${v.kind}/${v.name}${v.container !== undefined ? ` container "${v.container}"` : ''}: ${v.message}`;
}

// ---------------------------------------------------------------------------------------------
// Where pods are found

/** A pod spec, wherever it sits, with the object that owns it. */
export interface PodRef {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  /** Labels the pods get (the template's, or the Pod's own). */
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly spec: Manifest;
  readonly owner: Manifest;
}

const POD_TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = {
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  PodTemplate: ['template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
  // KEDA creates a Job of this template per scale-up: its pods are checked like the Job's.
  ScaledJob: ['spec', 'jobTargetRef', 'template'],
};

/** Every pod spec in `objects`: Pods, and the pod templates of every workload kind. */
export function podSpecs(objects: readonly Manifest[]): PodRef[] {
  const refs: PodRef[] = [];
  for (const o of objects) {
    const path = POD_TEMPLATE_PATHS[o?.kind];
    const template = o?.kind === 'Pod' ? o : path?.reduce<any>((at, key) => at?.[key], o);
    if (template === undefined) continue;
    refs.push({
      kind: o.kind,
      name: o.metadata?.name ?? '',
      namespace: o.metadata?.namespace,
      labels: template.metadata?.labels ?? {},
      annotations: template.metadata?.annotations ?? {},
      spec: template.spec ?? {},
      owner: o,
    });
  }
  return refs;
}

type ContainerType = 'containers' | 'initContainers' | 'ephemeralContainers';

/** Every container of a pod spec, init and ephemeral ones included. */
export function containersOf(spec: Manifest): Array<{ container: Manifest; type: ContainerType }> {
  return (['initContainers', 'containers', 'ephemeralContainers'] as const)
    .flatMap((type) => ((spec[type] ?? []) as Manifest[]).map((container) => ({ container, type })));
}

const COMPONENT = 'app.kubernetes.io/component';

/**
 * Worker pods run third-party images (satapps/ard-workflow-*) that run as root and write
 * outside their scratch path. Their main containers are exempt from the non-root checks and
 * from the read-only root filesystem; everything else (and their init containers) is not.
 */
export function isWorkerPod(pod: PodRef): boolean {
  return pod.labels[COMPONENT] === 'worker';
}

/** The Redis server pods: the label the Services and the NetworkPolicy select them by. */
export function isRedisPod(pod: PodRef): boolean {
  return pod.labels['app.kubernetes.io/name'] === 'redis';
}

/** The label selectors of Services, NetworkPolicies and workloads (matchLabels + matchExpressions). */
export function selectorMatches(selector: Manifest | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (selector === undefined || selector === null) return false;
  const matchLabels: Record<string, string> = selector.matchLabels ?? {};
  const expressions: Manifest[] = selector.matchExpressions ?? [];
  return Object.entries(matchLabels).every(([k, v]) => labels[k] === v) &&
    expressions.every((e) => {
      const has = Object.prototype.hasOwnProperty.call(labels, e.key);
      switch (e.operator) {
        case 'In': return has && (e.values ?? []).includes(labels[e.key]);
        case 'NotIn': return !has || !(e.values ?? []).includes(labels[e.key]);
        case 'Exists': return has;
        case 'DoesNotExist': return !has;
        default: return false;
      }
    });
}

// ---------------------------------------------------------------------------------------------
// Pod Security Standards

/** A failed PSS check of one pod, before it becomes a Violation of some rule. */
interface PssFinding {
  readonly container?: string;
  readonly message: string;
  /** Checks the documented worker exemption covers. */
  readonly runAsNonRoot?: boolean;
}

const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE',
  'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT',
]);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range', 'net.ipv4.ip_local_reserved_ports',
]);
const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t']);
const RESTRICTED_VOLUME_TYPES = new Set([
  'configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret',
]);

function seLinuxProblem(options: Manifest | undefined): string | undefined {
  if (options === undefined) return undefined;
  if (!SELINUX_TYPES.has(options.type ?? '')) return `seLinuxOptions.type ${JSON.stringify(options.type)} is not allowed`;
  if (options.user !== undefined || options.role !== undefined) return 'seLinuxOptions.user/role must not be set';
  return undefined;
}

/** Checks of the baseline profile: no known privilege escalation. */
function baselineFindings(pod: PodRef): PssFinding[] {
  const out: PssFinding[] = [];
  const spec = pod.spec;
  const podSc: Manifest = spec.securityContext ?? {};
  for (const host of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
    if (spec[host] === true) out.push({ message: `${host} must not be true` });
  }
  for (const v of (spec.volumes ?? []) as Manifest[]) {
    if (v.hostPath !== undefined) out.push({ message: `volume "${v.name}" is a hostPath volume` });
  }
  if (podSc.windowsOptions?.hostProcess === true) out.push({ message: 'windowsOptions.hostProcess must not be true' });
  if (podSc.seccompProfile?.type === 'Unconfined') out.push({ message: 'seccompProfile.type must not be Unconfined' });
  const podSeLinux = seLinuxProblem(podSc.seLinuxOptions);
  if (podSeLinux) out.push({ message: podSeLinux });
  for (const s of (podSc.sysctls ?? []) as Manifest[]) {
    if (!SAFE_SYSCTLS.has(s.name)) out.push({ message: `sysctl ${s.name} is not in the safe set` });
  }
  for (const [key, value] of Object.entries(pod.annotations)) {
    if (key.startsWith('container.apparmor.security.beta.kubernetes.io/') && value !== 'runtime/default' && !value.startsWith('localhost/')) {
      out.push({ message: `AppArmor profile ${JSON.stringify(value)} is not allowed (${key})` });
    }
  }
  for (const { container: c } of containersOf(spec)) {
    const sc: Manifest = c.securityContext ?? {};
    const at = (message: string) => out.push({ container: c.name, message });
    if (sc.privileged === true) at('privileged must not be true');
    if (sc.windowsOptions?.hostProcess === true) at('windowsOptions.hostProcess must not be true');
    for (const cap of (sc.capabilities?.add ?? []) as string[]) {
      if (!BASELINE_CAPABILITIES.has(cap)) at(`capability ${cap} must not be added`);
    }
    for (const p of (c.ports ?? []) as Manifest[]) {
      if (p.hostPort !== undefined && p.hostPort !== 0) at(`port ${p.containerPort} must not set hostPort (${p.hostPort})`);
    }
    if (sc.procMount !== undefined && sc.procMount !== 'Default') at(`procMount must be Default, got ${sc.procMount}`);
    if (sc.seccompProfile?.type === 'Unconfined') at('seccompProfile.type must not be Unconfined');
    const seLinux = seLinuxProblem(sc.seLinuxOptions);
    if (seLinux) at(seLinux);
  }
  return out;
}

/** Checks the restricted profile adds to baseline (hardening best practice). */
function restrictedOnlyFindings(pod: PodRef): PssFinding[] {
  const out: PssFinding[] = [];
  const spec = pod.spec;
  const podSc: Manifest = spec.securityContext ?? {};
  for (const v of (spec.volumes ?? []) as Manifest[]) {
    const type = Object.keys(v).find((k) => k !== 'name');
    if (type === undefined || !RESTRICTED_VOLUME_TYPES.has(type)) out.push({ message: `volume "${v.name}" has type ${type}, not allowed by restricted` });
  }
  if (podSc.runAsNonRoot === false) out.push({ message: 'securityContext.runAsNonRoot must not be false', runAsNonRoot: true });
  for (const { container: c } of containersOf(spec)) {
    const sc: Manifest = c.securityContext ?? {};
    const at = (message: string, runAsNonRoot = false) => out.push({ container: c.name, message, runAsNonRoot });
    if (sc.allowPrivilegeEscalation !== false) at('allowPrivilegeEscalation must be false');
    if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) at('runAsNonRoot must be true (in the pod or the container)', true);
    if ((sc.runAsUser ?? podSc.runAsUser) === 0) at('runAsUser must not be 0', true);
    const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') at('seccompProfile.type must be RuntimeDefault or Localhost (in the pod or the container)');
    if (!((sc.capabilities?.drop ?? []) as string[]).includes('ALL')) at('capabilities must drop ALL');
    for (const cap of (sc.capabilities?.add ?? []) as string[]) {
      if (cap !== 'NET_BIND_SERVICE') at(`capability ${cap} must not be added (only NET_BIND_SERVICE)`);
    }
  }
  return out;
}

/** The strictest Pod Security Standards level a pod passes, ignoring any exemption. */
export function podSecurityLevel(pod: PodRef): 'privileged' | 'baseline' | 'restricted' {
  if (baselineFindings(pod).length > 0) return 'privileged';
  return restrictedOnlyFindings(pod).length > 0 ? 'baseline' : 'restricted';
}

const podViolation = (rule: string, pod: PodRef) => (f: { container?: string; message: string }): Violation => ({
  rule, kind: pod.kind, name: pod.name, ...(f.container !== undefined ? { container: f.container } : {}), message: f.message,
});

const pssBaseline: Rule = {
  id: 'pss-baseline',
  description: 'Every pod, workers included, passes the baseline Pod Security Standard (no privileged, host namespaces, hostPath, hostPort, extra capabilities, unsafe sysctls, procMount, SELinux/AppArmor/seccomp overrides).',
  check: (objects) => podSpecs(objects).flatMap((pod) => baselineFindings(pod).map(podViolation('pss-baseline', pod))),
};

const pssRestricted: Rule = {
  id: 'pss-restricted',
  description: 'Every pod passes the restricted Pod Security Standard (checks beyond baseline), except that worker containers may run as root.',
  check: (objects) => podSpecs(objects).flatMap((pod) => restrictedOnlyFindings(pod)
    // The documented exemption: a worker pod's own settings and its main containers only;
    // its init containers are ours and run restricted.
    .filter((f) => !(isWorkerPod(pod) && f.runAsNonRoot === true &&
      (f.container === undefined || (pod.spec.containers ?? []).some((c: Manifest) => c.name === f.container))))
    .map(podViolation('pss-restricted', pod))),
};

// ---------------------------------------------------------------------------------------------
// Container hardening beyond PSS

/**
 * Paths where a non-worker container may mount a writable volume, by `<pod component>/<container>`.
 * Anything else writable must be argued for here.
 */
export const WRITABLE_MOUNTS: Readonly<Record<string, readonly string[]>> = {
  // The append-only file; the in-memory ACL folder, where the start-up script writes the ACL
  // Redis loads its data with, then copies the real one over it (lib/redis-start.ts).
  'queue-store/redis': ['/data', '/run/redis-acl'],
  // The ACL file built at start-up (an in-memory emptyDir).
  'queue-store/acl': ['/run/redis-acl'],
};

/** Volume types the kubelet always mounts read-only. */
const READ_ONLY_VOLUME_TYPES = new Set(['configMap', 'secret', 'downwardAPI', 'projected']);

const readOnlyRootFilesystem: Rule = {
  id: 'read-only-root-filesystem',
  description: 'Every container except worker containers has a read-only root filesystem and writable volumes only at the paths in WRITABLE_MOUNTS.',
  check: (objects) => podSpecs(objects).flatMap((pod) => {
    const volumes = new Map<string, Manifest>(((pod.spec.volumes ?? []) as Manifest[]).map((v) => [v.name, v]));
    return containersOf(pod.spec)
      .filter(({ type }) => !(isWorkerPod(pod) && type === 'containers'))
      .flatMap(({ container: c }) => {
        const out: Violation[] = [];
        const at = (message: string) => out.push({ rule: 'read-only-root-filesystem', kind: pod.kind, name: pod.name, container: c.name, message });
        if (c.securityContext?.readOnlyRootFilesystem !== true) at('readOnlyRootFilesystem must be true');
        const allowed = WRITABLE_MOUNTS[`${pod.labels[COMPONENT]}/${c.name}`] ?? [];
        for (const m of (c.volumeMounts ?? []) as Manifest[]) {
          const volume = volumes.get(m.name);
          // A volumeClaimTemplate has no entry in volumes: it is a writable PVC.
          const type = volume === undefined ? 'persistentVolumeClaim' : Object.keys(volume).find((k) => k !== 'name') ?? '';
          if (m.readOnly !== true && !READ_ONLY_VOLUME_TYPES.has(type) && !allowed.includes(m.mountPath)) {
            at(`writable ${type} volume "${m.name}" at ${m.mountPath} is not needed (allowed: ${allowed.join(', ') || 'none'})`);
          }
        }
        return out;
      });
  }),
};

const noServiceAccountToken: Rule = {
  id: 'no-service-account-token',
  description: 'Every pod sets automountServiceAccountToken: false: none of them talks to the Kubernetes API.',
  check: (objects) => podSpecs(objects)
    .filter((pod) => pod.spec.automountServiceAccountToken !== false)
    .map((pod) => ({ rule: 'no-service-account-token', kind: pod.kind, name: pod.name, message: 'automountServiceAccountToken must be false' })),
};

/** uid and gid of the `redis` user in the official Redis image. */
export const REDIS_UID = 999;

/** Whether `image` is the official Redis image (any tag or digest). */
export function isRedisImage(image: string): boolean {
  const repo = image.split('@')[0].replace(/:[^/:]*$/, '');
  return ['redis', 'library/redis', 'docker.io/redis', 'docker.io/library/redis'].includes(repo);
}

const redisUser: Rule = {
  id: 'redis-user',
  description: `Containers of Redis pods and of the official Redis image run as its redis user (${REDIS_UID}), and Redis pods have fsGroup ${REDIS_UID} so the data volume is theirs.`,
  check: (objects) => podSpecs(objects).flatMap((pod) => {
    const out: Violation[] = [];
    const podSc: Manifest = pod.spec.securityContext ?? {};
    if (isRedisPod(pod) && podSc.fsGroup !== REDIS_UID) {
      out.push({ rule: 'redis-user', kind: pod.kind, name: pod.name, message: `fsGroup must be ${REDIS_UID}, got ${podSc.fsGroup}` });
    }
    for (const { container: c } of containersOf(pod.spec)) {
      const uid = c.securityContext?.runAsUser ?? podSc.runAsUser;
      // A Redis pod with another image still writes the PVC that fsGroup 999 owns.
      if ((isRedisPod(pod) || isRedisImage(String(c.image))) && uid !== REDIS_UID) {
        out.push({ rule: 'redis-user', kind: pod.kind, name: pod.name, container: c.name, message: `runAsUser must be ${REDIS_UID} (the redis user of the official image), got ${uid}` });
      }
    }
    return out;
  }),
};

/** The tag of an image reference, or undefined; a registry port (`host:5000/x`) is no tag. */
export function imageTag(image: string): string | undefined {
  const withoutDigest = image.split('@')[0];
  const last = withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1);
  return last.includes(':') ? last.slice(last.indexOf(':') + 1) : undefined;
}

const imagePinned: Rule = {
  id: 'image-pinned',
  description: 'Every image is pinned by a tag other than latest (a digest may follow).',
  check: (objects) => podSpecs(objects).flatMap((pod) => containersOf(pod.spec).flatMap(({ container: c }): Violation[] => {
    const tag = imageTag(String(c.image ?? ''));
    const message = tag === undefined || tag === '' ? `image ${JSON.stringify(c.image)} has no tag`
      : tag === 'latest' ? `image ${JSON.stringify(c.image)} uses the tag latest` : undefined;
    return message ? [{ rule: 'image-pinned', kind: pod.kind, name: pod.name, container: c.name, message }] : [];
  })),
};

const resources: Rule = {
  id: 'resources',
  description: 'Every container, init containers included, requests cpu and memory and has a memory limit.',
  check: (objects) => podSpecs(objects).flatMap((pod) => containersOf(pod.spec)
    .filter(({ type }) => type !== 'ephemeralContainers') // Kubernetes refuses resources on these.
    .flatMap(({ container: c }) => [
      ['requests', 'cpu'], ['requests', 'memory'], ['limits', 'memory'],
    ].filter(([group, resource]) => c.resources?.[group]?.[resource] === undefined)
      .map(([group, resource]) => ({
        rule: 'resources', kind: pod.kind, name: pod.name, container: c.name,
        message: `has no ${resource} ${group === 'requests' ? 'request' : 'limit'}`,
      })))),
};

const redisProbes: Rule = {
  id: 'redis-probes',
  description: 'The Redis container has a readiness and a liveness probe, and there is a Redis pod.',
  check: (objects) => {
    const pods = podSpecs(objects).filter(isRedisPod);
    if (pods.length === 0) return [missingRedis('redis-probes')];
    return pods.flatMap((pod) => ((pod.spec.containers ?? []) as Manifest[]).flatMap((c) => (['readinessProbe', 'livenessProbe'] as const)
      .filter((probe) => c[probe] === undefined)
      .map((probe) => ({ rule: 'redis-probes', kind: pod.kind, name: pod.name, container: c.name, message: `has no ${probe}` }))));
  },
};

function missingRedis(rule: string): Violation {
  return { rule, kind: 'Pod', name: '(none)', message: 'no Redis pod (label app.kubernetes.io/name=redis) in the output' };
}

/** Commands no authenticated user may run either (ACL `-<command>` on every user but default). */
export const MUST_DISABLE = ['FLUSHALL', 'FLUSHDB', 'DEBUG'] as const;

/**
 * Commands and categories the unauthenticated `default` user must never get: scripting,
 * administration, key scans, and everything that reads or rewrites the server.
 */
export const DEFAULT_USER_FORBIDDEN = [
  'eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro', 'function', 'script', 'shutdown', 'config', 'acl',
  'flushall', 'flushdb', 'keys', 'scan', 'client', 'debug', 'module', 'monitor', 'save', 'bgsave', 'bgrewriteaof',
  'replicaof', 'slaveof', 'migrate', 'restore', 'swapdb', 'sync', 'psync', 'failover', 'info', 'object', 'dump',
  'randomkey', 'sort', 'sort_ro', 'subscribe', 'psubscribe', 'publish', 'latency', 'memory', 'slowlog', 'lastsave', 'cluster',
] as const;

/**
 * The file a container's `<flag> <file>` (or first `*.conf`) argument names, resolved through
 * its volume mounts to the data of a ConfigMap in the output.
 */
function configMapFileOf(container: Manifest, pod: PodRef, objects: readonly Manifest[], file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  for (const m of (container.volumeMounts ?? []) as Manifest[]) {
    const prefix = m.mountPath.replace(/\/$/, '') + '/';
    if (!file.startsWith(prefix)) continue;
    const source = ((pod.spec.volumes ?? []) as Manifest[]).find((v) => v.name === m.name)?.configMap;
    if (source === undefined) continue;
    const relative = m.subPath !== undefined ? m.subPath : file.slice(prefix.length);
    const key = (source.items as Manifest[] | undefined)?.find((i) => i.path === relative)?.key ?? relative;
    const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === source.name &&
      (o.metadata?.namespace ?? pod.namespace) === pod.namespace);
    return configMap?.data?.[key];
  }
  return undefined;
}

const argsOf = (c: Manifest): string[] => [...(c.command ?? []), ...(c.args ?? [])].map(String);

/** The `user <name> <rules…>` lines of the ConfigMaps mounted into a pod, by user name. */
function aclUsersOf(pod: PodRef, objects: readonly Manifest[]): Map<string, string[]> {
  const users = new Map<string, string[]>();
  const mounted = new Set(((pod.spec.volumes ?? []) as Manifest[]).map((v) => v.configMap?.name).filter((n) => n !== undefined));
  for (const o of objects) {
    if (o?.kind !== 'ConfigMap' || !mounted.has(o.metadata?.name) || (o.metadata?.namespace ?? pod.namespace) !== pod.namespace) continue;
    for (const value of Object.values<string>(o.data ?? {})) {
      for (const line of String(value).split('\n')) {
        const match = /^user\s+(\S+)\s+(.*)$/.exec(line.trim());
        // Selectors "(+get ~k)" are rules too: their parentheses do not matter here.
        if (match) users.set(match[1], match[2].replace(/[()]/g, ' ').split(/\s+/).filter((t) => t !== ''));
      }
    }
  }
  return users;
}

/** What is wrong with the default user's rules, or nothing. */
function defaultUserProblems(rules: readonly string[]): string[] {
  const out: string[] = [];
  const lower = rules.map((r) => r.toLowerCase());
  const firstGrant = lower.findIndex((r) => r.startsWith('+'));
  const reset = lower.findIndex((r) => r === '-@all' || r === 'nocommands' || r === 'reset');
  if (reset === -1 || (firstGrant !== -1 && reset > firstGrant)) out.push('the default user must start from no commands (-@all) before it is granted any');
  for (const r of lower) {
    if (r === 'allcommands' || /^\+@/.test(r)) out.push(`the default user must be granted single commands, not ${r}`);
    const command = /^\+([a-z_]+)(\|.*)?$/.exec(r)?.[1];
    if (command !== undefined && (DEFAULT_USER_FORBIDDEN as readonly string[]).includes(command)) out.push(`the default user must not run ${r.slice(1)}`);
    if (r === 'allkeys' || /^(%[rw]+)?~\*$/.test(r)) out.push(`the default user must not reach every key (${r})`);
    if (r === 'allchannels' || r === '&*') out.push(`the default user must not reach every channel (${r})`);
  }
  if (!lower.includes('resetchannels') && !lower.some((r) => r.startsWith('&'))) out.push('the default user must reset its channels (resetchannels)');
  return out;
}

const redisAcl: Rule = {
  id: 'redis-acl',
  description: `Redis loads an ACL file (--aclfile, as an argument or in the redis-server line of its start-up script) whose users are plain text in a ConfigMap of the output: default (no password) starts from -@all and is granted single commands, none of scripting, administration or key scans, never all keys or channels; no other user may run ${MUST_DISABLE.join(', ')}; no user line holds a password.`,
  check: (objects) => {
    const pods = podSpecs(objects).filter(isRedisPod);
    if (pods.length === 0) return [missingRedis('redis-acl')];
    return pods.flatMap((pod) => ((pod.spec.containers ?? []) as Manifest[]).flatMap((c): Violation[] => {
      const at = (message: string): Violation => ({ rule: 'redis-acl', kind: pod.kind, name: pod.name, container: c.name, message });
      // redis-server's arguments, or a start-up script that runs it with paths from its env.
      const args = [...argsOf(c), ...((c.env ?? []) as Manifest[]).map((e) => String(e.value ?? ''))];
      const conf = configMapFileOf(c, pod, objects, args.find((a) => /\.conf$/.test(a)));
      const out: Violation[] = [];
      const aclFileArgument = args.some((a) => a === '--aclfile' || /(^|\s)redis-server\s[^\n]*\s--aclfile\s/.test(a));
      if (!aclFileArgument && !/^\s*aclfile\s/m.test(conf ?? '')) out.push(at('starts without an ACL file (--aclfile, or aclfile in redis.conf)'));
      if (/^\s*user\s/m.test(conf ?? '')) out.push(at('redis.conf defines users: they belong in the ACL file'));
      const users = aclUsersOf(pod, objects);
      const defaultRules = users.get('default');
      if (defaultRules === undefined) return [...out, at('no "user default" ACL line in a ConfigMap mounted into the Redis pod')];
      out.push(...defaultUserProblems(defaultRules).map(at));
      for (const [user, rules] of users) {
        if (rules.some((r) => /^[>#]/.test(r))) out.push(at(`the ACL line of user ${user} holds a password: passwords come from Secrets`));
        if (user === 'default') continue;
        const lower = rules.map((r) => r.toLowerCase());
        for (const cmd of MUST_DISABLE.map((x) => x.toLowerCase())) {
          // Granted by a category, allcommands or by name, and not denied afterwards.
          const grants = lower.map((r, i) => (r === 'allcommands' || r.startsWith('+@') || r === `+${cmd}` ? i : -1));
          const granted = Math.max(...grants);
          if (granted !== -1 && lower.lastIndexOf(`-${cmd}`) < granted) out.push(at(`user ${user} may run ${cmd.toUpperCase()} (add -${cmd} after ${lower[granted]})`));
        }
      }
      return out;
    }));
  },
};

/** The first release of each Redis line with the fixes for CVE-2025-49844 and CVE-2025-21605. */
export const PATCHED_REDIS = ['7.2.11', '7.4.6', '8.0.4', '8.2.2'] as const;

/** Whether Redis `version` (x.y.z) has the fixes: at or above its line's patched release, or a later line. */
export function isPatchedRedis(version: string): boolean {
  const [major, minor, patch] = version.split('.').map(Number);
  const newest = PATCHED_REDIS[PATCHED_REDIS.length - 1].split('.').map(Number);
  if (major > newest[0] || (major === newest[0] && minor > newest[1])) return true;
  const floor = PATCHED_REDIS.map((r) => r.split('.').map(Number)).find(([a, b]) => a === major && b === minor);
  return floor !== undefined && patch >= floor[2];
}

const redisImagePatched: Rule = {
  id: 'redis-image-patched',
  description: `Every container of a Redis pod or of the official Redis image runs a Redis version with the fixes for CVE-2025-49844 and CVE-2025-21605 (${PATCHED_REDIS.join(', ')} or later in its line), named by the image tag.`,
  check: (objects) => podSpecs(objects).flatMap((pod) => containersOf(pod.spec)
    // Mirrors count too: any repository named redis (registry.example.com/library/redis).
    .filter(({ container: c }) => isRedisPod(pod) || isRedisImage(String(c.image)) ||
      /(^|\/)redis$/.test(String(c.image).split('@')[0].replace(/:[^/:]*$/, '')))
    .flatMap(({ container: c }): Violation[] => {
      const at = (message: string): Violation => ({ rule: 'redis-image-patched', kind: pod.kind, name: pod.name, container: c.name, message });
      const version = /^(\d+\.\d+\.\d+)(?:-|$)/.exec(imageTag(String(c.image)) ?? '')?.[1];
      if (version === undefined) return [at(`image ${JSON.stringify(c.image)} does not name its Redis version in its tag`)];
      return isPatchedRedis(version) ? [] : [at(
        `image ${JSON.stringify(c.image)} is Redis ${version}, without the fixes for CVE-2025-49844 and CVE-2025-21605 (${PATCHED_REDIS.join(', ')})`,
      )];
    })),
};

const redisCliErrexit: Rule = {
  id: 'redis-cli-errexit',
  description: 'Every container that runs redis-cli as its command (possibly under timeout) passes -e, so an error reply fails the container instead of exiting 0.',
  check: (objects) => podSpecs(objects).flatMap((pod) => containersOf(pod.spec).flatMap(({ container: c }): Violation[] => {
    const args = argsOf(c);
    const at = args.findIndex((a) => a === 'redis-cli' || a.endsWith('/redis-cli'));
    // Only exec form: `redis-cli …` or `timeout N redis-cli …` (shell loops check replies themselves).
    if (at === -1 || !(at === 0 || (args[0] === 'timeout' || args[0].endsWith('/timeout')))) return [];
    return args.slice(at + 1).includes('-e') ? [] : [{
      rule: 'redis-cli-errexit', kind: pod.kind, name: pod.name, container: c.name,
      message: 'runs redis-cli without -e: an error reply would exit 0 and the run would look successful',
    }];
  })),
};

// ---------------------------------------------------------------------------------------------
// Secrets

/** Env var names that carry credentials (…KEY, …SECRET…, …PASSWORD, …PWD, …TOKEN). */
export const CREDENTIAL_NAME = /KEY|SECRET|PASSWORD|PASSWD|PWD|TOKEN|CREDENTIAL/i;

const noLiteralCredentials: Rule = {
  id: 'no-literal-credentials',
  description: 'No credential-looking env var has a literal value or comes from a ConfigMap: only from a Secret created out of band.',
  check: (objects) => podSpecs(objects).flatMap((pod) => containersOf(pod.spec).flatMap(({ container: c }) =>
    ((c.env ?? []) as Manifest[])
      .filter((e) => CREDENTIAL_NAME.test(e.name) && (e.value !== undefined || e.valueFrom?.configMapKeyRef !== undefined))
      .map((e) => ({
        rule: 'no-literal-credentials', kind: pod.kind, name: pod.name, container: c.name,
        message: `env ${e.name} looks like a credential and must come from a Secret (secretKeyRef or envFrom), not ${e.value !== undefined ? 'a literal value' : 'a ConfigMap'}`,
      })))),
};

const noSecretObjects: Rule = {
  id: 'no-secret-objects',
  description: 'The output holds no Secret: secrets are created out of band, never committed.',
  check: (objects) => objects.filter((o) => o?.kind === 'Secret').map((o) => ({
    rule: 'no-secret-objects', kind: 'Secret', name: o.metadata?.name ?? '',
    message: 'a Secret must not be in the manifests (base64 is not encryption); create it out of band',
  })),
};

// ---------------------------------------------------------------------------------------------
// Linter checks

const jobTtl: Rule = {
  id: 'job-ttl',
  description: 'Every Job, and the jobTemplate of every CronJob, sets ttlSecondsAfterFinished, so finished Jobs do not pile up.',
  check: (objects) => objects.flatMap((o): Violation[] => {
    const jobSpec = o?.kind === 'Job' ? o.spec : o?.kind === 'CronJob' ? o.spec?.jobTemplate?.spec : undefined;
    if (jobSpec === undefined || typeof jobSpec?.ttlSecondsAfterFinished === 'number') return [];
    return [{ rule: 'job-ttl', kind: o.kind, name: o.metadata?.name ?? '', message: `${o.kind === 'CronJob' ? 'spec.jobTemplate.spec' : 'spec'}.ttlSecondsAfterFinished is not set` }];
  }),
};

const serviceSelectsPods: Rule = {
  id: 'service-selects-pods',
  description: 'Every Service (except ExternalName) has a selector that matches the pod template of some workload in its namespace, and its named target ports exist on those pods.',
  check: (objects) => objects.filter((o) => o?.kind === 'Service' && o.spec?.type !== 'ExternalName').flatMap((svc): Violation[] => {
    const at = (message: string): Violation => ({ rule: 'service-selects-pods', kind: 'Service', name: svc.metadata?.name ?? '', message });
    const selector: Record<string, string> = svc.spec?.selector ?? {};
    if (Object.keys(selector).length === 0) return [at('has no selector')];
    const pods = podSpecs(objects).filter((p) => p.namespace === svc.metadata?.namespace && selectorMatches({ matchLabels: selector }, p.labels));
    if (pods.length === 0) return [at(`selector ${JSON.stringify(selector)} matches no pod`)];
    const portNames = new Set(pods.flatMap((p) => containersOf(p.spec).flatMap(({ container: c }) => ((c.ports ?? []) as Manifest[]).map((cp) => cp.name))));
    return ((svc.spec?.ports ?? []) as Manifest[])
      .filter((p) => typeof p.targetPort === 'string' && !portNames.has(p.targetPort))
      .map((p) => at(`targetPort ${JSON.stringify(p.targetPort)} is no container port of the selected pods`));
  }),
};

// ---------------------------------------------------------------------------------------------
// Network

/** Components that must reach Redis: the workers, the recovery CronJobs and the metrics exporter. */
export const REDIS_CLIENT_COMPONENTS = ['worker', 'queue-recovery', 'metrics'] as const;

const redisNetworkPolicy: Rule = {
  id: 'redis-network-policy',
  description: 'A NetworkPolicy selects the Redis pods for Ingress, and every policy that selects them admits only TCP 6379 from a podSelector that matches exactly the worker and recovery pods, ' +
    'and, only when a ScaledJob of the namespace has a redis trigger, from labelled pods of one other namespace (the KEDA operator).',
  check: (objects) => {
    const redisPods = podSpecs(objects).filter(isRedisPod);
    if (redisPods.length === 0) return [missingRedis('redis-network-policy')];
    const out: Violation[] = [];
    for (const redis of redisPods) {
      // NetworkPolicies add up: one broad policy opens Redis whatever the others say.
      const policies = objects.filter((o) => o?.kind === 'NetworkPolicy' && o.metadata?.namespace === redis.namespace &&
        selectorMatches(o.spec?.podSelector, redis.labels));
      const isolating = policies.filter((p) => (p.spec?.policyTypes ?? ['Ingress']).includes('Ingress'));
      if (isolating.length === 0) {
        out.push({ rule: 'redis-network-policy', kind: redis.kind, name: redis.name, message: 'no NetworkPolicy isolates the Redis pods for Ingress' });
      }
      const namedPorts = new Map<string, number>(((redis.spec.containers ?? []) as Manifest[])
        .flatMap((c) => ((c.ports ?? []) as Manifest[]).map((p): [string, number] => [p.name, p.containerPort])));
      const clients = podSpecs(objects).filter((p) => p.namespace === redis.namespace);
      const expected = clients.filter((p) => (REDIS_CLIENT_COMPONENTS as readonly string[]).includes(p.labels[COMPONENT]));
      for (const policy of isolating) {
        const at = (message: string) => out.push({ rule: 'redis-network-policy', kind: 'NetworkPolicy', name: policy.metadata?.name ?? '', message });
        ((policy.spec?.ingress ?? []) as Manifest[]).forEach((rule, i) => {
          const ports = (rule.ports ?? []) as Manifest[];
          if (ports.length === 0) at(`ingress[${i}] admits every port`);
          for (const p of ports) {
            const port = typeof p.port === 'string' ? namedPorts.get(p.port) : p.port;
            if ((p.protocol ?? 'TCP') !== 'TCP' || port !== 6379 || p.endPort !== undefined) {
              at(`ingress[${i}] admits ${p.protocol ?? 'TCP'} ${p.port}${p.endPort !== undefined ? `-${p.endPort}` : ''}; only TCP 6379 is allowed`);
            }
          }
          const from = (rule.from ?? []) as Manifest[];
          if (from.length === 0) at(`ingress[${i}] admits every source`);
          from.forEach((peer, j) => {
            if (peer.namespaceSelector !== undefined && peer.ipBlock === undefined) {
              const problem = kedaOperatorPeerProblem(peer, redis.namespace, objects);
              if (problem !== undefined) at(`ingress[${i}].from[${j}] ${problem}`);
              return;
            }
            if (peer.ipBlock !== undefined || peer.podSelector === undefined) {
              at(`ingress[${i}].from[${j}] must be a podSelector only (no ipBlock, no namespaceSelector)`);
              return;
            }
            const matched = clients.filter((p) => selectorMatches(peer.podSelector, p.labels));
            for (const p of matched.filter((m) => !expected.includes(m))) {
              at(`ingress[${i}].from[${j}] admits ${p.kind}/${p.name}, which is no Redis client (${REDIS_CLIENT_COMPONENTS.join(', ')})`);
            }
            for (const p of expected.filter((e) => !matched.includes(e))) {
              at(`ingress[${i}].from[${j}] does not admit ${p.kind}/${p.name}, a Redis client`);
            }
          });
        });
      }
    }
    return out;
  },
};

/**
 * A peer from another namespace is allowed only for the KEDA operator: labelled pods of
 * exactly one other namespace, and only when a ScaledJob of Redis's namespace polls Redis.
 */
function kedaOperatorPeerProblem(peer: Manifest, namespace: string | undefined, objects: readonly Manifest[]): string | undefined {
  const namespaceLabels: Record<string, string> = peer.namespaceSelector?.matchLabels ?? {};
  const other = namespaceLabels['kubernetes.io/metadata.name'];
  if (Object.keys(namespaceLabels).length !== 1 || other === undefined || other === namespace ||
    (peer.namespaceSelector.matchExpressions ?? []).length > 0) {
    return "must select one other namespace by 'kubernetes.io/metadata.name' only";
  }
  if (Object.keys(peer.podSelector?.matchLabels ?? {}).length === 0) {
    return `admits every pod of namespace ${other}: select the KEDA operator's pods by label`;
  }
  const polls = objects.some((o) => o?.kind === 'ScaledJob' && o.metadata?.namespace === namespace &&
    ((o.spec?.triggers ?? []) as Manifest[]).some((t) => t.type === 'redis'));
  return polls ? undefined : `admits pods of namespace ${other}, but no ScaledJob of namespace ${namespace} has a redis trigger`;
}

const defaultDenyIngress: Rule = {
  id: 'default-deny-ingress',
  description: 'Each namespace with pods has a default-deny ingress NetworkPolicy (podSelector {}, policyTypes [Ingress], no ingress rules), and no policy admits ingress to every pod of the namespace.',
  check: (objects) => {
    const out: Violation[] = [];
    const namespaces = new Set(podSpecs(objects).map((p) => p.namespace ?? 'default'));
    const selectsAll = (p: Manifest) => Object.keys(p.spec?.podSelector?.matchLabels ?? {}).length === 0 &&
      (p.spec?.podSelector?.matchExpressions ?? []).length === 0 && p.spec?.podSelector !== undefined;
    for (const ns of namespaces) {
      const policies = objects.filter((o) => o?.kind === 'NetworkPolicy' && (o.metadata?.namespace ?? 'default') === ns);
      const everyPod = policies.filter((p) => selectsAll(p) && (p.spec?.policyTypes ?? ['Ingress']).includes('Ingress'));
      if (!everyPod.some((p) => (p.spec?.ingress ?? []).length === 0)) {
        out.push({ rule: 'default-deny-ingress', kind: 'Namespace', name: ns, message: 'has no default-deny ingress NetworkPolicy (podSelector {}, policyTypes [Ingress], no ingress rules)' });
      }
      for (const p of everyPod.filter((x) => (x.spec?.ingress ?? []).length > 0)) {
        out.push({ rule: 'default-deny-ingress', kind: 'NetworkPolicy', name: p.metadata?.name ?? '', message: 'selects every pod of the namespace and admits ingress: it undoes the default deny' });
      }
    }
    return out;
  },
};

// ---------------------------------------------------------------------------------------------
// Namespace

const LEVELS = ['privileged', 'baseline', 'restricted'] as const;
const PSA = 'pod-security.kubernetes.io/';

const namespacePodSecurity: Rule = {
  id: 'namespace-pod-security',
  description: 'Each namespace with pods is in the output, enforces the strictest Pod Security level all its pods pass, and warns and audits at restricted.',
  check: (objects) => {
    const out: Violation[] = [];
    const byNamespace = new Map<string, PodRef[]>();
    for (const pod of podSpecs(objects)) {
      const ns = pod.namespace ?? 'default';
      byNamespace.set(ns, [...(byNamespace.get(ns) ?? []), pod]);
    }
    for (const [ns, pods] of byNamespace) {
      const namespace = objects.find((o) => o?.kind === 'Namespace' && o.metadata?.name === ns);
      const at = (message: string) => out.push({ rule: 'namespace-pod-security', kind: 'Namespace', name: ns, message });
      if (namespace === undefined) {
        at('holds pods but is not in the output, so nothing sets its Pod Security labels');
        continue;
      }
      const labels: Record<string, string> = namespace.metadata?.labels ?? {};
      const strictest = LEVELS[Math.min(...pods.map((p) => LEVELS.indexOf(podSecurityLevel(p))))];
      if (labels[`${PSA}enforce`] !== strictest) {
        at(`${PSA}enforce must be ${strictest}, the strictest level all its pods pass, got ${labels[`${PSA}enforce`]}`);
      }
      for (const mode of ['warn', 'audit']) {
        if (labels[`${PSA}${mode}`] !== 'restricted') at(`${PSA}${mode} must be restricted, got ${labels[`${PSA}${mode}`]}`);
      }
    }
    return out;
  },
};

/** Every rule, in report order. */
export const RULES: readonly Rule[] = [
  pssBaseline,
  pssRestricted,
  readOnlyRootFilesystem,
  noServiceAccountToken,
  redisUser,
  imagePinned,
  resources,
  redisProbes,
  redisAcl,
  redisImagePatched,
  redisCliErrexit,
  noLiteralCredentials,
  noSecretObjects,
  jobTtl,
  serviceSelectsPods,
  redisNetworkPolicy,
  defaultDenyIngress,
  namespacePodSecurity,
];

/** Runs every rule (or the given ones) over `objects`. */
export function checkAll(objects: readonly Manifest[], rules: readonly Rule[] = RULES): Violation[] {
  return rules.flatMap((r) => r.check(objects));
}
