import { createHash } from 'crypto';
import * as path from 'path';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { componentLabels } from './labels';
import { DEFAULT_APPEND_FSYNC, DEFAULT_REDIS_EMPTY_DIR_SIZE_LIMIT, DEFAULT_REDIS_RESOURCES, DEFAULT_REDIS_STORAGE, DEFAULT_REDIS_TERMINATION_GRACE_PERIOD_SECONDS } from './defaults';
import { ContainerResources, REDIS_UID, RESTRICTED_CONTAINER_SECURITY_CONTEXT, resourceRequirements, restrictedPodSecurityContext } from './pod-security';
import {
  ACL_BUILD_SCRIPT, aclSafeQueue, aclUser, ADMIN_USER, commandName, DEFAULT_ADMIN_SECRET, PASSWORD_KEY, RedisAclUser, renderAclTemplate,
} from './redis-acl';
import { AppendFsync, DEFAULT_DISABLED_COMMANDS, REDIS_BIND, renderRedisConfig } from './redis-config';
import { REDIS_LIVENESS_SCRIPT, REDIS_READINESS_SCRIPT, REDIS_START_SCRIPT, redisStartEnv } from './redis-start';
import { ConfigError, dnsLabel, dnsSubdomain, oneOf, pinnedImage, positiveInteger, quantityBytes } from './validation';
import { WORKFLOWS } from '../protocol/workflows';

/**
 * Official Redis image (Debian variant: its `redis` user is uid/gid 999). 7.2 is the last
 * BSD-licensed line; 7.2.11 has the fixes for CVE-2025-49844 (Lua use-after-free, RCE) and
 * CVE-2025-21605 (unauthenticated output-buffer DoS). See README, Security.
 */
export const DEFAULT_REDIS_IMAGE = 'redis:7.2.11-bookworm';

/**
 * The first release of each Redis line with the fixes for CVE-2025-49844 and CVE-2025-21605.
 * Lines after the last one listed are newer than the fixes; lines not listed are refused.
 * @see https://nvd.nist.gov/vuln/detail/CVE-2025-49844
 * @see https://nvd.nist.gov/vuln/detail/CVE-2025-21605
 */
export const PATCHED_REDIS_RELEASES: readonly string[] = ['7.2.11', '7.4.6', '8.0.4', '8.2.2'];

/**
 * A Redis image at or above a patched release, its tag starting with the Redis version
 * (`7.2.11`, `7.2.11-bookworm`, optionally `@sha256:…`): the version is what the floor checks.
 */
export function patchedRedisImage(field: string, image: string): string {
  pinnedImage(field, image);
  const withoutDigest = image.split('@')[0];
  const tag = withoutDigest.slice(withoutDigest.lastIndexOf(':') + 1);
  const version = /^(\d+)\.(\d+)\.(\d+)(?:-|$)/.exec(tag);
  const newest = PATCHED_REDIS_RELEASES.at(-1)!.split('.').map(Number);
  const allowed = `${PATCHED_REDIS_RELEASES.join(', ')} or a later patch of the same line, or a line after ${newest[0]}.${newest[1]}`;
  if (version === null) {
    throw new ConfigError(`'${field}' must be tagged with its Redis version (e.g. "${DEFAULT_REDIS_IMAGE}"), got ${JSON.stringify(image)}`);
  }
  const [major, minor, patch] = version.slice(1).map(Number);
  const floor = PATCHED_REDIS_RELEASES.map((r) => r.split('.').map(Number)).find(([a, b]) => a === major && b === minor);
  const newerLine = major > newest[0] || (major === newest[0] && minor > newest[1]);
  if (!newerLine && (floor === undefined || patch < floor[2])) {
    throw new ConfigError(
      `'${field}' must be a Redis release with the fixes for CVE-2025-49844 and CVE-2025-21605 (${allowed}), got ${JSON.stringify(image)}`,
    );
  }
  return image;
}

/** The client Service name the worker images connect to (`$REDIS_SERVICE_HOST`). Fixed by the images. */
export const REDIS_SERVICE_NAME = 'redis-master';

export const REDIS_PORT = 6379;

/** Where the ConfigMap (redis.conf, users.acl) is mounted in the Redis pod. */
const CONFIG_DIR = '/etc/redis';
/** The ACL file template's key in the ConfigMap. */
export const ACL_TEMPLATE_FILE = 'users.acl';
/** Where the init container finds one password file per user. */
const PASSWORD_DIR = '/etc/redis-passwords';
/** The ACL file the init container builds at start-up, in an in-memory emptyDir. */
const ACL_FILE = '/run/redis-acl/users.acl';
/** The file Redis loads (`--aclfile`): the loading ACL, then a copy of ACL_FILE (lib/redis-start.ts). */
const ACTIVE_ACL_FILE = '/run/redis-acl/redis.acl';
/** Created by the Redis container once the real ACL users are loaded; readiness checks it. */
const SERVING_FILE = '/run/redis-acl/serving';

/** Where Redis keeps its data. */
export type RedisStorage =
  | {
    /** A PersistentVolumeClaim per replica (volumeClaimTemplate): the queue survives pod and node loss. */
    readonly kind: 'persistentVolumeClaim';
    /** e.g. `"10Gi"`. Budget roughly 1 GiB of AOF per million queued scenes. */
    readonly size: string;
    /**
     * Use a class with `reclaimPolicy: Retain` and `volumeBindingMode: WaitForFirstConsumer`
     * (README, "Storage class"), on network-attached disks that can move to another node.
     * @default - the cluster's default storage class
     */
    readonly storageClassName?: string;
  }
  | {
    /** An emptyDir: the queue is lost with the pod. For development, like the original chart. */
    readonly kind: 'emptyDir';
    /** @default DEFAULT_REDIS_EMPTY_DIR_SIZE_LIMIT ("1Gi") */
    readonly sizeLimit?: string;
  };

export interface RedisQueueStoreProps {
  /**
   * Redis image of the server and the recovery CronJobs, pinned by a tag that starts with
   * the Redis version, at or above {@link PATCHED_REDIS_RELEASES}; a digest may follow
   * (`redis:7.2.11-bookworm@sha256:…`). Changing it rolls Redis, not the workers.
   * @default DEFAULT_REDIS_IMAGE
   */
  readonly image?: string;
  /**
   * Image of the `redis-cli` gates in the worker pods. It is in the workers' pod template,
   * so changing it names new worker Jobs: it is kept apart from `image`, so that patching
   * the Redis server in the middle of a campaign does not restart the campaign's workers.
   * Same rules as `image`.
   * @default DEFAULT_REDIS_IMAGE
   */
  readonly clientImage?: string;
  /**
   * The queues (Redis lists) the default user may use, with their `:processing` and lease keys.
   * @default - every queue of the workflow catalogue (the chart passes the environment's)
   */
  readonly queues?: readonly string[];
  /**
   * Name of the Secret, created by the operator, whose key `password` is the admin user's
   * password (see README, Security). The Redis pod does not start without it.
   * @default DEFAULT_ADMIN_SECRET ("redis-admin")
   */
  readonly adminSecret?: string;
  /**
   * Further ACL users, each with a password from its own Secret (e.g. a metrics exporter).
   * @default []
   */
  readonly users?: readonly RedisAclUser[];
  /**
   * Where Redis keeps its append-only file.
   * @default DEFAULT_REDIS_STORAGE ({ kind: 'persistentVolumeClaim', size: '10Gi' })
   */
  readonly storage?: RedisStorage;
  /**
   * cpu and memory of the Redis container. Redis's `maxmemory` is half the memory limit:
   * an AOF rewrite forks, and copy-on-write can double the footprint meanwhile.
   * @default DEFAULT_REDIS_RESOURCES ({ cpu: '250m', memory: '2Gi' })
   */
  readonly resources?: ContainerResources;
  /**
   * fsync policy of the append-only file.
   * @default DEFAULT_APPEND_FSYNC ('always') — an acknowledged write survives a crash of Redis or of its node
   */
  readonly appendFsync?: AppendFsync;
  /**
   * Commands the admin user may not run, so nobody runs them by accident (ACL `-<command>`).
   * The default user may run only the worker protocol anyway.
   * @default DEFAULT_DISABLED_COMMANDS
   */
  readonly disabledCommands?: readonly string[];
  /**
   * Seconds Kubernetes waits after SIGTERM, during which Redis fsyncs its AOF and exits.
   * @default DEFAULT_REDIS_TERMINATION_GRACE_PERIOD_SECONDS (60)
   */
  readonly terminationGracePeriodSeconds?: number;
  /**
   * PriorityClass of the Redis pod, so that the scheduler preempts workers rather than the
   * queue they all depend on. The class is created by the cluster operator.
   * @default - none (the cluster's default priority)
   */
  readonly priorityClassName?: string;
  /** @default - any node */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /** @default - none */
  readonly tolerations?: readonly k8s.Toleration[];
  /**
   * Affinity rules, as Kubernetes takes them (e.g. keep Redis off spot nodes).
   * @default - none
   */
  readonly affinity?: k8s.Affinity;
}

/**
 * Redis as the work-queue store: a ConfigMap with redis.conf and the ACL users, a one-replica
 * StatefulSet, its headless Service, the client Service `redis-master` that workers connect
 * to, and a PodDisruptionBudget that refuses every voluntary eviction of the one replica (a
 * drain waits until an operator moves Redis deliberately, README "Redis and node drains").
 * An init container builds the ACL file from the ConfigMap and the password Secrets; the Redis
 * container never sees a password. Its start-up script (lib/redis-start.ts) loads the AOF on
 * loopback before it loads those users, so that Redis 7.0-7.2 replay every transaction of the
 * AOF, and the pod is ready only after that switch. The data volume claim is retained when the
 * StatefulSet is deleted or scaled down.
 *
 * @see https://kubernetes.io/docs/tasks/job/fine-parallel-processing-work-queue/
 * @see https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/
 */
export class RedisQueueStore extends Construct {
  public readonly image: string;
  /** Image of the redis-cli gates in worker pods. */
  public readonly clientImage: string;
  public readonly queues: readonly string[];
  /** The admin user's name: `admin`. */
  public readonly adminUser: string = ADMIN_USER;
  /** Where the admin password is: the operator's Secret and its key. */
  public readonly adminPasswordSecret: { readonly name: string; readonly key: string };
  /** Every password user (admin first), as the ACL file lists them. */
  public readonly users: readonly RedisAclUser[];
  /** The ACL file template in the ConfigMap (`users.acl`). */
  public readonly aclTemplate: string;
  public readonly storage: RedisStorage;
  public readonly resources: ContainerResources;
  public readonly appendFsync: AppendFsync;
  public readonly disabledCommands: readonly string[];
  public readonly redisConfig: string;
  /** Host name that clients in the namespace use: `redis-master`. */
  public readonly serviceHost: string = REDIS_SERVICE_NAME;
  public readonly port: number = REDIS_PORT;
  /** Labels of the Redis pod. */
  public readonly podLabels: Record<string, string>;
  /** The subset of `podLabels` that selects the Redis pod (Services, NetworkPolicies). */
  public readonly selectorLabels: Record<string, string>;
  public readonly configMap: k8s.KubeConfigMap;
  public readonly statefulSet: k8s.KubeStatefulSet;
  public readonly headlessService: k8s.KubeService;
  public readonly service: k8s.KubeService;
  public readonly podDisruptionBudget: k8s.KubePodDisruptionBudget;
  public readonly priorityClassName?: string;

  constructor(scope: Construct, id: string, props: RedisQueueStoreProps = {}) {
    super(scope, id);
    this.image = patchedRedisImage('redis.image', props.image ?? DEFAULT_REDIS_IMAGE);
    this.clientImage = patchedRedisImage('redis.clientImage', props.clientImage ?? DEFAULT_REDIS_IMAGE);
    this.queues = (props.queues ?? Object.values(WORKFLOWS).map((w) => w.queue)).map((q, i) => aclSafeQueue(`redis.queues[${i}]`, q));
    this.storage = props.storage ?? DEFAULT_REDIS_STORAGE;
    this.resources = props.resources ?? DEFAULT_REDIS_RESOURCES;
    this.appendFsync = oneOf('redis.appendFsync', props.appendFsync ?? DEFAULT_APPEND_FSYNC, ['always', 'everysec']);
    this.disabledCommands = (props.disabledCommands ?? DEFAULT_DISABLED_COMMANDS).map((c) => commandName('redis.disabledCommands', c));
    const gracePeriod = positiveInteger('redis.terminationGracePeriodSeconds', props.terminationGracePeriodSeconds ?? DEFAULT_REDIS_TERMINATION_GRACE_PERIOD_SECONDS);
    this.priorityClassName = props.priorityClassName === undefined
      ? undefined
      : dnsSubdomain('redis.priorityClassName', props.priorityClassName);
    quantityBytes('redis.storage.' + (this.storage.kind === 'emptyDir' ? 'sizeLimit' : 'size'),
      this.storage.kind === 'emptyDir' ? this.storage.sizeLimit ?? DEFAULT_REDIS_EMPTY_DIR_SIZE_LIMIT : this.storage.size);
    if (this.disabledCommands.includes('ping')) {
      throw new ConfigError("'redis.disabledCommands' must not contain PING: the queue tool checks the connection with it");
    }
    if (this.disabledCommands.includes('llen')) {
      throw new ConfigError("'redis.disabledCommands' must not contain LLEN: the workers and their wait-for-work gate need it");
    }
    this.adminPasswordSecret = { name: dnsLabel('redis.adminSecret', props.adminSecret ?? DEFAULT_ADMIN_SECRET, 253), key: PASSWORD_KEY };
    const admin: RedisAclUser = {
      name: ADMIN_USER,
      rules: ['~*', '+@all', ...this.disabledCommands.map((c) => `-${c}`)],
      passwordSecret: this.adminPasswordSecret,
    };
    this.users = [admin, ...(props.users ?? []).map((u, i) => aclUser(`redis.users[${i}]`, u))];
    const names = this.users.map((u) => u.name);
    const duplicate = names.find((n, i) => names.indexOf(n) !== i);
    if (duplicate !== undefined) throw new ConfigError(`'redis.users' must not repeat a user name or use "${ADMIN_USER}", got ${JSON.stringify(duplicate)} twice`);
    this.aclTemplate = renderAclTemplate(this.queues, this.users);

    const dataDir = '/data';
    this.redisConfig = renderRedisConfig({
      port: REDIS_PORT,
      maxMemoryBytes: Math.floor(quantityBytes('redis.resources.memory', this.resources.memory) / 2),
      appendFsync: this.appendFsync,
    });

    this.podLabels = { ...componentLabels('redis', 'queue-store'), 'app.kubernetes.io/instance': 'redis' };
    this.selectorLabels = { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'redis' };
    const selector = this.selectorLabels;

    const configData = { 'redis.conf': this.redisConfig, [ACL_TEMPLATE_FILE]: this.aclTemplate };
    this.configMap = new k8s.KubeConfigMap(this, 'config', {
      metadata: { name: 'redis-config', labels: this.podLabels },
      data: configData,
    });

    const port = { name: 'redis', port: REDIS_PORT, targetPort: k8s.IntOrString.fromString('redis'), protocol: 'TCP' };
    this.headlessService = new k8s.KubeService(this, 'headless', {
      metadata: { name: 'redis-headless', labels: this.podLabels },
      spec: { clusterIp: 'None', selector, ports: [port] },
    });
    this.service = new k8s.KubeService(this, 'service', {
      metadata: { name: REDIS_SERVICE_NAME, labels: this.podLabels },
      spec: { type: 'ClusterIP', selector, ports: [port] },
    });

    const dataVolume = 'data';

    this.statefulSet = new k8s.KubeStatefulSet(this, 'statefulset', {
      metadata: { name: 'redis', labels: this.podLabels },
      spec: {
        serviceName: this.headlessService.name,
        replicas: 1,
        selector: { matchLabels: selector },
        updateStrategy: { type: 'RollingUpdate' },
        // Stated, not left to the cluster's default: the queue's data outlives the StatefulSet.
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
        template: {
          metadata: {
            labels: this.podLabels,
            // A changed redis.conf or ACL changes this hash, which rolls the pod so Redis reads it.
            annotations: { 'checksum/redis-config': createHash('sha256').update(JSON.stringify(configData)).digest('hex') },
          },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSecurityContext(REDIS_UID),
            // On SIGTERM Redis fsyncs the AOF and exits; give it time on a slow disk.
            terminationGracePeriodSeconds: gracePeriod,
            priorityClassName: this.priorityClassName,
            nodeSelector: props.nodeSelector ? { ...props.nodeSelector } : undefined,
            tolerations: props.tolerations ? [...props.tolerations] : undefined,
            affinity: props.affinity,
            initContainers: [{
              name: 'acl',
              image: this.image,
              imagePullPolicy: 'IfNotPresent',
              command: ['sh', '-c', ACL_BUILD_SCRIPT],
              env: [
                { name: 'ACL_TEMPLATE', value: `${CONFIG_DIR}/${ACL_TEMPLATE_FILE}` },
                { name: 'ACL_USERS_DIR', value: PASSWORD_DIR },
                { name: 'ACL_FILE', value: ACL_FILE },
              ],
              resources: resourceRequirements({ cpu: '10m', memory: '32Mi' }),
              securityContext: RESTRICTED_CONTAINER_SECURITY_CONTEXT,
              volumeMounts: [
                { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                { name: 'passwords', mountPath: PASSWORD_DIR, readOnly: true },
                { name: 'acl', mountPath: path.posix.dirname(ACL_FILE) },
              ],
            }],
            containers: [{
              name: 'redis',
              image: this.image,
              imagePullPolicy: 'IfNotPresent',
              // Loads the AOF on loopback with a permissive default user, then opens the network
              // and loads the real ACL users atomically: Redis 7.0-7.2 would drop every
              // transaction of the AOF under the restricted default (lib/redis-start.ts).
              command: ['sh', '-c', REDIS_START_SCRIPT],
              env: redisStartEnv({
                conf: `${CONFIG_DIR}/redis.conf`,
                dataDir,
                port: REDIS_PORT,
                aclFile: ACL_FILE,
                activeAclFile: ACTIVE_ACL_FILE,
                servingFile: SERVING_FILE,
              }, REDIS_BIND),
              ports: [{ name: 'redis', containerPort: REDIS_PORT, protocol: 'TCP' }],
              resources: resourceRequirements(this.resources),
              securityContext: RESTRICTED_CONTAINER_SECURITY_CONTEXT,
              // Ready only once the real ACL users are loaded and Redis listens on the pod network.
              readinessProbe: { exec: { command: ['sh', '-c', REDIS_READINESS_SCRIPT] }, initialDelaySeconds: 2, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 3 },
              // Loading a large AOF answers LOADING: alive, just not ready yet.
              livenessProbe: {
                exec: { command: ['sh', '-c', REDIS_LIVENESS_SCRIPT] },
                initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6,
              },
              volumeMounts: [
                { name: dataVolume, mountPath: dataDir },
                { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                // Writable: the start-up script writes the loading ACL, then copies the real one.
                { name: 'acl', mountPath: path.posix.dirname(ACL_FILE) },
              ],
            }],
            volumes: [
              { name: 'config', configMap: { name: this.configMap.name } },
              // One file per password user, named after the user; readable by the redis group only.
              {
                name: 'passwords',
                projected: {
                  defaultMode: 0o440,
                  sources: this.users.map((u) => ({
                    secret: { name: u.passwordSecret.name, items: [{ key: u.passwordSecret.key ?? PASSWORD_KEY, path: u.name }] },
                  })),
                },
              },
              // In memory: the hashes never touch the node's disk.
              { name: 'acl', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('1Mi') } },
              ...(this.storage.kind === 'emptyDir'
                ? [{ name: dataVolume, emptyDir: { sizeLimit: k8s.Quantity.fromString(this.storage.sizeLimit ?? DEFAULT_REDIS_EMPTY_DIR_SIZE_LIMIT) } }]
                : []),
            ],
          },
        },
        volumeClaimTemplates: this.storage.kind === 'persistentVolumeClaim'
          ? [{
            metadata: { name: dataVolume, labels: this.podLabels },
            spec: {
              accessModes: ['ReadWriteOnce'],
              storageClassName: this.storage.storageClassName,
              resources: { requests: { storage: k8s.Quantity.fromString(this.storage.size) } },
            },
          }]
          : undefined,
      },
    });

    this.podDisruptionBudget = new k8s.KubePodDisruptionBudget(this, 'pdb', {
      metadata: { name: 'redis', labels: this.podLabels },
      // One replica and no voluntary eviction: `kubectl drain` waits on this node until Redis
      // is moved on purpose, instead of taking the queue away from every worker.
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(0), selector: { matchLabels: selector } },
    });
  }
}
